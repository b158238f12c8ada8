"""Where messages come from: files and folders, mbox files (plain or gzip), Maildirs, stdin, IMAP and POP3. This is
the one input layer: ``analyze``, ``scan`` and ``bounce_analyzer.scan()`` all read through it.

Every source yields ``Item``s in a stable order, each with a source id that says where the message is:

- a file: its absolute path (for ``analyze``: the path as given);
- an mbox: ``mbox:/abs/path#OFFSET`` (the byte offset of its ``From`` line, in the decompressed stream);
- a Maildir: ``maildir:/abs/folder/KEY`` (the key is the file name without its flags, so it survives flag changes);
- stdin: ``stdin;sha256=…`` for one message, ``stdin#OFFSET;sha256=…`` for an mbox stream (stdin has no name, so
  the content names it);
- IMAP: ``imap://user@host:port/FOLDER;UIDVALIDITY=…;UID=…``; POP3: ``pop3://user@host:port/;UIDL=…``.

A location changes when a mailbox is edited (an mbox trimmed or compacted, a Maildir moved, a folder given a new
UIDVALIDITY), so what names a message for good is its content: ``message_key``, a hash of its bytes with line endings
made the same. The store keeps each key once.

What a file is comes from its content, never its name: an mbox starts with a ``From`` line, gzip with its magic
bytes, a Maildir is a folder with ``cur`` and ``new``. Sources only ever read; the actions a remote source can take
on processed mail (``after_stored``) run only when asked for and only after the results are stored.

A message that cannot be read becomes an ``Item`` with ``error`` set, so a scan reports it and goes on.
"""

from __future__ import annotations

import gzip
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol, cast

from ..errors import InputError
from .mbox import MboxMessage, looks_like_mbox, read_mbox

Done = Callable[[str], bool]  # is this source id already stored?
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Item:
    id: str  # the stable source id
    raw: bytes = b""  # the message, at most the size limit of it
    size: int = 0  # the whole message's size
    error: str | None = None  # why it could not be read
    handle: Any = None  # what the source needs to act on the message later (an IMAP UID, a POP3 number)
    position: int = 0  # in a source counted in bytes: how far into it this message ends (0: not known)
    key: str | None = None  # the message's content identity (``message_key``), set when a scan checks it

    # made field by field: ``dataclasses.replace`` took some 10 µs an item, twice for each message of a scan

    def keyed(self, key: str, item_id: str | None = None) -> Item:
        """This item with its content key (and, when given, another id)."""
        return Item(self.id if item_id is None else item_id, self.raw, self.size, self.error, self.handle,
                    self.position, key)

    def further(self, by: int) -> Item:
        """This item with its position ``by`` further on (its source follows others)."""
        return Item(self.id, self.raw, self.size, self.error, self.handle, self.position + by, self.key)


_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def message_key(raw: bytes) -> str:
    """A message's identity by its content: SHA-256 (hex) of its bytes with CRLF and CR line endings made LF,
    mbox ``>From`` quoting undone and trailing line ends dropped, so one message read from a file, an mbox, a
    Maildir or IMAP (which sends CRLF) has one key wherever it is found."""
    data = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").rstrip(b"\n")
    if b"\n>" in data:
        data = _QUOTED_FROM.sub(rb"\1", data)
    import hashlib  # here, not at the top: loading it (OpenSSL) costs a one-file analyze about 3 ms

    return hashlib.sha256(data).hexdigest()


class Source(Protocol):
    label: str  # for messages to the user
    unit: str  # "bytes" or "messages": what ``total()`` and ``Item.position`` count

    def total(self) -> int | None:
        """How much there is to read, in ``unit``, when that is cheap to know (for the progress bar)."""
        ...

    def items(self, done: Done) -> Iterator[Item]:
        """Every message, in a stable order; messages whose id ``done`` knows may be skipped unread."""
        ...

    def after_stored(self, items: Sequence[tuple[Item, bool]]) -> None:
        """Act on messages whose results are stored (``True``: the message is a bounce). Only remote sources act."""
        ...

    def close(self) -> None: ...


class _Local:
    """Shared by the local sources: they never act on processed mail."""

    label = ""
    unit = "bytes"

    def total(self) -> int | None:
        return None

    def after_stored(self, items: Sequence[tuple[Item, bool]]) -> None:
        return None

    def close(self) -> None:
        return None


def read_file(path: str | os.PathLike[str], keep: int) -> tuple[bytes, int]:
    """A file's first ``keep`` bytes, and its size. The buffer is sized by the file, not by the limit: asking for
    10 MB allocates 10 MB, which took longer than analyzing a small message."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        want = min(keep, size + 1) if size > 0 else keep  # a size of 0 may be a file of /proc: read to the limit
        raw = fh.read(want)
        if len(raw) == want < keep:  # it grew since: the rest, up to the limit
            raw += fh.read(keep - want)
        return raw, size


def _os_error(e: OSError) -> str:
    return f"cannot read ({e.strerror or e})"


def _open_stream(path: str) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip."""
    fh: IO[bytes] = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    if fh.read(2) == _GZIP_MAGIC:
        fh.close()
        return cast(IO[bytes], gzip.open(path, "rb"))
    fh.seek(0)
    return fh


def _head(path: str) -> bytes:
    with _open_stream(path) as fh:
        return fh.read(200)


def is_maildir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "cur")) and os.path.isdir(os.path.join(path, "new"))


def _mbox_items(stream: IO[bytes], prefix: str, keep: int, name_by_content: bool,
                where: Callable[[MboxMessage], int]) -> Iterator[Item]:
    """The messages of an mbox stream. Their offsets are not an identity (trimming the mbox moves them), so no
    stored id is looked up here: the scan checks each message's content key."""
    import hashlib  # (see message_key)

    for m in read_mbox(stream, keep):
        if name_by_content:
            item_id = f"{prefix}#{m.offset};sha256={hashlib.sha256(m.raw).hexdigest()[:16]}"
        else:
            item_id = f"{prefix}#{m.offset}"
        yield Item(item_id, m.raw, m.size, position=where(m))


def _position(fh: IO[bytes]) -> Callable[[MboxMessage], int]:
    """How far into the file a message ends: its end offset, or for gzip how far the compressed file was read."""
    if isinstance(fh, gzip.GzipFile):
        raw = cast(Any, fh).fileobj

        def read_so_far(m: MboxMessage) -> int:
            try:
                return int(raw.tell())
            except OSError:  # a pipe: how far is not known
                return 0

        return read_so_far
    return lambda m: m.end


def _size_of(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class MboxFile(_Local):
    def __init__(self, path: str, keep: int, *, as_given: bool = False) -> None:
        self.path = os.path.abspath(path)
        self.name = path if as_given else self.path  # what its ids say
        self.label = path
        self.keep = keep

    def total(self) -> int | None:
        return _size_of(self.path) or None  # bytes on disk (compressed, for gzip)

    def items(self, done: Done) -> Iterator[Item]:
        try:
            with _open_stream(self.path) as fh:
                yield from _mbox_items(fh, f"mbox:{self.name}", self.keep, False, _position(fh))
        except _STREAM_ERRORS as e:
            # a truncated or damaged gzip ends the file here; what was read before stays read
            yield Item(f"mbox:{self.name}", error=_stream_error(e))


_STREAM_ERRORS = (OSError, EOFError, zlib.error)


def _stream_error(e: BaseException) -> str:
    """Why a (possibly compressed) stream could not be read to its end."""
    if isinstance(e, OSError) and not isinstance(e, gzip.BadGzipFile):
        return _os_error(e)
    if isinstance(e, EOFError):
        return "damaged compressed data (it ends too soon); the messages after that point could not be read"
    return f"damaged compressed data ({e}); the messages after that point could not be read"


class Maildir(_Local):
    """A Maildir and its Maildir++ subfolders (``.Name``), read-only: nothing is renamed, moved or created."""

    def __init__(self, path: str, keep: int) -> None:
        self.path = os.path.abspath(path)
        self.label = path
        self.keep = keep

    def folders(self) -> list[str]:
        found = [self.path]
        try:
            subs = sorted(e.name for e in os.scandir(self.path) if e.name.startswith(".") and e.is_dir()
                          and e.name not in (".", ".."))
        except OSError:
            subs = []
        found += [os.path.join(self.path, s) for s in subs if is_maildir(os.path.join(self.path, s))]
        return found

    def _files(self) -> Iterator[tuple[str, str, str | None]]:
        """(source id, path, why it cannot be listed) for every message file; a folder that cannot be listed is
        one entry with the reason."""
        for folder in self.folders():
            for sub in ("new", "cur"):
                d = os.path.join(folder, sub)
                try:
                    names = sorted(n for n in os.listdir(d) if not n.startswith("."))
                except OSError as e:
                    yield f"maildir:{d}", d, _os_error(e)
                    continue
                for name in names:
                    yield f"maildir:{folder}/{name.split(':', 1)[0]}", os.path.join(d, name), None

    def total(self) -> int | None:
        return sum(_size_of(path) for _, path, error in self._files() if error is None)

    def items(self, done: Done) -> Iterator[Item]:
        """Messages whose id is stored are skipped unread: a Maildir key names one delivered file for good."""
        position = 0
        for item_id, path, error in self._files():
            if error is not None:
                yield Item(item_id, error=error, position=position)
                continue
            if done(item_id):
                position += _size_of(path)
                continue
            try:
                raw, size = read_file(path, self.keep)
            except FileNotFoundError:
                continue  # moved from new/ to cur/ (or delivered elsewhere) while we listed: it is read there
            except OSError as e:
                yield Item(item_id, error=_os_error(e), position=position)
                continue
            position += size
            yield Item(item_id, raw, size, position=position)


def _not_a_file(path: str) -> str | None:
    """Why a path cannot be read as a message file, without opening it (a pipe would block)."""
    if os.path.isfile(path):
        return None
    if os.path.islink(path):
        return "a link to a folder, not followed" if os.path.isdir(path) else "a broken link"
    if os.path.isdir(path):
        return None if is_maildir(path) else "a folder"
    return "not a regular file" if os.path.exists(path) else "no such file"


def _is_note(name: str) -> bool:
    """Hidden files, and the notes and answer sheets kept beside sample mail, are not messages."""
    return name.startswith(".") or name.endswith((".toml", ".md"))


MAILDIR = "maildir"


def walk(path: str) -> Iterator[tuple[str, str | None]]:
    """(path, what) for every file and Maildir under a folder: files first, then subfolders, each in sorted order.
    ``what`` is None for a file, ``MAILDIR`` for a Maildir (one entry), or why a folder cannot be listed. Hidden
    entries and symbolic links to folders are not followed."""
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as error:
        yield path, f"cannot read this folder ({error.strerror or error})"
        return
    dirs = []
    for e in entries:
        if _is_note(e.name):
            continue
        try:
            is_dir = e.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            dirs.append(e.path)
        else:  # files, and whatever else is there (links, pipes): reading says what it is
            yield e.path, None
    for d in dirs:
        if is_maildir(d):
            yield d, MAILDIR
        else:
            yield from walk(d)


class Tree(_Local):
    """A single file, or a folder walked in sorted order; mbox files and Maildirs inside it are read as such.
    Ids are absolute paths, or with ``as_given`` the paths as given and found (what ``analyze`` prints)."""

    def __init__(self, path: str, keep: int, *, as_given: bool = False) -> None:
        self.path = path
        self.label = path
        self.keep = keep
        self.as_given = as_given

    def _paths(self) -> Iterator[tuple[str, str | None]]:
        if os.path.isdir(self.path):
            yield from walk(self.path)
        else:
            yield self.path, None

    def total(self) -> int | None:
        return sum((Maildir(p, self.keep).total() or 0) if what == MAILDIR else _size_of(p) if what is None else 0
                   for p, what in self._paths())

    def items(self, done: Done) -> Iterator[Item]:
        """Every message; a plain file or an mbox is always read (its content key, not its path, tells whether it
        is stored), a Maildir's stored messages are skipped unread."""
        base = 0  # bytes of the files before this one
        for path, what in self._paths():
            if what == MAILDIR:
                maildir = Maildir(path, self.keep)
                for item in maildir.items(done):
                    yield item.further(base)
                base += maildir.total() or 0
                continue
            item_id = path if self.as_given else os.path.abspath(path)
            if what is not None:  # a folder that cannot be listed: said every time, never stored as done
                yield Item(item_id, error=what, position=base)
                continue
            problem = _not_a_file(path)
            if problem:
                yield Item(item_id, error=problem, position=base)
                continue
            try:
                raw, size = read_file(path, self.keep)  # read once: its start also tells what the file is
                gzipped = raw[:2] == _GZIP_MAGIC
                head = _head(path) if gzipped or (len(raw) < 200 < size) else raw[:200]
            except _STREAM_ERRORS as e:
                yield Item(item_id, error=_stream_error(e), position=base)
                continue
            if looks_like_mbox(head):
                items = MboxFile(path, self.keep, as_given=self.as_given).items(done)
                first = next(items, None)
                second = next(items, None)
                if first is not None and second is None and first.error is None and not gzipped:
                    # one message after a "From " line is a message file: named by its path like any other, and
                    # read as it is (whatever its line endings)
                    base += size
                    yield Item(item_id, raw, size, position=base)
                    continue
                for each in (first, second, *items):
                    if each is not None:
                        yield each.further(base)
                base += _size_of(path)
            elif gzipped:
                base += size
                yield Item(item_id, error="compressed, but not an mbox: unpack it first", position=base)
            else:
                base += size
                yield Item(item_id, raw, size, position=base)


class Stdin(_Local):
    """One message or an mbox stream on standard input; read once, streamed."""

    label = "-"

    def __init__(self, keep: int, stream: IO[bytes] | None = None, *, single_id: str | None = None) -> None:
        self.keep = keep
        self.stream = stream
        self.single_id = single_id  # the id of a lone message (``analyze`` says "-"); by default named by content

    def items(self, done: Done) -> Iterator[Item]:
        import io

        fh = self.stream or stdin_bytes()
        buffered = fh if isinstance(fh, io.BufferedReader) else io.BufferedReader(fh)  # type: ignore[type-var]
        try:
            head = buffered.peek(200)[:200]
            if head[:2] == _GZIP_MAGIC:
                unpacked = cast(IO[bytes], gzip.GzipFile(fileobj=buffered))
                yield from _mbox_items(unpacked, "stdin", self.keep, True, _position(unpacked))
            elif looks_like_mbox(head):
                yield from _mbox_items(buffered, "stdin", self.keep, True, lambda m: m.end)
            else:
                raw, size = read_limited(buffered, self.keep)
                import hashlib  # (see message_key)

                item_id = self.single_id or f"stdin;sha256={hashlib.sha256(raw).hexdigest()[:16]}"
                yield Item(item_id, raw, size, position=len(raw))
        except _STREAM_ERRORS as e:
            yield Item("stdin", error=_stream_error(e))


def stdin_bytes() -> IO[bytes]:
    """Standard input as bytes; ``InputError`` when there is none (the command was started with it closed)."""
    if sys.stdin is None:
        raise InputError("-: standard input is closed")
    return sys.stdin.buffer


OVER = -1  # the size of a message on a stream that goes on past the limit: how far is not known


def read_limited(fh: IO[bytes], keep: int) -> tuple[bytes, int]:
    """One message from a stream: at most ``keep`` bytes, and its size. Reading stops one byte past the limit (an
    endless stream would never end), so the size of a longer message is ``OVER``."""
    raw = fh.read(keep + 1)
    if len(raw) > keep:
        return raw[:keep], OVER
    return raw, len(raw)


def open_source(spec: str, keep: int, *, as_given: bool = False, **remote: Any) -> Source:
    """The source a command-line argument names. Raises ``InputError`` when it names nothing readable. With
    ``as_given``, files keep the paths as given for ids, and a lone message on stdin is ``-``."""
    if spec == "-":
        stdin_bytes()  # closed: said now, before anything is read
        return Stdin(keep, single_id="-" if as_given else None)
    scheme = spec.split("://", 1)[0].lower() if "://" in spec else ""
    if scheme in ("imap", "imaps", "pop3", "pop3s"):
        from .remote import open_remote

        return open_remote(spec, keep, **remote)
    if scheme:
        raise InputError(f"{spec}: unknown kind of source (give a path, -, imap://, imaps://, pop3:// or pop3s://)")
    if not os.path.exists(spec):
        raise InputError(f"{spec}: no such file or folder")
    if is_maildir(spec):
        return Maildir(spec, keep)
    return Tree(spec, keep, as_given=as_given)
