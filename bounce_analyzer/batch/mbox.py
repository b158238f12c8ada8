"""Read an mbox stream one message at a time, in constant memory.

A message starts at a ``From `` line that opens the stream or follows a blank line (the separator mbox writers put
between messages). The ``From `` line itself is not part of the message; the blank line before the next one is
dropped. Body lines that start with ``>From `` stay as they are: escaping does not matter to the analysis, and the
bytes a source id points at are then the bytes that were analyzed.

Only the first ``keep`` bytes of each message are held; the rest is counted and skipped, so a huge message costs no
more memory than a small one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True, slots=True)
class MboxMessage:
    offset: int  # byte offset of the message's ``From `` line in the (decompressed) stream
    raw: bytes  # the message, at most ``keep`` bytes of it
    size: int  # the message's whole size in bytes
    end: int = 0  # byte offset just past the message (where the next ``From`` line starts, or the stream's end)


def looks_like_mbox(head: bytes) -> bool:
    """An mbox starts with a ``From `` line naming a sender and a date; a message starts with a header."""
    if not head.startswith(b"From "):
        return False
    first = head.split(b"\n", 1)[0]
    return len(first.split()) >= 3


# a blank line (nothing but "\r" before its "\n") and the "From " line after it; the "\n" that ends the line before
# the blank one comes first, so that the blank line is always a whole line
_SEPARATOR = re.compile(rb"\n(\r*\n)From ")
CHUNK = 8192  # bytes read at a time: a read that fails (a damaged compressed mbox) loses no more than a line
# reader's buffer did, so every message that ends before the damage is still read


def read_mbox(fh: IO[bytes], keep: int, chunk: int = CHUNK) -> Iterator[MboxMessage]:
    """The messages of an mbox stream, read a chunk at a time: the text between two ``From `` lines is taken whole
    (what fits within ``keep``, and its size), not line by line."""
    read = getattr(fh, "read1", fh.read)  # what is there (a pipe need not fill a whole chunk first)
    # two line ends stand before the stream, so that a From line that opens it (or follows a blank line that
    # does) is found like any other; offsets subtract them
    buf = b"\n\n"
    base = -2  # the stream offset of buf[0]
    pos = 0  # where the text not yet taken starts in buf (in a message: just after a line end)
    start = -1  # the stream offset of the current message's From line, -1 before the first one
    parts: list[bytes] = []
    held = size = 0
    eof = False

    def take(piece: bytes) -> None:
        nonlocal held, size
        size += len(piece)
        if held < keep and piece:
            part = piece[:keep - held]
            parts.append(part)
            held += len(part)

    while True:
        m = _SEPARATOR.search(buf, max(pos - 1, 0))
        if m is not None:
            line = m.end(1)  # where the From line starts
            nl = buf.find(b"\n", line)
            if nl < 0 and not eof:  # the From line goes on in the next chunk
                m = None
        if m is None:
            if eof:
                break
            # the text up to the line end before the last one, where a separator may still start, is done with:
            # a message's text is taken, text before the first message is not a message
            last = buf.rfind(b"\n", pos)
            safe = buf.rfind(b"\n", pos, last) if last > pos else -1
            if safe >= pos:
                if start >= 0:
                    take(buf[pos:safe + 1])
                pos = safe + 1
            cut = max(pos - 1, 0)
            buf, base, pos = buf[cut:], base + cut, pos - cut
            more = read(chunk)
            if not more:
                eof = True
            buf += more
            continue
        if start >= 0:
            take(buf[pos:m.start(1)])  # the blank line before the From line belongs to neither message
            yield MboxMessage(start, b"".join(parts), size, base + line)
        start, parts, held, size = base + line, [], 0, 0
        pos = len(buf) if nl < 0 else nl + 1
    if start >= 0:
        # the last message ends with the stream, less a blank line that closes it
        end = len(buf)
        tail = buf.rfind(b"\n", pos, end - 1) + 1 if buf.endswith(b"\n") else buf.rfind(b"\n", pos) + 1
        tail = max(tail, pos)
        if tail < end and not buf[tail:end].strip(b"\r\n"):
            end = tail
        take(buf[pos:end])
        yield MboxMessage(start, b"".join(parts), size, base + len(buf))
