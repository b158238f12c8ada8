"""Load the TOML files of ``rules/`` (and the user's own) into frozen, validated types.

Every value is checked on load; an error names the file, the rule id and the field. See ``rules/README.md`` for
the format and the precedence between rules, codes and defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import regex

from ..cache import PATTERNS
from ..errors import RulesError
from ..parse import bounded as rx
from ..parse.literals import Finder
from ..parse.smtp import HOST, IP, ServerRule
from .cues import Cue, Lexicon

SCHEMA = 1
RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
VERDICTS = ("hard", "soft", "by-class", "none")
FAULTS = ("recipient", "sender", "destination", "network", "unknown")  # whose side a failure is on
PRIORITY_PROVIDER = 80
PRIORITY_PATTERN = 30
PRIORITY_CUE = 27
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "ru", "ja", "zh", "more")
_ID = rx.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REASON_ID = rx.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_STATUS_PREFIX = rx.compile(r"^[245X](?:\.\d{1,3}){0,2}$")


# The rule set's plain records are named tuples: they are made at every start-up (a frozen dataclass costs about
# three times as much to define) and read back from the rules cache by the hundred (tuples need no __setstate__).


class Reason(NamedTuple):
    """A reason word: its default verdict, whose fault it is, what it means and what to do."""

    id: str
    verdict: str
    description: str
    hint: str
    fault: str | None = None  # one of FAULTS; None for a reason that is not a failure


class CodeEntry(NamedTuple):
    """An enhanced status code (class, ``X.Y`` subject or ``X.Y.Z`` detail) or a reply code."""

    code: str
    title: str
    meaning: str
    reason: str | None = None
    specific: bool = False
    hint: str | None = None
    standard: bool = True
    used_by: str = ""
    refs: tuple[str, ...] = ()


class Example(NamedTuple):
    """A text a rule must (or must not) match, with the codes, host and command it comes with. A tuple: a rule set
    holds about a thousand of them, and tuples are read back from the rules cache several times faster."""

    text: str
    status: str | None = None
    reply: int | None = None
    host: str | None = None
    command: str | None = None
    whole_rule: bool = False  # a table example is checked against the guards too


class Rule(NamedTuple):
    """A pattern or provider rule: text conditions, guards, what it decides, and its examples."""

    id: str
    reason: str
    file: str
    contains: tuple[str, ...] = ()
    regex: regex.Pattern[str] | None = None
    priority: int = PRIORITY_PATTERN
    status: tuple[str, ...] = ()
    reply: tuple[str, ...] = ()  # "550" or "5xx"
    hosts: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    verdict: str | None = None
    hint: str | None = None
    refs: tuple[str, ...] = ()
    fault: str | None = None  # overrides the reason's fault where the wording decides whose side it is
    match_examples: tuple[Example, ...] = ()
    no_match_examples: tuple[Example, ...] = ()
    concepts: tuple[str, ...] = ()  # a cue: these concepts near each other (see cues.py)
    unless: tuple[str, ...] = ()  # ... and none of these near them
    window: int = 60
    rivals: tuple[str, ...] = ()  # ... and none of these nearer to the first state than the concept it goes with
    cue: Cue | None = None  # set once every concept is loaded

    @property
    def guards_only(self) -> bool:
        """A rule without text conditions matches on its guards alone."""
        return not self.contains and self.regex is None and not self.concepts

    def text_matches(self, low: str, timeout: float = 0.5) -> str | None:
        """The piece of ``low`` (lower-cased text) that makes this rule match, or None."""
        if self.guards_only:
            return ""
        said = None
        for needle in self.contains:
            if needle in low:
                said = needle
                break
        if said is None and self.regex is not None:
            m = self.regex.search(low, timeout=timeout)
            if m:
                said = str(m.group(0))
        if said is not None:
            return said if self.cue is None or self.concepts or self.cue.spares(low, said) else None
        if self.cue is not None and self.concepts:
            return self.cue.match(low)
        return None

    def guards_hold(self, status: str | None, reply: int | None, hosts: tuple[str, ...],
                    command: str | None = None) -> bool:
        if self.status and not (status and any(status_matches(p, status) for p in self.status)):
            return False
        if self.reply and not (reply and any(reply_matches(p, reply) for p in self.reply)):
            return False
        if self.commands and command not in self.commands:
            return False
        return not (self.hosts and not any(host_matches(s, h) for s in self.hosts for h in hosts if h))


def status_matches(prefix: str, status: str) -> bool:
    """``X.7`` matches 5.7.1 and 4.7.0; ``5.1.1`` matches only itself; ``5`` matches every 5.y.z."""
    p = prefix.split(".")
    s = status.split(".")
    if len(p) > len(s):
        return False
    return all(a == "X" or a == b for a, b in zip(p, s, strict=False))


def reply_matches(pattern: str, reply: int) -> bool:
    if pattern.endswith("xx"):
        return str(reply)[0] == pattern[0]
    return pattern == str(reply)


def host_matches(suffix: str, host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == suffix or host.endswith("." + suffix)


class Detect(NamedTuple):
    """The ``[detect]`` word lists: what makes a message a bounce, a delay, an auto-reply, ..."""

    bounce_senders: tuple[str, ...] = ()
    bounce_subjects: tuple[str, ...] = ()
    bounce_phrases: tuple[str, ...] = ()
    delay_subjects: tuple[str, ...] = ()
    delay_phrases: tuple[str, ...] = ()
    original_markers: tuple[str, ...] = ()
    forward_titles: tuple[str, ...] = ()
    forward_lines: tuple[str, ...] = ()
    recipient_phrases: tuple[str, ...] = ()
    recipient_after_phrases: tuple[str, ...] = ()
    your_message_phrases: tuple[str, ...] = ()
    reason_labels: tuple[str, ...] = ()
    transcript_client_marks: tuple[str, ...] = ()
    transcript_server_marks: tuple[str, ...] = ()
    recipient_labels: tuple[str, ...] = ()
    address_labels: tuple[str, ...] = ()
    autoreply_headers: tuple[str, ...] = ()
    autoreply_subjects: tuple[str, ...] = ()
    moved_phrases: tuple[str, ...] = ()
    challenge_phrases: tuple[str, ...] = ()
    challenge_verbs: tuple[str, ...] = ()
    held_phrases: tuple[str, ...] = ()
    list_phrases: tuple[str, ...] = ()
    non_member_phrases: tuple[str, ...] = ()
    refusal_words: tuple[str, ...] = ()
    lure_phrases: tuple[str, ...] = ()
    lure_attachments: tuple[str, ...] = ()
    complaint_subjects: tuple[str, ...] = ()
    complaint_recipient_headers: tuple[str, ...] = ()
    complaint_copy_headers: tuple[str, ...] = ()


class Gateway(NamedTuple):
    """A filtering product: the hosts it answers from and the words its notices carry."""

    name: str
    hosts: tuple[str, ...]
    signatures: tuple[str, ...] = ()  # lower-case words a notice written by this product carries
    replies: tuple[str, ...] = ()  # lower-case words only this product's own replies carry (its documentation links)


def _cue_gates(cue: Cue) -> dict[str, tuple[tuple[str, ...], ...]] | None:
    """Where ``cue`` can match, a text holds every run without a space of one word of its state with the fewest words
    (a space in a word stands for any white space, a stem ends where its "*" is): the longest run of each word, with
    the runs of the words it is the longest of. None when the cue has no state (a subject may be implied by the SMTP
    stage, with no word for it)."""
    states = [c for c in cue.concepts if c not in cue.lexicon.subjects]
    if not states:
        return None
    gates: dict[str, list[tuple[str, ...]]] = {}
    for w in min((cue.lexicon.concepts.get(c, ()) for c in states), key=len):
        runs = tuple(w.rstrip("*").split())
        if not runs:
            return None
        gates.setdefault(max(runs, key=len), []).append(runs)
    return {run: tuple(words) for run, words in gates.items()} or None


class NeedleIndex:
    """Finds which rules' ``contains`` strings occur in a text without testing every string of every rule, and which
    rules' regexes are worth running at all (see ``literals.required_all``): the strings of three characters or more
    are found in one pass (``literals.Finder``), the few shorter ones tested one by one."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        entries: list[tuple[int, str, bool]] = []  # (rule position, string, is a regex gate)
        self.ungated: set[int] = set()
        self.guards_only: frozenset[int] = frozenset(n for n, r in enumerate(rules) if r.guards_only)
        # cue rules tried whatever the text holds; a cue ranked above the cues' own priority is tried before the
        # code's decision and so on most texts, and is tried only where a word of one of its states may occur
        cued: set[int] = set()
        # a regex's other sets of required strings, tested once one of its first set is found
        self.also: dict[int, tuple[frozenset[str], ...]] = {}
        # a gated cue's words by the run it is gated on: one must have all its runs in the text
        self.words: dict[int, dict[str, tuple[tuple[str, ...], ...]]] = {}
        for n, rule in enumerate(rules):
            entries.extend((n, needle, False) for needle in rule.contains)
            if rule.cue is not None and rule.concepts:  # (a phrase rule's cue only weighs its ``unless``)
                runs = _cue_gates(rule.cue) if rule.priority > PRIORITY_CUE else None
                if runs:
                    entries.extend((n, run, True) for run in runs)
                    self.words[n] = runs
                else:
                    cued.add(n)
            if rule.regex is not None:
                gates = PATTERNS.gates(rule.regex.pattern)
                if not gates:
                    self.ungated.add(n)
                else:
                    entries.extend((n, gate, True) for gate in gates[0])
                    if len(gates) > 1:
                        self.also[n] = gates[1:]
        self.cued: frozenset[int] = frozenset(cued)
        self.by_string: dict[str, list[tuple[int, bool]]] = {}
        self.short: list[tuple[int, str, bool]] = []
        for n, needle, is_gate in entries:
            if len(needle) < 3:
                self.short.append((n, needle, is_gate))
            else:
                self.by_string.setdefault(needle, []).append((n, is_gate))
        self.finder = Finder(self.by_string)

    def matches(self, low: str) -> tuple[dict[int, str], set[int]]:
        """For a lower-cased text: rule position → the first of its strings found, and the rules whose regex
        may match."""
        found: dict[int, str] = {}
        gated = set(self.ungated)
        also = self.also
        words = self.words
        for needle in self.finder.present(low):
            for n, is_gate in self.by_string[needle]:
                if is_gate:
                    if n not in gated and (n not in also or rx.holds(also[n], low)) and (
                            n not in words or _has_word(words[n][needle], low)):
                        gated.add(n)
                elif n not in found or needle < found[n]:
                    # of a rule's strings found, the first in alphabetical order: the same one in every process,
                    # whatever the order of the set
                    found[n] = needle
        for n, needle, is_gate in self.short:  # strings under three characters, in file order, after the others
            if is_gate:
                if n not in gated and needle in low and (n not in also or rx.holds(also[n], low)) and (
                        n not in words or _has_word(words[n][needle], low)):
                    gated.add(n)
            elif n not in found and needle in low:
                found[n] = needle
        return found, gated


def _has_word(words: tuple[tuple[str, ...], ...], low: str) -> bool:
    """Whether a text holds every run of one of ``words`` (each its runs without a space)."""
    for runs in words:
        for run in runs:
            if run not in low:
                break
        else:
            return True
    return False


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Everything the rule files say, ready to classify with: reasons, code tables, rules in the order they are
    tried, the word lists, gateways, cues and server cues."""

    reasons: dict[str, Reason]
    classes: dict[str, CodeEntry]
    subjects: dict[str, CodeEntry]
    statuses: dict[str, CodeEntry]
    replies: dict[int, CodeEntry]
    rules: tuple[Rule, ...]  # highest priority first; ties keep file order
    detect: Detect
    gateways: tuple[Gateway, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    lexicon: Lexicon | None = field(default=None, repr=False, compare=False)
    servers: tuple[ServerRule, ...] = ()  # which server answered: cues in the order they are tried
    index: NeedleIndex = field(init=False, repr=False, compare=False)
    _gateway_suffixes: dict[str, Gateway] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", NeedleIndex(self.rules))
        suffixes: dict[str, Gateway] = {}
        for gw in self.gateways:
            for suffix in gw.hosts:
                suffixes.setdefault(suffix, gw)
        object.__setattr__(self, "_gateway_suffixes", suffixes)

    def status_entry(self, code: str) -> CodeEntry | None:
        """The most specific entry for an enhanced code: the full code, then ``X.Y.Z``."""
        entry = self.statuses.get(code)
        if entry is None:
            _, _, rest = code.partition(".")
            entry = self.statuses.get("X." + rest)
        return entry

    def subject_entry(self, code: str) -> CodeEntry | None:
        parts = code.split(".")
        return self.subjects.get("X." + parts[1]) if len(parts) > 1 else None

    def gateway_for(self, host: str | None) -> Gateway | None:
        """The filtering gateway whose domain the host is in, looked up suffix by suffix."""
        if not host:
            return None
        by_suffix = self._gateway_suffixes
        labels = host.lower().rstrip(".").split(".")
        for i in range(len(labels) - 1):
            gw = by_suffix.get(".".join(labels[i:]))
            if gw is not None:
                return gw
        return None

    def gateway_replied(self, low_reply: str) -> tuple[Gateway, str] | None:
        """The filtering product whose own words a (lower-cased) server reply carries, and the words, if any."""
        for gw in self.gateways:
            for w in gw.replies:
                if w in low_reply:
                    return gw, w
        return None

    def gateway_signed(self, low_notice: str) -> Gateway | None:
        """The filtering product whose signature the (lower-cased) notice carries, if any."""
        for gw in self.gateways:
            if any(w in low_notice for w in gw.signatures):
                return gw
        return None


# ---- loading -------------------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.reasons: dict[str, Reason] = {}
        self.classes: dict[str, CodeEntry] = {}
        self.subjects: dict[str, CodeEntry] = {}
        self.statuses: dict[str, CodeEntry] = {}
        self.replies: dict[int, CodeEntry] = {}
        self.rules: dict[str, Rule] = {}
        self.detect: dict[str, list[str]] = {}
        self.gateways: dict[str, Gateway] = {}
        self.concepts: dict[str, list[str]] = {}
        self.servers: dict[str, ServerRule] = {}
        self.subject_concepts: set[str] = set()
        self.disabled: list[tuple[str, str]] = []
        self.warnings: list[str] = []


def _err(path: str, where: str, msg: str) -> RulesError:
    return RulesError(f"{path}: {where}{': ' if where else ''}{msg}")


def _str(d: dict[str, Any], key: str, path: str, where: str, *, required: bool = True, default: str = "") -> str:
    v = d.get(key)
    if v is None:
        if required:
            raise _err(path, where, f'field "{key}" is missing')
        return default
    if not isinstance(v, str):
        raise _err(path, where, f'field "{key}" must be a string, got {v!r}')
    return v


def _strs(d: dict[str, Any], key: str, path: str, where: str) -> tuple[str, ...]:
    v = d.get(key, [])
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _err(path, where, f'field "{key}" must be a list of strings, got {v!r}')
    return tuple(v)


def _identified(d: dict[str, Any], p: str, table: str, i: int, allowed: set[str], form: regex.Pattern[str],
                example: str) -> tuple[str, str]:
    """A table's id, checked against its form, and how errors name the table from then on."""
    _check_keys(d, allowed, p, f"{table} #{i + 1}")
    name = _str(d, "id", p, f"{table} #{i + 1}")
    where = f'{table} "{name}"'
    if not form.match(name):
        raise _err(p, where, f'field "id" must be {example}')
    return name, where


def _check_keys(d: dict[str, Any], allowed: set[str], path: str, where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise _err(path, where, f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")


def read_toml(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """A TOML file of rules or a policy; ``error`` names the file and what is wrong with it."""
    import tomllib  # only when files are read, not when rules come from the cache

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as e:
        raise error(f"{path}: cannot read {what}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"{path}: not valid TOML: {e}") from None


def _read(path: Path) -> dict[str, Any]:
    data = read_toml(path, "rules file", RulesError)
    schema = data.get("schema")
    if schema is None:
        raise RulesError(f'{path}: missing "schema = {SCHEMA}" at the top of the file')
    if not isinstance(schema, int) or schema > SCHEMA or schema < 1:
        raise RulesError(f"{path}: schema {schema!r} is not supported (this version reads schema {SCHEMA})")
    return data


_TOP = {"schema", "reason", "class", "subject", "status", "reply", "rule", "detect", "gateway", "concept", "server",
        "extend"}


def _load_file(b: _Builder, path: Path, *, default_priority: int) -> None:
    p = str(path)
    data = _read(path)
    _check_keys(data, _TOP, p, "")
    for i, d in enumerate(data.get("reason", [])):
        rid, where = _identified(d, p, "reason", i, {"id", "verdict", "description", "hint", "fault"}, _REASON_ID,
                                 'snake_case like "mailbox_full"')
        verdict = _str(d, "verdict", p, where)
        if verdict not in VERDICTS:
            raise _err(p, where, f'field "verdict" must be one of {", ".join(VERDICTS)}, got {verdict!r}')
        fault = _fault(d, p, where) or (None if verdict == "none" else "unknown")
        b.reasons[rid] = Reason(rid, verdict, _str(d, "description", p, where), _str(d, "hint", p, where), fault)
    for kind, table in (("class", b.classes), ("subject", b.subjects), ("status", b.statuses)):
        for i, d in enumerate(data.get(kind, [])):
            where = f"{kind} #{i + 1}"
            _check_keys(d, {"code", "title", "meaning", "reason", "specific", "hint", "refs"}, p, where)
            code = _str(d, "code", p, where)
            where = f'{kind} "{code}"'
            expected = {"class": r"^[245]$", "subject": r"^X\.\d{1,3}$",
                        "status": r"^[245X]\.\d{1,3}\.\d{1,3}$"}[kind]
            if not regex.match(expected, code):
                raise _err(p, where, f'field "code" is not a valid {kind} code (write it as a string like '
                                     f'{ {"class": "5", "subject": "X.2", "status": "X.2.2"}[kind]!r})')
            specific = d.get("specific", False)
            if not isinstance(specific, bool):
                raise _err(p, where, 'field "specific" must be true or false')
            table[code] = CodeEntry(code, _str(d, "title", p, where), _str(d, "meaning", p, where),
                                    _str(d, "reason", p, where, required=False) or None, specific,
                                    _str(d, "hint", p, where, required=False) or None,
                                    refs=_strs(d, "refs", p, where))
    for i, d in enumerate(data.get("reply", [])):
        where = f"reply #{i + 1}"
        _check_keys(d, {"code", "title", "meaning", "standard", "used_by", "reason", "hint", "refs"}, p, where)
        code = d.get("code")
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise _err(p, where, f'field "code" must be a 3-digit number like 550, got {code!r}')
        where = f"reply {code}"
        standard = d.get("standard", True)
        if not isinstance(standard, bool):
            raise _err(p, where, 'field "standard" must be true or false')
        b.replies[code] = CodeEntry(str(code), _str(d, "title", p, where), _str(d, "meaning", p, where),
                                    _str(d, "reason", p, where, required=False) or None, False,
                                    _str(d, "hint", p, where, required=False) or None, standard,
                                    _str(d, "used_by", p, where, required=False), _strs(d, "refs", p, where))
    for i, d in enumerate(data.get("rule", [])):
        rule = _rule(d, p, i, default_priority)
        b.rules[rule.id] = rule  # a later file replaces a rule with the same id whole
    det = data.get("detect")
    if det is not None:
        allowed = set(Detect._fields)
        _check_keys(det, allowed, p, "detect")
        for key in det:
            b.detect.setdefault(key, []).extend(s.lower() for s in _strs(det, key, p, "detect"))
    for i, d in enumerate(data.get("gateway", [])):
        where = f"gateway #{i + 1}"
        _check_keys(d, {"name", "hosts", "signatures", "replies"}, p, where)
        name = _str(d, "name", p, where)
        where = f'gateway "{name}"'
        b.gateways[name] = Gateway(name, tuple(h.lower() for h in _strs(d, "hosts", p, where)),
                                   tuple(w.lower() for w in _strs(d, "signatures", p, where)),
                                   tuple(w.lower() for w in _strs(d, "replies", p, where)))
    for i, d in enumerate(data.get("concept", [])):
        cid, where = _identified(d, p, "concept", i, {"id", "kind", "note", *LANGUAGES}, _REASON_ID,
                                 'snake_case like "mailbox" or "not_found"')
        kind = _str(d, "kind", p, where)
        if kind not in ("subject", "state"):
            raise _err(p, where, f'field "kind" must be "subject" or "state", got {kind!r}')
        if kind == "subject":
            b.subject_concepts.add(cid)
        else:
            b.subject_concepts.discard(cid)
        words = b.concepts.setdefault(cid, [])  # a later file adds words to a concept
        for lang in LANGUAGES:
            for w in _strs(d, lang, p, where):
                if w != w.lower() or not w.strip("* ") or w != w.strip():
                    raise _err(p, where, f"{lang}: {w!r}: words are lower-case, non-empty, without outer spaces")
                if "*" in w[:-1]:  # it would be looked for as a character of the word, which no text has
                    raise _err(p, where, f"{lang}: {w!r}: a '*' marks a stem and can only end a word")
                words.append(w)
    for i, d in enumerate(data.get("server", [])):
        server = _server(d, p, i)
        b.servers[server.id] = server  # a later file replaces a cue with the same id
    ext = data.get("extend")
    if ext is not None:
        _check_keys(ext, {"disable"}, p, "extend")
        b.disabled.extend((rid, p) for rid in _strs(ext, "disable", p, "extend"))


_RULE_KEYS = {"id", "reason", "contains", "regex", "priority", "status", "reply", "hosts", "commands", "verdict",
              "hint", "refs", "examples", "fault", "concepts", "unless", "window", "rivals"}
COMMANDS = ("CONNECT", "HELO", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "DATA-END")


def _rule(d: dict[str, Any], p: str, i: int, default_priority: int) -> Rule:
    where = f"rule #{i + 1}"
    rid = _str(d, "id", p, where)
    where = f'rule "{rid}"'
    _check_keys(d, _RULE_KEYS, p, where)
    if not _ID.match(rid):
        raise _err(p, where, 'field "id" must be kebab-case like "mailbox-over-quota"')
    reason = _str(d, "reason", p, where)
    contains = tuple(s.lower() for s in _strs(d, "contains", p, where))
    if any(not s.strip() for s in contains):
        raise _err(p, where, 'field "contains" has an empty string, which would match everything')
    pattern = _str(d, "regex", p, where, required=False)
    compiled = None
    if pattern:
        try:
            compiled = regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
        except regex.error as e:
            raise _err(p, where, f'field "regex" does not compile: {e}') from None
    guarded = bool(d.get("status") or d.get("reply") or d.get("hosts") or d.get("commands"))
    concepts = _strs(d, "concepts", p, where)
    if not contains and compiled is None and not concepts and not guarded:
        raise _err(p, where, 'needs "contains", "regex" or "concepts" (or, to match on codes, hosts or stage alone, '
                             'a guard)')
    window = d.get("window", 60)
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 500:
        raise _err(p, where, f'field "window" must be a whole number of characters from 1 to 500, got {window!r}')
    priority = d.get("priority", default_priority)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 1000:
        raise _err(p, where, f'field "priority" must be a whole number from 0 to 1000, got {priority!r}')
    status = _strs(d, "status", p, where)
    for s in status:
        if not _STATUS_PREFIX.match(s):
            raise _err(p, where, f'field "status" has {s!r}: write a code or prefix like "5.1.1", "X.7" or "4"')
    reply_raw = d.get("reply", [])
    if not isinstance(reply_raw, list):
        reply_raw = [reply_raw]
    reply: list[str] = []
    for r in reply_raw:
        if isinstance(r, int) and not isinstance(r, bool) and 200 <= r <= 599:
            reply.append(str(r))
        elif isinstance(r, str) and regex.match(r"^[245]xx$", r):
            reply.append(r)
        else:
            raise _err(p, where, f'field "reply" has {r!r}: write a code like 550 or a class like "5xx"')
    commands = _strs(d, "commands", p, where)
    for c in commands:
        if c not in COMMANDS:
            raise _err(p, where, f'field "commands" has {c!r}: use {", ".join(COMMANDS)}')
    verdict = _str(d, "verdict", p, where, required=False) or None
    if verdict is not None and verdict not in VERDICTS:
        raise _err(p, where, f'field "verdict" must be one of {", ".join(VERDICTS)}, got {verdict!r}')
    ex = d.get("examples", {})
    if not isinstance(ex, dict):
        raise _err(p, where, 'field "examples" must be a table with "match" and "no_match" lists')
    _check_keys(ex, {"match", "no_match"}, p, where + " examples")
    return Rule(
        id=rid, reason=reason, file=p, contains=contains, regex=compiled, priority=priority, status=status,
        reply=tuple(reply), hosts=tuple(h.lower() for h in _strs(d, "hosts", p, where)), commands=commands,
        verdict=verdict,
        hint=_str(d, "hint", p, where, required=False) or None, refs=_strs(d, "refs", p, where),
        fault=_fault(d, p, where),
        match_examples=_examples(ex.get("match", []), p, where, "match"),
        no_match_examples=_examples(ex.get("no_match", []), p, where, "no_match"),
        concepts=concepts, unless=_strs(d, "unless", p, where), window=window, rivals=_strs(d, "rivals", p, where),
    )


def _fault(d: dict[str, Any], p: str, where: str) -> str | None:
    fault = _str(d, "fault", p, where, required=False) or None
    if fault is not None and fault not in FAULTS:
        raise _err(p, where, f'field "fault" must be one of {", ".join(FAULTS)}, got {fault!r}')
    return fault


def _server(d: dict[str, Any], p: str, i: int) -> ServerRule:
    sid, where = _identified(d, p, "server", i, {"id", "role", "pattern", "host", "ip", "gates", "weak", "examples"},
                             _ID, 'kebab-case like "host-said"')
    role = _str(d, "role", p, where)
    if role not in ("remote", "reporting", "writer", "receiver"):
        raise _err(p, where, f'field "role" must be "remote", "reporting", "writer" or "receiver", got {role!r}')
    pattern = _str(d, "pattern", p, where).replace("{HOST}", HOST).replace("{IP}", IP)
    gates = _strs(d, "gates", p, where)
    try:
        gated = rx.Gated(pattern, rx.I, gates=tuple(g.lower() for g in gates) or None)
    except regex.error as e:
        raise _err(p, where, f'field "pattern" does not compile: {e}') from None
    groups: dict[str, int] = {}
    for key in ("host", "ip"):
        n = d.get(key, 0)
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= gated.pattern.groups:
            raise _err(p, where, f'field "{key}" must name one of the pattern\'s groups (1 to '
                                 f'{gated.pattern.groups}) or 0, got {n!r}')
        groups[key] = n
    weak = d.get("weak", False)
    if not isinstance(weak, bool):
        raise _err(p, where, 'field "weak" must be true or false')
    ex = d.get("examples", {})
    if not isinstance(ex, dict):
        raise _err(p, where, 'field "examples" must be a table with "match" and "no_match" lists')
    _check_keys(ex, {"match", "no_match"}, p, where + " examples")
    return ServerRule(sid, role, gated, groups["host"], groups["ip"], weak, p,
                      _server_examples(ex.get("match", []), p, where, "match"),
                      _server_examples(ex.get("no_match", []), p, where, "no_match"))


def _server_examples(items: Any, p: str, where: str, kind: str) -> tuple[tuple[str, str | None, str | None], ...]:
    """Examples of a server cue: a text, or a table of the text and the host and IP the cue must read from it."""
    if not isinstance(items, list):
        raise _err(p, where, f'field "examples.{kind}" must be a list')
    out: list[tuple[str, str | None, str | None]] = []
    for item in items:
        if isinstance(item, str):
            out.append((item, None, None))
        elif isinstance(item, dict):
            _check_keys(item, {"text", "host", "ip"}, p, f"{where} examples.{kind}")
            out.append((_str(item, "text", p, where), _str(item, "host", p, where, required=False) or None,
                        _str(item, "ip", p, where, required=False) or None))
        else:
            raise _err(p, where, f"examples.{kind} entries must be strings or tables, got {item!r}")
    return tuple(out)


def _examples(items: Any, p: str, where: str, kind: str) -> tuple[Example, ...]:
    if not isinstance(items, list):
        raise _err(p, where, f'field "examples.{kind}" must be a list')
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(Example(item))
        elif isinstance(item, dict):
            _check_keys(item, {"text", "status", "reply", "host", "command"}, p, f"{where} examples.{kind}")
            reply = item.get("reply")
            if reply is not None and (not isinstance(reply, int) or isinstance(reply, bool)):
                raise _err(p, where, f'examples.{kind}: "reply" must be a number like 550, got {reply!r}')
            out.append(Example(_str(item, "text", p, where), _str(item, "status", p, where, required=False) or None,
                               reply, _str(item, "host", p, where, required=False) or None,
                               _str(item, "command", p, where, required=False) or None, True))
        else:
            raise _err(p, where, f"examples.{kind} entries must be strings or tables, got {item!r}")
    return tuple(out)


def shipped_files() -> list[tuple[Path, int]]:
    """The shipped rule files in load order, each with the default priority of its rules."""
    files = [(RULES_DIR / n, PRIORITY_PATTERN) for n in ("reasons.toml", "status-codes.toml", "reply-codes.toml",
                                                         "detect.toml", "gateways.toml", "servers.toml")]
    files += [(f, PRIORITY_PATTERN) for f in sorted((RULES_DIR / "patterns").glob("*.toml"))]
    files.append((RULES_DIR / "cues.toml", PRIORITY_CUE))
    files += [(f, PRIORITY_PROVIDER) for f in sorted((RULES_DIR / "providers").glob("*.toml"))]
    return [(f, prio) for f, prio in files if f.exists()]


def _user_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(path.rglob("*.toml")))
        elif path.exists():
            out.append(path)
        else:
            raise RulesError(f"{path}: rules file not found")
    return out


def load(extra: Sequence[str | Path] = ()) -> RuleSet:
    """The shipped rules, then each extra file or folder in order (later ones override earlier ones by id)."""
    files = shipped_files()
    for f in _user_files([Path(x) for x in extra]):
        files.append((f, PRIORITY_PROVIDER if "providers" in f.parts else PRIORITY_PATTERN))
    from ..cache import cached

    return cached(files, lambda: _build(files), RuleSet)


def _build(files: list[tuple[Path, int]]) -> RuleSet:
    b = _Builder()
    for f, prio in files:
        _load_file(b, f, default_priority=prio)
    return _finish(b)


def _finish(b: _Builder) -> RuleSet:
    for rid, path in b.disabled:
        if b.rules.pop(rid, None) is None:
            b.warnings.append(f'{path}: disables rule "{rid}", which does not exist')
    problems = []
    for rule in b.rules.values():
        if rule.reason not in b.reasons:
            problems.append(f'{rule.file}: rule "{rule.id}": reason "{rule.reason}" is not defined in any '
                            "[[reason]] table")
        for c in (*rule.concepts, *rule.unless, *rule.rivals):
            if c not in b.concepts:
                problems.append(f'{rule.file}: rule "{rule.id}": concept "{c}" is not defined in any [[concept]] '
                                "table")
    for table in (b.classes, b.subjects, b.statuses, b.replies):
        for entry in table.values():
            if entry.reason and entry.reason not in b.reasons:
                problems.append(f'code "{entry.code}": reason "{entry.reason}" is not defined')
    if problems:
        raise RulesError("\n".join(problems))
    lexicon = Lexicon(b.concepts, b.subject_concepts)
    # (a phrase rule with ``unless`` gets a cue of no concepts: it tells whether those concepts are near its words)
    rules = [r._replace(cue=Cue(lexicon, r.concepts, r.unless, r.window, r.rivals)) if r.concepts or r.unless else r
             for r in b.rules.values()]
    ordered = sorted(rules, key=lambda r: -r.priority)  # stable: file order among equals
    detect = Detect(**{k: tuple(v) for k, v in b.detect.items()})
    servers = sorted(b.servers.values(), key=lambda s: s.weak)  # weak cues last; file order otherwise
    return RuleSet(b.reasons, b.classes, b.subjects, b.statuses, b.replies, tuple(ordered), detect,
                   tuple(b.gateways.values()), tuple(b.warnings), lexicon, tuple(servers))


def ablated(rules: RuleSet, names: tuple[str, ...]) -> RuleSet:
    """The rule set without the provider files named (by file name without ``.toml``), or without every provider
    file for "vendor": a self-check of what the generic rules do alone."""
    providers = RULES_DIR / "providers"

    def off(rule: Rule) -> bool:
        path = Path(rule.file)
        return path.stem in names or ("vendor" in names and path.parent == providers)

    kept = tuple(r for r in rules.rules if not off(r))
    return replace(rules, rules=kept)


_DEFAULT: RuleSet | None = None


def default() -> RuleSet:
    """The shipped rules, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load()
    return _DEFAULT
