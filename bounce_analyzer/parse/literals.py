"""The literal strings a regular expression cannot match without: a cheap test that lets a rule's regex run only
on texts where it has a chance.

``required("\\\\bmailbox\\\\b.{0,40}\\\\bfull\\\\b")`` gives ``{"mailbox"}``: any text the pattern matches contains
"mailbox". ``required("spam|virus")`` gives ``{"spam", "virus"}``: any match contains one of them. When nothing
can be said for sure, the answer is None and the regex always runs. ``required_all`` gives every such set a match
must satisfy at once: ``required_all("address.{0,9}black-?listed")`` gives ``({"address"}, {"listed"}, {"black"})``,
a text lacking any one of them cannot match.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from operator import itemgetter
from typing import Any

import ahocorasick  # type: ignore[import-not-found]  # (an extension module without type information)

# The standard library's own regex parser reads the pattern; syntax only the regex package knows simply gets no
# shortcut (the pattern then always runs).
sre_parse: Any
C: Any
try:
    sre_parse = import_module("re._parser")
    C = import_module("re._constants")
except ImportError:  # pragma: no cover - other Pythons
    sre_parse = C = None

MIN = 2


def required(pattern: str) -> frozenset[str] | None:
    """Lower-cased strings of which every match contains at least one, or None."""
    if sre_parse is None:
        return None
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return None
    found = _seq(list(parsed))
    return frozenset(s.lower() for s in found) if found else None


def required_all(pattern: str, most: int = 3) -> tuple[frozenset[str], ...]:
    """Up to ``most`` sets of lower-cased strings such that every match contains one string of each set, the one
    ``required`` gives first (its strings are the longest); () when nothing can be said."""
    if sre_parse is None:
        return ()
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return ()
    found: list[frozenset[str]] = []
    for c in sorted(_candidates(list(parsed)), key=_shortest, reverse=True):  # a stable sort: ties keep their order
        lowered = frozenset(s.lower() for s in c)
        if lowered not in found:
            found.append(lowered)
    return tuple(found[:most])


def _shortest(c: set[str]) -> int:
    return min(len(s) for s in c)


def _seq(items: list[tuple[Any, Any]]) -> set[str] | None:
    candidates = _candidates(items)
    return max(candidates, key=_shortest) if candidates else None


def _candidates(items: list[tuple[Any, Any]]) -> list[set[str]]:
    """Sets of strings of which every match of this sequence contains one each."""
    candidates: list[set[str]] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= MIN:
            candidates.append({"".join(run)})
        run.clear()

    for op, av in items:
        if op is C.LITERAL:
            run.append(chr(av))
            continue
        flush()
        sub: set[str] | None = None
        if op is C.SUBPATTERN:
            sub = _seq(list(av[-1]))
        elif op is C.BRANCH:
            alts = [_seq(list(b)) for b in av[1]]
            if alts and all(alts):
                sub = set().union(*[a for a in alts if a])
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, _, body = av
            if low >= 1:
                sub = _seq(list(body))
        elif op is C.ATOMIC_GROUP if hasattr(C, "ATOMIC_GROUP") else False:
            sub = _seq(list(av))
        if sub:
            candidates.append(sub)
    flush()
    return candidates


class Finder:
    """Which of many strings occur in a text, found in one pass over it (an Aho-Corasick automaton, in C) rather than
    by a test of each string: the rules' 1,800 strings in about 4 µs for a reply of 170 characters, against 20 µs
    for a three-character index and a test of each string it names.

    The automaton takes about 2 ms to build for those strings (reading it back from the rules cache would take about
    as long, from a file some 750 KB larger), so it is built at the eighth text a process asks about: a command that
    reads one message tests the strings one by one on its few short texts instead."""

    __slots__ = ("_asked", "_automaton", "strings")

    def __init__(self, strings: Iterable[str]) -> None:
        self.strings = tuple(sorted(set(strings)))
        self._automaton: Any = None
        self._asked = 0

    def __getstate__(self) -> tuple[str, ...]:
        return self.strings

    def __setstate__(self, state: tuple[str, ...]) -> None:
        self.strings = state
        self._automaton = None
        self._asked = 0

    def present(self, text: str) -> set[str]:
        """The strings that occur in ``text``."""
        automaton = self._automaton
        if automaton is None:
            self._asked += 1
            if self._asked < _BUILD_AT or not self.strings:
                return {s for s in self.strings if s in text}
            # (two threads may both build it: each gets one that works alike)
            automaton = ahocorasick.Automaton()
            for s in self.strings:
                automaton.add_word(s, s)
            automaton.make_automaton()
            self._automaton = automaton
        return set(map(_SECOND, automaton.iter(text)))


_BUILD_AT = 8
_SECOND = itemgetter(1)  # (end, string) of each string found: the string
