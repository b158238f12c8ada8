"""compat.flufl keeps flufl.bounce's contract (checked against flufl.bounce itself) with this package's answers."""

from __future__ import annotations

import email
from email import policy

import flufl.bounce as flufl  # in the [test] extras
import pytest

from bounce_analyzer.compat import flufl as ours

from .conftest import SAMPLES, sample_pairs


def _msg(name: str) -> email.message.Message:
    return email.message_from_bytes((SAMPLES / name).read_bytes())


def _is_recipients(value: object) -> bool:
    return isinstance(value, frozenset) and all(isinstance(a, bytes) for a in value)


@pytest.mark.parametrize("eml", [e for e, _ in sample_pairs()], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_types_as_flufl_bounce_on_every_sample(eml):
    msg = email.message_from_bytes(eml.read_bytes())
    theirs, mine = flufl.all_failures(msg), ours.all_failures(msg)
    assert isinstance(theirs, tuple) and isinstance(mine, tuple) and len(theirs) == len(mine) == 2
    assert all(_is_recipients(x) for x in (*theirs, *mine))
    assert _is_recipients(flufl.scan_message(msg)) and _is_recipients(ours.scan_message(msg))
    assert ours.scan_message(msg) == mine[1]


def test_a_plain_unknown_user_is_permanent_for_both():
    msg = _msg("exim/user-unknown.eml")
    assert flufl.all_failures(msg) == ours.all_failures(msg) == (frozenset(), frozenset({b"lena.fischer@example.net"}))


def test_the_address_the_list_mailed_is_reported_not_the_alias_it_became():
    # "Original-Recipient: info@example.org", expanded by the receiving side to the local user tanaka
    msg = _msg("sendmail/local-user-unknown.eml")
    assert ours.scan_message(msg) == flufl.scan_message(msg) == frozenset({b"info@example.org"})


def test_sending_side_failures_are_temporary_where_flufl_says_permanent():
    # "550 5.1.1 ... client host [198.51.100.7] blocked using zen.spamhaus": the list's IP, not the subscriber
    msg = _msg("edge/blocklist-worded-unknown-user.eml")
    assert flufl.all_failures(msg) == (frozenset(), frozenset({b"elif.demir@example.net"}))
    assert ours.all_failures(msg) == (frozenset({b"elif.demir@example.net"}), frozenset())


def test_delays_are_temporary_and_messages_that_are_no_failure_give_nothing():
    temporary, permanent = ours.all_failures(_msg("delay/postfix-delayed-mail.eml"))
    assert temporary and not permanent
    for name in ("success/postfix-successful-delivery.eml", "autoreply/sieve-vacation.eml", "feedback/arf-abuse.eml"):
        assert ours.all_failures(_msg(name)) == ours.NoFailures == (frozenset(), frozenset())


def test_flufl_reads_garbage_where_the_notice_is_json_and_we_read_the_address():
    msg = _msg("ses/sns-json-bounce.eml")
    assert not any(a.endswith(b"@example.net") for a in flufl.scan_message(msg))
    assert ours.scan_message(msg) == frozenset({b"dana.w@example.net"})


def test_an_email_message_of_the_modern_policy_is_taken_too():
    msg = email.message_from_bytes((SAMPLES / "exim/user-unknown.eml").read_bytes(), policy=policy.default)
    assert ours.scan_message(msg) == frozenset({b"lena.fischer@example.net"})
