"""Compiled rules and patterns kept on disk, so that a process that analyzes one message does not parse and compile
them all again (that took most of a one-message run's time; reading them back takes a small part of it).

Rule sets: a cached set is keyed by the content of every rule file in load order, its path and default priority,
this package's version, the code of the classes a rule set is made of, and the versions of Python and ``regex``
(patterns are stored compiled): a changed or added file, or an upgrade, simply misses. The key is the 64-bit SipHash
that Python's own checked ``.pyc`` files are kept by (``importlib.util.source_hash``): loading ``hashlib`` for
SHA-256 cost more than the rest of the key (OpenSSL's start-up, about 3 ms a run). Cached sets live in the
user's cache folder (``$BOUNCE_ANALYZER_CACHE_DIR``, else ``$XDG_CACHE_HOME/bounce-analyzer``,
``~/Library/Caches/bounce-analyzer`` or ``%LOCALAPPDATA%``); setting ``BOUNCE_ANALYZER_CACHE_DIR`` to an empty value
turns the cache off. A cache that cannot be read or written is ignored: the rules are then loaded from their files
as without it. Files are written whole under a temporary name and renamed, so that concurrent processes never read
half of one, and only files that the current user owns and nobody else may write are read.

Patterns: the patterns this package compiles when its modules are imported (``parse.bounded.compile``), and the
literals a gated one needs (``parse.literals``), are kept in one file per version of this package, Python and
``regex``, looked up by their text and flags. Patterns compiled anew are added when the process exits; the file holds
a bounded number of them.
"""

from __future__ import annotations

import atexit
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from importlib.util import source_hash
from pathlib import Path
from typing import Any, TypeVar

import regex

from . import _collector_paused

T = TypeVar("T")
ENV = "BOUNCE_ANALYZER_CACHE_DIR"
_KEEP = 8  # cached sets kept per folder (others are from older rules or versions)
_MAX_PATTERNS = 4096
_CODE = ("classify/rules.py", "classify/cues.py", "parse/smtp.py", "parse/bounded.py")


def cache_dir() -> Path | None:
    """Where cached rule sets go; None when the cache is turned off."""
    configured = os.environ.get(ENV)
    if configured is not None:
        return Path(configured) if configured else None
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base, "bounce-analyzer", "cache") if base else None
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "bounce-analyzer"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg if xdg and os.path.isabs(xdg) else Path.home() / ".cache", "bounce-analyzer")


def key(files: Sequence[tuple[Path, int]]) -> str:
    """The cache key of a rule set built from these files (each with its default priority), in this order."""
    from . import __version__

    parts = [f"{__version__}\0{sys.version}\0{regex.__version__}\0{len(files)}\0".encode()]
    for module in _CODE:  # the classes a rule set is made of: a changed one (in a checkout) misses too
        parts.append((Path(__file__).parent / module).read_bytes())
    for path, priority in files:
        try:
            data = path.read_bytes()
        except OSError:  # the loader names the file and the problem
            data = b"\0unreadable"
        name = os.fsencode(path)
        parts += [f"{len(name)}\0{priority}\0{len(data)}\0".encode(), name, data]
    return source_hash(b"".join(parts)).hex()


def cached(files: Sequence[tuple[Path, int]], build: Callable[[], T], kind: type[T]) -> T:
    """The rule set of these files from the cache, else ``build()`` (whose result is then stored)."""
    try:
        folder = cache_dir()
        path = folder / f"rules-{key(files)}.pickle" if folder is not None else None
    except Exception:  # no home folder, say: never let the cache stand in the way of the rules
        folder = path = None
    if folder is None or path is None:
        return build()
    found = _read(path, kind)
    if found is not None:
        return found
    value = build()
    _write(folder, path, value)
    return value


def _read(path: Path, kind: type[T]) -> T | None:
    try:
        with path.open("rb") as fh:
            st = os.fstat(fh.fileno())
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                return None  # somebody else could have written it
            with _collector_paused():  # tens of thousands of objects, all kept: collecting while they are made is waste
                value = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # unreadable, truncated or from an incompatible build: load the files instead
        return None
    return value if isinstance(value, kind) else None


def _write(folder: Path, path: Path, value: object) -> None:
    import tempfile  # only a process that writes the cache pays for it

    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".rules-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder, path)
    except Exception:  # a read-only home, a full disk, a value that will not pickle: run without the cache
        return


def _prune(folder: Path, keep: Path) -> None:
    """Drop the oldest cached sets beyond the newest few (each rule or version change leaves one behind)."""
    sets = sorted(folder.glob("rules-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in sets[_KEEP:]:
        if old != keep:
            old.unlink(missing_ok=True)


class _Patterns:
    """Compiled patterns by (text, flags): read from the cache on first use, new ones written back at exit."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, int], Any] | None = None
        self.used: dict[tuple[str, int], Any] = {}
        self.added = False

    def compile(self, pattern: str, flags: int) -> Any:
        return self._get((pattern, flags), lambda: regex.compile(pattern, flags))

    def gates(self, pattern: str) -> tuple[frozenset[str], ...]:
        """``literals.required_all(pattern)``: the sets of strings a gated pattern needs one of each (flags -2)."""
        from .parse.literals import required_all

        found: tuple[frozenset[str], ...] = self._get((pattern, -2), lambda: required_all(pattern))
        return found

    def _get(self, k: tuple[str, int], make: Callable[[], Any]) -> Any:
        if self.known is None:
            self.known = self._read()
        found = self.known.get(k)
        if found is None:
            found = self.known[k] = make()
            if not self.added:
                self.added = True
                atexit.register(self.save)
        self.used[k] = found
        return found

    def _path(self) -> Path | None:
        folder = cache_dir()
        if folder is None:
            return None
        from . import __version__

        tag = source_hash(f"{__version__}\0{sys.version}\0{regex.__version__}".encode()).hex()
        return folder / f"patterns-{tag}.pickle"

    def _read(self) -> dict[tuple[str, int], Any]:
        try:
            path = self._path()
        except Exception:
            return {}
        found = _read(path, dict) if path is not None else None
        return found if found is not None else {}

    def save(self) -> None:
        """Write the patterns known now, with those another process wrote meanwhile (all within the bound)."""
        try:
            path = self._path()
            if path is None:
                return
            merged = {**(_read(path, dict) or {}), **(self.known or {})}
            if len(merged) > _MAX_PATTERNS:  # from older code: keep what this process used
                merged = dict(self.used)
            _write(path.parent, path, merged)
        except Exception:
            return


PATTERNS = _Patterns()
