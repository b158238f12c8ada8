"""Every sample in samples/ against the result written for it by reading the message, in LF, CRLF and CR-only
line endings (the variants are made here from each sample, not stored as copies)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bounce_analyzer import analyze

from .conftest import SAMPLES, sample_pairs

PAIRS = sample_pairs()
ENDINGS = {"lf": None, "crlf": b"\r\n", "cr": b"\r"}


def test_there_are_enough_samples():
    assert len(PAIRS) >= 40
    for eml, expected in PAIRS:
        assert expected.exists(), f"{eml} has no {expected.name}"


def _variant(raw: bytes, ending: bytes | None) -> bytes:
    if ending is None:
        return raw
    lf = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return lf.replace(b"\n", ending)


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("eml,expected_path", PAIRS, ids=[str(p[0].relative_to(SAMPLES)) for p in PAIRS])
def test_sample(eml: Path, expected_path: Path, ending: str):
    expected = tomllib.loads(expected_path.read_text(encoding="utf-8"))
    report = analyze(_variant(eml.read_bytes(), ENDINGS[ending]), source=str(eml))
    assert report.problems == (), report.problems
    assert report.kind == expected["kind"]
    assert report.is_bounce == expected["is_bounce"]
    if "reporting_mta" in expected:
        assert report.reporting_mta == expected["reporting_mta"]
    if "original_message_id" in expected:
        assert report.original is not None and report.original.message_id == expected["original_message_id"]
    if "original_subject" in expected:
        assert report.original is not None and report.original.subject == expected["original_subject"]
    if "verp_recipient" in expected:
        assert report.original is not None and report.original.verp_recipient == expected["verp_recipient"]
    want = expected.get("recipient", [])
    if report.kind in ("feedback",) and not want:
        return
    got = {r.address: r for r in report.recipients}
    assert sorted(got) == sorted(w["address"] for w in want)
    for w in want:
        r = got[w["address"]]
        label = f'{eml.name} {w["address"]}'
        assert r.action == w["action"], label
        assert (r.status or "") == w["status"], label
        assert (r.reply_code or 0) == w["reply_code"], label
        assert r.reason == w["reason"], label
        assert (r.verdict or "none") == w["verdict"], label
        assert r.responder.role == w["responder_role"], label
        if "responder_host" in w:
            assert r.responder.host == w["responder_host"], label
        if "smtp_command" in w:
            assert r.smtp_command == w["smtp_command"], label
        if "retry_after" in w:
            assert r.retry_after == w["retry_after"], label
        assert r.final_recipient == w.get("final_recipient"), label
