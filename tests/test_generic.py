"""The free-text reader's address lines and their blocks (``formats/generic.recipient_blocks``)."""

from __future__ import annotations

from bounce_analyzer import analyze
from bounce_analyzer.formats.generic import recipient_blocks


def test_an_address_line_whose_code_was_wrapped_onto_the_lines_under_it():
    notice = ("alice@example.net Invalid Address, ERROR_CODE\n"
              "    :550, ERROR_CODE :5.1.1 <alice@example.net>...\n"
              "    User Unknown\n"
              "bob@example.net Invalid Address, ERROR_CODE :552,\n"
              "    ERROR_CODE :5.2.2 <bob@example.net>... Mailbox Full\n")
    assert recipient_blocks(notice) == {
        "alice@example.net": ["Invalid Address, ERROR_CODE\n:550, ERROR_CODE :5.1.1 <alice@example.net>...\n"
                              "User Unknown"],
        "bob@example.net": ["Invalid Address, ERROR_CODE :552,\nERROR_CODE :5.2.2 <bob@example.net>... Mailbox Full"],
    }


def test_words_after_an_address_with_no_code_under_them_make_no_address_line():
    assert recipient_blocks("carol@example.net wrote about the\n    meeting on Friday\n") == {}
    # the code must be on the lines indented under it, not after a blank line
    assert recipient_blocks("carol@example.net Invalid Address, ERROR_CODE\n\n    :550 no\n") == {}


def test_a_line_that_starts_with_the_address_again_continues_its_block():
    notice = ("<dan@example.net>: host mx.example.net[192.0.2.7] said: 550 5.2.1\n"
              "<dan@example.net>... no such user here (in reply to RCPT TO command)\n")
    assert recipient_blocks(notice) == {
        "dan@example.net": ["host mx.example.net[192.0.2.7] said: 550 5.2.1\n"
                            "<dan@example.net>... no such user here (in reply to RCPT TO command)"]}
    # after a blank line, or with other text between, it is a block of its own
    apart = notice.replace("\n<dan", "\n\n<dan")
    assert len(recipient_blocks(apart)["dan@example.net"]) == 2
    between = notice.replace("\n<dan", "\nThe next attempt:\n<dan")
    assert len(recipient_blocks(between)["dan@example.net"]) == 2


def test_an_html_notice_is_read_without_its_tags_styles_and_scripts():
    from bounce_analyzer.notice import _html_to_text

    html = ("<html><head><STYLE type='text/css'>p { color: red }</style><script>var a = '<b>';</SCRIPT></head>"
            "<body><p>Delivery to <b>alice@example.net</b> failed:</p><div>550 5.1.1 unknown</div></body></html>")
    assert _html_to_text(html) == "Delivery to alice@example.net failed:\n\n550 5.1.1 unknown"
    # an element that is never closed: its start tag goes like any other, the text after it stays
    assert _html_to_text("<script src=x>550 user unknown") == "550 user unknown"
    assert _html_to_text("<styles>kept</styles>") == "kept"  # not a style element
    # a run of "<" with no tag: kept as it is (and read in linear time; the fuzz tests time such input)
    assert _html_to_text("<" * 5000 + "b>x") == "<" * 4999 + "x"


def test_an_html_notice_keeps_the_lines_paragraphs_and_indentation_a_browser_shows():
    from bounce_analyzer.notice import _html_to_text

    # the source's own line breaks are spaces; <br> breaks a line, <p> makes a paragraph, a cell starts after a tab
    assert _html_to_text("<p>The message to\n  <b>alice@example.net</b>\nfailed.<br>\n"
                         "Reason:<br/>\n&nbsp;&nbsp;550 5.1.1 &lt;alice@example.net&gt; unknown</p>\n"
                         "<table><tr><td>Remote server:</td><td>mx.example.net</td></tr></table>") == (
        "The message to alice@example.net failed.\nReason:\n  550 5.1.1 <alice@example.net> unknown\n\n"
        "Remote server:\tmx.example.net")
    # plain text inside <pre> keeps its breaks and indentation
    assert _html_to_text("<pre>alice@example.net\n    host mx.example.net said: 550</pre>") == (
        "alice@example.net\n    host mx.example.net said: 550")
    # entities are decoded after the tags are read: an escaped address is text, not a tag
    assert _html_to_text("&lt;b&gt; &amp; &#233;") == "<b> & é"


def test_headed_sections_read_the_addresses_and_reasons_under_their_headings():
    from bounce_analyzer.formats.generic import headed_sections

    notice = ("   ----- The following addresses had permanent fatal errors -----\n"
              "<erin@example.net>\n\n"
              "|------------------------- Failed addresses follow: ---------------------|\n"
              " frank@example.net ... unknown user\n"
              "=== Non-delivered information ===\n"
              "Mailbox quota exceeded\n\n"
              "----- Original message -----\n"
              "From: gina@example.org\n")
    listed, about = headed_sections(notice)
    assert listed == {"erin@example.net", "frank@example.net"}
    assert about == "Mailbox quota exceeded"  # not the original's section
    # framing that never ends in a title: no heading, and a line far too long to be one is passed over
    assert headed_sections("-" * 100_000 + "\nerin@example.net\n") == (set(), "")
    assert headed_sections(" ----- " + "x" * 400 + " -----\nerin@example.net\n") == (set(), "")


def test_the_reporting_host_of_a_postmaster_notice_is_the_host_of_its_domain_that_gave_it_its_message_id():
    from bounce_analyzer import analyze

    def reporting(message_id: str) -> str | None:
        raw = ("From: Postmaster <postmaster@example.org>\nTo: a@example.com\nSubject: Undeliverable mail\n"
               f"Message-ID: {message_id}\n\nUnknown user: bob@example.net\n").encode()
        return analyze(raw).reporting_mta

    assert reporting("<20260101.4411@mail2.example.org>") == "mail2.example.org"
    assert reporting("<20260101.4411@example.org>") == "example.org"
    assert reporting("<20260101.4411@mx.example.com>") == "example.org"  # another domain's host: not its own
    assert reporting("<20260101.4411@bad_host!.example.org>") == "example.org"  # not a host name
    assert reporting("<20260101.4411@notexample.org>") == "example.org"  # a longer name, not a host in the domain


def test_a_tab_indents_as_far_as_a_terminal_shows_it():
    # the address line is indented two spaces and the lines under it one tab: they are its block, not new blocks
    notice = ("  carla@mail.example.net\n"
              "\t(generated from carla@example.com)\n"
              "\thost mx.example.net [192.0.2.44]\n"
              "\t550 5.1.1 <carla@mail.example.net>: no mailbox by that name here\n")
    assert recipient_blocks(notice) == {"carla@mail.example.net": [
        "(generated from carla@example.com)\nhost mx.example.net [192.0.2.44]\n"
        "550 5.1.1 <carla@mail.example.net>: no mailbox by that name here"]}


def test_a_notice_quoted_in_a_reply_is_read_without_its_quote_marks():
    from bounce_analyzer.notice import _unquoted

    quoted = "> The following address failed:\n>\n>   alice@example.net\n>     550 5.1.1 unknown\n"
    assert _unquoted(quoted) == "The following address failed:\n\n  alice@example.net\n    550 5.1.1 unknown\n"
    # a transcript's ">>>" lines among others are not quoting; nor is a text quoted only in part
    transcript = ">>> RCPT TO:<alice@example.net>\n<<< 550 5.1.1 unknown\n"
    assert _unquoted(transcript) == transcript
    assert _unquoted("See below.\n> alice@example.net\n") == "See below.\n> alice@example.net\n"


def test_spaces_and_quote_marks_of_every_kind_read_as_plain_ones():
    from bounce_analyzer.notice import _plain_marks

    assert _plain_marks("550 User\xa0unknown;\u3000mailbox\u2009doesn\u2019t exist: \u201calice@example.net\u201d") == (
        "550 User unknown; mailbox doesn't exist: \"alice@example.net\"")
    assert _plain_marks("\ufeffUs\xader un\u200bknown") == "User unknown"  # marks nobody sees are taken out
    assert _plain_marks("plain ASCII stays") == "plain ASCII stays"
    assert _plain_marks("caf\xe9 \u2014 ok") == "caf\xe9 \u2014 ok"  # other characters are left alone


def test_a_transcript_in_capitals_names_its_server():
    from bounce_analyzer.formats.generic import transcript_stages

    t = transcript_stages("... WHILE TALKING TO MX.EXAMPLE.NET.:\n>>> RCPT TO:<a@example.net>\n"
                          "<<< 550 5.1.1 NO SUCH USER")
    assert t.first_host == "mx.example.net" and t.first == "RCPT"


def test_a_line_that_ends_with_the_address_after_failure_words_starts_its_block():
    notice = ("Failed to deliver to '<alice@example.net>'\n"
              "SMTP module(domain example.net) reports:\n"
              " mx.example.net says: 550 5.1.1 Mailbox alice does not exist\n"
              "\n"
              "Your message to: bob@example.org\n"
              "was blocked by the recipient's filter.\n"
              "\n"
              "Сообщение не удалось доставить по адресу carol@example.com.\n"
              "\n"
              "Questions? Send a message to help@example.com\n")
    assert recipient_blocks(notice) == {
        "alice@example.net": ["SMTP module(domain example.net) reports:\nmx.example.net says: 550 5.1.1 Mailbox alice "
                              "does not exist"],
        "bob@example.org": ["was blocked by the recipient's filter."],
        "carol@example.com": [""],
    }
    # the address must end the line: a sentence that goes on after it is no lead-in
    assert recipient_blocks("Failed to deliver to <erin@example.net> because the mailbox is full\n") == {}


def test_label_words_of_other_languages_make_label_lines():
    notice = ("받는 사람 : park@example.net\n상세 정보 : 552 5.2.2 Mailbox full\n\n"
              "Destinatário: ana@example.net\nMotivo: 554 5.7.1 Rejected\n\n"
              "Subscriber: quinn@example.net\n")
    assert list(recipient_blocks(notice)) == ["park@example.net", "ana@example.net", "quinn@example.net"]


def test_a_reply_quoted_after_a_label_is_no_name_before_the_address():
    # "Remote host said: 550 5.1.1 <a@...>" wrapped onto its own line is the reply of the block above, not a label
    # line naming a recipient "550 5.1.1"; a person's name before the address in brackets is one
    notice = ("<ann@example.net>:\n192.0.2.153 does not like recipient.\n"
              "Remote host said: 550 5.1.1 <ann@example.net>...\nUser Unknown Giving up on 192.0.2.153.\n\n"
              "<bo@example.net>:\n192.0.2.153 does not like recipient.\n"
              "Remote host said: 550 5.2.1 <bo@example.net>...\nUser Unknown Giving up on 192.0.2.153.\n")
    blocks = recipient_blocks(notice)
    assert [b[0].split("\n")[1] for b in blocks.values()] == [
        "Remote host said: 550 5.1.1 <ann@example.net>...", "Remote host said: 550 5.2.1 <bo@example.net>..."]
    assert list(recipient_blocks("Empfänger: Klaus Berg <klaus@example.org>\nGrund: 550 5.1.1 unbekannt\n")) == [
        "klaus@example.org"]


def test_a_session_log_with_arrows_and_time_stamps_reads_as_a_transcript():
    from bounce_analyzer.formats.generic import transcript_stages

    log = (" Wed 2026-11-25 10:12:04: <-- 220 mx.example.net ESMTP ready\n"
           " Wed 2026-11-25 10:12:04: --> MAIL From:<news@example.com>\n"
           " Wed 2026-11-25 10:12:04: <-- 250 2.1.0 Ok\n"
           " Wed 2026-11-25 10:12:04: --> RCPT To:<jdoe@example.net>\n"
           " Wed 2026-11-25 10:12:05: <-- 550 5.1.1 <jdoe@example.net>: User unknown\n")
    t = transcript_stages(log)
    assert t.stages == {"jdoe@example.net": "RCPT"} and t.hosts == {"jdoe@example.net": "mx.example.net"}
    # the greeting names the server only until a "while talking to" line names it, and only with a host name
    t = transcript_stages("<<< 220 ESMTP ready\n>>> RCPT TO:<a@example.net>\n<<< 550 5.1.1 <a@example.net> no\n")
    assert t.stages == {"a@example.net": "RCPT"} and t.hosts == {}
    # entries a mail program joined into one line come apart at their arrows
    joined = log.replace("\n Wed", " Wed")
    assert transcript_stages(joined).stages == {"jdoe@example.net": "RCPT"}
    # an arrow far into a line of prose is no transcript mark
    t = transcript_stages("The server we talked to (see the log of last week for the details) <-- 550 no\n")
    assert t.stages == {} and t.first is None


def test_an_address_written_with_its_type_in_brackets_starts_a_block():
    notice = ("  Recipient: [SMTP:ann@example.net]\n"
              "  Reason: Remote SMTP Server Returned: 550 5.1.1 No such user\n\n"
              "  Recipient: SMTP:bo@example.net\n"
              "  Reason: Remote SMTP Server Returned: 452 4.2.2 Mailbox full\n")
    assert recipient_blocks(notice) == {
        "ann@example.net": ["Reason: Remote SMTP Server Returned: 550 5.1.1 No such user"],
        "bo@example.net": ["Reason: Remote SMTP Server Returned: 452 4.2.2 Mailbox full"],
    }


def test_the_reply_naming_the_address_again_on_a_line_of_its_own_stays_in_its_block():
    notice = ("  Recipient: ann@example.net\n"
              "  Reason: Remote SMTP Server Returned:\n"
              "  550 5.1.1 <ann@example.net>... No such user\n")
    assert recipient_blocks(notice) == {
        "ann@example.net": ["Reason: Remote SMTP Server Returned:\n550 5.1.1 <ann@example.net>... No such user"]}
    # after a blank line it is a block of its own
    assert len(recipient_blocks(notice.replace("\n  550", "\n\n  550"))["ann@example.net"]) == 2


def test_an_original_address_line_is_the_address_the_recipient_was_sent_as():
    from bounce_analyzer import analyze

    raw = (b"From: postmaster@ms.example.org\nTo: news@example.com\n"
           b"Subject: Delivery Notification: Delivery has failed\n"
           b"\nThis report relates to a message you sent with the following header fields:\n\n"
           b"  To: sales@example.net\n\n"
           b"Your message cannot be delivered to the following recipients:\n\n"
           b"  Recipient address: u.park@example.net\n"
           b"  Original address: sales@example.net\n"
           b"  Diagnostic code: smtp;550 5.1.1 <u.park@example.net>... User unknown\n")
    [r] = analyze(raw).recipients
    assert (r.address, r.final_recipient, r.original_recipient) == (
        "sales@example.net", "u.park@example.net", "sales@example.net")
    # under a blank line it is no longer the recipient's own: two recipients
    apart = raw.replace(b"\n  Original address", b"\n\n  Original address")
    assert sorted(x.address for x in analyze(apart).recipients) == ["sales@example.net", "u.park@example.net"]


def test_a_reason_label_in_another_language_gives_the_only_recipient_its_words():
    from bounce_analyzer import analyze

    def diagnostic(body: str) -> str:
        raw = ("From: MAILER-DAEMON@mail.example.org\nTo: news@example.com\nSubject: Undelivered Mail\n"
               "Content-Type: text/plain; charset=utf-8\n\n" + body).encode()
        (r,) = analyze(raw).recipients
        return r.diagnostic

    assert diagnostic("Wiadomość nie została dostarczona do odbiorcy ewa@example.net.\n\nPowód:\n"
                      "Skrzynka odbiorcy jest pełna.\n") == "Skrzynka odbiorcy jest pełna."
    assert diagnostic("Jūsų laiškas gavėjui jonas@example.net nepristatytas.\nPriežastis: Pašto dėžutė pilna\n") \
        == "Pašto dėžutė pilna"
    # an "OK:" line is no reason
    assert diagnostic("Your message to ida@example.net could not be delivered.\nOK: the queue was flushed\n") == ""


def test_recipients_named_in_a_sentence_of_other_languages():
    from bounce_analyzer.classify.rules import default
    from bounce_analyzer.formats.generic import phrase_sentence
    from bounce_analyzer.parse import bounded as rx

    _ADDR_SENTENCE_MORE = phrase_sentence(default().detect.recipient_phrases)
    assert _ADDR_SENTENCE_MORE is not None

    for sentence in ("Thư của bạn gửi tới minh@example.org không thể gửi được.",
                     "Az üzenete a címzettnek anna@example.org nem kézbesíthető.",
                     "ההודעה שלך לנמען dana@example.org לא נמסרה"):
        m = rx.search(_ADDR_SENTENCE_MORE, sentence)
        assert m is not None and m.group(1).split("@")[1] == "example.org", sentence
    assert rx.search(_ADDR_SENTENCE_MORE,
                     "Vastaanottaja ei ole tavoitettavissa, kirjoita osoitteeseen help@example.org") is None


def test_a_rcpt_to_label_in_a_block_of_session_details_names_the_recipient():
    notice = ("Mail From: <news@example.com>\n"
              "Rcpt To:   <erik@example.net>\n"
              "Server:    <mx.example.net> [192.0.2.41]\n")
    assert recipient_blocks(notice)["erik@example.net"] == ["Server:    <mx.example.net> [192.0.2.41]"]
    # a command in a transcript is read as one (its stage), and a bare address after the label is a reader's of its own
    assert "erik@example.net" not in recipient_blocks(">>> RCPT TO:<erik@example.net>\n<<< 550 no such user\n")
    assert "erik@example.net" not in recipient_blocks("--> RCPT To:<erik@example.net>\n<-- 550 no such user\n")
    assert "erik@example.net" not in recipient_blocks("  RCPT TO: erik@example.net\n  From: news@example.com\n")


def test_an_address_after_its_type_is_an_address_line():
    notice = "The following destination addresses were unknown:\n\nSMTP <lars@example.net>\nSMTP <mona@example.org>\n"
    assert list(recipient_blocks(notice)) == ["lars@example.net", "mona@example.org"]
    # the type's word in a sentence is no label
    assert recipient_blocks("We tried SMTP with lars@example.net and it worked\n") == {}


def test_the_sentence_that_introduces_the_recipients_says_a_remote_server_refused_them():
    from email import message_from_string

    from bounce_analyzer.formats.base import Bounce
    from bounce_analyzer.formats.generic import GenericText

    def read(intro: str) -> list[str]:
        notice = f"{intro}\n\n    Recipient: <olga@example.net>\n    Reason:    5.2.2 Mailbox full\n"
        b = Bounce(msg=message_from_string("Subject: x\n\n"), subject="x", sender="postmaster@example.org",
                   report_type="", notice=notice, dsn_texts=[])
        return [f.context for f in GenericText().parse(b).findings]

    assert read("Each of the following recipients was rejected by a remote mail server.") == [
        "rejected by a remote mail server"]
    assert read("The following recipients could not be reached.") == [""]


def test_recipients_listed_together_share_the_one_reply_quoted_away_from_them():
    from email import message_from_string

    from bounce_analyzer.formats.base import Bounce
    from bounce_analyzer.formats.generic import GenericText

    def read(notice: str) -> dict[str, str]:
        b = Bounce(msg=message_from_string("Subject: x\n\n"), subject="x", sender="postmaster@example.org",
                   report_type="", notice=notice, dsn_texts=[])
        return {f.address: f.diagnostic for f in GenericText().parse(b).findings}

    got = read("The following recipients could not be reached:\n\n  anna@example.net; bob@example.org\n\n"
               "Reason: 550 5.1.1 User unknown\n")
    assert set(got) == {"anna@example.net", "bob@example.org"}
    assert all("550 5.1.1 User unknown" in d for d in got.values())
    # two different replies quoted away from the addresses: neither is given to both
    got = read("The following recipients could not be reached:\n\n  anna@example.net\n  bob@example.org\n\n"
               "One server said: 550 5.1.1 User unknown\n\nThe other said: 452 4.2.2 Mailbox full\n")
    assert set(got) == {"anna@example.net", "bob@example.org"}
    assert not any("550" in d or "452" in d for d in got.values())


def test_an_html_mailto_link_shows_its_address_when_its_text_does_not():
    from bounce_analyzer.notice import _html_to_text

    assert _html_to_text('to <a href="mailto:luca@example.org?subject=Hi">Luca Bianchi</a>.') == (
        "to Luca Bianchi <luca@example.org>.")
    # a link whose text is the address is left as it is; %-escapes in the address are undone
    assert _html_to_text('<a href="mailto:luca@example.org">luca@example.org</a>') == "luca@example.org"
    assert _html_to_text("<a href='mailto:luca%40example.org'>here</a>") == "here <luca@example.org>"
    assert _html_to_text('<a href="https://example.org/">site</a>') == "site"


def test_an_address_broken_by_an_html_line_break_at_its_at_sign_is_one_address():
    from bounce_analyzer.notice import _html_to_text

    assert _html_to_text("&lt;maximilian.vonderheide<br>@example.net&gt;") == "<maximilian.vonderheide@example.net>"
    assert _html_to_text("alice@<br/>example.net") == "alice@example.net"
    assert _html_to_text("Name:<br>alice@example.net") == "Name:\nalice@example.net"  # not at the "@": a break


def test_a_recipient_named_with_a_display_name_in_a_sentence():
    notice = ("From: MAILER-DAEMON@relay.example.com\nSubject: Delivery failure\n\n"
              "Your message could not be delivered to Luca Bianchi <luca@example.org>.\n\n"
              "The server mx.example.org replied:\n550 5.1.1 The email account does not exist.\n")
    report = analyze(notice)
    assert [(r.address, r.status) for r in report.recipients] == [("luca@example.org", "5.1.1")]


def test_an_address_in_doubled_brackets_or_with_a_full_stop_after_it_on_an_address_line():
    notice = ("From: Mail Delivery System <MAILER-DAEMON@mail.example.com>\n"
              "Subject: Mail delivery failed: returning message to sender\n\n"
              "A message that you sent could not be delivered to one or more of its\n"
              "recipients. This is a permanent error. The following address(es) failed:\n\n"
              "  <<Hannah.Berg@Example.ORG>>\n    550 5.1.1 User unknown\n"
              "  jonas.wolf@example.net.\n    550 5.1.1 Unknown user\n")
    report = analyze(notice)
    assert sorted(r.address for r in report.recipients) == ["hannah.berg@example.org", "jonas.wolf@example.net"]


def test_an_address_wrapped_at_its_at_sign_is_one_address_again():
    from bounce_analyzer.notice import _rejoined

    assert _rejoined("reached: alice.long-name@\n  example.net\nnext") == "reached: alice.long-name@example.net\nnext"
    assert _rejoined("reached: alice.long-name\n@example.net") == "reached: alice.long-name@example.net"
    assert _rejoined("reached: alice.long-name@ example.net.") == "reached: alice.long-name@example.net."
    # a line that ends with an "@" not followed by a domain, and a line that starts with an "@" word, stay
    assert _rejoined("send to @\nthe desk") == "send to @\nthe desk"
    assert _rejoined("see below.\n@mention here") == "see below.\n@mention here"


def test_an_address_named_in_a_sentence_of_a_language_that_writes_to_after_it_or_against_it():
    # Korean, Japanese and Turkish put the word for "to" after the address; Chinese writes its words against the
    # address with no space, and an ideograph touching an address is no part of it
    notices = {
        "wei@example.org": "您发送给wei@example.org的邮件未能送达。\n\n"
                           "对方服务器 mx.example.org 返回: 550 5.1.1 用户不存在\n",
        "hanako@example.jp": "hanako@example.jp宛のメールは配信できませんでした。\n\n550 5.1.1 User unknown\n",
        "jisoo@example.org": "jisoo@example.org 님에게 보낸 메일이 전달되지 못했습니다.\n\n"
                             "550 5.1.1 존재하지 않는 사용자입니다\n",
        "ali@example.com.tr": "ali@example.com.tr adresine gönderilen ileti teslim edilemedi.\n\n"
                              "550 5.1.1 Kullanıcı bulunamadı\n",
    }
    for address, text in notices.items():
        raw = f"From: Mail Delivery System <MAILER-DAEMON@mail.example.net>\nSubject: Undelivered Mail\n\n{text}"
        report = analyze(raw)
        assert [(r.address, r.status) for r in report.recipients] == [(address, "5.1.1")], address


def test_an_address_stops_where_an_ideograph_kana_or_hangul_touches_it():
    from bounce_analyzer.parse.address import PATTERN

    assert PATTERN.search("您发送给wei@example.org的邮件").group(0) == "wei@example.org"
    assert PATTERN.search("jörg@example.de").group(0) == "jörg@example.de"  # letters of alphabetic scripts stay


def test_a_table_label_cell_and_its_value_cell_name_the_recipient():
    from bounce_analyzer.notice import _html_to_text

    html = ("<table><tr><td>Absender</td><td>ines@example.com</td></tr>"
            "<tr><td>Empfänger</td><td>Jonas Berg &lt;jonas@example.org&gt;</td></tr>"
            "<tr><td>Fehler</td><td>550 5.1.1 unbekannt</td></tr></table>")
    text = _html_to_text(html)
    assert "Empfänger\tJonas Berg <jonas@example.org>" in text
    # the sender's cell is no recipient's label; the recipient's name before the brackets is no part of it
    assert list(recipient_blocks(text)) == ["jonas@example.org"]
    # a definition list: the term is the label, its description the value
    text = _html_to_text("<dl><dt>Vastaanottaja</dt><dd>aino@example.net</dd><dt>Syy</dt><dd>tuntematon</dd></dl>")
    assert text.split("\n")[0] == "Vastaanottaja\taino@example.net"
    assert list(recipient_blocks(text)) == ["aino@example.net"]
    # a cell of words that names no recipient is no label ("Questions<TAB>help@...")
    assert recipient_blocks("Questions\thelp@example.net\n") == {}


def test_a_transcript_names_the_recipients_a_failure_reply_answered_at_rcpt_to():
    from bounce_analyzer.formats.generic import transcript_stages

    t = transcript_stages(">>> MAIL FROM:<ines@example.com>\n<<< 250 ok\n"
                          ">>> RCPT TO:<kept@example.org>\n<<< 250 2.1.5 ok\n"
                          ">>> RCPT TO:<lost@example.org>\n<<< 550-5.1.1 No such\n<<< 550 5.1.1 mailbox here\n"
                          ">>> RCPT TO:<later@example.org>\n<<< 452 4.2.2 full\n>>> DATA\n<<< 354 go on\n")
    assert t.refused == {"lost@example.org": "550-5.1.1 No such 550 5.1.1 mailbox here",
                         "later@example.org": "452 4.2.2 full"}
    assert t.stages == {"lost@example.org": "RCPT", "later@example.org": "RCPT"}
    notice = ("Subject: Delivery failure\nFrom: MAILER-DAEMON@mx.example.com\n\n"
              "Your message could not be delivered to all of its recipients.\n\n"
              ">>> RCPT TO:<kept@example.org>\n<<< 250 ok\n"
              ">>> RCPT TO:<lost@example.org>\n<<< 550 5.1.1 no such user\n")
    report = analyze(notice)
    assert [(r.address, r.reply_code, r.smtp_command) for r in report.recipients] == [("lost@example.org", 550, "RCPT")]


def test_a_sentence_names_the_recipient_in_parentheses_or_after_a_name():
    for text, want in (("Your message could not be delivered to the following recipient (hugo@example.org)",
                        "hugo@example.org"),
                       ("Não foi possível entregar sua mensagem para João Silva <joao@example.org>.",
                        "joao@example.org"),
                       ("Ujumbe wako kwa mpokeaji amina@example.org haukuweza kuwasilishwa.", "amina@example.org")):
        notice = f"Subject: Undeliverable\nFrom: postmaster@mx.example.com\n\n{text}\n"
        assert [r.address for r in analyze(notice).recipients] == [want], text


def test_a_recipient_label_makes_a_notice_of_one_sentence_whose_subject_and_from_say_nothing():
    letter = ("From: Agnes Hill <agnes.hill@example.com>\nTo: Shop Orders <orders@example.net>\nSubject: Order 5521\n\n"
              "Hello,\nmy order 5521 could not be delivered last week.\nCould you send it again?\n\nAgnes Hill\n")
    # a person's letter that names an address on a line of its own, or after an "E-mail address:" label, is none
    for signature in ("agnes@home.example\n", "E-mail address: agnes@home.example\n",
                      "Questions: orders@example.net\n"):
        assert analyze(letter + signature).kind.value == "not_bounce", signature
    notice = ("From: Service <service@example.net>\nTo: ines@example.com\nSubject: Information\n\n"
              "Bonjour,\n\nnous n'avons pas pu remettre votre message.\n\n"
              "Adresse du destinataire : jules@example.org\nAdresse de l'expéditeur : ines@example.com\n")
    report = analyze(notice)
    assert report.kind.value == "failure" and [r.address for r in report.recipients] == ["jules@example.org"]


def test_an_encoded_name_a_mailto_link_and_a_lists_address_around_the_recipient():
    head = "From: MAILER-DAEMON@mx.example.com\nTo: ana@example.com\nSubject: Undelivered Mail\n\n"
    # a name left in encoded words before the address in brackets
    notice = head + ("Delivery failed to the following recipients:\n\n"
                     "  =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <jorg@example.org>\n  550 5.1.1 unknown user\n")
    assert [r.address for r in analyze(notice).recipients] == ["jorg@example.org"]
    # the address written as a link in a sentence
    notice = head + "Your message to mailto:jorg@example.org failed: 550 5.1.1 no such user\n"
    assert [r.address for r in analyze(notice).recipients] == ["jorg@example.org"]
    # the list the original was posted to is no recipient of it; the member that failed is
    notice = ("From: team-bounces@lists.example.org\nTo: ana@example.com\nSubject: Undeliverable: [team] plan\n"
              "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\n"
              "Your message to team@lists.example.org could not be delivered to one member:\n"
              "  m1@example.net (550 5.1.1 unknown)\n\n--B\nContent-Type: message/rfc822\n\n"
              "From: ana@example.com\nTo: team@lists.example.org\nList-Post: <mailto:team@lists.example.org>\n"
              "Subject: plan\n\nhi\n--B--\n")
    assert [r.address for r in analyze(notice).recipients] == ["m1@example.net"]


def test_an_html_table_whose_first_cell_numbers_its_rows_lists_one_recipient_a_row():
    notice = ("From: MAILER-DAEMON@mx.example.com\nTo: ana@example.com\nSubject: Undelivered Mail\n"
              "Content-Type: text/html; charset=utf-8\n\n<p>Delivery failed for these recipients.</p><table>"
              "<tr><th>No.</th><th>Recipient</th><th>Result</th><th>Details</th></tr>"
              "<tr><td>1</td><td>x1@example.org</td><td>Failed</td><td>550 5.1.1 unknown</td></tr>"
              "<tr><td>2</td><td>x2@example.net</td><td>Delivered</td><td>250 2.0.0 ok</td></tr>"
              "<tr><td>3</td><td>x3@example.net</td><td>Failed</td><td>552 5.2.2 full</td></tr></table>")
    report = analyze(notice)
    assert [(r.address, r.action, r.reply_code) for r in report.recipients] == [
        ("x1@example.org", "failed", 550), ("x2@example.net", "delivered", 250), ("x3@example.net", "failed", 552)]


def test_your_message_to_an_address_makes_a_notice_of_one_sentence_whose_subject_and_from_say_nothing():
    head = "From: Info <info@example.net>\nTo: ana@example.com\nSubject: (no subject)\n\n"
    report = analyze(head + "Your message to beatriz@example.org could not be delivered: the address was not found.\n")
    assert report.kind.value == "failure" and [r.address for r in report.recipients] == ["beatriz@example.org"]
    # a person writes of their own message; nor is a contact address at the sender's domain a recipient
    for text in ("My message to beatriz@example.org could not be delivered, do you have her new address?\n",
                 "Your order could not be delivered. Your message to orders@example.net reaches us any time.\n"):
        assert analyze(head + text).kind.value == "not_bounce", text


def test_a_table_row_with_the_name_cell_before_the_address_cell_and_a_failure_reply():
    notice = ("From: MAILER-DAEMON@mx.example.com\nTo: ana@example.com\nSubject: Undelivered Mail\n"
              "Content-Type: text/html; charset=utf-8\n\n<p>Delivery failed.</p><table>"
              "<tr><th>Name</th><th>Address</th><th>Result</th><th>Details</th></tr>"
              "<tr><td>Jane Doe</td><td>jane@example.org</td><td>Failed</td><td>550 5.1.1 unknown</td></tr>"
              "<tr><td>Kim Lee</td><td>kim@example.net</td><td>Failed</td><td>552 Mailbox full</td></tr></table>"
              "<p>Questions?</p><table><tr><td>Help desk</td><td>help@example.com</td><td>555-0123</td></tr></table>")
    assert [(r.address, r.reply_code) for r in analyze(notice).recipients] == [
        ("jane@example.org", 550), ("kim@example.net", 552)]
    # a row with no failure reply, or a telephone number where the reply would be, names no recipient
    for row in ("Questions\thelp@example.net\n", "Help Desk\thelp@example.net\tcall 555 1234\n",
                "Help Desk\thelp@example.net\t555 1234\n"):
        assert recipient_blocks(row) == {}, row


def test_the_word_for_sent_to_after_the_address_in_more_languages():
    head = "From: MAILER-DAEMON@mx.example.com\nTo: ana@example.com\nSubject: Undeliverable\n\n"
    for sentence in ("priya@example.org को भेजा गया संदेश वितरित नहीं किया जा सका।",
                     "aziz@example.org manziliga yuborilgan xat yetkazilmadi.",
                     "elvin@example.org ünvanına göndərilən məktub çatdırılmadı."):
        assert [r.address for r in analyze(head + sentence + "\n").recipients] == [sentence.split()[0]], sentence


def test_pipelined_replies_answer_the_commands_in_their_order():
    from bounce_analyzer.formats.generic import transcript_stages

    log = ("C: MAIL FROM:<me@example.org>\nC: RCPT TO:<a@example.net>\nC: RCPT TO:<b@example.net>\n"
           "C: RCPT TO:<c@example.net>\nC: DATA\nS: 250 ok\nS: 250 ok\nS: 550-5.1.1 no such\nS: 550 5.1.1 mailbox\n"
           "S: 452 4.2.2 full\nS: 354 go on\n")
    t = transcript_stages(log)
    assert t.refused == {"b@example.net": "550-5.1.1 no such 550 5.1.1 mailbox", "c@example.net": "452 4.2.2 full"}
    assert t.stages == {"b@example.net": "RCPT", "c@example.net": "RCPT"}


def test_a_log_with_fewer_replies_than_commands_pairs_only_a_reply_that_names_its_address():
    from bounce_analyzer.formats.generic import transcript_stages

    log = (">>> RCPT TO:<a@example.net>\n>>> RCPT TO:<b@example.net>\n>>> RCPT TO:<c@example.net>\n"
           "<<< 550 5.1.1 <b@example.net> unknown\n<<< 550 5.1.1 unknown\n")
    assert transcript_stages(log).refused == {"b@example.net": "550 5.1.1 <b@example.net> unknown"}


def test_marks_count_only_before_a_command_or_a_reply_code():
    from bounce_analyzer.formats.generic import transcript_stages

    # a quoted copy's "Sent:" and "Received:" headers are no session
    text = ("Sent: Thursday, 3 December 2026 08:00\nReceived: from mx.example.net by relay.example.org\n"
            "To: a@example.net\nin: 550 5.1.1 unknown\n")
    assert transcript_stages(text).refused == {}
    assert transcript_stages("out: " + "RCPT " * 40000 + "\nin: " + "5" * 200000).refused == {}


def test_a_loose_word_for_exceeded_is_said_of_what_stands_nearest():
    note = ("From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail Returned to Sender\n\n"
            "Your message could not be delivered.\n\n<a@example.com>: {}\n")
    reason = {t: analyze(note.format(t).encode()).recipients[0].reason for t in (
        "Límite de envío excedido para su cuenta", "El buzón del destinatario ha excedido su cuota",
        "Размер сообщения превышен", "Квота почтового ящика превышена")}
    assert list(reason.values()) == ["rate_limited", "mailbox_full", "email_too_large", "mailbox_full"]
