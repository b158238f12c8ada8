"""Scale-out: sources cut into tasks (bounce_analyzer.distributed), the Parquet dataset, and a Dask LocalCluster
with two worker processes. The cluster tests use a 2,000-message mbox (the 100,000-message one is in
bench/bench_dask.py): on two busy cores each pass over 20,000 messages would take minutes."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bounce_analyzer.batch import scan
from bounce_analyzer.batch.parquet import load_into_store
from bounce_analyzer.batch.rows import MESSAGE_COLUMNS, RECIPIENT_COLUMNS
from bounce_analyzer.batch.sources import message_key
from bounce_analyzer.batch.store import Store
from bounce_analyzer.distributed import boundary_at_or_after, plan, read_task, run_local
from bounce_analyzer.distributed import scan as dask_scan

from .conftest import SAMPLES

SAMPLE_FILES = sorted(p for p in SAMPLES.rglob("*.eml"))

# an mbox with the cases the cut must get right: a From line inside a body that follows a non-blank line (not a
# boundary), CRLF line ends, a blank line of only \r characters, >From quoting
TRICKY = (b"From a@example.com Mon Jan  1 00:00:00 2024\n"
          b"Subject: one\n\nbody\nFrom here on it is still the body\n\n"
          b"From b@example.com Mon Jan  1 00:00:00 2024\r\n"
          b"Subject: two\r\n\r\nbody\r\n>From quoted\r\n\r\n"
          b"From c@example.com Mon Jan  1 00:00:00 2024\n"
          b"Subject: three\n\nbody\n\r\r\n"
          b"From d@example.com Mon Jan  1 00:00:00 2024\n"
          b"Subject: four\n\nlast\n")
# the boundaries, found by reading the text above: the From lines of a@, b@, c@ and d@
TRICKY_STARTS = [TRICKY.index(b"From " + who) for who in (b"a@", b"b@", b"c@", b"d@")]


def test_a_cut_finds_the_boundary_the_single_process_reader_finds(tmp_path):
    mbox = tmp_path / "tricky.mbox"
    mbox.write_bytes(TRICKY)
    with mbox.open("rb") as fh:
        for start in range(len(TRICKY) + 1):
            expected = next((o for o in TRICKY_STARTS if o >= start), None)
            assert boundary_at_or_after(fh, start) == expected, start


@pytest.mark.parametrize("task_bytes", [1, 13, 64, 1 << 20])
def test_mbox_ranges_give_the_ids_and_reports_of_a_single_process_scan(tmp_path, task_bytes):
    mbox = tmp_path / "tricky.mbox"
    mbox.write_bytes(TRICKY)
    reference = [r.to_dict() for r in scan(str(mbox))]
    assert [r["source"] for r in reference] == [f"mbox:{mbox}#{o}" for o in TRICKY_STARTS]
    if task_bytes < len(TRICKY):
        assert len(plan([str(mbox)], task_bytes=task_bytes)) > 1  # the file is really cut
    assert [r.to_dict() for r in run_local(str(mbox), task_bytes=task_bytes)] == reference


def test_tasks_name_files_by_absolute_paths(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    _maildir(folder / "box")
    shutil.copy(SAMPLE_FILES[0], folder / "one.eml")
    monkeypatch.chdir(tmp_path)
    tasks = plan(["in"])
    assert [t.kind for t in tasks] == ["files", "maildir"]
    assert tasks[0].entries == ((str(folder / "one.eml"), ""),)
    assert os.path.isabs(tasks[1].path) and all(os.path.isabs(f) for _, f in tasks[1].entries)
    monkeypatch.chdir(SAMPLES)  # read from another working folder, as a worker on another machine would
    ids = [r.report.source for t in tasks for r in read_task(t)]
    assert ids[0] == str(folder / "one.eml") and len(ids) == 41
    assert not [p for t in tasks for r in read_task(t) for p in r.report.problems if p.kind == "unreadable"]


def _mbox(path: Path, n: int) -> Path:
    pool = [p.read_bytes().replace(b"\r\n", b"\n") for p in SAMPLE_FILES]
    with path.open("wb") as fh:
        for i in range(n):
            raw = b"X-Test-Id: %d\n" % i + pool[i % len(pool)]
            raw = (raw if raw.endswith(b"\n") else raw + b"\n").replace(b"\nFrom ", b"\n>From ")
            fh.write(b"From test@example.com Mon Jan  1 00:00:00 2024\n" + raw + b"\n")
    return path


def _maildir(root: Path) -> Path:
    """A Maildir with 20 copies of sample files (the same bytes as in the folder: stored once) and 20 of its own."""
    for d in ("cur", "new", "tmp"):
        (root / d).mkdir(parents=True)
    for i, p in enumerate(SAMPLE_FILES[:40]):
        raw = p.read_bytes() if i < 20 else b"X-Maildir-Copy: %d\n" % i + p.read_bytes()
        (root / "cur" / f"17000000{i:02d}.M{i}P1.host:2,S").write_bytes(raw)
    return root


def _inputs(tmp_path: Path, n: int) -> list[str]:
    folder = tmp_path / "folder"
    shutil.copytree(SAMPLES, folder)
    return [str(_mbox(tmp_path / "big.mbox", n)), str(folder), str(_maildir(tmp_path / "Maildir"))]


def _distinct_keys(specs: list[str]) -> set[str]:
    """The content keys of every message of the inputs, read without the code under test's splitting."""
    keys = set()
    for p in sorted(Path(specs[1]).rglob("*.eml")) + sorted((Path(specs[2]) / "cur").iterdir()):
        keys.add(message_key(p.read_bytes()))
    for block in Path(specs[0]).read_bytes().split(b"\n\nFrom test@example.com Mon Jan  1 00:00:00 2024\n"):
        keys.add(message_key(block.removeprefix(b"From test@example.com Mon Jan  1 00:00:00 2024\n")))
    return keys


def _sqlite_rows(db: Path) -> tuple[list[tuple], list[tuple]]:
    con = sqlite3.connect(db)
    cols = [c for c in MESSAGE_COLUMNS if c != "scanned_at"]
    messages = sorted(con.execute(f"SELECT {', '.join(cols)} FROM messages"))
    recipients = sorted(con.execute(f"SELECT {', '.join(RECIPIENT_COLUMNS)} FROM recipients"))
    con.close()
    return messages, recipients


def _parquet_rows(out: Path) -> tuple[list[tuple], list[tuple]]:
    cols = [c for c in MESSAGE_COLUMNS if c != "scanned_at"]
    m = pq.read_table(out / "messages").to_pylist()
    r = pq.read_table(out / "recipients").to_pylist()
    messages = sorted(tuple(int(row[c]) if c == "is_bounce" else row[c] for c in cols) for row in m)
    return messages, sorted(tuple(row[c] for c in RECIPIENT_COLUMNS) for row in r)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The inputs and their single-process result (an SQLite store filled by the ordinary scan)."""
    tmp = tmp_path_factory.mktemp("scaleout")
    specs = _inputs(tmp, 2000)
    db = tmp / "reference.sqlite"
    for _ in scan(specs, store=str(db), jobs=2):
        pass
    return specs, _sqlite_rows(db)


def test_reference_holds_each_distinct_message_once(inputs):
    specs, (messages, _) = inputs
    assert len(messages) == len(_distinct_keys(specs)) == 2000 + len(SAMPLE_FILES) + 20


def test_local_parquet_equals_the_store_and_a_repeated_run_replaces_its_parts(inputs, tmp_path):
    specs, reference = inputs
    out = tmp_path / "out"
    assert sum(1 for _ in run_local(specs, parquet=str(out), jobs=2, task_bytes=1 << 20, task_files=50)) \
        == len(reference[0])
    parts = sorted(os.listdir(out / "messages"))
    assert len(parts) > 5
    assert _parquet_rows(out) == reference
    assert sum(1 for _ in run_local(specs, parquet=str(out), jobs=2, task_bytes=1 << 20, task_files=50)) \
        == len(reference[0])
    assert sorted(os.listdir(out / "messages")) == parts  # the same parts, written again
    assert _parquet_rows(out) == reference  # no duplicates

    store = Store(str(tmp_path / "loaded.sqlite"))
    try:
        assert load_into_store(str(out), store) == (len(reference[0]), 0)
        assert load_into_store(str(out), store) == (0, len(reference[0]))
    finally:
        store.close()
    assert _sqlite_rows(tmp_path / "loaded.sqlite") == reference


def test_a_changed_mbox_gets_new_parts_and_keeps_each_message_once(tmp_path):
    mbox = _mbox(tmp_path / "a.mbox", 30)
    out = tmp_path / "out"
    assert sum(1 for _ in run_local(str(mbox), parquet=str(out))) == 30
    old = set(os.listdir(out / "messages"))
    with mbox.open("ab") as fh:  # one new message appended: the old parts stay, the new one holds only it
        fh.write(b"From test@example.com Mon Jan  1 00:00:00 2024\nX-Test-Id: new\n"
                 + SAMPLE_FILES[0].read_bytes().replace(b"\r\n", b"\n") + b"\n")
    assert [r.source for r in run_local(str(mbox), parquet=str(out))] == [r.source for r in scan(str(mbox))][-1:]
    assert old < set(os.listdir(out / "messages"))
    keys = pq.read_table(out / "messages", columns=["message_key"]).column(0).to_pylist()
    assert len(keys) == len(set(keys)) == 31


def test_cli_writes_parquet_and_refuses_what_it_cannot_split(cli, tmp_path):
    mbox = _mbox(tmp_path / "a.mbox", 10)
    out = tmp_path / "out"
    result = cli("scan", "--format", "parquet", "-o", str(out), str(mbox))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    assert result.stderr.decode() == f"bounce-analyzer: 10 messages analyzed, written to {out}\n"
    assert pq.read_table(out / "messages").num_rows == 10
    result = cli("scan", "-o", str(out), str(mbox))
    assert result.returncode == 2 and b"--format parquet and -o DIR go together" in result.stderr
    result = cli("scan", "--format", "parquet", "-o", str(out), "-", stdin=b"Subject: x\n\nhi\n")
    assert result.returncode == 2
    assert result.stderr.strip().count(b"\n") == 0 and b"-: only files, folders" in result.stderr
    db = tmp_path / "r.sqlite"
    result = cli("load", str(out), "--db", str(db))
    assert result.returncode == 0 and b"10 messages added" in result.stderr
    assert Store(str(db)).count() == 10


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as c:
        yield c


def test_dask_scan_equals_the_single_process_result_row_for_row(inputs, client, tmp_path):
    specs, reference = inputs
    out = tmp_path / "dask"
    tasks = plan(specs, task_bytes=512 << 10, task_files=40)
    assert {t.kind for t in tasks} == {"mbox", "files", "maildir"} and len(tasks) > 10
    reports = list(dask_scan(specs, client, parquet=str(out), task_bytes=512 << 10, task_files=40))
    assert len(reports) == len(reference[0])
    assert _parquet_rows(out) == reference


def test_a_worker_killed_mid_scan_changes_nothing(inputs, client, tmp_path):
    specs, reference = inputs
    out = tmp_path / "killed"
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    seen = 0
    for _ in dask_scan(specs, client, parquet=str(out), task_bytes=256 << 10, task_files=40):
        seen += 1
        if seen == 1:
            os.kill(victim, signal.SIGKILL)  # tasks are in flight on both workers now
    assert seen == len(reference[0])
    assert victim not in client.run(os.getpid).values()  # the worker really died (its nanny started another)
    assert _parquet_rows(out) == reference


def test_an_imap_folder_split_by_uid_ranges_equals_a_single_process_scan(mail_server, client, tmp_path):
    import imapclient

    folder = "ScaleOut"
    c = imapclient.IMAPClient(mail_server["host"], mail_server["imap_port"], ssl=False)
    c.login(mail_server["user"], mail_server["password"])
    c.create_folder(folder)
    try:
        for i, eml in enumerate(SAMPLE_FILES[:30]):
            raw = b"X-Imap-Copy: %d\n" % i + eml.read_bytes().replace(b"\r\n", b"\n")
            c.append(folder, raw.replace(b"\n", b"\r\n"))
        netrc = tmp_path / "netrc"  # the workers log in by themselves: no password travels with a task
        netrc.write_text(f"machine {mail_server['host']} login test password {mail_server['password']}\n")
        netrc.chmod(0o600)
        url = f"imap://test@{mail_server['host']}:{mail_server['imap_port']}/{folder}"
        login = {"netrc_file": str(netrc), "plaintext": True}
        tasks = plan([url], task_uids=7, **login)
        assert [t.kind for t in tasks] == ["imap"] * 5  # 30 UIDs, 7 a task
        assert all(mail_server["password"] not in repr(t) for t in tasks)
        reference = [r.to_dict() for r in scan(url, **login)]
        assert len(reference) == 30
        out = tmp_path / "imap"
        assert [r.to_dict() for r in dask_scan(url, client, parquet=str(out), task_uids=7, **login)] == reference
        assert sorted(pq.read_table(out / "messages", columns=["source_id"]).column(0).to_pylist()) \
            == sorted(r["source"] for r in reference)
    finally:
        c.delete_folder(folder)
        c.logout()


def test_cli_scan_on_a_scheduler_prints_what_a_local_scan_prints(cli, client, tmp_path):
    mbox = _mbox(tmp_path / "a.mbox", 40)
    local = cli("scan", "--format", "jsonl", "--no-summary", str(mbox))
    assert local.returncode == 0 and local.stdout.count(b"\n") == 40
    remote = cli("scan", "--dask", client.scheduler.address, "--format", "jsonl", str(mbox))
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout
    assert remote.stderr == b"bounce-analyzer: 40 messages analyzed\n"
    # rule files given by a relative path are loaded by the workers from the same files
    rules = "bounce_analyzer/rules/providers/google.toml"
    local = cli("scan", "--rules", rules, "--format", "jsonl", "--no-summary", str(mbox))
    remote = cli("scan", "--rules", rules, "--dask", client.scheduler.address, "--format", "jsonl", str(mbox))
    assert remote.returncode == 0 and remote.stdout == local.stdout, remote.stderr
