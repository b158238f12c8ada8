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
