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

ADDR = r"[\w.%+=/'&!#$*?^{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"
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
