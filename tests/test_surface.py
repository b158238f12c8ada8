"""The Python surface and text for people: dir() shows the API, reasons/verdicts/faults are StrEnums with the JSON
unchanged, Report.date is a datetime, text output is coloured only on a terminal without NO_COLOR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import bounce_analyzer
from bounce_analyzer import Fault, Reason, Verdict, analyze_file

from .conftest import SAMPLES, run_cli

HARD = SAMPLES / "exim" / "german-localized.eml"  # user unknown, 550 5.1.1: hard
NOT_BOUNCE = SAMPLES / "not-bounces" / "fml-list-post.eml"


def test_dir_shows_the_public_api_before_anything_is_imported():
    code = "import bounce_analyzer as b; print(' '.join(dir(b)))"
    names = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    for name in ("analyze", "analyze_file", "scan", "explain", "Report", "Recipient", "Reason", "Verdict", "Fault",
                 "Item", "Source", "message_key", "Store", "Kind", "Role"):
        assert name in names, name
    assert "import_module" not in names and "TYPE_CHECKING" not in names
    assert all(hasattr(bounce_analyzer, n) for n in bounce_analyzer.__all__)


def test_start_up_leaves_the_garbage_collector_as_it_found_it():
    # imports and the rules cache are read with the collector paused; it is on again afterwards, and stays off for
    # a program that turned it off itself
    code = ("import gc, bounce_analyzer as b; b.analyze(b'Subject: hi\\n\\nhello'); on = gc.isenabled(); "
            "gc.disable(); b.Store; b.analyze(b'Subject: hi\\n\\nhello', rules=[]); print(on, gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


def test_reason_verdict_and_fault_are_enums_and_the_json_is_the_words():
    report = analyze_file(HARD)
    (r,) = report.recipients
    assert r.reason is Reason.USER_UNKNOWN and r.verdict is Verdict.HARD and r.fault is Fault.RECIPIENT
    assert r.reason == "user_unknown" and r.verdict == "hard"  # still equal to the words
    d = json.loads(json.dumps(report.to_dict()))
    assert (d["recipients"][0]["reason"], d["recipients"][0]["verdict"], d["recipients"][0]["fault"]) == \
        ("user_unknown", "hard", "recipient")


def test_the_enum_holds_every_shipped_reason_word():
    from bounce_analyzer.classify.rules import default

    assert {m.value for m in Reason} == set(default().reasons)
    assert {m.value for m in Fault} == {r.fault for r in default().reasons.values() if r.fault}


def test_report_date_is_a_datetime_in_python_and_iso_in_json():
    report = analyze_file(HARD)  # Date: Mon, 06 May 2024 08:12:55 +0200
    assert report.date == datetime(2024, 5, 6, 6, 12, 55, tzinfo=UTC)
    assert isinstance(report.date, datetime) and report.date.tzinfo is UTC
    assert report.to_dict()["date"] == report.date.isoformat(timespec="seconds")
    assert report.to_dict()["date"].endswith("+00:00")


def _on_terminal(*args: str, env: dict[str, str]) -> bytes:
    from .conftest import on_terminal

    return on_terminal(*args, env=env)[1]


def test_text_is_coloured_on_a_terminal_unless_no_color_is_set():
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"TERM": "xterm"}
    coloured = _on_terminal("analyze", str(HARD), env=env)
    assert b"\x1b[31mHARD\x1b[0m" in coloured
    plain = _on_terminal("analyze", str(HARD), env=env | {"NO_COLOR": "1"})
    assert b"\x1b[" not in plain and b"  HARD\r\n" in plain
    piped = run_cli("analyze", "--format", "text", str(HARD))
    assert b"\x1b[" not in piped.stdout and b"  HARD\n" in piped.stdout


def test_a_message_that_is_no_bounce_is_called_so():
    out = run_cli("analyze", "--format", "text", str(NOT_BOUNCE)).stdout.decode()
    assert out.splitlines()[0] == f"{NOT_BOUNCE}: not a bounce"
    assert "nothing failed: this message is not a bounce" in out
    lines = run_cli("scan", "--format", "text", "--no-summary", str(NOT_BOUNCE)).stdout.decode()
    assert lines.strip().endswith("  not a bounce")


def test_a_report_pickles_to_an_equal_report_with_every_field_and_its_enums():
    # a scan with several jobs hands each report from a worker to the scan's process by pickling it
    import pickle

    from bounce_analyzer.model import Evidence, Problem, Report

    for eml in sorted(SAMPLES.rglob("*.eml"))[:40]:
        report = analyze_file(eml)
        back = pickle.loads(pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == report and back.to_dict() == report.to_dict()
        for r, b in zip(report.recipients, back.recipients, strict=True):
            assert type(b.reason) is Reason and type(b.responder.role) is type(r.responder.role)
    made = Report(source="x", is_bounce=False, kind="not_bounce", problems=(Problem("x", "truncated", "cut"),))
    assert pickle.loads(pickle.dumps(made)) == made
    assert pickle.loads(pickle.dumps(Evidence("reason", "rule:x", "text"))) == Evidence("reason", "rule:x", "text")
