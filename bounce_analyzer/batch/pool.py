"""The worker processes of a scan with several jobs: each has a queue of its own for batches of messages and a pipe
of its own for reports, and the reports come back in input order."""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.queues import Queue
from typing import Any, NoReturn, cast

from ..classify.rules import RuleSet
from ..errors import ScanError
from ..options import Options
from .sources import Item
from .workers import IN_FLIGHT_PER_JOB, Analyzed, analyze_batch, tasks_of


def _die_with_parent() -> None:
    """On Linux, have the kernel end this worker when the scan's process dies, even by SIGKILL: a worker left behind
    would only fail to hand back its batch and print the error."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker ends at its next read from the closed pipe
        pass


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
PIPE_BYTES = 1 << 20  # what a worker's pipe holds, where the system lets it be set (Linux): a few batches' answers


def _widen(conn: Connection) -> None:
    """Let a worker's pipe hold a few batches' answers (about 80 KB each). At the default 64 KB, every answer
    waited, unfinished, for the scan's process to read it before the worker could go on to its next batch."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, or over the system's limit: the default size
        pass


def _worker_main(tasks: Any, results: Connection, rules: RuleSet, options: Options, packed: bool,
                 reports: bool) -> None:
    """A worker: batches in from its own queue, reports out through its own pipe (``packed``: in the form
    ``Analyzed.packed`` makes, with the reports or without), until it gets None."""
    # the parent handles Ctrl-C and stops the workers; SIGTERM (to the whole group, as `timeout` sends it) ends a
    # worker at once. Both were blocked across the fork, so that neither reaches the parent's handler here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _die_with_parent()
    while (batch := tasks.get()) is not None:
        analyzed = analyze_batch(batch, rules, options)
        results.send([a.packed(reports) for a in analyzed] if packed else analyzed)


class _Batches(Queue):  # type: ignore[type-arg]  # (not subscriptable at run time)
    """A worker's queue of batches. A thread writes them to the pipe, so putting one never blocks the parent; when
    the worker is gone (stopped, or killed), what could not be written is dropped without a word."""

    @staticmethod
    def _on_queue_feeder_error(e: Exception, obj: object) -> None:
        return None


class _Worker:
    """One process with a queue of its own for batches and a pipe of its own for reports: no lock is shared, so a
    worker that is killed holding one cannot block the others or the parent."""

    def __init__(self, ctx: Any, rules: RuleSet, options: Options, packed: bool, reports: bool) -> None:
        self.tasks = _Batches(ctx=ctx)
        self.results, sender = ctx.Pipe(duplex=False)
        _widen(sender)
        self.process = ctx.Process(target=_worker_main, args=(self.tasks, sender, rules, options, packed, reports),
                                   daemon=True)
        self._sender = sender
        self.packed = packed
        self.pending = 0  # batches sent whose reports were not handed on yet
        self.answers: deque[list[Analyzed]] = deque()  # reports read from the pipe before they were wanted

    def start(self) -> None:
        self.process.start()
        self._sender.close()  # the worker holds it now

    @property
    def busy(self) -> int:
        """Batches sent whose reports were not read from the pipe yet: the work this worker has ahead of it."""
        return self.pending - len(self.answers)

    def read(self) -> None:
        """Read this worker's next answer from its pipe."""
        try:
            received = self.results.recv()
        except EOFError:
            self._ended()
        self.answers.append([Analyzed.unpacked(p) for p in received] if self.packed
                            else cast(list[Analyzed], received))

    def _ended(self) -> NoReturn:
        self.process.join()
        code = self.process.exitcode
        if code in (-signal.SIGTERM, -signal.SIGINT):
            raise KeyboardInterrupt  # the scan's process group was told to stop: the parent stops too
        raise ScanError(f"a worker process ended unexpectedly (exit status {code}); what was analyzed before it "
                        "is stored: run the same scan again to go on")

    def stop(self, *, now: bool) -> None:
        """End the worker: at once (``now``), or once it has done what it was given. Either way it is waited for,
        so no zombie is left."""
        if self.process.pid is None:  # never started
            return
        if not now and self.process.is_alive():
            self.tasks.put(None)
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.tasks.cancel_join_thread()  # batches not taken are dropped, not waited for
        self.tasks.close()
        self.results.close()


def _read_ready(workers: Sequence[_Worker], *, block: bool) -> None:
    """Read every answer that has come in (waiting for one with ``block``). A worker whose answer waits unread in
    its pipe cannot go on to its next batch."""
    pipes = {w.results: w for w in workers if w.busy}
    sentinels = {w.process.sentinel: w for w in workers if w.busy}
    if not pipes:
        return
    ready = wait([*pipes, *sentinels], timeout=None if block else 0)
    for conn in ready:
        if conn in pipes:
            pipes[cast(Connection, conn)].read()
    for conn in ready:
        ended = sentinels.get(cast(int, conn))
        if ended is not None and ended.busy and not ended.results.poll():
            ended._ended()


def in_parallel(batches: Iterable[list[Item]], ruleset: RuleSet, options: Options, jobs: int, *,
                packed: bool = False, reports: bool = True) -> Iterator[tuple[Item, Analyzed]]:
    """(item, report) for every item of the batches, analyzed by ``jobs`` worker processes, in input order. An empty
    batch says no new message is coming for a while: what is in flight is answered now. ``packed``: the workers
    send the rows for the store too, and the report itself (not at all without ``reports``) is unpickled only when
    asked for.

    Each batch goes to the worker with the least work ahead of it, and every worker is kept supplied while the
    scan's process waits for the oldest answer or hands results on: handing batches out in turn, and only once the
    oldest was answered, left a worker idle whenever the other one had the slower batch."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    workers = [_Worker(ctx, ruleset, options, packed, reports) for _ in range(jobs)]
    in_flight: deque[tuple[list[Item], _Worker]] = deque()
    # batches held at once, answered or not (memory stays flat): a few more than the workers have ahead of them, so
    # that one worker's slow batch at the head does not stop the others
    limit = jobs * (IN_FLIGHT_PER_JOB + 1)
    finished = False
    try:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            for w in workers:
                w.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        source = iter(batches)
        more = True  # the source may hold more batches
        flushing = False  # the source said nothing new is coming for now: answer what is in flight first
        while True:
            while more and not flushing and len(in_flight) < limit:
                worker = min(workers, key=lambda w: w.busy)
                if worker.busy >= IN_FLIGHT_PER_JOB:
                    break  # every worker has enough ahead of it
                batch = next(source, None)
                if batch is None:
                    more = False
                elif not batch:
                    flushing = True
                else:
                    worker.tasks.put(tasks_of(batch))
                    worker.pending += 1
                    in_flight.append((batch, worker))
            if not in_flight:
                if not more:
                    break
                flushing = False
                continue
            # batches go to each worker in order and each answers in the order it was asked, so the oldest batch
            # in flight is the first answer its worker has not handed on
            _read_ready(workers, block=not in_flight[0][1].answers)
            batch, w = in_flight[0]
            if w.answers:
                in_flight.popleft()
                w.pending -= 1
                yield from zip(batch, w.answers.popleft(), strict=True)
        finished = True
    finally:
        # stopped early (an error, Ctrl-C, SIGTERM, the reader went away): what is in flight is dropped
        for w in workers:
            w.stop(now=not finished)
