"""Bounce policies: from an address's history of failures, complaints and deliveries to a decision (suppress,
disable, unsubscribe, ...), with the chain of messages that led to it.

    >>> from bounce_analyzer.policy import Tracker, load_policy
    >>> tracker = Tracker(load_policy("strict"))
    >>> for report in bounce_analyzer.scan("bounces.mbox"):
    ...     for decision in tracker.add(report):
    ...         unsubscribe(decision.address)

A policy is data (``rules/policies/*.toml``, or a file of your own): triggers that count events of some types within
a time window, and an optional score. Only failures whose ``fault`` is the recipient's count unless a policy names
other faults: the sending side's failures (a blocklisted IP, a rate limit) never unsubscribe anybody. A delivery, a
success notice or an auto-reply that shows the mailbox works resets an address's history. A decision, once made,
stands. Dates come from the messages (the notice's Date; else when it was stored or fed).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .classify.rules import FAULTS, read_toml
from .errors import PolicyError
from .model import Recipient, Report

POLICIES_DIR = Path(__file__).resolve().parent / "rules" / "policies"
DEFAULT_POLICY = "strict"
SCHEMA = 1
EVENTS = ("hard", "soft", "delay", "complaint", "moved")  # what a trigger or a score may count
FAILURES = ("hard", "soft", "delay")  # the events a fault filter applies to
_FAULTS = FAULTS
_NAMES = {"hard": ("hard failure", "hard failures"), "soft": ("soft failure", "soft failures"),
          "delay": ("delay", "delays"), "complaint": ("complaint", "complaints"),
          "moved": ("moved address", "moved addresses")}
_DELIVERED = frozenset({"delivered", "relayed", "expanded"})


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a message said about an address."""

    address: str
    type: str  # hard, soft, delay, complaint, moved, or delivered (resets the history)
    date: datetime
    source: str  # the message's source id
    reason: str = ""
    fault: str | None = None
    status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"date": _iso(self.date), "event": self.type, "source": self.source, "reason": self.reason,
                "fault": self.fault, "status": self.status}


@dataclass(frozen=True, slots=True)
class Trigger:
    events: tuple[str, ...]
    count: int
    action: str
    faults: tuple[str, ...] = ("recipient",)
    per_day: bool = False  # at most one event a day counts: "on N different days"
    within_days: int | None = None  # only events this recent, counted back from the newest

    def describe(self) -> str:
        names = [_NAMES[e][self.count != 1] for e in self.events]
        what = ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]
        text = f"{'one' if self.count == 1 else self.count} {what}"
        if any(e in FAILURES for e in self.events):
            text += f" ({', '.join(self.faults)} fault)"
        if self.per_day:
            text += f" on {self.count} different day{'s' if self.count != 1 else ''}"
        if self.within_days:
            text += f" within {self.within_days} days"
        return text


@dataclass(frozen=True, slots=True)
class Score:
    weights: dict[str, float]
    threshold: float
    action: str
    faults: tuple[str, ...] = ("recipient",)
    per_day: bool = False  # at most one event a day counts: the heaviest
    stale_days: int | None = None  # a score with no counted event for this long starts again


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    description: str = ""
    triggers: tuple[Trigger, ...] = ()
    score: Score | None = None
    file: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """What a policy decided about an address, when, and the events that led to it."""

    address: str
    action: str  # the policy's word: suppress, disable, unsubscribe, blocklist, ...
    policy: str
    decided_at: datetime  # the date of the event that tipped it
    reason: str  # the reason of that event
    why: str  # the trigger or score that fired, in words
    chain: tuple[Event, ...]
    score: float | None = None
    last_seen: datetime | None = None  # the address's latest failure or complaint, up to the as-of date
    times: int = 0  # how many failures and complaints the address had, up to the as-of date

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "action": self.action, "policy": self.policy,
                "decided_at": _iso(self.decided_at), "reason": self.reason, "why": self.why, "score": self.score,
                "last_seen": _iso(self.last_seen) if self.last_seen else None, "times": self.times,
                "chain": [e.to_dict() for e in self.chain]}


# ---- events ----------------------------------------------------------------------------------------------------------


def event_type(action: str | None, verdict: str | None, reason: str) -> str | None:
    """The event a recipient result is for a policy, or None when it says nothing about the address."""
    if action == "complained":
        return "complaint"
    if reason == "has_moved" and action == "autoreplied":
        return "moved"
    if action in _DELIVERED or (action == "autoreplied" and reason == "vacation"):
        return "delivered"  # the mailbox took the message (an out-of-office reply says so too)
    if action == "delayed" and verdict is not None:
        return "delay"
    if action == "failed" and verdict in ("hard", "soft"):
        return verdict
    return None


def parse_date(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 date or date-time as an aware datetime (UTC when no zone is given); None when unreadable."""
    if value is None or isinstance(value, datetime):
        return _aware(value) if value else None
    try:
        return _aware(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def _aware(d: datetime) -> datetime:
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def _iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat(timespec="seconds")


def events_of(report: Report, when: str | datetime | None = None) -> list[Event]:
    """The events one report holds, dated by ``when``, else the notice's Date, else the moment it is read (as the
    store dates a message without a Date by when it was stored): a complaint without a Date still counts."""
    date = parse_date(when) if when is not None else parse_date(report.date)
    if date is None:
        date = datetime.now(UTC)
    out = []
    for r in report.recipients:
        kind = event_type(r.action, r.verdict, r.reason)
        if kind is not None and r.address:
            out.append(_event(r, kind, date, report.source))
    return out


def _event(r: Recipient, kind: str, date: datetime, source: str) -> Event:
    return Event(r.address.lower(), kind, date, source, r.reason, r.fault, r.status)


# ---- deciding --------------------------------------------------------------------------------------------------------


@dataclass
class _History:
    counted: list[deque[Event]]  # per trigger: the events it counts, since the last reset and within its window
    scored: list[Event] = field(default_factory=list)  # counted by the score since it last went stale
    day_weights: dict[date, float] = field(default_factory=dict)  # per-day score: the heaviest event of each day
    total: float = 0.0
    decision: Decision | None = None
    last_seen: datetime | None = None
    times: int = 0


class Tracker:
    """Applies a policy to events fed in date order: report by report (``add``), or from a store
    (``Store.suppressions``). Keeps what each address's history since its last reset needs, and each decision made.
    Each event costs the same however long an address's history is."""

    def __init__(self, policy: Policy | str | Path = DEFAULT_POLICY) -> None:
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        self.history: dict[str, _History] = {}

    def add(self, report: Report, when: str | datetime | None = None) -> list[Decision]:
        """Feed one report; the decisions it tipped (each address is decided once)."""
        return self.feed(events_of(report, when))

    def feed(self, events: Iterable[Event]) -> list[Decision]:
        made = []
        for event in events:
            decision = self._one(event)
            if decision is not None:
                made.append(decision)
        return made

    def decisions(self) -> list[Decision]:
        """Every decision made so far, by address, with each address's latest failure and count of failures."""
        out = []
        for address in sorted(self.history):
            h = self.history[address]
            if h.decision is not None:
                out.append(replace(h.decision, last_seen=h.last_seen, times=h.times))
        return out

    def _one(self, e: Event) -> Decision | None:
        h = self.history.get(e.address)
        if h is None:
            h = self.history[e.address] = _History([deque() for _ in self.policy.triggers])
        if e.type != "delivered":
            h.times += 1
            h.last_seen = e.date if h.last_seen is None else max(h.last_seen, e.date)
        if h.decision is not None:
            return None
        if e.type == "delivered":  # the mailbox works: what came before says nothing any more
            for counted in h.counted:
                counted.clear()
            self._restart_score(h)
            return None
        for t, counted in zip(self.policy.triggers, h.counted, strict=True):
            decision = self._trigger(t, counted, e)
            if decision is not None:
                h.decision = decision
                return decision
        if self.policy.score is not None:
            h.decision = self._score(self.policy.score, h, e)
        return h.decision

    def _trigger(self, t: Trigger, counted: deque[Event], e: Event) -> Decision | None:
        if not _counts(e, t.events, t.faults):
            return None
        if not (t.per_day and counted and counted[-1].date.date() == e.date.date()):
            counted.append(e)  # with per_day, the first event of each day stands for the day
        if t.within_days:
            if t.per_day:  # whole days: the newest event's day and the days before it
                first_day = e.date.date() - timedelta(days=t.within_days - 1)
                while counted[0].date.date() < first_day:
                    counted.popleft()
            else:
                since = e.date - timedelta(days=t.within_days)
                while counted[0].date <= since:
                    counted.popleft()
        if len(counted) < t.count:
            return None
        return Decision(e.address, t.action, self.policy.name, e.date, e.reason, t.describe(), tuple(counted))

    @staticmethod
    def _restart_score(h: _History) -> None:
        h.scored.clear()
        h.day_weights.clear()
        h.total = 0.0

    def _score(self, s: Score, h: _History, e: Event) -> Decision | None:
        if not _counts(e, tuple(s.weights), s.faults):
            return None
        if h.scored and s.stale_days is not None and e.date - h.scored[-1].date > timedelta(days=s.stale_days):
            self._restart_score(h)  # no bounce for too long: the old score no longer says anything
        h.scored.append(e)
        weight = s.weights[e.type]
        if s.per_day:
            before = h.day_weights.get(e.date.date(), 0.0)
            h.day_weights[e.date.date()] = max(before, weight)
            h.total += max(before, weight) - before
        else:
            h.total += weight
        if h.total < s.threshold:
            return None
        why = f"score {h.total:g} reached {s.threshold:g}"
        return Decision(e.address, s.action, self.policy.name, e.date, e.reason, why, tuple(h.scored),
                        score=h.total)

    def score_of(self, address: str, as_of: datetime | None = None) -> float:
        """An address's current score under the policy's score (0 when it has none or it went stale)."""
        s = self.policy.score
        h = self.history.get(address.lower())
        if s is None or h is None or not h.scored:
            return 0.0
        if as_of is not None and s.stale_days is not None and \
                _aware(as_of) - h.scored[-1].date > timedelta(days=s.stale_days):
            return 0.0
        return h.total


def _counts(e: Event, events: tuple[str, ...], faults: tuple[str, ...]) -> bool:
    return e.type in events and (e.type not in FAILURES or (e.fault or "unknown") in faults)


def decide(events: Iterable[Event], policy: Policy | str | Path = DEFAULT_POLICY,
           as_of: str | datetime | None = None) -> list[Decision]:
    """Every decision the policy makes on these events (taken in date order), up to ``as_of`` (a date counts whole).
    """
    tracker = Tracker(policy)
    limit = _as_of(as_of)
    tracker.feed(sorted((e for e in events if limit is None or e.date <= limit), key=lambda e: (e.date, e.source)))
    return tracker.decisions()


def _as_of(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str) and len(value.strip()) == 10:  # a date alone: up to its end
        d = parse_date(value)
        return d + timedelta(days=1, microseconds=-1) if d else None
    return parse_date(value)


# ---- loading ---------------------------------------------------------------------------------------------------------


def shipped_policies() -> list[str]:
    return sorted(p.stem for p in POLICIES_DIR.glob("*.toml"))


def load_policy(name_or_path: str | Path = DEFAULT_POLICY) -> Policy:
    """A shipped policy by name (``strict``, ``mailman``, ``listmonk``) or a policy file of your own."""
    text = str(name_or_path)
    path = Path(text)
    if not text.endswith(".toml") and (POLICIES_DIR / f"{text}.toml").is_file():
        path = POLICIES_DIR / f"{text}.toml"
    elif not path.is_file():
        raise PolicyError(f"{text}: no such policy (shipped: {', '.join(shipped_policies())}; or give a .toml file)")
    return _policy(read_toml(path, "policy file", PolicyError), str(path))


def _fail(p: str, where: str, msg: str) -> PolicyError:
    return PolicyError(f"{p}: {where}{': ' if where else ''}{msg}")


def _keys(d: dict[str, Any], allowed: set[str], p: str, where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise _fail(p, where, f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")


def _words(d: dict[str, Any], key: str, allowed: Sequence[str], default: tuple[str, ...], p: str,
           where: str) -> tuple[str, ...]:
    v = d.get(key, list(default))
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x in allowed for x in v):
        raise _fail(p, where, f'field "{key}" must be a list of {", ".join(allowed)}, got {v!r}')
    return tuple(v)


def _number(d: dict[str, Any], key: str, p: str, where: str, *, whole: bool, required: bool) -> Any:
    v: Any = d.get(key)
    if v is None and not required:
        return None
    ok = (isinstance(v, int) if whole else isinstance(v, int | float)) and not isinstance(v, bool)
    if not ok or v <= 0:
        raise _fail(p, where, f'field "{key}" must be a positive {"whole " if whole else ""}number, got {v!r}')
    return v


def _action(d: dict[str, Any], p: str, where: str) -> str:
    v = d.get("action")
    if not isinstance(v, str) or not v.strip():
        raise _fail(p, where, 'field "action" must name what to do, e.g. "suppress"')
    return v.strip()


def _flag(d: dict[str, Any], key: str, p: str, where: str) -> bool:
    v = d.get(key, False)
    if not isinstance(v, bool):
        raise _fail(p, where, f'field "{key}" must be true or false')
    return v


def _policy(data: dict[str, Any], p: str) -> Policy:
    if data.get("schema") != SCHEMA:
        raise _fail(p, "", f'needs "schema = {SCHEMA}" at the top (got {data.get("schema")!r})')
    _keys(data, {"schema", "name", "description", "trigger", "score"}, p, "")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(p, "", 'field "name" is missing')
    triggers = []
    for i, t in enumerate(data.get("trigger", [])):
        where = f"trigger #{i + 1}"
        _keys(t, {"events", "count", "action", "faults", "per_day", "within_days"}, p, where)
        triggers.append(Trigger(_words(t, "events", EVENTS, (), p, where),
                                _number(t, "count", p, where, whole=True, required=True), _action(t, p, where),
                                _words(t, "faults", _FAULTS, ("recipient",), p, where), _flag(t, "per_day", p, where),
                                _number(t, "within_days", p, where, whole=True, required=False)))
    score = None
    s = data.get("score")
    if s is not None:
        where = "score"
        _keys(s, {"weights", "threshold", "action", "faults", "per_day", "stale_days"}, p, where)
        weights = s.get("weights")
        if not isinstance(weights, dict) or not weights or not all(
                k in EVENTS and isinstance(w, int | float) and not isinstance(w, bool) and w > 0
                for k, w in weights.items()):
            raise _fail(p, where, f'field "weights" must map events ({", ".join(EVENTS)}) to positive numbers, '
                                  f"got {weights!r}")
        score = Score({k: float(w) for k, w in weights.items()},
                      float(_number(s, "threshold", p, where, whole=False, required=True)), _action(s, p, where),
                      _words(s, "faults", _FAULTS, ("recipient",), p, where), _flag(s, "per_day", p, where),
                      _number(s, "stale_days", p, where, whole=True, required=False))
    if not triggers and score is None:
        raise _fail(p, "", "a policy needs at least one [[trigger]] or a [score]")
    description = data.get("description", "")
    return Policy(name.strip(), description if isinstance(description, str) else "", tuple(triggers), score, p)
