"""The helpers under the readers: encoded words, charsets, header blocks, dates, delivery-status field names, the
feed parser's line buffer and the time limit every pattern runs under."""

from __future__ import annotations

import email
import email.policy
import signal
import threading
import time

import pytest

from bounce_analyzer.parse import bounded as rx
from bounce_analyzer.parse import dsn
from bounce_analyzer.parse.dates import notice_date
from bounce_analyzer.parse.message import (
    decode_encoded_words,
    parse_bytes,
    parse_headers_text,
    part_text,
)


def test_base64_words_in_either_case_and_with_a_stray_character():
    assert decode_encoded_words("=?utf-8?b?SGVsbG8=?=") == "Hello"
    assert decode_encoded_words("=?utf-8?B?SGVsbG8=?=") == "Hello"
    # 13 characters: the stray last one is dropped and the twelve before it still decode
    assert decode_encoded_words("=?utf-8?B?SGVsbG8gV29yb?=") == "Hello Wor"


def test_an_encoded_word_is_read_in_its_own_charset():
    # KOI8-R bytes that Windows-1252 (the last resort) would turn into Latin letters
    assert decode_encoded_words("=?koi8-r?Q?=F0=D2=C9=D7=C5=D4?=") == "Привет"
    assert decode_encoded_words("=?iso-8859-2?Q?=B1?=") == "ą"


def test_a_text_part_is_read_in_its_declared_charset():
    msg = parse_bytes(b"Content-Type: text/plain; charset=iso-8859-2\n\nza\xbf\xf3\xb3\xe6\n")
    assert part_text(msg) == "zażółć\n"
    msg = parse_bytes(b"Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9 cr\xe8me\n")
    assert part_text(msg) == "café crème\n"


def test_a_part_declared_ascii_or_latin1_that_holds_utf8_is_read_as_utf8():
    # senders declare the default charset whatever they write: the bytes of UTF-8 "é" are one "é", not "Ã©"
    for declared in (b"iso-8859-1", b"us-ascii", b"windows-1252", b"unknown-8bit"):
        msg = parse_bytes(b"Content-Type: text/plain; charset=" + declared + b"\n\ncaf\xc3\xa9\n")
        assert part_text(msg) == "caf\u00e9\n", declared


def test_a_part_declared_latin1_is_read_as_windows_1252():
    # Windows-1252's curly quotes and dashes stand where ISO-8859-1 has control codes no text holds
    msg = parse_bytes(b"Content-Type: text/plain; charset=iso-8859-1\n\n\x93k.osei@example.org\x94 \x96 doesn\x92t\n")
    assert part_text(msg) == "\u201ck.osei@example.org\u201d \u2013 doesn\u2019t\n"
    # a byte Windows-1252 leaves undefined keeps its Latin-1 reading
    msg = parse_bytes(b"Content-Type: text/plain; charset=iso-8859-1\n\n\x81\xe9\n")
    assert part_text(msg) == "\x81\u00e9\n"


def test_a_header_block_keeps_its_values_whole():
    msg = parse_headers_text("Subject: Xmas greetings\nFrom:\t XX <a@example.com>\n")
    assert msg["subject"] == "Xmas greetings"
    assert msg["from"] == "XX <a@example.com>"


def test_a_date_without_seconds_or_with_a_four_digit_year_under_100_is_read_by_the_general_parser():
    def date_of(value: str) -> str | None:
        return notice_date(parse_bytes(f"Date: {value}\nSubject: x\n\nbody\n".encode()))

    assert date_of("Thu, 29 Apr 1999 23:34 +0900") == "1999-04-29T14:34:00+00:00"
    # the general parser reads a year under 100 as the last century's or this one's, as mail has always done
    assert date_of("Thu, 29 Apr 0099 23:34:45 +0000") == "1999-04-29T23:34:45+00:00"
    assert date_of("Thu, 29 Apr 1999 23:34:45 +0900") == "1999-04-29T14:34:45+00:00"


def test_a_date_is_given_in_utc_whatever_the_machine_s_zone(monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not on this system")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        msg = parse_bytes(b"Date: Thu, 29 Apr 1999 23:34 +0200\nSubject: x\n\nbody\n")
        assert notice_date(msg) == "1999-04-29T21:34:00+00:00"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_delivery_status_field_is_named_exactly():
    fields = dsn.parse_fields("Final-Recipient: rfc822; a@example.net\nStatusX: 5.1.1\nAction: failed\n")
    (block,) = fields.recipients
    assert block.fields == {"final-recipient": "rfc822; a@example.net", "action": "failed"}


def test_the_feed_parser_ends_a_part_only_at_its_boundary_line():
    # carriage returns send the message to the feed parser, whose line buffer is ours
    raw = (b"Content-Type: multipart/mixed; boundary=abc\r\n\r\n--abc\r\nContent-Type: text/plain\r\n\r\none\r\n"
           b"--abcX\r\ntwo\r\n--abc--\r\n")
    ours = parse_bytes(raw)
    theirs = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert [p.get_payload() for p in ours.get_payload()] == [p.get_payload() for p in theirs.get_payload()]
    assert "--abcX" in ours.get_payload()[0].get_payload()


def test_every_pattern_runs_under_the_time_limit():
    runaway = rx.compile(r"(a|aa)+$")
    token = rx.TIMEOUT.set(0.05)
    try:
        for run in (rx.match, rx.search):
            with pytest.raises(TimeoutError):
                run(runaway, "a" * 40 + "!")
    finally:
        rx.TIMEOUT.reset(token)


@pytest.mark.parametrize("held", [True, False])
def test_every_way_of_running_a_pattern_is_stopped_with_and_without_the_timer(held):
    runaway = rx.compile(r"(a|aa)+$")
    text = "a" * 40 + "!"
    token = rx.TIMEOUT.set(0.05)
    took = rx.hold_timer(0.05) if held else False
    try:
        assert took == held and rx.timing() == held  # (pytest runs the tests in the main thread)
        runs = [lambda: rx.search(runaway, text), lambda: rx.match(runaway, text), lambda: rx.sub(runaway, "", text),
                lambda: list(rx.finditer(runaway, text)), lambda: rx.split(runaway, text),
                lambda: rx.Gated(r"(a|aa)+$").search(text, text)]
        for run in runs:
            with pytest.raises(TimeoutError):
                run()
        # a pattern that ends in time is not stopped, however long the thread has held the timer
        assert rx.search(rx.compile("(a|aa)+!"), text) is not None
    finally:
        if took:
            rx.release_timer()
        rx.TIMEOUT.reset(token)


def test_the_timer_is_taken_only_where_it_is_free_and_given_back_as_it_was():
    assert not rx.timing()
    assert rx.hold_timer(0.5)
    assert not rx.hold_timer(0.5)  # held already
    rx.release_timer()
    assert signal.getsignal(signal.SIGVTALRM) == signal.SIG_DFL and signal.getitimer(signal.ITIMER_VIRTUAL) == (0, 0)
    assert not rx.hold_timer(0) and not rx.hold_timer(None)  # no limit: nothing to keep time for
    calls = []
    previous = signal.signal(signal.SIGVTALRM, lambda *a: calls.append(a))  # the program's own use of the signal
    try:
        assert not rx.hold_timer(0.5)
    finally:
        signal.signal(signal.SIGVTALRM, previous)
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(rx.hold_timer(0.5)))  # signals reach the main thread only
    thread.start()
    thread.join()
    assert results == [False] and calls == []


def test_a_needing_pattern_answers_as_the_pattern_alone_and_runs_under_the_time_limit():
    reply = rx.Needing(r"(?<!\d)([245]\d\d)[ -]([245]\.\d{1,3}\.\d{1,3})", need=r"[245]\.\d")
    alone = rx.compile(reply.pattern.pattern)
    texts = ["550 5.1.1 unknown", "said: 451-4.7.1 later", "550 only", "5.1.1 only", "x 550 5.1.1", "", "2.0.0",
             "codes 550 5.1.1 and 421 4.4.2"]
    for text in texts:
        for pos in range(len(text) + 1):
            ours, theirs = reply.search(text, pos), rx.search(alone, text, pos)
            assert (ours and ours.span()) == (theirs and theirs.span()), (text, pos)
        assert [m.span() for m in reply.finditer(text)] == [m.span() for m in rx.finditer(alone, text)]
        assert (reply.match(text) and reply.match(text).span()) == (rx.match(alone, text) and
                                                                   rx.match(alone, text).span())  # type: ignore[union-attr]
    assert rx.Needing(r"^>>>\s*rcpt", rx.I, need=">>>").search("x\n>>> RCPT TO") is None  # ^ is the text's start
    assert rx.Needing(r"RCPT", rx.I, need="rcpt").search(">>> rcpt") is not None  # the piece follows the flags
    runaway = rx.Needing(r"(a|aa)+$", need="a")
    token = rx.TIMEOUT.set(0.05)
    try:
        with pytest.raises(TimeoutError):
            runaway.search("a" * 40 + "!")
    finally:
        rx.TIMEOUT.reset(token)


@pytest.mark.parametrize("need", [r"\d+", "a*", "(ab)", "a|b", "x?", r"\d{3}"])
def test_a_needed_piece_must_have_a_fixed_width(need):
    with pytest.raises(ValueError, match="fixed-width"):
        rx.Needing("abc", need=need)


def test_the_quoted_original_starts_at_the_first_line_that_begins_with_a_marker():
    from bounce_analyzer.notice import _cut_original

    markers = ("------ this is a copy of the message", "original message follows", "| quoted below")
    head = "Delivery failed.\nThe original message follows this notice, below.\n"  # a marker inside a sentence
    for lead in ("", "   ", "-- ", "> > ", "\t[(", "=====|"):
        notice = f"{head}{lead}Original message follows:\nSubject: hi\n"
        # (the marker's line goes whole with the copy, its leading rule or quote marks too)
        assert _cut_original(notice, markers) == (head, f"{lead}Original message follows:\nSubject: hi\n")
    # drawn with any number of dashes; at the very start of the text; a marker that itself begins with a leading
    # character is looked for on its own
    assert _cut_original("--- This is a copy of the message\nx", markers) == (
        "", "--- This is a copy of the message\nx")
    assert _cut_original("Original message follows\n", markers) == ("", "Original message follows\n")
    assert _cut_original("a\n  | quoted below\nb", markers) == ("a\n", "  | quoted below\nb")
    assert _cut_original("no marker here\n", markers) == ("no marker here\n", "")
    # a marker may hold the end of its line
    assert _cut_original("x\n-- Original message:\nFrom: a\n", ("original message:\n",)) == (
        "x\n", "-- Original message:\nFrom: a\n")
    assert _cut_original("x\nOriginal message: see below\n", ("original message:\n",))[1] == ""
    # a line of nothing but leading characters is read once: linear time
    long = "-" * 200_000 + "x\n" + "original message follows"
    assert _cut_original(long, markers)[1] == "original message follows"
    # a forwarded notice's "-----Original Message-----" line stays whole, for the forward to be read
    assert _cut_original("See below.\n\n-----Original Message-----\nFrom: a\n", ("-----original message-----",)) == (
        "See below.\n\n", "-----Original Message-----\nFrom: a\n")


def test_delivery_status_fields_in_a_text_part_are_read_as_the_part_they_stand_for():
    from bounce_analyzer.classify.rules import default
    from bounce_analyzer.notice import read_notice
    from bounce_analyzer.options import DEFAULT

    def read(raw: bytes) -> tuple[str, list[str]]:
        b, _ = read_notice(parse_bytes(raw), default(), DEFAULT)
        return b.notice, b.dsn_texts

    fields = "Reporting-MTA: dns; gate.example.org\n\nFinal-Recipient: rfc822; a@example.net\nAction: failed"
    # a text part of their own after the notice's words
    raw = ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
           "Not delivered.\n--b\nContent-Type: text/plain\n\n" + fields + "\n--b--\n").encode()
    assert read(raw) == ("Not delivered.", [fields])
    # paragraphs of one text, between the notice's words and the copy of the original (X- fields and folded lines
    # belong to them; a paragraph with a line of prose does not)
    more = fields + "\nX-Vendor-Class: bad-mailbox\nDiagnostic-Code: smtp; 550 5.1.1 no such\n    user here"
    original = "----- Original message -----\n\nSubject: hi\n\nFinal-Recipient: rfc822; b@example.net\nAction: failed\n"
    one = ("Content-Type: text/plain\n\nNot delivered. The report:\n\n" + more + "\n\n" + original).encode()
    # (the notice ends where the marker's line starts; the fields quoted in the original stay there)
    assert read(one) == ("Not delivered. The report:\n\n", [more])
    prose = one.replace(b"Reporting-MTA: dns", b"The report follows.\nReporting-MTA: dns")
    assert read(prose)[1] == [more.split("\n\n", 1)[1]]
    # a notice that is nothing but fields keeps them as its text
    alone = ("Content-Type: text/plain\n\n" + fields).encode()
    assert read(alone) == (fields, [])


def test_encoded_words_in_delivery_status_fields_sent_as_text_are_decoded_as_in_the_part():
    """An address whose local part is not ASCII is written as an encoded word; a delivery-status part's fields are
    decoded, and so are the same fields sent as text (as a part of their own, or as paragraphs of one text)."""
    from bounce_analyzer.classify.rules import load
    from bounce_analyzer.notice import _read_parts, read_notice
    from bounce_analyzer.options import DEFAULT

    fields = "Reporting-MTA: dns; gate.example.org\n\nFinal-Recipient: rfc822; {}@example.net\nAction: failed"
    encoded, decoded = fields.format("=?utf-8?q?j=C3=BCrgen?="), fields.format("j\u00fcrgen")
    part = ("MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
            "--b\nContent-Type: text/plain\n\nNot delivered.\n--b\nContent-Type: message/delivery-status\n\n"
            + encoded + "\n--b--\n").encode()
    assert _read_parts(parse_bytes(part), DEFAULT)[1] == [decoded]
    as_text = part.replace(b"message/delivery-status", b"text/plain")
    assert _read_parts(parse_bytes(as_text), DEFAULT)[1] == [decoded]
    one = ("Content-Type: text/plain\n\nNot delivered.\n\n" + encoded + "\n\n----- Original message -----\n"
           "\nSubject: hi\n").encode()
    assert read_notice(parse_bytes(one), load(), DEFAULT)[0].dsn_texts == [decoded]


def test_fields_sent_as_text_with_a_space_before_the_colon_and_a_field_of_the_servers_own_are_fields():
    from bounce_analyzer.notice import _read_parts
    from bounce_analyzer.options import DEFAULT

    fields = ("Date-Style : dd MMM yyyy\nReporting-MTA : dns;gate.example.org\nAction : failed\nStatus : 5.0.0\n"
              "Remote-MTA : mx.example.net\nFinal-Recipient : rfc822;a@example.net")
    raw = ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
           "Not delivered.\n--b\nContent-Type: text/plain\n\n" + fields + "\n--b--\n").encode()
    assert _read_parts(parse_bytes(raw), DEFAULT)[:2] == ("Not delivered.", [fields])
    # as many lines of other names as known fields: a header block, not delivery-status fields
    headers = "Subject : hi\nFrom : a@example.org\nTo : b@example.net\nAction : failed\nFinal-Recipient : b@example.net"
    assert _read_parts(parse_bytes(raw.replace(fields.encode(), headers.encode())), DEFAULT)[1] == []


def test_the_comment_on_a_status_code_is_what_the_mta_says_of_the_failure():
    assert dsn.status_comment("4.0.0 (mx.example.net: host name lookup failure)") == (
        "mx.example.net: host name lookup failure")
    assert dsn.status_comment("5.1.1") == dsn.status_comment("") == dsn.status_comment(None) == ""
    assert dsn.status_comment("(5.1.1)") == ""  # no code before it


def test_a_finder_finds_every_string_present_overlapping_or_not_and_survives_pickling():
    import pickle

    from bounce_analyzer.parse.literals import Finder

    finder = Finder(["user unknown", "unknown", "know", "ab", "b", "überfüllt", "\udcff", "missing"])
    text = "550 user unknown, postfach überfüllt \udcff ab"
    # the same answer from the first texts (strings tested one by one) and the later ones (the automaton)
    answers = [finder.present(text) for _ in range(12)]
    assert answers == [{"user unknown", "unknown", "know", "ab", "b", "überfüllt", "\udcff"}] * 12
    again = pickle.loads(pickle.dumps(finder))  # (the rules cache keeps it: the strings, not the automaton)
    assert again.present(text) == finder.present(text) and again.present("") == set()
    assert Finder([]).present(text) == set()


def test_a_child_forked_while_the_timer_is_held_keeps_time_with_timeout():
    import os

    assert rx.hold_timer(0.5)
    try:
        pid = os.fork()
        if pid == 0:  # the child: no timer of its own (timers are not inherited), so patterns must not rely on it
            code = 0 if not rx.timing() and signal.getsignal(signal.SIGVTALRM) == signal.SIG_DFL else 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
    finally:
        rx.release_timer()
    assert os.waitstatus_to_exitcode(status) == 0
