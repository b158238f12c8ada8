"""Hostile and odd inputs: each case found by probing, reproduced here and held fixed."""

from __future__ import annotations

import pytest

from bounce_analyzer import analyze
from bounce_analyzer.options import DEFAULT
from bounce_analyzer.parse.message import decode_encoded_words


@pytest.mark.parametrize(("value", "text"), [
    ("=?utf-8?q?caf=C3=A9?= =?utf-8?b?w6k=?= x", "caféé x"),  # the space between two words goes, the last stays
    ("Re: =?ISO-8859-1?Q?Andr=E9?= Pirard", "Re: André Pirard"),
    ("=?utf-8?b?4pyF?=\n =?utf-8?b?4pyF?=", "✅✅"),  # folded between two words
    ("=?utf-8?q?=E2=9C?= =?utf-8?q?=85?=", "✅"),  # one character split across two words
    ("=?utf-8?q?Zoon=2ERu?=\n <info@example.test>", "Zoon.Ru\n <info@example.test>"),  # space before plain text kept
    ("=?UTF-8*en?Q?Hi_there?=", "Hi there"),  # RFC 2231 language
    ("=?utf-8?b?QUFBQQ=?=", "AAAA"),  # padding missing
    ("a =?utf-8?x?QUFB?= b", "a =?utf-8?x?QUFB?= b"),  # not an encoding: left as written
    ("=?utf-8?q?caf=C3=A9", "=?utf-8?q?caf=C3=A9"),  # never closed
])
def test_encoded_words_are_decoded(value, text):
    assert decode_encoded_words(value) == text


def test_a_subject_of_many_thousands_of_encoded_words_is_read_whole():
    n = 50_000
    raw = b"From: a@example.com\nSubject: " + b"=?utf-8?b?QUFBQQ==?= " * n + b"\n\nhello\n"
    report = analyze(raw)
    assert report.subject == "AAAA" * n


def _text_notice(n: int) -> bytes:
    lines = "".join(f"<user{i}@example.com>: 550 5.1.1 user unknown\n" for i in range(n))
    return ("From: MAILER-DAEMON@example.net\nTo: a@example.org\nSubject: Undelivered Mail Returned to Sender\n\n"
            "This is the mail system at host mx.example.net.\n\nI'm sorry to have to inform you that your message "
            "could not\nbe delivered to one or more recipients.\n\n" + lines).encode()


def test_text_cut_at_the_limit_is_reported_with_what_was_dropped():
    raw = _text_notice(1000)
    report = analyze(raw, options=DEFAULT.replace(max_text=20_000))
    addresses = [r.address for r in report.recipients]
    assert 0 < len(addresses) < 1000 and addresses[0] == "user0@example.com"
    (problem,) = [p for p in report.problems if p.kind == "truncated"]
    assert "max_text" in problem.message and "20,000" in problem.message
    # what was dropped: the text past the limit, the whole body less what was read
    body = len(raw.split(b"\n\n", 1)[1])
    assert f"{body - 20_000:,} characters were not" in problem.message


def test_with_room_for_the_whole_text_every_recipient_is_read_and_nothing_is_reported():
    report = analyze(_text_notice(1000), options=DEFAULT.replace(max_text=1 << 20))
    assert [r.address for r in report.recipients] == [f"user{i}@example.com" for i in range(1000)]
    assert {r.status for r in report.recipients} == {"5.1.1"}
    assert not report.problems
