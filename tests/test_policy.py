"""Bounce policies: escalation from an address's history, decided by data, with the chain that led to each decision.
The clock is moved by dating the events and messages, never by waiting."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bounce_analyzer import analyze
from bounce_analyzer.batch.store import Store
from bounce_analyzer.errors import PolicyError
from bounce_analyzer.policy import Event, Tracker, decide, load_policy, shipped_policies

from .conftest import SAMPLES, run_cli

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def ev(address: str, day: float, kind: str, fault: str | None = "recipient", reason: str = "mailbox_full",
       source: str = "") -> Event:
    return Event(address, kind, T0 + timedelta(days=day), source or f"msg-{address}-{day}", reason,
                 fault if kind in ("hard", "soft", "delay") else None)


def test_shipped_policies_load():
    assert {"strict", "mailman", "listmonk"} <= set(shipped_policies())
    strict = load_policy("strict")
    assert strict.name == "strict" and strict.score is None and len(strict.triggers) == 2
    mailman = load_policy("mailman")
    assert mailman.score is not None and mailman.score.weights == {"hard": 1.0, "soft": 0.5}
    assert (mailman.score.threshold, mailman.score.stale_days, mailman.score.per_day) == (5.0, 7, True)


# ---- strict ----------------------------------------------------------------------------------------------------------


def test_strict_suppresses_at_once_on_a_hard_failure_a_complaint_or_a_moved_address():
    got = decide([ev("a@example.net", 0, "hard", reason="user_unknown"), ev("c@example.net", 1, "complaint",
                                                                           reason="feedback"),
                  ev("m@example.net", 2, "moved", reason="has_moved")], "strict")
    assert [(d.address, d.action, d.reason) for d in got] == [
        ("a@example.net", "suppress", "user_unknown"), ("c@example.net", "suppress", "feedback"),
        ("m@example.net", "suppress", "has_moved")]
    assert all(len(d.chain) == 1 for d in got)


def test_strict_needs_three_recipient_soft_failures_on_three_days_within_thirty():
    a = "full@example.net"
    # two on day 0 count as one day; day 5 is the second; day 40 is too late for day 0 and 5 (30-day window)
    history = [ev(a, 0, "soft"), ev(a, 0.2, "soft"), ev(a, 5, "soft"), ev(a, 40, "soft")]
    assert decide(history, "strict") == []
    # days 40, 41, 52: three days within 30
    got = decide([*history, ev(a, 41, "soft"), ev(a, 52, "soft", source="tipping")], "strict")
    assert len(got) == 1
    d = got[0]
    assert d.action == "suppress" and d.decided_at == T0 + timedelta(days=52)
    assert [e.date for e in d.chain] == [T0 + timedelta(days=n) for n in (40, 41, 52)]
    assert d.chain[-1].source == "tipping" and d.times == 6
    assert "3 soft failures (recipient fault) on 3 different days within 30 days" in d.why


def test_sender_side_failures_never_unsubscribe_anybody():
    a = "good@example.net"
    history = [ev(a, n, "soft", fault="sender", reason="blocked") for n in range(60)]
    history += [ev(a, n + 0.5, "soft", fault="network", reason="expired") for n in range(60)]
    for policy in ("strict", "mailman", "listmonk"):
        assert decide(history, policy) == [], policy


def test_a_delivery_resets_the_history():
    a = "back@example.net"
    history = [ev(a, 0, "soft"), ev(a, 1, "soft"), ev(a, 2, "delivered", reason="delivered"), ev(a, 3, "soft")]
    assert decide(history, "strict") == []
    got = decide([*history, ev(a, 4, "soft"), ev(a, 5, "soft")], "strict")
    assert [e.date.day for e in got[0].chain] == [4, 5, 6]  # T0 is Jan 1: days 3, 4, 5 after it


def test_as_of_moves_the_clock():
    a = "full@example.net"
    history = [ev(a, 0, "soft"), ev(a, 1, "soft"), ev(a, 2, "soft")]
    assert decide(history, "strict", as_of="2026-01-02") == []
    assert len(decide(history, "strict", as_of="2026-01-03")) == 1  # a date counts whole: day 2 is 09:00 on Jan 3


# ---- mailman ---------------------------------------------------------------------------------------------------------


def test_mailman_scores_at_most_one_bounce_a_day_and_disables_at_five():
    a = "m@example.net"
    # a soft bounce a day for 9 days: 4.5; a second one on day 8 counts nothing more
    history = [ev(a, n, "soft") for n in range(9)] + [ev(a, 8.5, "soft")]
    tracker = Tracker("mailman")
    assert tracker.feed(history) == []
    assert tracker.score_of(a) == 4.5
    # a hard bounce on day 8 is heavier than that day's soft one: the day counts 1.0, the score 5.0
    got = tracker.feed([ev(a, 8.1, "hard", reason="user_unknown")])
    assert len(got) == 1 and got[0].action == "disable" and got[0].score == 5.0
    assert "score 5 reached 5" in got[0].why and len(got[0].chain) == 11


def test_mailman_history_goes_stale_after_seven_days_without_a_bounce():
    a = "m@example.net"
    tracker = Tracker("mailman")
    tracker.feed([ev(a, n, "hard", reason="user_unknown") for n in (0, 1, 2, 3)])
    assert tracker.score_of(a) == 4.0
    assert tracker.score_of(a, as_of=T0 + timedelta(days=10)) == 4.0  # 7 days after the last bounce
    assert tracker.score_of(a, as_of=T0 + timedelta(days=11)) == 0.0
    assert tracker.feed([ev(a, 11, "hard", reason="user_unknown")]) == []  # starts again from 1.0
    assert tracker.score_of(a) == 1.0


def test_listmonk_counts_per_type():
    a, b = "s@example.net", "h@example.net"
    got = decide([ev(a, 0, "soft"), ev(a, 20, "soft"), ev(b, 1, "hard", reason="user_unknown")], "listmonk")
    assert [(d.address, d.action) for d in got] == [(b, "blocklist")]
    got = decide([ev(a, 0, "soft"), ev(a, 20, "soft"), ev(a, 200, "soft")], "listmonk")
    assert [(d.address, d.action) for d in got] == [(a, "unsubscribe")]


# ---- policy files ----------------------------------------------------------------------------------------------------


def test_a_policy_of_your_own_may_count_other_faults(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('schema = 1\nname = "mine"\n[[trigger]]\nevents = ["soft", "delay"]\nfaults = ["recipient", '
                 '"destination"]\ncount = 2\naction = "pause"\n')
    got = decide([ev("d@example.net", 0, "delay", fault="destination", reason="system_full"),
                  ev("d@example.net", 1, "soft", fault="destination", reason="system_full")], f)
    assert [(d.action, d.policy) for d in got] == [("pause", "mine")]


@pytest.mark.parametrize(("body", "message"), [
    ('name = "x"\n[[trigger]]\nevents = ["bounce"]\ncount = 1\naction = "a"\n', 'trigger #1: field "events"'),
    ('name = "x"\n[[trigger]]\nevents = ["hard"]\ncount = 0\naction = "a"\n', 'field "count" must be a positive'),
    ('name = "x"\n[[trigger]]\nevents = ["hard"]\ncount = 1\n', 'field "action" must name'),
    ('name = "x"\n[[trigger]]\nevents = ["hard"]\ncount = 1\naction = "a"\nwindow = 3\n', "unknown field window"),
    ('name = "x"\n', "at least one"),
    ('name = "x"\n[score]\nweights = { hard = "1" }\nthreshold = 5\naction = "a"\n', 'field "weights"'),
])
def test_bad_policy_files_are_refused_by_file_and_field(tmp_path, body, message):
    f = tmp_path / "bad.toml"
    f.write_text("schema = 1\n" + body)
    with pytest.raises(PolicyError) as e:
        load_policy(f)
    assert str(f) in str(e.value) and message in str(e.value)


def test_an_unknown_policy_name_says_which_exist():
    with pytest.raises(PolicyError, match=r"nope: no such policy .*strict"):
        load_policy("nope")


# ---- end to end: a 60-day history built from real sample bounces ---------------------------------------------------

SOFT_RECIPIENT = ("postfix/local-mailbox-full.eml", "carol@example.com")  # 5.2.2 mailbox full
SOFT_SENDER = ("edge/blocklist-worded-unknown-user.eml", "elif.demir@example.net")  # sending IP blocklisted
HARD = ("exim/user-unknown.eml", "lena.fischer@example.net")
DELIVERED = ("success/postfix-successful-delivery.eml", "anna.berg@example.com")
COMPLAINT = ("feedback/arf-abuse.eml", "reader@example.net")
MOVED = ("autoreply/new-address.eml", "karin.holm@example.net")
VACATION = ("autoreply/sieve-vacation.eml", "thomas.brunner@example.net")
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

# who gets what on which day (0..59), read as a list manager would
HISTORY = {
    "full.often@example.net": [(SOFT_RECIPIENT, d) for d in range(0, 60, 10)],  # every 10 days
    "full.daily@example.net": [(SOFT_RECIPIENT, d) for d in range(12)],  # every day for 12 days
    "ip.blocked@example.net": [(SOFT_SENDER, d) for d in range(60)],  # the sending IP, daily
    "gone@example.net": [(HARD, d) for d in range(20, 40, 2)],  # user unknown every other day
    "came.back@example.net": [(SOFT_RECIPIENT, 1), (SOFT_RECIPIENT, 2), (DELIVERED, 5), (SOFT_RECIPIENT, 20),
                              (SOFT_RECIPIENT, 21)],
    "away@example.net": [(VACATION, 3), (SOFT_RECIPIENT, 4), (SOFT_RECIPIENT, 5)],
    "complainer@example.net": [(COMPLAINT, 30)],
    "moved@example.net": [(MOVED, 45)],
}


def _message(sample: tuple[str, str], address: str, day: int) -> bytes:
    name, original = sample
    raw = (SAMPLES / name).read_text("latin-1")
    local, _, domain = original.partition("@")
    new_local, _, new_domain = address.partition("@")
    raw = re.sub(re.escape(original), address, raw, flags=re.I)
    raw = raw.replace(f"{local}={domain}", f"{new_local}={new_domain}")  # the VERP form
    date = (START + timedelta(days=day)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    raw = re.sub(r"^Date:.*$", f"Date: {date}", raw, count=1, flags=re.M)
    return raw.encode("latin-1")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    mail = root / "mail"
    mail.mkdir()
    for address, items in HISTORY.items():
        for sample, day in items:
            (mail / f"{day:02d}-{address}-{sample[0].replace('/', '-')}").write_bytes(_message(sample, address, day))
    db = str(root / "r.sqlite")
    r = run_cli("scan", "--db", db, "--format", "none", "--no-summary", str(mail))
    assert r.returncode == 0, r.stderr
    return mail, db


def _decisions(db: str, policy: str) -> dict[str, dict]:
    r = run_cli("policy", "--db", db, "--policy", policy, "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    return {d["address"]: d for d in map(json.loads, r.stdout.decode().splitlines())}


def _day(iso: str) -> int:
    return (datetime.fromisoformat(iso) - START).days


def test_strict_on_a_60_day_history(history):
    _, db = history
    got = _decisions(db, "strict")
    assert {a: _day(d["decided_at"]) for a, d in got.items()} == {
        "full.often@example.net": 20,  # days 0, 10, 20: three days within 30
        "full.daily@example.net": 2,  # days 0, 1, 2
        "gone@example.net": 20,  # the first user-unknown
        "complainer@example.net": 30,
        "moved@example.net": 45,
        # ip.blocked: 60 sender-side failures, kept; came.back: the delivery on day 5 reset days 1-2, 20-21 are two;
        # away: the out-of-office reply on day 3 showed the mailbox works, then two full-mailbox days
    }
    assert [c["source"].rsplit("/", 1)[1][:2] for c in got["full.often@example.net"]["chain"]] == ["00", "10", "20"]
    assert {c["reason"] for c in got["full.daily@example.net"]["chain"]} == {"mailbox_full"}
    assert got["moved@example.net"]["reason"] == "has_moved"


def test_mailman_on_a_60_day_history(history):
    _, db = history
    got = _decisions(db, "mailman")
    # full.daily: 0.5 a day reaches 5.0 on its tenth day (day 9); gone: 1.0 every other day reaches 5.0 on its fifth
    # bounce (day 28); full.often: 10 days between bounces, always stale; ip.blocked: the sender's fault
    assert {a: (_day(d["decided_at"]), d["action"], d["score"]) for a, d in got.items()} == {
        "full.daily@example.net": (9, "disable", 5.0), "gone@example.net": (28, "disable", 5.0)}
    assert len(got["full.daily@example.net"]["chain"]) == 10


def test_suppressions_are_the_default_policy_and_the_store_reads_without_sql(history):
    _, db = history
    r = run_cli("suppressions", "--db", db, "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = {row["address"]: row for row in csv.DictReader(io.StringIO(r.stdout.decode(), newline=""))}
    assert set(rows) == set(_decisions(db, "strict"))
    assert rows["gone@example.net"]["times"] == "10" and _day(rows["gone@example.net"]["last_seen"]) == 38
    store = Store(db)
    try:
        assert [d.address for d in store.suppressions()] == sorted(rows)
        assert [d.address for d in store.suppressions(as_of="2026-03-10")] == ["full.daily@example.net"]
        came_back = store.recipients("Came.Back@example.net")
        assert [(r.action, r.reason, r.fault) for r in came_back] == [
            ("failed", "mailbox_full", "recipient"), ("failed", "mailbox_full", "recipient"),
            ("delivered", "delivered", None), ("failed", "mailbox_full", "recipient"),
            ("failed", "mailbox_full", "recipient")]
        sender = store.recipients(fault="sender", until="2026-03-05")
        assert {r.address for r in sender} == {"ip.blocked@example.net"} and len(sender) == 5
    finally:
        store.close()


def test_feeding_reports_without_a_store_decides_the_same(history):
    mail, db = history
    tracker = Tracker()
    reports = [analyze(p.read_bytes(), source=str(p)) for p in mail.iterdir()]
    for report in sorted(reports, key=lambda r: r.iso_date or ""):
        tracker.add(report)
    assert {d.address: d.decided_at for d in tracker.decisions()} == {
        a: datetime.fromisoformat(d["decided_at"]) for a, d in _decisions(db, "strict").items()}


def test_policy_command_text_and_csv_and_errors(history):
    _, db = history
    text = run_cli("policy", "--db", db).stdout.decode()
    assert "gone@example.net  SUPPRESS  2026-03-21" in text and "user_unknown [recipient]" in text
    rows = list(csv.DictReader(io.StringIO(run_cli("policy", "--db", db, "--policy", "mailman", "--format", "csv")
                                           .stdout.decode(), newline="")))
    assert {r["address"] for r in rows} == {"full.daily@example.net", "gone@example.net"}
    assert all(r["action"] == "disable" and r["score"] == "5" and r["chain"] for r in rows)
    bad = run_cli("policy", "--db", db, "--as-of", "yesterday")
    assert bad.returncode == 2 and b"not a date: 'yesterday'" in bad.stderr
    bad = run_cli("policy", "--db", db, "--policy", "nope")
    assert bad.returncode == 2 and bad.stderr.decode().count("\n") == 1 and b"no such policy" in bad.stderr


def test_a_report_fed_without_a_date_still_counts():
    from bounce_analyzer.model import Kind, Recipient, Report

    complaint = Report(source="fbl-1", is_bounce=False, kind=Kind.FEEDBACK, date=None, recipients=(
        Recipient(address="Reader@Example.net", action="complained", reason="feedback"),))
    tracker = Tracker()
    (d,) = tracker.add(complaint)
    assert (d.address, d.action, d.reason, d.chain[0].source) == ("reader@example.net", "suppress", "feedback",
                                                                  "fbl-1")
    dated = Tracker().add(complaint, when="2026-02-01T10:00:00Z")
    assert dated[0].decided_at == datetime(2026, 2, 1, 10, tzinfo=UTC)


def test_the_readme_library_example_unsubscribes_complainers_and_moved_addresses():
    readme = (SAMPLES.parent / "README.md").read_text()
    section = readme[readme.index("## Library"):]
    code = section[section.index("```python\n") + 10:section.index("```", section.index("```python\n") + 10)]
    unsubscribed: list[str] = []
    for name in ("feedback/arf-abuse.eml", "autoreply/new-address.eml", "exim/user-unknown.eml",
                 "edge/blocklist-worded-unknown-user.eml", "autoreply/sieve-vacation.eml"):
        exec(code, {"raw_bytes": (SAMPLES / name).read_bytes(), "unsubscribe": unsubscribed.append,
              "print": lambda *a: None})
    # the complainer, the moved address and the unknown user; not the blocklisted sending IP, nor the holiday
    assert unsubscribed == ["reader@example.net", "karin.holm@example.net", "lena.fischer@example.net"]


def test_as_of_with_a_time_in_another_zone(history):
    _, db = history
    store = Store(db)
    try:
        # full.daily's third full-mailbox day is 2026-03-03 08:00 UTC
        assert [d.address for d in store.suppressions(as_of="2026-03-03T09:59:59+02:00")] == []
        assert [d.address for d in store.suppressions(as_of="2026-03-03T10:00:00+02:00")] == ["full.daily@example.net"]
    finally:
        store.close()
