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
from typing import Any, NamedTuple

from ..api import _ruleset, _run
from ..classify.rules import RuleSet
from ..display import to_json
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
_state: tuple[RuleSet, Options] | None = None


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


def _init_worker(rules: RuleSet, options: Options) -> None:
    global _state
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and stops a worker with SIGTERM, whatever the parent does with it
    _state = (rules, options)


def _work(tasks: list[_Task]) -> list[Analyzed]:
    assert _state is not None
    return _analyze_batch(tasks, *_state)


def _batches(items: Iterable[Item]) -> Iterator[list[Item]]:
    batch: list[Item] = []
    held = 0
    for item in items:
        batch.append(item)
        held += len(item.raw)
        if len(batch) >= BATCH_MESSAGES or held >= BATCH_BYTES:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _tasks(batch: list[Item]) -> list[_Task]:
    return [(i.id, i.raw, i.size, i.error) for i in batch]


def analyze_items(items: Iterable[Item], *, rules: Any, options: Options,
                  jobs: int) -> Iterator[tuple[Item, Analyzed]]:
    """(item, report) for every item, in input order."""
    ruleset = _ruleset(rules)  # loaded here once: forked workers inherit it, and bad rules fail before any work
    if jobs <= 1:
        for batch in _batches(items):
            yield from zip(batch, _analyze_batch(_tasks(batch), ruleset, options), strict=True)
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(ruleset, options))
    in_flight: deque[tuple[list[Item], Any]] = deque()
    finished = False
    try:
        for batch in _batches(items):
            in_flight.append((batch, pool.apply_async(_work, (_tasks(batch),))))
            while len(in_flight) >= jobs * IN_FLIGHT_PER_JOB:
                done_batch, result = in_flight.popleft()
                yield from zip(done_batch, result.get(), strict=True)
        while in_flight:
            done_batch, result = in_flight.popleft()
            yield from zip(done_batch, result.get(), strict=True)
        finished = True
    finally:
        if finished:
            pool.close()
        else:
            pool.terminate()  # stopped early (an error, Ctrl-C, the reader went away): drop what is in flight
        pool.join()
