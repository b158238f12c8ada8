"""CSV cells a spreadsheet would run as a formula are quoted, whatever the dangerous first character is."""

from __future__ import annotations

import csv
import io

import pytest

from bounce_analyzer.batch.outputs import CSV_COLUMNS, Csv
from bounce_analyzer.model import Kind, Original, Recipient, Report

DANGEROUS = ["=", "+", "-", "@", "\t", "\r"]


def _row(diagnostic: str, address: str = "a@example.net", subject: str = "Hello") -> dict[str, str]:
    out = io.StringIO(newline="")
    report = Report(source="/mail/1", is_bounce=True, kind=Kind.FAILURE,
                    original=Original(subject=subject, message_id="<1@example.com>"),
                    recipients=(Recipient(address=address, action="failed", diagnostic=diagnostic,
                                          reason="user_unknown", verdict="hard"),))
    Csv(out).write(report, "{}")
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
