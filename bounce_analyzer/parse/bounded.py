"""Time-limited regular expressions for untrusted text.

Every pattern that runs on message text goes through here, so that no input can make a pattern run for long: the
``regex`` package stops a match after ``timeout`` seconds with the built-in ``TimeoutError``, which the analyzer
turns into a problem on the report.
"""

from __future__ import annotations

import re
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
    """A pattern that is only run on texts holding the literals it cannot match without: one string of each set
    of ``gates`` (given sets come first, then those read from the pattern)."""

    __slots__ = ("gates", "pattern")

    def __init__(self, pattern: str, flags: int = 0, gates: tuple[str, ...] | None = None) -> None:
        self.pattern = compile(pattern, flags)
        found = PATTERNS.gates(pattern)
        given = frozenset(gates or ())
        self.gates: tuple[frozenset[str], ...] = (given, *(g for g in found if g != given)) if given else found

    def search(self, text: str, low: str) -> Match | None:
        """Search ``text``; ``low`` is the same text lower-cased, for the cheap test."""
        return search(self.pattern, text) if holds(self.gates, low) else None


def holds(gates: tuple[frozenset[str], ...], low: str) -> bool:
    """Whether a lower-cased text holds one string of each set."""
    return all(any(map(low.__contains__, gate)) for gate in gates)


# what makes a pattern's width vary or its matching backtrack: repetition, groups, alternatives
_NOT_FIXED = re.compile(r"(?<!\\)[*+?{}|()]")


class Needing:
    """A pattern run only on texts that hold ``need``, a piece every match of it contains: a fixed-width pattern (no
    repetition, group or alternative, checked here), which the standard library's ``re`` finds in linear time with no
    time limit. The time limit reads the process's CPU clock twice a call, which costs more than most searches of a
    short text, so a text that cannot match is turned away before it."""

    __slots__ = ("_need", "pattern")

    def __init__(self, pattern: str, flags: int = 0, *, need: str) -> None:
        if _NOT_FIXED.search(need):
            raise ValueError(f"not a fixed-width piece: {need!r}")
        self.pattern = compile(pattern, flags)
        self._need = re.compile(need, re.IGNORECASE if flags & I else 0).search

    def search(self, text: str, pos: int = 0) -> Match | None:
        return search(self.pattern, text, pos) if self._need(text, pos) else None

    def match(self, text: str) -> Match | None:
        return match(self.pattern, text) if self._need(text) else None

    def finditer(self, text: str) -> Iterator[Match]:
        return finditer(self.pattern, text) if self._need(text) else iter(())


def search(pattern: Pattern, text: str, pos: int = 0) -> Match | None:
    return pattern.search(text, pos, timeout=TIMEOUT.get())


def match(pattern: Pattern, text: str) -> Match | None:
    return pattern.match(text, timeout=TIMEOUT.get())


def finditer(pattern: Pattern, text: str) -> Iterator[Match]:
    return pattern.finditer(text, timeout=TIMEOUT.get())


def sub(pattern: Pattern, repl: str, text: str) -> str:
    return pattern.sub(repl, text, timeout=TIMEOUT.get())
