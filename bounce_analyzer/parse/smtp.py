"""What SMTP said, read out of diagnostic text: reply code, enhanced status code, the SMTP stage, a retry time, and
the server that gave the answer. Only values present in the text are returned; nothing is inferred here."""

from __future__ import annotations

from dataclasses import dataclass

from . import bounded as rx

IP = r"(?:\d{1,3}(?:\.\d{1,3}){3}|(?:IPv6:)?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})"
HOST = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}(?:\.[A-Za-z0-9_-]{1,63}){0,10}\.?"

# 5.1.1 — class 2/4/5, no leading zeros; not a piece of an IP address or version number
_STATUS = rx.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)")
# 550 5.1.1 / 550-5.1.1 / 550 (followed by text)
_PAIR = rx.compile(r"(?<![\w.:/=+%])([245][0-5]\d)(?:[\s-]|\s*#)\s*[('\"]?([245]\.\d{1,3}\.\d{1,3})(?![\w]|\.\d)")
_REPLY = rx.compile(r"(?<![\w./=+%,-])(?<!\d:)([245][0-5]\d)(?=[\s-](?!\d{1,3}\.\d{1,3}\.\d{1,3}\.\d)|[:,][ :]|\s*$|"
                    r"\s*[\]'\")])"
                    r"(?!\s*(?:bytes|kb|mb|seconds?|secs?|minutes?|days?|hours?)\b)")


def _valid_status(cls: str, subject: str, detail: str) -> bool:
    return not ((len(subject) > 1 and subject[0] == "0") or (len(detail) > 1 and detail[0] == "0"))


def find_status(text: str, *, successes: bool = False) -> str | None:
    """The first RFC 3463 failure code (4/5) in the text; success codes (2) too when asked, for a Status field.
    (A lone 2.x.y in free text is more often a version number than a status.)"""
    if not text:
        return None
    found2 = None
    for m in rx.finditer(_STATUS, text):
        cls, subject, detail = m.groups()
        if not _valid_status(cls, subject, detail):
            continue
        if cls == "2":
            found2 = found2 or m.group(0)
            continue
        return str(m.group(0))
    return found2 if successes else None


def find_reply(text: str) -> int | None:
    """The SMTP reply code, preferring one that stands next to an enhanced code (``550 5.1.1``)."""
    if not text:
        return None
    m = rx.search(_PAIR, text)
    if m:
        return int(m.group(1))
    m = rx.search(_REPLY, text)
    return int(m.group(1)) if m else None


def find_pair(text: str, *, bare_reply: bool = True) -> tuple[int | None, str | None]:
    """Reply code and enhanced code as they stand together in the text, else each found on its own.
    ``bare_reply=False`` ignores a reply code that stands alone (in text an MTA wrote, 255 is an exit status)."""
    m = rx.search(_PAIR, text) if text else None
    if m:
        cls, subject, detail = m.group(2).split(".")
        if _valid_status(cls, subject, detail):
            return int(m.group(1)), m.group(2)
    return (find_reply(text) if bare_reply else None), find_status(text)


# ---- the SMTP stage ------------------------------------------------------------------------------------------------

_COMMAND_WORDS = {
    "mail from": "MAIL", "mail": "MAIL", "rcpt to": "RCPT", "rcpt": "RCPT", "data": "DATA",
    "end of data": "DATA-END", "end of message": "DATA-END", "helo": "HELO", "ehlo": "EHLO", "lhlo": "EHLO",
    "starttls": "STARTTLS", "auth": "AUTH", "initial connection": "CONNECT", "greeting": "CONNECT",
    "connect": "CONNECT", "banner": "CONNECT", "sending message body": "DATA-END", "xforward": "EHLO",
}
# Postfix: "(in reply to RCPT TO command)"; Exim: "after RCPT TO:<a@b>", "after end of data";
# Sendmail: ">>> RCPT To:<a@b>" then "<<< 550 ..."; qmail: "does not like recipient."
_COMMAND = rx.Gated(
    r"\b(?:in\s+reply\s+to|after|during|in\s+response\s+to|while\s+sending|response\s+to)\s+(?:the\s+)?"
    r"(?:pipelined\s+|initial\s+)?(mail\s+from|rcpt\s+to|end\s+of\s+data|end\s+of\s+message|data|helo|ehlo|lhlo|"
    r"starttls|auth|xforward|initial\s+connection|connection|greeting|banner|sending\s+message\s+body)\b", rx.I)
_TRANSCRIPT = rx.compile(r"^>>>\s*(MAIL|RCPT|DATA|HELO|EHLO|STARTTLS|AUTH|QUIT|\.)\b", rx.I | rx.M)
# the command named in upper case in any language: "en réponse à la commande RCPT TO", "nach RCPT TO:"
_BARE_COMMAND = rx.Gated(r"\b(RCPT\s+TO|MAIL\s+FROM|STARTTLS|EHLO|HELO)\b")
_QMAIL = rx.Gated(r"does not like (recipient|sender)|failed after I sent the message|"
                    r"(?:greeting|connection)\s+(?:failed|refused)|but greeting failed|Connection refused|"
                    r"connection timed out|refused\s+to\s+talk\s+to\s+me", rx.I)


# Yahoo's notices tag the quoted reply with the stage it answered: "... User unknown [RCPT_TO]", "... [BODY]"
_TAGGED_COMMAND = rx.Gated(r"\[(RCPT_TO|MAIL_FROM|BODY|DATA|CONNECT|EHLO|HELO)\]", gates=("_to]", "_from]", "body]",
                                                                                       "data]", "connect]", "helo]"))
_TAGS = {"RCPT_TO": "RCPT", "MAIL_FROM": "MAIL", "BODY": "DATA-END", "DATA": "DATA", "CONNECT": "CONNECT",
         "EHLO": "EHLO", "HELO": "HELO"}


# a notice that names the command under a heading of its own (m-FILTER: "-------SMTP command" then "DATA")
_HEADED_COMMAND = rx.Gated(r"^[ \t-]*SMTP[ \t]+command[ \t]*:?[ \t]*\n?[ \t]*"
                           r"(MAIL[ \t]+FROM|RCPT[ \t]+TO|DATA|HELO|EHLO|STARTTLS|AUTH)\b", rx.I | rx.M,
                           gates=("smtp command",))


def find_headed_command(text: str) -> str | None:
    m = _HEADED_COMMAND.search(text, text.lower()) if text else None
    return _COMMAND_WORDS.get(" ".join(m.group(1).lower().split())) if m else None


def find_command(text: str) -> str | None:
    if not text:
        return None
    low = text.lower()
    m = _COMMAND.search(text, low)
    if m:
        word = " ".join(m.group(1).lower().split())
        if word == "connection":
            word = "connect"
        return _COMMAND_WORDS.get(word)
    m = _TAGGED_COMMAND.search(text, low)
    if m:
        return _TAGS[m.group(1)]
    m = rx.search(_TRANSCRIPT, text)
    if m:
        word = m.group(1).upper()
        return "DATA-END" if word == "." else {"HELO": "HELO", "EHLO": "EHLO"}.get(word, word)
    m = _QMAIL.search(text, low)
    if m:
        s = m.group(0).lower()
        if "recipient" in s:
            return "RCPT"
        if "sender" in s:
            return "MAIL"
        if "sent the message" in s:
            return "DATA-END"
        return "CONNECT"
    m = _BARE_COMMAND.search(text, low)
    if m:
        return _COMMAND_WORDS.get(" ".join(m.group(1).lower().split()))
    return None


# ---- retry hints ---------------------------------------------------------------------------------------------------

_RETRY_CLOCK = rx.Gated(r"\b(?:try|retry|come\s+back|resend|wait)\w*\b[^.\n]{0,40}?\b(?:in|after|for)\s+"
                          r"(\d{1,2}):(\d{2}):(\d{2})\b", rx.I)
_RETRY_UNITS = rx.Gated(r"\b(?:try|retry|come\s+back|resend|wait)\w*\b[^.\n]{0,40}?\b(?:in|after|for)\s+"
                          r"(?:about\s+|at\s+least\s+)?(\d{1,6})\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b",
                          rx.I)
_UNIT = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60, "minute": 60,
         "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600}


def find_retry_after(text: str) -> int | None:
    """Seconds to wait, from "try again in 5 minutes" or "come back in 00:02:00"."""
    if not text:
        return None
    low = text.lower()
    m = _RETRY_CLOCK.search(text, low)
    if m:
        h, mi, s = (int(x) for x in m.groups())
        return h * 3600 + mi * 60 + s
    m = _RETRY_UNITS.search(text, low)
    if m:
        return int(m.group(1)) * _UNIT.get(m.group(2).lower(), 1)
    return None


# ---- which server answered -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerCue:
    role: str  # "remote" or "reporting"
    host: str | None
    ip: str | None
    evidence: str


# Each cue: (pattern, role, host group, ip group). The first cue that matches wins, so the most telling come first.
_REMOTE_CUES: list[tuple[rx.Gated, str, int, int]] = [
    # Postfix: host mx.example.net[192.0.2.1] said: 550 ...
    (rx.Gated(rf"\bhost\s+({HOST})\[({IP})\]\s+(?:said|refused\s+to\s+talk\s+to\s+me)", rx.I), "remote", 1, 2),
    # Exim: host mx.example.net [192.0.2.1]: 550 ...   /  SMTP error from remote mail server after RCPT TO
    (rx.Gated(rf"\bhost\s+({HOST})\s+\[({IP})\](?::\d+)?\s*:\s*[245]\d\d", rx.I), "remote", 1, 2),
    (rx.Gated(rf"SMTP error from remote (?:mail server|mailer)[^\n]{{0,200}}?host\s+({HOST})\s+\[({IP})\]", rx.I),
     "remote", 1, 2),
    # Exim 4.9x: the host on a line of its own above "SMTP error from remote mail server after RCPT TO:..."
    (rx.Gated(rf"^[ \t]*host[ \t]+({HOST})[ \t]+\[({IP})\](?::\d+)?[ \t]*$", rx.I | rx.M), "remote", 1, 2),
    # Sendmail: ... while talking to mx.example.net.:
    (rx.Gated(rf"\bwhile\s+talking\s+to\s+\[?({HOST}|{IP})\]?\s*:", rx.I), "remote", 1, 0),
    # Exchange: Remote Server at mx.example.net (192.0.2.1) returned '550 ...'
    (rx.Gated(rf"\bRemote\s+Server\s+at\s+({HOST})\s+\(({IP})\)\s+returned", rx.I), "remote", 1, 2),
    # qmail and others: remote host 192.0.2.32 said: 550 ... / the server mx.example.net replied: 550 ...
    (rx.Gated(rf"\b(?:remote\s+)?(?:host|server)\s+\[?({IP}|{HOST}\.[A-Za-z]{{2,}})\]?\s+"
              rf"(?:said|replied|responded|returned)\b", rx.I), "remote", 1, 0),
    # United Internet (GMX, WEB.DE, 1&1): "... for RCPT TO command, host: mx01.example.net (192.0.2.1) reason: 552 ..."
    (rx.Gated(rf"\bhost:[ \t]*({HOST})[ \t]*\(({IP})\)[ \t]*reason:", rx.I, gates=("reason:",)), "remote", 1, 2),
    # DragonFly: mx.example.net [192.0.2.1] did not like our RCPT TO:
    (rx.Gated(rf"^\s*({HOST})\s+\[({IP})\]\s+did\s+not\s+like\s+our", rx.I | rx.M), "remote", 1, 2),
    # qmail: Connected to 192.0.2.1 but sender was rejected. / 192.0.2.1 does not like recipient.
    (rx.Gated(rf"\bConnected\s+to\s+({IP})\s+but\b", rx.I), "remote", 0, 1),
    (rx.Gated(rf"(?<![\w.:])({IP})\s+does\s+not\s+like\s+(?:recipient|sender)", rx.I), "remote", 0, 1),
    # qmail: 192.0.2.1 failed after I sent the message. Remote host said: 550 ...
    (rx.Gated(rf"(?<![\w.:])({IP})\s+failed\s+after\s+I\s+sent\s+the\s+message", rx.I), "remote", 0, 1),
    # m-FILTER quotes the receiving server's reply under "-------server message"
    (rx.Gated(r"-{3,}[ \t]*server[ \t]+message\b", rx.I, gates=("server message",)), "remote", 0, 0),
    # the receiving server's own reply, quoted by the notice
    (rx.Gated(r"\bRemote\s+(?:Server|host)\s+(?:returned|said)\b|\bSMTP error from remote\b|"
                r"\bresponse from the remote server\b|\berror that the other server returned\b|"
                r"\b(?:remote|receiving|destination|recipient'?s?|other)\s+(?:mail\s+)?(?:server|system|host|mta)\s+"
                r"(?:has\s+)?(?:replied|said|responded|answered|returned|reported)\b", rx.I), "remote", 0, 0),
    # "Reply from mx.example.com: 550 ...", "response from host mx.example.com [192.0.2.1]"
    (rx.Gated(rf"\b(?:reply|response|answer)\s+(?:was\s+)?from\s+(?:the\s+)?(?:host\s+|server\s+)?\[?"
              rf"({HOST}\.[A-Za-z]{{2,}})\]?", rx.I, gates=("from",)), "remote", 1, 0),
    # Google appends its own tag to every reply it sends
    (rx.Gated(r"\s-\s(?:gsmtp|gcdp)\b"), "remote", 0, 0),
]
_LOCAL_CUES: list[tuple[rx.Gated, str, int, int]] = [
    # Exchange 2003 signs each recipient's paragraph with the server that wrote it: <mail.example.org #5.1.1>
    (rx.Gated(rf"<({HOST}\.[A-Za-z]{{2,}})\s+#[45]\.\d{{1,3}}\.\d{{1,3}}", rx.I, gates=("#",)), "reporting", 1, 0),
    # Exchange: the server that wrote the NDR itself, when no remote server is quoted
    (rx.Gated(rf"\bGenerating\s+server:\s*({HOST})", rx.I), "reporting", 1, 0),
    # ... and in the languages Exchange writes its NDRs in
    (rx.Gated(rf"(?:\bGenerierender\s+Server|\bServeur\s+de\s+g[ée]n[ée]ration|\bServidor\s+de\s+(?:generaci[óo]n|"
              rf"gera[çc][ãa]o)|\bServer\s+di\s+generazione|\bGenererende\s+server)\s*:\s*({HOST})", rx.I,
              gates=("server", "serveur", "servidor")), "reporting", 1, 0),
    # Postfix: connect to mx.example.net[192.0.2.1]:25: Connection timed out
    (rx.Gated(rf"\bconnect\s+to\s+({HOST})\[({IP})\](?::\d+)?:\s*(?:Connection|No route|Network)", rx.I),
     "reporting", 1, 2),
    (rx.Gated(r"\b(?:Host or domain name not found|Name service error|no mail exchanger|MX record[^\n]{0,40}"
                r"not found|unrouteable (?:mail )?domain|all relevant MX records point to non-existent hosts|"
                r"retry timeout exceeded|delivery time expired|message expired|could not be delivered within|"
                r"has not been delivered for|giving up on|all hosts? (?:for [^\n]{0,60})?(?:have )?been failing|"
                r"Connection (?:refused|timed out|reset)|timed out while|unable to (?:connect|establish)|"
                r"I wasn't able to establish an SMTP connection|Sorry, I couldn't find any host|"
                r"mail loops back to myself|too many hops|"
                # Sendmail's own DNS lookup: "Host unknown (Name server: mx.example.net: host not found)"
                r"Host unknown \(Name server:)", rx.I),
     "reporting", 0, 0),
]


# Last, a host with its address inside a recipient's block: the server the reply came from, whatever the language
# of the sentence around it ("serveur distant mx.example.net [192.0.2.1]", "servidor remoto ... [...]").
_WEAK_REMOTE_CUES: list[tuple[rx.Gated, str, int, int]] = [
    (rx.Gated(rf"\b({HOST}\.[A-Za-z]{{2,}})\.?\s*\[({IP})\]", gates=("[",)), "remote", 1, 2),
]


def _cue_from(m: rx.Match, role: str, hg: int, ig: int) -> ServerCue:
    host = m.group(hg).rstrip(".").lower() if hg and m.group(hg) else None
    ip = m.group(ig) if ig and m.group(ig) else None
    if host and ip is None and all(c.isdigit() or c == "." for c in host):
        ip = host
    if ip and not host and role == "remote":
        host = ip  # the notice names the server by its address alone
    return ServerCue(role, host, ip, " ".join(m.group(0).split())[:160])


def find_server(text: str) -> ServerCue | None:
    """The strongest cue in the text about which server produced the response."""
    if not text:
        return None
    low = text.lower()
    for pat, role, hg, ig in _REMOTE_CUES + _LOCAL_CUES + _WEAK_REMOTE_CUES:
        m = pat.search(text, low)
        if m:
            return _cue_from(m, role, hg, ig)
    return None


_HOST_IP = rx.compile(rf"\.?[ \t]*(?:\[({IP})\]|\(({IP})\))")


def ip_next_to(host: str, *texts: str) -> str | None:
    """The address written right after a host name ("mx.example.net[192.0.2.1]", "mx.example.net (192.0.2.1)"),
    in the first text that has one. An address elsewhere in a reply is often the sender's own, not the server's."""
    needle = host.lower()
    for text in texts:
        low = text.lower() if text else ""
        i = low.find(needle)
        while i >= 0:
            m = _HOST_IP.match(text, i + len(needle), timeout=rx.TIMEOUT.get())
            if m:
                return m.group(1) or m.group(2)
            i = low.find(needle, i + 1)
    return None
