"""Loaded rule sets are kept in the user's cache folder: read back when no rule file changed, built again when one
did, and never in the way (an unwritable, corrupt or foreign cache is ignored)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bounce_analyzer import analyze
from bounce_analyzer.cache import ENV
from bounce_analyzer.classify import rules as rules_mod
from bounce_analyzer.display import to_json

from .snapshot import SAMPLES, sample_files, stored

RULE = """schema = 1
[[rule]]
id = "zorgle-frobnication"
reason = "{reason}"
contains = ["zorgle frobnication"]
"""
BOUNCE = (b"From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail Returned to Sender\n"
          b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
          b"--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
          b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
          b"Final-Recipient: rfc822; alice@example.net\nAction: failed\nStatus: 5.0.0\n"
          b"Diagnostic-Code: smtp; 550 zorgle frobnication\n\n--B--\n")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENV, str(folder))
    return folder


@pytest.fixture
def builds(monkeypatch) -> list[int]:
    """Counts the rule sets built from their files (not read from the cache)."""
    count: list[int] = []
    build = rules_mod._build

    def counting(files):
        count.append(1)
        return build(files)

    monkeypatch.setattr(rules_mod, "_build", counting)
    return count


def _mine(tmp_path: Path, reason: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(RULE.format(reason=reason), encoding="utf-8")
    return path


def test_a_second_load_reads_the_cache(cache, builds, tmp_path):
    mine = _mine(tmp_path, "blocked")
    first = rules_mod.load([mine])
    assert len(list(cache.glob("rules-*.pickle"))) == 1
    second = rules_mod.load([mine])
    assert len(builds) == 1
    assert second is not first
    assert [(r.id, r.reason, r.priority) for r in second.rules] == [(r.id, r.reason, r.priority) for r in first.rules]
    assert analyze(BOUNCE, rules=second).recipients[0].reason == "blocked"


def test_a_changed_rule_file_is_read_again(cache, builds, tmp_path):
    mine = _mine(tmp_path, "blocked")
    assert analyze(BOUNCE, rules=rules_mod.load([mine])).recipients[0].reason == "blocked"
    mine.write_text(RULE.format(reason="mailbox_full"), encoding="utf-8")  # same size and path, other content
    assert analyze(BOUNCE, rules=rules_mod.load([mine])).recipients[0].reason == "mailbox_full"
    assert len(builds) == 2


def test_a_rule_file_with_an_error_is_never_cached(cache, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\n[[rule]]\nid = "a"\n', encoding="utf-8")
    for _ in range(2):  # the second load reports the error as well
        with pytest.raises(rules_mod.RulesError, match=r"bad\.toml"):
            rules_mod.load([bad])


def test_an_unwritable_cache_is_ignored(tmp_path, monkeypatch, builds):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(ENV, str(blocker / "cache"))  # cannot be created, even by root
    for _ in range(2):
        assert analyze(BOUNCE, rules=rules_mod.load([_mine(tmp_path, "blocked")])).recipients[0].reason == "blocked"
    assert len(builds) == 2


def test_a_damaged_cache_file_is_rebuilt(cache, builds, tmp_path):
    mine = _mine(tmp_path, "blocked")
    rules_mod.load([mine])
    (stored_set,) = cache.glob("rules-*.pickle")
    stored_set.write_bytes(stored_set.read_bytes()[:1000])
    assert analyze(BOUNCE, rules=rules_mod.load([mine])).recipients[0].reason == "blocked"
    assert len(builds) == 2
    assert analyze(BOUNCE, rules=rules_mod.load([mine])).recipients[0].reason == "blocked"
    assert len(builds) == 2  # written again whole


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file owners are a POSIX matter")
def test_a_cache_file_others_may_write_is_not_read(cache, builds, tmp_path):
    mine = _mine(tmp_path, "blocked")
    rules_mod.load([mine])
    (stored_set,) = cache.glob("rules-*.pickle")
    stored_set.chmod(0o666)
    rules_mod.load([mine])
    assert len(builds) == 2


def test_an_empty_setting_turns_the_cache_off(tmp_path, monkeypatch, builds):
    monkeypatch.setenv(ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    rules_mod.load([_mine(tmp_path, "blocked")])
    rules_mod.load([_mine(tmp_path, "blocked")])
    assert len(builds) == 2
    assert not (tmp_path / "xdg").exists()


def test_the_cached_shipped_rules_give_the_same_answers(cache, builds):
    rules_mod.load()
    cached = rules_mod.load()
    assert len(builds) == 1
    want = stored()
    for path in sample_files():
        source = path.relative_to(SAMPLES).as_posix()
        assert to_json(analyze(path.read_bytes(), source=source, rules=cached).to_dict()) == want[source], source


def _run(cli, cache: Path, *args: str):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    return cli(*args, env={**env, ENV: str(cache)})


def test_compiled_patterns_are_kept_and_read_back(tmp_path, cli):
    cache = tmp_path / "cache"
    sample = SAMPLES / "exim" / "has-moved.eml"
    first = _run(cli, cache, "analyze", "--format", "jsonl", str(sample))
    (patterns,) = cache.glob("patterns-*.pickle")
    written = patterns.stat().st_mtime_ns
    second = _run(cli, cache, "analyze", "--format", "jsonl", str(sample))
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert patterns.stat().st_mtime_ns == written  # nothing new to add: read, not written again
    patterns.write_bytes(b"not a pickle")  # damaged: compiled anew, written again whole
    third = _run(cli, cache, "analyze", "--format", "jsonl", str(sample))
    assert (third.returncode, third.stdout, third.stderr) == (0, first.stdout, b"")
    assert patterns.read_bytes() != b"not a pickle"


def test_no_home_folder_means_no_cache(tmp_path, monkeypatch, builds):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def homeless() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(homeless))
    assert analyze(BOUNCE, rules=rules_mod.load([_mine(tmp_path, "blocked")])).recipients[0].reason == "blocked"
    assert len(builds) == 1
