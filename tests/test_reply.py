"""Synchronous rejections: a reply received while sending gets the classification a bounce carrying it gets."""

from __future__ import annotations

import json

import pytest

import bounce_analyzer
from bounce_analyzer import analyze_file, classify_reply, explain
from bounce_analyzer.errors import InputError

from .conftest import SAMPLES, run_cli

TSS04 = "421 4.7.0 [TSS04] Messages from 192.0.2.60 temporarily deferred"


def test_a_reply_is_classified_like_the_bounce_that_carries_it():
    """Every failed recipient of the samples whose reply came from a remote server: its diagnostic, host and stage
    alone give the same reason, verdict and fault as the whole bounce."""
    compared = 0
    for eml in sorted(SAMPLES.rglob("*.eml")):
        for r in analyze_file(eml).recipients:
            if r.action != "failed" or r.responder.role != "remote" or r.reply_code is None:
                continue
            got = classify_reply(r.diagnostic, recipient=r.address, host=r.responder.host or r.remote_mta,
                                 command=r.smtp_command)
            # (the status may come from the notice's Status field, which a bare reply does not have)
            assert (got.reason, got.verdict, got.fault, got.reply_code) == \
                (r.reason, r.verdict, r.fault, r.reply_code), eml
            compared += 1
    assert compared >= 50


def test_provider_rules_apply_only_with_the_host():
    # Yahoo's [TSS04]: a deferral for the sending IP's volume or complaints, only Yahoo's servers say it so
    bare = classify_reply(TSS04)
    yahoo = classify_reply(TSS04, host="mta6.am0.yahoodns.net", command="RCPT")
    assert (bare.reason, bare.rule) == ("security_error", "status:X.7.0")
    assert (yahoo.reason, yahoo.rule, yahoo.fault) == ("bad_reputation", "yahoo-complaints-deferral", "sender")
    assert yahoo.action == "delayed" and yahoo.verdict == "soft" and yahoo.permanent is False
    assert yahoo.responder.host == "mta6.am0.yahoodns.net" and yahoo.smtp_command == "RCPT"
    # the recipient's domain is a host too, as in a bounce
    assert classify_reply(TSS04, recipient="ann@yahoo.com").rule == "yahoo-complaints-deferral"


def test_actions_follow_the_reply_class():
    failed = classify_reply("550 5.1.1 <bo@example.net>: Recipient address rejected: User unknown",
                            recipient="bo@example.net", command="rcpt")
    assert (failed.action, failed.reason, failed.verdict, failed.fault) == ("failed", "user_unknown", "hard",
                                                                            "recipient")
    assert failed.address == "bo@example.net" and failed.status == "5.1.1" and failed.reply_code == 550
    ok = classify_reply("250 2.1.5 Ok")
    assert (ok.action, ok.verdict, ok.fault) == ("delivered", None, None)
    assert bounce_analyzer.classify_reply is classify_reply


def test_an_unknown_stage_is_refused_by_name():
    with pytest.raises(InputError, match="QUIT: not an SMTP stage"):
        classify_reply("550 no", command="QUIT")


def test_explain_takes_the_host():
    assert explain(TSS04).rule == "status:X.7.0"
    ex = explain(TSS04, host="mta6.am0.yahoodns.net")
    assert (ex.reason, ex.fault, ex.rule, ex.host) == ("bad_reputation", "sender", "yahoo-complaints-deferral",
                                                       "mta6.am0.yahoodns.net")
    r = run_cli("explain", TSS04, "--host", "mta6.am0.yahoodns.net", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["reason"], doc["fault"], doc["rule"]) == ("bad_reputation", "sender", "yahoo-complaints-deferral")
    text = run_cli("explain", TSS04, "--host", "mta6.am0.yahoodns.net").stdout.decode()
    assert "fault:       sender" in text and "answered by: mta6.am0.yahoodns.net" in text
