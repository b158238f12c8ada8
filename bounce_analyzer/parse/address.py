"""Mail addresses in text: one pattern for every reader, one way to clean what it finds, one way to read the
addresses of a header.

The pattern takes what servers write in notices (dots, plus and equals signs, slashes, quotes in the local part;
an internationalised domain as its labels) and is bounded, so it runs in linear time. Structured fields
(``Final-Recipient: rfc822; <a@example.net>``) are read by ``address_of``, which also takes forms the pattern does
not (a quoted local part, UTF-8 xtext).
"""

from __future__ import annotations

from . import bounded as rx
from .dsn import address_of

__all__ = ["ADDR", "PATTERN", "address_of", "clean", "in_header"]

# a letter or digit of an address, but for ideographs, kana and hangul: notices in Chinese, Japanese and Korean write
# their words against an address with no space ("您发送给wei@example.org的邮件"), and an address written in those
# scripts is rare enough in a notice not to be worth the words it would swallow
_CHAR = r"[^\W\u2E80-\u9FFF\uA960-\uA97F\uAC00-\uD7FF\uF900-\uFAFF\uFF00-\uFFEF]"
ADDR = rf"(?:{_CHAR}|[.%+=/'&!#$*?^{{|}}~-]){{1,64}}@(?:{_CHAR}|-){{1,63}}(?:\.(?:{_CHAR}|-){{1,63}}){{1,8}}"
PATTERN = rx.compile(ADDR)


def clean(address: str) -> str:
    """An address as found in text, without the quotes and the full stop around it, lower-cased."""
    return address.strip(".'\"").lower()


def in_header(value: str, pattern: rx.Pattern = PATTERN) -> set[str]:
    """Every address a header value (or any text) names; ``pattern`` may put a context around the address, whose
    last group is then the address."""
    found = {address_of(m.group(m.lastindex or 0)) for m in rx.finditer(pattern, value)}
    found.discard("")
    return found
