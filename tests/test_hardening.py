"""Hostile and odd inputs: each case found by probing, reproduced here and held fixed."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bounce_analyzer import analyze
from bounce_analyzer.display import for_terminal, to_json
from bounce_analyzer.options import DEFAULT
from bounce_analyzer.parse.message import decode_encoded_words

from .conftest import ROOT, SAMPLES, need, run_cli, sample_pairs


@pytest.mark.parametrize(("value", "text"), [
    ("=?utf-8?q?caf=C3=A9?= =?utf-8?b?w6k=?= x", "caféé x"),  # the space between two words goes, the last stays
    ("Re: =?ISO-8859-1?Q?Andr=E9?= Pirard", "Re: André Pirard"),
    ("=?utf-8?b?4pyF?=\n =?utf-8?b?4pyF?=", "✅✅"),  # folded between two words
    ("=?utf-8?q?=E2=9C?= =?utf-8?q?=85?=", "✅"),  # one character split across two words
    ("=?utf-8?q?Zoon=2ERu?=\n <info@example.test>", "Zoon.Ru\n <info@example.test>"),  # space before plain text kept
    ("=?UTF-8*en?Q?Hi_there?=", "Hi there"),  # RFC 2231 language
    ("=?utf-8?b?QUFBQQ=?=", "AAAA"),  # padding missing
    ("a =?utf-8?x?QUFB?= b", "a =?utf-8?x?QUFB?= b"),  # not an encoding: left as written
    ("=?utf-8?q?caf=C3=A9", "=?utf-8?q?caf=C3=A9"),  # never closed
])
def test_encoded_words_are_decoded(value, text):
    assert decode_encoded_words(value) == text


def test_a_subject_of_many_thousands_of_encoded_words_is_read_whole():
    n = 50_000
    raw = b"From: a@example.com\nSubject: " + b"=?utf-8?b?QUFBQQ==?= " * n + b"\n\nhello\n"
    report = analyze(raw)
    assert report.subject == "AAAA" * n


def _text_notice(n: int) -> bytes:
    lines = "".join(f"<user{i}@example.com>: 550 5.1.1 user unknown\n" for i in range(n))
    return ("From: MAILER-DAEMON@example.net\nTo: a@example.org\nSubject: Undelivered Mail Returned to Sender\n\n"
            "This is the mail system at host mx.example.net.\n\nI'm sorry to have to inform you that your message "
            "could not\nbe delivered to one or more recipients.\n\n" + lines).encode()


def test_text_cut_at_the_limit_is_reported_with_what_was_dropped():
    raw = _text_notice(1000)
    report = analyze(raw, options=DEFAULT.replace(max_text=20_000))
    addresses = [r.address for r in report.recipients]
    assert 0 < len(addresses) < 1000 and addresses[0] == "user0@example.com"
    (problem,) = [p for p in report.problems if p.kind == "truncated"]
    assert "max_text" in problem.message and "20,000" in problem.message
    # what was dropped: the text past the limit, the whole body less what was read
    body = len(raw.split(b"\n\n", 1)[1])
    assert f"{body - 20_000:,} characters were not" in problem.message


def test_with_room_for_the_whole_text_every_recipient_is_read_and_nothing_is_reported():
    report = analyze(_text_notice(1000), options=DEFAULT.replace(max_text=1 << 20))
    assert [r.address for r in report.recipients] == [f"user{i}@example.com" for i in range(1000)]
    assert {r.status for r in report.recipients} == {"5.1.1"}
    assert not report.problems


# --- the results store ---------------------------------------------------------------------------------------------

def _mbox(messages: list[bytes]) -> bytes:
    out = []
    for m in messages:
        m = m.replace(b"\r\n", b"\n")
        end = b"\n" if m.endswith(b"\n") else b"\n\n"  # a blank line before the next From line
        out.append(b"From sender@example.com Mon Jan  1 00:00:00 2024\n" + m + end)
    return b"".join(out)


def _sample_messages() -> list[bytes]:
    return [eml.read_bytes() for eml, _ in sample_pairs()]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_full_disk_names_the_store_and_what_it_holds(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True).returncode == 0
    need("a small tmpfs to fill", mounted, "run as root where mount is allowed")
    try:
        box = tmp_path / "box"
        # about 4 MB of results, more than the disk holds: five distinct copies of each (identical bytes are one); the
        # disk holds the first group of results stored at once (some 200 messages, one of each sample), not all
        box.write_bytes(_mbox([b"X-Copy: %d\n" % i + m for i in range(5) for m in _sample_messages()]))
        db = mnt / "r.sqlite"
        r = run_cli("scan", "--db", str(db), "--format", "none", "--jobs", "2", str(box))
        err = r.stderr.decode()
        assert r.returncode == 1 and "Traceback" not in err and "internal error" not in err
        (line,) = err.splitlines()
        c = sqlite3.connect(db)
        stored = c.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        assert c.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # every stored message has all its recipients: a group is stored whole or not at all
        report_counts = dict(c.execute("SELECT source_id, json_array_length(report, '$.recipients') FROM messages"))
        row_counts = dict(c.execute("SELECT source_id, COUNT(*) FROM recipients GROUP BY source_id"))
        c.close()
        assert 0 < stored < len(_sample_messages()) * 5
        assert {k: v for k, v in report_counts.items() if v} == row_counts
        assert line.startswith(f"bounce-analyzer: {db}: ") and "the disk is full" in line
        assert f"{stored:,} messages are stored" in line and "run the same scan again" in line
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)  # lazily, should a file be open


@pytest.fixture
def store(tmp_path):
    db = tmp_path / "r.sqlite"
    r = run_cli("scan", "--db", str(db), "--format", "none", "--no-summary", str(SAMPLES / "postfix"))
    assert r.returncode == 0, r.stderr
    return db


def test_report_and_suppressions_only_read_the_store(store, tmp_path):
    before = _files(tmp_path)
    assert run_cli("suppressions", "--db", str(store)).returncode == 0
    assert run_cli("report", "--db", str(store), "-o", str(tmp_path / "out" / "x.html")).returncode == 1
    (tmp_path / "out").mkdir()
    assert run_cli("report", "--db", str(store), "-o", str(tmp_path / "out" / "x.html")).returncode == 0
    assert _files(tmp_path) == before  # the same files, byte for byte: no journal left, nothing rewritten


def test_a_store_that_cannot_be_written_can_still_be_reported_on(store):
    # as another user, the store and its folder are read-only (root would write them anyway)
    folder = Path(tempfile.mkdtemp(prefix="bounce-analyzer-ro-"))
    try:
        (folder / "r.sqlite").write_bytes(store.read_bytes())
        os.chmod(folder / "r.sqlite", 0o444)
        folder.chmod(0o555)
        runner = [] if os.geteuid() else ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        r = subprocess.run([*runner, sys.executable, "-m", "bounce_analyzer", "suppressions", "--db",
                            str(folder / "r.sqlite"), "--format", "jsonl"], capture_output=True, cwd=ROOT, timeout=60)
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
    assert r.returncode == 0, r.stderr
    addresses = {json.loads(line)["address"] for line in r.stdout.decode().splitlines()}
    c = sqlite3.connect(store)
    assert addresses == {a for (a,) in c.execute("SELECT address FROM suppressions")} and addresses
    c.close()


def test_an_empty_file_or_another_programs_database_is_never_written(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    for command in (["report", "--db", str(empty), "-o", str(tmp_path / "x.html")],
                    ["suppressions", "--db", str(empty)]):
        r = run_cli(*command)
        assert r.returncode == 2 and b"empty.sqlite: not a results store" in r.stderr
        assert empty.read_bytes() == b""
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE contacts (address TEXT)")
    c.close()
    before = other.read_bytes()
    for command in (["scan", "--db", str(other), str(SAMPLES / "postfix")], ["suppressions", "--db", str(other)]):
        r = run_cli(*command)
        assert r.returncode == 2 and b"other.sqlite: holds tables of another program" in r.stderr
        assert other.read_bytes() == before
    # a new, empty file is a new store for a scan
    r = run_cli("scan", "--db", str(empty), "--format", "none", "--no-summary", str(SAMPLES / "postfix"))
    assert r.returncode == 0 and empty.stat().st_size > 0


# --- damaged and odd inputs ----------------------------------------------------------------------------------------

def _damaged_gzip_mbox(messages: list[bytes]) -> tuple[bytes, int]:
    """A gzip mbox whose compressed data is overwritten in the middle so that zlib itself fails (not only the CRC
    check at the end), and how many of its messages come before the damage. How much text zlib hands over before it
    fails depends on the size of the reads, and it may first hand over garbage; a place where the scan's reader (a
    chunk at a time) and a reader line by line do not agree is passed over, so that the count does not depend on it."""
    import random
    import zlib

    from bounce_analyzer.batch.mbox import read_mbox

    plain = _mbox(messages)
    data = gzip.compress(plain, mtime=0)
    rnd = random.Random(1)
    # where a damage makes zlib fail depends on the samples compressed: try places until one does
    for shift in range(0, len(data) // 3, 7):
        at = len(data) // 2 + shift
        bad = data[:at] + bytes(rnd.randrange(256) for _ in range(64)) + data[at + 64:]
        out = bytearray()
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(bad)) as fh:
                for line in fh:
                    out += line
        except zlib.error:
            begun = out.count(b"\nFrom sender@") + 1
        except (OSError, EOFError):
            continue
        else:
            continue  # zlib did not notice this damage
        read = 0
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(bad)) as fh:
                for _ in read_mbox(fh, 1 << 24):
                    read += 1
        except zlib.error:
            if read == begun - 1:  # (zlib may also hand over some garbage first, read as messages of its own)
                return bad, begun
    raise AssertionError("no damage that zlib notices")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_gzip_mbox_damaged_in_the_middle_is_a_problem_record_and_the_scan_goes_on(tmp_path, jobs):
    messages = _sample_messages()
    bad, before = _damaged_gzip_mbox(messages)
    (tmp_path / "a.mbox.gz").write_bytes(bad)
    (tmp_path / "b.eml").write_bytes(b"X-Copy: 1\n" + messages[0])  # not the mbox's first message: stored too
    r = run_cli("scan", "--jobs", jobs, "--format", "jsonl", "--no-summary", str(tmp_path))
    err = r.stderr.decode()
    assert r.returncode == 1 and "Traceback" not in err and "internal error" not in err
    reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
    damaged = [x for x in reports if x["source"] == f"mbox:{tmp_path / 'a.mbox.gz'}"]
    assert len(damaged) == 1 and "damaged compressed data" in damaged[0]["problems"][0]["message"]
    # every message that ended before the damage was read (the one the damage cut is not)
    assert len([x for x in reports if x["source"].startswith("mbox:")]) == 1 + before - 1
    assert reports[-1]["source"] == str(tmp_path / "b.eml")  # and the next file too
    # the garbage zlib may hand over before it fails can make the last message read have an overlong diagnostic,
    # which is a note of its own; the damage is the one error
    errors = [line for line in err.splitlines() if "characters; only the first are reported" not in line]
    assert len(errors) == 1 and "a.mbox.gz: damaged compressed data" in err


def test_closed_standard_input_is_one_clear_line():
    for command in (["analyze", "-"], ["scan", "--no-summary", "-"]):
        r = subprocess.run([sys.executable, "-m", "bounce_analyzer", *command], stdin=subprocess.DEVNULL,
                           capture_output=True, cwd=ROOT, timeout=60, preexec_fn=lambda: os.close(0))
        assert r.returncode == 1, r.stderr
        assert r.stderr.decode() == "bounce-analyzer: -: standard input is closed\n"


@pytest.mark.parametrize("command", ["analyze", "scan"])
def test_an_endless_stream_is_read_only_up_to_the_size_limit(command):
    with open("/dev/zero", "rb") as endless:
        r = subprocess.run([sys.executable, "-m", "bounce_analyzer", command, "--max-size", "100k", "-"],
                           stdin=endless, capture_output=True, cwd=ROOT, timeout=60)
    (report,) = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [p["kind"] for p in report["problems"]] == ["truncated"]
    assert "goes on past 102,400 bytes" in report["problems"][0]["message"]


def _as_nobody() -> list[str]:
    """Run a command as a user without rights to what root made unreadable (root reads everything)."""
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []


def test_an_unreadable_subfolder_is_named_and_the_rest_is_scanned():
    top = Path(tempfile.mkdtemp(prefix="bounce-analyzer-perm-"))
    try:
        top.chmod(0o755)
        messages = _sample_messages()
        (top / "a.eml").write_bytes(messages[0])
        (top / "locked").mkdir()
        (top / "locked" / "b.eml").write_bytes(messages[1])
        (top / "z.eml").write_bytes(messages[2])
        (top / "box" / "cur").mkdir(parents=True)
        (top / "box" / "new").mkdir()
        (top / "box" / "new" / "1.host").write_bytes(messages[3])
        (top / "locked").chmod(0)
        (top / "box" / "new").chmod(0)
        for command in (["scan", "--format", "jsonl", "--no-summary"], ["analyze"]):
            r = subprocess.run([*_as_nobody(), sys.executable, "-m", "bounce_analyzer", *command, str(top)],
                               capture_output=True, cwd=ROOT, timeout=60)
            err = r.stderr.decode()
            assert r.returncode == 1 and "Traceback" not in err
            assert f"{top / 'locked'}: " in err and "ermission denied" in err
            sources = [json.loads(line)["source"] for line in r.stdout.decode().splitlines()]
            assert str(top / "a.eml") in sources and str(top / "z.eml") in sources
            if command[0] == "scan":
                assert f"maildir:{top / 'box' / 'new'}: " in err
    finally:
        for p in (top / "locked", top / "box" / "new"):
            p.chmod(0o755)
        shutil.rmtree(top)


def test_a_charset_name_with_a_null_byte_and_raw_8bit_text_is_read():
    raw = (b"From: MAILER-DAEMON@example.net\nSubject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
           b"Content-Type: text/plain; charset=\"iso-8859-1\x00\"\n\n"
           b"<caf\xe9@example.com>: 550 5.1.1 user unknown \xff\xfe\n")
    report = analyze(raw)
    assert not report.problems
    assert [(r.address, r.status) for r in report.recipients] == [("café@example.com", "5.1.1")]


# --- file names and control characters -----------------------------------------------------------------------------

_HOSTILE = "\x1b]0;owned\x07\x1b[2J\x08\x08\u009b31m\u202e"
_CONTROL_BYTES = [b"\x1b", b"\x07", b"\x08", "\u009b".encode(), "\u202e".encode()]


def _hostile_notice() -> bytes:
    return ("From: MAILER-DAEMON@example.net\nTo: list-bounces@example.org\nSubject: Undelivered Mail Returned to "
            f"Sender {_HOSTILE}\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nThis is the mail system at host "
            f"mx.example.net.\n\n<bob@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 "
            f"<bob@example.com>: Recipient address rejected: User unknown {_HOSTILE} (in reply to RCPT TO command)\n"
            ).encode()


def test_a_file_whose_name_is_not_utf8_is_scanned_stored_and_named_losslessly(tmp_path):
    mail = tmp_path / "mail"
    mail.mkdir()
    folder = os.fsencode(mail)
    name = b"caf\xe9-\xff.eml"  # Latin-1 bytes: not UTF-8
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(_sample_messages()[0])
    (mail / "plain.eml").write_bytes(_sample_messages()[1])
    db = tmp_path / "r.sqlite"
    for command in (["scan", "--db", str(db), "--format", "jsonl", "--no-summary"], ["analyze", "--format", "jsonl"]):
        r = run_cli(*command, str(mail))
        assert r.returncode == 0, r.stderr
        sources = [json.loads(line)["source"] for line in r.stdout.decode("utf-8").splitlines()]
        # the JSON names the file exactly: its bytes come back from the escaped form
        assert os.path.join(folder, name) in [os.fsencode(s) for s in sources]
        assert b"\\udce9" in r.stdout and b"\xe9" not in r.stdout
    r = run_cli("scan", "--db", str(db), "--format", "none", str(mail))  # again: nothing new to do
    assert r.returncode == 0 and "2 messages" in r.stderr.decode() and "already stored" in r.stderr.decode()
    c = sqlite3.connect(db)
    keys = {k for (k,) in c.execute("SELECT source_id FROM messages")}
    c.close()
    assert str(mail / "caf\\xe9-\\xff.eml") in keys
    r = run_cli("scan", "--format", "text", "--no-summary", str(mail))
    assert f"{mail}/caf\\xe9-\\xff.eml  ".encode() in r.stdout


def test_control_characters_never_reach_the_terminal_and_json_keeps_them_exactly(tmp_path):
    (tmp_path / f"evil{_HOSTILE}.eml").write_bytes(_hostile_notice())
    unreadable = tmp_path / f"gone{_HOSTILE}"
    db = tmp_path / "r.sqlite"
    outputs = [
        run_cli("analyze", "--format", "text", str(tmp_path), str(unreadable)),
        run_cli("scan", "--db", str(db), "--format", "text", str(tmp_path), str(unreadable)),
        run_cli("suppressions", "--db", str(db)),
    ]
    for r in outputs:
        for stream in (r.stdout, r.stderr):
            assert not any(c in stream for c in _CONTROL_BYTES), stream
    text = outputs[0].stdout.decode()
    assert "Recipient address rejected: User unknown \\x1b]0;owned\\x07\\x1b[2J\\x08\\x08\\x9b31m\\u202e" in text
    assert "evil\\x1b]0;owned" in text and "gone\\x1b]0;owned" in outputs[0].stderr.decode()
    assert "bob@example.com" in outputs[2].stdout.decode()
    r = run_cli("analyze", "--format", "jsonl", str(tmp_path / f"evil{_HOSTILE}.eml"))
    assert not any(c in r.stdout for c in _CONTROL_BYTES)
    (report,) = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert report["source"].endswith(f"evil{_HOSTILE}.eml") and report["subject"].endswith(_HOSTILE.strip())
    assert _HOSTILE in report["recipients"][0]["diagnostic"]


@pytest.mark.parametrize("indent", [None, 2])
def test_json_escapes_what_a_terminal_obeys_and_reads_back_exactly(indent):
    value = {"diagnostic": f"550 {_HOSTILE} \x7f\n\t", "source": "/mail/caf\udce9.eml", "n": [1, None]}
    text = to_json(value, indent=indent)
    assert json.loads(text) == value
    assert text.isascii() and not any(c in text.encode() for c in _CONTROL_BYTES)
    assert ("\n" in text) == (indent is not None)  # the indentation stays as it is


def test_for_terminal_shows_control_characters_and_keeps_the_rest():
    assert for_terminal("café ✅ 550") == "café ✅ 550"
    assert for_terminal("a\x1b[2Jb\x07\u009b\u202e\udce9\n") == "a\\x1b[2Jb\\x07\\x9b\\u202e\\xe9\\x0a"


# --- signals -------------------------------------------------------------------------------------------------------

def _group_left(pgid: int) -> list[str]:
    """Processes still in a process group, zombies included."""
    out = subprocess.run(["ps", "-o", "pid=,stat=", "-g", str(pgid)], capture_output=True, text=True).stdout
    return out.split("\n")[:-1]


@pytest.mark.parametrize(("source", "sig", "to_group", "jobs"), [
    ("stdin", signal.SIGTERM, True, "2"),  # as `timeout` sends it, on an endless stream
    ("stdin", signal.SIGINT, False, "2"),
    ("folder", signal.SIGINT, True, "2"),  # Ctrl-C at a terminal
    ("folder", signal.SIGTERM, False, "2"),
    ("mbox", signal.SIGINT, True, "2"),
    ("mbox", signal.SIGTERM, True, "2"),
    ("stdin", signal.SIGTERM, True, "1"),
    ("folder", signal.SIGINT, True, "1"),
])
def test_a_signal_stops_the_scan_quickly_leaves_no_process_and_keeps_what_was_printed(tmp_path, source, sig,
                                                                                      to_group, jobs):
    messages = _sample_messages()
    box = tmp_path / "box"
    box.write_bytes(_mbox(messages * 30))
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, m in enumerate(messages * 10):
        (folder / f"{i:05d}.eml").write_bytes(m)
    db, out = tmp_path / "r.sqlite", tmp_path / "out.jsonl"
    feeder = None
    if source == "stdin":  # a stream that never ends
        feeder = subprocess.Popen(["sh", "-c", f"while cat '{box}'; do :; done"], stdout=subprocess.PIPE,
                                  start_new_session=True)
    arg = {"stdin": "-", "folder": str(folder), "mbox": str(box)}[source]
    with out.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bounce_analyzer", "scan", "--db", str(db), "--jobs", jobs, "--format", "jsonl",
             "--no-summary", arg], cwd=ROOT, stdin=feeder.stdout if feeder else subprocess.DEVNULL, stdout=fh,
            stderr=subprocess.PIPE, start_new_session=True,
            # started as a background job is: with SIGINT ignored, which must not stop Ctrl-C from working
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and out.stat().st_size < 20_000:
                time.sleep(0.01)
            sent = time.monotonic()
            if to_group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
            _, err = proc.communicate(timeout=30)
            took = time.monotonic() - sent
        finally:
            if feeder:
                os.killpg(feeder.pid, signal.SIGKILL)
                feeder.wait()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert took < 2, f"took {took:.1f} s to stop"
    assert _group_left(proc.pid) == []  # no worker left behind, not even as a zombie
    assert proc.returncode == 130, err
    (line,) = err.decode().splitlines()
    c = sqlite3.connect(db)
    stored = {k for (k,) in c.execute("SELECT source_id FROM messages")}
    c.close()
    assert line.startswith(f"bounce-analyzer: interrupted: {len(stored):,} messages are stored in {db} (")
    assert line.endswith(" from this run); run the same command again to go on")
    printed = {json.loads(x)["source"] for x in out.read_text().splitlines()}
    assert printed and printed <= stored  # everything handed out was stored


def test_a_worker_killed_on_its_own_stops_the_scan_with_a_clear_line(tmp_path):
    box = tmp_path / "box"
    box.write_bytes(_mbox(_sample_messages() * 40))
    db, out = tmp_path / "r.sqlite", tmp_path / "out.jsonl"
    with out.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "bounce_analyzer", "scan", "--db", str(db), "--jobs", "2",
                                 "--format", "jsonl", "--no-summary", str(box)], cwd=ROOT, stdout=fh,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and out.stat().st_size < 20_000:
                time.sleep(0.01)
            workers = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True,
                                     text=True).stdout.split()
            assert len(workers) == 2
            os.kill(int(workers[0]), signal.SIGKILL)  # as the kernel's OOM killer would
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert _group_left(proc.pid) == []
    assert proc.returncode == 1 and b"Traceback" not in err
    assert "a worker process ended unexpectedly" in err.decode() and "run the same scan again" in err.decode()
    c = sqlite3.connect(db)
    stored = {k for (k,) in c.execute("SELECT source_id FROM messages")}
    c.close()
    assert {json.loads(x)["source"] for x in out.read_text().splitlines()} <= stored


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_an_imap_scan_too(mail_server, tmp_path, sig):
    import imapclient

    folder = f"Signal{sig}"
    c = imapclient.IMAPClient(mail_server["host"], mail_server["imap_port"], ssl=False)
    c.login(mail_server["user"], mail_server["password"])
    if c.folder_exists(folder):
        c.delete_folder(folder)
    c.create_folder(folder)
    c.multiappend(folder, [m.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for m in _sample_messages() * 10])
    db, out = tmp_path / "r.sqlite", tmp_path / "out.jsonl"
    url = f"imap://{mail_server['user']}@{mail_server['host']}:{mail_server['imap_port']}/{folder}"
    try:
        with out.open("wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bounce_analyzer", "scan", "--plaintext", "--db", str(db), "--jobs", "2",
                 "--format", "jsonl", "--no-summary", url], cwd=ROOT, stdout=fh, stderr=subprocess.PIPE,
                env={**os.environ, "BOUNCE_ANALYZER_PASSWORD": mail_server["password"]}, start_new_session=True)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and out.stat().st_size < 20_000:
                    time.sleep(0.01)
                sent = time.monotonic()
                os.killpg(proc.pid, sig)
                _, err = proc.communicate(timeout=30)
                took = time.monotonic() - sent
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    finally:
        c.delete_folder(folder)
        c.logout()
    assert took < 2 and _group_left(proc.pid) == []
    assert proc.returncode == 130 and b"run the same command again" in err, err
    sc = sqlite3.connect(db)
    stored = {k for (k,) in sc.execute("SELECT source_id FROM messages")}
    sc.close()
    printed = {json.loads(x)["source"] for x in out.read_text().splitlines()}
    assert printed and printed <= stored and len(stored) < len(_sample_messages()) * 10


def test_the_html_report_says_when_its_table_is_cut(store, monkeypatch):
    from bounce_analyzer.batch import html_report
    from bounce_analyzer.batch.store import open_existing

    def rows(page: str) -> list[object]:
        data = json.loads(page.split('<script type="application/json" id="data">', 1)[1].split("</script>", 1)[0])
        return list(data["rows"])

    s = open_existing(str(store))
    try:
        whole = html_report.render(s)
        assert "The table holds the newest" not in whole
        monkeypatch.setattr(html_report, "ROW_LIMIT", 2)
        page = html_report.render(s)
    finally:
        s.close()
    shown = len(rows(whole))
    assert len(rows(page)) == 2 and shown > 2
    assert f"The table holds the newest 2 of {shown:,} rows" in page


def test_a_damaged_store_is_one_clear_line_for_every_command(store, tmp_path):
    data = bytearray(store.read_bytes())
    assert len(data) > 16 * 4096
    half = len(data) // 2 // 4096 * 4096
    data[half:] = b"\xa5" * (len(data) - half)  # the second half of the pages overwritten
    store.write_bytes(bytes(data))
    for command in (["suppressions", "--db", str(store)],
                    ["report", "--db", str(store), "-o", str(tmp_path / "r.html")],
                    ["scan", "--db", str(store), "--format", "none", str(SAMPLES / "postfix")]):
        r = run_cli(*command)
        err = r.stderr.decode()
        assert r.returncode in (1, 2) and "Traceback" not in err and "internal error" not in err, err
        (line,) = err.splitlines()
        assert line.startswith(f"bounce-analyzer: {store}: ") and "malformed" in line, line
