"""explain() knows every code the seed pages list, and says which ones no standard defines."""

from __future__ import annotations

import pytest

from bounce_analyzer import explain

SEED_REPLIES = [101, 111, 211, 214, 220, 221, 250, 251, 252, 253, 354, 355, 420, 421, 422, 431, 432, 441, 442, 446,
                447, 449, 450, 451, 452, 453, 454, 458, 459, 465, 471, 500, 501, 502, 503, 504, 510, 511, 512, 513,
                521, 523, 530, 541, 550, 551, 552, 553, 554, 571]
NON_STANDARD = [101, 111, 420, 422, 431, 441, 442, 446, 447, 449, 465, 471, 510, 511, 512, 513, 523, 541, 571]


@pytest.mark.parametrize("code", SEED_REPLIES)
def test_every_seed_reply_code_is_explained(code):
    ex = explain(str(code))
    assert ex.known and ex.reply_title and ex.reply_meaning and ex.reply_class
    if code in NON_STANDARD:
        assert ex.standard is False and ex.used_by, code


@pytest.mark.parametrize("cls", "45")
def test_every_registry_code_is_explained(cls):
    for subject, last in {0: 0, 1: 10, 2: 4, 3: 6, 4: 7, 5: 6, 6: 10, 7: 30}.items():
        for detail in range(last + 1):
            ex = explain(f"{cls}.{subject}.{detail}")
            assert ex.known and ex.status_title and ex.status_meaning and ex.status_class and ex.status_subject
            assert ex.permanent is (cls == "5")
            assert ex.verdict in ("hard", "soft")


def test_conflicting_classes_are_flagged():
    assert explain("450 5.2.3 message too big").conflict
    assert not explain("550 5.2.3 message too big").conflict


def test_success_codes_have_no_failure_reason():
    ex = explain("250 2.0.0 OK")
    assert ex.reason is None and ex.verdict is None


def test_unknown_text():
    ex = explain("the quick brown fox")
    assert not ex.known and ex.reason == "undefined"


# --- for people -------------------------------------------------------------------------------------------------

_FOR_RULE_AUTHORS = ("add a rule", "rules check", "The default is", "decided by", "default")


def _people_text(query: str) -> str:
    from .conftest import run_cli

    r = run_cli("explain", query)
    assert r.returncode == 0 and r.stderr == b"", (query, r.stderr)
    return r.stdout.decode()


@pytest.mark.parametrize("code", SEED_REPLIES)
def test_every_reply_code_has_a_hint_for_the_reader(code):
    ex = explain(str(code))
    assert ex.hint, code
    assert not any(w in ex.hint for w in _FOR_RULE_AUTHORS), ex.hint
    if str(code)[0] in "23":
        assert ex.hint.startswith("Nothing to do"), code


def test_codes_that_are_no_reply_say_the_connection_never_happened():
    for code in ("101", "111"):
        ex = explain(code)
        assert ex.reply_class is not None and "never happened" in ex.reply_class
        assert ex.hint is not None and all(w in ex.hint for w in ("host name", "port", "firewall"))
        assert ex.reason is None and ex.verdict is None


def test_every_reason_word_is_explained():
    from bounce_analyzer.classify.rules import default

    for word, reason in default().reasons.items():
        ex = explain(word.upper())  # any case
        assert ex.known and ex.reason == word and ex.hint == reason.hint and ex.reason_description, word
        assert ex.verdict == (reason.verdict if reason.verdict in ("hard", "soft") else None)
    text = _people_text("user_unknown")
    assert text.splitlines()[:3] == [
        "reason:      user_unknown: The mailbox does not exist at the destination: the local part (before the @) is "
        "unknown there.", "verdict:     hard", "fault:       recipient"]


def test_text_for_people_has_no_commentary_for_rule_authors():
    for query in ("550", "4.2.2", "5.2.0", "421", "2.0.0", "250", "111", "mailbox_full",
                  "550 5.1.1 <a@example.net>: User unknown", "451 4.7.1 try again later"):
        text = _people_text(query)
        assert "hint:" in text, query
        assert not any(w in text for w in _FOR_RULE_AUTHORS), (query, text)


def test_unknown_input_exits_1_with_one_line_on_stderr():
    from .conftest import run_cli

    for query in ("xyzzy", "the quick brown fox", "999"):
        r = run_cli("explain", query)
        assert r.returncode == 1 and r.stdout == b"", query
        (line,) = r.stderr.decode().splitlines()
        assert line.startswith(f"bounce-analyzer: {query}: not a reply code")


# What a code means, read from RFC 3463 / RFC 5321 and the verdict conventions of samples/README.md (hard only for
# an address or domain that does not exist or has moved; a full mailbox, a size limit or an expiry is soft).
@pytest.mark.parametrize("text,reason,verdict,permanent,fault", [
    ("5.1.1", "user_unknown", "hard", True, "recipient"),  # Bad destination mailbox address
    ("5.1.2", "host_unknown", "hard", True, "recipient"),  # Bad destination system address
    ("5.1.6", "has_moved", "hard", True, "recipient"),  # Destination mailbox has moved, no forwarding address
    ("4.2.2", "mailbox_full", "soft", False, "recipient"),  # Mailbox full
    ("5.2.2", "mailbox_full", "soft", True, "recipient"),
    ("5.3.4", "email_too_large", "soft", True, "sender"),  # Message too big for system
    ("4.4.7", "expired", "soft", False, "network"),  # Delivery time expired
    ("552", "mailbox_full", "soft", True, "recipient"),  # exceeded storage allocation
    ("550 5.1.1 <a@example.net>: User unknown", "user_unknown", "hard", True, "recipient"),
    ("451 4.7.1 Greylisted, try again in 5 minutes", "rate_limited", "soft", False, "sender"),
])
def test_what_a_code_means(text, reason, verdict, permanent, fault):
    ex = explain(text)
    assert (ex.reason, ex.verdict, ex.permanent, ex.fault) == (reason, verdict, permanent, fault)
