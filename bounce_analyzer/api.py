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
from datetime import datetime
from email.message import Message
from functools import lru_cache

from .classify import rules as rules_mod
from .classify.engine import MAX_DIAGNOSTIC, MAX_READ, classify
from .classify.rules import Detect, RuleSet
from .errors import InputError
from .formats import CERTAIN, Bounce
from .formats.generic import code_paragraphs, words_pattern
from .formats.sesjson import complaint as ses_complaint
from .kinds import Signals, unsubscribe_request
from .model import Kind, Original, Problem, Recipient, Report
from .notice import read_notice
from .options import DEFAULT, Options
from .original import describe
from .parse import bounded as rx
from .parse.dates import notice_date
from .parse.message import (
    content_type,
    header,
    normalise_newlines,
    parse_bytes,
    part_bytes,
    walk,
)
from .reading import fill_actions, from_original, read_findings, sniff
from .replies import autoreply_recipients, feedback_report, opt_out_report, ses_complaint_report

RulesArg = RuleSet | Iterable[str | os.PathLike[str]] | None
_rules_cache: dict[tuple[str, ...], RuleSet] = {}
_ablated_cache: dict[tuple[int, tuple[str, ...]], RuleSet] = {}


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


def _kind(recipients: list[Recipient]) -> Kind:
    actions = {r.action for r in recipients}
    if "failed" in actions:
        return Kind.FAILURE
    if "delayed" in actions:
        return Kind.DELAY
    return Kind.SUCCESS


_MAX_DEPTH = 3  # notices inside notices: how deep to look


@lru_cache(maxsize=8)
def _forwarded(titles: tuple[str, ...], lines: tuple[str, ...]) -> rx.Pattern:
    """The line mail programs put above a message forwarded or quoted whole (``forward_titles`` between dashes, or
    one of ``forward_lines``), with the forwarded message's first header field after it."""
    dashed = "|".join(map(words_pattern, titles))
    bare = "|".join(words_pattern(x.rstrip(":").rstrip()) + r"[ \t]*:" for x in lines)
    return rx.compile(rf"^[ \t>]*(?:-{{2,}}[ \t]*(?:{dashed or '(?!)'})[ \t]*-{{2,}}|{bare or '(?!)'})[ \t]*\n"
                      r"(?:[ \t>]*\n)?(?=[ \t>]*[^\W\d_][\w -]{1,39}[:：])", rx.I | rx.M)


_QUOTE_PREFIX = rx.compile(r"^> ?", rx.M)


def _inner_messages(b: Bounce, detect: Detect) -> list[Message]:
    """Messages carried inside this one that may be notices: attached ones (``message/rfc822``), then one forwarded
    inline after a "Forwarded message" / "Original Message" line that its headers follow."""
    out: list[Message] = []
    for part in walk(b.msg):
        if part is b.msg:
            continue
        if _attached_eml(part):
            out.append(parse_bytes(normalise_newlines(part_bytes(part)[:_MAX_ATTACHED])))
            continue
        if content_type(part) not in ("message/rfc822", "message/global"):
            continue
        payload = part.get_payload() if part.is_multipart() else None  # a leaf's text may not decode
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            out.append(payload[0])
        if len(out) >= 3:
            break
    text = f"{b.notice}\n{b.quoted}"
    lines = detect.forward_lines
    low = text.lower() if lines else ""
    # (a title stands between dashes; a line's words, before their colon, are in the text)
    m = rx.search(_forwarded(detect.forward_titles, lines), text) \
        if ("--" in text or any(x.rstrip(":").rstrip() in low for x in lines)) else None
    if m:
        inner = text[m.end():m.end() + 200_000]
        if inner.lstrip().startswith(">"):
            inner = rx.sub(_QUOTE_PREFIX, "", inner)
        out.append(parse_bytes(_header_names_kept(inner.lstrip(" \t>")).encode("utf-8", "surrogateescape")))
    elif "\n>" in text or text.startswith(">"):
        block = _quoted_block(text)
        if block:
            out.append(parse_bytes(("\n" + block).encode("utf-8", "surrogateescape")))
    return out


_MAX_ATTACHED = 4 * 1024 * 1024  # how much of a message attached as a file is read
_FILE_TYPES = ("application/octet-stream", "application/x-eml", "application/eml", "text/plain")


def _attached_eml(part: Message) -> bool:
    """A message attached as a file rather than as ``message/rfc822``: a part of a generic type whose file name
    ends in ".eml" (as mail programs and web mail attach a saved message)."""
    if part.is_multipart() or content_type(part) not in _FILE_TYPES:
        return False
    try:
        name = str(part.get_filename() or "")  # (the Content-Disposition's filename, else the Content-Type's name)
    except Exception:  # a malformed parameter is no file name
        return False
    return name.strip().lower().endswith(".eml")


_QUOTE_LEVELS = rx.compile(r"^[ \t]{0,3}(?:>[ \t]?){1,8}", rx.M)


def _quoted_block(text: str) -> str:
    """The first block of lines quoted with ">" (blank lines may stand between them) in a text that is not quoted
    whole, every level of quoting taken off: a notice a person quoted in a reply under their own words, or quoted
    again in a reply to that ("> > ..."). "" when there is no block of at least three lines."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.lstrip(" \t")[:1] == ">"), -1)
    if start < 0:
        return ""
    end = start
    for i in range(start, len(lines)):
        head = lines[i].lstrip(" \t")[:1]
        if head == ">":
            end = i + 1
        elif head:
            break
    if end - start < 3:
        return ""
    return rx.sub(_QUOTE_LEVELS, "", "\n".join(lines[start:end]))


_FIELD_NAME = rx.compile(r"[^\W\d_][\w -]{0,39}(?=[ \t]*[:：])")


def _header_names_kept(text: str) -> str:
    """The forwarded message's text with the fields above its body kept as header fields where a mail program named
    them in a language whose words are no header name ("Lähettäjä:", "Vastaanottaja:", "보낸 사람:"): each becomes
    the value of an ``X-Forwarded-Field`` header, so that its address is not read as a recipient of the body."""
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    for i, line in enumerate(lines):
        m = rx.match(_FIELD_NAME, line)
        if m is None:
            if not line[:1].isspace():
                break  # the body starts here
            continue
        if not m.group(0).isascii() or " " in m.group(0).strip():
            lines[i] = "X-Forwarded-Field: " + line
    return "\n".join(lines) + sep + body


def _embedded(b: Bounce, source: str, rules: RuleSet, options: Options, problems: list[Problem],
              depth: int) -> Report | None:
    """The report of a notice forwarded or attached inside this message, if one of its inner messages is one."""
    if depth >= _MAX_DEPTH:
        return None
    for inner in _inner_messages(b, rules.detect):
        report = _analyze_message(inner, source, rules, options, problems, depth + 1)
        if report.kind in (Kind.FAILURE, Kind.DELAY) and report.recipients:
            return report
    return None


def _analyze(raw: bytes, source: str, rules: RuleSet, options: Options, problems: list[Problem]) -> Report:
    msg = parse_bytes(normalise_newlines(raw))
    report = _analyze_message(msg, source, rules, options, problems, 0)
    date = notice_date(msg)  # the outer notice's, whichever message inside it was read
    return replace(report, date=datetime.fromisoformat(date)) if date else report


def _analyze_message(msg: Message, source: str, rules: RuleSet, options: Options, problems: list[Problem],
                     depth: int) -> Report:
    """The report on one message (``depth``: how far inside other messages it was found)."""
    b, feedback_texts = read_notice(msg, rules, options, problems, source)
    signals = Signals(b, rules)
    if feedback_texts or b.report_type == "feedback-report" or signals.complaint:
        return feedback_report(b, feedback_texts, rules, source, options, problems)
    complaint = ses_complaint(b)
    if complaint is not None:
        return ses_complaint_report(b, complaint, rules, source, problems)
    original = describe(b.original, msg, options.extra_headers, b.notice)
    sniffs = sniff(b, options)
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
        return inner if inner is not None else _not_a_notice(b, signals, original, rules, source, problems)

    read = read_findings(b, sniffs)
    if read is None:
        inner = _embedded(b, source, rules, options, problems, depth)
        if inner is not None:
            return inner
        read = from_original(b)
    if read is None and not (told or signals.bounce_sender):
        # only a Subject or sentences said "notice", and nobody in it can be read as having failed: mail about a
        # delivery that failed (a parcel, a letter), not a delivery system's notice
        return _not_a_notice(b, signals, original, rules, source, problems)
    if read is None:
        problems.append(Problem(source, "no-recipient", "looks like a bounce, but no failed recipient could be read"))
        return Report(source=source, is_bounce=True, kind=Kind.FAILURE, subject=b.subject or None,
                      original=original, problems=tuple(problems))
    fmt, primary = read
    fill_actions(primary.findings, signals)
    recipients = [classify(f, notice=b.lead or b.notice, reporting_mta=primary.reporting_mta,
                           dsn_gateway=primary.dsn_gateway, rules=rules) for f in primary.findings]
    if not (told or signals.bounce_sender) and signals.own_addresses([r.address for r in recipients]) \
            and not any(r.status or r.reply_code or r.reason != "undefined" for r in recipients):
        # only a Subject or sentences said "notice", no server's reply nor any reason stands by an address read, and
        # each is at the sender's own domain: its contact address in mail about a delivery ("write to orders@..."),
        # not a recipient a delivery system reports as failing
        return _not_a_notice(b, signals, original, rules, source, problems)
    long = [f.address for f in primary.findings if len(" ".join(f.diagnostic.split())) > MAX_DIAGNOSTIC]
    if long:
        problems.append(Problem(source, "diagnostic-truncated",
                                f"the diagnostic of {len(long)} recipient(s) ({long[0]} first) is longer than "
                                f"{MAX_DIAGNOSTIC:,} characters; only the first are reported"))
    unread = [f.address for f in primary.findings if len(f.diagnostic) > MAX_READ or len(f.context) > MAX_READ]
    if unread:
        problems.append(Problem(source, "diagnostic-truncated",
                                f"the text about {len(unread)} recipient(s) ({unread[0]} first) is longer than "
                                f"{MAX_READ:,} characters; only the first were read to classify it"))
    kind = _kind(recipients)
    return Report(
        source=source, is_bounce=kind in (Kind.FAILURE, Kind.DELAY), kind=kind, format=fmt,
        reporting_mta=primary.reporting_mta, arrival_date=primary.arrival_date, envelope_id=primary.envelope_id,
        subject=b.subject or None, original=original, recipients=tuple(recipients), problems=tuple(problems),
    )


def _not_a_notice(b: Bounce, signals: Signals, original: Original | None, rules: RuleSet, source: str,
                  problems: list[Problem]) -> Report:
    """The report on a message that is no delivery notice: an unsubscribe request, an automatic reply or other mail."""
    if unsubscribe_request(b):
        return opt_out_report(b, rules, source, problems)
    if signals.autoreply:
        return Report(source=source, is_bounce=False, kind=Kind.AUTOREPLY, subject=b.subject or None,
                      original=original, recipients=autoreply_recipients(b, rules), problems=tuple(problems))
    return Report(source=source, is_bounce=False, kind=Kind.NOT_BOUNCE, subject=b.subject or None,
                  problems=tuple(problems))


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
        with rx.timer_held(options.regex_timeout):  # (a batch may hold it already, for all its messages)
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
    from .batch.sources import read_file

    try:
        raw, size = read_file(path, options.max_size)
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    return _run(raw, source if source is not None else os.fspath(path), _ruleset(rules), options, max(size, len(raw)))
