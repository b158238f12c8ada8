"""A MIME reader that builds exactly the ``email.message.Message`` tree the standard library's feed parser builds with
``policy.compat32``, for the common shapes of a message, with whole-string operations instead of a line at a time.

The feed parser reads a line at a time and stops a part at the first line that matches the boundary of any
multipart the part is inside (or, inside message/delivery-status, at a blank line). Here each part is given the
region of the text it can see, found with ``str.find``: a multipart looks only for its own boundary lines in its
region, because lines of any enclosing boundary are already outside it. What the feed parser does on the way —
which newline belongs to a boundary, what becomes preamble and epilogue, the empty header blocks a run of blank lines
makes in a delivery-status part, the defects it records — is done the same way here.

Input this reader does not reproduce exactly (carriage returns, an envelope "From " line after the first header
line, a header block that starts with a continuation line or has a line starting with a colon, a boundary folded over
two lines, two boundary lines in a row, a header block with a type of its own in a delivery-status part, nesting
deeper than ``MAX_DEPTH``) raises ``Uncommon`` naming the case, and the caller parses it with the feed parser
instead.
"""

from __future__ import annotations

import email.errors
import re
from collections.abc import Iterator
from email.message import Message
from email.utils import unquote
from typing import Any

try:  # where the standard library defines it: email.policy re-exports it, but importing that costs a few ms
    from email._policybase import compat32 as compat32  # the policy of every message built here and by the feed parser
except ImportError:  # pragma: no cover - another Python
    from email.policy import compat32 as compat32

MAX_DEPTH = 20  # messages inside messages; deeper ones go to the feed parser (which has its own recursion limit)


# a run of complete header lines, as the feed parser's headerRE tells them: "name:" (printable ASCII without a colon
# or a space, possibly empty) or a continuation starting with a space or tab; "From " lines end the run
_HEADER_LINES = re.compile(r"(?:[\041-\071\073-\176]*:[^\n]*\n|[\t ][^\n]*\n)*")
# a header line that is the input's last, without a line break
_LAST_HEADER_LINE = re.compile(r"[\041-\071\073-\176]*:|[\t ]")
# one header with its continuation lines: compat32 keeps the name as written and the value with its first line's
# leading spaces and tabs stripped and its trailing line break removed (continuation line breaks stay)
_FIELD = re.compile(r"([\041-\071\073-\176]*):[ \t]*([^\n]*(?:\n[\t ][^\n]*)*)\n?")


HEADER_CACHE = "_bounce_analyzer_headers"  # the attribute of a message that holds its fields by name


def raw_fields(msg: Message) -> dict[str, str]:
    """Lower-cased header name → first raw value, built once per message (``Message.get`` scans every header, and
    so would a lookup here by each name)."""
    cache: dict[str, str] | None = msg.__dict__.get(HEADER_CACHE)
    if cache is None:
        cache = {}
        try:
            for name, value in msg.raw_items():
                cache.setdefault(name.lower(), value)
        except Exception:
            pass
        msg.__dict__[HEADER_CACHE] = cache
    return cache


# What Message.get, get_content_type and get_boundary give, read straight from the header list the reader built: the
# standard methods go through the policy and rebuild the parameter list on every call. A value with bytes outside
# ASCII (which compat32 turns into a Header object) or an RFC 2231 parameter or a backslash (which the standard
# library unescapes in steps) is left to the standard methods.
def _field(msg: Any, name: str) -> str | None:
    """The first raw value of the header ``name`` (lower case), ``None`` when absent: what compat32's ``get`` gives
    for a value in ASCII."""
    value = raw_fields(msg).get(name)
    return None if value is None else str(value)


def _content_type(msg: Any) -> str:
    value = _field(msg, "content-type")
    if value is None:
        return str(msg.get_default_type())
    if not value.isascii():
        return str(msg.get_content_type())
    ctype = value.partition(";")[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


def _boundary(msg: Any) -> str | None:
    value = _field(msg, "content-type")
    if value is None:
        return None
    if not value.isascii() or "\\" in value or "*" in value:
        return msg.get_boundary()  # type: ignore[no-any-return]
    # the parameters as email.message._parseparam splits them: at semicolons outside double quotes
    rest = ";" + value
    while rest[:1] == ";":
        rest = rest[1:]
        end = rest.find(";")
        while end > 0 and rest.count('"', 0, end) % 2:
            end = rest.find(";", end + 1)
        if end < 0:
            end = len(rest)
        name, _, param = rest[:end].partition("=")
        rest = rest[end:]
        if name.strip().lower() == "boundary":
            # unquoted once when the parameters are decoded and once more when the boundary is read
            return unquote(unquote(param.strip())).rstrip()
    return None


class Uncommon(Exception):
    """The input has a shape this reader leaves to the feed parser; the message says which."""


def read_message(text: str) -> Message:
    """The message tree of ``text`` (bytes decoded as ASCII with surrogate escapes, as ``message_from_bytes`` does).
    Raises ``Uncommon`` for input whose tree this reader would not build exactly as the feed parser does."""
    if "\r" in text:
        raise Uncommon("carriage return")
    root = _part(text, 0, len(text), False, 0)[0]
    if _content_type(root).startswith("multipart/") and not root.is_multipart():
        root.defects.append(email.errors.MultipartInvariantViolationDefect())
    return root


def _part(text: str, pos: int, stop: int, in_digest: bool, depth: int) -> tuple[Message, Message, bool]:
    """The message in ``text[pos:stop]``, the message the feed parser made last while reading it (the one whose
    trailing line break a following boundary takes), and whether that one is a multipart."""
    if depth > MAX_DEPTH:
        raise Uncommon("deep nesting")
    msg: Any = Message(compat32)  # Any: the private attributes the feed parser sets are set here too
    if in_digest:
        msg.set_default_type("message/rfc822")
    body = _headers(msg, text, pos, stop)
    ctype = _content_type(msg)
    if ctype == "message/delivery-status":
        return _delivery_status(msg, text, body, stop)
    maintype = ctype.split("/", 1)[0]
    if maintype == "message":
        inner, last, multipart = _part(text, body, stop, False, depth + 1)
        msg._payload = [inner]
        return msg, last, multipart
    if maintype == "multipart":
        _multipart(msg, ctype, text, body, stop, depth)
        return msg, msg, True
    msg._payload = text[body:stop]
    return msg, msg, False


def _headers(msg: Any, text: str, pos: int, stop: int) -> int:
    """Reads the header block at ``pos`` into ``msg``; returns where the body starts."""
    if text.startswith("From ", pos, stop):  # an envelope line, as the first header line only
        nl = text.find("\n", pos, stop)
        end = stop if nl < 0 else nl
        msg.set_unixfrom(text[pos:end])
        pos = stop if nl < 0 else nl + 1
    m = _HEADER_LINES.match(text, pos, stop)
    assert m is not None  # the pattern matches the empty string
    end = body = m.end()
    if end < stop:
        if text[end] == "\n":  # the blank line between headers and body
            body = end + 1
        elif text.startswith("From ", end, stop):
            raise Uncommon("misplaced envelope line")
        elif text.find("\n", end, stop) < 0 and _LAST_HEADER_LINE.match(text, end, stop):
            end = body = stop  # a header line ending the input without a line break
        else:  # a line that is no header starts the body
            msg.defects.append(email.errors.MissingHeaderBodySeparatorDefect())
    if pos < end:
        # every line up to ``end`` is a header or a continuation, so the fields follow one another
        if text[pos] in " \t":
            raise Uncommon("header block starts with a continuation line")
        if text[pos] == ":" or text.find("\n:", pos, end) >= 0:
            raise Uncommon("header line starting with a colon")
        msg._headers = _FIELD.findall(text, pos, end)
    return body


def _trim_last(last: Any, multipart: bool) -> None:
    """The line break before a boundary belongs to the boundary: the feed parser takes it off the payload (or, for a
    multipart, the epilogue) of the message it made last."""
    if multipart:
        epilogue = last.epilogue
        if epilogue == "":
            last.epilogue = None
        elif epilogue is not None and epilogue.endswith("\n"):
            last.epilogue = epilogue[:-1]
    else:
        payload = last._payload
        if isinstance(payload, str) and payload.endswith("\n"):
            last._payload = payload[:-1]


def _multipart(msg: Any, ctype: str, text: str, body: int, stop: int, depth: int) -> None:
    boundary = _boundary(msg)
    if boundary is None:
        msg.defects.append(email.errors.NoBoundaryInMultipartDefect())
        msg._payload = text[body:stop]
        return
    if "\n" in boundary:  # from a folded header: no line is that boundary, but a search of the text may find it
        raise Uncommon("line break in a boundary")
    cte = _field(msg, "content-transfer-encoding")
    if cte is not None and not cte.isascii():
        cte = str(msg.get("content-transfer-encoding"))
    if ("8bit" if cte is None else cte).lower() not in ("7bit", "8bit", "binary"):
        msg.defects.append(email.errors.InvalidMultipartContentTransferEncodingDefect())
    lines = _boundary_lines("--" + boundary, text, body, stop)
    first = next(lines, None)
    if first is None or first[2]:  # no boundary, or only a closing one: everything up to it is the payload
        msg.defects.append(email.errors.StartBoundaryNotFoundDefect())
        msg._payload = text[body:stop if first is None else first[0]]
        msg.epilogue = ""
        return
    if first[0] > body:
        msg.preamble = text[body:first[0] - 1]  # without the line break that belongs to the boundary
    digest = ctype == "multipart/digest"
    parts: list[Message] = []
    msg._payload = parts
    start = first[1]
    while True:
        nxt = next(lines, None)
        if nxt is not None and nxt[0] == start:
            raise Uncommon("boundary lines in a row")
        part, last, multipart = _part(text, start, stop if nxt is None else nxt[0], digest, depth + 1)
        parts.append(part)
        _trim_last(last, multipart)
        if nxt is None:
            msg.defects.append(email.errors.CloseBoundaryNotFoundDefect())
            return
        if nxt[2]:
            msg.epilogue = text[nxt[1]:stop]
            return
        start = nxt[1]


def _boundary_lines(separator: str, text: str, pos: int, stop: int) -> Iterator[tuple[int, int, bool]]:
    """Each line in ``text[pos:stop]`` that is ``separator``, optionally followed by "--", then spaces or tabs:
    (start, end after its line break, closing?)."""
    n = len(separator)
    while True:
        i = text.find(separator, pos, stop)
        if i < 0:
            return
        nl = text.find("\n", i, stop)
        end = stop if nl < 0 else nl
        if i == 0 or text[i - 1] == "\n":
            rest = text[i + n:end].rstrip(" \t")
            if rest == "" or rest == "--":
                yield i, (stop if nl < 0 else nl + 1), rest == "--"
        pos = end if nl < 0 else nl + 1
        if nl < 0:
            return


def _delivery_status(msg: Any, text: str, pos: int, stop: int) -> tuple[Message, Message, bool]:
    """message/delivery-status: blocks of headers, each a message, separated by blank lines; each blank line after
    the first in a run makes an empty block."""
    blocks: list[Message] = []
    msg._payload = blocks
    while True:
        if pos < stop and text[pos] == "\n":
            blank = pos
        else:
            blank = text.find("\n\n", pos, stop)
            blank = stop if blank < 0 else blank + 1
        block: Any = Message(compat32)
        body = _headers(block, text, pos, blank)
        if _content_type(block).startswith(("multipart/", "message/")):
            raise Uncommon("typed header block in a delivery-status part")
        block._payload = text[body:blank]
        blocks.append(block)
        if blank >= stop or blank + 1 >= stop:  # the end of the part, right after the block or its blank line
            return msg, block, False
        pos = blank + 1

