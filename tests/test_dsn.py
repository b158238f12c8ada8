"""RFC 3464 field parsing with the quirks real MTAs have."""

from __future__ import annotations

import pytest

from bounce_analyzer.parse.dsn import action_of, address_of, host_of, looks_like_dsn_text, parse_fields, typed_value


def test_blocks_without_blank_lines_and_folded_diagnostics():
    text = """Reporting-MTA: dns; mx.example.com
Arrival-Date: Mon, 2 Nov 2026 10:00:00 +0000
Final-Recipient: rfc822; a@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <a@example.net>:
    Recipient address rejected: User unknown
Final-Recipient: rfc822; b@example.net
Original-Recipient: rfc822; B@Example.NET
Action: delayed
Status: 4.2.2
"""
    f = parse_fields(text)
    assert f.message.get("reporting-mta") == "dns; mx.example.com"
    assert [b.get("final-recipient") for b in f.recipients] == ["rfc822; a@example.net", "rfc822; b@example.net"]
    assert f.recipients[0].get("diagnostic-code").endswith("<a@example.net>: Recipient address rejected: User unknown")
    assert f.recipients[1].get("action") == "delayed"


def test_original_recipient_first_then_final():
    f = parse_fields("Original-Recipient: rfc822;x@example.org\nFinal-Recipient: rfc822;y@example.org\n"
                     "Action: failed\nStatus: 5.0.0\n\nOriginal-Recipient: rfc822;z@example.org\n"
                     "Final-Recipient: rfc822;w@example.org\nAction: failed\nStatus: 5.0.0\n")
    assert [(b.get("original-recipient"), b.get("final-recipient")) for b in f.recipients] == [
        ("rfc822;x@example.org", "rfc822;y@example.org"), ("rfc822;z@example.org", "rfc822;w@example.org")]


def test_unknown_fields_and_prose_are_ignored():
    f = parse_fields("Subject: hello\nSome prose: about Final things\nFinal-Recipient: a@example.com\n"
                     "Action: error\nStatus: 5.1.1\nX-Whatever: 1\n")
    assert len(f.recipients) == 1
    assert action_of(f.recipients[0].get("action")) == "failed"


def test_addresses_in_every_shape():
    assert address_of("rfc822; Alice@Example.NET") == "alice@example.net"
    assert address_of("RFC822;<bob@example.org>") == "bob@example.org"
    assert address_of("<carol@example.com>") == "carol@example.com"
    assert address_of("rfc822; Dave Smith <dave@example.com>") == "dave@example.com"
    assert address_of('rfc822; "john..doe"@example.com') == '"john..doe"@example.com'
    assert address_of("utf-8; j\\x{00F6}rg@example.de") == "jörg@example.de"
    assert address_of("rfc822; postmaster") == ""
    assert address_of("") == ""


def test_typed_values_and_hosts():
    assert typed_value("smtp; 550 no") == ("smtp", "550 no")
    assert typed_value("X-Postfix; host said") == ("x-postfix", "host said")
    assert typed_value("550 5.1.1 no such user; sorry") == ("", "550 5.1.1 no such user; sorry")
    assert host_of("dns; mx.example.net [192.0.2.1]") == "mx.example.net"
    assert host_of("dns;MX.Example.NET.") == "mx.example.net"
    assert action_of("failed (bad destination)") == "failed"
    assert action_of("") is None


def test_text_dsn_detection():
    assert looks_like_dsn_text("blah\nFinal-Recipient: rfc822; a@b.example\nStatus: 5.1.1\n")
    assert not looks_like_dsn_text("The final recipient said hello")


# ---- block splitting: each row is delivery-status text and, per recipient block kept, the fields that decide who it
# is about (Original-Recipient, Final-Recipient, X-Actual-Recipient, Status) -----------------------------------------

def _blocks(text: str) -> list[tuple[str, str, str, str]]:
    return [(b.get("original-recipient"), b.get("final-recipient"), b.get("x-actual-recipient"), b.get("status"))
            for b in parse_fields(text).recipients]


SPLITS = [
    pytest.param(  # the RFC's layout: a blank line between blocks
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.2.2\n",
        [("", "rfc822; a@example.net", "", "5.1.1"), ("", "rfc822; b@example.net", "", "5.2.2")],
        id="blank-lines"),
    pytest.param(  # no blank lines at all: a repeated Final-Recipient starts the next block
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n"
        "Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.2.2\n"
        "Final-Recipient: rfc822; c@example.net\nAction: delayed\nStatus: 4.4.1\n",
        [("", "rfc822; a@example.net", "", "5.1.1"), ("", "rfc822; b@example.net", "", "5.2.2"),
         ("", "rfc822; c@example.net", "", "4.4.1")],
        id="no-blank-lines"),
    pytest.param(  # no blank lines, Original-Recipient first in each block: the repeated Original-Recipient splits
        "Original-Recipient: rfc822; list-a@example.org\nFinal-Recipient: rfc822; a@example.net\nStatus: 5.1.1\n"
        "Original-Recipient: rfc822; list-b@example.org\nFinal-Recipient: rfc822; b@example.net\nStatus: 5.2.2\n",
        [("rfc822; list-a@example.org", "rfc822; a@example.net", "", "5.1.1"),
         ("rfc822; list-b@example.org", "rfc822; b@example.net", "", "5.2.2")],
        id="original-first-no-blank-lines"),
    pytest.param(  # after a blank line, Original-Recipient opens a new block even though the first block had none:
        # read into the first block it would pin list-b to a@example.net
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n\n"
        "Original-Recipient: rfc822; list-b@example.org\nFinal-Recipient: rfc822; b@example.net\nStatus: 5.2.2\n",
        [("", "rfc822; a@example.net", "", "5.1.1"),
         ("rfc822; list-b@example.org", "rfc822; b@example.net", "", "5.2.2")],
        id="original-first-after-blank"),
    pytest.param(  # a blank line inside a block that has only its first field so far does not split it
        "Final-Recipient: rfc822; a@example.net\n\nOriginal-Recipient: rfc822; list-a@example.org\n"
        "Action: failed\nStatus: 5.1.1\n",
        [("rfc822; list-a@example.org", "rfc822; a@example.net", "", "5.1.1")],
        id="blank-after-first-field"),
    pytest.param(  # a field repeated inside a block (here Status) starts a block of its own; with no recipient in it
        # that block is dropped, so the first Status stays with its recipient
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\nStatus: 5.0.0\n",
        [("", "rfc822; a@example.net", "", "5.1.1")],
        id="repeated-status"),
    pytest.param(  # a repeated Action after the recipient's fields, then a new recipient without a blank line
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\nAction: failed\n"
        "Final-Recipient: rfc822; b@example.net\nStatus: 5.2.2\n",
        [("", "rfc822; a@example.net", "", "5.1.1"), ("", "rfc822; b@example.net", "", "5.2.2")],
        id="repeated-action"),
    pytest.param(  # X-Actual-Recipient after Final-Recipient, as Sendmail writes it, stays in that block
        "Final-Recipient: rfc822; a@example.net\nStatus: 5.1.1\n\nFinal-Recipient: rfc822; <>\n"
        "X-Actual-Recipient: rfc822; x@example.net\nStatus: 5.2.2\n",
        [("", "rfc822; a@example.net", "", "5.1.1"), ("", "rfc822; <>", "rfc822; x@example.net", "5.2.2")],
        id="x-actual-recipient"),
    pytest.param(  # after a blank line, Original-Recipient opens a new block after a block of two fields
        "Final-Recipient: rfc822; a@example.net\nStatus: 5.1.1\n\nOriginal-Recipient: rfc822; list-b@example.org\n"
        "Final-Recipient: rfc822; b@example.net\nStatus: 5.2.2\n",
        [("", "rfc822; a@example.net", "", "5.1.1"),
         ("rfc822; list-b@example.org", "rfc822; b@example.net", "", "5.2.2")],
        id="original-first-after-two-fields"),
    pytest.param(  # a line of prose or an unknown field is no blank line: Original-Recipient after it stays
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nthe server said no\n"
        "Original-Recipient: rfc822; list-a@example.org\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; b@example.net\nAction: failed\nX-Whatever: 1\n"
        "Original-Recipient: rfc822; list-b@example.org\nStatus: 5.2.2\n",
        [("rfc822; list-a@example.org", "rfc822; a@example.net", "", "5.1.1"),
         ("rfc822; list-b@example.org", "rfc822; b@example.net", "", "5.2.2")],
        id="prose-is-no-blank-line"),
    pytest.param(  # a block named by X-Actual-Recipient alone is kept
        "X-Actual-Recipient: rfc822; x@example.net\nAction: failed\nStatus: 5.1.1\n",
        [("", "", "rfc822; x@example.net", "5.1.1")],
        id="x-actual-recipient-alone"),
    pytest.param(  # fields with no recipient field among them (an Action: line in prose) are noise
        "Action: failed\nStatus: 5.0.0\n",
        [],
        id="no-recipient-field"),
    pytest.param(  # per-message fields met between recipient blocks belong to the message, not to the block
        "Final-Recipient: rfc822; a@example.net\nReporting-MTA: dns; mx.example.com\nAction: failed\n"
        "Status: 5.1.1\n",
        [("", "rfc822; a@example.net", "", "5.1.1")],
        id="per-message-field-inside"),
    pytest.param(  # header lines of a quoted original are unknown fields: they neither split nor join a block
        "Final-Recipient: rfc822; a@example.net\nTo: b@example.net\nAction: failed\nFrom: c@example.net\n"
        "Status: 5.1.1\n",
        [("", "rfc822; a@example.net", "", "5.1.1")],
        id="unknown-fields-between"),
]


@pytest.mark.parametrize("text,blocks", SPLITS)
def test_block_splitting(text: str, blocks: list[tuple[str, str, str, str]]) -> None:
    assert _blocks(text) == blocks


def test_per_message_fields_keep_the_first_value() -> None:
    f = parse_fields("Reporting-MTA: dns; a.example.com\nFinal-Recipient: rfc822; a@example.net\nStatus: 5.1.1\n"
                     "Reporting-MTA: dns; b.example.com\nX-Postfix-Queue-ID: 4Q1\n")
    assert f.message.get("reporting-mta") == "dns; a.example.com"
    assert f.message.get("x-postfix-queue-id") == "4Q1"
    assert "reporting-mta" not in f.recipients[0].fields


# ---- the same splitting seen from a whole notice: which address is reported, and which one was delivered to -------

_DSN = """From: MAILER-DAEMON@mx.example.com
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

This is the mail system at host mx.example.com. Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

{blocks}
--b1--
"""


def _analyze_blocks(blocks: str) -> list[tuple[str, str | None, str | None, str | None]]:
    from bounce_analyzer import analyze

    report = analyze(_DSN.format(blocks=blocks).encode())
    assert report.format == "rfc3464", report.format
    return [(r.address, r.final_recipient, r.original_recipient, r.status) for r in report.recipients]


def test_original_recipient_is_the_address_reported_and_the_final_one_is_kept() -> None:
    got = _analyze_blocks(
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n\n"
        "Original-Recipient: rfc822; List-B@Example.ORG\nFinal-Recipient: rfc822; b@example.net\nAction: failed\n"
        "Status: 5.2.2\n")
    assert got == [("a@example.net", None, None, "5.1.1"),
                   ("list-b@example.org", "b@example.net", "list-b@example.org", "5.2.2")]


def test_x_actual_recipient_stands_in_for_an_empty_final_recipient() -> None:
    got = _analyze_blocks("Final-Recipient: rfc822; <>\nX-Actual-Recipient: rfc822; x@example.net\n"
                          "Action: failed\nStatus: 5.1.1\n")
    assert got == [("x@example.net", None, None, "5.1.1")]


def test_original_recipient_stands_in_when_nothing_else_names_the_recipient() -> None:
    got = _analyze_blocks("Original-Recipient: rfc822; o@example.net\nAction: failed\nStatus: 5.1.1\n")
    assert got == [("o@example.net", None, "o@example.net", "5.1.1")]


def test_the_same_original_recipient_as_the_final_one_is_no_rewrite() -> None:
    got = _analyze_blocks("Original-Recipient: rfc822; A@example.net\nFinal-Recipient: rfc822; a@example.net\n"
                          "Action: failed\nStatus: 5.1.1\n")
    assert got == [("a@example.net", None, "a@example.net", "5.1.1")]


# ---- one value at a time -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,address", [
    ("rfc822; Alice@Example.NET", "alice@example.net"),
    ("RFC822;<bob@example.org>", "bob@example.org"),
    ("x400; carol@example.com", "carol@example.com"),
    ("unknown; <dave@example.com>", "dave@example.com"),
    ("utf-8; j\\x{00F6}rg@example.de", "jörg@example.de"),
    ("UTF-8; plain@example.de", "plain@example.de"),  # utf-8 type with nothing to decode
    ("rfc822; j\\x{00F6}rg@example.de", "jörg@example.de"),  # an escape under another type is decoded too
    ("utf-8; a+2Bb@example.de", "a+b@example.de"),  # xtext
    ("rfc822; \\x{zz}@example.de", "\\x{zz}@example.de"),  # not a hexadecimal escape: kept
    ("utf-8; a\\x{FFFFFF}@example.de", "a\\x{ffffff}@example.de"),  # no such character: kept
    ("bob@example.org; comment", "bob@example.org"),  # an address before the ';' is no address type
    ("x-custom;ann@example.net", "ann@example.net"),  # any type without an '@' goes
    ("rfc822;dave@example.com; comment", "dave@example.com"),  # the first ';' ends the type
    ("rfc822; Xena@example.net", "xena@example.net"),
    ("rfc822; Name Xena@example.net", "xena@example.net"),
    ("rfc822; <ann@example.net", "ann@example.net"),  # an unclosed bracket
    ('rfc822; "old@example.org" <new@example.net> (moved)', "new@example.net"),  # the bracketed one, not the name
    ('rfc822; "john doe"@example.com', '"john doe"@example.com'),  # a quoted local part with a space
    ("rfc822; Dave Smith <dave@example.com> (sales)", "dave@example.com"),
    ("rfc822; 'eve@example.net'", "eve@example.net"),
    ('rfc822; "eve@example.net"', "eve@example.net"),
    ('rfc822; "john..doe"@example.com', '"john..doe"@example.com'),
    ("rfc822; Frank Lee frank@example.com,", "frank@example.com"),
    ("rfc822; Nobody At All", ""),
    ("rfc822; @mx.example.org", ""),
    ("rfc822; user@", ""),
    ("rfc822; postmaster", ""),
    ("", ""),
])
def test_address_of(value: str, address: str) -> None:
    assert address_of(value) == address


@pytest.mark.parametrize("value,host", [
    ("dns; mx.example.net [192.0.2.1]", "mx.example.net"),
    ("dns;MX.Example.NET.", "mx.example.net"),
    ("dns; MAIL.EXAMPLE.BOX.", "mail.example.box"),
    ("dns; XMX.EXAMPLE.NET", "xmx.example.net"),
    ("dns; [192.0.2.7]", "192.0.2.7"),
    ("dns; (mx.example.net);", "mx.example.net"),
    ("<mx.example.net>,", "mx.example.net"),
    ("X-Unix; |/usr/bin/procmail", ""),
    ("unix; procmail", ""),
    ("x-local; mailbox", ""),
    ("Local; file", ""),
    ("dns; ", ""),
    ("", ""),
])
def test_host_of(value: str, host: str) -> None:
    assert host_of(value) == host


@pytest.mark.parametrize("value,action", [
    ("failed", "failed"), ("Failed (bad destination)", "failed"), ("failed(permanent)", "failed"),
    ("failure", "failed"), ("error", "failed"), ("delayed", "delayed"), ("delay", "delayed"),
    ("delivered", "delivered"), ("deliverable", "delivered"), ("relayed", "relayed"), ("expanded", "expanded"),
    ("  FAILED  ", "failed"), ("failed permanently", "failed"), ("bounced", "bounced"), ("", None), ("   ", None),
])
def test_action_of(value: str, action: str | None) -> None:
    assert action_of(value) == action


@pytest.mark.parametrize("value,typed", [
    ("smtp; 550 no", ("smtp", "550 no")),
    ("SMTP;550 no", ("smtp", "550 no")),
    ("x-postfix; a; b", ("x-postfix", "a; b")),  # only the first ';' separates the type
    ("twenty-characters-xx; v", ("twenty-characters-xx", "v")),  # 20 characters: still a type
    ("twenty-one-characters; v", ("", "twenty-one-characters; v")),
    ("550 5.1.1 no such user; sorry", ("", "550 5.1.1 no such user; sorry")),
    ("; value", ("", "; value")),
    ("a b; c", ("", "a b; c")),  # a type has no space
    ("no separator", ("", "no separator")),
])
def test_typed_value(value: str, typed: tuple[str, str]) -> None:
    assert typed_value(value) == typed


@pytest.mark.parametrize("text,dsn", [
    ("Final-Recipient: rfc822; a@example.net\nStatus: 5.1.1\n", True),
    ("Final-Recipient: rfc822; a@example.net\nAction: failed\n", True),
    ("FINAL-RECIPIENT: a@example.net\nACTION: failed\n", True),
    ("Final-Recipient: rfc822; a@example.net\n", False),
    ("Status: 5.1.1\nAction: failed\n", False),
])
def test_text_dsn_detection_table(text: str, dsn: bool) -> None:
    assert looks_like_dsn_text(text) is dsn


def test_folded_lines_keep_their_words_and_trailing_blanks_go() -> None:
    f = parse_fields("Final-Recipient: rfc822; a@example.net   \nDiagnostic-Code: smtp; 550 5.1.1  \n\t  no such\n"
                     "   user here  \nStatus: 5.1.1\n")
    [b] = f.recipients
    assert b.get("final-recipient") == "rfc822; a@example.net"
    assert b.get("diagnostic-code") == "smtp; 550 5.1.1 no such user here"


def test_remote_mta_address_beside_the_host():
    from bounce_analyzer.parse.dsn import ip_of

    assert ip_of("dns; mx.example.net. (192.0.2.70, the server for the domain example.net.)") == "192.0.2.70"
    assert ip_of("dns; mx.example.net [198.51.100.4]") == "198.51.100.4"
    assert ip_of("dns; mail.example.net. (2001:db8:25::7, the server for the domain example.net.)") == "2001:db8:25::7"
    assert ip_of("dns; mx.example.net") is None
    assert ip_of("dns; mx.example.net (dead, beef)") is None
    assert ip_of(None) is None
