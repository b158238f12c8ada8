"""The one input layer and content identity: analyze reads mboxes like scan does, and the store keeps each message once
however the mailbox was edited (trimmed, compacted with other line endings, moved), old stores included."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import tomllib
from pathlib import Path

from bounce_analyzer.batch import scan
from bounce_analyzer.batch.sources import message_key
from bounce_analyzer.options import DEFAULT

from .conftest import run_cli, sample_pairs

PAIRS = sample_pairs()


def _raw(eml: Path) -> bytes:
    return eml.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _mbox(messages: list[bytes], newline: bytes = b"\n") -> bytes:
    out = []
    for i, m in enumerate(messages):
        body = m if m.endswith(b"\n") else m + b"\n"
        out.append(b"From sender%d@example.com Mon Jan  1 00:00:00 2024\n" % i + body + b"\n")
    return b"".join(out).replace(b"\n", newline)


def _kinds(eml: Path) -> str:
    return str(tomllib.loads(eml.with_suffix(".expected.toml").read_text(encoding="utf-8"))["kind"])


def _stored(db: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT source_id, message_key FROM messages ORDER BY rowid").fetchall()


def test_message_key_ignores_line_endings_and_mbox_quoting_but_not_content():
    m = _raw(PAIRS[0][0])
    assert message_key(m) == message_key(m.replace(b"\n", b"\r\n")) == message_key(m + b"\n\n")
    assert message_key(b"A: b\n\nFrom here\n") == message_key(b"A: b\n\n>From here\n")
    assert message_key(m) != message_key(m.replace(b"\n\n", b"\n\nx", 1))


def test_analyze_reports_every_message_of_an_mbox_plain_or_gzip(tmp_path):
    picked = PAIRS[:5]
    box = tmp_path / "bounces"
    box.write_bytes(_mbox([_raw(e) for e, _ in picked]))
    (tmp_path / "old.gz").write_bytes(gzip.compress(box.read_bytes()))
    for path in (box, tmp_path / "old.gz"):
        r = run_cli("analyze", "--format", "jsonl", str(path))
        assert r.returncode == 0, r.stderr
        reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
        assert [x["kind"] for x in reports] == [_kinds(e) for e, _ in picked]
        assert all(x["source"].startswith(f"mbox:{path}#") for x in reports)
    # a plain file keeps the path as given, and json gives one object for it
    eml = PAIRS[0][0]
    r = run_cli("analyze", "--format", "json", str(eml.relative_to(eml.parents[2])), cwd=eml.parents[2])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["source"] == str(eml.relative_to(eml.parents[2]))
    r = run_cli("analyze", "--format", "json", str(box))
    assert len(json.loads(r.stdout)) == len(picked)


def test_one_message_after_a_from_line_is_a_message_file_whatever_its_line_endings(tmp_path):
    eml, expected = next((e, x) for e, x in PAIRS if tomllib.loads(x.read_text())["kind"] == "failure")
    want = [w["address"] for w in tomllib.loads(expected.read_text()).get("recipient", [])]
    body = b"From MAILER-DAEMON  Thu Apr 29 23:34:45 2021\n" + _raw(eml).replace(b"\r\n", b"\n")
    for name, ending in (("lf.eml", b"\n"), ("crlf.eml", b"\r\n"), ("cr.eml", b"\r")):
        (tmp_path / name).write_bytes(body.replace(b"\n", ending))
        r = run_cli("analyze", "--format", "json", name, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        assert report["source"] == name
        assert sorted(x["address"] for x in report["recipients"]) == sorted(want), name


def test_a_trimmed_or_compacted_mbox_is_never_stored_twice(tmp_path):
    messages = [_raw(e) for e, _ in PAIRS[:8]]
    box = tmp_path / "box"
    box.write_bytes(_mbox(messages))
    db = tmp_path / "r.sqlite"
    assert len(list(scan(str(box), store=str(db)))) == 8
    box.write_bytes(_mbox(messages[2:]))  # the first two deleted: every offset moves
    assert list(scan(str(box), store=str(db))) == []
    box.write_bytes(_mbox(messages[2:], newline=b"\r\n"))  # compacted by a program that writes CRLF
    assert list(scan(str(box), store=str(db))) == []
    rotated = tmp_path / "box.1.gz"
    rotated.write_bytes(gzip.compress(_mbox(messages[:3])))
    assert list(scan(str(rotated), store=str(db))) == []
    stored = _stored(db)
    assert len(stored) == 8 and len({k for _, k in stored}) == 8
    # a new message now at an offset where a stored one was: stored beside it, its id saying so
    fresh = messages[0].replace(b"\n\n", b"\nX-New: 1\n\n", 1)
    box.write_bytes(_mbox([fresh, *messages[2:]]))
    (new,) = list(scan(str(box), store=str(db)))
    assert new.source.startswith(f"mbox:{box}#0;key={message_key(fresh)[:16]}")
    assert len(_stored(db)) == 9


def test_a_moved_maildir_and_a_second_copy_are_the_same_messages(tmp_path):
    messages = [_raw(e) for e, _ in PAIRS[:4]]
    md = tmp_path / "Maildir"
    for d in ("cur", "new", "tmp"):
        (md / d).mkdir(parents=True)
    for i, m in enumerate(messages):
        (md / "cur" / f"17000000{i}.M{i}.host:2,S").write_bytes(m)
    db = tmp_path / "r.sqlite"
    assert len(list(scan(str(md), store=str(db)))) == 4
    shutil.move(str(md), str(tmp_path / "Archive"))
    assert list(scan(str(tmp_path / "Archive"), store=str(db))) == []
    (tmp_path / "copy.eml").write_bytes(messages[0].replace(b"\n", b"\r\n"))
    assert list(scan(str(tmp_path / "copy.eml"), store=str(db))) == []
    # the same bytes twice in one mbox are one message
    box = tmp_path / "twice"
    box.write_bytes(_mbox([messages[0], messages[0]]))
    assert list(scan(str(box), store=str(tmp_path / "other.sqlite"))) != []
    assert len(_stored(tmp_path / "other.sqlite")) == 1
    assert len(_stored(db)) == 4


def test_an_old_store_is_migrated_in_place_and_trusted_by_location(tmp_path):
    messages = [_raw(e) for e, _ in PAIRS[:5]]
    box = tmp_path / "box"
    box.write_bytes(_mbox(messages))
    db = tmp_path / "r.sqlite"
    first = list(scan(str(box), store=str(db)))
    with sqlite3.connect(db) as c:  # as the tool wrote stores before keys existed
        c.execute("DROP INDEX messages_key")
        c.execute("ALTER TABLE messages DROP COLUMN message_key")
        c.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    assert list(scan(str(box), store=str(db))) == []  # same places, same messages: nothing analyzed again
    stored = _stored(db)
    assert [k for _, k in stored] == [message_key(m) for m in messages]
    assert {s for s, _ in stored} == {r.source for r in first}
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
    box.write_bytes(_mbox(messages[1:]))  # trimmed after the migration: the keys now hold
    assert list(scan(str(box), store=str(db))) == []
    # a store from a newer version is refused by name
    with sqlite3.connect(db) as c:
        c.execute("UPDATE meta SET value = '9' WHERE key = 'schema'")
    r = run_cli("scan", "--db", str(db), str(box))
    assert r.returncode == 2 and f"{db}: written by a newer version".encode() in r.stderr


def test_the_store_keeps_the_final_recipient_and_fault(tmp_path):
    eml = next(e for e, _ in PAIRS if e.name == "alias-expanded-final-address.eml")
    db = tmp_path / "r.sqlite"
    list(scan(str(eml), store=str(db)))
    with sqlite3.connect(db) as c:
        got = c.execute("SELECT address, final_recipient, fault FROM recipients WHERE address = 'carla@example.com'"
                        ).fetchall()
    assert got == [("carla@example.com", "carla@mail.example.net", "recipient")]


def test_a_file_is_read_up_to_the_limit_with_its_whole_size(tmp_path):
    from bounce_analyzer.batch.sources import read_file

    f = tmp_path / "m.eml"
    f.write_bytes(b"x" * 1000)
    assert read_file(f, 10_000) == (b"x" * 1000, 1000)
    assert read_file(f, 1000) == (b"x" * 1000, 1000)
    assert read_file(f, 999) == (b"x" * 999, 1000)
    f.write_bytes(b"")
    assert read_file(f, 10) == (b"", 0)


def test_a_file_cut_at_the_limit_is_reported_by_analyze_file(tmp_path):
    from bounce_analyzer import analyze_file

    eml = next(e for e, _ in PAIRS if e.stat().st_size > 2000)
    report = analyze_file(eml, options=DEFAULT.replace(max_size=1000))
    (problem,) = [p for p in report.problems if p.kind == "truncated"]
    assert problem.message == f"message is {eml.stat().st_size:,} bytes; only the first 1,000 were analyzed"
