"""Time-limited regular expressions for untrusted text.

Every pattern that runs on message text goes through here, so that no input can make a pattern run for long: a
pattern that runs for more than ``TIMEOUT`` seconds of processor time raises the built-in ``TimeoutError``, which
the analyzer turns into a problem on the report.

The time is kept in one of two ways:

- in the thread that holds the timer (``hold_timer``: the main thread, when nothing else handles the process's
  virtual timer signal, ``SIGVTALRM``), the timer goes off every quarter of the limit while a message (or a batch of
  them) is analyzed, and a pattern during whose run it goes off a fourth time is stopped: ``regex`` looks for
  signals while it matches. Each pattern then costs a few attribute writes;
- elsewhere, the ``regex`` package's own ``timeout=``, which reads the process's processor clock as each pattern
  starts: a system call that costs more than most searches of a short text (about 1.6 µs, some 38 patterns a
  message).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # (signal without its enums, which take a millisecond to load)
import os
import re
import threading
from _thread import get_ident
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeAlias, TypeVar, cast

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
    for gate in gates:  # (loops, not all() of any(): no generator to make on each of some 30 calls a message)
        for s in gate:
            if s in low:
                break
        else:
            return False
    return True


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
    if _timer.owner == get_ident():
        return timed(pattern.search, text, pos)
    return pattern.search(text, pos, timeout=TIMEOUT.get())


def match(pattern: Pattern, text: str, pos: int = 0) -> Match | None:
    if _timer.owner == get_ident():
        return timed(pattern.match, text, pos)
    return pattern.match(text, pos, timeout=TIMEOUT.get())


def finditer(pattern: Pattern, text: str, *, overlapped: bool = False) -> Iterator[Match]:
    """Every match, found under one time limit for them all."""
    if _timer.owner == get_ident():
        # found here, under the timer: a lazy iterator would match after it is cleared
        return iter(timed(lambda: list(pattern.finditer(text, overlapped=overlapped))))
    return pattern.finditer(text, overlapped=overlapped, timeout=TIMEOUT.get())


def sub(pattern: Pattern, repl: str, text: str) -> str:
    if _timer.owner == get_ident():
        return timed(pattern.sub, repl, text)
    return pattern.sub(repl, text, timeout=TIMEOUT.get())


def split(pattern: Pattern, text: str) -> list[str]:
    if _timer.owner == get_ident():
        return timed(pattern.split, text)
    return cast(list[str], pattern.split(text, timeout=TIMEOUT.get()))


# ---- the timer -------------------------------------------------------------------------------------------------------

T = TypeVar("T")
_MAIN = threading.main_thread().ident  # signals are handled in the main thread only


class _Timer:
    __slots__ = ("inside", "owner", "started", "ticks")

    def __init__(self) -> None:
        self.owner: int | None = None  # the thread that holds the timer
        self.ticks = 0  # how many times it went off
        self.inside = False  # a pattern of that thread is running
        self.started = 0  # the ticks when it started


_timer = _Timer()
_TICKS = 4  # the timer goes off this many times in each time limit


def _tick(signum: int, frame: Any) -> None:
    _timer.ticks += 1
    if _timer.inside and _timer.ticks - _timer.started >= _TICKS:
        raise TimeoutError("regex timed out")


def timing() -> bool:
    """Whether this thread holds the timer: a caller that runs patterns itself (``timed``) leaves out ``timeout=``."""
    return _timer.owner == get_ident()


def timed(run: Callable[..., T], *args: Any) -> T:
    """``run(*args)`` (a pattern's run) under the time limit, kept by the timer that this thread holds: given up
    when the timer goes off a fourth time during the run, after three quarters of the limit and at most all of it."""
    if _timer.inside:  # (within a run timed already)
        return run(*args)
    _timer.started = _timer.ticks
    _timer.inside = True
    try:
        return run(*args)
    finally:
        _timer.inside = False


def hold_timer(seconds: float | None) -> bool:
    """Keep time for this thread's patterns with the timer signal, when this is the main thread and nothing else
    handles the signal: the process's virtual timer goes off every quarter of ``seconds`` of processor time (in
    user mode, which is what a pattern spends) while it is held. True when it took the timer, which the caller gives
    back with ``release_timer``; False when it could not, or a thread holds it already (this one, for a batch of
    messages, say)."""
    if _timer.owner is not None or not seconds or seconds <= 0 or not hasattr(_signal, "setitimer") \
            or get_ident() != _MAIN:
        return False
    if _signal.getsignal(_signal.SIGVTALRM) != _signal.SIG_DFL:
        return False  # the program handles the signal for its own ends
    _signal.signal(_signal.SIGVTALRM, _tick)
    _timer.owner = _MAIN
    _timer.inside = False
    _signal.setitimer(_signal.ITIMER_VIRTUAL, seconds / _TICKS, seconds / _TICKS)
    return True


class timer_held:  # (named as what follows "with": ``with timer_held(seconds):``)
    """Holds the timer for what runs inside (``hold_timer``), when this thread can take it, and gives it back after;
    a thread that holds it already (a batch, for each of its messages) keeps it."""

    __slots__ = ("_seconds", "_took")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._took = False

    def __enter__(self) -> None:
        self._took = hold_timer(self._seconds)

    def __exit__(self, *exc: object) -> None:
        if self._took:
            release_timer()


def _forked() -> None:
    # a child process does not inherit the timer: patterns there keep time with timeout= until it takes its own
    if _timer.owner is not None:
        _timer.owner = None
        _signal.signal(_signal.SIGVTALRM, _signal.SIG_DFL)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def release_timer() -> None:
    """Give back the timer ``hold_timer`` took: the signal handled as it was before."""
    _signal.setitimer(_signal.ITIMER_VIRTUAL, 0)
    _timer.owner = None
    _signal.signal(_signal.SIGVTALRM, _signal.SIG_DFL)
