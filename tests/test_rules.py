"""The shipped rules load, every rule's examples behave as stated, and bad rule files give errors that name the
file, the rule and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bounce_analyzer import RulesError, analyze
from bounce_analyzer.classify import rules as rules_mod
from bounce_analyzer.classify.check import check

REASONS = {
    "auth_failure", "bad_reputation", "blocked", "content_error", "delivered", "email_too_large", "expired",
    "failed_starttls", "feedback", "filtered", "has_moved", "host_unknown", "mailbox_full", "mailer_error",
    "network_error", "no_relaying", "not_accept", "not_compliant_rfc", "on_hold", "policy_violation",
    "rate_limited", "rejected", "require_ptr", "security_error", "spam_detected", "suppressed", "suspend",
    "syntax_error", "system_error", "system_full", "undefined", "user_unknown", "vacation", "virus_detected",
}
HARD = {"user_unknown", "host_unknown", "has_moved"}


@pytest.fixture(scope="module")
def shipped():
    # built from the files, not read back from the rules cache: these tests are the loader's
    return rules_mod._build(rules_mod.shipped_files())


def test_the_reason_vocabulary_is_the_shared_one(shipped):
    assert set(shipped.reasons) == REASONS
    for rid, reason in shipped.reasons.items():
        expected = "hard" if rid in HARD else "by-class" if rid == "not_accept" else \
            "none" if rid in ("delivered", "feedback", "vacation") else "soft"
        assert reason.verdict == expected, rid
        assert reason.hint and reason.description


def test_every_rule_example_behaves_and_no_rule_is_shadowed(shipped):
    problems = check(shipped)
    assert problems == [], "\n".join(problems)


def test_there_are_rules_for_many_languages(shipped):
    text = " ".join(n for r in shipped.rules for n in r.contains)
    for word in ("unbekannt", "inconnu", "desconocido", "sconosciut", "desconhecido", "onbekend"):
        assert word in text, word
    assert any("\u3040" <= ch <= "\u30ff" for ch in text)  # Japanese kana
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)  # CJK ideographs


def test_the_whole_enhanced_status_registry_is_known(shipped):
    details = {"0": 0, "1": 10, "2": 4, "3": 6, "4": 7, "5": 6, "6": 10, "7": 30}
    for subject, last in details.items():
        assert f"X.{subject}" in shipped.subjects
        for detail in range(last + 1):
            code = f"X.{subject}.{detail}"
            assert code in shipped.statuses, code
            assert shipped.statuses[code].meaning


def _write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("body,needle", [
    ('[[rule]]\nid = "x-y"\nreason = "nope"\ncontains = ["a"]\n', 'reason "nope" is not defined'),
    ('[[rule]]\nid = "x-y"\nreason = "blocked"\ncontains = ["a"]\nstatus = [5.1]\n', 'field "status"'),
    ('[[rule]]\nid = "Bad_Id"\nreason = "blocked"\ncontains = ["a"]\n', 'field "id"'),
    ('[[rule]]\nid = "x-y"\nreason = "blocked"\nregex = "(unclosed"\n', 'field "regex" does not compile'),
    ('[[rule]]\nid = "x-y"\nreason = "blocked"\ncontains = ["a"]\ncolour = "red"\n', "unknown field colour"),
    ('[[rule]]\nid = "x-y"\nreason = "blocked"\n', 'needs "contains", "regex" or "concepts"'),
    ('[[rule]]\nid = "x-y"\nreason = "blocked"\ncontains = ["a"]\nverdict = "maybe"\n', 'field "verdict"'),
    ('[[rule]]\nid = "x-y"\nreason = "blocked"\ncontains = [""]\n', "empty string"),
    ('[[status]]\ncode = 5.1\ntitle = "t"\nmeaning = "m"\n', 'field "code" must be a string'),
])
def test_bad_rule_files_are_named_precisely(tmp_path, body, needle):
    path = _write(tmp_path, "schema = 1\n" + body)
    with pytest.raises(RulesError) as e:
        rules_mod.load([path])
    assert str(path) in str(e.value)
    assert needle in str(e.value)
    if 'id = "x-y"' in body and "nope" not in body:
        assert 'rule "x-y"' in str(e.value)


def test_missing_or_newer_schema_is_refused(tmp_path):
    with pytest.raises(RulesError, match="schema"):
        rules_mod.load([_write(tmp_path, '[[rule]]\nid = "a"\n')])
    with pytest.raises(RulesError, match="schema 9 is not supported"):
        rules_mod.load([_write(tmp_path, "schema = 9\n")])


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(RulesError, match="not valid TOML"):
        rules_mod.load([_write(tmp_path, "schema = 1\nx = [\n")])
    with pytest.raises(RulesError, match="not found"):
        rules_mod.load([tmp_path / "absent.toml"])


BOUNCE = b"""From: MAILER-DAEMON@mx.example.com
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.com.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; alice@example.net
Action: failed
Status: 5.0.0
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 zorgle frobnicated the mailbox

--B--
"""


def test_a_user_rule_adds_replaces_and_disables(tmp_path):
    assert analyze(BOUNCE).recipients[0].reason == "undefined"
    mine = _write(tmp_path, """schema = 1
[[rule]]
id = "zorgle-frobnication"
reason = "mailbox_full"
contains = ["zorgle frobnicated"]
hint = "Ask the zorgle team."
examples.match = ["550 zorgle frobnicated the mailbox"]
examples.no_match = ["550 user unknown"]
""")
    r = analyze(BOUNCE, rules=[mine]).recipients[0]
    assert (r.reason, r.rule, r.verdict, r.hint) == ("mailbox_full", "zorgle-frobnication", "soft",
                                                    "Ask the zorgle team.")
    assert any(e.source == "rule:zorgle-frobnication" for e in r.evidence)
    # replace a reason's verdict from a user file, and disable the rule again in a later file
    harder = _write(tmp_path, """schema = 1
[[reason]]
id = "mailbox_full"
verdict = "hard"
description = "full"
hint = "drop it"
""", "harder.toml")
    assert analyze(BOUNCE, rules=[mine, harder]).recipients[0].verdict == "hard"
    off = _write(tmp_path, 'schema = 1\n[extend]\ndisable = ["zorgle-frobnication", "no-such-rule"]\n', "off.toml")
    loaded = rules_mod.load([mine, off])
    assert all(rule.id != "zorgle-frobnication" for rule in loaded.rules)
    assert any("no-such-rule" in w for w in loaded.warnings)
    assert analyze(BOUNCE, rules=loaded).recipients[0].reason == "undefined"


def test_a_folder_of_user_rules_loads(tmp_path):
    (tmp_path / "more").mkdir()
    _write(tmp_path / "more", 'schema = 1\n[[rule]]\nid = "zz-z"\nreason = "blocked"\ncontains = ["zorgle"]\n'
                              'examples.match = ["zorgle"]\nexamples.no_match = ["x"]\n', "a.toml")
    assert any(r.id == "zz-z" for r in rules_mod.load([tmp_path / "more"]).rules)


def test_precedence_text_rule_beats_vague_code_but_not_specific_one(shipped):
    from bounce_analyzer.classify.engine import decide

    # 5.1.1 is specific: an ordinary text rule does not override it
    d = decide("550 5.1.1 mailbox unavailable", "diagnostic", "5.1.1", 550, (), shipped)
    assert d.reason == "user_unknown"
    # 5.0.0 says nothing: the text decides
    d = decide("550 5.0.0 mailbox is full", "diagnostic", "5.0.0", 550, (), shipped)
    assert d.reason == "mailbox_full"
    # nothing at all: undefined, from the default
    d = decide("", "diagnostic", None, None, (), shipped)
    assert (d.reason, d.rule) == ("undefined", "default")


def test_a_user_file_adds_a_server_cue(tmp_path):
    f = tmp_path / "servers.toml"
    f.write_text("schema = 1\n[[server]]\nid = \"relay-answered\"\nrole = \"remote\"\n"
                 "pattern = '''\\bour relay ({HOST}) answered\\b'''\nhost = 1\n"
                 "examples.match = [{ text = \"our relay mx9.example.net answered\", host = \"mx9.example.net\" }]\n"
                 "examples.no_match = [\"our relay answered\"]\n")
    raw = (b"From: MAILER-DAEMON@gw.example.org\nSubject: Undelivered Mail Returned to Sender\nTo: a@example.org\n\n"
           b"Your message could not be delivered.\n\n<b@example.com>: our relay mx9.example.net answered 550 no such "
           b"user here\n")
    before = analyze(raw).recipients[0].responder
    after = analyze(raw, rules=[f]).recipients[0].responder
    assert before.host != "mx9.example.net"
    assert (after.role, after.host) == ("remote", "mx9.example.net")


def test_a_server_cue_naming_a_missing_group_is_refused(tmp_path):
    f = tmp_path / "servers.toml"
    f.write_text("schema = 1\n[[server]]\nid = \"x-y\"\nrole = \"remote\"\npattern = 'host ({HOST})'\nhost = 3\n")
    with pytest.raises(RulesError, match='server "x-y": field "host" must name one of the pattern'):
        rules_mod.load([f])
