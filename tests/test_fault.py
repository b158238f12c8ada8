"""Whose side a failure is on (``fault``): per reason, overridden by a rule where the wording decides, and carried
into every output."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from bounce_analyzer import analyze, analyze_file
from bounce_analyzer.classify.check import check
from bounce_analyzer.classify.rules import FAULTS, load
from bounce_analyzer.errors import RulesError

from .conftest import SAMPLES, run_cli

# each message was read by hand: what failed, and on whose side
CASES = [
    # a rate limit sent as 5.1.1: the text says the sender's account sent too much
    ("edge/godaddy-rate-limit-5-1-1.eml", "dan.price@example.net", "rate_limited", "sender"),
    # "550 5.1.1 ... client host [198.51.100.7] blocked using zen.spamhaus": the sending IP is listed
    ("edge/blocklist-worded-unknown-user.eml", "elif.demir@example.net", "blocked", "sender"),
    ("exim/user-unknown.eml", "lena.fischer@example.net", "user_unknown", "recipient"),
    # five days of connection timeouts, then the queue gave up
    ("postfix/expired-connection-timeout.eml", "accounts@example.net", "expired", "network"),
    # a delay warning: "452 4.3.1 Insufficient system storage" at the destination
    ("delay/sendmail-warning-4-hours.eml", "k.obi@example.org", "system_full", "destination"),
]


@pytest.mark.parametrize(("name", "address", "reason", "fault"), CASES)
def test_fault_of_sample_bounces(name, address, reason, fault):
    report = analyze_file(SAMPLES / name)
    r = next(r for r in report.recipients if r.address == address)
    assert (r.reason, r.fault) == (reason, fault)
    assert r.to_dict()["fault"] == fault


def test_every_failure_reason_has_a_fault_and_non_failures_have_none():
    rules = load()
    for reason in rules.reasons.values():
        if reason.verdict == "none":
            assert reason.fault is None, reason.id
        else:
            assert reason.fault in FAULTS, reason.id


def test_a_delivered_recipient_and_a_complaint_have_no_fault():
    success = next(SAMPLES.glob("success/*.eml"))
    report = analyze_file(success)
    assert report.recipients and all(r.fault is None for r in report.recipients if r.action == "delivered")
    feedback = analyze_file(next(SAMPLES.glob("feedback/*.eml")))
    assert all(r.fault is None for r in feedback.recipients)


LOOP = (b"From: MAILER-DAEMON@mx.example.com\nTo: list@example.com\nSubject: Undelivered Mail Returned to Sender\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n"
        b"Content-Type: text/plain\n\nThe mail system\n--b\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; ana@example.net\nAction: failed\n"
        b"Status: 5.0.0\nDiagnostic-Code: smtp; 554 Hop count exceeded - possible mail loop\n--b--\n")


def test_a_rule_overrides_the_reason_fault_where_its_wording_decides():
    r = analyze(LOOP).recipients[0]
    # network_error is the network's fault in general; a loop is the receiving domain's routing mistake
    assert (r.reason, r.rule, r.fault) == ("network_error", "network-error-loop", "destination")
    assert load().reasons["network_error"].fault == "network"


def test_user_rules_may_set_a_fault_and_bad_values_are_refused(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('schema = 1\n[[rule]]\nid = "my-loop"\nreason = "network_error"\ncontains = ["hop count"]\n'
                 'priority = 70\nfault = "sender"\nexamples.match = ["hop count exceeded"]\n'
                 'examples.no_match = ["user unknown"]\n')
    assert analyze(LOOP, rules=[f]).recipients[0].fault == "sender"
    f.write_text(f.read_text().replace('fault = "sender"', 'fault = "theirs"'))
    with pytest.raises(RulesError, match=r'my-loop.*field "fault" must be one of'):
        load([f])


def test_rules_check_refuses_a_hint_that_drops_an_address_for_a_sender_fault(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('schema = 1\n[[rule]]\nid = "ip-listed"\nreason = "blocked"\ncontains = ["listed at"]\n'
                 'hint = "List manager: suppress this address."\n'
                 'examples.match = ["ip listed at bl.example"]\nexamples.no_match = ["user unknown"]\n')
    problems = check(load([f]))
    assert any('"ip-listed": its fault is "sender" but its hint says to drop the address' in p for p in problems)
    assert check(load()) == []  # the shipped hints agree with their faults


def test_fault_reaches_csv_store_and_summary(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name, *_ in CASES:
        (src / name.replace("/", "-")).write_bytes((SAMPLES / name).read_bytes())
    db = str(tmp_path / "r.sqlite")
    r = run_cli("scan", "--db", db, "--format", "csv", str(src))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout.decode(), newline="")))
    got = {row["address"]: row["fault"] for row in rows}
    for _, address, _, fault in CASES:
        assert got[address] == fault
    stored = dict(sqlite3.connect(db).execute("SELECT address, fault FROM recipients"))
    assert all(stored[a] == f for _, a, _, f in CASES)
    # the five cases hold 3 soft failed recipients: 2 sender, 1 network (the delays are not failures)
    assert "soft failures by fault" in r.stderr.decode()


def test_an_older_store_gets_the_fault_column(tmp_path):
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                      "INSERT INTO meta VALUES ('schema', '1');"
                      "CREATE TABLE recipients (source_id TEXT NOT NULL, idx INTEGER NOT NULL, address TEXT NOT NULL,"
                      " domain TEXT, action TEXT, status TEXT, reply_code INTEGER, reason TEXT, verdict TEXT,"
                      " responder_role TEXT, responder_host TEXT, responder_ip TEXT, smtp_command TEXT,"
                      " diagnostic TEXT, hint TEXT, rule TEXT, PRIMARY KEY (source_id, idx));")
    con.close()
    r = run_cli("scan", "--db", str(db), "--format", "jsonl", str(SAMPLES / "exim" / "user-unknown.eml"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["recipients"][0]["fault"] == "recipient"
    assert sqlite3.connect(db).execute("SELECT fault FROM recipients").fetchall() == [("recipient",)]


def test_csv_carries_the_campaign_data(tmp_path):
    # samples/postfix/verp-blocklist.eml, read by hand: the original has "List-Id: Birdwatchers Weekly
    # <weekly.lists.example.org>", "X-Campaign-ID: wk36-2023" and went out from bounces+alice=example.com@...;
    # samples/exim/user-unknown.eml has "Feedback-ID: webinar-oct:marketing:example-org"
    r = run_cli("scan", "--format", "csv", "--no-summary", "--header", "X-Campaign-ID", "--header", "X-Nowhere",
                str(SAMPLES / "postfix" / "verp-blocklist.eml"), str(SAMPLES / "exim" / "user-unknown.eml"))
    assert r.returncode == 0, r.stderr
    reader = csv.DictReader(io.StringIO(r.stdout.decode(), newline=""))
    assert reader.fieldnames is not None and reader.fieldnames[-2:] == ["X-Campaign-ID", "X-Nowhere"]
    verp, feedback = list(reader)
    assert (verp["list_id"], verp["verp_recipient"], verp["X-Campaign-ID"], verp["X-Nowhere"]) == (
        "Birdwatchers Weekly <weekly.lists.example.org>", "alice@example.com", "wk36-2023", "")
    assert (verp["fault"], feedback["fault"]) == ("sender", "recipient")
    assert feedback["feedback_id"] == "webinar-oct:marketing:example-org" and feedback["X-Campaign-ID"] == ""


def test_rules_check_refuses_a_code_hint_that_drops_an_address_for_a_sender_fault(tmp_path):
    f = tmp_path / "codes.toml"
    f.write_text('schema = 1\n[[status]]\ncode = "X.7.1"\ntitle = "Refused"\nmeaning = "m"\nreason = "blocked"\n'
                 'hint = "Remove the address from your list."\n')
    problems = check(load([f]))
    assert problems == ['code "X.7.1": its reason\'s fault is "sender" but its hint says to drop the address']


def test_text_outputs_say_whose_fault():
    eml = str(SAMPLES / "edge" / "blocklist-worded-unknown-user.eml")
    text = run_cli("analyze", "--format", "text", eml).stdout.decode()
    assert "      fault:       sender\n" in text
    line = run_cli("scan", "--format", "text", "--no-summary", eml).stdout.decode()
    assert line.rstrip("\n").endswith("elif.demir@example.net  550 5.1.1  blocked  SOFT  sender")
