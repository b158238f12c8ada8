"""CSV cells a spreadsheet would run as a formula are quoted, whatever the dangerous first character is."""

from __future__ import annotations

import csv
import io

import pytest

from bounce_analyzer.batch.outputs import CSV_COLUMNS, Csv
from bounce_analyzer.batch.workers import Analyzed
from bounce_analyzer.model import Kind, Original, Recipient, Report

DANGEROUS = ["=", "+", "-", "@", "\t", "\r"]


def _row(diagnostic: str, address: str = "a@example.net", subject: str = "Hello") -> dict[str, str]:
    out = io.StringIO(newline="")
    report = Report(source="/mail/1", is_bounce=True, kind=Kind.FAILURE,
                    original=Original(subject=subject, message_id="<1@example.com>"),
                    recipients=(Recipient(address=address, action="failed", diagnostic=diagnostic,
                                          reason="user_unknown", verdict="hard"),))
    Csv(out).write(Analyzed(report, "{}"))
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert len(rows) == 1 and list(rows[0]) == list(CSV_COLUMNS)
    return rows[0]


@pytest.mark.parametrize("first", DANGEROUS, ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_a_cell_starting_with_a_formula_character_is_quoted(first: str) -> None:
    # a subject keeps its characters as they are; the diagnostic is the notice's text with its white space folded
    row = _row("550 no such user", subject=f"{first}SUM(A1:A9)")
    assert row["original_subject"] == f"'{first}SUM(A1:A9)"
    assert row["diagnostic"] == "550 no such user"


@pytest.mark.parametrize("first", ["=", "+", "-", "@"], ids=["eq", "plus", "minus", "at"])
def test_an_address_starting_with_a_formula_character_is_quoted(first: str) -> None:
    row = _row("550 no such user", address=f"{first}cmd@example.net")
    assert row["address"] == f"'{first}cmd@example.net"


@pytest.mark.parametrize("text", ["550 a=b", "550 +1", "550 5.1.1 -", "a@example.net", " =x", "'=x", "", "5.1.1"])
def test_other_cells_are_left_as_they_are(text: str) -> None:
    assert _row("550 no", subject=text)["original_subject"] == text


_BOUNCE = """From: MAILER-DAEMON@mx.example.com
To: news@example.com
Subject: Undelivered Mail Returned to Sender
Date: Mon, 2 Mar 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

This is the mail system at host mx.example.com.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; {address}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{address}>: Recipient address rejected: User unknown

--b1--
"""


def test_suppressions_and_policy_csv_quote_an_address_a_spreadsheet_would_run(tmp_path, cli) -> None:
    # "-" and "+" may start a mailbox name; a spreadsheet would take the cell for a formula
    for n, address in enumerate(["-2+3@example.net", "+1@example.net", "plain@example.net"]):
        (tmp_path / f"{n}.eml").write_text(_BOUNCE.format(address=address))
    db = str(tmp_path / "r.sqlite")
    assert cli("scan", "--db", db, "--format", "none", "--no-summary", str(tmp_path)).returncode == 0
    for command in ("suppressions", "policy"):
        out = cli(command, "--db", db, "--format", "csv")
        assert out.returncode == 0, out.stderr
        rows = list(csv.DictReader(io.StringIO(out.stdout.decode(), newline="")))
        assert sorted(row["address"] for row in rows) == ["'+1@example.net", "'-2+3@example.net",
                                                           "plain@example.net"], command
