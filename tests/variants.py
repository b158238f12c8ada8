"""Meaning-preserving variants of a bounce, for checking that the analyzer's answer does not hang on form.

Each variant is a pure function ``bytes -> bytes | None``: the same notice written another way, or None when the
variant does not apply to that message or could change what it says. They are written on the standard library's
``email`` package (compat32) or as careful byte-level edits, and each one is conservative: when in doubt, None.

``key(raw)`` is what must not change: the report's kind and the multiset of failed and delayed recipients with
address, status, reply code, responder role and host, verdict and reason.
"""

from __future__ import annotations

import base64
import html
import quopri
import re
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from email.utils import parseaddr
from io import BytesIO

from bounce_analyzer import analyze
from bounce_analyzer.parse.message import _DEFAULT_CHARSETS, CHARSET_ALIASES

Variant = Callable[[bytes], "bytes | None"]
Row = tuple[str, str, str, str, str, str, str]
Key = tuple[str, tuple[Row, ...]]

# --------------------------------------------------------------------------------------------------- the key


def key(raw: bytes) -> Key:
    """The report's kind and the sorted failed/delayed recipients: (address, status, reply_code, responder role,
    responder host, verdict, reason)."""
    report = analyze(raw).to_dict()
    rows = []
    for r in report["recipients"]:
        if r["action"] not in ("failed", "delayed"):
            continue
        rows.append((r["address"], r["status"] or "", str(r["reply_code"] or ""), r["responder"]["role"],
                     r["responder"]["host"] or "", r["verdict"] or "", r["reason"]))
    return report["kind"], tuple(sorted(rows))


def describe_change(old: Key, new: Key) -> str:
    """One line saying how two keys differ: the kind, recipients only in one, and changed fields of the others."""
    fields = ("status", "reply", "role", "host", "verdict", "reason")
    out = []
    if old[0] != new[0]:
        out.append(f"kind {old[0]} -> {new[0]}")
    before = {r[0]: r for r in old[1]}
    after = {r[0]: r for r in new[1]}
    for address in sorted(set(before) | set(after)):
        a, b = before.get(address), after.get(address)
        if a is None:
            out.append(f"+{address}")
        elif b is None:
            out.append(f"-{address}")
        elif a != b:
            diffs = [f"{f} {x or '-'} -> {y or '-'}" for f, x, y in zip(fields, a[1:], b[1:], strict=True) if x != y]
            out.append(f"{address}: {', '.join(diffs)}")
    if not out and old != new:  # the same addresses listed a different number of times
        out.append(f"recipients {len(old[1])} -> {len(new[1])}")
    return "; ".join(out)


# --------------------------------------------------------------------------------------------------- plumbing

_LINE_END = re.compile(rb"\r\n|\r|\n")
_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
_ORIGINAL_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers",
                   "message/global-headers")
_ADDR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_ADDRESS = re.compile(_ADDR)
# "Name: value" at the start of a line: a header or a DSN-like field, which keeps its exact form
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:(?!//)")
_CODE_WORDS = re.compile(r"\b[245]\d\d\b|\b[245]\.\d{1,3}\.\d{1,3}\b")


def _ending(raw: bytes) -> bytes:
    crlf = raw.count(b"\r\n")
    cr = raw.count(b"\r") - crlf
    lf = raw.count(b"\n") - crlf
    if crlf >= lf and crlf >= cr and crlf:
        return b"\r\n"
    return b"\r" if cr > lf else b"\n"


def _to_lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _parse(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=compat32)


def _flatten(msg: Message) -> bytes:
    out = BytesIO()
    # maxheaderlen=0: headers are written as they were read, not folded anew
    generator = BytesGenerator(out, mangle_from_=False, maxheaderlen=0, policy=compat32)
    generator.flatten(msg, unixfrom=msg.get_unixfrom() is not None)
    return out.getvalue()


def _structural(edit: Callable[[Message], bool]) -> Variant:
    """A variant that edits the parsed message. The message is read with LF line endings and written back with
    the line ending it had; None when ``edit`` says it does not apply or nothing changed."""

    def variant(raw: bytes) -> bytes | None:
        ending = _ending(raw)
        msg = _parse(_to_lf(raw))
        if not edit(msg):
            return None
        out = _flatten(msg)
        if ending != b"\n":
            out = out.replace(b"\n", ending)
        return out if out != raw else None

    variant.__doc__ = edit.__doc__
    return variant


def _ctype(part: Message) -> str:
    return part.get_content_type().lower()


def _children(msg: Message) -> list[Message]:
    """The parts of a multipart (or the message of a message/rfc822 part); [] for a leaf."""
    payload = msg.get_payload()
    if not msg.is_multipart() or not isinstance(payload, list):
        return []
    return [p for p in payload if isinstance(p, Message)]


def _notice_parts(msg: Message) -> Iterator[Message]:
    """The leaf parts of the notice itself: not delivery-status parts, and nothing inside an attached message."""
    ctype = _ctype(msg)
    if ctype.startswith("message/") or ctype in _ORIGINAL_TYPES:
        return
    if msg.is_multipart():
        for sub in _children(msg):
            yield from _notice_parts(sub)
    else:
        yield msg


def _leaves(msg: Message) -> Iterator[Message]:
    """Every leaf part, inside attached messages too, but not the fields of a delivery-status part."""
    if _ctype(msg) in _DSN_TYPES:
        return
    if msg.is_multipart():
        for sub in _children(msg):
            yield from _leaves(sub)
    else:
        yield msg


def _cte(part: Message) -> str:
    return str(part.get("content-transfer-encoding", "7bit")).strip().lower()


def _raw_body(part: Message) -> bytes | None:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else None


def _declared_charset(part: Message) -> str | None:
    charset = part.get_param("charset")
    return charset.strip().lower() if isinstance(charset, str) and charset.strip() else None


def _set_body(part: Message, data: bytes, cte: str) -> None:
    """Put ``data`` back into the part with the given transfer encoding; the charset parameter is left alone."""
    if cte == "base64":
        body = base64.encodebytes(data).decode("ascii")
    elif cte == "quoted-printable":
        body = quopri.encodestring(data).decode("ascii")
        if data.endswith(b"\n") and not body.endswith("\n"):
            body += "\n"
    else:
        body = data.decode("ascii", "surrogateescape")
    part.set_payload(body)
    if cte != _cte(part):
        if "content-transfer-encoding" in part:
            part.replace_header("Content-Transfer-Encoding", cte)
        else:
            part["Content-Transfer-Encoding"] = cte
        if "mime-version" not in part and part.get_unixfrom() is None and "content-type" not in part:
            # a body without MIME headers: its transfer encoding counts only in a MIME message
            part["MIME-Version"] = "1.0"


def _text(part: Message) -> tuple[str, str] | None:
    """A text part's content as str and the codec that reads it; None when the charset is unknown or the bytes do
    not survive a decode and encode unchanged."""
    data = _raw_body(part)
    if data is None:
        return None
    charset = _declared_charset(part) or "us-ascii"
    if not data.isascii() and CHARSET_ALIASES.get(charset, charset) in _DEFAULT_CHARSETS:
        # read as the analyzer reads it: a part declared ASCII or Latin-1 that holds UTF-8 is UTF-8, else Windows-1252
        for codec in ("utf-8", "cp1252"):
            if codec == "cp1252" and CHARSET_ALIASES.get(charset, charset) in ("iso-8859-15", "latin-9"):
                break
            try:
                data.decode(codec)
            except UnicodeDecodeError:
                continue
            charset = codec
            break
    try:
        text = data.decode(charset, "surrogateescape")
        if text.encode(charset, "surrogateescape") != data:
            return None
    except (LookupError, UnicodeError):
        return None
    return text, charset


def _edit_text(part: Message, edit: Callable[[str], str]) -> bool:
    """Apply ``edit`` to a text part's content, keeping its charset and transfer encoding; whether it changed."""
    got = _text(part)
    if got is None:
        return False
    text, charset = got
    new = edit(text)
    if new == text:
        return False
    try:
        data = new.encode(charset, "surrogateescape")
    except UnicodeError:
        return False
    cte = _cte(part)
    if cte not in ("base64", "quoted-printable") and any(b > 127 for b in data):
        cte = "8bit"  # raw text keeps its bytes as they were; only the declared encoding may need to say so
    _set_body(part, data, cte)
    return True


def _plain_parts(msg: Message) -> list[Message]:
    return [p for p in _notice_parts(msg) if _ctype(p) == "text/plain"]


def _notice_text(msg: Message) -> str:
    """All the notice's own text (plain and HTML parts), decoded."""
    texts = []
    for part in _notice_parts(msg):
        if _ctype(part).startswith("text/"):
            got = _text(part)
            if got is not None:
                texts.append(got[0])
            else:
                data = _raw_body(part) or b""
                texts.append(data.decode("latin-1"))
    return "\n".join(texts)


_COPY_STARTS = re.compile(r"^.*(?:original message|copy of the message|message follows|returned message|"
                         r"undelivered message|message headers? follow|headers of the|copy of the original).*$",
                         re.I | re.M)


def _before_copy(text: str) -> str:
    """The text above the first line that announces a copy of the original message."""
    m = _COPY_STARTS.search(text)
    return text[:m.start()] if m else text


def _headers_text(msg: Message) -> str:
    return "\n".join(str(v) for v in msg.values())


def _dsn_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []


def _after_semicolon(value: str) -> str:
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()


def _is_system_sender(value: str) -> bool:
    """Whether a From names a mail system rather than a person, by its display name and local part (a person's
    address at a host called smtp.example.net is still a person's)."""
    name, address = parseaddr(value)
    said = f"{name} {address.rsplit('@', 1)[0]}".lower() if address else value.lower()
    return any(w in said for w in _SYSTEM_WORDS) or said.split()[-1:] == ["root"]


_SYSTEM_WORDS = ("mailer-daemon", "mailer_daemon", "maildaemon", "daemon", "postmaster", "mailer", "delivery",
                 "bounce", "notif", "noreply", "no-reply", "donotreply", "do-not-reply", "do_not_reply", "smtp",
                 "mail system", "mail administrator", "system administrator", "mailadmin", "mmdf",
                 "failure", "undeliver", "returned", "nobody", "admin")

# --------------------------------------------------------------------------------------------------- headers

NEUTRAL_SUBJECT = "Message"
NEUTRAL_FROM = "Robin Lane <robin.lane@example.org>"


def _neutral_subject(msg: Message) -> bool:
    """The Subject says nothing: "Message"."""
    if "subject" not in msg or str(msg["subject"]).strip() == NEUTRAL_SUBJECT:
        return False
    msg.replace_header("Subject", NEUTRAL_SUBJECT)
    return True


def _neutral_from(msg: Message) -> bool:
    """A From of a mail system (mailer-daemon, postmaster, "Mail Delivery Subsystem", ...) becomes a person's.
    A From that already names a person is left alone: in an auto-reply it is the recipient the report is about.
    So is one whose domain the notice's text or delivery-status fields do not name as a host: there the From is
    what tells which host wrote the notice."""
    if "from" not in msg or not _is_system_sender(str(msg["from"])):
        return False
    found = _ADDRESS.findall(str(msg["from"]))
    if found and not _names_host(msg, found[0].rsplit("@", 1)[1].lower()):
        return False
    msg.replace_header("From", NEUTRAL_FROM)
    if "sender" in msg and _is_system_sender(str(msg["sender"])):
        msg.replace_header("Sender", NEUTRAL_FROM)
    return True


def _names_host(msg: Message, host: str) -> bool:
    """Whether the notice's text calls ``host`` a host ("at host X", "server: X", "by X", ...; not an address's
    domain, nor a word such as "your X account") or its delivery-status fields name it as an MTA."""
    named = re.compile(rf"\b(?:host|at|server|from|by|mta|relay|gateway|system)\b[:\s]+\[?{re.escape(host)}(?![\w-])",
                       re.I)
    if named.search(_before_copy(_notice_text(msg))):
        return True
    return any(_host(str(block.get(f, ""))) == host for part in msg.walk() if _ctype(part) in _DSN_TYPES
               for block in _dsn_blocks(part) for f in ("reporting-mta", "remote-mta"))


def _neutral_headers(msg: Message) -> bool:
    """Both Subject and From neutral."""
    subject = _neutral_subject(msg)
    sender = _neutral_from(msg)
    return subject and sender


# --------------------------------------------------------------------------------------------------- encodings


def _reencode(cte: str) -> Callable[[Message], bool]:
    def edit(msg: Message) -> bool:
        changed = False
        for part in _leaves(msg):
            if not _ctype(part).startswith("text/") or _cte(part) == cte:
                continue
            data = _raw_body(part)
            if data is None:
                continue
            if _declared_charset(part) is None and any(b > 127 for b in data):
                continue  # 8-bit text with no charset named: encoding it would declare it us-ascii
            _set_body(part, data, cte)
            changed = True
        return changed

    edit.__doc__ = f"Every text part (the attached original's too) re-encoded {cte}, its charset kept."
    return edit


# --------------------------------------------------------------------------------------------------- boundaries


def rename_boundaries(raw: bytes) -> bytes | None:
    """Every MIME boundary renamed, by byte-level edits of the Content-Type parameter and the delimiter lines;
    None when a delimiter cannot be told apart from text or the renamed message has another structure."""
    msg = _parse(raw)
    boundaries = []
    for part in msg.walk():
        b = part.get_boundary() if part.is_multipart() else None
        if b and b not in boundaries:
            boundaries.append(b)
    if not boundaries:
        return None
    new_names: dict[bytes, bytes] = {}
    for i, b in enumerate(boundaries):
        name = f"=_renamed.{i}.q7Zx{len(b)}".encode()
        if name in raw:
            return None
        try:
            new_names[b.encode("ascii")] = name
        except UnicodeEncodeError:
            return None
    out = raw
    for old, new in new_names.items():
        param = re.compile(rb'(?i)(\bboundary[ \t]*=[ \t]*)(?:"' + re.escape(old) + rb'"|' + re.escape(old)
                           + rb'(?=[ \t;\r\n]|$))')
        out, n = param.subn(rb'\g<1>"' + new.replace(b"\\", b"\\\\") + b'"', out)
        if n == 0:
            return None
    lines = _LINE_END.split(out)
    ends = [*_LINE_END.findall(out), b""]
    for i, line in enumerate(lines):
        if not line.startswith(b"--"):
            continue
        renamed = None
        for old, new in new_names.items():
            rest = line[2 + len(old):] if line.startswith(b"--" + old) else None
            if rest is not None and rest.rstrip(b" \t") in (b"", b"--"):
                renamed = b"--" + new + rest
                break
        if renamed is not None:
            lines[i] = renamed
        elif any(line.startswith(b"--" + old) for old in new_names):
            return None  # a line that begins like a delimiter but is none: renaming could change the parse
    rebuilt = b"".join(line + end for line, end in zip(lines, ends, strict=True))
    if _shape(_parse(rebuilt)) != _shape(msg):
        return None
    return rebuilt


def _shape(msg: Message) -> list[tuple[str, int]]:
    return [(_ctype(p), len(p.get_payload()) if p.is_multipart() else 0) for p in msg.walk()]


# --------------------------------------------------------------------------------------------------- line endings


def _line_endings(ending: bytes) -> Variant:
    def variant(raw: bytes) -> bytes | None:
        out = _to_lf(raw).replace(b"\n", ending)
        return out if out != raw else None

    variant.__doc__ = f"Every line ending made {ending!r}."
    return variant


# --------------------------------------------------------------------------------------------------- parts removed

_DELAY_WORDS = ("delay", "not yet been delivered", "will be retried", "will retry", "still trying", "retrying",
                "warning", "will continue")


def _code_tokens(text: str) -> set[str]:
    return set(_CODE_WORDS.findall(text))


def _host(value: str) -> str:
    return _after_semicolon(value).strip("[] ").lower()


def _mentions_host(text: str, host: str) -> bool:
    """Whether ``host`` stands in the text as a name of its own, not as the domain of an address."""
    return re.search(rf"(?<![\w.@-]){re.escape(host)}(?![\w-])", text, re.I) is not None


def _remove_dsn(msg: Message) -> bool:
    """The delivery-status part removed (multipart/report becomes multipart/mixed), where the notice's own text
    names every recipient in it with its codes, remote host and reporting host, and a delay as a delay."""
    text = _notice_text(msg)
    low = text.lower()
    codes = _code_tokens(text)
    context = low + "\n" + _headers_text(msg).lower()
    removals: list[tuple[Message, Message]] = []
    for parent in _containers(msg):
        for part in _children(parent):
            if _ctype(part) in _DSN_TYPES:
                if not _dsn_told_in_text(part, low, codes, context):
                    return False
                removals.append((parent, part))
    if not removals:
        return False
    for parent, part in removals:
        payload = parent.get_payload()
        assert isinstance(payload, list)
        payload.remove(part)
        if _ctype(parent) == "multipart/report":
            value = str(parent["content-type"])
            value = re.sub(r"(?i)multipart/report", "multipart/mixed", value, count=1)
            value = re.sub(r'(?i);\s*report-type\s*=\s*(?:"[^"]*"|[^;\s]+)', "", value)
            parent.replace_header("Content-Type", value)
    return True


def _dsn_told_in_text(part: Message, low: str, codes: set[str], context: str) -> bool:
    blocks = _dsn_blocks(part)
    recipients = [b for b in blocks if b.get("final-recipient") or b.get("original-recipient")]
    if not recipients:
        return False
    for block in blocks:
        reporting = block.get("reporting-mta")
        if reporting and not _mentions_host(context, _host(str(reporting))):
            return False
    for block in recipients:
        address = _after_semicolon(str(block.get("final-recipient") or block.get("original-recipient"))).lower()
        address = address.strip("<>")
        if "@" not in address or address not in low:
            return False
        diagnostic = str(block.get("diagnostic-code", ""))
        status = str(block.get("status", "")).split()[0] if block.get("status") else ""
        needed = set(re.findall(r"^\s*\S*;\s*([245]\d\d)\b", diagnostic)[:1])
        enhanced = re.findall(r"\b[245]\.\d{1,3}\.\d{1,3}\b", diagnostic)[:1]
        needed.update(enhanced)
        if not enhanced or not re.fullmatch(r"[245]\.0\.0", status):
            needed.add(status)  # a Status other than the generic X.0.0 can decide the status reported
        needed.discard("")
        if not needed or not needed <= codes:
            return False
        remote = block.get("remote-mta")
        if remote and not _mentions_host(low, _host(str(remote))):
            return False
        if not remote and diagnostic.strip().lower().startswith("smtp"):
            return False  # an SMTP reply from a server the notice may name only here: the responder is at stake
        action = str(block.get("action", "failed")).strip().lower()
        if action == "delayed" and not any(w in low for w in _DELAY_WORDS):
            return False
        if action not in ("failed", "failure", "error", "delayed") and action not in low:
            return False
    return True


def _recipients_named(msg: Message) -> list[str]:
    """The recipients a notice reports on as its structure names them: Final-Recipient fields of its
    delivery-status parts and X-Failed-Recipients headers."""
    found: list[str] = []
    for part in msg.walk():
        if _ctype(part) in _DSN_TYPES:
            for block in _dsn_blocks(part):
                value = block.get("final-recipient") or block.get("original-recipient")
                if value:
                    found.append(_after_semicolon(str(value)).strip("<>").lower())
    for value in msg.get_all("x-failed-recipients") or []:
        found.extend(a.lower() for a in _ADDRESS.findall(str(value)))
    return list(dict.fromkeys(found))


def _remove_original(msg: Message) -> bool:
    """The attached original (message/rfc822, text/rfc822-headers, ...) removed, where the notice's own text names
    every recipient it reports on (from its delivery-status fields or X-Failed-Recipients, else every To and Cc
    address of the original), and the attachment is no notice itself (no delivery-status part, no system From)."""
    removals: list[tuple[Message, Message]] = []
    originals: list[Message] = []
    for parent in _containers(msg):
        for part in _children(parent):
            if _ctype(part) in _ORIGINAL_TYPES:
                removals.append((parent, part))
                originals.extend(_children(part)[:1])
    if not removals:
        return False
    for original in originals:
        if any(_ctype(p) in _DSN_TYPES for p in original.walk()):
            return False
        if _is_system_sender(str(original.get("from", ""))):
            return False
    recipients = _recipients_named(msg)
    if not recipients:
        for original in originals:
            for name in ("to", "cc"):
                for value in original.get_all(name) or []:
                    recipients.extend(a.lower() for a in _ADDRESS.findall(str(value)))
    text = _notice_text(msg).lower()
    if not recipients or not all(r in text for r in recipients):
        return False
    for parent, part in removals:
        payload = parent.get_payload()
        assert isinstance(payload, list)
        payload.remove(part)
    return True


def _containers(msg: Message) -> Iterator[Message]:
    """The multiparts of the notice itself (not inside an attached message)."""
    if _ctype(msg).startswith("multipart/") and msg.is_multipart():
        yield msg
        for sub in _children(msg):
            if not _ctype(sub).startswith("message/"):
                yield from _containers(sub)


# --------------------------------------------------------------------------------------------------- text edits


def _edit_lines(text: str, edit_line: Callable[[str], str]) -> str:
    """Apply ``edit_line`` to every line that is not a field ("Name: value") or the continuation of one."""
    out = []
    in_field = False
    for line in text.split("\n"):
        if _FIELD.match(line):
            in_field = True
        elif in_field and line[:1] in (" ", "\t") and line.strip():
            pass
        else:
            in_field = False
            line = edit_line(line)
        out.append(line)
    return "\n".join(out)


# An address in angle brackets (but not an SMTP command's argument, "RCPT TO:<a>"), or a bare one standing as a
# word of its own (not inside a URL or a longer token).
_BARE = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_ANGLED_OR_BARE = re.compile(rf"(?<!:)<({_ADDR})>|(?<![^\s(\[,;])({_BARE})(?![^\s)\],;.!?])")
_LABEL = re.compile(rf"(?<!:)<({_ADDR})>:|(?<![^\s(\[,;])({_BARE}):")
# protocol text quoted verbatim: a session transcript, or a line that starts with a server's reply code
_VERBATIM = re.compile(r"^\s*(?:<<<|>>>|[245]\d\d[ -])")


def _swap_quotes(line: str) -> str:
    if _VERBATIM.match(line):
        return line
    return _ANGLED_OR_BARE.sub(lambda m: f'"{m.group(1)}"' if m.group(1) else f"<{m.group(2)}>", line)


def _swap_label(line: str) -> str:
    if _VERBATIM.match(line):
        return line
    return _LABEL.sub(lambda m: f"{m.group(1)}:" if m.group(1) else f"<{m.group(2)}>:", line)


def _text_edit(edit_text: Callable[[str], str], doc: str, *, utf8: bool = False) -> Callable[[Message], bool]:
    """An edit of the notice's plain text parts, in their own charset and transfer encoding, or with ``utf8`` sent as
    UTF-8 (quoted-printable), for characters the part's charset may lack."""

    def edit(msg: Message) -> bool:
        changed = False
        for part in _plain_parts(msg):
            got = _text(part)
            if got is not None and got[0].lstrip()[:1] in ("{", "["):
                continue  # structured data (JSON), not prose: its quoting and line breaks are syntax
            if not utf8:
                changed = _edit_text(part, edit_text) or changed
                continue
            if got is None:
                continue
            new = edit_text(got[0])
            if new != got[0]:
                _set_body(part, new.encode("utf-8", "surrogateescape"), "quoted-printable")
                part.set_param("charset", "utf-8")
                changed = True
        return changed

    edit.__doc__ = doc
    return edit


# re-wrapping: only prose. A line that is a field, a transcript line, quoted, a rule, a bare address or starts with
# a reply code keeps its place; so do lines too short to have been wrapped.
# (a line of a session log starts with its time stamp: "Wed 2026-11-25 10:12:04: --> RCPT To:<...>")
_NOT_PROSE = re.compile(rf"^\s*(?:[>|*=#-]|\.\.\.|<<<|>>>|\d{{3}}(?:[ :-]|$)|<?{_ADDR}>?:?\s*$|"
                        rf"(?:[A-Z][a-z]{{2}}\s+)?\d{{4}}-\d\d-\d\d[ T]\d\d:\d\d)")
_RECORD = re.compile(rf"^\s*<?{_ADDR}>?")  # a line that starts with an address, unless indented, starts a record
_WRAPPED = 55  # a line at least this long, followed by another of the same paragraph, was wrapped there
_WIDTH = 50  # the width paragraphs are re-broken to


def _paragraphs(lines: list[str]) -> Iterator[tuple[int, int]]:
    """(start, end) of runs of prose lines that were wrapped: every line but the last at least ``_WRAPPED`` long,
    the lines after the first equally indented."""
    i = 0
    in_field = False
    while i < len(lines):
        line = lines[i]
        if _FIELD.match(line) or (in_field and line[:1] in (" ", "\t") and line.strip()):
            in_field = True
            i += 1
            continue
        in_field = False
        if not line.strip() or _NOT_PROSE.match(line):
            i += 1
            continue
        j = i + 1
        indent = None
        while j < len(lines) and len(lines[j - 1].rstrip()) >= _WRAPPED:
            nxt = lines[j]
            ind = len(nxt) - len(nxt.lstrip())
            if not nxt.strip() or _FIELD.match(nxt) or _NOT_PROSE.match(nxt):
                break
            first = len(lines[i]) - len(lines[i].lstrip())
            if _RECORD.match(nxt) and ind <= first:
                break  # a record of its own, not the indented continuation of this one
            if first and ind > first:
                break  # an indented block's details (Exim's "host ..." under the address), not a wrap
            if indent is not None and ind != indent:
                break
            indent = ind
            j += 1
        yield i, j
        i = j


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _join(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    last = 0
    for start, end in _paragraphs(lines):
        out.extend(lines[last:start])
        if end - start > 1:
            out.append(_indent(lines[start]) + " ".join(w.strip() for w in lines[start:end]))
        else:
            out.append(lines[start])
        last = end
    out.extend(lines[last:])
    return "\n".join(out)


_REPLY_THEN_STATUS = re.compile(r"^[245]\d\d$")
_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}\W?$")


def _break(words: list[str], first: str, rest: str) -> list[str]:
    """Words filled into lines of at most ``_WIDTH``, split only between words; a line runs longer where a single
    word does, or where the next word holds an address."""
    lines: list[str] = []
    current = first + words[0]
    for word in words[1:]:
        # an address never starts a continuation line: there it would look like a record of its own
        if len(current) + 1 + len(word) <= _WIDTH or "@" in word:
            current += " " + word
        else:
            lines.append(current)
            current = rest + word
    lines.append(current)
    return lines


def _narrow(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    last = 0
    for start, end in _paragraphs(lines):
        out.extend(lines[last:start])
        block = lines[start:end]
        if max(len(b.rstrip()) for b in block) > _WIDTH:
            first = _indent(block[0])
            rest = _indent(block[1]) if len(block) > 1 else first
            if rest == first and _RECORD.match(block[0]):
                rest = first + "    "  # a record's continuation hangs below it, as MTAs write them
            words = " ".join(b.strip() for b in block).split()
            out.extend(_keep_codes_together(_break(words, first, rest)))
        else:
            out.extend(block)
        last = end
    out.extend(lines[last:])
    return "\n".join(out)


def _keep_codes_together(lines: list[str]) -> list[str]:
    """Move a reply code that ended a line to the start of the next when that starts with an enhanced code."""
    for i in range(len(lines) - 1):
        head, _, tail_word = lines[i].rstrip().rpartition(" ")
        nxt = lines[i + 1]
        if head.strip() and _REPLY_THEN_STATUS.match(tail_word) and _STATUS.match(nxt.strip().split(" ", 1)[0]):
            lines[i] = head
            indent = _indent(nxt)
            lines[i + 1] = f"{indent}{tail_word} {nxt.strip()}"
    return lines


# --------------------------------------------------------------------------------------------------- the table

rewritten = _structural(lambda msg: True)
rewritten.__doc__ = "Read and written back by the standard library, unchanged: header folding and MIME layout."

def _body_as_written(part: Message) -> str:
    """A part's body as it is written out, without the part's own headers."""
    flat = _flatten(part).decode("ascii", "surrogateescape")
    return flat.split("\n\n", 1)[1] if "\n\n" in flat else ""


def _dsn_as_text(msg: Message) -> bool:
    """The delivery-status part sent as a text/plain part holding the same fields, as some MTAs send it; only in a
    notice whose own words come first in a text part."""
    if not _plain_parts(msg):
        return False
    changed = False
    for parent in _containers(msg):
        for part in _children(parent):
            if _ctype(part) in _DSN_TYPES:
                part.set_payload(_body_as_written(part))
                part.set_type("text/plain")
                changed = True
    return changed


def _no_break_spaces(text: str) -> str:
    """Every other space between two words of a line that is not a field made a no-break space."""
    out = []
    for line in text.split("\n"):
        if _FIELD.match(line):
            out.append(line)
            continue
        pieces = re.split(r"(?<=\S) (?=\S)", line)
        seps = ["\xa0" if n % 2 else " " for n in range(len(pieces) - 1)] + [""]
        out.append("".join(p + sep for p, sep in zip(pieces, seps, strict=True)))
    return "\n".join(out)


def _curly(text: str) -> str:
    return text.replace("'", "\u2019")


def _one_text(msg: Message) -> bool:
    """A multipart/report made one text/plain message, as some gateways write theirs: the notice's words, its
    delivery-status fields, then the original's headers under a marker line."""
    if _ctype(msg) != "multipart/report":
        return False
    texts: list[str] = []
    fields: list[str] = []
    headers: list[str] = []
    for part in _children(msg):
        ctype = _ctype(part)
        if ctype == "text/plain":
            got = _text(part)
            if got is None:
                return False
            texts.append(got[0])
        elif ctype in _DSN_TYPES:
            fields.append(_body_as_written(part))
        elif ctype in _ORIGINAL_TYPES:
            headers.append(_body_as_written(part).split("\n\n")[0])
        else:
            return False
    if not texts or not fields:
        return False
    body = "\n\n".join(texts) + "\n\n" + "\n\n".join(fields)
    if headers:
        body += "\n\n----- Original message -----\n\n" + "\n\n".join(headers)
    for name in ("Content-Type", "Content-Transfer-Encoding"):
        del msg[name]
    msg["Content-Type"] = 'text/plain; charset="utf-8"'
    msg["Content-Transfer-Encoding"] = "8bit"
    msg.set_payload((body + "\n").encode("utf-8", "surrogateescape").decode("ascii", "surrogateescape"))
    return True


def _tabs(text: str) -> str:
    """Indentation of four spaces written as a tab (eight columns: the block structure is kept)."""
    return "\n".join(re.sub(r"^(?:    )+", lambda m: "\t" * (len(m.group(0)) // 4), line) for line in text.split("\n"))


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _as_html(msg: Message) -> bool:
    """The notice's plain text sent as HTML instead, as many providers send theirs: each plain part becomes a
    text/html part, its text escaped, each line ended with <br> and its indentation kept as &nbsp;; only where the
    notice has no HTML part of its own."""
    parts = [p for p in _plain_parts(msg) if (_text(p) or ("{",))[0].lstrip()[:1] not in ("{", "[")]
    if not parts or any(_ctype(p) == "text/html" for p in _notice_parts(msg)):
        return False

    def to_html(text: str) -> str:
        lines = []
        for line in text.split("\n"):
            body = line.lstrip(" ")
            lines.append("&nbsp;" * (len(line) - len(body)) + html.escape(body, quote=False) + "<br>")
        return "<html><body>\n" + "\n".join(lines) + "\n</body></html>\n"

    changed = False
    for part in parts:
        if _edit_text(part, to_html):
            part.set_type("text/html")
            changed = True
    return changed


VARIANTS: dict[str, Variant] = {
    "rewritten": rewritten,
    "neutral-subject": _structural(_neutral_subject),
    "neutral-from": _structural(_neutral_from),
    "neutral-headers": _structural(_neutral_headers),
    "base64": _structural(_reencode("base64")),
    "quoted-printable": _structural(_reencode("quoted-printable")),
    "boundaries": rename_boundaries,
    "crlf": _line_endings(b"\r\n"),
    "cr": _line_endings(b"\r"),
    "no-dsn": _structural(_remove_dsn),
    "no-original": _structural(_remove_original),
    "requote": _structural(_text_edit(lambda t: _edit_lines(t, _swap_quotes),
                                      'In the notice\'s plain text, <a> becomes "a" and a bare a becomes <a>.')),
    "requote-label": _structural(_text_edit(lambda t: _edit_lines(t, _swap_label),
                                            "In the notice's plain text, <a>: becomes a: and a: becomes <a>:.")),
    "rewrap-join": _structural(_text_edit(_join, "Wrapped prose paragraphs of the notice joined into one line.")),
    "rewrap-narrow": _structural(_text_edit(_narrow, f"Prose paragraphs of the notice re-broken at {_WIDTH}.")),
    "html-only": _structural(_as_html),
    "dsn-as-text": _structural(_dsn_as_text),
    "one-text": _structural(_one_text),
    "tab-indent": _structural(_text_edit(_tabs, "In the notice's plain text, each four spaces of indentation become a "
                                                "tab.")),
    "no-break-spaces": _structural(_text_edit(_no_break_spaces, "In the notice's plain text, every other space "
                                                                "between words becomes a no-break space (sent as "
                                                                "UTF-8).", utf8=True)),
    "curly-quotes": _structural(_text_edit(_curly, "In the notice's plain text, each ' becomes a curly \u2019 (sent "
                                                   "as UTF-8).", utf8=True)),
    "quoted": _structural(_text_edit(_quote, 'Every line of the notice\'s plain text quoted with "> ", as in a '
                                             "reply.")),
}
