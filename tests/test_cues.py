"""Cue rules: concepts found near each other decide a reason, in any language, as data."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from bounce_analyzer import analyze
from bounce_analyzer.classify.cues import Cue, Lexicon
from bounce_analyzer.classify.engine import decide
from bounce_analyzer.classify.rules import ablated, default, load
from bounce_analyzer.errors import RulesError

LEX = Lexicon({"recipient": ["mailbox", "address", "user"], "sender": ["sender address", "sender"],
               "system": ["server"], "unknown": ["unknown", "not found", "does not exist"],
               "disabled": ["disabl*"]},
              subjects=("recipient", "sender", "system"))


@pytest.mark.parametrize(("text", "concepts", "expected"), [
    ("mailbox not found", ("recipient", "unknown"), "mailbox not found"),
    ("unknown user", ("recipient", "unknown"), "unknown user"),
    # the subject before the state is the one it is said of, even when another one is closer after it
    ("the mailbox you tried to reach was not found on this server", ("recipient", "unknown"),
     "mailbox you tried to reach was not found"),
    # "address" inside "sender address" belongs to the sender
    ("sender address does not exist", ("recipient", "unknown"), None),
    ("sender address does not exist", ("sender", "unknown"), "sender address does not exist"),
    # too far apart
    ("mailbox" + " x" * 40 + " unknown", ("recipient", "unknown"), None),
    # stems match any ending; other words must end where the word ends
    ("the user was disabled yesterday", ("recipient", "disabled"), "user was disabled"),
    ("the users are unknowns", ("recipient", "unknown"), None),
])
def test_cue_matching(text: str, concepts: tuple[str, ...], expected: str | None) -> None:
    assert Cue(LEX, concepts, window=40).match(text) == expected


def test_unless_vetoes_inside_the_stretch() -> None:
    lex = Lexicon({"recipient": ["mailbox"], "unknown": ["unknown"], "neg": ["not"]}, subjects=("recipient",))
    assert Cue(lex, ("recipient", "unknown"), unless=("neg",)).match("mailbox not unknown") is None
    assert Cue(lex, ("recipient", "unknown"), unless=("neg",)).match("mailbox unknown, not later") == \
        "mailbox unknown"


def test_ideographs_match_without_word_boundaries() -> None:
    lex = Lexicon({"recipient": ["收件人"], "unknown": ["不存在"]}, subjects=("recipient",))
    assert Cue(lex, ("recipient", "unknown")).match("该收件人地址不存在") == "收件人地址不存在"


def test_thai_words_match_without_word_boundaries_and_latin_ones_keep_theirs() -> None:
    # Thai is written without spaces between words: "ไม่มีผู้ใช้นี้" is "there is no such user"
    lex = Lexicon({"recipient": ["ผู้ใช้", "user"], "unknown": ["ไม่พบ", "unknown"]}, subjects=("recipient",))
    assert Cue(lex, ("recipient", "unknown")).match("ไม่พบผู้ใช้นี้ในระบบ") == "ไม่พบผู้ใช้"
    # a Latin word still starts where a word starts: "user" inside "superuser" is none
    assert Cue(lex, ("recipient", "unknown")).match("superuser unknown") is None


@pytest.mark.parametrize(("reply", "reason", "rule"), [
    ("550 Поштанско сандуче не постоји", "user_unknown", "cue-recipient-unknown"),  # Serbian
    ("452 Pastkastīte ir pārpildīta", "mailbox_full", "cue-recipient-full"),  # Latvian
    ("550 Akun pengguna telah dinonaktifkan", "suspend", "cue-recipient-disabled"),  # Indonesian
    ("552 Mesej ini terlalu besar", "email_too_large", "cue-message-too-large"),  # Malay
    ("554 Adresa IP este pe lista neagră", "blocked", "cue-listed"),  # Romanian
    ("550 ไม่พบผู้รับนี้ในระบบ", "user_unknown", "cue-recipient-unknown"),  # Thai
    ("550 הנמען לא נמצא", "user_unknown", "cue-recipient-unknown"),  # Hebrew
    ("421 Liiga palju ühendusi", "rate_limited", "cue-rate"),  # Estonian
    ("451 Privremena greška poslužitelja, pokušajte kasnije", "system_error", "cue-system-temporary-error"),  # Croatian
    ("554 پیام حاوی ویروس است", "virus_detected", "cue-virus"),  # Persian
    ("550 Reputasi IP Anda terlalu rendah", "bad_reputation", "cue-reputation"),  # Indonesian
])
def test_shipped_cues_read_languages_the_phrase_rules_do_not(reply: str, reason: str, rule: str) -> None:
    raw = ("From: MAILER-DAEMON@mail.example.org\nTo: a@example.org\nSubject: Undelivered Mail Returned to Sender\n"
           "Content-Type: text/plain; charset=utf-8\n\nYour message could not be delivered.\n\n"
           f"<b@example.com>: host mx.example.com[192.0.2.7] said: {reply} (in reply to RCPT TO command)\n")
    r = analyze(raw.encode()).recipients[0]
    assert (r.reason, r.rule) == (reason, rule)


PHRASE_RULE_FILES = ("vendor", "address", "mailbox", "policy", "reputation", "size", "stage", "transport")


@pytest.mark.parametrize(("reply", "command", "reason", "rule"), [
    ("550 Пересылка почты на чужие домены запрещена", "RCPT", "no_relaying", "cue-relay-denied"),  # Russian: relaying
    ("530 Требуется авторизация перед отправкой", "MAIL", "security_error", "cue-smtp-auth"),  # Russian: log in first
    ("530 SMTP認証が必要です", "MAIL", "security_error", "cue-smtp-auth"),  # Japanese, the same
    ("553 送信者のドメインが存在しません", "MAIL", "rejected", "cue-sender-unknown"),  # Japanese: the sender's domain
    ("553 发件人域名不存在", "MAIL", "rejected", "cue-sender-unknown"),  # Chinese, the same
    ("553 Gönderen alan adı mevcut değil", "MAIL", "rejected", "cue-sender-unknown"),  # Turkish, the same
    ("550 Нет обратной записи DNS для вашего IP", "CONNECT", "require_ptr", "cue-reverse-dns"),  # Russian: no PTR
    ("452 サーバーのディスク容量が不足しています", "RCPT", "system_full", "cue-system-full"),  # Japanese
    ("550 Mailbox nicht verfügbar", "RCPT", "user_unknown", "cue-recipient-unavailable"),  # German
    ("550 Schránka není dostupná", "RCPT", "user_unknown", "cue-recipient-unavailable"),  # Czech, the same
    ("550 Odbiorca zmienił adres", "RCPT", "has_moved", "cue-recipient-moved"),  # Polish: changed address
    ("554 Załączniki tego typu są zabronione", "DATA-END", "policy_violation", "cue-attachment-kind-denied"),
    ("550 Wiadomość nie jest zgodna z RFC", "DATA-END", "not_compliant_rfc", "cue-rfc-nonconforming"),
    ("554 Přeposílání není povoleno", "RCPT", "no_relaying", "cue-relay-denied"),  # Czech: relaying not allowed
    ("554 Contenido sospechoso: mensaje rechazado", "DATA-END", "spam_detected", "cue-spam"),  # Spanish
])
def test_the_cues_alone_read_each_meaning_in_the_languages_a_concept_lacked(reply: str, command: str, reason: str,
                                                                           rule: str) -> None:
    # with no phrase rule at all (the generalization check's "codes and cues"), as on wording nobody has listed
    rules = ablated(default(), PHRASE_RULE_FILES)
    d = decide(reply, "diagnostic", None, int(reply[:3]), (), rules, command)
    assert (d.reason, d.rule) == (reason, rule)


def test_shipped_cues_read_wording_no_phrase_rule_lists() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.net\nTo: a@example.org\nSubject: Undelivered Mail Returned to Sender\n\n"
           b"Your message could not be delivered.\n\n<b@example.com>:\nLa casella postale del destinatario risulta "
           b"disattivata da tempo\n")
    r = analyze(raw).recipients[0]
    assert (r.address, r.reason, r.rule) == ("b@example.com", "suspend", "cue-recipient-disabled")


def test_a_user_file_adds_words_to_a_concept_and_a_cue(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('schema = 1\n[[concept]]\nid = "unknown"\nkind = "state"\nen = ["vanished"]\n'
                 '[[rule]]\nid = "my-cue"\nreason = "user_unknown"\nconcepts = ["recipient", "unknown"]\n'
                 'priority = 31\nexamples.match = ["the mailbox vanished"]\nexamples.no_match = ["x"]\n')
    rules = load([f])
    rule = next(r for r in rules.rules if r.id == "my-cue")
    assert rule.text_matches("the mailbox vanished") == "mailbox vanished"
    assert rules.rules.index(rule) < next(i for i, r in enumerate(rules.rules) if r.id == "cue-recipient-unknown")


def test_a_cue_ranked_above_the_codes_is_tried_only_where_a_word_of_its_state_occurs(tmp_path: Path) -> None:
    # ranked above a specific code, a cue is tried before the code decides, on nearly every text; its state's words
    # gate it, so a text without any of them is not scanned for it, and one with them is decided by it
    f = tmp_path / "mine.toml"
    f.write_text('schema = 1\n[[concept]]\nid = "vanished"\nkind = "state"\nen = ["gone missing", "vanished"]\n'
                 '[[rule]]\nid = "my-cue"\nreason = "user_unknown"\nconcepts = ["recipient", "vanished"]\n'
                 'priority = 70\nexamples.match = ["the mailbox vanished"]\nexamples.no_match = ["x"]\n')
    rules = load([f])
    n = next(i for i, r in enumerate(rules.rules) if r.id == "my-cue")
    assert n not in rules.index.cued
    assert n in rules.index.matches("550 5.2.2 this mailbox has gone\n  missing")[1]
    assert n not in rules.index.matches("550 5.2.2 mailbox full")[1]
    assert n not in rules.index.matches("550 5.2.2 a mailbox is missing")[1]  # one run of "gone missing" alone
    assert decide("550 5.2.2 this mailbox has gone\n  missing", "smtp", "5.2.2", 550, (), rules).rule == "my-cue"
    assert decide("552 5.2.2 mailbox full", "smtp", "5.2.2", 552, (), rules).reason == "mailbox_full"


def test_a_cue_naming_an_undefined_concept_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('schema = 1\n[[rule]]\nid = "my-cue"\nreason = "user_unknown"\nconcepts = ["nowhere"]\n'
                 'examples.match = ["x"]\nexamples.no_match = ["y"]\n')
    with pytest.raises(RulesError, match='concept "nowhere" is not defined'):
        load([f])


def test_cues_read_the_quoted_reply_not_the_wrapper_around_it() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.net\nTo: a@example.org\nSubject: Delivery Status Notification\n\n"
           b"Delivery to the following recipient failed.\n\n<b@example.com>: 5.1.0 - Unknown address error "
           b"550-'5.7.1 relaying is not allowed for this client'\n")
    r = analyze(raw).recipients[0]
    assert r.reason != "user_unknown"


def test_a_concept_near_the_state_on_either_side_the_closest_one_counts() -> None:
    # two words of the subject around the state: the stretch runs to the closer one
    assert Cue(LEX, ("recipient", "unknown"), window=40).match("user xxxxxxxxxxxxxxxxxxxx unknown mailbox") == \
        "unknown mailbox"


def test_the_window_reaches_exactly_its_width() -> None:
    # "mailbox" ends 11 characters after "unknown" ends: inside a window of 11, outside one of 10
    text = "unknown xx mailbox"
    assert Cue(LEX, ("unknown", "recipient"), window=11).match(text) == text
    assert Cue(LEX, ("unknown", "recipient"), window=10).match(text) is None


def test_a_word_ends_where_its_last_character_says() -> None:
    lex = Lexicon({"code": ["no-1", "rule."], "unknown": ["unknown"]})
    assert Cue(lex, ("code", "unknown")).match("unknown no-1") == "unknown no-1"
    assert Cue(lex, ("code", "unknown")).match("unknown no-12") is None  # a digit goes on the word
    assert Cue(lex, ("code", "unknown")).match("unknown rule.x") == "unknown rule."  # after a dot, anything


def test_the_subject_right_after_a_state_is_nearer_than_one_a_character_later() -> None:
    # in a script without spaces a subject can start where the state ends; one that starts a character later is
    # further away, whatever the names of the concepts
    lex = Lexicon({"zz_recipient": ["收件人"], "aa_sender": ["件人地"], "unknown": ["不存在"]},
                  subjects=("zz_recipient", "aa_sender"))
    assert Cue(lex, ("zz_recipient", "unknown")).match("不存在收件人地") == "不存在收件人"
    assert Cue(lex, ("aa_sender", "unknown")).match("不存在收件人地") is None


def test_a_cue_of_subjects_alone_is_anchored_on_its_first() -> None:
    assert Cue(LEX, ("recipient",)).match("the mailbox") == "mailbox"
    assert Cue(LEX, ("system", "recipient")).match("server said: mailbox") == "server said: mailbox"


def test_a_lexicon_read_back_from_a_pickle_finds_what_it_found_before() -> None:
    # the rules cache keeps a lexicon's table of words as bytes of its own and no automaton, which the first scan
    # builds: a copy, a copy of a copy made before it scanned and one made after find the same words at the same
    # places as the lexicon itself
    text = "the sender address of this user does not exist; mailbox disabled"
    want = {"recipient": [(27, 31, "recipient"), (48, 55, "recipient")],  # "user", "mailbox"
            "sender": [(4, 18, "sender")], "unknown": [(32, 46, "unknown")], "disabled": [(56, 64, "disabled")]}
    fresh = Lexicon(LEX.concepts, LEX.subjects)
    copy = pickle.loads(pickle.dumps(fresh))
    unscanned = pickle.loads(pickle.dumps(copy))
    assert copy._automaton is None and unscanned._automaton is None
    assert copy.scan(text).spans == want
    assert pickle.loads(pickle.dumps(copy)).scan(text).spans == want
    assert unscanned.scan(text).spans == want
    assert fresh.scan(text).spans == want
    again = pickle.loads(pickle.dumps(copy))
    assert again._automaton is None
    other = "mailbox full; sender rejected"
    assert again.scan(other).spans == Lexicon(LEX.concepts, LEX.subjects).scan(other).spans


def test_white_space_in_a_text_is_read_as_a_space_of_a_word_and_places_are_those_of_the_text() -> None:
    # a space in a word stands for any run of white space; what is found is reported where it is in the text as given
    lex = Lexicon({"recipient": ["mailbox"], "unknown": ["does not exist"], "full": ["full"]},
                  subjects=("recipient",))
    found = lex.scan("  the mailbox\n\tdoes  not\u00a0exist;\n\nmailbox full")
    assert found.spans == {"recipient": [(6, 13, "recipient"), (33, 40, "recipient")],
                           "unknown": [(15, 30, "unknown")], "full": [(41, 45, "full")]}
    # a word of an alphabetic script starts and ends at a word's edges; ideographs and Thai match anywhere
    lex = Lexicon({"unknown": ["unknown", "不存在", "ไม่มี"]})
    assert lex.scan("unknownuser xunknown").spans == {}
    assert lex.scan("用户不存在 ผู้รับไม่มีอยู่").spans == {"unknown": [(2, 5, "unknown"), (12, 17, "unknown")]}


def test_a_word_that_is_a_label_of_a_host_name_or_an_address_is_no_word_of_the_sentence() -> None:
    lex = Lexicon({"domain": ["mx"], "recipient": ["mailbox", "mail"], "unknown": ["invalid"]},
                  subjects=("domain", "recipient"))
    cue = Cue(lex, ("recipient", "unknown"))
    # "mx" in a server's name is not the domain the sentence is about
    assert cue.match("host mx.example.net said: 550 invalid mailbox") == "invalid mailbox"
    assert Cue(lex, ("domain", "unknown")).match("host mx.example.net said: 550 invalid mailbox") is None
    assert Cue(lex, ("domain", "unknown")).match("mx invalid") == "mx invalid"
    # nor a label after "@" or after another label
    assert Cue(lex, ("recipient", "unknown")).match("invalid: pat@mail.example.org") is None
    assert Cue(lex, ("recipient", "unknown")).match("invalid: relay.mail.example.org") is None
    # a word at the end of a sentence still counts
    assert cue.match("invalid mailbox. try again") == "invalid mailbox"
    # a state may be named by a host: the list a server looked the sending IP up in
    lists = Lexicon({"blocklist": ["spamhaus"]})
    assert Cue(lists, ("blocklist",)).match("blocked using zen.spamhaus.org") == "spamhaus"


def test_words_grouped_by_their_first_characters_find_the_longest_word_at_each_place() -> None:
    # words are tried by their first two characters, then by the first alone (a word whose second character is a
    # space or a stem's end); the longest word that matches at a place wins, as in one alternation of them all
    lex = Lexicon({"a": ["no such", "no", "n*", "not known"], "b": ["x y"]})
    assert Cue(lex, ("a",)).match("no such user") == "no such"
    assert Cue(lex, ("a",)).match("not known here") == "not known"
    assert Cue(lex, ("a",)).match("nothing") == "nothing"  # the stem, when no longer word matches
    assert Cue(lex, ("a",)).match("no") == "no"
    assert Cue(lex, ("b",)).match("then x   y") == "x   y"  # a space in a word matches any run of spaces


def test_a_word_that_names_both_the_subject_and_its_state_is_said_of_itself() -> None:
    """"no mailbox" says a mailbox is missing: the server named a few words before it is not what it is said of."""
    lex = Lexicon({"recipient": ["mailbox", "no mailbox"], "system": ["server"], "unknown": ["no mailbox", "unknown"]},
                  subjects=("recipient", "system"))
    assert Cue(lex, ("recipient", "unknown")).match("the server answered: no mailbox with that name") == "no mailbox"
    # a state word of its own is still said of the subject before it
    assert Cue(lex, ("recipient", "unknown")).match("the server is unknown") is None


def test_a_spam_filter_named_by_its_product_name_is_no_virus_verdict() -> None:
    rules = load()
    cue = {r.id: r for r in rules.rules}
    text = "550 5.7.1 refused by the spam & virus firewall"
    assert cue["cue-virus"].text_matches(text) is None
    assert cue["cue-spam"].text_matches(text) == "spam & virus firewall"
    assert cue["cue-virus"].text_matches("550 5.7.1 refused: a virus was found") == "virus"


def _dsn(diagnostic: str, status: str) -> bytes:
    """A delivery status notification for one recipient with this Status and Diagnostic-Code."""
    return ("From: MAILER-DAEMON@mail.example.org\nTo: a@example.org\nSubject: Undelivered Mail Returned to Sender\n"
            "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n"
            "Content-Type: text/plain\n\nYour message could not be delivered.\n\n--b\n"
            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mail.example.org\n\n"
            f"Final-Recipient: rfc822; b@example.com\nAction: failed\nStatus: {status}\n"
            f"Diagnostic-Code: smtp; {diagnostic}\n\n--b--\n").encode()


@pytest.mark.parametrize(("diagnostic", "status", "reason", "rule"), [
    # a rate limit and a block list sent with the unknown-address code are the sender's, not the address's
    ("550 5.1.1 Your server went over its hourly allowance", "5.1.1", "rate_limited", "rate-limited-volume"),
    ("550 5.1.1 Nicht angenommen: Ihr Server steht auf einer schwarzen Liste", "5.1.1", "blocked", "blocked-i18n"),
    ("550 5.1.1 Nicht angenommen: dieser Benutzer ist unbekannt", "5.1.1", "user_unknown", "status:X.1.1"),
    # a size refusal sent with the mailbox-full code, and a mailbox-full one
    ("552 5.2.2 This message is bigger than the limit here", "5.2.2", "email_too_large",
     "too-large-despite-mailbox-code"),
    ("552 5.2.2 This message is larger than the current limit or the recipient's mailbox is full", "5.2.2",
     "mailbox_full", "mailbox-full-over-quota"),
    ("552 5.2.2 Das Postfach ist bis zum Limit belegt", "5.2.2", "mailbox_full", "status:X.2.2"),
])
def test_sender_side_words_beat_an_address_code(diagnostic: str, status: str, reason: str, rule: str) -> None:
    r = analyze(_dsn(diagnostic, status)).recipients[0]
    assert (r.reason, r.rule) == (reason, rule)


@pytest.mark.parametrize(("diagnostic", "status", "reason", "rule"), [
    # a phrase rule about the recipient's domain does not read the sender's domain (its "unless")
    ("553 送信者のドメインが存在しません", "5.0.0", "rejected", "cue-sender-unknown"),
    ("553 5.1.8 The sender domain does not exist", "5.1.8", "rejected", "rejected-sender-address"),
    ("550 宛先のドメインが存在しません", "5.0.0", "host_unknown", "host-unknown-i18n"),
    ("550 Домен получателя не существует", "5.0.0", "host_unknown", "host-unknown-i18n"),
    # moved away with a new address spoken of, before the unknown-user cue; a loose "changed" takes nothing
    ("550 Empfänger umgezogen, neue Adresse unbekannt", "5.0.0", "has_moved", "cue-relocated-new-address"),
    ("550 Benutzer unbekannt, Konfiguration geändert", "5.0.0", "user_unknown", "user-unknown-de"),
    # "does not accept mail" is a null MX said of a domain only; a Russian "unavailable" mailbox is no network error
    ("550 ドメインはメールを受け付けていません", "5.0.0", "not_accept", "cue-domain-takes-no-mail"),
    ("550 Почтовый ящик недоступен", "5.0.0", "user_unknown", "cue-recipient-unavailable"),
    ("421 Сервер недоступен", "4.0.0", "network_error", "cue-no-connection"),
])
def test_words_said_of_the_right_subject(diagnostic: str, status: str, reason: str, rule: str) -> None:
    r = analyze(_dsn(diagnostic, status)).recipients[0]
    assert (r.reason, r.rule) == (reason, rule)
