"""What SMTP said, read out of diagnostic text: reply code, enhanced status code, the SMTP stage, a retry time, and
the server that gave the answer. Only values present in the text are returned; nothing is inferred here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from . import bounded as rx
from .literals import Finder

IP = r"(?:\d{1,3}(?:\.\d{1,3}){3}|(?:IPv6:)?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})"
HOST = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}(?:\.[A-Za-z0-9_-]{1,63}){0,10}\.?"

# 5.1.1 — class 2/4/5, no leading zeros; not a piece of an IP address or version number
_STATUS = rx.Needing(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)", need=r"[245]\.\d")
# 550 5.1.1 / 550-5.1.1 / 550 (followed by text)
_PAIR = rx.Needing(r"(?<![\w.:/=+%])([245][0-5]\d)(?:[\s-]|\s*#)\s*[('\"]?([245]\.\d{1,3}\.\d{1,3})(?![\w]|\.\d)",
                   need=r"[245]\.\d")
_REPLY = rx.Needing(r"(?<![\w./=+%,-])(?<!\d:)([245][0-5]\d)(?=[\s-](?!\d{1,3}\.\d{1,3}\.\d{1,3}\.\d)|[:,][\s:]|\s*$|"
                    r"\s*[\]'\")])"
                    r"(?!\s*(?:bytes|kb|mb|seconds?|secs?|minutes?|days?|hours?)\b)", need=r"[245][0-5]\d")


def _valid_status(cls: str, subject: str, detail: str) -> bool:
    return not ((len(subject) > 1 and subject[0] == "0") or (len(detail) > 1 and detail[0] == "0"))


# the readers and the classifier ask about the same diagnostic several times: the last answers are kept
@lru_cache(maxsize=256)
def find_status(text: str, *, successes: bool = False) -> str | None:
    """The first RFC 3463 failure code (4/5) in the text; success codes (2) too when asked, for a Status field.
    (A lone 2.x.y in free text is more often a version number than a status.)"""
    if not text:
        return None
    found2 = None
    for m in _STATUS.finditer(text):
        cls, subject, detail = m.groups()
        if not _valid_status(cls, subject, detail):
            continue
        if cls == "2":
            found2 = found2 or m.group(0)
            continue
        return str(m.group(0))
    return found2 if successes else None


@lru_cache(maxsize=256)
def find_reply(text: str) -> int | None:
    """The SMTP reply code, preferring one that stands next to an enhanced code (``550 5.1.1``)."""
    if not text:
        return None
    m = _PAIR.search(text)
    if m:
        return int(m.group(1))
    m = _REPLY.search(text)
    return int(m.group(1)) if m else None


@lru_cache(maxsize=256)
def find_pair(text: str, *, bare_reply: bool = True) -> tuple[int | None, str | None]:
    """Reply code and enhanced code as they stand together in the text, else each found on its own.
    ``bare_reply=False`` ignores a reply code that stands alone (in text an MTA wrote, 255 is an exit status)."""
    m = _PAIR.search(text) if text else None
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
_TRANSCRIPT = rx.Needing(r"^>>>\s*(MAIL|RCPT|DATA|HELO|EHLO|STARTTLS|AUTH|QUIT|\.)\b", rx.I | rx.M, need=">>>")
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
    m = _TRANSCRIPT.search(text)
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
    """What a server cue found: the role of the server it names, its host and IP, and the words that said so."""

    role: str  # "remote" or "reporting"
    host: str | None
    ip: str | None
    evidence: str

    @property
    def unnamed(self) -> bool:
        """Whether it says the receiving server answered without saying which ("Remote server replied: 550")."""
        return self.role == "remote" and not self.host

    def named_by(self, other: ServerCue) -> ServerCue:
        """This unnamed cue with the receiving server another cue names, both cues' words as evidence."""
        return ServerCue("remote", other.host, other.ip, f"{self.evidence} / {other.evidence}")


@dataclass(frozen=True, slots=True)
class ServerRule:
    """A cue that tells which server answered (``rules/servers.toml``): its pattern, the role it means and the
    pattern's groups that hold the server's name and address."""

    id: str
    role: str
    cue: rx.Gated
    host: int = 0
    ip: int = 0
    weak: bool = False  # tried after every other cue
    file: str = ""
    match_examples: tuple[tuple[str, str | None, str | None], ...] = ()  # text, host and IP it must read
    no_match_examples: tuple[tuple[str, str | None, str | None], ...] = ()


def _cue_from(m: rx.Match, role: str, hg: int, ig: int) -> ServerCue:
    host = m.group(hg).rstrip(".").lower() if hg and m.group(hg) else None
    ip = m.group(ig) if ig and m.group(ig) else None
    if host and ip is None and all(c.isdigit() or c == "." for c in host):
        ip = host
    if ip and not host and role == "remote":
        host = ip  # the notice names the server by its address alone
    # the evidence reaches back to a name or address read behind the match (a cue that matches its verb first)
    start = min([m.start()] + [m.start(g) for g in (hg, ig) if g and m.group(g)])
    return ServerCue(role, host, ip, " ".join(m.string[start:m.end()].split())[:160])


_NAMING_ONLY = ("writer", "receiver")  # cue roles that only name a host, never who answered


def find_server(text: str, cues: tuple[ServerRule, ...] | None = None, *, writers: bool = False) -> ServerCue | None:
    """The first cue (of ``cues``, else the shipped ones) that tells which server produced the response. A cue that
    says the receiving server answered without naming it is completed by the first later cue naming a receiving
    server, if any: cues are ordered by how telling their words are, not by whether they read a host. A "writer"
    cue only names the host that wrote the notice, a "receiver" cue the one it handed the message to; they are
    tried only when ``writers`` asks for them."""
    if not text:
        return None
    if cues is None:
        from ..classify.rules import default

        cues = default().servers
    low = text.lower()
    if len(cues) < 4:
        tried: Iterable[ServerRule] = cues
    else:
        index = _INDEXES.get(id(cues))
        if index is None or index[0] is not cues:
            if len(_INDEXES) >= 8:
                _INDEXES.clear()
            index = _INDEXES[id(cues)] = (cues, _CueIndex(cues))
        tried = index[1].worth_trying(low)
    found: ServerCue | None = None
    for c in tried:
        if (found is not None and (c.role != "remote" or not (c.host or c.ip))) or (
                c.role in _NAMING_ONLY and not writers):
            continue
        m = c.cue.search(text, low)
        if not m:
            continue
        cue = _cue_from(m, c.role, c.host, c.ip)
        if found is None:
            if not cue.unnamed:
                return cue
            found = cue  # "Remote server replied: 550 ...": the receiving server answered, but which one?
        elif cue.host:
            # a later (weaker) cue that names the server the first one only spoke of: "Remote server
            # (198.51.100.44) issued an error. ... Remote server replied: 550 ..."
            return found.named_by(cue)
    return found


class _CueIndex:
    """Which cues of a list a text can match, from the strings their first gates name (many cues share "host" or
    "server"), all found in one pass (``literals.Finder``), rather than testing each cue's gates in turn."""

    def __init__(self, cues: tuple[ServerRule, ...]) -> None:
        self.cues = cues
        self.needing: dict[str, list[int]] = {}  # a string → the cues it opens the first gate of
        self.always: list[int] = []  # cues with no gate
        for n, c in enumerate(cues):
            if not c.cue.gates:
                self.always.append(n)
                continue
            for s in sorted(c.cue.gates[0]):
                self.needing.setdefault(s, []).append(n)
        self.finder = Finder(self.needing)

    def worth_trying(self, low: str) -> list[ServerRule]:
        """The cues whose first gate the text passes, in their order (``Gated.search`` tests the others)."""
        found = set(self.always)
        for s in self.finder.present(low):
            found.update(self.needing[s])
        cues = self.cues
        return [cues[n] for n in sorted(found)]


_INDEXES: dict[int, tuple[tuple[ServerRule, ...], _CueIndex]] = {}  # by the identity of the list of cues


_HOST_IP = rx.compile(rf"\.?[ \t]*(?:\[({IP})\]|\(({IP})\))")


def ip_next_to(host: str, *texts: str) -> str | None:
    """The address written right after a host name ("mx.example.net[192.0.2.1]", "mx.example.net (192.0.2.1)"),
    in the first text that has one. An address elsewhere in a reply is often the sender's own, not the server's."""
    needle = host.lower()
    for text in texts:
        low = text.lower() if text else ""
        i = low.find(needle)
        while i >= 0:
            m = rx.match(_HOST_IP, text, i + len(needle))
            if m:
                return m.group(1) or m.group(2)
            i = low.find(needle, i + 1)
    return None
