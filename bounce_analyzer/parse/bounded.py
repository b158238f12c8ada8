"""Time-limited regular expressions for untrusted text.

Every pattern that runs on message text goes through here, so that no input can make a pattern run for long: the
``regex`` package stops a match after ``timeout`` seconds with the built-in ``TimeoutError``, which the analyzer
turns into a problem on the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from typing import TypeAlias, cast

import regex

from ..cache import PATTERNS

TIMEOUT: ContextVar[float] = ContextVar("regex_timeout", default=0.5)

I = regex.IGNORECASE  # noqa: E741 (the flag names of the re module)
M = regex.MULTILINE
S = regex.DOTALL

Pattern: TypeAlias = "regex.Pattern[str]"
Match: TypeAlias = "regex.Match[str]"


def compile(pattern: str, flags: int = 0) -> Pattern:
    """The compiled pattern, read from the cache of compiled patterns when it is there (see ``cache``)."""
    return cast(Pattern, PATTERNS.compile(pattern, flags | regex.VERSION0))


class Gated:
    """A pattern that is only run on texts holding one of the literals it cannot match without."""

    __slots__ = ("gates", "pattern")

    def __init__(self, pattern: str, flags: int = 0, gates: tuple[str, ...] | None = None) -> None:
        self.pattern = compile(pattern, flags)
        self.gates = frozenset(gates) if gates else PATTERNS.literals(pattern)

    def search(self, text: str, low: str) -> Match | None:
        """Search ``text``; ``low`` is the same text lower-cased, for the cheap test."""
        if self.gates is not None and not any(map(low.__contains__, self.gates)):
            return None
        return search(self.pattern, text)


def search(pattern: Pattern, text: str, pos: int = 0) -> Match | None:
    return pattern.search(text, pos, timeout=TIMEOUT.get())


def match(pattern: Pattern, text: str) -> Match | None:
    return pattern.match(text, timeout=TIMEOUT.get())


def finditer(pattern: Pattern, text: str) -> Iterator[Match]:
    return pattern.finditer(text, timeout=TIMEOUT.get())


def sub(pattern: Pattern, repl: str, text: str) -> str:
    return pattern.sub(repl, text, timeout=TIMEOUT.get())
