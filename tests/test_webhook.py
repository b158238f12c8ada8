"""scan --post-to: every failure, complaint and policy decision reaches the webhook once, through failing requests,
a server killed mid-run and a scan killed mid-run. The server is a local one the tests start on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bounce_analyzer.batch.store import Store

from .conftest import ROOT, SAMPLES, run_cli

SERVER = ROOT / "tests" / "servers" / "webhook_server.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, str(SERVER), str(port), str(log), *extra])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("the test webhook server did not start")


def _log(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _expected_keys(db: str) -> dict[str, str]:
    """Event id → Idempotency-Key of everything that must reach the server, read from the store."""
    con = sqlite3.connect(db)
    ids = [f"{'failure' if action == 'failed' else 'complaint'}:{source}#{idx}" for source, idx, action in con.execute(
        "SELECT source_id, idx, action FROM recipients WHERE action IN ('failed', 'complained')")]
    store = Store(db)
    try:
        ids += [f"decision:strict:{d.address}:{d.action}" for d in store.suppressions()]
    finally:
        store.close()
    return {i: hashlib.sha256(i.encode()).hexdigest() for i in ids}


def _each_taken_once(log: Path) -> set[str]:
    taken = [e["key"] for e in _log(log) if e["status"] == 200 and e["new"]]
    assert len(taken) == len(set(taken))  # the server took no event twice as new
    return set(taken)


@pytest.fixture
def server(tmp_path):
    procs: list[subprocess.Popen[bytes]] = []
    port = _free_port()
    log = tmp_path / "hook.log"

    def start(*extra: str) -> subprocess.Popen[bytes]:
        procs.append(_serve(port, log, *extra))
        return procs[-1]

    yield port, log, start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_each_event_reaches_a_flaky_server_once_with_retries(tmp_path, server):
    port, log, start = server
    start("--fail-every", "3", "--drop-every", "7")
    db = str(tmp_path / "r.sqlite")
    url = f"http://127.0.0.1:{port}/hook"
    env = {**os.environ, "HOOK_TOKEN": "s3cret"}
    r = run_cli("scan", "--db", db, "--format", "none", "--no-summary", "--jobs", "1", "--post-to", url,
                "--post-token-env", "HOOK_TOKEN", "--post-retries", "4", "--post-backoff", "0.01", str(SAMPLES),
                env=env)
    assert r.returncode == 0, r.stderr
    expected = _expected_keys(db)
    assert _each_taken_once(log) == set(expected.values())
    entries = _log(log)
    assert any(e["status"] == 503 for e in entries) and any(e["status"] == "drop" for e in entries)
    assert all(e["auth"] == "Bearer s3cret" for e in entries)
    # what the json body says of one failure and one decision
    by_key = {e["key"]: e["body"] for e in entries if e["status"] == 200}
    failures = [b for b in by_key.values() if b["event"] == "failure"]
    assert failures and all({"address", "reason", "verdict", "fault", "source_id", "date"} <= set(b) for b in failures)
    decisions = [b for b in by_key.values() if b["event"] == "decision"]
    assert decisions and all(b["action"] == "suppress" and b["chain"] for b in decisions)
    # a second run finds nothing left to post
    before = len(entries)
    r = run_cli("scan", "--db", db, "--format", "none", "--no-summary", "--post-to", url, "--post-token-env",
                "HOOK_TOKEN", str(SAMPLES), env=env)
    assert r.returncode == 0, r.stderr
    assert len(_log(log)) == before


def test_a_server_killed_mid_run_gets_the_rest_next_time(tmp_path, server):
    port, log, start = server
    proc = start()
    db = str(tmp_path / "r.sqlite")
    url = f"http://127.0.0.1:{port}/hook"
    # the server dies once it has taken 15 events
    scan = subprocess.Popen([sys.executable, "-m", "bounce_analyzer", "scan", "--db", db, "--format", "none",
                             "--no-summary", "--jobs", "1", "--post-to", url, "--post-retries", "2", str(SAMPLES)],
                            stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + 60
    while len(_log(log)) < 15 and time.monotonic() < deadline and scan.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, err = scan.communicate(timeout=120)
    assert scan.returncode == 1
    lines = err.decode().splitlines()
    assert len(lines) == 1 and "gave up after 3 tries" in lines[0] and "events pending" in lines[0]
    first = _each_taken_once(log)
    expected = set(_expected_keys(db).values())
    assert 15 <= len(first) < len(expected)
    start()
    r = run_cli("scan", "--db", db, "--format", "none", "--no-summary", "--post-to", url, str(SAMPLES))
    assert r.returncode == 0, r.stderr
    assert _each_taken_once(log) == expected


def _mbox(path: Path, copies: int) -> None:
    with path.open("wb") as out:
        for n in range(copies):
            for eml in sorted(SAMPLES.rglob("*.eml")):
                raw = eml.read_bytes().replace(b"\r\n", b"\n")
                raw = b"\n".join(b">" + line if line.startswith(b"From ") else line for line in raw.split(b"\n"))
                out.write(f"From MAILER-DAEMON {n} Thu Jan  1 00:00:00 2026\n".encode() + raw.rstrip(b"\n") + b"\n\n")


def test_a_scan_killed_mid_run_and_resumed_posts_each_event_once(tmp_path, server):
    port, log, start = server
    start("--fail-every", "5")
    mbox = tmp_path / "bounces.mbox"
    _mbox(mbox, 4)  # several rounds of posting during the scan
    db = str(tmp_path / "r.sqlite")
    url = f"http://127.0.0.1:{port}/hook"
    args = [sys.executable, "-m", "bounce_analyzer", "scan", "--db", db, "--format", "none", "--no-summary",
            "--jobs", "1", "--post-to", url, "--post-backoff", "0.01", str(mbox)]
    scan = subprocess.Popen(args, stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + 120
    while len(_log(log)) < 30 and time.monotonic() < deadline and scan.poll() is None:
        time.sleep(0.01)
    assert scan.poll() is None, "the scan ended before it could be killed"
    scan.send_signal(signal.SIGKILL)
    scan.wait()
    r = subprocess.run(args, capture_output=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert _each_taken_once(log) == set(_expected_keys(db).values())


def test_listmonk_bodies_and_sender_side_failures_are_not_sent(tmp_path, server):
    port, log, start = server
    start()
    src = tmp_path / "in"
    src.mkdir()
    for name in ("exim/user-unknown.eml", "edge/blocklist-worded-unknown-user.eml", "feedback/arf-abuse.eml"):
        (src / name.replace("/", "-")).write_bytes((SAMPLES / name).read_bytes())
    db = str(tmp_path / "r.sqlite")
    r = run_cli("scan", "--db", db, "--format", "none", "--no-summary", "--post-to", f"http://127.0.0.1:{port}/wh",
                "--post-format", "listmonk", "--post-token-env", "LM", str(src), env={**os.environ, "LM": "api:tok"})
    assert r.returncode == 0, r.stderr
    bodies = [e["body"] for e in _log(log)]
    assert all(e["auth"] == "token api:tok" for e in _log(log))
    got = sorted((b["email"], b["type"], b["meta"].get("policy") or b["meta"]["reason"]) for b in bodies)
    # the blocklisted IP (the sender's fault) is not a bounce of elif.demir's; the decisions come as hard bounces
    assert got == [("lena.fischer@example.net", "hard", "strict"), ("lena.fischer@example.net", "hard", "user_unknown"),
                   ("reader@example.net", "complaint", "feedback"), ("reader@example.net", "hard", "strict")]
    assert all(b["source"] == "bounce-analyzer" and "campaign_uuid" in b for b in bodies)


def test_post_to_needs_a_store_and_a_set_token(tmp_path):
    r = run_cli("scan", "--format", "none", "--post-to", "http://127.0.0.1:9/x", str(SAMPLES / "exim"))
    assert r.returncode == 2 and b"--post-to needs --db" in r.stderr and r.stderr.count(b"\n") == 1
    r = run_cli("scan", "--db", str(tmp_path / "r.sqlite"), "--format", "none", "--post-to", "http://127.0.0.1:9/x",
                "--post-token-env", "NOT_SET_ANYWHERE", str(SAMPLES / "exim"))
    assert r.returncode == 2 and b"NOT_SET_ANYWHERE: this variable (--post-token-env) is not set" in r.stderr
    r = run_cli("scan", "--db", str(tmp_path / "r.sqlite"), "--format", "none", "--post-to", "ftp://x/", "x")
    assert r.returncode == 2 and b"needs an http:// or https:// URL" in r.stderr
