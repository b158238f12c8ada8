"""Fuzzing analyze() with structure-aware mutations of the samples (a short, seeded part of bench/fuzz.py's run):
it never raises, reports an internal error or a pattern that ran out of time, its report always serialises as UTF-8
JSON, and a message of up to 1 MB takes under a second of CPU."""

from __future__ import annotations

import itertools

import pytest

from bench.fuzz import MB, MUTATIONS, Case, cases, load_samples, run_case
from bounce_analyzer import analyze

SEED = 20261202
COUNT = 300  # about 15 s

POOL = load_samples()
analyze(b"")  # the rules are loaded once, before anything is timed


def test_every_mutation_is_drawn():
    drawn = {name for case in itertools.islice(cases(SEED, POOL), COUNT)
             for name in case.shape.split(":", 1)[1].split("+")}
    assert drawn == set(MUTATIONS)


def test_mutated_samples_keep_every_promise():
    failures = []
    for case in itertools.islice(cases(SEED, POOL), COUNT):
        _, failure = run_case(case)
        if failure:
            failures.append(f"{case.shape} ({len(case.raw):,} bytes): {failure}")
    assert not failures, "\n".join(failures)


def _fill(line: bytes, size: int = MB) -> bytes:
    return (line * (size // len(line) + 1))[:size]


def _numbered(template: str, size: int) -> bytes:
    """Lines naming user0@example.com, user1@example.com, ... up to ``size`` bytes (whole lines only)."""
    out, held = [], 0
    for i in itertools.count():
        line = template.format(i=i).encode()
        if held + len(line) > size:
            return b"".join(out)
        out.append(line)
        held += len(line)
    raise AssertionError


_NOTICE = (b"From: MAILER-DAEMON@example.net\nTo: list-bounces@example.org\nSubject: Undelivered Mail Returned to "
           b"Sender\n\nThis is the mail system at host mx.example.net.\n\n")

# shapes that cost the most per byte, each a whole megabyte
SHAPES = {
    "subject of encoded words": b"From: a@example.com\nSubject: " + _fill(b"=?utf-8?b?QUFBQQ==?= ", MB - 100)
                                + b"\n\nhello\n",
    "text listing recipients": _NOTICE + _numbered("<user{i}@example.com>: 550 5.1.1 user unknown\n", MB - 200),
    "delivery-status listing recipients": (
        b"From: MAILER-DAEMON@example.net\nMIME-Version: 1.0\nContent-Type: multipart/report; "
        b"report-type=delivery-status; boundary=\"z\"\n\n--z\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.example.net\n\n"
        + _numbered("Final-Recipient: rfc822; user{i}@example.com\nAction: failed\nStatus: 5.1.1\n"
                    "Diagnostic-Code: smtp; 550 5.1.1 <user{i}@example.com>: no such user\n\n", MB - 300)
        + b"--z--\n"),
    "one line of address starts": _NOTICE + _fill(b"<a@", MB - len(_NOTICE)),
    "one line of codes": _NOTICE + _fill(b"550-5.1.1 ", MB - len(_NOTICE)),
    "one line of open brackets": _NOTICE + _fill(b"([", MB - len(_NOTICE)),
    "a To header of one long word": b"From: a@example.com\nTo: list@example.org " + _fill(b"=?utf-8??=x", MB - 200)
                                    + b"\n\nhello\n",
    "headers only": _fill(b"Received: from a.example.net by b.example.net; Mon, 1 Jan 2024 00:00:00 +0000\n"),
    "nested multiparts": b"".join(b"Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n" % (i, i)
                                  for i in range(20000))[:MB],
    "nested messages": _fill(b"From: MAILER-DAEMON@example.net\nContent-Type: message/rfc822\n\n"),
    "many small parts": (b"From: MAILER-DAEMON@example.net\nContent-Type: multipart/mixed; boundary=\"p\"\n\n"
                         + _fill(b"--p\nContent-Type: text/plain\n\n550 5.1.1 <a@example.com> unknown\n", MB - 100)),
    "html of tags": (b"From: MAILER-DAEMON@example.net\nSubject: Delivery failure\nContent-Type: text/html\n\n"
                     + _fill(b"<div><b>550</b> <a href='mailto:a@example.com'>a@example.com</a></div>", MB - 100)),
    "control characters": _NOTICE + _fill(b"\x1b]0;x\x07\x1b[2J\x00\x08\xc2\x9b", MB - len(_NOTICE)),
    # a From header of one long word with no "@" after it: where a local part may start, it is read no further
    # than a local part can go
    "a From header of one long word": b"From: " + _fill(b"x", MB // 2) + b" a@example.com\n\nhello\n",
    # a sender's address on every line: each place it is named must not set off a look at every other place
    "one sender on every line": (b"From: MAILER-DAEMON@example.net\nSubject: Undelivered Mail Returned to Sender\n\n"
                                 b"Your message could not be delivered.\n\n"
                                 + _fill(b"From: Shop <orders@example.org>\n", MB - 200)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_megabyte_of_a_costly_shape_takes_under_a_second(name):
    raw = SHAPES[name]
    assert len(raw) <= MB
    _, failure = run_case(Case(name, raw))
    assert failure is None, f"{name}: {failure}"


def test_costly_shapes_are_read_up_to_the_limits_and_say_where_they_were_cut():
    report = analyze(SHAPES["subject of encoded words"])
    assert report.subject is not None and report.subject.startswith("AAAA" * 40_000)
    for name in ("text listing recipients", "delivery-status listing recipients"):
        report = analyze(SHAPES[name])
        n = len(report.recipients)
        assert [r.address for r in report.recipients] == [f"user{i}@example.com" for i in range(n)], name
        assert n > 1000 and {r.status for r in report.recipients} == {"5.1.1"}
        (problem,) = report.problems
        assert problem.kind == "truncated" and "(max_text)" in problem.message


def _structure(parse, data):
    """Everything the parser decided about a message: each part's headers, payload, preamble, epilogue, defects;
    or the exception it raised."""
    try:
        stack, out = [parse(data)], []
    except RecursionError as e:
        return type(e).__name__
    while stack:
        part = stack.pop()
        payload = part._payload  # as parsed, without decoding
        out.append((list(part.raw_items()), payload if isinstance(payload, str) else len(payload), part.preamble,
                    part.epilogue, [type(d).__name__ for d in part.defects]))
        if isinstance(payload, list):
            stack.extend(reversed(payload))
    return out


def test_the_faster_line_reader_parses_exactly_as_the_standard_one():
    import email
    import email.policy

    from bounce_analyzer.parse.message import normalise_newlines, parse_bytes

    inputs = POOL + [c.raw for c in itertools.islice(cases(SEED + 1, POOL, max_bytes=200_000), 150)] + [
        SHAPES["nested multiparts"][:200_000], SHAPES["many small parts"][:200_000]]
    def standard(data):
        return email.message_from_bytes(data, policy=email.policy.compat32)

    for raw in inputs:
        for data in (raw, normalise_newlines(raw)):
            assert _structure(parse_bytes, data) == _structure(standard, data)
