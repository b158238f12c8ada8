"""The registry contract: every format parser gets empty, garbage, header-only and huge input and returns nothing,
without raising; and every parser module is in the registry."""

from __future__ import annotations

import pkgutil
import random

import pytest

import bounce_analyzer.formats as formats_pkg
from bounce_analyzer import analyze
from bounce_analyzer.classify import rules as rules_mod
from bounce_analyzer.formats.registry import FORMATS
from bounce_analyzer.notice import read_notice
from bounce_analyzer.options import DEFAULT
from bounce_analyzer.parse.message import normalise_newlines, parse_bytes

rng = random.Random(7)
INPUTS = {
    "empty": b"",
    "garbage": bytes(rng.randrange(256) for _ in range(5000)),
    "headers-only": b"From: someone@example.com\nSubject: hello\nTo: other@example.org\n",
    "huge-text": b"Subject: x\nFrom: a@example.com\n\n" + b"lorem ipsum dolor sit amet " * 200_000,
    "huge-line": b"Subject: x\n\n" + b"a" * 2_000_000,
    "broken-mime": b'Content-Type: multipart/report; boundary="nope"\n\n--other\nContent-Type: text/plain\n\nhi\n',
    "nul-bytes": b"\x00" * 1000,
}


@pytest.mark.parametrize("name", list(INPUTS))
@pytest.mark.parametrize("parser", FORMATS, ids=[p.name for p in FORMATS])
def test_parser_returns_nothing_on_junk(parser, name):
    msg = parse_bytes(normalise_newlines(INPUTS[name]))
    bounce, _ = read_notice(msg, rules_mod.default(), DEFAULT)
    parser.sniff(bounce)
    assert parser.parse(bounce).findings == []


@pytest.mark.parametrize("name", list(INPUTS))
def test_analyze_reports_junk_as_not_a_bounce(name):
    report = analyze(INPUTS[name], source=name)
    assert report.is_bounce is False
    assert report.recipients == ()
    assert all(p.kind != "internal-error" for p in report.problems), report.problems


def test_every_parser_module_is_registered():
    modules = {m.name for m in pkgutil.iter_modules(formats_pkg.__path__)} - {"base", "registry"}
    registered = {type(p).__module__.rsplit(".", 1)[1] for p in FORMATS}
    assert modules == registered
    names = [p.name for p in FORMATS]
    assert len(names) == len(set(names))


def test_damaged_samples_never_break_the_analyzer():
    """Every sample cut short at a random point and with random bytes flipped: a report, never an internal error."""
    from .conftest import sample_pairs

    rng = random.Random(11)
    for eml, _ in sample_pairs():
        raw = eml.read_bytes()
        cut = raw[:rng.randrange(len(raw) + 1)]
        flipped = bytearray(raw)
        for _ in range(12):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        for damaged in (cut, bytes(flipped)):
            report = analyze(damaged, source=eml.name)
            assert all(p.kind not in ("internal-error", "regex-timeout") for p in report.problems), report.problems
