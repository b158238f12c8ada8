"""Bytes to a parsed message, and helpers that read headers and text parts without ever raising.

A message is the tree the standard library's ``email`` feed parser builds with ``policy.compat32``, which never
raises on damaged input: ``mime.py`` builds that same tree for the common shapes of a message with whole-string
operations, and the feed parser itself reads the rest. Everything here is defensive about what it gets back:
headers may hold raw 8-bit bytes, charsets may be unknown, payloads may be truncated.
"""

from __future__ import annotations

import binascii
import email
import email.feedparser
import email.header
import re
from collections.abc import Iterator
from email.message import Message
from typing import Any

import regex

from bounce_analyzer.parse.mime import Uncommon, compat32, raw_fields, read_message

ORIGINAL_TYPES = frozenset({"message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global",
                            "message/global-headers", "text/rfc822-header"})
DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})

CHARSET_ALIASES = {
    "x-unknown": "latin-1", "unknown-8bit": "latin-1", "us-ascii": "ascii", "ascii": "ascii",
    "iso-8859-8-i": "iso-8859-8", "ks_c_5601-1987": "cp949", "x-sjis": "shift_jis", "sjis": "shift_jis",
    "shift-jis": "shift_jis", "gb2312": "gbk", "x-gbk": "gbk", "windows-874": "cp874", "utf8": "utf-8",
    "iso-2022-jp-ms": "iso2022_jp_ext", "cp932": "cp932", "x-mac-roman": "mac_roman", "ansi_x3.4-1968": "ascii",
}


def normalise_newlines(raw: bytes) -> bytes:
    """CRLF and CR-only line endings to LF, so that every later stage sees one kind."""
    if b"\r" not in raw:
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


class _Lines(email.feedparser.BufferedSubFile):  # type: ignore[name-defined,misc]
    """The standard parser's line buffer, which tests every line against the boundary of every multipart the line is
    inside: that takes time in the number of lines times the depth of nesting (200 nested multiparts made a 1 MB
    message take 2 s). A line stops the part it is in when any of the tests matches it; the tests are a blank line
    and "--BOUNDARY" (with optional "--" and spaces after it), so a set of the boundaries tells at once."""

    def __init__(self) -> None:
        super().__init__()
        self._seps: list[str | None] = []  # what each matcher on the stack looks for; "" a blank line, None unknown
        self._count: dict[str | None, int] = {}

    def push_eof_matcher(self, pred: Any) -> None:
        super().push_eof_matcher(pred)
        m = _SEP.match(getattr(getattr(pred, "__self__", None), "pattern", "") or "")
        sep = None if m is None else "" if m.group(1) is None else _UNESCAPE.sub(r"\1", m.group(1))
        self._seps.append(sep)
        self._count[sep] = self._count.get(sep, 0) + 1

    def pop_eof_matcher(self) -> Any:
        sep = self._seps.pop()
        self._count[sep] -= 1
        if not self._count[sep]:
            del self._count[sep]
        return super().pop_eof_matcher()

    def readline(self) -> Any:
        lines = self._lines
        if not lines or None in self._count:  # nothing buffered, or a test of a kind not known here
            return super().readline()
        line = lines.popleft()
        if line[:1] in ("\r", "\n"):
            hit = "" in self._count
        else:
            # a boundary is "--" and more: a line of spaces, or "--" alone, is no blank line
            core = line.rstrip("\r\n").rstrip(" \t")
            hit = core != "" and (core in self._count
                                  or (len(core) > 2 and core.endswith("--") and core[:-2] in self._count))
        if hit:  # the end of this part: the line is read again by the part it ends
            lines.appendleft(line)
            return ""
        return line


# the boundary matcher's pattern as the standard parser writes it, and its escapes; the blank-line matcher
# (``\r\n|\r|\n``) looks for "" here, which no line left after the test for line breaks above can be
_SEP = re.compile(r"\(\?P<sep>(.*)\)\(\?P<end>--\)\?\(\?P<ws>\[ \\t\]\*\)\(\?P<linesep>\\r\\n\|\\r\|\\n\)\?\$\Z"
                  r"|\\r\\n\|\\r\|\\n()\Z", re.S)
_UNESCAPE = re.compile(r"\\(.)", re.S)


def parse_bytes(raw: bytes) -> Message:
    """The message as the standard library's feed parser reads it with compat32 (``message_from_bytes``): read by
    ``mime.read_message`` when it can build the same tree, else by the feed parser itself."""
    text = raw.decode("ascii", "surrogateescape")  # as message_from_bytes does
    try:
        return read_message(text)
    except Uncommon:
        return feed_parse(text)


def feed_parse(text: str) -> Message:
    """The standard library's feed parser (compat32) with the faster line buffer."""
    parser = email.feedparser.FeedParser(policy=compat32)
    parser._input = _Lines()  # type: ignore[attr-defined]
    parser.feed(text)
    return parser.close()


def parse_headers_text(text: str, limit: int = 64 * 1024) -> Message:
    """A block of headers (a text/rfc822-headers part, or headers quoted in a notice) as a message without a body.
    Reads up to the first blank line; lines that are not headers end the block too."""
    msg = Message()
    name = value = None
    for line in text[:limit].split("\n"):
        if line[:1] in (" ", "\t") and name is not None:
            value = f"{value}\n{line}"
            continue
        if name is not None:
            msg.set_raw(name, value)  # type: ignore[arg-type]
            name = None
        head, sep, rest = line.partition(":")
        if not sep or not head or " " in head or "\t" in head:
            break
        name, value = head, rest.lstrip(" \t")
    if name is not None:
        msg.set_raw(name, value)  # type: ignore[arg-type]
    return msg


# Charsets that senders declare by default whatever the bytes are: a part declared in one of them that holds 8-bit
# bytes forming valid UTF-8 is UTF-8 (Latin-1 text almost never forms valid multi-byte sequences by chance), and
# otherwise is read as Windows-1252, whose curly quotes and dashes sit where ISO-8859-1 has unused control codes.
_DEFAULT_CHARSETS = frozenset({"ascii", "latin-1", "iso-8859-1", "iso8859-1", "latin1", "l1", "iso_8859-1",
                               "windows-1252", "cp1252", "iso-8859-15", "latin-9"})


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes to text: the declared charset if Python knows it, else UTF-8, else Windows-1252 (which never fails).
    A part declared ASCII or Latin-1 that holds UTF-8 is read as UTF-8 (see _DEFAULT_CHARSETS)."""
    if charset:
        cs = charset.strip().strip('"').lower()
        cs = CHARSET_ALIASES.get(cs, cs)
        if cs in _DEFAULT_CHARSETS and not data.isascii():
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            if cs not in ("iso-8859-15", "latin-9"):
                try:
                    return data.decode("cp1252")
                except UnicodeDecodeError:
                    return data.decode("latin-1")
        try:
            return data.decode(cs)
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _unsurrogate(value: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogate escapes; turn them back into text."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return decode_bytes(value.encode("ascii", "surrogateescape"))


def decode_header_value(value: object) -> str:
    """A header value as text: RFC 2047 encoded words decoded, raw 8-bit bytes read as UTF-8 or Windows-1252."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        try:
            return str(value)
        except Exception:
            return decode_encoded_words(value.encode())
    text = _unsurrogate(str(value))
    if "=?" not in text:
        return text
    return decode_encoded_words(text)


# =?charset?B|Q?text?= (RFC 2047); the charset may carry an RFC 2231 language ("utf-8*en"). No part can hold a "?",
# so every match is found in one pass, whatever the text.
_ENCODED_WORD = regex.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")


def decode_encoded_words(text: str) -> str:
    """RFC 2047 decoding in one pass over the text, in time linear in its length (the standard library's
    ``decode_header`` joins the decoded words one by one, which takes quadratic time on a header of many words).

    Whitespace between two encoded words is dropped, and adjacent words in the same charset are decoded together
    (a multi-byte character may be split across them). A word that cannot be decoded stays as written."""
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    pos = 0
    after_word = False
    for m in _ENCODED_WORD.finditer(text):
        between = text[pos:m.start()]
        data = _decode_word(m.group(2), m.group(3))
        if data is None:  # not decodable: the word is plain text
            continue
        if between and not (after_word and between.isspace()):
            if pending:
                out.append(decode_bytes(b"".join(pending), pending_charset))
                pending = []
            out.append(between)
        charset = m.group(1).split("*", 1)[0].lower()
        if pending and charset != pending_charset:
            out.append(decode_bytes(b"".join(pending), pending_charset))
            pending = []
        pending.append(data)
        pending_charset = charset
        pos = m.end()
        after_word = True
    if pending:
        out.append(decode_bytes(b"".join(pending), pending_charset))
    out.append(text[pos:])
    return "".join(out)


def _decode_word(encoding: str, data: str) -> bytes | None:
    try:
        raw = data.encode("ascii")
    except UnicodeEncodeError:
        return None
    try:
        if encoding in "bB":
            raw = raw.strip()
            if len(raw) % 4 == 1:  # a stray character: what precedes it still decodes
                raw = raw[:-1]
            return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
        return binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return None


def header(msg: Message, name: str) -> str:
    """The first value of a header, decoded and unfolded; "" when absent or unreadable."""
    value = raw_fields(msg).get(name.lower())
    if not value:
        return ""
    if value.isascii() and "=?" not in value:  # nothing to decode: the common case
        return " ".join(value.split())
    return " ".join(decode_header_value(value).split())


def content_type(msg: Message) -> str:
    """The part's type as ``maintype/subtype`` in lower case; text/plain when missing or malformed (RFC 2045)."""
    cache = raw_fields(msg)
    ctype = cache.get("\0type")
    if ctype is None:
        value = cache.get("content-type")
        if value is None:
            ctype = msg.get_default_type()
        else:
            ctype = value.split(";", 1)[0].strip().lower()
            if ctype.count("/") != 1 or " " in ctype:
                ctype = "text/plain"
        cache["\0type"] = ctype
    return ctype


_PARAM = regex.compile(r';\s*([A-Za-z0-9_-]+)\s*=\s*"?([^";\s]*)')


def content_param(msg: Message, name: str) -> str:
    """A parameter of the Content-Type header (``report-type``, ``charset``), lower-cased; "" when absent."""
    value = raw_fields(msg).get("content-type") or ""
    if name not in value.lower():
        return ""
    for m in _PARAM.finditer(" ".join(value.split())):
        if m.group(1).lower() == name:
            return str(m.group(2)).lower()
    return ""


_ENCODINGS = frozenset({"quoted-printable", "base64", "x-uuencode", "uuencode", "uue", "x-uue"})


def part_bytes(part: Message) -> bytes:
    """The decoded body of a leaf part (transfer encoding undone), or b"" if there is none."""
    payload = part._payload  # type: ignore[attr-defined]
    if isinstance(payload, str) and (raw_fields(part).get("content-transfer-encoding") or "").lower() \
            not in _ENCODINGS:
        # nothing to undo (7bit, 8bit, binary, none or unknown): the bytes as read, as get_payload(decode=True)
        # gives them (text read from bytes holds ASCII and the surrogates that stand for other bytes)
        return payload.encode("ascii", "surrogateescape")
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        payload = part.get_payload()
    except (ValueError, LookupError):  # compat32 decodes raw 8-bit text with the declared charset, which may be junk
        return b""
    if isinstance(payload, str):
        return payload.encode("ascii", "surrogateescape")
    return b""


def part_text(part: Message) -> str:
    """The text of a part. A ``message/*`` part (whose payload compat32 parses into messages) is written back out as
    its header blocks and body, which is how a delivery-status part reads."""
    payload = part.get_payload() if part.is_multipart() else None  # a leaf's payload is only read as bytes
    if isinstance(payload, list):
        blocks = []
        for sub in payload:
            if isinstance(sub, Message):
                lines = [f"{k}: {decode_header_value(v)}" for k, v in sub.raw_items()]
                if not sub.is_multipart():
                    # bytes, not text: get_payload() would replace raw UTF-8 (RFC 6533) with question marks
                    body = decode_bytes(part_bytes(sub), "utf-8")
                    if body.strip():
                        lines.append("")
                        lines.append(body)
                blocks.append("\n".join(lines))
        return "\n\n".join(blocks)
    return decode_bytes(part_bytes(part), charset_of(part))


def charset_of(part: Message) -> str | None:
    """The charset parameter of the part's Content-Type, read straight from the header."""
    return content_param(part, "charset") or None


def walk(msg: Message, *, into_originals: bool = False) -> Iterator[Message]:
    """Every part of a message, depth first; the content of attached original messages only if asked."""
    stack = [msg]
    while stack:
        part = stack.pop()
        yield part
        ctype = content_type(part)
        if not into_originals and (ctype in ORIGINAL_TYPES or ctype in DSN_TYPES):
            continue
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
