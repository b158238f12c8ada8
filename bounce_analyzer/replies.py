"""Messages about a recipient that are not delivery notices: feedback reports (ARF, RFC 5965) and unsubscribe
requests (who complained, kind ``feedback``), and automatic replies (RFC 3834: the person who answered, and whether
they say their address has moved)."""

from __future__ import annotations

from typing import Any

from .classify.rules import RuleSet
from .formats import sesjson
from .formats.base import Bounce
from .kinds import bare_complaint
from .model import Evidence, Kind, Original, Problem, Recipient, Report
from .options import Options
from .original import describe
from .parse import bounded as rx
from .parse import dsn as dsn_mod
from .parse.address import PATTERN as _ADDRESS
from .parse.message import header


def feedback_report(b: Bounce, texts: list[str], rules: RuleSet, source: str, options: Options,
                    problems: list[Problem]) -> Report:
    """A feedback report: the complainer's address, the feedback type and the original it is about."""
    fields: dict[str, str] = {}
    for text in texts:
        for line in text.split("\n"):
            name, sep, value = line.partition(":")
            if sep and name.strip() and not name.startswith((" ", "\t")):
                fields.setdefault(name.strip().lower(), value.strip())
    # the complainer: the original's recipient, or the address an opt-out report asks to remove (Removal-Recipient,
    # which such a report may give instead)
    address = dsn_mod.address_of(fields.get("original-rcpt-to", "")) or dsn_mod.address_of(
        fields.get("removal-recipient", ""))
    bare = not texts and b.original is None and bare_complaint(b, rules.detect.complaint_copy_headers)
    copy = b.msg if bare else b.original  # (a complaint sent as the bare original is its own copy)
    if not address and copy is not None:
        # the complainer is the original's recipient: a header some providers add to the copy names it, else To
        for name in (*rules.detect.complaint_recipient_headers, "to"):
            address = dsn_mod.address_of(header(copy, name))
            if address:
                break
    arf = bool(texts) or b.report_type == "feedback-report"
    feedback_type = fields.get("feedback-type", "").lower() or (None if arf else "abuse")
    reason = rules.reasons["feedback"]
    recipients: tuple[Recipient, ...] = ()
    if address:
        said = (Evidence("reason", "message/feedback-report", f"Feedback-Type: {fields.get('feedback-type', '')}")
                if arf else Evidence("reason", "header", _copy_header(b, rules)[:200]) if bare
                else Evidence("reason", "subject", b.subject[:200]))
        rule = "feedback-report" if arf else "complaint-bare-copy" if bare else "complaint-with-copy"
        recipients = (Recipient(address=address, action="complained", reason="feedback", verdict=None,
                                hint=reason.hint, rule=rule, evidence=(said,)),)
    return Report(source=source, is_bounce=False, kind=Kind.FEEDBACK, format="arf" if arf else "complaint",
                  reporting_mta=(fields.get("reporting-mta") and dsn_mod.host_of(fields["reporting-mta"])) or None,
                  arrival_date=fields.get("arrival-date") or fields.get("received-date") or None,
                  subject=b.subject or None, feedback_type=feedback_type,
                  original=describe(copy, b.msg, options.extra_headers), recipients=recipients,
                  problems=tuple(problems))


def _copy_header(b: Bounce, rules: RuleSet) -> str:
    """The feedback loop's header that marks a bare copy, as the message carries it."""
    for name in rules.detect.complaint_copy_headers:
        value = header(b.msg, name)
        if value:
            return f"{name}: {value}"
    return ""


def ses_complaint_report(b: Bounce, obj: dict[str, Any], rules: RuleSet, source: str,
                         problems: list[Problem]) -> Report:
    """An Amazon SES complaint notification: the addresses that complained, the feedback type the mailbox provider
    gave (SES leaves it out when the provider said none) and the headers of the message complained about."""
    fields = sesjson.complaint_fields(obj)
    said = Evidence("reason", "ses-json", "notificationType: Complaint" + (
        f"; complaintFeedbackType: {fields['feedback_type']}" if fields["feedback_type"] else ""))
    reason = rules.reasons["feedback"]
    recipients = tuple(Recipient(address=address, action="complained", reason="feedback", verdict=None,
                                 hint=reason.hint, rule="ses-complaint", evidence=(said,))
                       for address in sesjson.complained_recipients(obj))
    original = Original(message_id=fields["message_id"] or None, from_=fields["from"] or None,
                        to=fields["to"] or None, subject=fields["subject"] or None, date=fields["date"] or None)
    return Report(source=source, is_bounce=False, kind=Kind.FEEDBACK, format="ses-json",
                  arrival_date=fields["arrival_date"] or None, subject=b.subject or None,
                  feedback_type=fields["feedback_type"] or None,
                  original=original if any(fields[k] for k in ("message_id", "from", "to", "subject")) else None,
                  recipients=recipients, problems=tuple(problems))


def opt_out_report(b: Bounce, rules: RuleSet, source: str, problems: list[Problem]) -> Report:
    """An unsubscribe request is feedback of type opt-out from the person who sent it."""
    recipients: tuple[Recipient, ...] = ()
    if "@" in b.sender:
        recipients = (Recipient(address=b.sender, action="complained", reason="feedback", verdict=None,
                                hint=rules.reasons["feedback"].hint, rule="unsubscribe-request",
                                evidence=(Evidence("reason", "subject", b.subject[:200]),)),)
    return Report(source=source, is_bounce=False, kind=Kind.FEEDBACK, format="unsubscribe",
                  subject=b.subject or None, feedback_type="opt-out", recipients=recipients,
                  problems=tuple(problems))



_NEW_ADDRESS_SPAN = 300  # how far after "my new address" the new address may stand


def autoreply_recipients(b: Bounce, rules: RuleSet) -> tuple[Recipient, ...]:
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
