"""Reports in Sisimai's JSON: its field names and value conventions, one object per recipient, so that a consumer
written for Sisimai's output reads ours unchanged. The mapping is documented in README.md ("Switching from another
library")."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from .model import Recipient, Report

_DSN_ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})  # RFC 3464 Action values
SKIPPED_REASONS = frozenset({"delivered", "vacation"})  # Sisimai leaves these out unless asked


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def token(addresser: str, recipient: str, timestamp: int) -> str:
    """SHA-1 of the sender, the recipient and the time, framed as Sisimai frames them."""
    return hashlib.sha1(f"\x02{addresser.lower()}\x1e{recipient.lower()}\x1e{timestamp}\x03".encode(),
                        usedforsecurity=False).hexdigest()


def records(report: Report) -> list[dict[str, Any]]:
    """One Sisimai record per recipient that failed, was delayed or complained."""
    return [record(report, r) for r in report.recipients if r.reason not in SKIPPED_REASONS]


def record(report: Report, r: Recipient) -> dict[str, Any]:
    o = report.original
    addresser = parseaddr(o.from_)[1].lower() if o and o.from_ else ""
    timestamp = _epoch(report.date)
    recipient = r.address
    return {
        "action": r.action if r.action in _DSN_ACTIONS else "",
        "addresser": addresser,
        "alias": r.original_recipient if r.original_recipient and r.original_recipient != recipient else "",
        "catch": None,
        "decodedby": report.format or "",
        "deliverystatus": r.status or "",
        "destination": recipient.rpartition("@")[2].lower(),
        "diagnosticcode": r.diagnostic,
        "diagnostictype": "SMTP" if r.reply_code is not None else "",
        "feedbackid": (o.feedback_id or "") if o else "",
        "feedbacktype": report.feedback_type or "",
        "hardbounce": 1 if r.verdict == "hard" else 0,
        "lhost": report.reporting_mta or "",
        "listid": (o.list_id or "") if o else "",
        "messageid": (o.message_id or "").strip().strip("<>") if o else "",
        "origin": report.source,
        "reason": r.reason.replace("_", ""),
        "recipient": recipient,
        "replycode": str(r.reply_code) if r.reply_code is not None else "",
        "rhost": r.responder.host or r.remote_mta or "",
        "senderdomain": addresser.rpartition("@")[2].lower(),
        "smtpcommand": r.smtp_command or "",
        "subject": (o.subject or "") if o else "",
        "timestamp": timestamp,
        "timezoneoffset": "+0000" if timestamp is not None else "",
        "token": token(addresser, recipient, timestamp) if timestamp is not None else "",
    }
