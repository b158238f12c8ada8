"""The library entry points on inputs no sample covers: limits, bad input, options and the original message."""

from __future__ import annotations

import signal
import threading

import pytest

from bounce_analyzer import STRICT, InputError, Kind, Options, Report, analyze, analyze_file
from bounce_analyzer.batch.workers import analyze_batch
from bounce_analyzer.classify.rules import load

DSN = """From: MAILER-DAEMON@mx.example.com
To: bounces+alice=example.net@lists.example.org
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.com.

<alice@example.net>: host mx.example.net[192.0.2.7] said: 550 5.1.1 <alice@example.net>:
    Recipient address rejected: User unknown (in reply to RCPT TO command)

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; alice@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown

--B
Content-Type: message/rfc822

From: News <news@example.org>
To: alice@example.net
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
Message-ID: <n1@example.org>
X-Campaign-ID: spring-42
List-Id: <news.example.org>

body
--B--
"""


def test_str_input_and_everything_a_list_manager_needs():
    report = analyze(DSN, options=Options(extra_headers=("X-Campaign-ID", "X-Absent")))
    (r,) = report.recipients
    assert (r.address, r.reply_code, r.status, r.reason, r.verdict, r.permanent) == (
        "alice@example.net", 550, "5.1.1", "user_unknown", "hard", True)
    assert (r.responder.role, r.responder.host, r.responder.ip) == ("remote", "mx.example.net", "192.0.2.7")
    assert r.smtp_command == "RCPT"
    o = report.original
    assert o is not None
    assert (o.message_id, o.subject, o.list_id) == ("<n1@example.org>", "Grüße", "<news.example.org>")
    assert o.headers == (("X-Campaign-ID", "spring-42"),)
    assert o.verp_recipient == "alice@example.net"
    assert report.to_dict()["original"]["headers"] == {"X-Campaign-ID": "spring-42"}


def test_oversized_message_is_cut_and_said_so():
    raw = DSN.encode() + b"x" * 5000
    report = analyze(raw, options=Options(max_size=len(DSN) - 200))
    assert [p.kind for p in report.problems] == ["truncated"]
    assert "were analyzed" in report.problems[0].message


def test_a_huge_attachment_is_not_decoded():
    blob = b"QUJD" * 3_000_000  # 12 MB of base64
    raw = DSN.replace("body\n", "").encode().replace(
        b"--B--", b"--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n" + blob + b"\n--B--")
    report = analyze(raw, options=Options(max_size=20_000_000))
    assert report.recipients[0].reason == "user_unknown"


def test_a_runaway_pattern_is_stopped_and_reported(tmp_path):
    rules = tmp_path / "slow.toml"
    rules.write_text("schema = 1\n[[rule]]\nid = \"slow-one\"\nreason = \"blocked\"\nregex = '''(a|aa)+$'''\n"
                     "priority = 90\n")
    raw = DSN.replace("User unknown", "a" * 60 + "!")
    report = analyze(raw, rules=[rules], options=Options(regex_timeout=0.05))
    assert [p.kind for p in report.problems] == ["regex-timeout"]
    with pytest.raises(TimeoutError):
        analyze(raw, rules=[rules], options=STRICT.replace(regex_timeout=0.05))
    # the same in a thread, where patterns keep time without the timer signal, which only the main thread gets
    found: list[Report] = []
    thread = threading.Thread(target=lambda: found.append(analyze(raw, rules=[rules],
                                                                  options=Options(regex_timeout=0.05))))
    thread.start()
    thread.join()
    assert [p.kind for p in found[0].problems] == ["regex-timeout"]


def test_a_batch_goes_on_after_a_runaway_pattern_and_gives_the_timer_back(tmp_path):
    rules = tmp_path / "slow.toml"
    rules.write_text("schema = 1\n[[rule]]\nid = \"slow-one\"\nreason = \"blocked\"\nregex = '''(a|aa)+$'''\n"
                     "priority = 90\n")
    slow, fine = DSN.replace("User unknown", "a" * 60 + "!"), DSN
    tasks = [(name, raw.encode(), len(raw), None) for name, raw in (("slow", slow), ("fine", fine), ("slow2", slow))]
    done = analyze_batch(tasks, load([rules]), Options(regex_timeout=0.05))
    assert [[p.kind for p in a.report.problems] for a in done] == [["regex-timeout"], [], ["regex-timeout"]]
    assert done[1].report.recipients[0].reason == "user_unknown"
    assert signal.getsignal(signal.SIGVTALRM) == signal.SIG_DFL and signal.getitimer(signal.ITIMER_VIRTUAL) == (0, 0)


def test_raw_8bit_headers_are_read():
    raw = ("From: MAILER-DAEMON@mx.example.com\nSubject: Non remis : réunion\nContent-Type: text/plain\n\n"
           "hello\n").encode("latin-1")
    assert analyze(raw).subject == "Non remis : réunion"


def test_analyze_file_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"missing\.eml: no such file"):
        analyze_file(tmp_path / "missing.eml")
    with pytest.raises(InputError, match="is a directory"):
        analyze_file(tmp_path)
    p = tmp_path / "b.eml"
    p.write_text(DSN)
    assert analyze_file(p).source == str(p)
    assert analyze_file(p).kind is Kind.FAILURE


def test_a_bounce_with_no_readable_recipient_says_so():
    raw = b"From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail\n\nThis message could not be delivered.\n"
    report = analyze(raw)
    assert report.is_bounce and report.recipients == ()
    assert [p.kind for p in report.problems] == ["no-recipient"]


def test_an_autoreply_that_gives_a_new_address():
    raw = ("From: Ana Ruiz <ana@example.net>\nTo: list@example.org\nSubject: Automatic reply: agenda\n"
           "Auto-Submitted: auto-replied\n\nMi nueva dirección es ana.ruiz@example.com, por favor.\n")
    report = analyze(raw)
    assert report.kind is Kind.AUTOREPLY and not report.is_bounce and report.failed == ()
    (r,) = report.recipients
    assert (r.address, r.action, r.reason, r.verdict) == ("ana@example.net", "autoreplied", "has_moved", None)
    assert ("new_address", "ana.ruiz@example.com") in [(e.field, e.text) for e in r.evidence]


def test_a_lure_with_a_bounce_subject_is_not_a_bounce():
    raw = ("From: MAILER-DAEMON@mail.example\nTo: bob@example.org\nSubject: Undelivered Mail Returned to Sender\n\n"
           "3 messages could not be delivered to your inbox.\nClick here to release your messages:\n"
           "https://release.example/x\n")
    report = analyze(raw)
    assert report.kind is Kind.NOT_BOUNCE and report.recipients == () and report.problems == ()


def test_a_status_field_that_contradicts_the_servers_reply_is_recorded():
    from .conftest import SAMPLES

    report = analyze((SAMPLES / "edge" / "dsn-status-contradicts-text.eml").read_bytes())
    (r,) = report.recipients
    assert r.status == "5.2.2" and r.reason == "mailbox_full"
    conflicts = [e.text for e in r.evidence if e.source == "conflict"]
    assert conflicts and "5.1.1" in conflicts[0] and "5.2.2" in conflicts[0]


@pytest.mark.parametrize("value,iso", [
    ("Thu, 29 Apr 1999 23:34:45 +0900", "1999-04-29T14:34:45+00:00"),
    ("29 Apr 1999 23:34:45 -0930 (XYZ)", "1999-04-30T09:04:45+00:00"),
    ("16 Apr 2025 13:05:14 -0000", "2025-04-16T13:05:14+00:00"),
    ("Wed, 07 Jun 23 16:02:11 +0900", "2023-06-07T07:02:11+00:00"),
    ("Mon, 31 Feb 2020 10:00:00 +0000", None),
    ("Fri, 31 Dec 9999 23:30:00 -0100", None),
    ("not a date", None),
])
def test_the_notice_date_in_utc(value, iso):
    report = analyze(f"From: a@example.org\nDate: {value}\n\nhello\n")
    assert report.to_dict()["date"] == report.iso_date == iso  # ISO text in JSON
    if iso is None:
        assert report.date is None
    else:  # a datetime in Python, in UTC
        from datetime import UTC, datetime

        assert report.date == datetime.fromisoformat(iso) and report.date.utcoffset() is not None
        assert report.date.tzinfo is UTC


def test_a_rejection_that_talks_about_approved_senders_is_still_a_bounce():
    raw = ("From: MAILER-DAEMON@mx.example.org\nTo: a@example.org\nSubject: failure notice\n\n"
           "Hi. This is the qmail-send program at mx.example.org.\n"
           "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
           "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
           "<b@example.net>:\n192.0.2.5 does not like recipient.\n"
           "Remote host said: 550 5.7.1 Held until you verify: sender not in my list of approved senders\n"
           "Giving up on 192.0.2.5.\n")
    report = analyze(raw)
    assert report.kind is Kind.FAILURE and [r.address for r in report.failed] == ["b@example.net"]


def test_a_diagnostic_cut_to_its_limit_is_said():
    from bounce_analyzer.classify.engine import MAX_DIAGNOSTIC

    lines = "\n".join("    " + "more words " * 6 for _ in range(60))
    raw = ("From: MAILER-DAEMON@mx.example.net\nTo: a@example.org\nSubject: Undelivered Mail Returned to Sender\n\n"
           "Your message could not be delivered.\n\n<b@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 "
           f"unknown user\n{lines}\n").encode()
    report = analyze(raw)
    (r,) = report.recipients
    assert len(r.diagnostic) == MAX_DIAGNOSTIC and r.reason == "user_unknown"
    assert [p.kind for p in report.problems] == ["diagnostic-truncated"]
    assert "b@example.com" in report.problems[0].message


def test_only_the_start_of_a_huge_diagnostic_is_read_and_the_report_says_so():
    from bounce_analyzer.classify.engine import MAX_READ

    folded = "\n".join("  " + "x" * 98 for _ in range(MAX_READ // 100 + 500))
    raw = ("From: MAILER-DAEMON@mx.example.net\nTo: a@example.org\nSubject: Delivery Status Notification\n"
           "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
           "--b\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
           "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
           "Final-Recipient: rfc822; b@example.com\nAction: failed\nStatus: 5.2.2\n"
           f"Diagnostic-Code: smtp; 552 5.2.2 mailbox full\n{folded}\n  user unknown\n\n--b--\n").encode()
    report = analyze(raw)
    (r,) = report.recipients
    assert (r.status, r.reason) == ("5.2.2", "mailbox_full")  # "user unknown", after the cut, is not read
    assert [p.kind for p in report.problems] == ["diagnostic-truncated", "diagnostic-truncated"]
    assert f"longer than {MAX_READ:,} characters; only the first were read" in report.problems[1].message


def test_a_delivery_status_part_with_no_readable_recipient_still_names_the_reporting_mta():
    raw = (b"From: Mail Delivery Subsystem <MAILER-DAEMON>\nTo: a@example.org\nSubject: Returned mail\n"
           b"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
           b"--b\nContent-Type: text/plain\n\n"
           b"   ----- The following addresses had permanent fatal errors -----\n<c@example.com>\n"
           b"    (reason: 550 5.1.2 Host unknown)\n\n"
           b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.example.net\n"
           b"Arrival-Date: Thu, 29 Apr 2021 23:45:10 +0900\n\n"
           b"Final-Recipient: rfc822; @example.com\nAction: failed\nStatus: 5.1.2\n\n--b--\n")
    report = analyze(raw)
    assert [r.address for r in report.recipients] == ["c@example.com"]  # read from the text
    assert report.format == "generic"
    assert report.reporting_mta == "relay.example.net"  # from the delivery-status part all the same
    assert report.arrival_date == "Thu, 29 Apr 2021 23:45:10 +0900"


def test_a_complaint_notification_from_ses_is_feedback_even_when_sendmail_folded_its_long_line():
    payload = ('{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":'
               '"pia@example.net"}],"complaintFeedbackType":"abuse","timestamp":"2026-03-01T10:00:00.000Z"},'
               '"mail":{"commonHeaders":{"to":["pia@exam!\n ple.net"],"subject":"Spring sale"}}}')
    raw = (f"From: no-reply@sns.amazonaws.example\nTo: ops@example.com\nSubject: AWS Notification Message\n\n"
           f"{payload}\n").encode()
    report = analyze(raw)
    assert (report.kind, report.format, report.feedback_type) == ("feedback", "ses-json", "abuse")
    assert [(r.address, r.action, r.rule) for r in report.recipients] == [("pia@example.net", "complained",
                                                                         "ses-complaint")]
    assert report.original is not None and report.original.to == "pia@example.net"  # Sendmail's "!" taken out
    assert analyze(raw.replace(b"Complaint", b"Delivery")).kind != "feedback"  # only a complaint is one


def test_a_challenge_that_says_click_the_link_is_an_autoreply_only_when_it_says_it_is_one():
    body = ("Your message to carol@example.net is waiting for your confirmation.\n"
            "Please click the link below to confirm you are a real sender:\nhttps://verify.example.net/c/1\n")
    head = "From: Carol <carol@example.net>\nTo: alice@example.com\nSubject: Please confirm\n"
    assert analyze(head + "Auto-Submitted: auto-replied\n\n" + body).kind is Kind.AUTOREPLY
    # the same words without RFC 3834's header: a lure's "click the link" may be dressed so
    assert analyze(head + "\n" + body).kind is Kind.NOT_BOUNCE


@pytest.mark.parametrize("subject", ["Házon kívül: ajánlat", "Poza biurem", "Εκτός γραφείου", "Ofis dışında",
                                     "Frånvaro: Re: Faktura"])
def test_an_out_of_office_subject_in_more_languages_is_an_autoreply(subject):
    raw = f"From: P <p@example.net>\nTo: alice@example.com\nSubject: {subject}\n\nBack on 20 May.\n"
    report = analyze(raw)
    assert report.kind is Kind.AUTOREPLY and [r.address for r in report.recipients] == ["p@example.net"]


@pytest.mark.parametrize("sentence, address", [
    ("Ihre Nachricht an anna@example.net konnte nicht zugestellt werden.", "anna@example.net"),
    ("Twoja wiadomość do jan@example.net nie została dostarczona.", "jan@example.net"),
    ("Su mensaje para luis@example.net no se pudo entregar.", "luis@example.net"),
])
def test_a_notice_with_a_neutral_subject_and_from_names_the_recipient_of_message_to(sentence, address):
    raw = ("From: Support <support@example.com>\nTo: alice@example.com\nSubject: Information\n\n"
           f"{sentence}\nThe server replied: 550 5.1.1 user unknown\n")
    report = analyze(raw)
    assert report.kind is Kind.FAILURE and [r.address for r in report.failed] == [address]


def test_a_lists_refusal_of_a_non_member_without_a_list_server_header():
    head = "From: staff-owner@lists.example.org\nTo: alice@example.com\nSubject: Your message to staff\n\n"
    refused = "Your post to staff@lists.example.org was rejected: you are not a member of this list.\n"
    report = analyze(head + refused)
    assert report.kind is Kind.FAILURE and [r.address for r in report.failed] == ["staff@lists.example.org"]
    # held for the moderator, it is refused by nobody yet
    held = ("Your message to staff@lists.example.org awaits moderator approval: you are not a member, and the "
            "moderator may have it rejected.\n")
    assert analyze(head + held).kind is Kind.NOT_BOUNCE


@pytest.mark.parametrize("said", ["Mój nowy adres to ana@example.com.", "Min nya e-postadress är ana@example.com.",
                                  "Мой новый адрес: ana@example.com", "Yeni e-posta adresim ana@example.com"])
def test_an_autoreply_that_gives_a_new_address_in_more_languages(said):
    raw = ("From: Ana <ana@example.net>\nTo: list@example.org\nSubject: Auto\n"
           f"Auto-Submitted: auto-replied\n\n{said}\n")
    (r,) = analyze(raw).recipients
    assert (r.address, r.reason) == ("ana@example.net", "has_moved")
    assert ("new_address", "ana@example.com") in [(e.field, e.text) for e in r.evidence]
