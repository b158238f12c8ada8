"""RFC 3464 field parsing with the quirks real MTAs have."""

from __future__ import annotations

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
