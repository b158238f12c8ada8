"""The SQLite results store: one row per message, one per recipient, and a view of the addresses to suppress.

A message's row and its recipients' rows are written in one transaction, keyed by the message's source id, so a
scan that is killed (even with SIGKILL) and started again finds each stored message once and reads only the rest.
Rows are replaced, never duplicated, when a message is analyzed again (``--rescan``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..display import no_surrogates, to_json
from ..errors import BounceAnalyzerError, InputError, StoreError
from ..model import Report

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    source_id TEXT PRIMARY KEY,      -- where the message is: path, mbox:FILE#OFFSET, imap://.../;UID=...
    scanned_at TEXT NOT NULL,        -- when it was analyzed (UTC, ISO 8601)
    size INTEGER,                    -- bytes; NULL when a stream went on past the size limit
    kind TEXT NOT NULL,              -- failure, delay, success, autoreply, feedback, not_bounce
    is_bounce INTEGER NOT NULL,
    format TEXT,
    reporting_mta TEXT,
    date TEXT,                       -- the notice's own Date, as UTC ISO 8601 when it can be read
    subject TEXT,
    feedback_type TEXT,
    original_message_id TEXT,
    original_subject TEXT,
    original_from TEXT,
    list_id TEXT,
    verp_recipient TEXT,
    problems TEXT,                   -- JSON list of {kind, message}; NULL when there were none
    report TEXT NOT NULL             -- the whole report as JSON
);
CREATE TABLE IF NOT EXISTS recipients (
    source_id TEXT NOT NULL REFERENCES messages(source_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    address TEXT NOT NULL,
    domain TEXT,
    action TEXT,
    status TEXT,
    reply_code INTEGER,
    reason TEXT,
    verdict TEXT,
    responder_role TEXT,
    responder_host TEXT,
    responder_ip TEXT,
    smtp_command TEXT,
    diagnostic TEXT,
    hint TEXT,
    rule TEXT,
    PRIMARY KEY (source_id, idx)
);
CREATE INDEX IF NOT EXISTS recipients_address ON recipients(address);
CREATE VIEW IF NOT EXISTS suppressions AS
    SELECT address, reason, MAX(seen) AS last_seen, COUNT(*) AS times
    FROM (
        SELECT r.address, r.reason, COALESCE(m.date, m.scanned_at) AS seen
        FROM recipients r JOIN messages m USING (source_id)
        WHERE (r.verdict = 'hard' AND r.action = 'failed') OR m.kind = 'feedback'
    )
    GROUP BY address;  -- SQLite takes reason from the row that holds MAX(seen): the latest one
"""

_MESSAGE_COLUMNS = ("source_id", "scanned_at", "size", "kind", "is_bounce", "format", "reporting_mta", "date",
                    "subject", "feedback_type", "original_message_id", "original_subject", "original_from",
                    "list_id", "verp_recipient", "problems", "report")
_RECIPIENT_COLUMNS = ("source_id", "idx", "address", "domain", "action", "status", "reply_code", "reason", "verdict",
                      "responder_role", "responder_host", "responder_ip", "smtp_command", "diagnostic", "hint",
                      "rule")


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_INSERT_MESSAGE = _insert("messages", _MESSAGE_COLUMNS)
_INSERT_RECIPIENT = _insert("recipients", _RECIPIENT_COLUMNS)


def key(source_id: str) -> str:
    """A source id as the store keeps it: SQLite holds UTF-8 text only, so the bytes of a file name that is not
    UTF-8 are written ``\\xNN`` (the report's JSON keeps the exact id)."""
    return no_surrogates(source_id)


def _text(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(no_surrogates(v) if isinstance(v, str) else v for v in row)


def message_row(report: Report, size: int | None, scanned_at: str, as_json: str) -> tuple[Any, ...]:
    o = report.original
    problems = to_json([{"kind": p.kind, "message": p.message} for p in report.problems]) \
        if report.problems else None
    return _text((report.source, scanned_at, size, str(report.kind), int(report.is_bounce), report.format,
            report.reporting_mta, report.date, report.subject, report.feedback_type,
            o.message_id if o else None, o.subject if o else None, o.from_ if o else None, o.list_id if o else None,
            o.verp_recipient if o else None, problems, as_json))


def recipient_rows(report: Report) -> list[tuple[Any, ...]]:
    return [_text((report.source, i, r.address, r.address.rpartition("@")[2] or None, r.action, r.status, r.reply_code,
             r.reason, r.verdict, str(r.responder.role), r.responder.host, r.responder.ip, r.smtp_command,
             r.diagnostic, r.hint, r.rule)) for i, r in enumerate(report.recipients)]


def _failure(e: sqlite3.Error) -> str:
    """What went wrong with the store's file, in words."""
    text = str(e)
    code = getattr(e, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or "disk is full" in text:
        return "the disk is full"
    if code == sqlite3.SQLITE_READONLY or "readonly" in text:
        return "it cannot be written (read-only)"
    if code is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
        return f"writing to the disk failed ({text}: the disk may be full or failing)"
    return f"cannot read or write it ({text})"


_IO_CODES = {sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB,
             sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY}


def _is_io(e: sqlite3.Error) -> bool:
    """Whether an error is about the file (its disk, its damage), not about the query."""
    code = getattr(e, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _IO_CODES


class Store:
    def __init__(self, path: str, *, durable: bool = False, read_only: bool = False) -> None:
        """Open (or create) a store. Only a new or empty file, or a store of this tool, is ever written to.
        ``durable`` syncs every commit to disk, for when a stored result is followed by an action on the mailbox
        that cannot be undone (deleting from POP3). ``read_only`` opens an existing store for reading only."""
        self.path = path
        self.read_only = read_only
        try:
            self.db = _connect_read_only(path) if read_only else sqlite3.connect(path, isolation_level=None)
        except sqlite3.OperationalError as e:
            raise StoreError(f"{path}: cannot open the results store: {_failure(e)}") from None
        except sqlite3.DatabaseError as e:
            raise InputError(f"{path}: not a results store ({e})") from None
        try:
            if read_only:
                self._check_version()
                return
            self.db.execute("PRAGMA foreign_keys=ON")
            self._check_version()  # before anything is written: a file of another program is left as it is
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self.db.executescript(_SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.OperationalError as e:
            self.db.close()
            raise StoreError(f"{path}: cannot set up the results store: {_failure(e)}") from None
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise InputError(f"{path}: not a results store this tool can use ({e})") from None
        except BounceAnalyzerError:
            self.db.close()
            raise

    def _check_version(self) -> None:
        names = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master")}
        if "meta" not in names:
            if names:
                raise InputError(f"{self.path}: holds tables of another program; give a new file")
            if self.read_only:
                raise InputError(f"{self.path}: not a results store (it is empty)")
            return
        row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            raise InputError(f"{self.path}: holds tables of another program; give a new file")
        if int(row[0]) > SCHEMA_VERSION:
            raise InputError(f"{self.path}: written by a newer version of this tool (schema {row[0]})")

    def has(self, source_id: str) -> bool:
        try:
            return self.db.execute("SELECT 1 FROM messages WHERE source_id = ?", (key(source_id),)).fetchone() \
                is not None
        except sqlite3.DatabaseError as e:
            raise self._unreadable(e) from None

    def save(self, results: Sequence[tuple[Report, int | None, str]]) -> None:
        """Store reports (with their message sizes and JSON forms) in one transaction: all of them, or none.
        Raises ``StoreError`` naming the store, the trouble and how many messages it holds when they cannot be."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        cur = self.db.cursor()
        try:
            cur.execute("BEGIN")
            cur.executemany("DELETE FROM recipients WHERE source_id = ?", [(key(r.source),) for r, _, _ in results])
            cur.executemany(_INSERT_MESSAGE, [message_row(r, size, now, js) for r, size, js in results])
            cur.executemany(_INSERT_RECIPIENT, [row for r, _, _ in results for row in recipient_rows(r)])
            cur.execute("COMMIT")
        except BaseException as e:
            if self.db.in_transaction:  # SQLite may have rolled back already (a full disk does)
                with contextlib.suppress(sqlite3.Error):
                    cur.execute("ROLLBACK")
            if isinstance(e, sqlite3.OperationalError):
                raise StoreError(self._stopped(_failure(e))) from None
            raise

    def _stopped(self, why: str) -> str:
        try:
            held = f"{self.count():,} messages are stored"
        except sqlite3.Error:
            held = "what was stored before stays stored"
        return (f"{self.path}: cannot store more results: {why}; {held}, nothing half-written. "
                "Make room and run the same scan again to go on")

    def count(self) -> int:
        try:
            return int(self.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
        except sqlite3.DatabaseError as e:
            raise self._unreadable(e) from None

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as e:
            if not _is_io(e):
                raise
            raise self._unreadable(e) from None

    def iter_query(self, sql: str, args: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self.db.execute(sql, args)
        except sqlite3.DatabaseError as e:
            if not _is_io(e):
                raise
            raise self._unreadable(e) from None

    def _unreadable(self, e: sqlite3.DatabaseError) -> StoreError:
        return StoreError(f"{self.path}: cannot read the results store: {_failure(e)}")

    def close(self) -> None:
        self.db.close()


def _connect_read_only(path: str) -> sqlite3.Connection:
    """Open for reading only, leaving no file behind. A store that a scan has closed is one file, read as it is
    (``immutable``); while a scan writes to it, or after one was killed, its ``-wal`` file holds the latest results
    and SQLite reads them through a ``-shm`` file, which it makes if it must."""
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    if not os.path.exists(f"{path}-wal"):
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, isolation_level=None)


def open_existing(path: str) -> Store:
    """A store that must already exist (for reports and suppression lists), opened for reading only."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such results store (run 'bounce-analyzer scan --db {path} ...' first)")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a results store")
    try:
        return Store(path, read_only=True)
    except sqlite3.DatabaseError as e:
        raise InputError(f"{path}: not a results store ({e})") from None
