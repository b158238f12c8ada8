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
