"""``analyze()``: one raw message in, one ``Report`` out. The stages, in order:

1. parse the bytes (size-capped, any line endings) with the standard library;
2. read the notice once: its human-readable text, its delivery-status parts, the attached original;
3. tell what kind of message it is (failure, delay, success, auto-reply, feedback report, or not a bounce);
4. let every format parser of the registry that recognises the message extract its raw findings; the surest one
   gives the recipients and the others fill in what it left empty;
5. classify each recipient with the rules.

Bad input never raises: it becomes a ``Problem`` on the report (unless ``Options.strict`` asks for exceptions).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from functools import cached_property
from pathlib import Path

from .classify import rules as rules_mod
from .classify.engine import classify
from .classify.rules import RuleSet
from .errors import InputError
from .formats import CERTAIN, FORMATS, Bounce, Extract, Finding, FormatParser
from .formats.generic import ADDR, code_paragraphs, reporting_host
from .model import Evidence, Kind, Problem, Recipient, Report
from .options import DEFAULT, Options
from .original import describe, find_original, verp_recipient
from .parse import bounded as rx
from .parse import dsn as dsn_mod
from .parse import smtp
from .parse.message import (
    DSN_TYPES,
    ORIGINAL_TYPES,
    content_param,
    content_type,
    header,
    normalise_newlines,
    parse_bytes,
    part_text,
    walk,
)

RulesArg = RuleSet | Iterable[str | os.PathLike[str]] | None
_FEEDBACK_TYPES = frozenset({"message/feedback-report"})
_TAG = rx.compile(r"<(?:style|script)\b.*?</(?:style|script)>|<[^>]{0,2000}>", rx.I | rx.S)
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#39;": "'"}
_REPLY_SUBJECT = rx.compile(r"^\s*(?:re|aw|sv|antw|vs|r|rif|res)\s*:", rx.I)
_ANGLE_ADDRESS = rx.compile(r"<([^<>]+)>")
_LOCAL_PART = rx.compile(r"([^\s<>\"@]+)@")
_ADDRESS = rx.compile(ADDR)
_rules_cache: dict[tuple[str, ...], RuleSet] = {}
_ablated_cache: dict[tuple[int, tuple[str, ...]], RuleSet] = {}


def _parsers(options: Options) -> tuple[FormatParser, ...]:
    if not options.ablate:
        return FORMATS
    off = options.ablate
    return tuple(p for p in FORMATS if p.name not in off and not ("vendor" in off and getattr(p, "vendor", False)))


def _ruleset(rules: RulesArg) -> RuleSet:
    if rules is None:
        return rules_mod.default()
    if isinstance(rules, RuleSet):
        return rules
    key = tuple(os.fspath(p) for p in rules)
    if not key:
        return rules_mod.default()
    if key not in _rules_cache:
        _rules_cache[key] = rules_mod.load(list(key))
    return _rules_cache[key]


def _html_to_text(html: str) -> str:
    text = rx.sub(_TAG, " ", html.replace("<br", "\n<br").replace("<p", "\n\n<p").replace("<tr", "\n<tr")
                  .replace("<div", "\n<div"))
    for k, v in _ENTITIES.items():
        text = text.replace(k, v)
    return "\n".join(line.strip() for line in text.split("\n"))


def _read_parts(msg: Message, options: Options, problems: list[Problem] | None = None,
                source: str = "-") -> tuple[str, list[str], list[str], str]:
    """The notice's text (plain parts, else HTML made plain), its delivery-status texts, its feedback-report texts,
    and its first text part: the notice's own words (later parts may carry what it is about). Text beyond
    ``options.max_text`` is not read, and ``problems`` is told so."""
    cut = skipped = 0  # characters beyond the limit, text parts not read at all
    dsn_budget, dsn_cut = options.max_text, 0
    plain: list[str] = []
    html: list[Message] = []  # decoded only if there is no plain text
    dsns: list[str] = []
    feedback: list[str] = []
    budget = options.max_text
    for part in walk(msg):
        ctype = content_type(part)
        if ctype in DSN_TYPES:
            text = part_text(part)
            if len(text) > dsn_budget:  # cut between two recipients' fields
                end = text.rfind("\n\n", 0, dsn_budget + 1)
                end = end if end > 0 else dsn_budget
                dsn_cut += len(text) - end
                text = text[:end]
            dsn_budget -= len(text)
            dsns.append(text)
            continue
        if ctype in _FEEDBACK_TYPES:
            feedback.append(part_text(part))
            continue
        if part.is_multipart() or ctype in ORIGINAL_TYPES:
            continue
        maintype = ctype.split("/", 1)[0]
        if maintype == "multipart" and budget > 0:
            # a multipart whose boundary never shows up: its whole body is one text
            maintype = "text"
        if maintype != "text":
            continue
        if budget <= 0:
            skipped += 1
            continue
        if ctype == "text/html":
            html.append(part)
            continue
        text = part_text(part)
        cut += max(0, len(text) - budget)
        text = text[:budget]
        budget -= len(text)
        plain.append(text)
    if not plain and html:
        whole = [part_text(h) for h in html]
        cut += sum(max(0, len(t) - options.max_text) for t in whole)
        plain = [_html_to_text(t[:options.max_text]) for t in whole]
    if (cut or skipped) and problems is not None:
        problems.append(_text_cut(source, "notice's text", options.max_text, cut, skipped))
    if dsn_cut and problems is not None:
        problems.append(_text_cut(source, "delivery-status fields", options.max_text, dsn_cut, 0))
    return "\n\n".join(plain).replace("\r", ""), dsns, feedback, (plain[0] if plain else "").replace("\r", "")


def _text_cut(source: str, what: str, limit: int, cut: int, skipped: int) -> Problem:
    dropped = [f"{cut:,} characters" if cut else "", f"{skipped:,} more text parts" if skipped else ""]
    return Problem(source, "truncated", f"only the first {limit:,} characters of the {what} were read "
                                        f"(max_text); {' and '.join(d for d in dropped if d)} were not, so "
                                        "recipients and reasons given there are missing")


_marker_cache: dict[tuple[str, ...], tuple[str, ...]] = {}


def _bare_markers(markers: tuple[str, ...]) -> tuple[str, ...]:
    """The markers without their leading rule of dashes: servers draw it with any number of them ("----- This is
    a copy" as well as "------ This is a copy"), and the line check below allows any."""
    bare = _marker_cache.get(markers)
    if bare is None:
        bare = _marker_cache[markers] = tuple(dict.fromkeys(m.lstrip("-= ") or m for m in markers))
    return bare


def _cut_original(notice: str, markers: tuple[str, ...]) -> tuple[str, str]:
    """Split the notice where the quoted original message starts."""
    low = notice.lower()
    cut = len(notice)
    for marker in _bare_markers(markers):
        i = low.find(marker)
        while 0 <= i < cut:
            line_start = low.rfind("\n", 0, i) + 1
            if not low[line_start:i].strip(" \t-=*_>[(|"):  # the marker starts its line: not a word in a sentence
                cut = i
                break
            i = low.find(marker, i + 1)
    return notice[:cut], notice[cut:]


def _local_part(address: str) -> str:
    m = rx.search(_LOCAL_PART, address)
    return m.group(1).lower() if m else address.lower().strip()


def _any(text: str, words: tuple[str, ...]) -> bool:
    return any(map(text.__contains__, words))


def _sender_address(msg: Message) -> str:
    value = header(msg, "from")
    m = rx.search(_ANGLE_ADDRESS, value)
    return (m.group(1) if m else value).strip().lower()


class _Signals:
    """What the headers and text say about the kind of message, before any recipient is read. Each signal is
    worked out only when asked for, since a delivery-status part settles most questions at once."""

    def __init__(self, b: Bounce, rules: RuleSet) -> None:
        self.b = b
        self.d = rules.detect

    @cached_property
    def _subject(self) -> str:
        return self.b.subject.lower()

    @cached_property
    def _notice(self) -> str:
        return self.b.notice[:8000].lower()

    @cached_property
    def _lead(self) -> str:
        """The notice's own words, without the later text parts that may carry a copy of what it is about."""
        return self.b.lead[:8000].lower()

    @cached_property
    def bounce(self) -> bool:
        b, d = self.b, self.d
        if b.dsn_texts or b.report_type in ("delivery-status", "global-delivery-status") \
                or header(b.msg, "x-failed-recipients") or dsn_mod.looks_like_dsn_text(b.notice):
            return True
        sender = _any(_local_part(b.sender), d.bounce_senders) or "mailer-daemon" in b.sender
        subject = _any(self._subject, d.bounce_subjects)
        if sender and subject:
            return True
        if not _any(self._notice, d.bounce_phrases):
            return False
        if not (sender or subject):
            # neither From nor Subject says so: the words of a notice and a server's failure reply quoted in them
            # still do, unless it is a person's reply
            return bool(code_paragraphs(b.notice)) and not (rx.match(_REPLY_SUBJECT, b.subject)
                                                            or header(b.msg, "in-reply-to"))
        # a person's reply that talks about a bounce is not one
        return sender or not (rx.match(_REPLY_SUBJECT, b.subject) or header(b.msg, "in-reply-to"))

    @cached_property
    def delay(self) -> bool:
        return _any(self._subject, self.d.delay_subjects) or _any(self._notice, self.d.delay_phrases)

    @cached_property
    def challenge(self) -> bool:
        """A challenge/response system asks the sender to prove to be a person before the message is delivered."""
        return _any(self._lead, self.d.challenge_phrases)

    @cached_property
    def look_alike(self) -> bool:
        """Dressed as a notice, but not one: a list's moderation notice, or spam and phishing with a bounce's
        Subject. Only asked of messages with no delivery-status part and no X-Failed-Recipients."""
        b, d = self.b, self.d
        if _any(self._lead, d.list_phrases):
            return True
        if b.original is not None:
            return False  # a copy of the message that failed: a real notice carries one, a lure has none
        if _lure_attached(b.msg, d.lure_attachments):
            return True
        return ("http://" in self._lead or "https://" in self._lead) and _any(self._lead, d.lure_phrases)

    @cached_property
    def autoreply(self) -> bool:
        b, d = self.b, self.d
        return bool(
            any(header(b.msg, h) for h in d.autoreply_headers)
            or header(b.msg, "auto-submitted").lower().startswith("auto-replied")
            or header(b.msg, "precedence").lower() in ("auto_reply", "auto-reply")
            or _any(self._subject, d.autoreply_subjects)
        )


def _lure_attached(msg: Message, endings: tuple[str, ...]) -> bool:
    """Whether a part is an attachment whose file name ends as a program or an archive does."""
    for part in walk(msg):
        if part.is_multipart():
            continue
        name = (content_param(part, "name") or _disposition_filename(part)).strip('"').lower()
        if name and name.endswith(endings):
            return True
    return False


def _disposition_filename(part: Message) -> str:
    value = header(part, "content-disposition").lower()
    i = value.find("filename=")
    return value[i + 9:].split(";", 1)[0].strip() if i >= 0 else ""


def _build(msg: Message, rules: RuleSet, options: Options, problems: list[Problem] | None = None,
           source: str = "-") -> tuple[Bounce, list[str]]:
    """The message read once for every parser, and the text of any feedback-report part."""
    notice_full, dsns, feedback, first = _read_parts(msg, options, problems, source)
    notice, tail = _cut_original(notice_full, rules.detect.original_markers)
    lead = first if len(first) < len(notice) else notice
    report_type = content_param(msg, "report-type") if content_type(msg) == "multipart/report" else ""
    b = Bounce(msg=msg, subject=header(msg, "subject"), sender=_sender_address(msg), report_type=report_type,
               notice=notice, dsn_texts=dsns, original=find_original(msg, tail), quoted=tail, lead=lead)
    return b, feedback


def _merge(primary: Extract, others: list[Extract]) -> None:
    """Let other parsers fill in what the surest one left empty, recipient by recipient."""
    by_address: dict[str, Finding] = {}
    for f in primary.findings:
        by_address.setdefault(f.address, f)
        if f.original_recipient:
            by_address.setdefault(f.original_recipient, f)
    for other in others:
        for g in other.findings:
            found = by_address.get(g.address)
            if found is None or found is g:
                continue
            f = found
            if g.diagnostic and g.diagnostic not in f.context:
                f.context = f"{f.context} {g.diagnostic}".strip()
            if not f.diagnostic.strip():
                f.diagnostic = g.diagnostic
            elif g.diagnostic and _says_more(g.diagnostic, f.diagnostic):
                f.diagnostic = f"{f.diagnostic} {g.diagnostic}"
            f.smtp_command = f.smtp_command or g.smtp_command
            f.remote_mta = f.remote_mta or g.remote_mta
        primary.reporting_mta = primary.reporting_mta or other.reporting_mta
        primary.arrival_date = primary.arrival_date or other.arrival_date


def _says_more(other: str, diagnostic: str) -> bool:
    """Whether ``other`` quotes codes that ``diagnostic`` lacks (an enhanced code, or a reply code where the
    diagnostic has none, or only a local program's exit status like "255")."""
    if smtp.find_status(diagnostic) is None and smtp.find_status(other):
        return True
    bare = diagnostic.strip().isdigit()
    return (bare or smtp.find_reply(diagnostic) is None) and smtp.find_reply(other) is not None


def _fill_actions(findings: list[Finding], signals: _Signals) -> None:
    """Findings whose notice states no action: a delay warning if the notice says delivery goes on, else failed."""
    for f in findings:
        if f.action:
            continue
        status = smtp.find_status(f.status or "", successes=True) or smtp.find_status(f.diagnostic)
        reply = smtp.find_reply(f.diagnostic)
        cls = status[0] if status else (str(reply)[0] if reply else "")
        if cls == "2":
            f.action = "delivered"
        elif signals.delay and cls != "5":
            f.action = "delayed"
        else:
            f.action = "failed"


def _kind(recipients: list[Recipient]) -> Kind:
    actions = {r.action for r in recipients}
    if "failed" in actions:
        return Kind.FAILURE
    if "delayed" in actions:
        return Kind.DELAY
    return Kind.SUCCESS


def _feedback(b: Bounce, texts: list[str], rules: RuleSet, source: str, options: Options,
              problems: list[Problem]) -> Report:
    fields: dict[str, str] = {}
    for text in texts:
        for line in text.split("\n"):
            name, sep, value = line.partition(":")
            if sep and name.strip() and not name.startswith((" ", "\t")):
                fields.setdefault(name.strip().lower(), value.strip())
    address = dsn_mod.address_of(fields.get("original-rcpt-to", ""))
    if not address and b.original is not None:
        address = dsn_mod.address_of(header(b.original, "to"))
    reason = rules.reasons["feedback"]
    recipients: tuple[Recipient, ...] = ()
    if address:
        recipients = (Recipient(address=address, action="complained", reason="feedback", verdict=None,
                                hint=reason.hint, rule="feedback-report",
                                evidence=(Evidence("reason", "message/feedback-report",
                                                   f"Feedback-Type: {fields.get('feedback-type', '')}"),)),)
    return Report(source=source, is_bounce=False, kind=Kind.FEEDBACK, format="arf",
                  reporting_mta=(fields.get("reporting-mta") and dsn_mod.host_of(fields["reporting-mta"])) or None,
                  arrival_date=fields.get("arrival-date") or fields.get("received-date") or None,
                  subject=b.subject or None, feedback_type=fields.get("feedback-type", "").lower() or None,
                  original=describe(b.original, b.msg, options.extra_headers), recipients=recipients,
                  problems=tuple(problems))


_NEW_ADDRESS_SPAN = 300  # how far after "my new address" the new address may stand


def _autoreply_recipient(b: Bounce, rules: RuleSet) -> tuple[Recipient, ...]:
    """The person who answered automatically: the message reached them. Reason ``vacation``, or ``has_moved`` when
    the reply says their address has changed (the new address, if the reply gives one, is quoted in the evidence).
    Not a failure: action "autoreplied", no verdict."""
    address = b.sender
    if "@" not in address:
        return ()
    notice = b.notice[:8000]
    low = notice.lower()
    for phrase in rules.detect.moved_phrases:
        i = low.find(phrase)
        if i < 0:
            continue
        span = notice[i:i + len(phrase) + _NEW_ADDRESS_SPAN]
        new = next((a for a in (dsn_mod.address_of(m.group(0)) for m in rx.finditer(_ADDRESS, span))
                    if a and a != address), "")
        line_end = notice.find("\n", i + len(phrase))
        said = " ".join(notice[i:line_end if line_end >= 0 else len(notice)].split())[:200]
        ev = [Evidence("reason", "autoreply", said)]
        if new:
            ev.append(Evidence("new_address", "autoreply", new))
        reason = rules.reasons["has_moved"]
        return (Recipient(address=address, action="autoreplied", reason="has_moved", verdict=None, hint=reason.hint,
                          rule="autoreply-moved", evidence=tuple(ev)),)
    reason = rules.reasons["vacation"]
    return (Recipient(address=address, action="autoreplied", reason="vacation", verdict=None, hint=reason.hint,
                      rule="autoreply", evidence=(Evidence("reason", "autoreply", b.subject[:200]),)),)


def _unsubscribe_request(b: Bounce) -> bool:
    """A mail program's automatic request to leave a list (Apple Mail's "unsubscribe" message, sent to the
    address of a List-Unsubscribe mailto: link)."""
    if header(b.msg, "x-apple-unsubscribe").lower() == "true":
        return True
    return b.subject.strip().lower() == "unsubscribe" and bool(header(b.msg, "auto-submitted"))


def _opt_out(b: Bounce, rules: RuleSet, source: str, problems: list[Problem]) -> Report:
    """An unsubscribe request is feedback of type opt-out from the person who sent it."""
    recipients: tuple[Recipient, ...] = ()
    if "@" in b.sender:
        recipients = (Recipient(address=b.sender, action="complained", reason="feedback", verdict=None,
                                hint=rules.reasons["feedback"].hint, rule="unsubscribe-request",
                                evidence=(Evidence("reason", "subject", b.subject[:200]),)),)
    return Report(source=source, is_bounce=False, kind=Kind.FEEDBACK, format="unsubscribe",
                  subject=b.subject or None, feedback_type="opt-out", recipients=recipients,
                  problems=tuple(problems))


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), 1)}


def _rfc5322_date(value: str) -> str | None:
    """"Thu, 29 Apr 1999 23:34:45 +0900 (JST)", the form nearly every notice uses, as UTC ISO 8601, read by splitting
    rather than by the general parser; None for anything else (another form, or "-0000": zone unknown)."""
    parts = value.split()
    if parts and parts[0].endswith(","):
        parts = parts[1:]
    if len(parts) < 5 or len(parts) > 6:
        return None
    day, mon, year, clock, zone = parts[:5]
    month = _MONTHS.get(mon.lower())
    hms = clock.split(":")
    if (month is None or not day.isdigit() or len(year) != 4 or not year.isdigit() or year < "0100" or len(hms) != 3
            or not all(x.isdigit() and len(x) == 2 for x in hms) or len(zone) != 5 or zone[0] not in "+-"
            or not zone[1:].isdigit() or zone == "-0000"):
        return None
    try:
        local = datetime(int(year), month, int(day), int(hms[0]), int(hms[1]), int(hms[2]))
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:]))
        utc = local - offset if zone[0] == "+" else local + offset
    except (ValueError, OverflowError):  # no such day, or beyond year 9999 in UTC
        return ""
    return utc.isoformat(timespec="seconds") + "+00:00"


def _date_of(msg: Message) -> str | None:
    """The notice's Date header as UTC ISO 8601, or None when it has none that can be read."""
    value = header(msg, "date")
    if not value:
        return None
    fast = _rfc5322_date(value) if len(value) < 80 else None
    if fast is not None:
        return fast or None
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:  # "-0000": the time is UTC, the zone unknown
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, IndexError, OverflowError):  # no such day, or beyond year 9999 in UTC
        return None


_MAX_DEPTH = 3  # notices inside notices: how deep to look
_FORWARDED = rx.compile(r"^[ \t>]*(?:-{2,}[ \t]*(?:Forwarded|Original)[ \t]+Message[ \t]*-{2,}|"
                        r"Begin forwarded message:)[ \t]*\n(?:[ \t>]*\n)?(?=[ \t>]*[A-Za-z-]{2,40}:)", rx.I | rx.M)
_QUOTE_PREFIX = rx.compile(r"^> ?", rx.M)


def _inner_messages(b: Bounce) -> list[Message]:
    """Messages carried inside this one that may be notices: attached ones (``message/rfc822``), then one forwarded
    inline after a "Forwarded message" / "Original Message" line that its headers follow."""
    out: list[Message] = []
    for part in walk(b.msg):
        if part is b.msg or content_type(part) not in ("message/rfc822", "message/global"):
            continue
        payload = part.get_payload() if part.is_multipart() else None  # a leaf's text may not decode
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            out.append(payload[0])
        if len(out) >= 3:
            break
    text = f"{b.notice}\n{b.quoted}"
    m = rx.search(_FORWARDED, text) if ("forward" in text.lower() or "original message" in text.lower()) else None
    if m:
        inner = text[m.end():m.end() + 200_000]
        if inner.lstrip().startswith(">"):
            inner = rx.sub(_QUOTE_PREFIX, "", inner)
        out.append(parse_bytes(inner.lstrip(" \t>").encode("utf-8", "surrogateescape")))
    return out


def _embedded(b: Bounce, source: str, rules: RuleSet, options: Options, problems: list[Problem],
              depth: int) -> Report | None:
    """The report of a notice forwarded or attached inside this message, if one of its inner messages is one."""
    if depth >= _MAX_DEPTH:
        return None
    for inner in _inner_messages(b):
        report = _analyze_message(inner, source, rules, options, problems, depth + 1)
        if report.kind in (Kind.FAILURE, Kind.DELAY) and report.recipients:
            return report
    return None


_ENVELOPE_HEADERS = ("x-original-to", "delivered-to", "x-envelope-to", "envelope-to", "x-rcpt-to")
_RECEIVED_FOR = rx.compile(rf"\bfor\s+<?({ADDR})>?", rx.I)


def _addresses(value: str, pattern: rx.Pattern = _ADDRESS) -> set[str]:
    found = {dsn_mod.address_of(m.group(m.lastindex or 0)) for m in rx.finditer(pattern, value)}
    found.discard("")
    return found


def _named_elsewhere(b: Bounce) -> tuple[str, str] | None:
    """The one recipient of the original, for a notice that names nobody ("Delivery report unavailable"), and
    where it was read: the original's envelope headers, the "for <...>" of its Received lines, its To (unless it
    went to a list or to several people), or the VERP return address the notice was sent to."""
    o = b.original
    mine = {b.sender}
    if o is not None:
        mine |= _addresses(header(o, "from"))
        for name in _ENVELOPE_HEADERS:
            found = _addresses(header(o, name)) - mine
            if len(found) == 1:
                return found.pop(), f"the original's {name.title()} header"
        received = set()
        for value in (o.get_all("received") or [])[:20]:
            received |= _addresses(str(value), _RECEIVED_FOR)
        received -= mine
        if len(received) == 1:
            return received.pop(), "the original's Received header"
        if not (header(o, "cc") or header(o, "list-id") or header(o, "list-post")):
            found = _addresses(header(o, "to")) - mine
            if len(found) == 1:
                return found.pop(), "the original's To header"
    verp = verp_recipient(header(b.msg, "to"), header(b.msg, "delivered-to"), header(b.msg, "x-original-to"))
    return (verp, "the VERP address the notice was sent to") if verp else None


def _from_original(b: Bounce) -> Extract:
    """A notice that names no recipient at all: the one the original was sent to, if it can be told."""
    named = _named_elsewhere(b)
    if named is None:
        return Extract()
    return Extract(findings=[Finding(address=named[0], source=f"original:{named[1]}")], reporting_mta=reporting_host(b))


def _analyze(raw: bytes, source: str, rules: RuleSet, options: Options, problems: list[Problem]) -> Report:
    msg = parse_bytes(normalise_newlines(raw))
    report = _analyze_message(msg, source, rules, options, problems, 0)
    date = _date_of(msg)  # the outer notice's, whichever message inside it was read
    return replace(report, date=datetime.fromisoformat(date)) if date else report


def _analyze_message(msg: Message, source: str, rules: RuleSet, options: Options, problems: list[Problem],
                     depth: int) -> Report:
    """The report on one message (``depth``: how far inside other messages it was found)."""
    b, feedback_texts = _build(msg, rules, options, problems, source)
    if feedback_texts or b.report_type == "feedback-report":
        return _feedback(b, feedback_texts, rules, source, options, problems)
    signals = _Signals(b, rules)
    original = describe(b.original, msg, options.extra_headers, b.notice)
    sniffs = [(p.sniff(b), i, p) for i, p in enumerate(_parsers(options))]
    certain = any(score >= CERTAIN for score, _, _ in sniffs)
    told = bool(b.dsn_texts) or certain or bool(header(msg, "x-failed-recipients"))
    if not told and (signals.challenge or signals.look_alike) and not code_paragraphs(b.notice):
        # (a server's reply quoted in the text makes it a notice after all: "550 sender not in my list of approved
        # senders" is a rejection, not a challenge)
        # a challenge/response request is an automatic reply; moderation notices and lures are not notices at all
        kind = Kind.AUTOREPLY if signals.challenge else Kind.NOT_BOUNCE
        return Report(source=source, is_bounce=False, kind=kind, subject=b.subject or None,
                      original=original if kind is Kind.AUTOREPLY else None, problems=tuple(problems))
    if not (signals.bounce or certain):
        inner = _embedded(b, source, rules, options, problems, depth)
        if inner is not None:
            return inner
        if _unsubscribe_request(b):
            return _opt_out(b, rules, source, problems)
        if signals.autoreply:
            return Report(source=source, is_bounce=False, kind=Kind.AUTOREPLY, subject=b.subject or None,
                          original=original, recipients=_autoreply_recipient(b, rules), problems=tuple(problems))
        return Report(source=source, is_bounce=False, kind=Kind.NOT_BOUNCE, subject=b.subject or None,
                      problems=tuple(problems))

    ranked = sorted(sniffs, key=lambda t: (-t[0], t[1]))
    extracts: list[tuple[str, Extract]] = []
    for score, _, parser in ranked:
        if score <= 0:
            continue
        if extracts and hasattr(parser, "about"):
            # the surest parser has read the recipients; this one only says what it knows about them
            ex = parser.about(b, [f.address for f in extracts[0][1].findings])
        else:
            ex = parser.parse(b)
        if ex.findings:
            extracts.append((parser.name, ex))
    if not extracts:
        inner = _embedded(b, source, rules, options, problems, depth)
        if inner is not None:
            return inner
        last = _from_original(b)
        if last.findings:
            extracts.append(("original", last))
    if not extracts:
        problems.append(Problem(source, "no-recipient", "looks like a bounce, but no failed recipient could be read"))
        return Report(source=source, is_bounce=True, kind=Kind.FAILURE, subject=b.subject or None,
                      original=original, problems=tuple(problems))
    fmt, primary = extracts[0]
    _merge(primary, [ex for _, ex in extracts[1:]])
    lone = primary.findings[0] if len(primary.findings) == 1 else None
    if lone is not None and (not lone.context.strip() or (
            smtp.find_reply(lone.diagnostic) is None and smtp.find_reply(lone.context) is None)):
        # one recipient and nothing (or no code) said about it by name: the notice's paragraphs that quote an SMTP
        # reply are about it ("554 5.3.0 unknown mailer error 255" under a Sendmail transcript, "<<< 421" when the
        # delivery-status part leaves Diagnostic-Code empty)
        quoted = code_paragraphs(b.notice)
        if not lone.diagnostic.strip():
            lone.diagnostic = quoted
        elif quoted and _says_more(quoted, lone.diagnostic):
            lone.diagnostic = f"{lone.diagnostic} {quoted}"
    _fill_actions(primary.findings, signals)
    recipients = [classify(f, notice=b.lead or b.notice, reporting_mta=primary.reporting_mta,
                           dsn_gateway=primary.dsn_gateway, rules=rules) for f in primary.findings]
    kind = _kind(recipients)
    return Report(
        source=source, is_bounce=kind in (Kind.FAILURE, Kind.DELAY), kind=kind, format=fmt,
        reporting_mta=primary.reporting_mta, arrival_date=primary.arrival_date, envelope_id=primary.envelope_id,
        subject=b.subject or None, original=original, recipients=tuple(recipients), problems=tuple(problems),
    )


def analyze(raw: bytes | str, *, source: str = "-", rules: RulesArg = None,
            options: Options = DEFAULT, size: int | None = None) -> Report:
    """Analyze one raw message (bytes as read from disk or the wire; str is encoded as UTF-8).

    ``rules`` is a ``RuleSet``, or paths of extra rule files and folders to load on top of the shipped ones.
    ``size`` is the whole message's size when ``raw`` holds only its start. Never raises on bad input: a problem is
    reported in ``Report.problems`` instead.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    return _run(raw, source, _ruleset(rules), options, max(size or 0, len(raw)))


def _run(raw: bytes, source: str, ruleset: RuleSet, options: Options, size: int) -> Report:
    problems: list[Problem] = []
    if options.ablate:
        key = (id(ruleset), options.ablate)
        if key not in _ablated_cache:
            _ablated_cache[key] = rules_mod.ablated(ruleset, options.ablate)
        ruleset = _ablated_cache[key]
    if size > options.max_size:
        problems.append(Problem(source, "truncated", f"message is {size:,} bytes; only the first "
                                                     f"{options.max_size:,} were analyzed"))
        raw = raw[:options.max_size]
    token = rx.TIMEOUT.set(options.regex_timeout)
    try:
        return _analyze(raw, source, ruleset, options, problems)
    except TimeoutError:
        if options.strict:
            raise
        problems.append(Problem(source, "regex-timeout", "a pattern took too long on this message; it was given up"))
    except RecursionError:
        if options.strict:
            raise
        problems.append(Problem(source, "unreadable", "the MIME structure is nested too deeply to read"))
    except Exception as e:  # the last line of defence: a report, never a traceback
        if options.strict:
            raise
        problems.append(Problem(source, "internal-error", f"could not be analyzed ({type(e).__name__}: {e})"))
    finally:
        rx.TIMEOUT.reset(token)
    return Report(source=source, is_bounce=False, kind=Kind.NOT_BOUNCE, problems=tuple(problems))


def analyze_file(path: str | os.PathLike[str], *, rules: RulesArg = None, options: Options = DEFAULT,
                 source: str | None = None) -> Report:
    """Read a file and analyze it. Raises ``InputError`` (naming the file) when it cannot be read."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            raw = fh.read(options.max_size)
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    return _run(raw, source if source is not None else os.fspath(path), _ruleset(rules), options, max(size, len(raw)))
