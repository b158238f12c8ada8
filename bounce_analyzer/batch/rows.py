"""What a report becomes in the results store's tables: one row for the message, one for each recipient.

Made apart from the store itself (no SQLite here), so that a worker process can build a report's rows where it
analyzed the message and the scan's process only writes them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..display import no_surrogates, to_json
from ..model import Report

MESSAGE_COLUMNS = ("source_id", "message_key", "scanned_at", "size", "kind", "is_bounce", "format", "reporting_mta",
                   "date", "subject", "feedback_type", "original_message_id", "original_subject", "original_from",
                   "list_id", "verp_recipient", "problems", "report")
RECIPIENT_COLUMNS = ("source_id", "idx", "address", "domain", "action", "status", "reply_code", "reason", "verdict",
                     "responder_role", "responder_host", "responder_ip", "smtp_command", "diagnostic", "hint",
                     "rule", "fault", "final_recipient")


def key(source_id: str) -> str:
    """A source id as the store keeps it: SQLite holds UTF-8 text only, so the bytes of a file name that is not
    UTF-8 are written ``\\xNN`` (the report's JSON keeps the exact id)."""
    return no_surrogates(source_id)


def _text(row: tuple[Any, ...], as_json: str | None) -> tuple[Any, ...]:
    """The row with text SQLite can hold. The report's JSON holds every text of the report and writes each surrogate
    (a byte that is not UTF-8) as a ``\\udXXX`` escape: where it has none, no text needs looking at one by one."""
    if as_json is not None and "\\ud" not in as_json:
        return row
    return tuple(no_surrogates(v) if isinstance(v, str) else v for v in row)


class Rows(NamedTuple):
    """A report's rows, less what only the scan knows when it stores them (the message's content key, when it was
    stored, its size): ``message_row`` is ``(source_id, message_key, scanned_at, size, *message)``."""

    source_id: str  # as the store keeps it (``key``)
    message: tuple[Any, ...]  # the message row from ``kind`` to ``report``
    recipients: list[tuple[Any, ...]]


def rows_of(report: Report, as_json: str) -> Rows:
    """The rows of a report whose JSON is ``as_json``."""
    o = report.original
    problems = to_json([{"kind": p.kind, "message": p.message} for p in report.problems]) \
        if report.problems else None
    row = _text((report.source, str(report.kind), int(report.is_bounce), report.format, report.reporting_mta,
                 report.iso_date, report.subject, report.feedback_type, o.message_id if o else None,
                 o.subject if o else None, o.from_ if o else None, o.list_id if o else None,
                 o.verp_recipient if o else None, problems, as_json), as_json)
    return Rows(row[0], row[1:], recipient_rows(report, as_json))


def message_row(report: Report, size: int | None, scanned_at: str, as_json: str,
                message_key: str | None = None) -> tuple[Any, ...]:
    rows = rows_of(report, as_json)
    return (rows.source_id, message_key, scanned_at, size, *rows.message)


def recipient_rows(report: Report, as_json: str | None = None) -> list[tuple[Any, ...]]:
    """A row for each recipient; ``as_json`` is the report's JSON, when there is one."""
    return [_text((report.source, i, r.address, r.address.rpartition("@")[2] or None, r.action, r.status, r.reply_code,
             r.reason, r.verdict, str(r.responder.role), r.responder.host, r.responder.ip, r.smtp_command,
             r.diagnostic, r.hint, r.rule, r.fault, r.final_recipient), as_json)
            for i, r in enumerate(report.recipients)]
