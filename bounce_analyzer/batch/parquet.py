"""Results as a Parquet dataset, for analytics engines (DuckDB, pandas, Spark, Dask itself).

A dataset is a folder with two tables, each a folder of part files written under the same part names:

- ``recipients/PART.parquet``: one row per recipient, with the CSV columns, the store's recipient columns and the
  message's fields (``message_key``, ``format``, ``is_bounce``, ``subject``, ``size``, ``scanned_at``);
- ``messages/PART.parquet``: one row per message, with the store's message columns and the whole report as JSON
  (``report``).

A part's name comes from the work that made it (a source, and the range or files of it) and from the size and
modification time of what was read, so a repeated or resumed run writes the same parts again and replaces them,
while a mailbox that changed since gets new parts beside the old ones. Each message is kept once by its content key:
a message whose key is in another part already (or was met before in this run) is left out of the part being
written. Parts are written to a hidden file first and renamed into place, so a reader or a killed run never sees
half a part.

``pyarrow`` is needed (``pip install 'bounce-analyzer[parquet]'``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import InputError, StoreError
from ..model import Report
from .outputs import CSV_COLUMNS
from .rows import MESSAGE_COLUMNS as _MESSAGE_COLUMNS
from .rows import RECIPIENT_COLUMNS as _RECIPIENT_COLUMNS  # the store's; this module's own are below
from .rows import message_row, recipient_rows
from .store import Store

MESSAGES = "messages"
RECIPIENTS = "recipients"

# the recipient table: the CSV columns, then the store's recipient columns the CSV lacks, then the message's fields
_MESSAGE_FIELDS = ("message_key", "format", "is_bounce", "subject", "size", "scanned_at")
RECIPIENT_COLUMNS = (*CSV_COLUMNS, *(c for c in _RECIPIENT_COLUMNS if c not in CSV_COLUMNS), *_MESSAGE_FIELDS)
_INTS = {"size", "reply_code", "idx"}
_BOOLS = {"is_bounce"}


@dataclass(frozen=True, slots=True)
class Result:
    """One analyzed message on its way to a dataset."""

    key: str | None  # its content key (None when it could not be read)
    size: int | None  # its size in bytes (None: a stream went on past the limit)
    report: Report
    json: str  # the report as one line of JSON


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError("Parquet output needs pyarrow: pip install 'bounce-analyzer[parquet]'") from None
    return pyarrow


def _schema(pa: Any, columns: Sequence[str]) -> Any:
    def kind(c: str) -> Any:
        return pa.int64() if c in _INTS else pa.bool_() if c in _BOOLS else pa.string()

    return pa.schema([(c, kind(c)) for c in columns])


def _recipient_records(r: Result, scanned_at: str, headers: Sequence[str]) -> list[dict[str, Any]]:
    report = r.report
    message = dict(zip(_MESSAGE_COLUMNS, message_row(report, r.size, scanned_at, r.json, r.key), strict=True))
    o = report.original
    found = {name.lower(): value for name, value in o.headers} if o else {}
    problems = "; ".join(f"{p.kind}: {p.message}" for p in report.problems) or None
    records = []
    for stored in recipient_rows(report, r.json):
        row: dict[str, Any] = dict(zip(_RECIPIENT_COLUMNS, stored, strict=True))
        row.update(kind=message["kind"], date=message["date"], reporting_mta=message["reporting_mta"],
                   original_message_id=message["original_message_id"],
                   original_subject=message["original_subject"], list_id=message["list_id"],
                   feedback_id=o.feedback_id if o else None, verp_recipient=message["verp_recipient"],
                   problems=problems, is_bounce=bool(report.is_bounce),
                   **{c: message[c] for c in _MESSAGE_FIELDS if c != "is_bounce"})
        for name in headers:
            row[name] = found.get(name.lower())
        records.append(row)
    return records


class Dataset:
    """A Parquet dataset being written: ``write(part, results)`` writes one part of each table."""

    def __init__(self, path: str, headers: Sequence[str] = ()) -> None:
        self.pa = _pyarrow()
        self.path = path
        self.headers = tuple(headers)
        try:
            for table in (MESSAGES, RECIPIENTS):
                os.makedirs(os.path.join(path, table), exist_ok=True)
        except OSError as e:
            raise InputError(f"{path}: cannot write the Parquet dataset here ({e.strerror or e})") from None
        self.elsewhere = self._stored_keys()  # content key -> the part that holds it
        self.seen: set[str] = set()  # keys written by this run
        self.before = len(self.elsewhere)
        self.messages = 0
        self.recipients = 0
        self.duplicates = 0

    def _stored_keys(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for part, file in parts(self.path, MESSAGES):
            try:
                keys = self.pa.parquet.read_table(file, columns=["message_key"]).column(0).to_pylist()
            except (OSError, self.pa.ArrowException) as e:
                raise InputError(f"{file}: not a part this tool can read ({e})") from None
            for k in keys:
                if k is not None:
                    found.setdefault(k, part)
        return found

    def keep(self, part: str, results: Sequence[Result]) -> list[Result]:
        """The results of a part that no other part holds, nor an earlier part of this run."""
        kept = []
        for r in results:
            if r.key is not None:
                if r.key in self.seen or self.elsewhere.get(r.key, part) != part:
                    self.duplicates += 1
                    continue
                self.seen.add(r.key)
            kept.append(r)
        return kept

    def write(self, part: str, results: Sequence[Result]) -> list[Result]:
        """Write a part (replacing one of that name) of the results no other part holds; returns what it kept."""
        kept = self.keep(part, results)
        scanned_at = datetime.now(UTC).isoformat(timespec="seconds")
        messages = [dict(zip(_MESSAGE_COLUMNS, message_row(r.report, r.size, scanned_at, r.json, r.key), strict=True))
                    for r in kept]
        for m in messages:
            m["is_bounce"] = bool(m["is_bounce"])
        recipients = [row for r in kept for row in _recipient_records(r, scanned_at, self.headers)]
        columns = (*RECIPIENT_COLUMNS, *(h for h in self.headers if h not in RECIPIENT_COLUMNS))
        self._put(MESSAGES, part, self.pa.Table.from_pylist(messages, schema=_schema(self.pa, _MESSAGE_COLUMNS)))
        self._put(RECIPIENTS, part, self.pa.Table.from_pylist(recipients, schema=_schema(self.pa, columns)))
        self.messages += len(kept)
        self.recipients += len(recipients)
        return kept

    def _put(self, table: str, part: str, data: Any) -> None:
        folder = os.path.join(self.path, table)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
        except OSError as e:
            raise StoreError(f"{folder}: cannot write a part here ({e.strerror or e})") from None
        os.close(fd)
        try:
            self.pa.parquet.write_table(data, tmp)
            os.replace(tmp, os.path.join(folder, f"{part}.parquet"))
        except BaseException as e:
            os.unlink(tmp)
            if isinstance(e, OSError | self.pa.ArrowException):
                raise StoreError(f"{folder}: cannot write part {part} ({e}); the parts written before it are "
                                 "whole, and running the same scan again writes the rest") from None
            raise


def parts(path: str, table: str) -> Iterator[tuple[str, str]]:
    """(part name, file) for every part of a table, in name order."""
    folder = os.path.join(path, table)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".parquet") and not n.startswith("."))
    except FileNotFoundError:
        return
    for name in names:
        yield name[: -len(".parquet")], os.path.join(folder, name)


def load_into_store(path: str, store: Store) -> tuple[int, int]:
    """Fill an SQLite store from a dataset: each message whose content key the store does not hold, with its
    recipients. Returns (messages added, messages the store had already)."""
    pa = _pyarrow()
    if not os.path.isdir(os.path.join(path, MESSAGES)):
        raise InputError(f"{path}: not a Parquet dataset of this tool (it has no '{MESSAGES}' folder)")
    added = already = 0
    recipients = dict(parts(path, RECIPIENTS))
    insert_message = (f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(_MESSAGE_COLUMNS))})")
    insert_recipient = (f"INSERT OR REPLACE INTO recipients ({', '.join(_RECIPIENT_COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(_RECIPIENT_COLUMNS))})")
    for part, file in parts(path, MESSAGES):
        try:
            messages = pa.parquet.read_table(file, columns=list(_MESSAGE_COLUMNS)).to_pylist()
            rows = pa.parquet.read_table(recipients[part], columns=list(_RECIPIENT_COLUMNS)).to_pylist() \
                if part in recipients else []
        except (OSError, pa.ArrowException) as e:
            raise InputError(f"{file}: not a part this tool can read ({e})") from None
        by_source: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_source.setdefault(row["source_id"], []).append(row)
        new_messages: list[tuple[Any, ...]] = []
        new_recipients: list[tuple[Any, ...]] = []
        for m in messages:
            k = m["message_key"]
            if (k is not None and store.has_key(k)) or (k is None and store.has(m["source_id"])):
                already += 1
                continue
            stored, _ = store.key_at(m["source_id"])
            source_id = m["source_id"] if not stored else f"{m['source_id']};key={(k or '')[:16]}"
            m["is_bounce"] = int(m["is_bounce"])
            new_messages.append(tuple({**m, "source_id": source_id}[c] for c in _MESSAGE_COLUMNS))
            new_recipients += [tuple({**r, "source_id": source_id}[c] for c in _RECIPIENT_COLUMNS)
                               for r in by_source.get(m["source_id"], ())]
        if new_messages:
            store.db.execute("BEGIN")
            try:
                store.db.executemany(insert_message, new_messages)
                store.db.executemany(insert_recipient, new_recipients)
                store.db.execute("COMMIT")
            except BaseException:
                store.db.execute("ROLLBACK")
                raise
        added += len(new_messages)
    return added, already
