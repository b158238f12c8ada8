"""Reading codes, the SMTP stage, retry hints and the answering server out of diagnostic text."""

from __future__ import annotations

import pytest

from bounce_analyzer.parse import smtp


@pytest.mark.parametrize("text,reply,status", [
    ("550 5.1.1 <a@example.net>: Recipient address rejected", 550, "5.1.1"),
    ("550-5.1.1 The email account that you tried to reach does not exist", 550, "5.1.1"),
    ("host mx.example.net[192.0.2.1] said: 452 4.2.2 Mailbox full", 452, "4.2.2"),
    ("#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", 550, "5.1.1"),
    ("Remote Server returned '550 5.7.1 Access denied'", 550, "5.7.1"),
    ("554 delivery error: dd This mailbox is disabled (554.30)", 554, None),
    ("550: : User unknown", 550, None),
    ("Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)", None, "4.4.1"),
    ("connect to 192.0.2.55[192.0.2.55]:25: Connection timed out", None, None),
    ("Postfix 2.10.1 queue 550x", None, None),
    ("message size 5242880 exceeds the limit of 26214400 bytes", None, None),
    ("450 5.2.3 message too big", 450, "5.2.3"),
    ("5.01.1 looks like a code but has a leading zero", None, None),
    ("Error, ERROR_CODE :421,\n    ERROR_CODE :, Host not reachable.", 421, None),  # a comma, then the line wraps
    ("Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1", 550, "5.1.1"),
    ("at 10:550, more", None, None),  # a code written after a time's colon is not one
])
def test_codes(text, reply, status):
    assert smtp.find_pair(text) == (reply, status)


@pytest.mark.parametrize("text,command", [
    ("said: 550 5.1.1 unknown (in reply to RCPT TO command)", "RCPT"),
    ("(in reply to end of DATA command)", "DATA-END"),
    ("SMTP error from remote mail server after MAIL FROM:<a@example.org> SIZE=1234:", "MAIL"),
    ("SMTP error from remote mail server after pipelined RCPT TO:<a@example.org>:", "RCPT"),
    ("... while talking to mx.example.net.:\n>>> DATA\n<<< 554 5.7.1 spam", "DATA"),
    ("192.0.2.1 does not like recipient.", "RCPT"),
    ("host mx.example.net[192.0.2.9] refused\n    to talk to me: 421 4.7.0 try later", "CONNECT"),
    ("nothing about commands here", None),
    ("421 4.4.2 dropped during connection", "CONNECT"),
    pytest.param("... while talking to mx.example.net.:\n>>> .\n<<< 554 5.7.1 rejected", "DATA-END",
                 marks=pytest.mark.xfail(strict=True, reason="the transcript pattern wants a word boundary after "
                                                            "'.', which a line end never gives")),
    ("... while talking to mx.example.net.:\n>>> EHLO out.example.com\n<<< 554 go away", "EHLO"),
    (">>> data\n<<< 554 no thanks", "DATA"),
    ("192.0.2.77 does not like sender.", "MAIL"),
    ("192.0.2.77 failed after I sent the message.", "DATA-END"),
])
def test_commands(text, command):
    assert smtp.find_command(text) == command


@pytest.mark.parametrize("text,seconds", [
    ("450 4.7.1 Greylisted, please try again in 5 minutes", 300),
    ("421 Too many connections, come back in 00:02:00", 120),
    ("451 Temporary failure, retry after 90 seconds", 90),
    ("452 Try again later", None),
    # every unit word, long and short, singular and plural
    ("try again in 1 second", 1), ("try again in 30 seconds", 30), ("try again in 30 sec", 30),
    ("try again in 30 secs", 30), ("try again in 30s", 30), ("try again in 30 s", 30),
    ("try again in 1 minute", 60), ("try again in 2 minutes", 120), ("try again in 2 min", 120),
    ("try again in 2 mins", 120), ("try again in 2m", 120),
    ("try again in 1 hour", 3600), ("try again in 2 hours", 7200), ("try again in 2 hr", 7200),
    ("try again in 2 hrs", 7200), ("try again in 2h", 7200),
    # a clock: hours, minutes and seconds all count
    ("come back in 01:30:15", 5415), ("retry in 0:00:45", 45), ("try again after 12:00:00", 43200),
    # every verb and preposition, with "about" and "at least"
    ("421 4.7.0 Please retry in 15 minutes", 900), ("resend in 10 minutes", 600), ("wait for 20 seconds", 20),
    ("Try again after about 3 minutes", 180), ("please retry after at least 6 hours", 21600),
    ("451 4.7.1 Service unavailable, retrying ... try again in 5 minutes", 300),
    ("TRY AGAIN IN 5 MINUTES", 300),
    # a duration with no word asking to wait, or a unit that is no time, is no retry time
    ("mailbox over quota for 5 minutes", None), ("message is 30 mb, try again in 2 mb pieces", None),
    ("try again. The next queue run is in 5 minutes", None), ("", None),
])
def test_retry_after(text, seconds):
    assert smtp.find_retry_after(text) == seconds


@pytest.mark.parametrize(("text", "role", "host", "ip"), [
    ("host mx.example.net[192.0.2.1] said: 550 5.1.1 no", "remote", "mx.example.net", "192.0.2.1"),
    ("SMTP error from remote mail server after RCPT TO:<a@b.example>:\n    host mx.b.example [192.0.2.2]: 550 no",
     "remote", "mx.b.example", "192.0.2.2"),
    ("----- Transcript -----\n... while talking to mail.example.org.:\n<<< 550 no", "remote", "mail.example.org", None),
    # nobody answered: the cue names no server, the reporting MTA is the responder
    ("connect to mx.example.net[192.0.2.9]:25: Connection timed out", "reporting", None, None),
    ("Host or domain name not found. Name service error for name=x.example type=MX", "reporting", None, None),
    ("most progress was RCPT TO response; remote host 192.0.2.32 said: 550 Unknown user", "remote", "192.0.2.32",
     "192.0.2.32"),
    ("the server mx.example.org replied: 552 mailbox full", "remote", "mx.example.org", None),
    ("550-5.1.1 The email account does not exist. - gsmtp", "remote", None, None),
    ("From: <a@example.org> RCPT: <b@example.net> 192.0.2.25 does not like recipient.\n"
     "Remote host said: 550 5.1.1 <b@example.net>: User unknown", "remote", "192.0.2.25", "192.0.2.25"),
    ("198.51.100.7 failed after I sent the message.\nRemote host said: 554 5.7.1 rejected", "remote", "198.51.100.7",
     "198.51.100.7"),
    ("550 5.1.2 <b@example.net>... Host unknown (Name server: mx.example.net: host not found)", "reporting", None,
     None),
    ("SMTP error from remote server for RCPT TO command, host: mx01.example.net (198.51.100.44) reason: 552 5.2.2 "
     "Mailbox quota exceeded", "remote", "mx01.example.net", "198.51.100.44"),
    # a cue that says the remote server answered but not which is completed by a weaker one that names it, before
    # or after it
    ("Remote server (192.0.2.44) issued an error.\nRemote server replied: 550 No such user", "remote", "192.0.2.44",
     "192.0.2.44"),
    ("Remote Server returned '550 5.1.1 unknown'\nRemote system: dns;mx.example.net", "remote", "mx.example.net",
     None),
    # ... but not by a cue of the reporting MTA's own
    ("Remote host said: 550 no such user\nGenerating server: mail.example.org", "remote", None, None),
])
def test_server_cues(text, role, host, ip):
    cue = smtp.find_server(text)
    assert cue is not None and (cue.role, cue.host, cue.ip) == (role, host, ip)


def test_the_cue_index_tries_the_cues_a_loop_over_all_of_them_would_find_first():
    # the index only skips cues whose gate strings are missing: on every line of every sample, and on a text two
    # cues match (the earlier one wins), it answers as trying each cue in turn does
    from pathlib import Path

    from bounce_analyzer.classify.rules import default

    cues = default().servers

    def in_turn(text: str) -> smtp.ServerCue | None:
        found = [c for c in (smtp.find_server(text, (cue,)) for cue in cues) if c is not None]
        if not found or found[0].role != "remote" or found[0].host:
            return found[0] if found else None
        # a remote cue naming no server is completed by the first later one that names it
        named = next((c for c in found[1:] if c.role == "remote" and c.host), None)
        return found[0] if named is None else smtp.ServerCue(
            "remote", named.host, named.ip, f"{found[0].evidence} / {named.evidence}")

    texts = ["Remote host said: 550 no\nhost mx.example.net[192.0.2.1] said: 550 no such user",
             "mx.example.net [192.0.2.1] refused: 554 blocked"]
    for path in sorted(Path(__file__).resolve().parent.parent.glob("samples/*/*.eml")):
        texts += path.read_text("utf-8", "replace").split("\n\n")[:40]
    found = 0
    for text in texts:
        cue = smtp.find_server(text, cues)
        assert cue == in_turn(text), text
        found += cue is not None
    assert found > 100  # the texts do name servers


def test_no_server_cue_in_plain_words():
    assert smtp.find_server("a sentence with nothing in it") is None


def test_transcript_names_the_server_for_the_recipients_below_it():
    from bounce_analyzer.formats.generic import transcript_stages

    t = transcript_stages("... while talking to mx1.example.net.:\n>>> RCPT To:<a@example.net>\n"
                          "<<< 550 5.1.1 <a@example.net>... User unknown\n"
                          "... while talking to [192.0.2.8]:\n<<< 421 Service not available\n"
                          "<b@example.org>... Deferred: 421 Service not available\n")
    assert t.stages == {"a@example.net": "RCPT"}
    assert t.hosts == {"a@example.net": "mx1.example.net", "b@example.org": "192.0.2.8"}
    assert t.first_host == "mx1.example.net"


@pytest.mark.parametrize("line", ["Generating server: EXCH2.corp.example.nl",
                                  "Genererende server: EXCH2.corp.example.nl",
                                  "Generierender Server: EXCH2.corp.example.nl",
                                  "Servidor de geração: EXCH2.corp.example.nl"])
def test_the_server_that_wrote_an_exchange_ndr_in_any_language(line):
    cue = smtp.find_server(line)
    assert cue is not None and (cue.role, cue.host) == ("reporting", "exch2.corp.example.nl")


def test_the_servers_ip_is_the_one_next_to_its_name():
    reply = "421-4.7.27 Your email has been rate limited with ip: [192.0.2.88] - gsmtp"
    context = "host gmail-smtp-in.l.google.example[198.51.100.27] said: " + reply
    assert smtp.ip_next_to("gmail-smtp-in.l.google.example", reply, context) == "198.51.100.27"
    assert smtp.ip_next_to("mx.example.net", "Remote-MTA: dns; mx.example.net (203.0.113.9)") == "203.0.113.9"
    assert smtp.ip_next_to("mx.example.net", "550 blocked: client [192.0.2.4] is listed") is None


def test_yahoo_stage_tags():
    assert smtp.find_command("550 5.1.1 <a@example.net>: User unknown [RCPT_TO]") == "RCPT"
    assert smtp.find_command("554 5.7.9 Message not accepted for policy reasons [BODY]") == "DATA-END"


_JAMES = """From: post_master@mms.example.net
To: carol@example.com
Subject: Re: Lunch
Content-Type: text/plain; charset=us-ascii

Error: {summary}

Error message below:
{error}

Message details:
  Subject: Lunch
  MAIL FROM: carol@example.com
  RCPT TO: 5550100123@mms.example.net
"""


@pytest.mark.parametrize("summary,error,seconds", [
    # the retry time is in the notice's own words around the reply, not in the reply itself
    ("Mailbox busy, try again in 10 minutes", "451 Requested action aborted: local error", 600),
    ("Mailbox busy", "451 Requested action aborted, try again in 00:10:00", 600),
    ("Mailbox busy", "451 Requested action aborted: local error", None),
])
def test_retry_time_is_read_from_the_diagnostic_and_the_text_around_it(summary, error, seconds):
    from bounce_analyzer import analyze

    report = analyze(_JAMES.format(summary=summary, error=error).encode())
    assert report.format == "james"
    [r] = report.recipients
    assert (r.address, r.reply_code, r.retry_after) == ("5550100123@mms.example.net", 451, seconds)


@pytest.mark.parametrize("host,text,ip", [
    ("mx.example.net", "mx.example.net[192.0.2.1] said: 550 no", "192.0.2.1"),  # the name at the very start
    ("mx.example.net", "mx.example.net[192.0.2.1] said: 550 see mx.example.net", "192.0.2.1"),  # the first one named
    ("mx.example.net", "mx.example.net said no; mx.example.net [192.0.2.2]; ask mx.example.net", "192.0.2.2"),
    ("mx.example.net", "MX.Example.NET.(192.0.2.3)", "192.0.2.3"),
    ("mx.example.net", "mx.example.net [2001:db8::25]", "2001:db8::25"),
    ("mx.example.net", "", None),
    ("mx.example.net", "mx.example.net said 550 [192.0.2.4]", None),
])
def test_ip_next_to(host, text, ip):
    assert smtp.ip_next_to(host, text) == ip


def test_a_server_cue_keeps_the_hosts_letters_and_its_words_folded_and_cut():
    cue = smtp.find_server("host MAIL.EXAMPLE.BOX[192.0.2.1]\n    said: 550 no")
    assert cue is not None
    assert (cue.role, cue.host, cue.ip, cue.evidence) == ("remote", "mail.example.box", "192.0.2.1",
                                                          "host MAIL.EXAMPLE.BOX[192.0.2.1] said")
    long_host = ".".join(["a" * 60, "b" * 60, "c" * 60]) + ".example.net"
    cue = smtp.find_server(f"host {long_host}[192.0.2.1] said: 550 no")
    assert cue is not None and cue.host == long_host and cue.evidence == f"host {long_host}"[:160]


def test_the_evidence_of_a_cue_that_reads_the_name_behind_its_verb_starts_at_the_name():
    cue = smtp.find_server("Last error: MX.example.net said\n 421 4.7.0 try again later")
    assert cue is not None
    assert (cue.host, cue.evidence) == ("mx.example.net", "MX.example.net said 421")
    cue = smtp.find_server("Servidor remoto mx.example.net (192.0.2.7) respondió 550 no")
    assert cue is not None and (cue.host, cue.ip) == ("mx.example.net", "192.0.2.7")
