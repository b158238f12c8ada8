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
match anywhere. One pass of one time-limited pattern finds every concept in a text; the last text's result is kept,
since every cue rule asks about the same diagnostic.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

import regex

from ..parse import bounded as rx

Span = tuple[int, int, str]  # start, end, concept
_SPLIT = 24  # words in a group of two-character heads above which it is split by the first three characters


def _bounded(ch: str) -> bool:
    """Whether a word edge needs a word boundary: letters of alphabetic scripts do; ideographs, kana and Thai, which
    are written without spaces between words, do not."""
    return ch.isalnum() and ord(ch) < 0x2E80 and not "\u0e00" <= ch <= "\u0e7f"


# a letter or digit of an alphabetic script: what a word of such a script may not touch ("spf" in "spfcheck"); an
# ideograph or kana next to it is a word of its own ("SPF验证失败", "您的IP")
_LETTER = r"[^\W_\u2E80-\uFFFF]"


def _word_pattern(word: str) -> str:
    stem = word.endswith("*")
    core = word[:-1] if stem else word
    pattern = regex.escape(core).replace(r"\ ", r"\s+")
    if _bounded(core[0]):
        pattern = rf"(?<!{_LETTER})" + pattern
    if stem:
        pattern += r"\w{0,30}"  # the rest of the word, so that the evidence shows it whole
    elif _bounded(core[-1]):
        pattern += rf"(?!{_LETTER})"
    return pattern


def _head(word: str) -> str:
    """The characters a word's group is found by: its first two, or its first alone when the second is a space
    (which matches any run of spaces) or ends a stem."""
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


class _Group:
    """The words that start with one character, longest first, as one alternation; and, to try it only where it has
    a chance, whether they start at a word's start and the first two or three characters each of them starts
    with (a word is literal up to its first space).

    Pickled (in the rules cache) with the compiled alternation as bytes of its own, read back on its first use: a
    text reaches few of the groups (a dozen or so; some fifty over the whole development corpus, of 450), and
    reading all of them back took a first cue scan 12 to 20 ms."""

    __slots__ = ("_code", "_pattern", "bounded", "owners", "short", "starts", "sub", "subject")

    def __init__(self, words: list[str], owners: Mapping[str, list[str]], subjects: frozenset[str],
                 bounded: bool, sub: dict[str, _Group] | None = None) -> None:
        # (a group whose words all went to its three-character groups matches nothing of its own)
        self._pattern: regex.Pattern[str] | None = regex.compile(
            "|".join(f"({_word_pattern(w)})" for w in words) if words else "(?!)")
        self._code = b""
        self.owners = tuple(tuple(owners[w]) for w in words)
        # words that only name subjects: such a word is none where it is a label of a host name or an address's
        # domain ("mx" in "mx.example.net" names a server, not what the sentence is about); a state may be named by
        # a host ("spamhaus" in "zen.spamhaus.org")
        self.subject = tuple(all(o in subjects for o in owners[w]) for w in words)
        self.bounded = bounded  # an alphabetic character: every word here starts at a word's start
        heads = [w.rstrip("*").split(" ", 1)[0][:3] for w in words]
        self.starts = frozenset(h for h in heads if len(h) > 1)
        self.short = any(len(h) < 2 for h in heads)
        self.sub = sub or {}  # a large group's words by their first three characters, tried before its others

    def __getstate__(self) -> tuple[Any, ...]:
        code = self._code if self._pattern is None else pickle.dumps(self._pattern, protocol=pickle.HIGHEST_PROTOCOL)
        return code, self.owners, self.subject, self.bounded, self.starts, self.short, self.sub

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._code, self.owners, self.subject, self.bounded, self.starts, self.short, self.sub = state
        self._pattern = None

    def match(self, low: str, i: int, timeout: float | None) -> regex.Match[str] | None:
        """The longest word of the group that starts at ``i`` (lookbehinds see the text before it); ``timeout``
        None when the scan runs under the timer."""
        pattern = self._pattern
        if pattern is None:  # (two threads may both read it: each gets a pattern that works alike)
            pattern = self._pattern = pickle.loads(self._code)
        return pattern.match(low, i) if timeout is None else pattern.match(low, i, timeout=timeout)


class Lexicon:
    """Every concept's words, found in one pass."""

    def __init__(self, concepts: Mapping[str, Iterable[str]], subjects: Iterable[str] = ()) -> None:
        self.concepts = {name: tuple(words) for name, words in concepts.items()}
        self.subjects = frozenset(subjects)
        owners: dict[str, list[str]] = {}
        for name, words in self.concepts.items():
            for w in words:
                owners.setdefault(w, []).append(name)
        # one group per distinct word, longest first, so that "does not exist" is tried before "not"
        ordered = sorted(owners, key=lambda w: (-len(w), w))
        # A match starts with its word's first characters (words are lower-case literals, matched as written), so
        # the words are grouped by their first two (by the first alone when the second is a space or a stem's end,
        # or there is none): at each place in a text only the group of the two characters there is tried, then the
        # group of the one, each in the same order, which finds what one alternation of every word run at every
        # place would (a word of the second group is shorter than any of the first), without trying a thousand
        # words where none can start.
        groups: dict[str, list[str]] = {}
        for w in ordered:
            groups.setdefault(_head(w), []).append(w)
        self._by_head: dict[str, _Group] | None = {head: self._group(words, owners)
                                                           for head, words in groups.items()}
        self._packed = b""
        self._last: tuple[str, Found] = ("\0", Found())

    def _group(self, words: list[str], owners: Mapping[str, list[str]]) -> _Group:
        """One group; a large one of two-character heads ("no": "no such", "not found", "non valido" ... two hundred
        words in a dozen languages) keeps its words that go on past three characters in groups of their first three,
        tried first, so that one place is tried against a few words, not all of them. A word of three characters or
        more found there is the one the whole group would find: the group's other words are shorter, or go on with a
        space where it has a letter. (A group with a two-letter stem, which could match further, is kept whole.)"""
        bounded = _bounded(words[0][0])
        if len(words) < _SPLIT or any(len(w) == 3 and w.endswith("*") for w in words):
            return _Group(words, owners, self.subjects, bounded)
        by_three: dict[str, list[str]] = {}
        rest: list[str] = []
        for w in words:
            if len(w) > 2 and w[2] not in " *":
                by_three.setdefault(w[:3], []).append(w)
            else:
                rest.append(w)
        sub = {three: _Group(ws, owners, self.subjects, bounded) for three, ws in by_three.items()}
        return _Group(rest, owners, self.subjects, bounded, sub)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (in the rules cache) with the compiled groups as bytes of their own, read back on the first scan:
        they were a third of the time a cached rule set took to read, and most messages never reach a cue."""
        state = self.__dict__.copy()
        if self._by_head is not None:  # (else they are still the bytes they were read back as)
            state["_packed"] = pickle.dumps(self._by_head, protocol=pickle.HIGHEST_PROTOCOL)
        state["_by_head"] = None
        return state

    def _groups(self) -> dict[str, _Group]:
        if self._by_head is None:  # (two threads may both read them: each gets groups that work alike)
            self._by_head = pickle.loads(self._packed)
        return self._by_head

    @staticmethod
    def _hits(low: str, by_head: dict[str, _Group], deadline: float | None) -> list[Span]:
        """Each word of the lexicon found in the text, with the concepts it names; ``deadline`` (of the monotonic
        clock) None when the scan runs under the timer."""
        hits: list[Span] = []
        for i, ch in enumerate(low):
            pair = low[i:i + 2]
            first = by_head.get(pair)
            if first is not None and first.sub:
                tried: tuple[_Group | None, ...] = (first.sub.get(low[i:i + 3]), first,
                                                    by_head.get(ch) if pair != ch else None)
            else:
                tried = (first, by_head.get(ch) if pair != ch else None)
            for group in tried:
                if group is None:
                    continue
                if group.bounded and i and (low[i - 1].isalnum() and low[i - 1] < "\u2e80"):
                    break  # inside a word: no word that starts with this character may start here
                if not (low[i:i + 3] in group.starts or pair in group.starts or group.short):
                    continue  # none of the group's words begins with what is here
                left = None
                if deadline is not None:
                    left = deadline - monotonic()
                    if left <= 0:
                        raise TimeoutError("regex timed out")
                m = group.match(low, i, left)
                if m is None:
                    continue
                s, e = m.span()
                k = (m.lastindex or 1) - 1
                if not (group.subject[k] and _host_label(low, s, e)):
                    hits.extend((s, e, name) for name in group.owners[k])
                break
        return hits

    def scan(self, low: str) -> Found:
        """Where each concept occurs in a lower-cased text."""
        if self._last[0] == low:
            return self._last[1]
        by_head = self._groups()
        # one time limit for the whole text, as for one pattern
        hits = rx.timed(self._hits, low, by_head, None) if rx.timing() else \
            self._hits(low, by_head, monotonic() + rx.TIMEOUT.get())
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


@dataclass(frozen=True, slots=True)
class Cue:
    """All of ``concepts`` within ``window`` characters of each other, none of ``unless`` in the stretch they
    span, and, when the cue names subjects, its first state's nearest subject one of them."""

    lexicon: Lexicon
    concepts: tuple[str, ...]
    unless: tuple[str, ...] = ()
    window: int = 60

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
            for spans_of in lists:
                near = [sp for sp in spans_of or () if a_start - w <= sp[0] and sp[1] <= a_end + w]
                if not near:
                    break
                best = min(near, key=lambda sp: abs(sp[0] - a_start))
                lo, hi = min(lo, best[0]), max(hi, best[1])
            else:
                if named and states and (said_of or found.nearest_subject(a_start, a_end, w)) not in named:
                    continue
                if any(s < hi and e > lo for c in self.unless for s, e, _ in found.spans.get(c, ())):
                    continue
                return low[lo:hi]
        return None
