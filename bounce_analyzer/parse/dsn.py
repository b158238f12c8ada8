"""RFC 3464 delivery status fields: text to one per-message block and one block per recipient.

Written for what MTAs really send, not only for the RFC's grammar:

    Reporting-MTA: dns; mail.example.com          per-message fields first
    Arrival-Date: Mon, 2 Nov 2026 10:00:00 +0000

    Final-Recipient: rfc822; alice@example.net    then one block per recipient
    Action: failed
    Status: 5.1.1
    Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>:
        Recipient address rejected: User unknown  (folded over several lines)

Blocks may lack the blank line between them, fields may come in an odd order, a block may start with
Original-Recipient, the address-type may be missing (``rfc822;`` or ``RFC822;<a@b>``), ``Action: error`` stands
for failed, and the whole thing may sit in a text/plain part with prose around it. Only known field names are
read, so headers of a quoted original message never leak in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import regex

PER_MESSAGE = frozenset({
    "reporting-mta", "dsn-gateway", "received-from-mta", "arrival-date", "original-envelope-id",
    "x-postfix-queue-id", "x-postfix-sender", "x-original-message-id", "x-ms-exchange-message-is-ndr",
})
PER_RECIPIENT = frozenset({
    "original-recipient", "final-recipient", "action", "status", "remote-mta", "diagnostic-code",
    "last-attempt-date", "final-log-id", "will-retry-until", "x-actual-recipient", "x-supplementary-info",
    "x-display-name",
})
KNOWN = PER_MESSAGE | PER_RECIPIENT
STARTS_BLOCK = frozenset({"original-recipient", "final-recipient"})

_ACTIONS = {"failed": "failed", "failure": "failed", "error": "failed", "delayed": "delayed", "delay": "delayed",
            "delivered": "delivered", "relayed": "relayed", "expanded": "expanded", "deliverable": "delivered"}


@dataclass(slots=True)
class DsnBlock:
    """One block of delivery-status fields, by lower-case field name."""

    fields: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.fields.get(name, "")


@dataclass(slots=True)
class DsnFields:
    """A delivery-status part: its per-message block and one block per recipient."""

    message: DsnBlock
    recipients: list[DsnBlock]


def _logical_lines(text: str) -> list[str | None]:
    """Unfold continuation lines; a blank line becomes None (a block separator)."""
    out: list[str | None] = []
    for line in text.split("\n"):
        stripped = line.rstrip()
        if not stripped:
            out.append(None)
            continue
        if line[:1] in (" ", "\t") and out and out[-1] is not None:
            prev = out[-1]
            out[-1] = f"{prev} {stripped.strip()}"
            continue
        out.append(stripped)
    return out


def parse_fields(text: str) -> DsnFields:
    """Read the per-message block and the per-recipient blocks out of delivery-status text."""
    message = DsnBlock()
    recipients: list[DsnBlock] = []
    current: DsnBlock | None = None
    after_blank = False
    for line in _logical_lines(text):
        if line is None:
            after_blank = True
            continue
        head, colon, rest = line.partition(":")
        name = head.rstrip(" \t").lower()
        if name not in KNOWN or not colon or not head.isascii():
            # not a field (a continuation of a known field that was not indented, seen in hand-made DSNs), or not
            # one of the fields read here: ignore
            after_blank = False
            continue
        value = rest.strip()
        if name in PER_MESSAGE and current is None:
            message.fields.setdefault(name, value)
            continue
        if name in PER_MESSAGE and name not in PER_RECIPIENT:
            message.fields.setdefault(name, value)
            continue
        new_block = (
            current is None
            or name in current.fields
            or (after_blank and name in STARTS_BLOCK and len(current.fields) > 1)
        )
        if new_block:
            current = DsnBlock()
            recipients.append(current)
        assert current is not None
        current.fields[name] = value
        after_blank = False
    # a block with no recipient at all is noise (an Action: line in prose, say)
    recipients = [b for b in recipients if b.get("final-recipient") or b.get("original-recipient")
                  or b.get("x-actual-recipient")]
    return DsnFields(message, recipients)


_RECIPIENT_FIELD = re.compile(r"final-recipient[ \t]*:", re.I)
_OUTCOME_FIELD = re.compile(r"(?:status|action)[ \t]*:", re.I)


def looks_like_dsn_text(text: str) -> bool:
    """A text part that carries DSN fields (a DSN sent as text/plain; some servers put a space before the colon)."""
    low = text.lower()
    if "final-recipient:" in low and ("status:" in low or "action:" in low):
        return True
    return "final-recipient" in low and bool(_RECIPIENT_FIELD.search(text)) and bool(_OUTCOME_FIELD.search(text))


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def split_fields(text: str) -> tuple[str, str] | None:
    """(the text without its delivery-status fields, the fields) for a text that carries them as paragraphs of
    their own: from the first paragraph made of nothing but fields (a known field among them, the others X- fields
    or folded lines) up to the first that is not. None when no such paragraphs name a recipient with an action or
    a status."""
    if not looks_like_dsn_text(text):
        return None
    paragraphs = _PARAGRAPH_BREAK.split(text)
    start = end = -1
    for i, paragraph in enumerate(paragraphs):
        if _only_fields(paragraph):
            start = i if start < 0 else start
            end = i + 1
        elif start >= 0:
            break
    fields = "\n\n".join(paragraphs[start:end]) if start >= 0 else ""
    if not looks_like_dsn_text(fields):
        return None
    if "=?" in fields:
        # encoded words, as a delivery-status part's fields are read (an address whose local part is not ASCII,
        # written "=?utf-8?q?...?=@example.org")
        from .message import decode_header_value

        fields = "\n".join(decode_header_value(line) if "=?" in line else line for line in fields.split("\n"))
    return "\n\n".join(paragraphs[:start] + paragraphs[end:]), fields


def _only_fields(paragraph: str) -> bool:
    """Whether a paragraph is made of fields, most of them known ones: X- fields, folded lines, a space before the
    colon ("Status : 5.0.0") and a stray field of the server's own among many known ones are taken too."""
    known = others = 0
    for n, line in enumerate(paragraph.strip("\n").split("\n")):
        if n and line[:1] in (" ", "\t"):
            continue  # a folded field goes on
        head, colon, _ = line.partition(":")
        name = head.rstrip(" \t").lower()
        if not colon or not name.isascii() or not name or " " in name or "\t" in name:
            return False
        if name in KNOWN:
            known += 1
        elif not name.startswith("x-"):
            others += 1
    return known > 2 * others


def status_comment(value: str | None) -> str:
    """The comment after the code of a Status field: "4.0.0 (example.net: host name lookup failure)" gives
    "example.net: host name lookup failure"."""
    code, _, rest = (value or "").strip().partition(" ")
    rest = rest.strip()
    return rest[1:-1].strip() if code[:1].isdigit() and rest.startswith("(") and rest.endswith(")") else ""


_XTEXT = regex.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}|\+([0-9A-Fa-f]{2})")


def _decode_xtext(value: str) -> str:
    """RFC 3461 xtext (``+2B``) and RFC 6533 utf-8-addr-xtext (``\\x{E9}``) to plain characters."""
    if "\\x{" not in value and "+" not in value:
        return value

    def sub(m: regex.Match[str]) -> str:
        h = m.group(1) or m.group(2)
        try:
            return chr(int(h, 16))
        except ValueError:
            return m.group(0)

    return _XTEXT.sub(sub, value)


def address_of(value: str) -> str:
    """``rfc822; <Alice@Example.NET>`` → ``alice@example.net``; "" if the value holds no address."""
    v = value.strip()
    if ";" in v:
        kind, _, rest = v.partition(";")
        if "@" not in kind or kind.strip().lower() in ("rfc822", "utf-8", "x400", "unknown"):
            if kind.strip().lower() == "utf-8" or "\\x{" in rest:
                rest = _decode_xtext(rest)
            v = rest
    v = v.strip().strip("<>").strip()
    if "<" in v and ">" in v:
        v = v[v.index("<") + 1:v.rindex(">")]
    v = v.strip()
    if v[:1] in "'\"" and v[-1:] == v[:1] and v.count(v[:1]) == 2:
        v = v[1:-1].strip()
    if " " in v and not v.startswith('"'):
        words = [w for w in v.split() if "@" in w]
        v = words[0].strip("<>()'\",;") if words else ""
    local, _, domain = v.rpartition("@")
    if not local or not domain:  # "@mx.example.org": no mailbox named at all
        return ""
    return v.lower()


def action_of(value: str) -> str | None:
    word = value.strip().split(" ")[0].split("(")[0].strip().lower() if value.strip() else ""
    return _ACTIONS.get(word, word or None)


def typed_value(value: str) -> tuple[str, str]:
    """``smtp; 550 ...`` → (``smtp``, ``550 ...``); a value without a type gives ("", value)."""
    head, sep, rest = value.partition(";")
    if sep and head.strip() and len(head) <= 20 and " " not in head.strip():
        return head.strip().lower(), rest.strip()
    return "", value.strip()


_IP_BESIDE = regex.compile(r"\s*[\[(]\s*(\d{1,3}(?:\.\d{1,3}){3}|(?:IPv6:)?[0-9A-Fa-f:]{2,45})\s*[\]),]")


def ip_of(value: str | None) -> str | None:
    """The address a Remote-MTA field gives right after the host: ``dns; mx.example.net [192.0.2.1]``,
    ``dns; mx.example.net. (192.0.2.1, the server for the domain example.net.)`` → ``192.0.2.1``."""
    if not value:
        return None
    _, rest = typed_value(value)
    words = rest.strip().split(None, 1)
    if len(words) < 2:
        return None
    m = _IP_BESIDE.match(words[1][:120])
    ip = m.group(1) if m else None
    return ip if ip and (ip.count(".") == 3 or ip.count(":") >= 2) else None


def host_of(value: str) -> str:
    """``dns; mx.example.net [192.0.2.1]`` → ``mx.example.net``; "" for a local program (``X-Unix; procmail``)."""
    kind, rest = typed_value(value)
    if kind in ("x-unix", "unix", "x-local", "local"):
        return ""
    rest = rest.strip()
    host = rest.split()[0] if rest else ""
    host = host.strip("[]()<>;,").rstrip(".").lower()
    return host
