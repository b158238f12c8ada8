"""The same notice written another way gets the same answer: every sample in samples/ against every variant of
tests/variants.py that applies to it, compared by ``variants.key`` (kind and the failed/delayed recipients with
address, status, reply code, responder role and host, verdict, reason).

Pairs where the analyzer's answer does change are listed in ``KNOWN`` with what differs; they are expected to fail
(strictly: once the analyzer is fixed, the entry has to go). The variant generators themselves are checked on small
hand-made messages at the end.
"""

from __future__ import annotations

import base64
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from pathlib import Path

import pytest

from . import variants
from .conftest import SAMPLES, sample_pairs
from .variants import VARIANTS, describe_change, key

# (sample, variant) -> what differs. Each was read by hand: the variant keeps what the notice says, the analyzer's
# answer moves.
KNOWN: dict[tuple[str, str], str] = {
    # Subject and From carry the whole decision
    ("autoreply/outlook-automatic-reply.eml", "neutral-subject"):
        "out-of-office text with Auto-Submitted and the Exchange rules agent header: not_bounce without 'Automatic "
        "reply' in the Subject",
    ("feedback/complaint-without-arf.eml", "neutral-subject"):
        "a complaint without the ARF format is told by its Subject ('complaint about message from ...'): "
        "without it, the copy alone is not a complaint",
    ("feedback/spam-report-copy.eml", "neutral-subject"):
        "a spam report without the ARF format is told by its Subject ('Spam report for a message ...'): without it, "
        "the copy alone is not a complaint",
    ("autoreply/out-of-office-hungarian-subject.eml", "neutral-subject"):
        "an out-of-office reply with no Auto-Submitted or X-Autoreply header is told by its Subject ('Házon kívül', "
        "out of office) alone: without it, a person's short note",
    ("generic/columns-server-spaces.eml", "html-only"):
        "the table's columns are set apart by runs of spaces, which HTML shows as one space (as a browser does): the "
        "server's name is then a word of a sentence, no longer a column",
    ("generic/columns-server-spaces.eml", "rewrap-narrow"):
        "re-flowing the text makes the runs of spaces that set the table's columns apart single spaces: the server's "
        "name is then a word of a sentence, no longer a column",
    ("vendors/labelled-server-lines.eml", "html-only"):
        "the second recipient's lines set label and value apart by a tab, which HTML shows as one space (as a browser "
        "does): 'Recipient otto.brand@...' is then a word of a sentence, no longer a label's cell",
    ("autoreply/hebrew-out-of-office.eml", "neutral-subject"):
        "an out-of-office reply with no header that marks it: 'מענה אוטומטי' (automatic reply) in the Subject is all "
        "that says so",
    ("vendors/proofpoint-essentials-blocked.eml", "neutral-subject"):
        "a filter's notice from a no-reply sender in the product's own words, with no sentence of a bounce: its "
        "signature counts only with 'Message blocked' in the Subject",
    ("vendors/sms-gateway-unknown-subscriber.eml", "neutral-subject"):
        "a gateway's notice from a sender that is no MAILER-DAEMON or postmaster, with one sentence of a bounce "
        "('could not be sent') and no reply code: without 'Mail not sent' in the Subject, nothing says it is a bounce",
}


def _cases() -> list[tuple[Path, str, bytes]]:
    out = []
    for eml, _ in sample_pairs():
        raw = eml.read_bytes()
        for name, variant in VARIANTS.items():
            changed = variant(raw)
            if changed is not None:
                out.append((eml, name, changed))
    return out


CASES = _cases()


def _name(eml: Path) -> str:
    return eml.relative_to(SAMPLES).as_posix()


def _param(eml: Path, name: str, changed: bytes) -> object:
    reason = KNOWN.get((_name(eml), name))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(eml, name, changed, marks=marks, id=f"{_name(eml)}-{name}")


@pytest.mark.parametrize("eml,name,changed", [_param(*c) for c in CASES])
def test_variant_keeps_the_answer(eml: Path, name: str, changed: bytes):
    before, after = key(eml.read_bytes()), key(changed)
    assert after == before, f"{name}: {describe_change(before, after)}"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variants_are_pure(name: str):
    """The same input gives the same bytes every time (no clock, no boundary made up at random)."""
    for eml, _ in sample_pairs()[::7]:
        raw = eml.read_bytes()
        assert VARIANTS[name](raw) == VARIANTS[name](raw), eml


def test_every_known_difference_names_a_case():
    applied = {(_name(eml), name) for eml, name, _ in CASES}
    assert set(KNOWN) - applied == set()


# ------------------------------------------------------------------------------------ the generators themselves

NOTICE = b"""\
From: Mail Delivery System <MAILER-DAEMON@mta.example.net>
To: ana@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="BOUNDARY-1"

--BOUNDARY-1
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

This is the mail system at host mta.example.net. Your message could not be
delivered to one or more recipients; the server's answer is below, d\xe9sol\xe9.

<bo@example.org>: host mx.example.org[192.0.2.7] said: 550 5.1.1
    <bo@example.org>: Recipient address rejected: User unknown (in reply to RCPT
    TO command)
>>> RCPT TO:<bo@example.org>
Write to postmaster@mta.example.net or see https://help.example.net/?u=bo@example.org

--BOUNDARY-1
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.net

Final-Recipient: rfc822; bo@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <bo@example.org>: Recipient address rejected:
    User unknown

--BOUNDARY-1
Content-Type: message/rfc822

From: Ana <ana@example.com>
To: Bo <bo@example.org>
Subject: Hello

Hi Bo.

--BOUNDARY-1--
"""


def _msg(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=compat32)


def _types(raw: bytes) -> list[str]:
    return [p.get_content_type() for p in _msg(raw).walk()]


def _text_part(raw: bytes) -> Message:
    return next(p for p in _msg(raw).walk() if p.get_content_type() == "text/plain")


def _text(raw: bytes) -> str:
    part = _text_part(raw)
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data.decode(part.get_content_charset() or "ascii")


@pytest.mark.parametrize("cte", ["base64", "quoted-printable"])
def test_reencoding_keeps_the_bytes_and_the_charset(cte: str):
    out = VARIANTS[cte](NOTICE)
    assert out is not None
    before, after = _text_part(NOTICE), _text_part(out)
    assert after["Content-Transfer-Encoding"] == cte
    assert after.get_content_charset() == "iso-8859-1"
    assert after.get_payload(decode=True) == before.get_payload(decode=True)
    if cte == "base64":
        assert base64.b64decode(after.get_payload()) == before.get_payload(decode=True)
    assert _types(out) == _types(NOTICE)


def test_boundaries_renamed_everywhere():
    out = VARIANTS["boundaries"](NOTICE)
    assert out is not None and b"BOUNDARY-1" not in out
    assert _types(out) == _types(NOTICE)
    assert _text(out) == _text(NOTICE)
    # a line that only starts like a delimiter makes renaming unsafe
    assert VARIANTS["boundaries"](NOTICE.replace(b"Hi Bo.", b"--BOUNDARY-1x")) is None


def test_line_endings():
    crlf = VARIANTS["crlf"](NOTICE)
    assert crlf is not None and crlf.count(b"\r\n") == NOTICE.count(b"\n") and b"\n" not in crlf.replace(b"\r\n", b"")
    cr = VARIANTS["cr"](NOTICE)
    assert cr is not None and b"\n" not in cr and cr.count(b"\r") == NOTICE.count(b"\n")
    assert VARIANTS["crlf"](crlf) is None  # already so: the variant does not apply


def test_neutral_from_replaces_a_mail_system_only():
    out = VARIANTS["neutral-headers"](NOTICE)
    assert out is not None
    msg = _msg(out)
    assert msg["Subject"] == variants.NEUTRAL_SUBJECT and msg["From"] == variants.NEUTRAL_FROM
    person = NOTICE.replace(b"Mail Delivery System <MAILER-DAEMON@mta.example.net>", b"Bo <bo@example.org>")
    assert VARIANTS["neutral-from"](person) is None  # an auto-reply's From is the recipient: kept
    assert VARIANTS["neutral-from"](person.replace(b"bo@example.org>", b"bo@smtp.example.org>")) is None
    # the From is the only place naming the host that wrote the notice: changing it would lose that
    unnamed = NOTICE.replace(b"at host mta.example.net", b"here").replace(b"dns; mta.example.net", b"dns; x.test")
    unnamed = unnamed.replace(b"postmaster@mta.example.net", b"postmaster")
    assert VARIANTS["neutral-from"](unnamed) is None


def test_html_only_sends_the_plain_text_as_html_with_its_lines_and_indentation():
    out = VARIANTS["html-only"](NOTICE)
    assert out is not None
    assert _types(out) == [t.replace("text/plain", "text/html", 1) if i == 1 else t
                           for i, t in enumerate(_types(NOTICE))]
    part = next(p for p in _msg(out).walk() if p.get_content_type() == "text/html")
    assert part.get_content_charset() == "iso-8859-1"
    html = part.get_payload(decode=True).decode("iso-8859-1")
    assert "&lt;bo@example.org&gt;: Recipient address rejected: User unknown (in reply to RCPT<br>" in html
    assert "\n&nbsp;&nbsp;&nbsp;&nbsp;TO command)<br>" in html
    assert "\n&gt;&gt;&gt; RCPT TO:&lt;bo@example.org&gt;<br>" in html
    assert VARIANTS["html-only"](out) is None  # no plain text left to send as HTML


def test_dsn_removed_only_when_the_text_tells_the_same():
    out = VARIANTS["no-dsn"](NOTICE)
    assert out is not None
    assert _types(out) == ["multipart/mixed", "text/plain", "message/rfc822", "text/plain"]
    assert "report-type" not in str(_msg(out)["Content-Type"])
    # the Status 5.1.1 appears nowhere in the text: the part cannot go
    assert VARIANTS["no-dsn"](NOTICE.replace(b"550 5.1.1\n", b"550\n")) is None
    # the remote host is named only in the delivery-status part
    assert VARIANTS["no-dsn"](NOTICE.replace(b"host mx.example.org[192.0.2.7]", b"the server")) is None


def test_original_removed_only_when_the_notice_names_the_recipient():
    out = VARIANTS["no-original"](NOTICE)
    assert out is not None and b"Hi Bo." not in out
    assert _types(out) == ["multipart/report", "text/plain", "message/delivery-status", "text/plain", "text/plain"]
    # a notice forwarded as an attachment is the message itself, not a copy of the original
    forwarded = (b"From: Ana <ana@example.com>\nTo: it@example.com\nSubject: Fwd: bounce\nMIME-Version: 1.0\n"
                 b'Content-Type: multipart/mixed; boundary="F"\n\n--F\nContent-Type: text/plain\n\nbo@example.org?\n'
                 b"--F\nContent-Type: message/rfc822\n\n" + NOTICE + b"\n--F--\n")
    assert VARIANTS["no-original"](forwarded) is None


def test_requote_keeps_protocol_text_and_urls():
    out = VARIANTS["requote"](NOTICE)
    assert out is not None
    text = _text(out)
    assert '"bo@example.org": host mx.example.org[192.0.2.7] said: 550 5.1.1' in text
    assert ">>> RCPT TO:<bo@example.org>" in text
    assert "Write to <postmaster@mta.example.net> or see https://help.example.net/?u=bo@example.org" in text
    assert "Reporting-MTA: dns; mta.example.net" in out.decode("latin-1")  # the delivery-status part is untouched
    label = VARIANTS["requote-label"](NOTICE)
    assert label is not None and "\nbo@example.org: host mx.example.org" in _text(label)


def test_rewrap_joins_and_narrows_prose_only():
    joined = _text(VARIANTS["rewrap-join"](NOTICE) or b"")
    assert ("<bo@example.org>: host mx.example.org[192.0.2.7] said: 550 5.1.1 <bo@example.org>: Recipient address "
            "rejected: User unknown (in reply to RCPT TO command)\n") in joined
    assert "\n>>> RCPT TO:<bo@example.org>\n" in joined
    narrow = _text(VARIANTS["rewrap-narrow"](NOTICE) or b"")
    lines = narrow.split("\n")
    # at most 50 wide, but for transcript lines (kept) and lines running on to keep an address off a line's start
    assert all(len(line) <= 50 for line in lines if not line.startswith(">>>") and "@" not in line)
    assert "\nWrite to postmaster@mta.example.net or see https://help.example.net/?u=bo@example.org\n" in narrow
    assert " ".join(narrow.split()) == " ".join(_text(NOTICE).split())  # the same words in the same order
    assert "550 5.1.1" in narrow
    # a break that would part a reply code from its enhanced code moves the reply code down
    assert variants._keep_codes_together(["host said: 550", "    5.1.1 no such user"]) == \
        ["host said:", "    550 5.1.1 no such user"]


def test_describe_change():
    row = ("bo@example.org", "5.1.1", "550", "remote", "mx.example.org", "hard", "user_unknown")
    other = ("bo@example.org", "5.1.1", "550", "unknown", "", "hard", "user_unknown")
    assert describe_change(("failure", (row,)), ("failure", (other,))) == \
        "bo@example.org: role remote -> unknown, host mx.example.org -> -"
    assert describe_change(("failure", (row,)), ("not_bounce", ())) == "kind failure -> not_bounce; -bo@example.org"


def test_dsn_as_text_sends_the_same_fields_in_a_text_part():
    out = VARIANTS["dsn-as-text"](NOTICE)
    assert out is not None
    assert _types(out) == ["multipart/report", "text/plain", "text/plain", "message/rfc822", "text/plain"]
    report = [p for p in _msg(out).walk() if p.get_content_type() == "text/plain"][1].get_payload()
    assert report.startswith("Reporting-MTA: dns; mta.example.net\n\nFinal-Recipient: rfc822; bo@example.org\n")
    assert "Diagnostic-Code: smtp; 550 5.1.1 <bo@example.org>: Recipient address rejected:\n    User unknown" in report


def test_one_text_writes_the_words_the_fields_and_the_original_headers_in_one_part():
    out = VARIANTS["one-text"](NOTICE)
    assert out is not None
    msg = _msg(out)
    assert _types(out) == ["text/plain"] and msg.get_content_charset() == "utf-8"
    body = msg.get_payload(decode=True).decode("utf-8")
    words, fields, original = body.index("This is the mail system"), body.index("Reporting-MTA:"), body.index(
        "----- Original message -----\n\nFrom: Ana <ana@example.com>")
    assert words < fields < original and "Hi Bo." not in body
