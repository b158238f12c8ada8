"""Notices inside other messages, layouts that make a message a notice by themselves, and the last-resort reading of
a notice that names nobody: what no single sample pins down (limits, negatives, damaged JSON)."""

from __future__ import annotations

import json

from bounce_analyzer import Kind, analyze

INNER = """From: MAILER-DAEMON@mx.example.com
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="I"

--I
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; alice@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown

--I--
"""


def _attach(inner: str, subject: str = "Fwd: please look", sender: str = "bob@example.org") -> str:
    return (f"From: {sender}\nTo: helpdesk@example.com\nSubject: {subject}\n"
            'Content-Type: multipart/mixed; boundary="O"\n\n--O\nContent-Type: text/plain\n\nSee attached.\n\n'
            f"--O\nContent-Type: message/rfc822\n\n{inner}\n--O--\n")


def test_a_notice_attached_to_a_person_s_message_is_read():
    report = analyze(_attach(INNER))
    assert report.kind is Kind.FAILURE
    assert [r.address for r in report.recipients] == ["alice@example.net"]
    assert report.recipients[0].status == "5.1.1"


def test_an_ordinary_message_attached_stays_a_non_bounce():
    inner = "From: carol@example.net\nTo: bob@example.org\nSubject: lunch\n\nNoon at the usual place?\n"
    report = analyze(_attach(inner))
    assert report.kind is Kind.NOT_BOUNCE
    assert report.recipients == ()


def test_nesting_is_followed_only_a_few_levels_deep():
    deep = INNER
    for _ in range(6):
        deep = _attach(deep)
    report = analyze(deep)
    assert report.kind is Kind.NOT_BOUNCE
    assert report.problems == ()
    shallow = _attach(_attach(INNER))
    assert [r.address for r in analyze(shallow).recipients] == ["alice@example.net"]


def test_a_notice_forwarded_inline_is_read():
    msg = ("From: bob@example.org\nTo: helpdesk@example.com\nSubject: Fwd: this came back\n\nAny idea?\n\n"
           "---------- Forwarded message ---------\nFrom: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\n"
           "Date: Mon, 2 Mar 2026 10:00:00 +0000\nSubject: Undelivered Mail Returned to Sender\nTo: bob@example.org\n\n"
           "This is the mail system at host mx.example.com.\n\n<dave@example.net>: host mx.example.net[192.0.2.7] "
           "said: 550 5.1.1 User unknown (in reply to RCPT TO command)\n")
    report = analyze(msg)
    assert report.kind is Kind.FAILURE
    assert [r.address for r in report.recipients] == ["dave@example.net"]
    assert report.recipients[0].smtp_command == "RCPT"


def test_forward_lines_are_data_a_rules_file_can_add_to(tmp_path):
    # the lines above a forwarded message are read from detect.toml: a help desk's own line is one once a rules file
    # names it, and the message after it is taken apart as a message of its own
    from bounce_analyzer.api import _inner_messages
    from bounce_analyzer.classify import rules as rules_mod
    from bounce_analyzer.formats.base import Bounce
    from bounce_analyzer.parse.message import header, parse_bytes

    notice = ("Any idea?\n\n=== Ticket attachment follows:\nFrom: MAILER-DAEMON@mx.example.com\n"
              "Subject: Undelivered Mail Returned to Sender\n\n<dave@example.net>: 550 5.1.1 User unknown\n")
    b = Bounce(msg=parse_bytes(b"Subject: x\n\n"), subject="x", sender="bob@example.org", report_type="",
               notice=notice, dsn_texts=[])
    own = tmp_path / "desk.toml"
    own.write_text('schema = 1\n[detect]\nforward_lines = ["=== Ticket attachment follows:"]\n', encoding="utf-8")
    (inner,) = _inner_messages(b, rules_mod.load([own]).detect)
    assert inner["From"] == "MAILER-DAEMON@mx.example.com"
    assert inner["Subject"] == "Undelivered Mail Returned to Sender"
    assert _inner_messages(b, rules_mod.default().detect) == []
    # a shipped title between dashes, in another language, with the header fields named in it
    b = Bounce(msg=b.msg, subject="x", sender="bob@example.org", report_type="", dsn_texts=[],
               notice="--------- Välitetty viesti ---------\nLähettäjä: MAILER-DAEMON@mx.example.com\n\nx\n")
    (inner,) = _inner_messages(b, rules_mod.default().detect)
    assert header(inner, "x-forwarded-field").endswith(": MAILER-DAEMON@mx.example.com")
    assert header(inner, "from") == ""  # (the forwarder's field is no From of the message)


def _sns(message: object) -> str:
    body = json.dumps({"Type": "Notification", "Message": json.dumps(message)})
    return f"From: no-reply@sns.example.com\nSubject: AWS Notification Message\n\n{body}\n"


def test_ses_bounce_json_is_read_a_complaint_is_feedback_and_other_types_are_not_bounces():
    bounce = {"notificationType": "Bounce", "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull",
              "bouncedRecipients": [{"emailAddress": "erin@example.net", "status": "4.2.2",
                                     "diagnosticCode": "smtp; 452 4.2.2 Mailbox full"}]}}
    report = analyze(_sns(bounce))
    assert [(r.address, r.action, r.status, r.reply_code) for r in report.recipients] == [
        ("erin@example.net", "failed", "4.2.2", 452)]
    complaint = {"notificationType": "Complaint", "complaint": {"complainedRecipients": [
        {"emailAddress": "erin@example.net"}]}}
    report = analyze(_sns(complaint))
    assert report.kind is Kind.FEEDBACK and [(r.address, r.action) for r in report.recipients] == [
        ("erin@example.net", "complained")]
    opened = {"eventType": "Open", "open": {"timestamp": "2026-03-01T10:00:00.000Z"}, "mail": {}}
    assert analyze(_sns(opened)).kind is Kind.NOT_BOUNCE


def test_damaged_ses_json_never_breaks_the_analyzer():
    text = _sns({"notificationType": "Bounce", "bounce": {"bouncedRecipients": [{"emailAddress": "x@example.net"}]}})
    for cut in (len(text) // 3, len(text) // 2, len(text) - 5):
        report = analyze(text[:cut])
        assert all(p.kind != "internal-error" for p in report.problems)
    nested = "{" * 100_000 + "}" * 100_000
    report = analyze("From: no-reply@sns.example.com\nSubject: x\n\n"
                     '{"notificationType": "Bounce", "bouncedRecipients": ' + nested + "}\n")
    assert all(p.kind != "internal-error" for p in report.problems)


def test_a_notice_naming_nobody_falls_back_to_the_original_s_single_recipient_but_not_a_list():
    notice = ("From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail Returned to Sender\n"
              'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
              "--B\nContent-Type: text/plain\n\nThis is the mail system at host mx.example.com.\n\n"
              "--- Delivery report unavailable ---\n\n--B\nContent-Type: message/rfc822\n\n"
              "From: news@example.org\nTo: frank@example.net\n{extra}Subject: hi\n\nhello\n--B--\n")
    report = analyze(notice.format(extra=""))
    assert [r.address for r in report.recipients] == ["frank@example.net"]
    listed = analyze(notice.format(extra="List-Id: <garden.lists.example.org>\n"))
    assert listed.recipients == ()
    assert [p.kind for p in listed.problems] == ["no-recipient"]


def test_a_notice_attached_as_a_file_named_eml_is_read():
    import base64

    inner = base64.encodebytes(INNER.encode()).decode()
    for ctype in ('application/octet-stream; name="Undelivered Mail.eml"', "application/octet-stream"):
        raw = ("From: bob@example.org\nTo: helpdesk@example.com\nSubject: bounce\n"
               'Content-Type: multipart/mixed; boundary="O"\n\n--O\nContent-Type: text/plain\n\n\n'
               f"--O\nContent-Type: {ctype}\nContent-Transfer-Encoding: base64\n"
               'Content-Disposition: attachment; filename="Undelivered Mail.eml"\n\n'
               f"{inner}--O--\n")
        report = analyze(raw)
        assert report.kind is Kind.FAILURE
        assert [(r.address, r.status) for r in report.recipients] == [("alice@example.net", "5.1.1")]
    # another file is no message
    raw = ("From: bob@example.org\nSubject: figures\n"
           'Content-Type: multipart/mixed; boundary="O"\n\n--O\nContent-Type: text/plain\n\nSee attached.\n\n'
           '--O\nContent-Type: application/octet-stream; name="figures.bin"\nContent-Transfer-Encoding: base64\n\n'
           f"{inner}--O--\n")
    assert analyze(raw).kind is Kind.NOT_BOUNCE


def test_a_notice_quoted_under_a_person_s_words_once_or_twice_is_read():
    notice = ("This is the mail system at host mail.example.com.\n\n"
              "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
              "<alice@example.net>: host mx.example.net[198.51.100.5] said: 550 5.1.1\n"
              "    <alice@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command)\n")
    once = "".join(f"> {line}\n" if line else ">\n" for line in notice.split("\n"))
    twice = "".join(f"> {line}" if line != "\n" else ">\n" for line in once.splitlines(keepends=True))
    for quoted in (once, "> see below\n>\n" + twice):
        raw = (f"From: Ben <ben@example.com>\nTo: alice@example.com\nSubject: Re: Fwd: see this\n\n"
               f"Their address must be wrong.\n\nAlice wrote:\n{quoted}")
        report = analyze(raw)
        assert report.kind is Kind.FAILURE, quoted
        assert [(r.address, r.status, r.responder.host) for r in report.recipients] == [
            ("alice@example.net", "5.1.1", "mx.example.net")]
    # a reply that quotes a person's words about a bounce, and names nobody that failed, is no notice
    raw = ("From: Ben <ben@example.com>\nSubject: Re: your mail bounced\n\nSorry, my old address was closed.\n\n"
           "Alice wrote:\n> my mail to you came back undeliverable.\n> Did you change address?\n> Alice\n")
    assert analyze(raw).kind is Kind.NOT_BOUNCE
