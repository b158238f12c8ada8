"""Untrusted text made safe to show and to store.

Diagnostics, addresses, subjects, source ids and file names come from strangers. On a terminal, control characters
in them (ESC, BEL, backspace, C1 controls) would retitle the window, draw hyperlinks or hide text, so every line for
people shows them as visible escapes (``\\x1b``). JSON keeps the exact text, with those characters escaped the JSON way
(``\\u001b``). A file name that is not valid UTF-8 is held in Python with surrogate escapes (as ``os`` gives it), so no
byte is lost; JSON writes those as ``\\udcff`` (which reads back to the same name), people and the store see ``\\xff``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

# besides the C0 controls (which json.dumps escapes): characters that control a terminal or reorder text, and the
# surrogates that stand for bytes that are not UTF-8
_UNESCAPED = "\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"  # json.dumps leaves these
# compiled by the re module on first use (and kept in its cache): only text that is not ASCII needs them
_SURROGATES = "[\ud800-\udfff]"
_UNESCAPED_CLASS = f"[{_UNESCAPED}]"
_ONE_LINE = json.JSONEncoder(ensure_ascii=False, check_circular=False)  # made once (json.dumps makes one a call);
# a report is a tree of dicts and lists, never circular


def _visible(c: str) -> str:
    n = ord(c)
    if n < 0x100:
        return f"\\x{n:02x}"
    if 0xDC80 <= n <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it
        return f"\\x{n - 0xDC00:02x}"
    return f"\\u{n:04x}"


@cache
def _visible_table() -> dict[int, str]:
    """What ``for_terminal`` writes for each character it escapes; made on the first text that needs it (its 2,700
    entries took 1.5 ms of every start-up)."""
    return {n: _visible(chr(n)) for r in ((0, 0x20), (0x7F, 0xA0), (0x2028, 0x202A), (0x200E, 0x2010),
                                          (0x202A, 0x202F), (0x2066, 0x206A), (0xD800, 0xE000)) for n in range(*r)}


def for_terminal(text: str) -> str:
    """Text for a line that people read: every control character (newlines and tabs too: a value is one line) as a
    visible escape, and bytes that are not UTF-8 as ``\\xNN``."""
    if text.isprintable():
        return text
    return text.translate(_visible_table())


def no_surrogates(text: str) -> str:
    """Text that can be written as UTF-8 (to SQLite, to a CSV file): bytes that are not UTF-8 as ``\\xNN``."""
    if text.isascii() or not re.search(_SURROGATES, text):
        return text
    return re.sub(_SURROGATES, lambda m: _visible(m.group()), text)


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON that is valid UTF-8 and safe on a terminal, and reads back to exactly the same value: non-ASCII text as
    it is, but control characters, text-reordering marks and surrogates escaped as ``\\uXXXX``."""
    text = _ONE_LINE.encode(value) if indent is None else json.dumps(value, ensure_ascii=False, indent=indent)
    if text.isascii() or not re.search(_UNESCAPED_CLASS, text):
        return text
    # json.dumps escapes the C0 controls in strings (those outside are its own indentation); the rest can only stand
    # inside a string, where an escape means the same character
    return re.sub(_UNESCAPED_CLASS, lambda m: f"\\u{ord(m.group()):04x}", text)


# ---- for people on a terminal -------------------------------------------------------------------------------------

KIND_WORDS = {"failure": "failure", "delay": "delay", "success": "success", "autoreply": "automatic reply",
              "feedback": "complaint (feedback report)", "not_bounce": "not a bounce"}


def kind_words(kind: str) -> str:
    """A report's kind as a person says it ("not a bounce", not ``not_bounce``)."""
    return KIND_WORDS.get(str(kind), str(kind).replace("_", " "))


def wants_colour(stream: Any) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set to anything (no-color.org) or ``TERM=dumb``."""
    import os

    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


_SGR = {"hard": "31", "soft": "33", "bold": "1", "dim": "2", "ok": "32"}


class Paint:
    """ANSI colours for text of our own (never for text from a message, which ``for_terminal`` has made safe), or
    nothing when off."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, text: str, style: str | None) -> str:
        code = _SGR.get(style or "")
        if not self.on or code is None or not text:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"
