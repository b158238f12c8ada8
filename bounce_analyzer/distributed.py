"""Scan across machines on a Dask cluster, the workers reading their own input.

    >>> from dask.distributed import Client
    >>> from bounce_analyzer.distributed import scan
    >>> for report in scan(["/mail/bounces.mbox", "/mail/Maildir"], Client("tcp://scheduler:8786"), parquet="out"):
    ...     ...

The sources are cut into tasks that each read a part of them: a folder tree by lists of files, a plain mbox by byte
ranges (each task starts at the first message boundary at or after its start, the boundary the single-process reader
finds: a ``From`` line at the start of the file or after a blank line, and reads to the first boundary at or after
its end), a gzip mbox (and any other large file that is not a plain mbox) one per task, a Maildir by lists of
message files, an IMAP folder by ranges of UIDs with one connection per task. Every message gets the source id and
content key a single-process scan gives it. Workers need the paths under the same names (a shared or network file
system) and log in to IMAP by themselves (the password variable or a netrc file: no password travels with a task);
POP3 and stdin are not split (scan them without ``--dask``).

Tasks only read and analyze, so a task whose worker dies is simply run again by Dask. The caller's process keeps
each content key once, in input order, and writes one Parquet part per task (``bounce_analyzer.batch.parquet``),
so the dataset holds each message once however often a task ran. The same tasks run in this process without Dask
(``run_local``), which is what ``scan --format parquet`` does without ``--dask``.

``dask[distributed]`` is needed (``pip install 'bounce-analyzer[dask]'``).
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .api import RulesArg, _ruleset
from .batch.mbox import looks_like_mbox, read_mbox
from .batch.parquet import Dataset, Result
from .batch.sources import MAILDIR, Item, Maildir, Tree, _not_a_file, is_maildir, message_key, walk
from .batch.workers import analyze_items
from .errors import InputError
from .model import Report
from .options import DEFAULT, Options

TASK_BYTES = 64 << 20  # how much of an mbox one task reads, and the bytes of files one file-list task holds
TASK_FILES = 2000  # files or Maildir messages per task
TASK_UIDS = 500  # IMAP messages per task
IN_FLIGHT_PER_THREAD = 3  # tasks handed to the cluster per worker thread before their results are collected

__all__ = ["Task", "plan", "read_task", "run_local", "scan"]


@dataclass(frozen=True, slots=True)
class Task:
    """A part of a source that one worker reads: ``files`` (paths of a folder tree, each read as the tree reads
    it), ``mbox`` (a byte range of a plain mbox), ``maildir`` (message files of a Maildir) or ``imap`` (the UIDs
    from ``start`` to ``end`` of a folder, with ``stamp`` its UIDVALIDITY)."""

    kind: str
    path: str  # the mbox or Maildir; for files, the tree's root
    start: int = 0  # mbox: the range [start, end) in which this task's messages start
    end: int = 0
    entries: tuple[tuple[str, str], ...] = ()  # files: (path, what walk() said); maildir: (source id, file)
    stamp: str = ""  # sizes and modification times of what the task reads: a changed file makes a new part
    remote: tuple[tuple[str, Any], ...] = ()  # imap: how to log in (never the password: workers find their own)

    @property
    def name(self) -> str:
        """The part this task's results are written under: the same for the same work on the same files."""
        text = repr((self.kind, self.path, self.start, self.end, self.entries, self.stamp))
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def _stamp(paths: Iterable[str]) -> str:
    h = hashlib.sha256()
    for p in paths:
        try:
            st = os.stat(p)
            h.update(f"{st.st_size}:{st.st_mtime_ns};".encode())
        except OSError:
            h.update(b"-;")
    return h.hexdigest()[:16]


def _is_plain_mbox(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return looks_like_mbox(fh.read(200))
    except OSError:
        return False


def plan(specs: Sequence[str], *, task_bytes: int = TASK_BYTES, task_files: int = TASK_FILES,
         task_uids: int = TASK_UIDS, **remote: Any) -> list[Task]:
    """The tasks that read these sources, in input order. Raises ``InputError`` for a source that cannot be split.
    ``remote``: how to reach IMAP folders (``password_env``, ``netrc_file``, ``plaintext``, ``ca_file``)."""
    tasks: list[Task] = []
    for spec in specs:
        if spec.lower().startswith(("imap://", "imaps://")):
            tasks += _imap_tasks(spec, task_uids, remote)
            continue
        if spec == "-" or "://" in spec:
            raise InputError(f"{spec}: only files, folders, mbox files, Maildirs and IMAP folders are split into "
                             "tasks; scan standard input and POP3 without --dask and without --format parquet")
        if not os.path.exists(spec):
            raise InputError(f"{spec}: no such file or folder")
        if is_maildir(spec):
            tasks += _maildir_tasks(spec, task_files)
        else:
            tasks += _tree_tasks(spec, task_bytes, task_files)
    return tasks


def _maildir_tasks(path: str, task_files: int) -> list[Task]:
    maildir = Maildir(path, 0)
    files = [(sid, file, error) for sid, file, error in maildir._files()]
    tasks = []
    for i in range(0, len(files), task_files):
        chunk = files[i:i + task_files]
        entries = tuple((sid, file if error is None else "\0" + error) for sid, file, error in chunk)
        tasks.append(Task("maildir", maildir.path, entries=entries,
                          stamp=_stamp(file for _, file, error in chunk if error is None)))
    return tasks


def _tree_tasks(root: str, task_bytes: int, task_files: int) -> list[Task]:
    """A tree's files in lists; a Maildir in it by its message files; a large plain mbox by byte ranges, and any
    other large file on its own. Paths are made absolute here: a worker's working folder is not ours."""
    root = os.path.abspath(root)
    entries = walk(root) if os.path.isdir(root) else iter([(root, None)])
    tasks: list[Task] = []
    chunk: list[tuple[str, str]] = []
    held = 0

    def flush() -> None:
        nonlocal chunk, held
        if chunk:
            tasks.append(Task("files", root, entries=tuple(chunk), stamp=_stamp(p for p, _ in chunk)))
        chunk, held = [], 0

    for path, what in entries:
        if what == MAILDIR:
            flush()
            tasks += _maildir_tasks(path, task_files)
            continue
        try:
            size = os.path.getsize(path) if what is None and _not_a_file(path) is None else 0
        except OSError:  # gone since it was listed: the task that reads it says so
            size = 0
        if size > task_bytes:
            flush()
            if _is_plain_mbox(path):
                tasks += _mbox_tasks(path, size, task_bytes)
            else:
                tasks.append(Task("files", root, entries=((path, ""),), stamp=_stamp([path])))
            continue
        chunk.append((path, what or ""))
        held += size
        if len(chunk) >= task_files or held >= task_bytes:
            flush()
    flush()
    return tasks


def _mbox_tasks(path: str, size: int, task_bytes: int) -> list[Task]:
    path = os.path.abspath(path)
    stamp = _stamp([path])
    return [Task("mbox", path, start, min(start + task_bytes, size), stamp=stamp)
            for start in range(0, size, task_bytes)]


_REMOTE = ("password_env", "netrc_file", "plaintext", "ca_file")


def _imap(url: str, remote: dict[str, Any]) -> Any:
    from .batch.remote import Imap, parse_url

    return Imap(parse_url(url), 0, **{k: v for k, v in remote.items() if k in _REMOTE})


def _imap_tasks(url: str, task_uids: int, remote: dict[str, Any]) -> list[Task]:
    """An IMAP folder by ranges of its UIDs, as listed now (one connection here, one per task on the workers)."""
    folder = _imap(url, remote)
    try:
        folder._open()
        uids, validity = list(folder._uids), folder._uidvalidity
    finally:
        folder.close()
    options = tuple(sorted((k, v) for k, v in remote.items() if k in _REMOTE and v is not None))
    return [Task("imap", url, uids[i], uids[min(i + task_uids, len(uids)) - 1], stamp=str(validity),
                 remote=options) for i in range(0, len(uids), task_uids)]


class _ImapPart:
    """The UIDs of one task, read over a connection of the task's own."""

    def __init__(self, task: Task, keep: int) -> None:
        self.task = task
        self.folder = _imap(task.path, dict(task.remote))
        self.folder.keep = keep

    def items(self) -> Iterator[Item]:
        f = self.folder
        try:
            f._open()
            if str(f._uidvalidity) != self.task.stamp:
                # the folder was made again since the scan was planned: these UIDs name other messages now
                yield Item(f"{f.account.name}/{f.account.folder};UIDVALIDITY={self.task.stamp};UID={self.task.start}",
                           error=f"the folder's UIDVALIDITY changed from {self.task.stamp} to {f._uidvalidity} "
                                 "during the scan; scan it again")
                return
            f._uids = [uid for uid in f._uids if self.task.start <= uid <= self.task.end]
            yield from f.items(lambda _: False)
        finally:
            f.close()


# ---- reading a task (on a worker) ----

class _TreePart(Tree):
    def __init__(self, root: str, entries: Sequence[tuple[str, str]], keep: int) -> None:
        super().__init__(root, keep)
        self.entries = entries

    def _paths(self) -> Iterator[tuple[str, str | None]]:
        for path, what in self.entries:
            yield path, what or None


class _MaildirPart(Maildir):
    def __init__(self, path: str, entries: Sequence[tuple[str, str]], keep: int) -> None:
        super().__init__(path, keep)
        self.entries = entries

    def _files(self) -> Iterator[tuple[str, str, str | None]]:
        for sid, file in self.entries:
            if file.startswith("\0"):
                yield sid, sid.removeprefix("maildir:"), file[1:]
            else:
                yield sid, file, None


def boundary_at_or_after(fh: Any, start: int) -> int | None:
    """The offset of the first message boundary at or after ``start`` in a plain mbox: a line that starts with
    ``From `` and opens the file or follows a blank line (only ``\\r`` and ``\\n``), as ``read_mbox`` decides."""
    if start <= 0:
        pos, blank_before = 0, True
    else:
        fh.seek(start - 1)
        fh.readline()  # the rest of the line that holds the byte before start
        pos = fh.tell()
        back = max(0, pos - 4096)
        fh.seek(back)
        before = fh.read(pos - back)[:-1].rstrip(b"\r")  # the line ending at pos, less its line end
        blank_before = before.endswith(b"\n") or (not before and (back == 0 or pos - back == 4096))
    fh.seek(pos)
    while True:
        line = fh.readline()
        if not line:
            return None
        if blank_before and line.startswith(b"From "):
            return int(pos)
        blank_before = not line.strip(b"\r\n")
        pos += len(line)


def _mbox_range(path: str, start: int, end: int, keep: int) -> Iterator[Item]:
    with open(path, "rb") as fh:
        first = boundary_at_or_after(fh, start)
        if first is None or first >= end:
            return
        fh.seek(first)
        for m in read_mbox(fh, keep):
            offset = first + m.offset
            if offset >= end:
                return
            yield Item(f"mbox:{path}#{offset}", m.raw, m.size)


def _items(task: Task, keep: int) -> Iterator[Item]:
    if task.kind == "mbox":
        try:
            yield from _mbox_range(task.path, task.start, task.end, keep)
        except OSError as e:
            yield Item(f"mbox:{task.path}#{task.start}", error=f"cannot read ({e.strerror or e})")
    elif task.kind == "imap":
        yield from _ImapPart(task, keep).items()
    elif task.kind == "maildir":
        yield from _MaildirPart(task.path, task.entries, keep).items(lambda _: False)
    else:
        yield from _TreePart(task.path, task.entries, keep).items(lambda _: False)


def read_task(task: Task, rules: RulesArg = None, options: Options = DEFAULT, jobs: int = 1) -> list[Result]:
    """Read and analyze one task's messages, in order, each with its content key (run on a worker). Rules given as
    paths are loaded once per worker process."""
    ruleset = _ruleset(rules)
    return [Result(message_key(item.raw) if item.error is None else None, item.size if item.size >= 0 else None,
                   analyzed.report, analyzed.json)
            for item, analyzed in analyze_items(_items(task, options.max_size), rules=ruleset, options=options,
                                                jobs=jobs)]


# ---- running the tasks ----

def _deliver(task: Task, results: list[Result], dataset: Dataset | None, seen: set[str]) -> Iterator[Report]:
    if dataset is not None:
        kept = dataset.write(task.name, results)
    else:
        kept = [r for r in results if r.key is None or r.key not in seen]
        seen.update(r.key for r in kept if r.key)
    for r in kept:
        yield r.report


def scan(sources: str | Sequence[str], client: Any, *, parquet: str | None = None, rules: RulesArg = None,
         options: Options = DEFAULT, headers: Sequence[str] = (), task_bytes: int = TASK_BYTES,
         task_files: int = TASK_FILES, task_uids: int = TASK_UIDS, **remote: Any) -> Iterator[Report]:
    """Analyze every message of the sources on a Dask cluster (``client``: a ``distributed.Client``), yielding the
    reports in input order, each message once by its content key. With ``parquet`` (a folder), the results are
    written there as a dataset, one part per task, replacing the parts of an earlier run of the same work."""
    specs = [sources] if isinstance(sources, str) else list(sources)
    tasks = plan(specs, task_bytes=task_bytes, task_files=task_files, task_uids=task_uids, **remote)
    dataset = Dataset(parquet, headers) if parquet is not None else None
    seen: set[str] = set()
    threads = sum(client.nthreads().values()) or 1
    window = max(2, threads * IN_FLIGHT_PER_THREAD)
    in_flight: deque[tuple[Task, Any]] = deque()
    pending = iter(tasks)
    try:
        while True:
            while len(in_flight) < window:
                task = next(pending, None)
                if task is None:
                    break
                # pure=False: a task is run for this scan, even if an identical one ran before on the cluster
                in_flight.append((task, client.submit(read_task, task, rules, options, pure=False, retries=2)))
            if not in_flight:
                return
            task, future = in_flight.popleft()
            results = future.result()
            future.release()
            yield from _deliver(task, results, dataset, seen)
    finally:
        for _, future in in_flight:
            future.cancel()


def run_local(sources: str | Sequence[str], *, parquet: str | None = None, rules: RulesArg = None,
              options: Options = DEFAULT, headers: Sequence[str] = (), jobs: int = 1, task_bytes: int = TASK_BYTES,
              task_files: int = TASK_FILES, task_uids: int = TASK_UIDS, **remote: Any) -> Iterator[Report]:
    """The same tasks as ``scan``, run one after another on this machine (each analyzed in ``jobs`` processes):
    the same parts, ids and keys."""
    specs = [sources] if isinstance(sources, str) else list(sources)
    dataset = Dataset(parquet, headers) if parquet is not None else None
    seen: set[str] = set()
    for task in plan(specs, task_bytes=task_bytes, task_files=task_files, task_uids=task_uids, **remote):
        yield from _deliver(task, read_task(task, rules, options, jobs), dataset, seen)
