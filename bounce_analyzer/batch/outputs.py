"""Result streams on stdout: JSON lines (one report a line), CSV (one row a recipient) and short text lines.

A message without recipients (not a bounce, unreadable, ...) still gets one CSV row, so every message scanned can
be found in the output.
"""

from __future__ import annotations

import csv
from typing import Any, Protocol, TextIO

from ..display import Paint, for_terminal, kind_words, no_surrogates, to_json, wants_colour
from ..model import Recipient
from .workers import Analyzed

CSV_COLUMNS = ("source_id", "kind", "date", "reporting_mta", "address", "action", "status", "reply_code", "reason",
               "verdict", "fault", "responder_role", "responder_host", "responder_ip", "smtp_command", "diagnostic",
               "hint", "original_message_id", "original_subject", "list_id", "feedback_id", "verp_recipient",
               "problems")  # then one column per header asked for with --header
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Writer(Protocol):
    reads_reports: bool  # False: ``write`` needs only ``result.json`` (a scan's workers then send no report)

    def write(self, result: Analyzed) -> None: ...


class JsonLines:
    reads_reports = False

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, result: Analyzed) -> None:
        self.out.write(result.json + "\n")
        self.out.flush()  # a line printed is a line delivered, even if the scan is killed next


def csv_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (``=HYPERLINK(...)`` in a diagnostic) is quoted to stay text; a file
    name that is not UTF-8 shows its bytes as ``\\xNN``."""
    if isinstance(value, str):
        value = no_surrogates(value)
        if value.startswith(_FORMULA_STARTS):
            return "'" + value
    return "" if value is None else value


class Csv:
    reads_reports = True

    def __init__(self, out: TextIO, headers: tuple[str, ...] = ()) -> None:
        self.out = out
        self.headers = headers
        self.writer = csv.writer(out, lineterminator="\r\n")
        self.writer.writerow((*CSV_COLUMNS, *headers))

    def write(self, result: Analyzed) -> None:
        report = result.report
        o = report.original
        common = (report.source, str(report.kind), report.iso_date, report.reporting_mta)
        found = {name.lower(): value for name, value in o.headers} if o else {}
        tail = (o.message_id if o else None, o.subject if o else None, o.list_id if o else None,
                o.feedback_id if o else None, o.verp_recipient if o else None,
                "; ".join(f"{p.kind}: {p.message}" for p in report.problems) or None,
                *(found.get(name.lower()) for name in self.headers))
        rows: list[tuple[Any, ...]] = [(*common, *_recipient(r), *tail) for r in report.recipients]
        if not rows:
            rows = [(*common, *([None] * 13), *tail)]
        self.writer.writerows([csv_cell(v) for v in row] for row in rows)
        self.out.flush()


def _recipient(r: Recipient) -> tuple[Any, ...]:
    return (r.address, r.action, r.status, r.reply_code, r.reason, r.verdict, r.fault, str(r.responder.role),
            r.responder.host, r.responder.ip, r.smtp_command, " ".join(r.diagnostic.split()), r.hint)


class Lines:
    """One line a recipient, for reading on a terminal."""

    reads_reports = True

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.paint = Paint(wants_colour(out))

    def write(self, result: Analyzed) -> None:
        report = result.report
        t = for_terminal  # values from the message, with their control characters made visible
        if not report.recipients:
            note = "; ".join(p.message for p in report.problems) or kind_words(report.kind)
            self.out.write(f"{t(report.source)}  {t(note)}\n")
        for r in report.recipients:
            codes = " ".join(x for x in (str(r.reply_code or ""), r.status or "") if x) or "-"
            fault = f"  {r.fault}" if r.fault else ""
            self.out.write(f"{t(report.source)}  {t(r.address)}  {t(codes)}  {r.reason}  "
                           f"{self.paint((r.verdict or '-').upper(), r.verdict)}{fault}\n")


class Sisimai:
    """One Sisimai record a line: a recipient that failed, was delayed or complained (``bounce_analyzer.sisimai``)."""

    reads_reports = True

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, result: Analyzed) -> None:
        from ..sisimai import records

        for record in records(result.report):
            self.out.write(to_json(record) + "\n")
        self.out.flush()


class Nothing:
    reads_reports = False

    def write(self, result: Analyzed) -> None:
        return None


def writer_for(fmt: str, out: TextIO, headers: tuple[str, ...] = ()) -> Writer:
    """``headers``: the original message's headers asked for with ``--header``, one CSV column each."""
    if fmt == "jsonl":
        return JsonLines(out)
    if fmt == "csv":
        return Csv(out, headers)
    if fmt == "text":
        return Lines(out)
    if fmt == "sisimai":
        return Sisimai(out)
    return Nothing()
