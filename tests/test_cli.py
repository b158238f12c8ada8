"""The command end to end, in a child process, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

from .conftest import ROOT, SAMPLES, run_cli

SAMPLE = next(iter(sorted((SAMPLES / "postfix").glob("*.eml"))))


def test_analyze_jsonl_one_report_per_input_in_order(tmp_path):
    files = sorted(SAMPLES.rglob("*.eml"))[:5]
    out = run_cli("analyze", "--format", "jsonl", *map(str, files))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().splitlines()
    assert [json.loads(line)["source"] for line in lines] == [str(f) for f in files]
    for f, line in zip(files, lines, strict=True):
        # what the command prints is what the answer sheet, read off the message, says
        report, sheet = json.loads(line), tomllib.loads(f.with_suffix(".expected.toml").read_text(encoding="utf-8"))
        assert (report["kind"], report["is_bounce"]) == (sheet["kind"], sheet["is_bounce"])
        got = {r["address"]: r for r in report["recipients"]}
        assert sorted(got) == sorted(w["address"] for w in sheet.get("recipient", []))
        for w in sheet.get("recipient", []):
            r = got[w["address"]]
            assert (r["action"], r["status"] or "", r["reply_code"] or 0, r["reason"], r["verdict"] or "none",
                    r["fault"] or "none", r["responder"]["role"], r["responder"]["host"] or "", r["rule"]) == (
                w["action"], w["status"], w["reply_code"], w["reason"], w["verdict"], w["fault"],
                w["responder_role"], w["responder_host"], w["rule"])
            assert r["hint"] and r["evidence"], w["address"]


def test_analyze_a_folder_and_json(tmp_path):
    out = run_cli("analyze", "--format", "json", str(SAMPLES / "postfix"))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert isinstance(doc, list) and len(doc) == len(list((SAMPLES / "postfix").glob("*.eml")))
    one = json.loads(run_cli("analyze", "--format", "json", str(SAMPLE)).stdout)
    assert isinstance(one, dict) and one["source"] == str(SAMPLE)


def test_stdin_and_text_output():
    out = run_cli("analyze", "--format", "text", "-", stdin=SAMPLE.read_bytes())
    assert out.returncode == 0
    text = out.stdout.decode()
    assert text.startswith("-: failure")
    sheet = tomllib.loads(SAMPLE.with_suffix(".expected.toml").read_text(encoding="utf-8"))
    lines = text.splitlines()
    for w in sheet["recipient"]:  # a line per recipient with the action, reason and verdict its sheet gives
        head = f"  {w['address']}  [{w['action']}]  "
        assert any(line.startswith(head) and line.endswith(f"  {w['reason']}  {w['verdict'].upper()}")
                   for line in lines), (head, text)
    assert "hint:" in text and "answered by:" in text


def test_unreadable_inputs_are_named_and_the_rest_goes_on(tmp_path):
    out = run_cli("analyze", "--format", "jsonl", str(tmp_path / "missing.eml"), str(SAMPLE))
    assert out.returncode == 1
    err = out.stderr.decode()
    assert err.count("\n") == 1 and "missing.eml: no such file" in err
    assert "Traceback" not in err
    assert len(out.stdout.decode().splitlines()) == 1


def test_a_runaway_pattern_is_stopped_and_the_next_file_read(tmp_path):
    rules = tmp_path / "slow.toml"  # a rule whose pattern takes exponential time on a run of "a"
    rules.write_text("schema = 1\n[[rule]]\nid = \"slow-one\"\nreason = \"blocked\"\nregex = '''(a|aa)+$'''\n"
                     "priority = 90\n")
    slow = tmp_path / "slow.eml"
    slow.write_bytes(b"From: MAILER-DAEMON@mx.example.com\nTo: list@example.org\nSubject: Undelivered Mail Returned to "
                     b"Sender\n\nThis is the mail system at host mx.example.com.\n\n<ada@example.net>: host "
                     b"mx.example.net[192.0.2.1] said: 550 5.1.1 " + b"a" * 60 + b"!\n")
    out = run_cli("analyze", "--rules", str(rules), "--format", "jsonl", str(slow), str(SAMPLE), str(slow))
    reports = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [[p["kind"] for p in r["problems"]] for r in reports] == [["regex-timeout"], [], ["regex-timeout"]]
    assert out.stderr.decode().count("a pattern took too long") == 2 and "Traceback" not in out.stderr.decode()
    assert reports[1]["recipients"] and reports[1]["recipients"][0]["rule"] != "slow-one"


def test_garbage_input_gives_a_report_not_a_traceback(tmp_path):
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"\xff\xfe\x00garbage" * 1000)
    out = run_cli("analyze", "--format", "jsonl", str(junk))
    assert out.returncode == 0
    assert json.loads(out.stdout)["kind"] == "not_bounce"
    assert b"Traceback" not in out.stderr


def test_usage_errors_exit_2():
    assert run_cli().returncode == 2
    assert run_cli("analyze").returncode == 2
    assert run_cli("analyze", "--format", "xml", "x").returncode == 2
    out = run_cli("analyze", "--rules", "/nonexistent/rules.toml", str(SAMPLE))
    assert out.returncode == 2 and b"rules file not found" in out.stderr and b"Traceback" not in out.stderr


def test_closed_pipe_ends_quietly():
    cmd = (f"{sys.executable} -m bounce_analyzer analyze --format jsonl {SAMPLES} {SAMPLES} {SAMPLES} | head -n 1")
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert b"Traceback" not in out.stderr and b"Broken pipe" not in out.stderr
    assert len(out.stdout.splitlines()) == 1


def test_explain_codes_and_text():
    out = run_cli("explain", "--format", "json", "550")
    doc = json.loads(out.stdout)
    assert doc["reply_code"] == 550 and doc["standard"] is True and doc["known"]
    doc = json.loads(run_cli("explain", "--format", "json", "5.2.2").stdout)
    assert doc["reason"] == "mailbox_full" and doc["verdict"] == "soft" and doc["permanent"] is True
    doc = json.loads(run_cli("explain", "--format", "json", "550 5.1.1 <a@example.net>: User unknown").stdout)
    assert (doc["reply_code"], doc["status"], doc["reason"], doc["verdict"]) == (550, "5.1.1", "user_unknown", "hard")
    text = run_cli("explain", "4.7.1").stdout.decode()
    assert "status:" in text and "4.7.1" in text


def test_rules_check_passes_on_shipped_rules_and_fails_on_a_bad_example(tmp_path):
    out = run_cli("rules", "check")
    assert out.returncode == 0, out.stdout.decode()[-2000:]
    assert b" 0 problems" in out.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\n[[rule]]\nid = "my-rule"\nreason = "blocked"\ncontains = ["zorgle"]\n'
                   'examples.match = ["nothing here"]\nexamples.no_match = ["x"]\n')
    out = run_cli("rules", "check", str(bad))
    assert out.returncode == 1
    assert b'rule "my-rule": example should match but does not' in out.stdout


def test_start_up_imports_stay_light():
    code = ("import sys, bounce_analyzer.cli as c; c._parser(); "
            "print(','.join(m for m in ('regex', 'email.parser', 'tomllib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == ""
