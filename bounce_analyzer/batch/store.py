"""The SQLite results store: one row per message, one per recipient, and a view of the addresses to suppress.

A message's row and its recipients' rows are written in one transaction. Each row holds the message's content key
(``message_key``) under a unique index, so a message is stored once however it moved: an mbox trimmed, rotated or
compacted, a Maildir moved, an IMAP folder with a new UIDVALIDITY. A scan that is killed (even with SIGKILL) and
started again finds each stored message once and analyzes only the rest. Rows are replaced, never duplicated, when
a message is analyzed again (``--rescan``).

Stores written before keys existed (schema 1) are migrated in place when opened for writing: the column and its
index are added, and a stored row gets its key the next time a scan finds a message at the row's location (as
such a store was kept before: by location).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..errors import BounceAnalyzerError, InputError, StoreError
from .rows import MESSAGE_COLUMNS, RECIPIENT_COLUMNS, Rows, key

SCHEMA_VERSION = 2  # 2: messages.message_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    source_id TEXT PRIMARY KEY,      -- where the message was found: path, mbox:FILE#OFFSET, imap://.../;UID=...
    message_key TEXT,                -- SHA-256 of its content, line endings normalised; NULL if unreadable
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
    fault TEXT,                      -- recipient, sender, destination, network, unknown; NULL when not a failure
    final_recipient TEXT,            -- the address the message was finally sent to, when not ``address``
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


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_INSERT_MESSAGE = _insert("messages", MESSAGE_COLUMNS)
_INSERT_RECIPIENT = _insert("recipients", RECIPIENT_COLUMNS)


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


_SEEN = "COALESCE(m.date, m.scanned_at)"
_STORED = ("r.source_id", _SEEN, "m.kind", "r.address", "r.action", "r.status", "r.reply_code", "r.reason",
           "r.verdict", "r.fault", "r.responder_role", "r.responder_host", "r.diagnostic", "r.hint", "r.rule")


@dataclass(frozen=True, slots=True)
class StoredRecipient:
    """One recipient as stored, with its message's source id, date and kind."""

    source_id: str
    date: str  # the notice's Date, else when it was stored (UTC, ISO 8601)
    kind: str
    address: str
    action: str | None
    status: str | None
    reply_code: int | None
    reason: str | None
    verdict: str | None
    fault: str | None
    responder_role: str | None
    responder_host: str | None
    diagnostic: str | None
    hint: str | None
    rule: str | None


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
            self._add_columns()
            self.db.execute("CREATE UNIQUE INDEX IF NOT EXISTS messages_key ON messages(message_key)")
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
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

    def _add_columns(self) -> None:
        """A store written before a column existed gets it (NULL in the rows it already holds)."""
        have = {row[1] for row in self.db.execute("PRAGMA table_info(recipients)")}
        if "fault" not in have:
            self.db.execute("ALTER TABLE recipients ADD COLUMN fault TEXT")
        if "final_recipient" not in have:
            self.db.execute("ALTER TABLE recipients ADD COLUMN final_recipient TEXT")
        if "message_key" not in {row[1] for row in self.db.execute("PRAGMA table_info(messages)")}:
            self.db.execute("ALTER TABLE messages ADD COLUMN message_key TEXT")  # schema 1 -> 2

    def has(self, source_id: str) -> bool:
        try:
            return self.db.execute("SELECT 1 FROM messages WHERE source_id = ?", (key(source_id),)).fetchone() \
                is not None
        except sqlite3.DatabaseError as e:
            raise self._unreadable(e) from None

    def has_key(self, message_key: str) -> bool:
        """Whether a message with this content is stored, wherever it was found."""
        return self.db.execute("SELECT 1 FROM messages WHERE message_key = ?", (message_key,)).fetchone() \
            is not None

    def key_at(self, source_id: str) -> tuple[bool, str | None]:
        """(whether a row is stored under this id, its content key: None for a row stored before keys existed or
        for a message that could not be read)."""
        row = self.db.execute("SELECT message_key FROM messages WHERE source_id = ?", (key(source_id),)).fetchone()
        return (row is not None, row[0] if row else None)

    def stored_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these content keys are stored: ``has_key`` for several in one query."""
        if not keys:
            return set()
        try:
            return {k for (k,) in self.db.execute(
                f"SELECT message_key FROM messages WHERE message_key IN ({', '.join('?' * len(keys))})", keys)}
        except sqlite3.DatabaseError as e:
            raise self._unreadable(e) from None

    def keys_at(self, source_ids: Sequence[str]) -> dict[str, str | None]:
        """``key_at`` for several ids in one query: the ids that have a row, each with its content key."""
        if not source_ids:
            return {}
        held = [key(s) for s in source_ids]
        try:
            found = dict(self.db.execute(
                f"SELECT source_id, message_key FROM messages WHERE source_id IN ({', '.join('?' * len(held))})",
                held))
        except sqlite3.DatabaseError as e:
            raise self._unreadable(e) from None
        return {s: found[k] for s, k in zip(source_ids, held, strict=True) if k in found}

    def set_key(self, source_id: str, message_key: str) -> None:
        """Give a row stored before keys existed the key of the message found at its location now."""
        try:
            self.db.execute("UPDATE messages SET message_key = ? WHERE source_id = ? AND message_key IS NULL",
                            (message_key, key(source_id)))
        except sqlite3.OperationalError as e:
            raise StoreError(self._stopped(_failure(e))) from None

    def save(self, results: Sequence[tuple[Rows, int | None]], keys: Sequence[str | None] = ()) -> None:
        """Store reports (their rows, with their message sizes, and their content keys) in one transaction: all of
        them, or none. A message whose key is stored already (analyzed again) replaces that row wherever it was
        found. Raises ``StoreError`` naming the store, the trouble and how many messages it holds when they cannot
        be."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        keyed = list(keys) + [None] * (len(results) - len(keys))
        cur = self.db.cursor()
        try:
            cur.execute("BEGIN")
            old = [(k,) for k in keyed if k is not None]
            cur.executemany("DELETE FROM recipients WHERE source_id IN (SELECT source_id FROM messages "
                            "WHERE message_key = ?)", old)
            cur.executemany("DELETE FROM messages WHERE message_key = ?", old)
            cur.executemany("DELETE FROM recipients WHERE source_id = ?", [(rows.source_id,) for rows, _ in results])
            cur.executemany(_INSERT_MESSAGE, [(rows.source_id, k, now, size, *rows.message)
                                              for (rows, size), k in zip(results, keyed, strict=True)])
            cur.executemany(_INSERT_RECIPIENT, [row for rows, _ in results for row in rows.recipients])
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

    # ---- reading, so that nobody needs SQL ----------------------------------------------------------------------

    def recipients(self, address: str | None = None, *, kind: str | None = None, action: str | None = None,
                   verdict: str | None = None, fault: str | None = None, reason: str | None = None,
                   since: str | None = None, until: str | None = None) -> list[StoredRecipient]:
        """Stored recipients, oldest first, narrowed by any of: address (any case), the message's kind, the
        recipient's action, verdict, fault, reason, and its date (ISO 8601; ``until`` counts a date whole)."""
        where, args = [], []
        for column, value in (("r.action", action), ("r.verdict", verdict), ("r.fault", fault),
                              ("r.reason", reason), ("m.kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if address is not None:
            where.append("lower(r.address) = ?")
            args.append(address.lower())
        if since is not None:
            where.append(f"{_SEEN} >= ?")
            args.append(since)
        if until is not None:
            where.append(f"substr({_SEEN}, 1, {len(until)}) <= ?")
            args.append(until)
        sql = (f"SELECT {', '.join(_STORED)} FROM recipients r JOIN messages m USING (source_id)"
               f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {_SEEN}, r.source_id, r.idx")
        return [StoredRecipient(*row) for row in self.iter_query(sql, args)]

    def events(self, as_of: str | None = None) -> Iterator[Any]:
        """What the stored results say about each address, for a bounce policy (``bounce_analyzer.policy``), in date
        order, up to ``as_of`` (a date counts whole). Rows stored before faults were recorded get their reason's
        fault. Read as they are used: a store of any size is never held in memory."""
        from ..policy import Event, event_type, parse_date

        reasons: dict[str, Any] | None = None
        sql = (f"SELECT r.address, r.action, r.verdict, r.reason, r.fault, r.status, r.source_id, {_SEEN} "
               "FROM recipients r JOIN messages m USING (source_id)")
        args: tuple[str, ...] = ()
        if as_of is not None:
            limit = as_of.strip()
            if len(limit) > 10:  # a time, perhaps in another zone: as the stored dates are written (UTC)
                when = parse_date(limit)
                if when is None:
                    raise InputError(f"{as_of}: not a date (write e.g. 2026-01-31 or 2026-01-31T12:00:00Z)")
                limit = when.isoformat(timespec="seconds")
            sql += f" WHERE substr({_SEEN}, 1, {len(limit)}) <= ?"
            args = (limit,)
        sql += f" ORDER BY {_SEEN}, r.source_id, r.idx"  # stored dates are all UTC ISO 8601: text order is time order
        for address, action, verdict, reason, fault, status, source_id, seen in self.iter_query(sql, args):
            kind = event_type(action, verdict, reason or "")
            date = parse_date(seen) if kind is not None and address else None
            if kind is None or date is None:
                continue
            if fault is None and kind in ("hard", "soft", "delay"):
                if reasons is None:
                    from ..classify.rules import default

                    reasons = default().reasons
                known = reasons.get(reason or "")
                fault = known.fault if known else None
            yield Event(address.lower(), kind, date, source_id, reason or "", fault, status)

    def suppressions(self, policy: Any = None, as_of: str | None = None) -> list[Any]:
        """The addresses a bounce policy (default ``strict``: hard failures, complaints, moved addresses, repeated
        recipient-side soft failures) says to stop mailing, as ``policy.Decision``s with their chains."""
        from ..policy import DEFAULT_POLICY, Tracker

        tracker = Tracker(policy or DEFAULT_POLICY)
        tracker.feed(self.events(as_of))
        return tracker.decisions()


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
