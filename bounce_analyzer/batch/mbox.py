"""Read an mbox stream one message at a time, in constant memory.

A message starts at a ``From `` line that opens the stream or follows a blank line (the separator mbox writers put
between messages). The ``From `` line itself is not part of the message; the blank line before the next one is
dropped. Body lines that start with ``>From `` stay as they are: escaping does not matter to the analysis, and the
bytes a source id points at are then the bytes that were analyzed.

Only the first ``keep`` bytes of each message are held; the rest is counted and skipped, so a huge message costs no
more memory than a small one.
"""

from __future__ import annotations

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


def read_mbox(fh: IO[bytes], keep: int) -> Iterator[MboxMessage]:
    offset = 0  # where the current line starts
    start = -1  # offset of the current message's From line, -1 before the first one
    parts: list[bytes] = []
    held = 0
    size = 0
    blank_before = True
    pending_blank = b""  # a blank line held back: it ends the message if a From line follows
    for line in fh:
        n = len(line)
        if blank_before and line.startswith(b"From "):
            if start >= 0:
                yield MboxMessage(start, b"".join(parts), size, offset)
            start, parts, held, size, pending_blank = offset, [], 0, 0, b""
            blank_before = False
            offset += n
            continue
        offset += n
        if start < 0:
            # text before the first From line is not a message; an mbox never has any
            blank_before = not line.strip(b"\r\n")
            continue
        if pending_blank:
            parts, held, size = _add(parts, held, size, pending_blank, keep)
            pending_blank = b""
        if not line.strip(b"\r\n"):
            pending_blank = line
            blank_before = True
            continue
        blank_before = False
        parts, held, size = _add(parts, held, size, line, keep)
    if start >= 0:
        yield MboxMessage(start, b"".join(parts), size, offset)


def _add(parts: list[bytes], held: int, size: int, line: bytes, keep: int) -> tuple[list[bytes], int, int]:
    size += len(line)
    if held < keep:
        piece = line[: keep - held]
        parts.append(piece)
        held += len(piece)
    return parts, held, size

