"""Analyze a stream of messages and hand the reports back in input order: in this process with one job, else in
parallel processes (``pool``).

Messages travel to the workers in small batches, and only a few batches are in flight at any time, so memory stays
flat however large the mailbox is.
"""

from __future__ import annotations

import os
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


def analyze_batch(tasks: Sequence[_Task], rules: RuleSet, options: Options) -> list[Analyzed]:
    reports = [_analyze_one(sid, raw, size, error, rules, options) for sid, raw, size, error in tasks]
    # the JSON form is made here, in the worker: the parent only stores and prints it
    return [Analyzed(r, to_json(r.to_dict())) for r in reports]


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


def tasks_of(batch: list[Item]) -> list[_Task]:
    return [(i.id, i.raw, i.size, i.error) for i in batch]


def analyze_items(items: Iterable[Item | None], *, rules: Any, options: Options,
                  jobs: int) -> Iterator[tuple[Item, Analyzed]]:
    """(item, report) for every item, in input order. A None among the items says no new message is coming for a
    while: what is in flight is answered now rather than when more work arrives."""
    ruleset = _ruleset(rules)  # loaded here once: forked workers inherit it, and bad rules fail before any work
    if jobs <= 1:
        for batch in _batches(items):
            if batch:
                yield from zip(batch, analyze_batch(tasks_of(batch), ruleset, options), strict=True)
        return
    from .pool import in_parallel  # multiprocessing is loaded only when it is used

    yield from in_parallel(_batches(items), ruleset, options, jobs)
