"""--format sisimai: Sisimai's field names and value conventions, one record a failed recipient."""

from __future__ import annotations

import hashlib
import json
from email.utils import parsedate_to_datetime

from bounce_analyzer import analyze_file
from bounce_analyzer.sisimai import records

from .conftest import SAMPLES, run_cli

FIELDS = {"action", "addresser", "alias", "catch", "decodedby", "deliverystatus", "destination", "diagnosticcode",
          "diagnostictype", "feedbackid", "feedbacktype", "hardbounce", "lhost", "listid", "messageid", "origin",
          "reason", "recipient", "replycode", "rhost", "senderdomain", "smtpcommand", "subject", "timestamp",
          "timezoneoffset", "token"}


def test_an_unknown_user_in_sisimai_terms():
    # samples/exim/user-unknown.eml, read by hand: the notice is dated "Tue, 03 Oct 2023 11:24:09 +0200"; the
    # original is from marketing@example.org, Message-ID <5a1c8e40-...@example.org>, "Your webinar recording"
    (rec,) = records(analyze_file(SAMPLES / "exim/user-unknown.eml", source="u.eml"))
    assert set(rec) == FIELDS
    epoch = int(parsedate_to_datetime("Tue, 03 Oct 2023 11:24:09 +0200").timestamp())
    assert rec == rec | {
        "action": "failed", "recipient": "lena.fischer@example.net", "destination": "example.net",
        "addresser": "marketing@example.org", "senderdomain": "example.org", "reason": "userunknown",
        "hardbounce": 1, "replycode": "550", "deliverystatus": "5.1.1", "diagnostictype": "SMTP",
        "smtpcommand": "RCPT", "rhost": "mx.example.net", "lhost": "mx.example.org",
        "messageid": "5a1c8e40-2f1d-4b77-9e0e-3c6a5bd10f2e@example.org", "subject": "Your webinar recording",
        "feedbackid": "webinar-oct:marketing:example-org", "timestamp": epoch, "timezoneoffset": "+0000",
        "origin": "u.eml", "catch": None, "alias": "",
    }
    framed = f"\x02marketing@example.org\x1elena.fischer@example.net\x1e{epoch}\x03".encode()
    assert rec["token"] == hashlib.sha1(framed).hexdigest()
    assert "550 5.1.1" in rec["diagnosticcode"]


def test_reasons_lose_their_underscores_and_soft_failures_are_not_hard():
    (rec,) = records(analyze_file(SAMPLES / "edge/blocklist-worded-unknown-user.eml"))
    assert (rec["reason"], rec["hardbounce"]) == ("blocked", 0)
    (rec,) = records(analyze_file(SAMPLES / "edge/godaddy-rate-limit-5-1-1.eml"))
    assert (rec["reason"], rec["hardbounce"], rec["deliverystatus"]) == ("ratelimited", 0, "5.1.1")


def test_deliveries_and_vacations_are_left_out_and_a_complaint_is_feedback():
    assert records(analyze_file(SAMPLES / "success/postfix-successful-delivery.eml")) == []
    assert records(analyze_file(SAMPLES / "autoreply/sieve-vacation.eml")) == []
    (rec,) = records(analyze_file(SAMPLES / "feedback/arf-abuse.eml"))
    assert (rec["reason"], rec["feedbacktype"], rec["recipient"], rec["action"]) == ("feedback", "abuse",
                                                                                     "reader@example.net", "")


def test_analyze_and_scan_print_one_record_a_line():
    paths = [str(SAMPLES / "exim/user-unknown.eml"), str(SAMPLES / "vendors/zoho-two-recipients.eml")]
    a = run_cli("analyze", "--format", "sisimai", *paths)
    s = run_cli("scan", "--format", "sisimai", "--no-summary", *paths)
    assert a.returncode == 0 and s.returncode == 0, (a.stderr, s.stderr)
    got = [json.loads(line) for line in a.stdout.decode().splitlines()]
    assert [r["recipient"] for r in got] == ["lena.fischer@example.net", "lee@example.org", "kim@example.org"]
    assert all(set(r) == FIELDS for r in got)
    scanned = [json.loads(line) for line in s.stdout.decode().splitlines()]
    assert [(r["recipient"], r["reason"]) for r in scanned] == [(r["recipient"], r["reason"]) for r in got]
