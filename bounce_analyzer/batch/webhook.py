"""Push results to a list manager: each failure, complaint and bounce-policy decision in a results store is POSTed
once to a webhook, as this package's JSON or as listmonk's bounce webhook body.

What is posted is read from the store, and each event is marked there (table ``posted``) once the server took it,
so a scan that was killed and run again posts what is left, and nothing twice. Every request carries an
``Idempotency-Key`` (the same for the same event and URL, on every try), so a server that took an event just before
the mark was written can tell the repeat. Connection errors, timeouts, 429 and 5xx answers are tried again with
exponential backoff; another 4xx answer is recorded as the event's outcome, named on stderr, and not tried again.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import InputError
from .store import Store

FORMATS = ("json", "listmonk")
TIMEOUT = 10.0  # seconds per request
BACKOFF = 0.5  # seconds before the first retry; doubled for each next one
LISTMONK_HEADERS = ("X-Listmonk-Campaign", "X-Listmonk-Subscriber")  # listmonk marks the mail it sends with these

_SCHEMA = """
CREATE TABLE IF NOT EXISTS posted (
    url TEXT NOT NULL,
    event_id TEXT NOT NULL,        -- failure:SOURCE#IDX, complaint:SOURCE#IDX, decision:POLICY:ADDRESS:ACTION
    posted_at TEXT NOT NULL,
    outcome TEXT NOT NULL,         -- the HTTP status the server answered with
    PRIMARY KEY (url, event_id)
);
"""


@dataclass(frozen=True, slots=True)
class Outbound:
    event_id: str
    kind: str  # failure, complaint, decision
    body: dict[str, Any]

    @property
    def key(self) -> str:
        return hashlib.sha256(self.event_id.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class PostResult:
    posted: int = 0
    rejected: int = 0  # answered with a 4xx that retrying will not change
    pending: int = 0  # left for the next run: the server could not be reached
    error: str = ""


class GaveUp(Exception):
    pass


class Poster:
    def __init__(self, url: str, *, fmt: str = "json", token: str | None = None, retries: int = 5,
                 backoff: float = BACKOFF, sleep: Callable[[float], None] = time.sleep) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"{url}: --post-to needs an http:// or https:// URL")
        if fmt not in FORMATS:
            raise InputError(f"{fmt}: not a post format (use {', '.join(FORMATS)})")
        self.url, self.fmt, self.token = url, fmt, token
        self.retries, self.backoff, self.sleep = retries, backoff, sleep

    # ---- what to post -----------------------------------------------------------------------------------------------

    def pending(self, store: Store, policy: Any = None) -> Iterator[Outbound]:
        """Every failure and complaint not yet posted to this URL, oldest first; then, when a policy is given, every
        decision of it not yet posted."""
        store.db.executescript(_SCHEMA)
        rows = store.db.execute(
            "SELECT r.source_id, r.idx, r.address, r.action, r.status, r.reply_code, r.reason, r.verdict, r.fault, "
            "r.responder_role, r.responder_host, r.diagnostic, COALESCE(m.date, m.scanned_at), m.feedback_type, "
            "m.report FROM recipients r JOIN messages m USING (source_id) "
            "WHERE (r.action = 'failed' OR r.action = 'complained') AND NOT EXISTS (SELECT 1 FROM posted p "
            "WHERE p.url = ? AND p.event_id = (CASE r.action WHEN 'failed' THEN 'failure:' ELSE 'complaint:' END) "
            "|| r.source_id || '#' || r.idx) ORDER BY 13, r.source_id, r.idx", (self.url,)).fetchall()
        for row in rows:
            out = self._recipient_event(row)
            if out is not None:
                yield out
        if policy is None:
            return
        done = {row[0] for row in store.db.execute("SELECT event_id FROM posted WHERE url = ? AND event_id LIKE "
                                                   "'decision:%'", (self.url,))}
        for d in store.suppressions(policy):
            event_id = f"decision:{d.policy}:{d.address}:{d.action}"
            if event_id not in done:
                yield Outbound(event_id, "decision", self._decision_body(d))

    def _recipient_event(self, row: tuple[Any, ...]) -> Outbound | None:
        (source, idx, address, action, status, reply, reason, verdict, fault, role, host, diagnostic, date,
         feedback_type, report_json) = row
        kind = "failure" if action == "failed" else "complaint"
        event_id = f"{kind}:{source}#{idx}"
        original = _original(report_json)
        if self.fmt == "listmonk":
            if kind == "failure" and fault != "recipient":
                # listmonk counts every bounce it is told of; a failure on the sending side is no bounce of the
                # subscriber's, so it is marked done without being sent
                return Outbound(event_id, "skip", {})
            headers = {k.lower(): v for k, v in original.get("headers", {}).items()}
            body: dict[str, Any] = {
                "email": address, "campaign_uuid": headers.get("x-listmonk-campaign", ""), "source": "bounce-analyzer",
                "type": "complaint" if kind == "complaint" else ("hard" if verdict == "hard" else "soft"),
                "meta": {"reason": reason, "fault": fault, "status": status, "reply_code": reply, "date": date,
                         "source_id": source, "diagnostic": (diagnostic or "")[:1000]},
            }
            if headers.get("x-listmonk-subscriber"):
                body["subscriber_uuid"] = headers["x-listmonk-subscriber"]
            return Outbound(event_id, kind, body)
        return Outbound(event_id, kind, {
            "event": kind, "address": address, "date": date, "source_id": source, "action": action,
            "reason": reason, "verdict": verdict, "fault": fault, "status": status, "reply_code": reply,
            "responder": {"role": role, "host": host}, "diagnostic": diagnostic or "", "feedback_type": feedback_type,
            "original": original,
        })

    def _decision_body(self, d: Any) -> dict[str, Any]:
        if self.fmt == "listmonk":  # listmonk acts on a hard bounce; the decision is one
            return {"email": d.address, "campaign_uuid": "", "source": "bounce-analyzer", "type": "hard",
                    "meta": {"policy": d.policy, "action": d.action, "why": d.why, "reason": d.reason,
                             "decided_at": d.to_dict()["decided_at"]}}
        return {"event": "decision", **d.to_dict()}

    # ---- posting ----------------------------------------------------------------------------------------------------

    def post_pending(self, store: Store, policy: Any = None, on_rejected: Callable[[str], None] | None = None
                     ) -> PostResult:
        """Post what is pending, marking each event in the store as the server takes it. Stops at the first event
        the server cannot be reached for (after the retries): the rest stays pending for the next run."""
        result = PostResult()
        events = list(self.pending(store, policy))
        for n, out in enumerate(events):
            if out.kind == "skip":
                self._mark(store, out, "not sent: not the recipient's fault")
                continue
            try:
                status = self._send(out)
            except GaveUp as e:
                result.pending = len(events) - n
                result.error = str(e)
                return result
            self._mark(store, out, str(status))
            if 200 <= status < 300:
                result.posted += 1
            else:
                result.rejected += 1
                if on_rejected:
                    on_rejected(f"{self.url}: the server refused {out.event_id} with HTTP {status}; not sent again")
        return result

    def _mark(self, store: Store, out: Outbound, outcome: str) -> None:
        store.db.execute("INSERT OR REPLACE INTO posted VALUES (?, ?, ?, ?)",
                         (self.url, out.event_id, datetime.now(UTC).isoformat(timespec="seconds"), outcome))

    def _send(self, out: Outbound) -> int:
        data = json.dumps(out.body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": out.key,
                   "User-Agent": "bounce-analyzer"}
        if self.token:
            headers["Authorization"] = f"token {self.token}" if self.fmt == "listmonk" else f"Bearer {self.token}"
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                    response.read()
                    return int(response.status)
            except urllib.error.HTTPError as e:
                if e.code != 429 and e.code < 500:
                    return int(e.code)
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                last = str(getattr(reason, "strerror", None) or reason)
        raise GaveUp(f"{self.url}: gave up after {self.retries + 1} tries ({last}); what is left will be posted by "
                     "the next run")


def _original(report_json: str) -> dict[str, Any]:
    try:
        original = json.loads(report_json).get("original")
    except (ValueError, AttributeError):
        return {}
    return original if isinstance(original, dict) else {}
