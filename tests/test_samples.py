"""Every sample in samples/ against the result written for it by reading the message, in LF, CRLF and CR-only
line endings (the variants are made here from each sample, not stored as copies).

Every recipient of every answer sheet states every field (``""``, ``0`` or ``"none"`` where the message has no
such value: samples/README.md), so nothing is compared only when somebody thought of writing it down."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bounce_analyzer import analyze
from bounce_analyzer.model import Recipient, Report

from .conftest import SAMPLES, sample_pairs

PAIRS = sample_pairs()
ENDINGS = {"lf": None, "crlf": b"\r\n", "cr": b"\r"}
# bench/mutation.py runs the samples in LF only, to judge each mutant in a third of the time
ENDINGS = {k: v for k, v in ENDINGS.items()
           if k in os.environ.get("BOUNCE_ANALYZER_SAMPLE_ENDINGS", "lf,crlf,cr").split(",")}

# What each recipient of every sheet states, and how the program's value is written in a sheet.
RECIPIENT_FIELDS: dict[str, Any] = {
    "address": lambda r: r.address,
    "final_recipient": lambda r: r.final_recipient or "",
    "original_recipient": lambda r: r.original_recipient or "",
    "action": lambda r: r.action,
    "status": lambda r: r.status or "",
    "reply_code": lambda r: r.reply_code or 0,
    "responder_role": lambda r: str(r.responder.role),
    "responder_host": lambda r: r.responder.host or "",
    "responder_ip": lambda r: r.responder.ip or "",
    "smtp_command": lambda r: r.smtp_command or "",
    "retry_after": lambda r: r.retry_after or 0,
    "reason": lambda r: r.reason,
    "verdict": lambda r: r.verdict or "none",
    "permanent": lambda r: "none" if r.permanent is None else r.permanent,
    "fault": lambda r: r.fault or "none",
    "rule": lambda r: r.rule,
}
REPORT_FIELDS: dict[str, Any] = {
    "kind": lambda rep: str(rep.kind),
    "is_bounce": lambda rep: rep.is_bounce,
    "reporting_mta": lambda rep: rep.reporting_mta,
    "original_message_id": lambda rep: rep.original.message_id if rep.original else None,
    "original_subject": lambda rep: rep.original.subject if rep.original else None,
    "verp_recipient": lambda rep: rep.original.verp_recipient if rep.original else None,
}

# Values the sheets state from the message that the analyzer does not read yet: (sample, address or "" for the
# report, field) -> what is wrong. Each is an expected failure; once the analyzer reads it, the entry must go.
KNOWN_WRONG: dict[tuple[str, str, str], str] = {
    ("vendors/oracle-messaging-server", "victor@example.net", "responder_ip"):
        "the destination IP of Oracle's (TCP|from|port|to|port) comment is not read",
    **{("vendors/mms-gateway-no-valid-recipients", "5550100123@mms.example.net", name):
       "rule user-unknown-invalid-recipient reads 'no valid recipients for this MM' as an unknown user (hard); "
       "the notice does not say the number does not exist" for name in ("reason", "verdict", "fault", "rule")},
    ("sendmail/mixed-recipients", "jan.vos@example.org", "smtp_command"):
        "a relayed recipient takes the stage of another recipient's RCPT in the transcript",
}


def test_there_are_enough_samples():
    assert len(PAIRS) >= 40
    for eml, expected in PAIRS:
        assert expected.exists(), f"{eml} has no {expected.name}"


@pytest.mark.parametrize("eml,expected_path", PAIRS, ids=[str(p[0].relative_to(SAMPLES)) for p in PAIRS])
def test_every_sheet_states_every_recipient_field(eml: Path, expected_path: Path):
    expected = tomllib.loads(expected_path.read_text(encoding="utf-8"))
    for w in expected.get("recipient", []):
        missing = [name for name in RECIPIENT_FIELDS if name not in w]
        unknown = [name for name in w if name not in RECIPIENT_FIELDS]
        assert not missing and not unknown, f"{expected_path.name} {w.get('address')}: missing {missing}, " \
                                            f"unknown {unknown}"
    if expected["kind"] in ("failure", "delay", "success", "feedback"):  # a challenge/response names nobody
        assert expected.get("recipient"), f"{expected_path.name}: a {expected['kind']} names its recipients"


def test_every_known_wrong_value_names_a_stated_field():
    names = {str(eml.relative_to(SAMPLES)).removesuffix(".eml") for eml, _ in PAIRS}
    for sample, address, name in KNOWN_WRONG:
        assert sample in names, sample
        assert name in (REPORT_FIELDS if not address else RECIPIENT_FIELDS), name


def _variant(raw: bytes, ending: bytes | None) -> bytes:
    if ending is None:
        return raw
    lf = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return lf.replace(b"\n", ending)


def _mismatches(sample: str, report: Report, expected: dict[str, Any]) -> list[tuple[tuple[str, str, str], str]]:
    out = []
    for name, read in REPORT_FIELDS.items():
        if name in expected and read(report) != expected[name]:
            out.append(((sample, "", name), f"{name}: got {read(report)!r}, sheet says {expected[name]!r}"))
    got: dict[str, Recipient] = {r.address: r for r in report.recipients}
    want = expected.get("recipient", [])
    if sorted(got) != sorted(w["address"] for w in want):
        out.append(((sample, "", "recipients"), f"recipients: got {sorted(got)}, sheet says "
                                                f"{sorted(w['address'] for w in want)}"))
        return out
    for w in want:
        r = got[w["address"]]
        for name, read in RECIPIENT_FIELDS.items():
            if read(r) != w[name]:
                out.append(((sample, w["address"], name), f"{w['address']} {name}: got {read(r)!r}, "
                                                          f"sheet says {w[name]!r}"))
    return out


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("eml,expected_path", PAIRS, ids=[str(p[0].relative_to(SAMPLES)) for p in PAIRS])
def test_sample(eml: Path, expected_path: Path, ending: str):
    expected = tomllib.loads(expected_path.read_text(encoding="utf-8"))
    report = analyze(_variant(eml.read_bytes(), ENDINGS[ending]), source=str(eml))
    assert report.problems == (), report.problems
    sample = str(eml.relative_to(SAMPLES)).removesuffix(".eml")
    found = _mismatches(sample, report, expected)
    unexpected = [text for key, text in found if key not in KNOWN_WRONG]
    assert not unexpected, "\n".join(unexpected)
    known = {key for key in KNOWN_WRONG if key[0] == sample}
    fixed = known - {key for key, _ in found}
    assert not fixed, f"now read as the sheet says, take out of KNOWN_WRONG: {sorted(fixed)}"
    if known:
        pytest.xfail("; ".join(sorted({KNOWN_WRONG[key] for key in known})))


def test_every_provider_rule_file_decides_a_whole_sample():
    """A provider's rules are guarded by its hosts, so only a sample naming those hosts shows that the file works:
    each file in rules/providers/ must decide at least one recipient of the samples (so deleting or breaking it
    fails test_sample)."""
    from bounce_analyzer.classify.rules import RULES_DIR, load

    rules = load()
    sheets = [tomllib.loads(path.read_text(encoding="utf-8")) for _, path in PAIRS]
    stated = {w["rule"] for sheet in sheets for w in sheet.get("recipient", [])}
    files = sorted((RULES_DIR / "providers").glob("*.toml"))
    assert len(files) >= 14
    for f in files:
        ids = {r.id for r in rules.rules if r.file and Path(r.file).resolve() == f.resolve()}
        assert ids, f"{f.name}: no rules loaded from it"
        assert ids & stated, f"{f.name}: no sample is decided by its rules {sorted(ids)}"
