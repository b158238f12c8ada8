"""The shipped rules load, every rule's examples behave as stated, and bad rule files give errors that name the
file, the rule and the field."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bounce_analyzer import RulesError, analyze
from bounce_analyzer.classify import rules as rules_mod
from bounce_analyzer.classify.check import check
from bounce_analyzer.parse import bounded as rx

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
    f.write_text("schema = 1\n[[server]]\nid = \"relay-gave-back\"\nrole = \"remote\"\n"
                 "pattern = '''\\bour relay ({HOST}) gave back\\b'''\nhost = 1\n"
                 "examples.match = [{ text = \"our relay mx9.example.net gave back\", host = \"mx9.example.net\" }]\n"
                 "examples.no_match = [\"our relay gave back\"]\n")
    raw = (b"From: MAILER-DAEMON@gw.example.org\nSubject: Undelivered Mail Returned to Sender\nTo: a@example.org\n\n"
           b"Your message could not be delivered.\n\n<b@example.com>: our relay mx9.example.net gave back 550 no such "
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


EVERY_FIELD = r"""schema = 1
[[reason]]
id = "zz_outage"
verdict = "soft"
description = "The zz service is down."
hint = "Try again tomorrow."
fault = "destination"

[[reason]]
id = "zz_note"
verdict = "none"
description = "Not a failure."
hint = "Nothing to do."

[[reason]]
id = "zz_gone"
verdict = "hard"
description = "Gone for good."
hint = "Drop it."

[[class]]
code = "5"
title = "Permanent failure"
meaning = "Redefined by a user file."
reason = "zz_outage"

[[subject]]
code = "X.9"
title = "Zz subject"
meaning = "Zz things."
reason = "zz_outage"

[[status]]
code = "X.9.8"
title = "Zz detail"
meaning = "A zz detail."
reason = "zz_gone"
specific = true
hint = "See zz."
refs = ["zz-1"]

[[status]]
code = "5.9.7"
title = "Zz plain"
meaning = "Plain."

[[reply]]
code = 577
title = "Zz reply"
meaning = "A zz reply."
reason = "zz_outage"
hint = "Ask zz."
standard = false
used_by = "ZzMail"
refs = ["zz-2"]

[[reply]]
code = 100
title = "Lowest"
meaning = "The lowest code."

[[reply]]
code = 599
title = "Highest"
meaning = "The highest code."

[[rule]]
id = "zz-everything"
reason = "zz_outage"
contains = ["ZZ Down"]
regex = 'zz\s+offline'
priority = 77
status = ["5.9", "X.7.1"]
reply = [577, "4xx", 200, 599]
hosts = ["MX.Example.NET"]
commands = ["RCPT", "DATA-END"]
verdict = "by-class"
hint = "Rule hint."
refs = ["zz-3"]
fault = "network"
window = 1
examples.match = [
    "zz down",
    { text = "zz offline", status = "5.9.1", reply = 577, host = "mx.example.net", command = "RCPT" },
]
examples.no_match = [{ text = "zz up" }]

[[rule]]
id = "zz-cue"
reason = "zz_gone"
concepts = ["zz_box", "zz_missing"]
unless = ["zz_not"]
window = 500
priority = 0
examples.match = ["zz box missing"]
examples.no_match = ["zz box not missing"]

[[rule]]
id = "zz-stage-only"
reason = "zz_gone"
commands = ["MAIL"]
priority = 1000
examples.match = [{ text = "anything", command = "MAIL" }]
examples.no_match = [{ text = "anything", command = "RCPT" }]

[detect]
bounce_subjects = ["ZZ Returned Mail"]
lure_attachments = ["ZZ.EXE"]

[[gateway]]
name = "ZzFilter"
hosts = ["ZzFilter.Example"]
signatures = ["Scanned By ZzFilter"]

[[concept]]
id = "zz_box"
kind = "subject"
note = "a made-up subject"
en = ["zz box"]
de = ["zz kiste"]
more = ["zz låda"]

[[concept]]
id = "zz_missing"
kind = "state"
en = ["missing"]
ja = ["不在"]

[[concept]]
id = "zz_not"
kind = "state"
en = ["not"]

[[concept]]
id = "zz_flip"
kind = "subject"
en = ["flip"]

[[concept]]
id = "zz_flip"
kind = "state"
en = ["flop"]

[[server]]
id = "zz-relay-said"
role = "remote"
pattern = '\bzz relay ({HOST}) \[({IP})\] said'
host = 1
ip = 2
gates = ["ZZ Relay"]
weak = true
examples.match = [{ text = "zz relay mx.example.net [192.0.2.7] said 550", host = "mx.example.net", ip = "192.0.2.7" }]
examples.no_match = ["zz relay said nothing"]

[[server]]
id = "zz-gave-up"
role = "reporting"
pattern = 'zz gave up'
examples.match = ["zz gave up"]
examples.no_match = ["zz went on"]

[extend]
disable = ["mailbox-full-de"]
"""


def test_every_field_of_every_table_is_read(tmp_path):
    rs = rules_mod.load([_write(tmp_path, EVERY_FIELD)])
    assert rs.reasons["zz_outage"] == rules_mod.Reason("zz_outage", "soft", "The zz service is down.",
                                                       "Try again tomorrow.", "destination")
    assert rs.reasons["zz_note"].fault is None  # not a failure: nobody's fault
    assert rs.reasons["zz_gone"].fault == "unknown"  # a failure whose file says nothing
    assert rs.classes["5"] == rules_mod.CodeEntry("5", "Permanent failure", "Redefined by a user file.", "zz_outage")
    assert rs.subjects["X.9"] == rules_mod.CodeEntry("X.9", "Zz subject", "Zz things.", "zz_outage")
    assert rs.statuses["X.9.8"] == rules_mod.CodeEntry("X.9.8", "Zz detail", "A zz detail.", "zz_gone", True,
                                                       "See zz.", refs=("zz-1",))
    assert rs.statuses["5.9.7"] == rules_mod.CodeEntry("5.9.7", "Zz plain", "Plain.")
    assert rs.replies[577] == rules_mod.CodeEntry("577", "Zz reply", "A zz reply.", "zz_outage", False, "Ask zz.",
                                                  False, "ZzMail", ("zz-2",))
    assert (rs.replies[100].title, rs.replies[100].standard, rs.replies[599].title) == ("Lowest", True, "Highest")

    rule = next(r for r in rs.rules if r.id == "zz-everything")
    assert (rule.reason, rule.file, rule.contains, rule.priority) == ("zz_outage", str(tmp_path / "mine.toml"),
                                                                      ("zz down",), 77)
    assert rule.regex is not None and rule.regex.search("ZZ   OFFLINE")  # case-insensitive
    assert (rule.status, rule.reply, rule.hosts, rule.commands) == (("5.9", "X.7.1"), ("577", "4xx", "200", "599"),
                                                                    ("mx.example.net",), ("RCPT", "DATA-END"))
    assert (rule.verdict, rule.hint, rule.refs, rule.fault, rule.window) == ("by-class", "Rule hint.", ("zz-3",),
                                                                             "network", 1)
    assert rule.match_examples == (rules_mod.Example("zz down"),
                                   rules_mod.Example("zz offline", "5.9.1", 577, "mx.example.net", "RCPT", True))
    assert rule.no_match_examples == (rules_mod.Example("zz up", whole_rule=True),)
    assert rule.cue is None and rule.concepts == ()

    cue_rule = next(r for r in rs.rules if r.id == "zz-cue")
    assert (cue_rule.concepts, cue_rule.unless, cue_rule.window, cue_rule.priority) == (
        ("zz_box", "zz_missing"), ("zz_not",), 500, 0)
    assert cue_rule.cue is not None and cue_rule.cue.window == 500
    assert cue_rule.text_matches("the zz box is missing") == "zz box is missing"
    assert cue_rule.text_matches("the zz box is not missing") is None  # "unless" reached the cue
    assert cue_rule.text_matches("die zz kiste: 不在") == "zz kiste: 不在"  # every language's words are read
    assert cue_rule.text_matches("zz låda missing") == "zz låda missing"
    assert rs.lexicon is not None and "zz_box" in rs.lexicon.subjects and "zz_missing" not in rs.lexicon.subjects
    # a concept defined again keeps its words and takes the kind it was given last
    assert rs.lexicon.concepts["zz_flip"] == ("flip", "flop") and "zz_flip" not in rs.lexicon.subjects

    # highest priority first, the default priority for rules that name none, file order among equals
    priorities = [r.priority for r in rs.rules]
    assert priorities == sorted(priorities, reverse=True)
    assert rs.rules[0].id == "zz-stage-only" and rs.rules[-1].id == "zz-cue"
    assert next(r for r in rs.rules if r.id == "too-large-i18n").priority == rules_mod.PRIORITY_PATTERN
    assert not any(r.id == "mailbox-full-de" for r in rs.rules)  # disabled by [extend]
    stage = next(r for r in rs.rules if r.id == "zz-stage-only")
    assert stage.guards_only and stage.text_matches("whatever") == ""

    assert "zz returned mail" in rs.detect.bounce_subjects and "failure notice" in \
        rs.detect.bounce_subjects  # added to the shipped words, lower-cased
    assert rs.detect.lure_attachments[-1] == "zz.exe"
    assert rs.gateways[-1] == rules_mod.Gateway("ZzFilter", ("zzfilter.example",), ("scanned by zzfilter",))
    assert rs.gateway_for("mx1.ZZFILTER.example.") is rs.gateways[-1]
    assert rs.gateway_signed("... scanned by zzfilter ...") is rs.gateways[-1]

    relay = next(s for s in rs.servers if s.id == "zz-relay-said")
    assert (relay.role, relay.host, relay.ip, relay.weak, relay.file) == ("remote", 1, 2, True,
                                                                          str(tmp_path / "mine.toml"))
    assert relay.match_examples == (("zz relay mx.example.net [192.0.2.7] said 550", "mx.example.net", "192.0.2.7"),)
    assert relay.no_match_examples == (("zz relay said nothing", None, None),)
    gave_up = next(s for s in rs.servers if s.id == "zz-gave-up")
    assert (gave_up.role, gave_up.host, gave_up.ip, gave_up.weak) == ("reporting", 0, 0, False)
    # weak cues are tried after every other one, whatever file they come from
    weak = [s.weak for s in rs.servers]
    assert weak == sorted(weak) and rs.servers.index(gave_up) < rs.servers.index(relay)
    # the checks see what was read: a status guard of class 5 with reply guards of classes 4 and 2, and a stage-only
    # rule of the highest priority that takes the shipped rules' examples at MAIL FROM
    mine = tmp_path / "mine.toml"
    problems = check(rs)
    assert problems[:2] == [f'{mine}: rule "zz-everything": status guard "5.9" and reply guard "{r}" have different '
                            "classes" for r in ("4xx", "200")]
    assert problems[2:] and all(p.endswith(f'is taken first by rule "zz-stage-only" (zz_gone) from {mine}')
                                for p in problems[2:])


_REASON = '[[reason]]\nid = "zz_r"\nverdict = "soft"\ndescription = "d"\nhint = "h"\n'
_RULE = '[[rule]]\nid = "x-y"\nreason = "blocked"\ncontains = ["a"]\n'
_STATUS = '[[status]]\ncode = "X.99.9"\ntitle = "t"\nmeaning = "m"\n'
_REPLY = '[[reply]]\ncode = 550\ntitle = "t"\nmeaning = "m"\n'
_CONCEPT = '[[concept]]\nid = "zz_c"\nkind = "state"\n'
_SERVER = '[[server]]\nid = "zz-s"\nrole = "remote"\npattern = "zz ({HOST})"\n'


@pytest.mark.parametrize("body,message", [
    # the file as a whole
    ("colour = 1\n", "unknown field colour"),
    ("colour = 1\nshade = 2\n", "unknown fields colour, shade"),
    ("[extend]\ncolour = 1\n", "extend: unknown field colour"),
    ("[extend]\ndisable = 1\n", 'extend: field "disable" must be a list of strings, got 1'),
    ("[detect]\ncolour = [\"x\"]\n", "detect: unknown field colour"),
    ("[detect]\nbounce_subjects = [1]\n", 'detect: field "bounce_subjects" must be a list of strings, got [1]'),
    # reasons
    ('[[reason]]\nverdict = "soft"\n', 'reason #1: field "id" is missing'),
    ('[[reason]]\nid = 7\n', "reason #1: field \"id\" must be a string, got 7"),
    (_REASON + 'colour = "red"\n', "reason #1: unknown field colour"),
    (_REASON.replace("zz_r", "Zz-R"), 'reason "Zz-R": field "id" must be snake_case like "mailbox_full"'),
    (_REASON.replace('"soft"', '"maybe"'),
     "reason \"zz_r\": field \"verdict\" must be one of hard, soft, by-class, none, got 'maybe'"),
    (_REASON.replace('verdict = "soft"\n', ""), 'reason "zz_r": field "verdict" is missing'),
    (_REASON.replace('description = "d"\n', ""), 'reason "zz_r": field "description" is missing'),
    (_REASON.replace('hint = "h"\n', ""), 'reason "zz_r": field "hint" is missing'),
    (_REASON + 'fault = "nobody"\n', "reason \"zz_r\": field \"fault\" must be one of recipient, sender, "
                                     "destination, network, unknown, got 'nobody'"),
    # code tables
    ('[[class]]\ncode = "7"\ntitle = "t"\nmeaning = "m"\n',
     "class \"7\": field \"code\" is not a valid class code (write it as a string like '5')"),
    ('[[subject]]\ncode = "X.a"\ntitle = "t"\nmeaning = "m"\n',
     "subject \"X.a\": field \"code\" is not a valid subject code (write it as a string like 'X.2')"),
    ('[[status]]\ncode = "5.1"\ntitle = "t"\nmeaning = "m"\n',
     "status \"5.1\": field \"code\" is not a valid status code (write it as a string like 'X.2.2')"),
    ('[[status]]\ntitle = "t"\n', 'status #1: field "code" is missing'),
    ('[[status]]\ncode = "X.1.1"\ncolour = 1\n', "status #1: unknown field colour"),
    (_STATUS + 'specific = "yes"\n', 'status "X.99.9": field "specific" must be true or false'),
    (_STATUS.replace('title = "t"\n', ""), 'status "X.99.9": field "title" is missing'),
    (_STATUS.replace('meaning = "m"\n', ""), 'status "X.99.9": field "meaning" is missing'),
    (_STATUS + "reason = 1\n", 'status "X.99.9": field "reason" must be a string, got 1'),
    (_STATUS + "hint = 5\n", 'status "X.99.9": field "hint" must be a string, got 5'),
    (_STATUS + "refs = [1]\n", 'status "X.99.9": field "refs" must be a list of strings, got [1]'),
    ('[[reply]]\ncode = 99\ntitle = "t"\nmeaning = "m"\n',
     'reply #1: field "code" must be a 3-digit number like 550, got 99'),
    ('[[reply]]\ncode = 600\ntitle = "t"\nmeaning = "m"\n',
     'reply #1: field "code" must be a 3-digit number like 550, got 600'),
    ('[[reply]]\ncode = true\ntitle = "t"\nmeaning = "m"\n',
     'reply #1: field "code" must be a 3-digit number like 550, got True'),
    ('[[reply]]\ncode = "550"\ntitle = "t"\nmeaning = "m"\n',
     "reply #1: field \"code\" must be a 3-digit number like 550, got '550'"),
    (_REPLY + "colour = 1\n", "reply #1: unknown field colour"),
    (_REPLY + 'standard = "no"\n', 'reply 550: field "standard" must be true or false'),
    (_REPLY.replace('title = "t"\n', ""), 'reply 550: field "title" is missing'),
    (_REPLY.replace('meaning = "m"\n', ""), 'reply 550: field "meaning" is missing'),
    (_REPLY + "reason = 1\n", 'reply 550: field "reason" must be a string, got 1'),
    (_REPLY + "hint = 1\n", 'reply 550: field "hint" must be a string, got 1'),
    (_REPLY + "used_by = 1\n", 'reply 550: field "used_by" must be a string, got 1'),
    (_REPLY + "refs = [1]\n", 'reply 550: field "refs" must be a list of strings, got [1]'),
    # rules
    ('[[rule]]\nreason = "blocked"\n', 'rule #1: field "id" is missing'),
    ('[[rule]]\nid = "x-y"\ncontains = ["a"]\n', 'rule "x-y": field "reason" is missing'),
    (_RULE + "window = 0\n", 'rule "x-y": field "window" must be a whole number of characters from 1 to 500, got 0'),
    (_RULE + "window = 501\n",
     'rule "x-y": field "window" must be a whole number of characters from 1 to 500, got 501'),
    (_RULE + "window = true\n",
     'rule "x-y": field "window" must be a whole number of characters from 1 to 500, got True'),
    (_RULE + 'window = "60"\n',
     "rule \"x-y\": field \"window\" must be a whole number of characters from 1 to 500, got '60'"),
    (_RULE + "priority = -1\n", 'rule "x-y": field "priority" must be a whole number from 0 to 1000, got -1'),
    (_RULE + "priority = 1001\n", 'rule "x-y": field "priority" must be a whole number from 0 to 1000, got 1001'),
    (_RULE + "priority = true\n", 'rule "x-y": field "priority" must be a whole number from 0 to 1000, got True'),
    (_RULE + "priority = 1.5\n", 'rule "x-y": field "priority" must be a whole number from 0 to 1000, got 1.5'),
    (_RULE + 'status = ["5.1.1.1"]\n',
     "rule \"x-y\": field \"status\" has '5.1.1.1': write a code or prefix like \"5.1.1\", \"X.7\" or \"4\""),
    (_RULE + 'status = ["3"]\n',
     "rule \"x-y\": field \"status\" has '3': write a code or prefix like \"5.1.1\", \"X.7\" or \"4\""),
    (_RULE + "reply = 199\n", "rule \"x-y\": field \"reply\" has 199: write a code like 550 or a class like \"5xx\""),
    (_RULE + "reply = [600]\n",
     "rule \"x-y\": field \"reply\" has 600: write a code like 550 or a class like \"5xx\""),
    (_RULE + "reply = [true]\n",
     "rule \"x-y\": field \"reply\" has True: write a code like 550 or a class like \"5xx\""),
    (_RULE + 'reply = ["6xx"]\n',
     "rule \"x-y\": field \"reply\" has '6xx': write a code like 550 or a class like \"5xx\""),
    (_RULE + 'reply = ["5xxx"]\n',
     "rule \"x-y\": field \"reply\" has '5xxx': write a code like 550 or a class like \"5xx\""),
    (_RULE + 'commands = ["QUIT"]\n', "rule \"x-y\": field \"commands\" has 'QUIT': use CONNECT, HELO, EHLO, "
                                      "STARTTLS, AUTH, MAIL, RCPT, DATA, DATA-END"),
    (_RULE + "hosts = [1]\n", 'rule "x-y": field "hosts" must be a list of strings, got [1]'),
    (_RULE + "hint = 1\n", 'rule "x-y": field "hint" must be a string, got 1'),
    (_RULE + "refs = 1\n", 'rule "x-y": field "refs" must be a list of strings, got 1'),
    (_RULE + "unless = 1\n", 'rule "x-y": field "unless" must be a list of strings, got 1'),
    (_RULE + "concepts = 1\n", 'rule "x-y": field "concepts" must be a list of strings, got 1'),
    (_RULE + "status = 1\n", 'rule "x-y": field "status" must be a list of strings, got 1'),
    (_RULE + "commands = 1\n", 'rule "x-y": field "commands" must be a list of strings, got 1'),
    (_RULE + 'fault = "nobody"\n', "rule \"x-y\": field \"fault\" must be one of recipient, sender, destination, "
                                   "network, unknown, got 'nobody'"),
    (_RULE + "fault = 1\n", 'rule "x-y": field "fault" must be a string, got 1'),
    (_RULE.replace('["a"]', '["a", " "]'),
     'rule "x-y": field "contains" has an empty string, which would match everything'),
    (_RULE + 'examples = "x"\n', 'rule "x-y": field "examples" must be a table with "match" and "no_match" lists'),
    (_RULE + "examples.colour = 1\n", 'rule "x-y" examples: unknown field colour'),
    (_RULE + 'examples.match = "x"\n', 'rule "x-y": field "examples.match" must be a list'),
    (_RULE + 'examples.no_match = "x"\n', 'rule "x-y": field "examples.no_match" must be a list'),
    (_RULE + "examples.match = [1]\n", 'rule "x-y": examples.match entries must be strings or tables, got 1'),
    (_RULE + 'examples.match = [{ text = "a", reply = "550" }]\n',
     "rule \"x-y\": examples.match: \"reply\" must be a number like 550, got '550'"),
    (_RULE + 'examples.no_match = [{ text = "a", reply = true }]\n',
     'rule "x-y": examples.no_match: "reply" must be a number like 550, got True'),
    (_RULE + 'examples.match = [{ text = "a", colour = 1 }]\n', 'rule "x-y" examples.match: unknown field colour'),
    (_RULE + 'examples.match = [{ status = "5.1.1" }]\n', 'rule "x-y": field "text" is missing'),
    (_RULE + 'examples.match = [{ text = "a", status = 5 }]\n', 'rule "x-y": field "status" must be a string, got 5'),
    (_RULE + 'examples.match = [{ text = "a", host = 5 }]\n', 'rule "x-y": field "host" must be a string, got 5'),
    (_RULE + 'examples.match = [{ text = "a", command = 5 }]\n',
     'rule "x-y": field "command" must be a string, got 5'),
    # gateways
    ('[[gateway]]\nhosts = []\n', 'gateway #1: field "name" is missing'),
    ('[[gateway]]\nname = "G"\ncolour = 1\n', "gateway #1: unknown field colour"),
    ('[[gateway]]\nname = "G"\nhosts = 1\n', 'gateway "G": field "hosts" must be a list of strings, got 1'),
    ('[[gateway]]\nname = "G"\nsignatures = [1]\n',
     'gateway "G": field "signatures" must be a list of strings, got [1]'),
    # concepts
    ('[[concept]]\nkind = "state"\n', 'concept #1: field "id" is missing'),
    (_CONCEPT + "colour = 1\n", "concept #1: unknown field colour"),
    (_CONCEPT.replace("zz_c", "Zz"), 'concept "Zz": field "id" must be snake_case like "mailbox" or "not_found"'),
    (_CONCEPT.replace('kind = "state"\n', ""), 'concept "zz_c": field "kind" is missing'),
    (_CONCEPT.replace('"state"', '"thing"'),
     "concept \"zz_c\": field \"kind\" must be \"subject\" or \"state\", got 'thing'"),
    (_CONCEPT + 'en = ["Word"]\n',
     "concept \"zz_c\": en: 'Word': words are lower-case, non-empty, without outer spaces"),
    (_CONCEPT + 'de = [" wort"]\n',
     "concept \"zz_c\": de: ' wort': words are lower-case, non-empty, without outer spaces"),
    (_CONCEPT + 'more = ["* "]\n',
     "concept \"zz_c\": more: '* ': words are lower-case, non-empty, without outer spaces"),
    (_CONCEPT + 'ja = ["*"]\n', "concept \"zz_c\": ja: '*': words are lower-case, non-empty, without outer spaces"),
    (_CONCEPT + 'es = ["dad* de baja"]\n',
     "concept \"zz_c\": es: 'dad* de baja': a '*' marks a stem and can only end a word"),
    (_CONCEPT + 'ru = ["спис**"]\n', "concept \"zz_c\": ru: 'спис**': a '*' marks a stem and can only end a word"),
    (_CONCEPT + "fr = 1\n", 'concept "zz_c": field "fr" must be a list of strings, got 1'),
    # server cues
    ('[[server]]\nrole = "remote"\n', 'server #1: field "id" is missing'),
    (_SERVER + "colour = 1\n", "server #1: unknown field colour"),
    (_SERVER.replace("zz-s", "Zz_S"), 'server "Zz_S": field "id" must be kebab-case like "host-said"'),
    (_SERVER.replace('"remote"', '"gateway"'),
     "server \"zz-s\": field \"role\" must be \"remote\", \"reporting\", \"writer\" or \"receiver\", got 'gateway'"),
    (_SERVER.replace('role = "remote"\n', ""), 'server "zz-s": field "role" is missing'),
    (_SERVER.replace('pattern = "zz ({HOST})"\n', ""), 'server "zz-s": field "pattern" is missing'),
    (_SERVER + "gates = 1\n", 'server "zz-s": field "gates" must be a list of strings, got 1'),
    (_SERVER + "host = 2\n", "server \"zz-s\": field \"host\" must name one of the pattern's groups (1 to 1) or 0, "
                             "got 2"),
    (_SERVER + "ip = -1\n", "server \"zz-s\": field \"ip\" must name one of the pattern's groups (1 to 1) or 0, "
                            "got -1"),
    (_SERVER + "ip = true\n", "server \"zz-s\": field \"ip\" must name one of the pattern's groups (1 to 1) or 0, "
                              "got True"),
    (_SERVER + 'host = "1"\n', "server \"zz-s\": field \"host\" must name one of the pattern's groups (1 to 1) or "
                               "0, got '1'"),
    (_SERVER + 'weak = "yes"\n', 'server "zz-s": field "weak" must be true or false'),
    (_SERVER + 'examples = "x"\n',
     'server "zz-s": field "examples" must be a table with "match" and "no_match" lists'),
    (_SERVER + "examples.colour = 1\n", 'server "zz-s" examples: unknown field colour'),
    (_SERVER + 'examples.match = "x"\n', 'server "zz-s": field "examples.match" must be a list'),
    (_SERVER + 'examples.no_match = "x"\n', 'server "zz-s": field "examples.no_match" must be a list'),
    (_SERVER + "examples.match = [1]\n", 'server "zz-s": examples.match entries must be strings or tables, got 1'),
    (_SERVER + 'examples.no_match = [{ text = "a", port = 1 }]\n',
     'server "zz-s" examples.no_match: unknown field port'),
    (_SERVER + 'examples.match = [{ host = "a" }]\n', 'server "zz-s": field "text" is missing'),
    (_SERVER + 'examples.match = [{ text = "a", host = 1 }]\n', 'server "zz-s": field "host" must be a string, got 1'),
    (_SERVER + 'examples.match = [{ text = "a", ip = 1 }]\n', 'server "zz-s": field "ip" must be a string, got 1'),
])
def test_each_bad_field_gets_its_own_message(tmp_path, body, message):
    path = _write(tmp_path, "schema = 1\n" + body)
    with pytest.raises(RulesError) as e:
        rules_mod.load([path])
    assert str(e.value) == f"{path}: {message}"


CHECKED = r"""schema = 1
[[reason]]
id = "zz_gone"
verdict = "hard"
description = "d"
hint = "Suppress the address."
fault = "recipient"

[[reason]]
id = "zz_vague"
verdict = "soft"
description = "d"
hint = "Suppress the address if it keeps failing."
fault = "unknown"

[[reason]]
id = "zz_ip"
verdict = "soft"
description = "d"
hint = "Ask the blocklist to delist the sending IP."
fault = "sender"

[[reason]]
id = "delivered"
verdict = "none"
description = "d"
hint = "Nothing to do."

[[status]]
code = "X.9.1"
title = "t"
meaning = "m"
reason = "zz_vague"
hint = "Remove the address."

[[status]]
code = "X.9.2"
title = "t"
meaning = "m"
reason = "zz_ip"
hint = "Unsubscribe them."

[[status]]
code = "5.9.4"
title = "t"
meaning = "m"
reason = "delivered"

[[rule]]
id = "zz-gone-hard"
reason = "zz_gone"
contains = ["zz gone"]
verdict = "hard"
examples.match = ["zz gone"]
examples.no_match = ["zz here"]

[[rule]]
id = "zz-unknown-fault"
reason = "zz_ip"
fault = "unknown"
hint = "Suppress the address."
contains = ["zz unsure"]
examples.match = ["zz unsure"]
examples.no_match = ["zz sure"]

[[rule]]
id = "zz-ip-hard"
reason = "zz_ip"
verdict = "hard"
contains = ["zz ip"]
examples.match = ["zz ip"]
examples.no_match = ["zz up"]

[[rule]]
id = "zz-guarded-first"
reason = "zz_ip"
contains = ["shared words"]
status = ["5.9"]
priority = 70
examples.match = [{ text = "shared words", status = "5.9.9" }]
examples.no_match = [{ text = "shared words", status = "4.9.9" }]

[[rule]]
id = "zz-plain-first"
reason = "zz_vague"
contains = ["shared words"]
priority = 60
examples.match = ["shared words"]
examples.no_match = ["shared"]

[[rule]]
id = "zz-reply-first"
reason = "zz_ip"
contains = ["replied words"]
reply = [551]
priority = 70
examples.match = [{ text = "replied words", reply = 551 }]
examples.no_match = [{ text = "replied words", reply = 550 }]

[[rule]]
id = "zz-stage-first"
reason = "zz_ip"
contains = ["staged words"]
commands = ["DATA"]
priority = 70
examples.match = [{ text = "staged words", command = "DATA" }]
examples.no_match = [{ text = "staged words", command = "RCPT" }]

[[rule]]
id = "zz-vague-hard"
reason = "zz_vague"
verdict = "hard"
contains = ["zz vague"]
examples.match = ["zz vague"]
examples.no_match = ["zz"]

[[rule]]
id = "zz-later"
reason = "zz_gone"
contains = ["shared"]
priority = 50
examples.match = ["shared words", { text = "shared words", status = "5.9.1" }, "shared alone",
                  { text = "shared replied words", reply = 551 }, { text = "shared staged words", command = "DATA" }]
examples.no_match = ["nothing"]

[[rule]]
id = "zz-odd-classes"
reason = "zz_gone"
contains = ["zz mixed"]
status = ["5.9"]
reply = ["4xx"]
examples.match = [{ text = "zz mixed", status = "5.9.9", reply = 450 }]
examples.no_match = ["zz"]

[[rule]]
id = "zz-mixed-on-purpose"
reason = "zz_gone"
contains = ["zz mixed"]
status = ["5.9"]
reply = ["4xx"]
examples.match = [{ text = "zz mixed", status = "5.9.9", reply = 450 }]
examples.no_match = ["zz"]

[[rule]]
id = "zz-same-class"
reason = "zz_gone"
contains = ["zz same"]
status = ["5.9", "X.9"]
reply = ["5xx", 550]
examples.match = [{ text = "zz same", status = "5.9.9", reply = 550 }]
examples.no_match = ["zz"]

[[rule]]
id = "zz-no-examples"
reason = "zz_gone"
contains = ["zz none"]

[[rule]]
id = "zz-wrong-examples"
reason = "zz_gone"
contains = ["zz wrong"]
examples.match = ["zz right", { text = "zz wrong", reply = 450 }]
examples.no_match = ["zz wrong"]
reply = ["5xx"]
"""


def test_check_names_every_problem_of_a_rule_set(tmp_path):
    path = _write(tmp_path, CHECKED)
    rs = rules_mod._build([(path, rules_mod.PRIORITY_PATTERN)])
    bad_code = rules_mod.CodeEntry("X.9.3", "t", "m", "nope")
    rs = replace(rs, statuses={**rs.statuses, "X.9.3": bad_code})
    rule = f'{path}: rule "'
    assert check(rs) == [
        f'{rule}zz-odd-classes": status guard "5.9" and reply guard "4xx" have different classes',
        f'{rule}zz-no-examples": has no examples.match',
        f'{rule}zz-no-examples": has no examples.no_match',
        f"{rule}zz-wrong-examples\": example should match but does not: 'zz right'",
        f"{rule}zz-wrong-examples\": example should match but does not: 'zz wrong'",
        f"{rule}zz-wrong-examples\": example should not match but does: 'zz wrong'",
        'status "5.9.4": a failure code cannot mean "delivered"',
        'status "X.9.3": unknown reason "nope"',
        'code "X.9.2": its reason\'s fault is "sender" but its hint says to drop the address',
        f'{rule}zz-ip-hard": a hard verdict for a failure whose fault is "sender"',
        f"{rule}zz-later\": its example 'shared words' is taken first by rule \"zz-plain-first\" (zz_vague) from "
        f"{path}",
        f"{rule}zz-later\": its example 'shared words' is taken first by rule \"zz-guarded-first\" (zz_ip) from "
        f"{path}",
        f"{rule}zz-later\": its example 'shared replied words' is taken first by rule \"zz-reply-first\" (zz_ip) "
        f"from {path}",
        f"{rule}zz-later\": its example 'shared staged words' is taken first by rule \"zz-stage-first\" (zz_ip) "
        f"from {path}",
    ]


def test_ablated_drops_the_provider_files_named(shipped):
    providers = rules_mod.RULES_DIR / "providers"
    from_google = {r.id for r in shipped.rules if Path(r.file) == providers / "google.toml"}
    from_providers = {r.id for r in shipped.rules if Path(r.file).parent == providers}
    assert from_google and from_providers > from_google
    without_google = rules_mod.ablated(shipped, ("google",))
    assert {r.id for r in without_google.rules} == {r.id for r in shipped.rules} - from_google
    generic = rules_mod.ablated(shipped, ("vendor",))
    assert {r.id for r in generic.rules} == {r.id for r in shipped.rules} - from_providers
    assert generic.reasons is shipped.reasons and generic.statuses is shipped.statuses  # only rules are dropped
    assert rules_mod.ablated(shipped, ("vendors",)).rules == shipped.rules  # a name is a file's, whole


def test_a_gateway_is_found_by_a_domain_suffix_never_by_a_bare_top_level_label(tmp_path):
    rs = rules_mod.load([_write(tmp_path, 'schema = 1\n[[gateway]]\nname = "Odd"\nhosts = ["example", '
                                          '"filter.example.net"]\n')])
    assert rs.gateway_for("mx.filter.example.net").name == "Odd"
    assert rs.gateway_for("FILTER.example.net.").name == "Odd"
    assert rs.gateway_for("example.net") is None
    assert rs.gateway_for("mx.example") is None  # "example" alone is a top-level label, not a domain
    assert rs.gateway_for(None) is None and rs.gateway_for("") is None


def test_a_rules_file_that_cannot_be_read_is_named(tmp_path):
    with pytest.raises(RulesError) as e:
        rules_mod.read_toml(tmp_path, "rules file", RulesError)
    assert str(e.value) == f"{tmp_path}: cannot read rules file: Is a directory"


@pytest.mark.parametrize("prefix,status,expected", [
    ("X.7", "5.7.1", True), ("X.7", "4.7.0", True), ("X.7", "5.1.7", False), ("5", "5.2.2", True),
    ("5", "4.2.2", False), ("5.1.1", "5.1.1", True), ("5.1.1", "5.1.10", False), ("X.1.1", "4.1.1", True),
    ("5.1.1", "5.1", False),
])
def test_status_guards(prefix, status, expected):
    assert rules_mod.status_matches(prefix, status) is expected


@pytest.mark.parametrize("pattern,reply,expected", [
    ("5xx", 550, True), ("5xx", 450, False), ("4xx", 421, True), ("550", 550, True), ("550", 551, False),
])
def test_reply_guards(pattern, reply, expected):
    assert rules_mod.reply_matches(pattern, reply) is expected


@pytest.mark.parametrize("suffix,host,expected", [
    ("example.net", "example.net", True), ("example.net", "MX.Example.NET.", True),
    ("example.net", "badexample.net", False), ("example.net", "example.net.evil.test", False),
])
def test_host_guards(suffix, host, expected):
    assert rules_mod.host_matches(suffix, host) is expected


def test_every_guard_of_a_rule_must_hold():
    rule = rules_mod.Rule("r", "blocked", "f", contains=("x",), status=("X.7",), reply=("5xx",),
                          hosts=("example.net",), commands=("RCPT",))
    assert rule.guards_hold("5.7.1", 550, ("mx.example.net",), "RCPT")
    assert not rule.guards_hold("5.1.1", 550, ("mx.example.net",), "RCPT")
    assert not rule.guards_hold(None, 550, ("mx.example.net",), "RCPT")
    assert not rule.guards_hold("5.7.1", 450, ("mx.example.net",), "RCPT")
    assert not rule.guards_hold("5.7.1", None, ("mx.example.net",), "RCPT")
    assert not rule.guards_hold("5.7.1", 550, ("mx.example.org",), "RCPT")
    assert not rule.guards_hold("5.7.1", 550, (), "RCPT")
    assert rule.guards_hold("5.7.1", 550, ("", "mx.example.org", "example.net"), "RCPT")  # any of the hosts
    assert not rule.guards_hold("5.7.1", 550, ("mx.example.net",), "MAIL")
    assert not rule.guards_hold("5.7.1", 550, ("mx.example.net",))
    assert rules_mod.Rule("r", "blocked", "f", contains=("x",)).guards_hold(None, None, ())


def _rule(n: int, **kw):
    return rules_mod.Rule(f"r{n}", "blocked", "f", **kw)


def test_the_needle_index_finds_each_rules_strings_and_gates_its_patterns():
    import regex

    rules = [
        _rule(0, contains=("no such user", "unknown user")),
        _rule(1, contains=("ok",)),  # shorter than a three-character piece
        _rule(2, regex=regex.compile(r"quota\s+exceeded")),  # gated by "quota" and "exceeded"
        _rule(3, regex=regex.compile(r"\d{3}")),  # nothing required: always worth running
        _rule(4, status=("5.1.1",)),  # guards only
    ]
    index = rules_mod.NeedleIndex(rules)
    assert index.guards_only == frozenset({4})
    assert index.cued == frozenset()
    found, gated = index.matches("550 unknown user, ok")
    assert found == {0: "unknown user", 1: "ok"}
    assert gated == {3}
    found, gated = index.matches("mailbox quota was exceeded")
    assert found == {}
    assert gated == {2, 3}  # gated by its words; the pattern itself decides later
    found, gated = index.matches("quota only")
    assert gated == {3}
    found, gated = index.matches("quota was not exceeded")  # both words: the pattern decides (and fails)
    assert gated == {2, 3}


def test_a_pattern_needs_one_string_of_each_set_its_literals_give():
    from bounce_analyzer.parse.literals import required, required_all

    listed = r"address(?:es)? (?:is|was) (?:black|block)-?listed\b"
    # (the parser folds "black|block" into "bl" and a choice of letter: " bl" is what every match holds)
    assert required_all(listed) == (frozenset({"address"}), frozenset({"listed"}), frozenset({" bl"}))
    assert required_all(listed)[0] == required(listed)  # the set the rule is filed under comes first
    assert required_all(r"spam|virus") == (frozenset({"spam", "virus"}),)
    assert required_all(r"\d{3}") == ()
    assert len(required_all(r"one two\s+three\s+four\s+five")) == 3  # at most three sets

    gated = rx.Gated(listed, rx.I)
    assert gated.search("Your address was BLOCK-listed", "your address was block-listed")
    assert gated.search("address was listed", "address was listed") is None  # " bl" missing
    # strings given come first, then the pattern's own (each set once)
    assert rx.Gated(r"host\s+(\S+)\s+said", rx.I, gates=("host",)).gates == (
        frozenset({"host"}), frozenset({"said"}))


def test_check_reads_a_rule_set_made_in_code_whose_rule_names_a_reason_it_lacks(shipped):
    rule = rules_mod.Rule("made-in-code", "no_such_reason", "code", contains=("zz",))
    problems = check(replace(shipped, rules=(rule,)))
    assert problems[:2] == ['code: rule "made-in-code": has no examples.match',
                            'code: rule "made-in-code": has no examples.no_match']


def test_the_shipped_files_load_in_their_order_with_their_priorities():
    d = rules_mod.RULES_DIR
    patterns = sorted((d / "patterns").glob("*.toml"))
    providers = sorted((d / "providers").glob("*.toml"))
    assert patterns and providers
    expected = [(d / n, 30) for n in ("reasons.toml", "status-codes.toml", "reply-codes.toml", "detect.toml",
                                      "gateways.toml", "servers.toml")]
    expected += [(f, 30) for f in patterns] + [(d / "cues.toml", 27)] + [(f, 80) for f in providers]
    assert rules_mod.shipped_files() == expected


def test_the_shipped_tables_are_all_there(shipped):
    assert shipped.replies[552].reason == "mailbox_full"
    assert shipped.classes["5"].title and shipped.subjects["X.1"].reason == "user_unknown"
    assert any(g.name == "Mimecast" for g in shipped.gateways)
    assert any(s.id == "host-said" for s in shipped.servers)


@pytest.mark.parametrize("guard", ['status = ["5.7"]', "reply = [554]", 'hosts = ["example.net"]',
                                   'commands = ["DATA"]'])
def test_a_rule_may_match_on_a_guard_alone(tmp_path, guard):
    rs = rules_mod.load([_write(tmp_path, f'schema = 1\n[[rule]]\nid = "zz-guard"\nreason = "blocked"\n{guard}\n')])
    assert next(r for r in rs.rules if r.id == "zz-guard").guards_only


def test_a_server_cue_whose_pattern_does_not_compile_is_named(tmp_path):
    path = _write(tmp_path, "schema = 1\n" + _SERVER.replace("zz ({HOST})", "zz ("))
    with pytest.raises(RulesError) as e:
        rules_mod.load([path])
    assert str(e.value) == f'{path}: server "zz-s": field "pattern" does not compile: missing ) at position 4'


def test_a_server_cue_without_examples_loads_and_the_check_asks_for_them(tmp_path):
    path = _write(tmp_path, "schema = 1\n" + _SERVER + "host = 1\n")
    rs = rules_mod.load([path])
    cue = next(s for s in rs.servers if s.id == "zz-s")
    assert (cue.host, cue.match_examples, cue.no_match_examples) == (1, (), ())
    assert f'{path}: server "zz-s": needs examples.match and examples.no_match' in check(rs)


def test_a_server_cues_examples_are_checked(tmp_path):
    path = _write(tmp_path, "schema = 1\n" + _SERVER + 'host = 1\nexamples.match = [{ text = "zz mx.example.net", '
                                                   'host = "mx.example.org" }, "nothing"]\n'
                                                   'examples.no_match = ["zz mx.example.net", "zz"]\n')
    problems = [p for p in check(rules_mod.load([path])) if 'server "zz-s"' in p]
    where = f'{path}: server "zz-s"'
    assert problems == [f"{where}: example 'zz mx.example.net' reads host 'mx.example.net' and IP None, not "
                        "'mx.example.org' and None",
                        f"{where}: example should match but does not: 'nothing'",
                        f"{where}: example should not match but does: 'zz mx.example.net'"]


def test_loaded_rules_are_kept_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BOUNCE_ANALYZER_CACHE_DIR", str(tmp_path / "cache"))
    mine = _write(tmp_path, 'schema = 1\n[[rule]]\nid = "zz-cached"\nreason = "blocked"\ncontains = ["zz"]\n')
    first = rules_mod.load([mine])
    assert len(list((tmp_path / "cache").glob("rules-*.pickle"))) == 1
    again = rules_mod.load([mine])
    assert [r.id for r in again.rules] == [r.id for r in first.rules]


def test_a_rule_says_which_words_made_it_match(tmp_path):
    rs = rules_mod.load([_write(tmp_path, EVERY_FIELD)])
    rule = next(r for r in rs.rules if r.id == "zz-everything")
    assert rule.text_matches("it is zz down now") == "zz down"
    assert rule.text_matches("it is zz   offline now") == "zz   offline"
    assert rule.text_matches("it is zz up now") is None


def test_a_runaway_pattern_is_stopped_at_the_time_limit():
    import regex

    rule = rules_mod.Rule("slow", "blocked", "f", regex=regex.compile(r"(a|aa)+$"))
    with pytest.raises(TimeoutError):
        rule.text_matches("a" * 60 + "!", timeout=0.05)
