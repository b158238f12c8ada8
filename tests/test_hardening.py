"""Hostile and odd inputs: each case found by probing, reproduced here and held fixed."""

from __future__ import annotations

import pytest

from bounce_analyzer import analyze
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
