"""``explain()``: what a reply code (``550``), an enhanced status code (``5.7.1``), a reason word (``user_unknown``)
or a whole diagnostic line means, with the reason, verdict and hint the rules give it. Every answer carries a hint for
the person reading: what to do, or that there is nothing to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .classify import rules as rules_mod
from .classify.engine import classes_conflict, code_class, decide, fault_of, verdict_of
from .classify.rules import RuleSet
from .parse import bounded as rx
from .parse import smtp

_REPLY_ONLY = rx.compile(r"^\s*([1-5]\d\d)\s*$")
_STATUS_ONLY = rx.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\s*$")
_WORD = rx.compile(r"^[a-z][a-z0-9_]*$")
_NO_SESSION = (101, 111)  # what sending software prints when it could not even connect: not replies at all
_NO_SESSION_CLASS = "Not a reply from a mail server: the connection to it never happened."
_NO_SESSION_HINT = ("The connection never happened: check the server's host name and port, and any firewall between "
                    "the sender and the server.")
_NOTHING_TO_DO = {
    "2": "Nothing to do: the server accepted or delivered the message.",
    "3": "Nothing to do: a step of a session that was going well.",
}
_CODE_ONLY_HINT = {  # a bare failure code whose class is all there is to go on
    "4": ("A temporary failure: the sending server tries again by itself. If the same address keeps failing for "
          "days, read the text that came with the code (or explain the whole line) to learn why."),
    "5": ("The code alone does not say why: read the text that came with it, or explain the whole line "
          "(bounce-analyzer explain \"550 5.1.1 ...\")."),
}
_REPLY_CLASSES = {
    "1": "Positive preliminary reply: the server accepted the command but waits for confirmation (rare in SMTP).",
    "2": "Success: the server did what was asked.",
    "3": "Intermediate: the server needs more input before it can finish (e.g. the message body after DATA).",
    "4": "Temporary failure: the command was not carried out this time, but the same attempt may work later.",
    "5": "Permanent failure: the command was refused and repeating it unchanged will not help.",
}


@dataclass(frozen=True, slots=True)
class Explanation:
    """What ``explain()`` found: the reply code's and the status code's meaning, and the reason, verdict, fault and
    hint the rules give the query (``known`` is False when it could not be read at all)."""

    query: str
    known: bool
    reply_code: int | None = None
    status: str | None = None
    reply_title: str | None = None
    reply_meaning: str | None = None
    reply_class: str | None = None
    standard: bool | None = None
    used_by: str | None = None
    status_class: str | None = None
    status_subject: str | None = None
    status_title: str | None = None
    status_meaning: str | None = None
    reason: str | None = None
    reason_description: str | None = None
    verdict: str | None = None
    permanent: bool | None = None
    hint: str | None = None
    rule: str | None = None
    fault: str | None = None  # whose side the failure is on (see ``Recipient.fault``)
    host: str | None = None  # the answering server the query was explained for
    refs: tuple[str, ...] = ()
    conflict: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["refs"] = list(self.refs)
        return d


def explain(query: str, *, rules: RuleSet | None = None, host: str | None = None,
            command: str | None = None) -> Explanation:
    """Explain a reply code, an enhanced status code, or a diagnostic line such as ``550 5.1.1 User unknown``.

    ``host`` is the server that answered (a provider's rules apply only to its own hosts); ``command`` the SMTP
    stage the reply came at."""
    rs = rules or rules_mod.default()
    text = " ".join(str(query).split())[:4000]
    word = text.lower()
    if rx.match(_WORD, word) and word in rs.reasons:
        return _reason_word(query, rs.reasons[word])
    m = rx.match(_REPLY_ONLY, text)
    is_text = False  # a whole diagnostic line rather than a bare code
    if m:
        reply: int | None = int(m.group(1))
        status: str | None = None
    elif rx.match(_STATUS_ONLY, text):
        reply, status = None, text.strip()
    else:
        reply, status = smtp.find_pair(text)
        is_text = True
    fields: dict[str, Any] = {"query": query, "reply_code": reply, "status": status}
    refs: list[str] = []
    known = False
    if reply is not None:
        fields["reply_class"] = _REPLY_CLASSES.get(str(reply)[0])
        entry = rs.replies.get(reply)
        if entry is not None:
            known = True
            fields.update(reply_title=entry.title, reply_meaning=entry.meaning, standard=entry.standard,
                          used_by=entry.used_by or None)
            refs.extend(entry.refs)
    if status is not None:
        cls = rs.classes.get(status[0])
        subj = rs.subject_entry(status)
        detail = rs.status_entry(status)
        fields["status_class"] = cls.meaning if cls else None
        fields["status_subject"] = f"{subj.title}: {subj.meaning}" if subj else None
        if detail is not None:
            known = True
            fields.update(status_title=detail.title, status_meaning=detail.meaning)
            refs.extend(r for r in detail.refs if r not in refs)
        elif cls is not None and subj is not None:
            known = True
    if not text:
        return Explanation(query=query, known=False)
    host = host.strip().rstrip(".").lower() if host else None
    decision = decide(text if is_text else "", "text", status, reply, (host,) if host else (), rs,
                      command.upper() if command else None)
    known = known or decision.reason != "undefined"
    reason = rs.reasons[decision.reason]
    cls_digit = code_class(status, reply)
    failure = cls_digit not in ("1", "2", "3")  # a code that reports no failure has no reason or verdict
    if reply in _NO_SESSION and status is None:
        fields["reply_class"] = _NO_SESSION_CLASS
        hint: str | None = _NO_SESSION_HINT
    elif cls_digit in _NOTHING_TO_DO:
        hint = _NOTHING_TO_DO[cls_digit]
    elif decision.reason == "undefined" and not is_text and cls_digit in _CODE_ONLY_HINT:
        hint = _CODE_ONLY_HINT[cls_digit]
    elif cls_digit in ("4", "5") or (is_text and cls_digit is None):
        hint = decision.hint or reason.hint
    else:
        hint = None
    return Explanation(
        known=known, reason=decision.reason if failure else None,
        reason_description=reason.description if failure else None,
        verdict=verdict_of(decision, reason, cls_digit) if failure else None,
        fault=fault_of(decision, reason) if failure else None, host=host,
        permanent={"5": True, "4": False}.get(cls_digit or ""),
        hint=hint, rule=decision.rule, refs=tuple(refs), conflict=classes_conflict(status, reply), **fields,
    )


def _reason_word(query: str, reason: rules_mod.Reason) -> Explanation:
    """A reason word (``user_unknown``): what it means and what to do."""
    failure = reason.verdict in ("hard", "soft")
    return Explanation(query=query, known=True, reason=reason.id, reason_description=reason.description,
                       verdict=reason.verdict if failure else None, fault=reason.fault, hint=reason.hint,
                       rule=f"reason:{reason.id}")
