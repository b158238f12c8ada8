"""The message that bounced: found in a ``message/rfc822`` or ``text/rfc822-headers`` part, or quoted in the
notice's text, and read for the headers a list manager needs to find the campaign and the subscriber."""

from __future__ import annotations

from email.message import Message

from .model import Original
from .parse import bounded as rx
from .parse.message import ORIGINAL_TYPES, content_type, header, parse_headers_text, part_text, walk

# bounces+alice=example.com@lists.example.org  /  list-bounces-alice=example.com@example.org
_VERP = rx.compile(r"^[^@\s]*?[+-]([A-Za-z0-9._%!#$&'*/?^`{|}~-]{1,64})=([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)@"
                   r"[A-Za-z0-9.-]+$")
_NOT_IN_ADDRESS = rx.compile(r"[\s<>,;\"']+")
_HEADER_START = rx.compile(r"^(?:Return-Path|Received|Message-ID|From|To|Subject|Date|MIME-Version|DKIM-Signature)"
                           r":", rx.I | rx.M)


def find_original(msg: Message, notice_tail: str = "") -> Message | None:
    """The attached original (or its headers), else headers quoted after the notice's original-message marker."""
    for part in walk(msg):
        if part is msg:
            continue
        ctype = content_type(part)
        if ctype not in ORIGINAL_TYPES:
            continue
        payload = part.get_payload() if part.is_multipart() else None  # a leaf's text may not decode
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        text = part_text(part)
        if text.strip():
            return parse_headers_text(text.lstrip())
    if notice_tail:
        m = rx.search(_HEADER_START, notice_tail)
        if m:
            return parse_headers_text(notice_tail[m.start():])
    return None


def verp_recipient(*addresses: str) -> str | None:
    """``bounces+alice=example.com@lists.example.org`` → ``alice@example.com``."""
    for value in addresses:
        if not value or "=" not in value or "@" not in value:
            continue
        # the words that can be addresses, split off in one pass (a pattern that looks for "@" from every place in
        # a long header without one takes time in the square of its length); none is longer than a path may be
        for word in rx.split(_NOT_IN_ADDRESS, value):
            if "@" not in word or "=" not in word or len(word) > 320:
                continue
            v = rx.match(_VERP, word)
            if v:
                return f"{v.group(1)}@{v.group(2)}".lower()
    return None


# a notice that quotes no original but names it: "The subject of the message is: Invoice 2023-1187" (Exim)
_NAMED_SUBJECT = rx.compile(r"^[ \t]*The subject of the (?:original )?message (?:is|was):[ \t]*(\S[^\n]{0,300})$",
                            rx.I | rx.M)


def describe(original: Message | None, bounce: Message, extra_headers: tuple[str, ...] = (),
             notice: str = "") -> Original | None:
    verp = verp_recipient(header(bounce, "to"), header(bounce, "delivered-to"), header(bounce, "x-original-to"),
                          header(bounce, "return-path"), header(bounce, "envelope-to"))
    if original is None:
        m = rx.search(_NAMED_SUBJECT, notice[:4000]) if notice else None
        subject = m.group(1).strip() if m else None
        return Original(verp_recipient=verp, subject=subject) if verp or subject else None
    extras = tuple((name, header(original, name)) for name in extra_headers if header(original, name))
    return Original(
        message_id=header(original, "message-id") or None,
        from_=header(original, "from") or None,
        to=header(original, "to") or None,
        subject=header(original, "subject") or None,
        date=header(original, "date") or None,
        list_id=header(original, "list-id") or None,
        list_unsubscribe=header(original, "list-unsubscribe") or None,
        feedback_id=header(original, "feedback-id") or None,
        verp_recipient=verp,
        headers=extras,
    )
