"""Analyze a stream of messages in parallel processes and hand the reports back in input order.

Messages travel to the workers in small batches, and only a few batches are in flight at any time, so memory stays
flat however large the mailbox is. With one job everything runs in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from multiprocessing.queues import Queue
from typing import Any, NamedTuple, cast

from ..api import _ruleset, _run
from ..classify.rules import RuleSet
from ..display import to_json
from ..errors import ScanError
from ..model import Kind, Problem, Report
from ..options import Options
from .sources import OVER, Item

BATCH_MESSAGES = 32
BATCH_BYTES = 4 << 20
IN_FLIGHT_PER_JOB = 3

_Task = tuple[str, bytes, int, str | None]  # source id, raw, size, error


class Analyzed(NamedTuple):
    report: Report
    json: str  # the report as one line of JSON


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def unreadable(source_id: str, error: str) -> Report:
    return Report(source=source_id, is_bounce=False, kind=Kind.NOT_BOUNCE,
                  problems=(Problem(source_id, "unreadable", error),))


def over_limit(report: Report, limit: int) -> Report:
    """The report on the start of a message read from a stream that went on past the size limit."""
    cut = Problem(report.source, "truncated", f"the message goes on past {limit:,} bytes; only those were read "
                                              "and analyzed")
    return replace(report, problems=(cut, *report.problems))


def _analyze_one(sid: str, raw: bytes, size: int, error: str | None, rules: RuleSet, options: Options) -> Report:
    if error is not None:
        return unreadable(sid, error)
    if size == OVER:
        return over_limit(_run(raw, sid, rules, options, len(raw)), options.max_size)
    return _run(raw, sid, rules, options, size)


def _analyze_batch(tasks: Sequence[_Task], rules: RuleSet, options: Options) -> list[Analyzed]:
    reports = [_analyze_one(sid, raw, size, error, rules, options) for sid, raw, size, error in tasks]
    # the JSON form is made here, in the worker: the parent only stores and prints it
    return [Analyzed(r, to_json(r.to_dict())) for r in reports]


def _die_with_parent() -> None:
    """On Linux, have the kernel end this worker when the scan's process dies, even by SIGKILL: a worker left behind
    would only fail to hand back its batch and print the error."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker ends at its next read from the closed pipe
        pass


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _worker_main(tasks: Any, results: Connection, rules: RuleSet, options: Options) -> None:
    """A worker: batches in from its own queue, reports out through its own pipe, until it gets None."""
    # the parent handles Ctrl-C and stops the workers; SIGTERM (to the whole group, as `timeout` sends it) ends a
    # worker at once. Both were blocked across the fork, so that neither reaches the parent's handler here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _die_with_parent()
    while (batch := tasks.get()) is not None:
        results.send(_analyze_batch(batch, rules, options))


class _Batches(Queue):  # type: ignore[type-arg]  # (not subscriptable at run time)
    """A worker's queue of batches. A thread writes them to the pipe, so putting one never blocks the parent; when
    the worker is gone (stopped, or killed), what could not be written is dropped without a word."""

    @staticmethod
    def _on_queue_feeder_error(e: Exception, obj: object) -> None:
        return None


class _Worker:
    """One process with a queue of its own for batches and a pipe of its own for reports: no lock is shared, so a
    worker that is killed holding one cannot block the others or the parent."""

    def __init__(self, ctx: Any, rules: RuleSet, options: Options) -> None:
        self.tasks = _Batches(ctx=ctx)
        self.results, sender = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_worker_main, args=(self.tasks, sender, rules, options), daemon=True)
        self._sender = sender

    def start(self) -> None:
        self.process.start()
        self._sender.close()  # the worker holds it now

    def receive(self) -> list[Analyzed]:
        """The report of the oldest batch sent to this worker."""
        ready = wait([self.results, self.process.sentinel])
        if self.results in ready or self.results.poll():
            try:
                return cast(list[Analyzed], self.results.recv())
            except EOFError:
                pass
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


def _batches(items: Iterable[Item | None]) -> Iterator[list[Item]]:
    """Items in batches; a None in the input (the source is skipping stored messages) hands out what is held, so
    that nothing waits for a batch to fill while no new message comes (an endless stream of messages seen before).
    An empty batch says only that: the caller may collect the answers it is waiting for."""
    batch: list[Item] = []
    held = 0
    for item in items:
        if item is None:
            yield batch
            batch, held = [], 0
            continue
        batch.append(item)
        held += len(item.raw)
        if len(batch) >= BATCH_MESSAGES or held >= BATCH_BYTES:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _tasks(batch: list[Item]) -> list[_Task]:
    return [(i.id, i.raw, i.size, i.error) for i in batch]


def analyze_items(items: Iterable[Item | None], *, rules: Any, options: Options,
                  jobs: int) -> Iterator[tuple[Item, Analyzed]]:
    """(item, report) for every item, in input order. A None among the items says no new message is coming for a
    while: what is in flight is answered now rather than when more work arrives."""
    ruleset = _ruleset(rules)  # loaded here once: forked workers inherit it, and bad rules fail before any work
    if jobs <= 1:
        for batch in _batches(items):
            if batch:
                yield from zip(batch, _analyze_batch(_tasks(batch), ruleset, options), strict=True)
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    workers = [_Worker(ctx, ruleset, options) for _ in range(jobs)]
    in_flight: deque[tuple[list[Item], _Worker]] = deque()
    finished = False
    try:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            for w in workers:
                w.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        # batches go round the workers in turn, and each worker answers in the order it was asked: reading the
        # answers in the order the batches went out keeps the input order
        n = 0
        for batch in _batches(items):
            if not batch:  # nothing new for now: answer what was handed out
                while in_flight:
                    done_batch, w = in_flight.popleft()
                    yield from zip(done_batch, w.receive(), strict=True)
                continue
            worker = workers[n % jobs]
            n += 1
            worker.tasks.put(_tasks(batch))
            in_flight.append((batch, worker))
            while len(in_flight) >= jobs * IN_FLIGHT_PER_JOB:
                done_batch, w = in_flight.popleft()
                yield from zip(done_batch, w.receive(), strict=True)
        while in_flight:
            done_batch, w = in_flight.popleft()
            yield from zip(done_batch, w.receive(), strict=True)
        finished = True
    finally:
        # stopped early (an error, Ctrl-C, SIGTERM, the reader went away): what is in flight is dropped
        for w in workers:
            w.stop(now=not finished)
