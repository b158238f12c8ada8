"""The result types: what a report says about one message and each recipient in it.

Everything here is a frozen dataclass. Values observed in the message (addresses, codes, hosts, diagnostic text)
and values inferred by the rules (reason, verdict, hint) sit side by side but never mix: a code is only ever one
that the message carries, and every inference names the rule that made it in ``rule`` and ``evidence``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")


class Kind(StrEnum):
    """What sort of message was analyzed."""

    FAILURE = "failure"  # at least one recipient could not be delivered to
    DELAY = "delay"  # a warning: delivery is still being tried
    SUCCESS = "success"  # delivered, relayed or expanded notices
    AUTOREPLY = "autoreply"  # out of office, vacation and other RFC 3834 replies
    FEEDBACK = "feedback"  # an ARF (RFC 5965) complaint or feedback report
    NOT_BOUNCE = "not_bounce"  # anything else


class Role(StrEnum):
    """Which server produced the response that decided a recipient's fate."""

    REMOTE = "remote"  # the receiving server answered (Remote-MTA, "host X said:")
    REPORTING = "reporting"  # the MTA that wrote the notice gave up by itself
    GATEWAY = "gateway"  # a filtering relay between the two
    UNKNOWN = "unknown"


class Verdict(StrEnum):
    """What a failure means for the address."""

    HARD = "hard"  # the address is bad: stop sending to it
    SOFT = "soft"  # it may work later, or the problem is not the address's


class Fault(StrEnum):
    """Whose side a failure is on; only ``RECIPIENT`` says anything about the address."""

    RECIPIENT = "recipient"
    SENDER = "sender"
    DESTINATION = "destination"
    NETWORK = "network"
    UNKNOWN = "unknown"


class Reason(StrEnum):
    """The shipped reason words (``rules/reasons.toml``). A rule file of your own may add words: those stay plain
    strings."""

    USER_UNKNOWN = "user_unknown"
    HOST_UNKNOWN = "host_unknown"
    HAS_MOVED = "has_moved"
    NOT_ACCEPT = "not_accept"
    MAILBOX_FULL = "mailbox_full"
    SUSPEND = "suspend"
    SYSTEM_FULL = "system_full"
    EMAIL_TOO_LARGE = "email_too_large"
    RATE_LIMITED = "rate_limited"
    EXPIRED = "expired"
    NETWORK_ERROR = "network_error"
    BLOCKED = "blocked"
    BAD_REPUTATION = "bad_reputation"
    SPAM_DETECTED = "spam_detected"
    VIRUS_DETECTED = "virus_detected"
    FILTERED = "filtered"
    POLICY_VIOLATION = "policy_violation"
    AUTH_FAILURE = "auth_failure"
    REQUIRE_PTR = "require_ptr"
    SECURITY_ERROR = "security_error"
    FAILED_STARTTLS = "failed_starttls"
    NO_RELAYING = "no_relaying"
    REJECTED = "rejected"
    NOT_COMPLIANT_RFC = "not_compliant_rfc"
    CONTENT_ERROR = "content_error"
    SYNTAX_ERROR = "syntax_error"
    SYSTEM_ERROR = "system_error"
    MAILER_ERROR = "mailer_error"
    SUPPRESSED = "suppressed"
    ON_HOLD = "on_hold"
    UNDEFINED = "undefined"
    DELIVERED = "delivered"
    FEEDBACK = "feedback"
    VACATION = "vacation"


_ENUMS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("reason", {m.value: m for m in Reason}), ("verdict", {m.value: m for m in Verdict}),
    ("fault", {m.value: m for m in Fault}))


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when is not None else None


def _as_date(value: datetime | str | None) -> datetime | None:
    """A date given as ISO 8601 text (as the readers produce it) as an aware datetime in UTC."""
    if value is None or isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _quick_pickle(cls: type[T]) -> type[T]:
    """Cheaper pickling for a frozen dataclass with slots: its state is the tuple of its fields, read in one call,
    and set back field by field without looking up the dataclass's fields for every object (a scan with several jobs
    hands every report from a worker to the scan's process this way)."""
    names: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    get = attrgetter(*names)

    def getstate(self: Any) -> Any:
        return get(self)

    def setstate(self: Any, state: Any) -> None:
        if len(names) == 1:
            state = (state,)
        for name, value in zip(names, state, strict=True):
            object.__setattr__(self, name, value)

    cls.__getstate__ = getstate  # type: ignore[method-assign]
    cls.__setstate__ = setstate  # type: ignore[attr-defined]
    return cls


@_quick_pickle
@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a field has its value: which field of the result, where it came from, and the text that decided."""

    field: str
    source: str
    text: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "source": self.source, "text": self.text}


@_quick_pickle
@dataclass(frozen=True, slots=True)
class Responder:
    """The server that generated the response, as the notice names it."""

    role: Role = Role.UNKNOWN
    host: str | None = None
    ip: str | None = None
    evidence: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"role": str(self.role), "host": self.host, "ip": self.ip, "evidence": self.evidence}


@_quick_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One recipient the notice reports on, with what was observed and what the rules made of it."""

    address: str
    action: str | None = None  # failed / delayed / delivered / relayed / expanded, as reported
    status: str | None = None  # RFC 3463 enhanced status code, only if the message carries one
    reply_code: int | None = None  # RFC 5321 reply code, only if the message carries one
    diagnostic: str = ""
    smtp_command: str | None = None  # CONNECT, HELO, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, DATA-END
    remote_mta: str | None = None
    responder: Responder = field(default_factory=Responder)
    reason: str = "undefined"
    verdict: str | None = None  # "hard", "soft", or None when this is not a failure
    # whose side a failure is on: recipient, sender, destination, network or unknown; None when not a failure
    fault: str | None = None
    permanent: bool | None = None  # what the code class says: 5 -> True, 4 -> False
    retry_after: int | None = None  # seconds, when the notice gives a retry time
    hint: str = ""
    rule: str = ""
    code_conflict: bool = False  # the reply class and the enhanced status class disagree
    original_recipient: str | None = None  # the DSN's Original-Recipient field, as given
    final_recipient: str | None = None  # the address the message was finally sent to, when not ``address``
    last_attempt: str | None = None
    will_retry_until: str | None = None
    evidence: tuple[Evidence, ...] = ()

    def __post_init__(self) -> None:
        # reason, verdict and fault are StrEnums (``Reason``, ``Verdict``, ``Fault``) whatever the reader passed;
        # they compare equal to their words and are written as them in JSON
        for name, members in _ENUMS:
            value = getattr(self, name)
            member = members.get(value) if value is not None else None
            if member is not None and value is not member:
                object.__setattr__(self, name, member)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": self.action,
            "status": self.status,
            "reply_code": self.reply_code,
            "diagnostic": self.diagnostic,
            "smtp_command": self.smtp_command,
            "remote_mta": self.remote_mta,
            "responder": self.responder.to_dict(),
            "reason": self.reason,
            "verdict": self.verdict,
            "fault": self.fault,
            "permanent": self.permanent,
            "retry_after": self.retry_after,
            "hint": self.hint,
            "rule": self.rule,
            "code_conflict": self.code_conflict,
            "original_recipient": self.original_recipient,
            "final_recipient": self.final_recipient,
            "last_attempt": self.last_attempt,
            "will_retry_until": self.will_retry_until,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@_quick_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class Original:
    """Headers of the message that bounced, so a list manager can find the campaign and the subscriber."""

    message_id: str | None = None
    from_: str | None = None
    to: str | None = None
    subject: str | None = None
    date: str | None = None
    list_id: str | None = None
    list_unsubscribe: str | None = None
    feedback_id: str | None = None
    verp_recipient: str | None = None  # decoded from a VERP return address, when the bounce was sent to one
    headers: tuple[tuple[str, str], ...] = ()  # extra headers the caller asked for

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "from": self.from_,
            "to": self.to,
            "subject": self.subject,
            "date": self.date,
            "list_id": self.list_id,
            "list_unsubscribe": self.list_unsubscribe,
            "feedback_id": self.feedback_id,
            "verp_recipient": self.verp_recipient,
            "headers": dict(self.headers),
        }


@_quick_pickle
@dataclass(frozen=True, slots=True)
class Problem:
    """Something about the input that the analysis could not handle or had to work around."""

    source: str
    kind: str  # too-large, truncated, unreadable, regex-timeout, internal-error, ...
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "kind": self.kind, "message": self.message}

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@_quick_pickle
@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Everything the analyzer found in one message."""

    source: str
    is_bounce: bool
    kind: Kind
    format: str | None = None  # the format parser that read the recipients
    reporting_mta: str | None = None
    arrival_date: str | None = None
    envelope_id: str | None = None
    date: datetime | None = None  # the notice's own Date header, in UTC (ISO 8601 text is accepted and converted)
    subject: str | None = None
    feedback_type: str | None = None
    original: Original | None = None
    recipients: tuple[Recipient, ...] = ()
    problems: tuple[Problem, ...] = ()

    def __post_init__(self) -> None:
        if self.date is not None and not (isinstance(self.date, datetime) and self.date.tzinfo is UTC):
            object.__setattr__(self, "date", _as_date(self.date))

    @property
    def iso_date(self) -> str | None:
        """The notice's Date as UTC ISO 8601 text (``2026-01-31T09:00:00+00:00``), as JSON and the store have it."""
        return _iso(self.date)

    @property
    def failed(self) -> tuple[Recipient, ...]:
        """The recipients whose delivery failed for good (not delays, not successes)."""
        return tuple(r for r in self.recipients if r.action == "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "is_bounce": self.is_bounce,
            "kind": str(self.kind),
            "format": self.format,
            "reporting_mta": self.reporting_mta,
            "arrival_date": self.arrival_date,
            "envelope_id": self.envelope_id,
            "date": _iso(self.date),
            "subject": self.subject,
            "feedback_type": self.feedback_type,
            "original": self.original.to_dict() if self.original else None,
            "recipients": [r.to_dict() for r in self.recipients],
            "problems": [p.to_dict() for p in self.problems],
        }
