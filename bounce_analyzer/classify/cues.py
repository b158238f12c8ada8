"""Reasons from composable cues: concepts found near each other in a diagnostic.

A server says that a mailbox does not exist in a thousand ways and a dozen languages: "mailbox unavailable: no such
user", "Benutzer unbekannt", "casilla inexistente", "адресат не найден". Phrase rules list the wordings someone has
seen; cues give the rest. ``rules/cues.toml`` defines *concepts*, each as words in every language the project
reads. A concept is a *subject* (what a sentence is about: the recipient's mailbox, a domain, the sender, the
message, the sending IP) or a *state* (what it says of it: unknown, disabled, full, blocked ...). A cue rule is a
rule with ``concepts``: all of them within ``window`` characters of each other mean its reason. When a cue names a
subject, the subject nearest to its first state must be one the cue names: "the address does not exist" is about
the recipient, "the sender address does not exist" about the sender.

Words match at the start of a word (a word ending in ``*`` is a stem and matches any ending; other words must end
where the word ends); a word inside a longer word or phrase of the lexicon that was found at the same place belongs
to that phrase ("address" inside "sender address"). Words in scripts without spaces (Japanese, Chinese, Thai)
match anywhere. One pass over a text finds every concept in it (``Lexicon``); the last text's result is kept, since
every cue rule asks about the same diagnostic.
"""

from __future__ import annotations

import pickle
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

import ahocorasick  # type: ignore[import-not-found]  # (an extension module without type information)
import regex

from ..parse import bounded as rx

Span = tuple[int, int, str]  # start, end, concept
_SPLIT = 24  # words of one two-character start above which those of three characters or more are tried first


def _bounded(ch: str) -> bool:
    """Whether a word edge needs a word boundary: letters of alphabetic scripts do; ideographs, kana and Thai, which
    are written without spaces between words, do not."""
    return ch.isalnum() and ord(ch) < 0x2E80 and not "\u0e00" <= ch <= "\u0e7f"


# a letter or digit of an alphabetic script: what a word of such a script may not touch ("spf" in "spfcheck"); an
# ideograph or kana next to it is a word of its own ("SPF验证失败", "您的IP")
_LETTER = r"[^\W_\u2E80-\uFFFF]"
_IS_LETTER = regex.compile(_LETTER).match
_STEM_REST = regex.compile(r"\w{0,30}").match  # the rest of the word a stem starts, so that the evidence shows it whole
_SPACES = regex.compile(r"\s+")
_NOT_SINGLE_SPACED = regex.compile(r"[^\S ]| {2}")  # white space other than single spaces


def _head(word: str) -> str:
    """A word's first two characters, or its first alone when the second is a space or ends a stem."""
    return word[:2] if len(word) > 1 and word[1] not in " *" else word[:1]


def _wordy(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _host_label(low: str, start: int, end: int) -> bool:
    """Whether ``low[start:end]`` is a label of a host name or of the domain of an address: "mx" in
    "mx.example.net", "mail" in "pat@mail.example.org"."""
    before = low[start - 1] if start else ""
    return before == "@" or (before == "." and start > 1 and _wordy(low[start - 2])) or (
        low[end:end + 1] == "." and _wordy(low[end + 1:end + 2]))


@dataclass(slots=True)
class Found:
    """Where each concept occurs in one text."""

    spans: dict[str, list[Span]] = field(default_factory=dict)
    subjects: list[Span] = field(default_factory=list)  # every subject's spans, in order

    def nearest_subject(self, start: int, end: int, window: int) -> str | None:
        """The subject a state at ``start:end`` is said of: the closest one before it (most languages put the
        subject first: "the mailbox you tried to reach cannot be found on this server"), else the closest after it
        ("unknown user"). A word that names both ("no mailbox" is a missing mailbox) is said of itself."""
        for s, e, c in self.subjects:
            if s == start and e == end:
                return c
        before = [(start - e, c) for s, e, c in self.subjects if e <= start and start - e <= window]
        if before:
            return min(before)[1]
        after = [(max(0, s - end), c) for s, e, c in self.subjects if s >= start and s - end <= window]
        return min(after)[1] if after else None


# a word of the lexicon as the scan tries it, among the others whose literal part is the same: its rank (of the words
# that start at one place, the one with the lowest is the word there), whether it is a stem (which matches any
# ending), whether it may not be followed by a letter of an alphabetic script (a word that is no stem and ends with
# one), whether it names only subjects (then it is no word where it is a label of a host name or of an address's
# domain), and the concepts it names
_Word = tuple[int, bool, bool, bool, tuple[str, ...]]


def _ranks(owners: Mapping[str, list[str]]) -> dict[str, int]:
    """Which word is the one found where several start at the same place: the longest as written, except that the
    words of a common two-character start that go on with a letter come before its shorter ones and stems ("non
    valido", then "no*"), and the words of a one-character start ("a*", "x ...") come last."""
    by_head: dict[str, list[str]] = {}
    for w in owners:
        by_head.setdefault(_head(w), []).append(w)
    ranks: dict[str, tuple[int, int, str]] = {}
    for head, words in by_head.items():
        split = len(head) == 2 and len(words) >= _SPLIT and not any(len(w) == 3 and w.endswith("*") for w in words)
        for w in words:
            tier = 2 if len(head) == 1 else (0 if split and len(w) > 2 and w[2] not in " *" else 1)
            ranks[w] = (tier, -len(w), w)
    return {w: n for n, w in enumerate(sorted(ranks, key=ranks.__getitem__))}


class Lexicon:
    """Every concept's words, found in one pass: an Aho-Corasick automaton (``ahocorasick``, in C) finds every place
    where a word's literal part occurs, in time linear in the text, and only those places are tested for a word's
    edges. A word is lower-case and matched as written; a space in it stands for a run of white space; one ending in
    ``*`` is a stem, which matches any ending; a word of an alphabetic script starts at a word's start and, unless it
    is a stem, ends at a word's end. Of the words that start at one place, one is the word there (``_ranks``).

    The automaton is built on the first scan, not kept in the rules cache: read back from it, it would take longer
    than building it, and most messages never reach a cue."""

    def __init__(self, concepts: Mapping[str, Iterable[str]], subjects: Iterable[str] = ()) -> None:
        self.concepts = {name: tuple(words) for name, words in concepts.items()}
        self.subjects = frozenset(subjects)
        owners: dict[str, list[str]] = {}
        for name, words in self.concepts.items():
            for w in words:
                owners.setdefault(w, []).append(name)
        ranks = _ranks(owners)
        by_literal: dict[str, list[_Word]] = {}
        named: dict[tuple[str, ...], tuple[str, ...]] = {}  # (one tuple of concepts for all the words that name them)
        for w, names in owners.items():
            stem = w.endswith("*")
            literal = w[:-1] if stem else w
            by_literal.setdefault(literal, []).append(
                (ranks[w], stem, not stem and _bounded(literal[-1]), all(n in self.subjects for n in names),
                 named.setdefault(tuple(names), tuple(names))))
        # each literal part with its length, whether its first character must start a word, and the words that
        # share it, lowest rank first
        self._table: list[tuple[str, tuple[int, bool, tuple[_Word, ...]]]] | None = [
            (literal, (len(literal), _bounded(literal[0]), tuple(sorted(words))))
            for literal, words in by_literal.items()]
        self._packed = b""
        self._automaton: Any = None
        self._last: tuple[str, Found] = ("\0", Found())

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (in the rules cache) with the table of words as bytes of its own, read back on the first scan:
        most messages never reach a cue."""
        packed = self._packed if self._table is None else pickle.dumps(self._table, protocol=pickle.HIGHEST_PROTOCOL)
        return {**self.__dict__, "_table": None, "_packed": packed, "_automaton": None, "_last": ("\0", Found())}

    def _words(self) -> Any:
        """The automaton of the literal parts, built on the first scan (a few milliseconds)."""
        automaton = self._automaton
        if automaton is None:  # (two threads may both build it: each gets one that works alike)
            table = self._table if self._table is not None else pickle.loads(self._packed)
            automaton = ahocorasick.Automaton()
            for literal, value in table:
                automaton.add_word(literal, value)
            automaton.make_automaton()
            self._automaton = automaton
        return automaton

    @staticmethod
    def _hits(text: str, automaton: Any, deadline: float | None) -> list[Span]:
        """Each word of the lexicon found in a text whose white space is single spaces, with the concepts it names;
        ``deadline`` (of the monotonic clock) None when the scan runs under the timer."""
        best: dict[int, tuple[int, int, _Word]] = {}
        for n, (last, (size, start_bounded, words)) in enumerate(automaton.iter(text)):
            if deadline is not None and not n % 512 and monotonic() > deadline:
                raise TimeoutError("regex timed out")
            s = last + 1 - size
            if start_bounded and s and _IS_LETTER(text, s - 1):
                continue  # inside a word
            for word in words:
                rank, stem, end_bounded = word[:3]
                e = last + 1
                if stem:
                    e = _STEM_REST(text, e).end()  # type: ignore[union-attr]  # (it matches the empty string)
                elif end_bounded and _IS_LETTER(text, e):
                    continue
                kept = best.get(s)
                if kept is None or rank < kept[0]:
                    best[s] = (rank, e, word)
                break
        hits: list[Span] = []
        for s in sorted(best):
            _, e, (_, _, _, subject, owners) = best[s]
            if not (subject and _host_label(text, s, e)):
                hits.extend((s, e, name) for name in owners)
        return hits

    def scan(self, low: str) -> Found:
        """Where each concept occurs in a lower-cased text."""
        if self._last[0] == low:
            return self._last[1]
        if not low.strip():
            return Found()
        automaton = self._words()
        text, places = _single_spaced(low)
        # one time limit for the whole text, as for one pattern
        hits = rx.timed(self._hits, text, automaton, None) if rx.timing() else \
            self._hits(text, automaton, monotonic() + rx.TIMEOUT.get())
        if places is not None:
            hits = [(places.where(s), places.where(e - 1) + 1, name) for s, e, name in hits]
        hits.sort(key=lambda h: (h[0], h[0] - h[1]))
        found = Found()
        cover = (-1, -1)  # the kept span that reaches furthest
        for s, e, name in hits:
            if e <= cover[1] and (s, e) != cover:
                continue  # inside a longer word of the lexicon found here
            if e > cover[1]:
                cover = (s, e)
            found.spans.setdefault(name, []).append((s, e, name))
            if name in self.subjects:
                found.subjects.append((s, e, name))
        self._last = (low, found)
        return found


def _gap(span: Span, start: int, end: int) -> int:
    """How many characters lie between a span and the stretch ``start:end``."""
    return max(0, span[0] - end, start - span[1])


class _Places:
    """Where each character of a text with its runs of white space made single spaces was in the text."""

    def __init__(self, low: str) -> None:
        self.starts: list[int] = [0]  # where each stretch starts in the text made single-spaced
        self.was: list[int] = [0]  # and where it started in the text
        pieces: list[str] = []
        pos = 0
        for m in _SPACES.finditer(low):
            pieces += [low[pos:m.start()], " "]
            at = self.starts[-1] + m.start() - self.was[-1]
            self.starts += [at, at + 1]
            self.was += [m.start(), m.end()]
            pos = m.end()
        pieces.append(low[pos:])
        self.text = "".join(pieces)

    def where(self, i: int) -> int:
        k = bisect_right(self.starts, i) - 1
        return self.was[k] + i - self.starts[k]


def _single_spaced(low: str) -> tuple[str, _Places | None]:
    """The text with each run of white space a single space (as a space in a word matches it), and, when that is
    not the text as it was, where each of its characters was."""
    if _NOT_SINGLE_SPACED.search(low) is None:
        return low, None
    places = _Places(low)
    return places.text, places


@dataclass(frozen=True, slots=True)
class Cue:
    """All of ``concepts`` within ``window`` characters of each other, none of ``unless`` in the stretch they
    span, none of ``rivals`` nearer to the first state than the nearest of the other concepts (a loose word such as
    "excedido" is said of what stands nearest: "límite de envío excedido para su cuenta" is a sending limit, not a
    full mailbox), and, when the cue names subjects, its first state's nearest subject one of them."""

    lexicon: Lexicon
    concepts: tuple[str, ...]
    unless: tuple[str, ...] = ()
    window: int = 60
    rivals: tuple[str, ...] = ()

    def match(self, low: str, implied: str | None = None) -> str | None:
        """The stretch of ``low`` that the concepts span, or None. ``implied`` is the subject the SMTP stage names
        when the words name none (a bare "550 Unknown" in reply to RCPT TO is said of the recipient): a cue that
        names it needs no word for it, provided no other subject is near its state."""
        found = self.lexicon.scan(low)
        lists = [found.spans.get(c) for c in self.concepts]
        subjects = self.lexicon.subjects
        named = [c for c in self.concepts if c in subjects]
        states = [c for c in self.concepts if c not in subjects]
        said_of = None
        if not all(lists):
            if implied is None or not states or found.subjects or any(
                    not spans and c != implied for c, spans in zip(self.concepts, lists, strict=True)):
                return None
            lists = [spans for spans in lists if spans]  # the state's own place stands for the subject's
            said_of = implied
        anchor = states[0] if states else self.concepts[0]
        w = self.window
        for a_start, a_end, _ in found.spans[anchor]:
            lo, hi = a_start, a_end
            partner = w + 1  # how far the nearest of the other concepts is from the state
            for spans_of in lists:
                near = [sp for sp in spans_of or () if a_start - w <= sp[0] and sp[1] <= a_end + w]
                if not near:
                    break
                best = min(near, key=lambda sp: abs(sp[0] - a_start))
                lo, hi = min(lo, best[0]), max(hi, best[1])
                if best[:2] != (a_start, a_end):
                    partner = min(partner, _gap(best, a_start, a_end))
            else:
                if named and states and (said_of or found.nearest_subject(a_start, a_end, w)) not in named:
                    continue
                if any(s < hi and e > lo for c in self.unless for s, e, _ in found.spans.get(c, ())):
                    continue
                if any(_gap(sp, a_start, a_end) < partner for c in self.rivals for sp in found.spans.get(c, ())
                       if not (sp[0] < a_end and sp[1] > a_start)):
                    continue  # a rival is nearer: the state is said of it
                return low[lo:hi]
        return None

    def spares(self, low: str, words: str) -> bool:
        """For a phrase rule with ``unless`` (and no concepts): whether its words, where ``low`` first has them, are
        clear of those concepts: none of them ends within ``window`` characters before the words or overlaps them
        ("the sender's domain does not exist" is not the recipient's domain)."""
        at = low.find(words) if words else -1
        if at < 0:
            return True
        lo, hi = at - self.window, at + len(words)
        found = self.lexicon.scan(low)
        return not any(s < hi and e > lo for c in self.unless for s, e, _ in found.spans.get(c, ()))
