"""Scanning IMAP and POP3 mailboxes against a real Dovecot on 127.0.0.1 (see conftest.mail_server)."""

from __future__ import annotations

import itertools
import json
import os
import poplib
import sqlite3
import tomllib
from pathlib import Path

import imapclient
import pytest

from .conftest import SAMPLES, run_cli

_FOLDERS = itertools.count(1)
PICK = sorted(SAMPLES.rglob("*.eml"))


def _kind(eml: Path) -> str:
    return tomllib.loads(eml.with_suffix(".expected.toml").read_text(encoding="utf-8"))["kind"]


MESSAGES = [e for e in PICK if _kind(e) == "failure"][:5] + [e for e in PICK if _kind(e) == "not_bounce"][:2]


def _client(server):
    c = imapclient.IMAPClient(server["host"], server["imap_port"], ssl=False)
    c.login(server["user"], server["password"])
    return c


@pytest.fixture
def mailbox(mail_server):
    """A fresh folder holding the chosen samples, none of them seen; removed afterwards."""
    folder = f"Bounces{next(_FOLDERS)}"
    c = _client(mail_server)
    c.create_folder(folder)
    for eml in MESSAGES:
        c.append(folder, eml.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    yield {**mail_server, "folder": folder, "client": c}
    c.select_folder("INBOX", readonly=True)  # Dovecot drops a session whose selected folder is deleted
    for name in (folder + "/Done", folder):
        if c.folder_exists(name):
            c.delete_folder(name)
    c.logout()


def _url(server, scheme="imap") -> str:
    if scheme == "imap":
        return f"imap://{server['user']}@{server['host']}:{server['imap_port']}/{server['folder']}"
    return f"pop3://{server['user']}@{server['host']}:{server['pop3_port']}"


def _env(server, **extra) -> dict[str, str]:
    return {**os.environ, "BOUNCE_ANALYZER_PASSWORD": server["password"], **extra}


def _flags(c, folder) -> dict[int, tuple]:
    c.select_folder(folder, readonly=True)
    return {uid: data[b"FLAGS"] for uid, data in c.fetch(c.search("ALL"), ["FLAGS"]).items()}


def test_imap_scan_reads_every_message_and_changes_nothing(mailbox, tmp_path):
    c = mailbox["client"]
    before = _flags(c, mailbox["folder"])
    db = tmp_path / "r.sqlite"
    r = run_cli("scan", "--plaintext", "--db", str(db), "--format", "jsonl", "--no-summary", _url(mailbox),
                env=_env(mailbox))
    assert r.returncode == 0, r.stderr
    reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert len(reports) == len(MESSAGES)
    info = c.select_folder(mailbox["folder"], readonly=True)
    prefix = (f"imap://test@127.0.0.1:{mailbox['imap_port']}/{mailbox['folder']};"
              f"UIDVALIDITY={info[b'UIDVALIDITY']};UID=")
    assert [rep["source"] for rep in reports] == [f"{prefix}{uid}" for uid in sorted(before)]
    assert [rep["kind"] for rep in reports] == [_kind(e) for e in MESSAGES]
    assert _flags(c, mailbox["folder"]) == before  # nothing marked seen, nothing deleted
    assert all(b"\\Seen" not in flags for flags in before.values())
    # the password appears in no result
    assert mailbox["password"].encode() not in db.read_bytes() and mailbox["password"].encode() not in r.stdout
    again = run_cli("scan", "--plaintext", "--db", str(db), "--format", "jsonl", "--no-summary", _url(mailbox),
                    env=_env(mailbox))
    assert again.returncode == 0 and again.stdout == b""  # resumed: everything is already stored


def test_a_folder_with_a_new_uidvalidity_stores_nothing_twice(mailbox, tmp_path):
    c = mailbox["client"]
    folder = mailbox["folder"]
    db = tmp_path / "r.sqlite"
    first = run_cli("scan", "--plaintext", "--db", str(db), "--format", "jsonl", "--no-summary", _url(mailbox),
                    env=_env(mailbox))
    assert first.returncode == 0 and len(first.stdout.splitlines()) == len(MESSAGES), first.stderr
    old = c.select_folder(folder, readonly=True)[b"UIDVALIDITY"]
    c.select_folder("INBOX", readonly=True)
    c.delete_folder(folder)  # the folder made again: a new UIDVALIDITY, the same mail plus one new message
    c.create_folder(folder)
    for eml in [*MESSAGES, PICK[-1]]:
        c.append(folder, eml.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert c.select_folder(folder, readonly=True)[b"UIDVALIDITY"] != old
    again = run_cli("scan", "--plaintext", "--db", str(db), "--format", "jsonl", "--no-summary", _url(mailbox),
                    env=_env(mailbox))
    assert again.returncode == 0, again.stderr
    (line,) = again.stdout.decode().splitlines()  # only the new message
    assert json.loads(line)["source"].endswith(f";UID={len(MESSAGES) + 1}")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT message_key) FROM messages").fetchone() == \
            (len(MESSAGES) + 1, len(MESSAGES) + 1)


def test_imap_actions_run_only_on_stored_bounces(mailbox, tmp_path):
    c = mailbox["client"]
    done = mailbox["folder"] + "/Done"
    r = run_cli("scan", "--plaintext", "--db", str(tmp_path / "r.sqlite"), "--format", "none", "--no-summary",
                "--mark-seen", "--move-to", done, _url(mailbox), env=_env(mailbox))
    assert r.returncode == 0, r.stderr
    moved = _flags(c, done)
    left = _flags(c, mailbox["folder"])
    bounces = sum(_kind(e) == "failure" for e in MESSAGES)
    assert len(moved) == bounces and len(left) == len(MESSAGES) - bounces
    assert all(b"\\Seen" in flags for flags in moved.values())
    assert all(b"\\Seen" not in flags for flags in left.values())
    with sqlite3.connect(tmp_path / "r.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM messages WHERE is_bounce").fetchone()[0] == bounces


def test_imap_errors_are_one_clear_line(mailbox, tmp_path):
    wrong = run_cli("scan", "--plaintext", "--format", "none", _url(mailbox),
                    env=_env(mailbox, BOUNCE_ANALYZER_PASSWORD="wrong"))
    assert wrong.returncode == 1 and b"login failed for test" in wrong.stderr and b"wrong" not in wrong.stderr
    in_url = run_cli("scan", "--plaintext", f"imap://test:secret@127.0.0.1:{mailbox['imap_port']}/INBOX")
    assert in_url.returncode == 1 and b"password in the URL" in in_url.stderr and b"secret" not in in_url.stderr
    no_password = run_cli("scan", "--plaintext", _url(mailbox),
                          env={k: v for k, v in os.environ.items() if k != "BOUNCE_ANALYZER_PASSWORD"}
                          | {"HOME": str(tmp_path)})
    assert no_password.returncode == 1 and b"no password" in no_password.stderr
    missing = run_cli("scan", "--plaintext", _url(mailbox) + "Nope", env=_env(mailbox))
    assert missing.returncode == 1 and b"cannot open the folder" in missing.stderr


def test_imap_login_from_a_netrc_file(mailbox, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login test password {mailbox['password']}\n")
    netrc.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != "BOUNCE_ANALYZER_PASSWORD"}
    r = run_cli("scan", "--plaintext", "--netrc", str(netrc), "--format", "jsonl", "--no-summary", _url(mailbox),
                env=env)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == len(MESSAGES)


@pytest.fixture
def pop3_box(mail_server):
    """The POP3 mailbox is the user's INBOX: fill it with the chosen samples, empty it afterwards."""
    c = _client(mail_server)
    c.select_folder("INBOX")
    c.delete_messages(c.search("ALL"))
    c.expunge()
    for eml in MESSAGES:
        c.append("INBOX", eml.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    yield {**mail_server, "client": c}
    c.select_folder("INBOX")
    c.delete_messages(c.search("ALL"))
    c.expunge()
    c.logout()


def _pop_count(server) -> int:
    p = poplib.POP3(server["host"], server["pop3_port"])
    p.user(server["user"])
    p.pass_(server["password"])
    n = p.stat()[0]
    p.quit()
    return int(n)


def test_pop3_scan_keeps_mail_unless_asked_and_then_deletes_only_stored_bounces(pop3_box, tmp_path):
    db = tmp_path / "r.sqlite"
    r = run_cli("scan", "--plaintext", "--db", str(db), "--format", "jsonl", "--no-summary", _url(pop3_box, "pop3"),
                env=_env(pop3_box))
    assert r.returncode == 0, r.stderr
    reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [rep["kind"] for rep in reports] == [_kind(e) for e in MESSAGES]
    assert all(";UIDL=" in rep["source"] for rep in reports)
    assert _pop_count(pop3_box) == len(MESSAGES)  # nothing deleted
    r = run_cli("scan", "--plaintext", "--db", str(tmp_path / "other.sqlite"), "--format", "none", "--no-summary",
                "--delete", _url(pop3_box, "pop3"), env=_env(pop3_box))
    assert r.returncode == 0, r.stderr
    assert _pop_count(pop3_box) == sum(_kind(e) != "failure" for e in MESSAGES)
    with sqlite3.connect(tmp_path / "other.sqlite") as other:
        assert other.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == len(MESSAGES)




@pytest.mark.parametrize("scheme", ["imaps", "imap", "pop3s", "pop3"])
def test_tls_is_used_and_the_certificate_checked(mailbox, scheme, tmp_path):
    """imaps/pop3s speak TLS from the start, imap/pop3 upgrade with STARTTLS/STLS; a certificate nobody vouches for
    is refused, and accepted once its CA is given."""
    port = {"imaps": "imaps_port", "imap": "imap_port", "pop3s": "pop3s_port", "pop3": "pop3_port"}[scheme]
    folder = f"/{mailbox['folder']}" if scheme.startswith("imap") else ""
    url = f"{scheme}://test@127.0.0.1:{mailbox[port]}{folder}"
    refused = run_cli("scan", "--format", "none", url, env=_env(mailbox))
    assert refused.returncode == 1 and b"certificate" in refused.stderr and b"--ca-file" in refused.stderr
    assert b"Traceback" not in refused.stderr
    ok = run_cli("scan", "--ca-file", str(mailbox["ca"]), "--format", "jsonl", "--no-summary", url, env=_env(mailbox))
    assert ok.returncode == 0, ok.stderr
    if scheme.startswith("imap"):
        assert len(ok.stdout.splitlines()) == len(MESSAGES)
