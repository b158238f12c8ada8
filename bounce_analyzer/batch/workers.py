"""Analyze a stream of messages and hand the reports back in input order: in this process with one job, else in
parallel processes (``pool``).

Messages travel to the workers in small batches, and only a few batches are in flight at any time, so memory stays
flat however large the mailbox is.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from ..api import _ruleset, _run
from ..classify.rules import RuleSet
from ..display import to_json
from ..model import Kind, Problem, Report
from ..options import Options
from ..parse import bounded as rx
from .rows import Rows, rows_of
from .sources import OVER, Item

BATCH_MESSAGES = 32
BATCH_BYTES = 4 << 20
IN_FLIGHT_PER_JOB = 3

_Task = tuple[str, bytes, int, str | None]  # source id, raw, size, error


class Analyzed:
    """A message's report, its JSON line (made once, where the report was made) and its rows for the store.

    A worker of a scan that stores its results sends these in the form ``packed`` makes: the JSON, the rows, the
    problems and whether the message may be acted on, as plain tuples and text, with the report itself pickled apart
    (or not at all, when the scan said it reads no reports). The scan's process stores and prints JSON lines with
    these alone and reads the report back only when something asks for it (another output format, a caller of
    ``scan()``): unpickling every report took it as long as storing it."""

    __slots__ = ("_acts_on", "_pickled", "_problems", "_report", "_rows", "json")

    def __init__(self, report: Report, as_json: str) -> None:
        self.json = as_json  # the report as one line of JSON
        self._report: Report | None = report
        self._pickled: bytes | None = None
        self._rows: Rows | None = None
        self._problems: tuple[Problem, ...] | None = None
        self._acts_on: bool | None = None

    @classmethod
    def unpacked(cls, packed: _Packed) -> Analyzed:
        """An ``Analyzed`` from its packed form (``packed``), its report not read yet."""
        self = cls.__new__(cls)
        self.json, self._rows, self._problems, self._acts_on, self._pickled = packed
        self._report = None
        return self

    @property
    def report(self) -> Report:
        if self._report is None:
            if self._pickled is None:
                raise LookupError("the report was not kept: this scan was started to read JSON lines and rows only")
            self._report = pickle.loads(self._pickled)
            self._pickled = None
        return self._report

    @property
    def rows(self) -> Rows:
        if self._rows is None:
            self._rows = rows_of(self.report, self.json)
        return self._rows

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.report.problems if self._problems is None else self._problems

    @property
    def acts_on(self) -> bool:
        """Whether a mailbox action (mark seen, move, delete) may touch this message: a bounce or a feedback report
        that was read without problems. Anything else stays where it is, for a person to look at."""
        if self._acts_on is None:
            r = self.report
            self._acts_on = (r.is_bounce or r.kind == "feedback") and not any(
                p.kind in ("unreadable", "internal-error", "regex-timeout", "truncated") for p in r.problems)
        return self._acts_on

    def packed(self, report: bool = True) -> _Packed:
        """What a worker sends: the JSON, the rows, the problems, whether the message may be acted on, and the
        report pickled (``report``) or None."""
        return (self.json, self.rows, self.problems, self.acts_on,
                pickle.dumps(self.report, pickle.HIGHEST_PROTOCOL) if report else None)

    def __reduce__(self) -> tuple[Any, ...]:
        return Analyzed, (self.report, self.json)


_Packed = tuple[str, Rows, tuple[Problem, ...], bool, bytes | None]


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
    with rx.timer_held(options.regex_timeout):  # once for the batch, rather than once a message
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


def analyze_items(items: Iterable[Item | None], *, rules: Any, options: Options, jobs: int,
                  packed: bool = False, reports: bool = True) -> Iterator[tuple[Item, Analyzed]]:
    """(item, report) for every item, in input order. A None among the items says no new message is coming for a
    while: what is in flight is answered now rather than when more work arrives. ``packed``: worker processes send
    the rows for the store with each report (``Analyzed.packed``), for a caller that stores them; without
    ``reports``, they send only those (the caller never reads ``Analyzed.report``)."""
    ruleset = _ruleset(rules)  # loaded here once: forked workers inherit it, and bad rules fail before any work
    if jobs <= 1:
        for batch in _batches(items):
            if batch:
                yield from zip(batch, analyze_batch(tasks_of(batch), ruleset, options), strict=True)
        return
    from .pool import in_parallel  # multiprocessing is loaded only when it is used

    yield from in_parallel(_batches(items), ruleset, options, jobs, packed=packed, reports=reports)
