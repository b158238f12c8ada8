"""From what a notice says about one recipient to what it means: codes, responder, reason, verdict, hint.

The decision is made by the rules (``rules.py``): provider and text rules, then enhanced codes, then reply codes,
then the subject and class defaults, highest priority first. Every value that is inferred carries an ``Evidence``
entry naming the rule or table that decided it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..formats.base import Finding
from ..model import Evidence, Recipient, Responder, Role
from ..parse import bounded as rx
from ..parse import smtp
from ..parse.dsn import status_comment
from .rules import PRIORITY_CUE, CodeEntry, Gateway, Reason, Rule, RuleSet

NON_FAILURE_ACTIONS = frozenset({"delivered", "relayed", "expanded"})
LOCAL_DIAGNOSTIC_TYPES = ("x-", "unix", "local")
GENERIC_DETAIL = ".0.0"
MAX_DIAGNOSTIC = 2000  # characters of a recipient's diagnostic reported (the analyzer says when it cuts one)
# characters of a recipient's diagnostic, and of the other text about it, read to classify it (the analyzer says when
# it cuts one): a server's reply is a few lines, and reading a megabyte of text in its place takes seconds
MAX_READ = 20_000


@dataclass(frozen=True, slots=True)
class Decision:
    """The rule or code that decided a recipient's reason, with what it says of the verdict, hint and fault."""

    reason: str
    rule: str
    priority: int
    evidence: Evidence
    verdict: str | None = None
    hint: str | None = None
    fault: str | None = None  # a rule's own fault, when its wording decides whose side the failure is on


def _excerpt(text: str, needle: str, width: int = 160) -> str:
    low = text.lower()
    i = low.find(needle.lower()) if needle else -1
    if i < 0:
        return " ".join(text.split())[:width]
    start = max(0, i - 40)
    return " ".join(text[start:start + width].split())


def pick_codes(f: Finding) -> tuple[str | None, int | None, list[Evidence]]:
    """The enhanced status code and reply code the message gives for this recipient, and where each came from."""
    ev: list[Evidence] = []
    field_status = smtp.find_status(f.status, successes=True) if f.status else None
    # a local program's exit status ("X-Unix; 255") is not an SMTP reply
    exit_status = f.diagnostic_type.lower().startswith(LOCAL_DIAGNOSTIC_TYPES) and f.diagnostic.strip().isdigit()
    reply, diag_status = smtp.find_pair(f.diagnostic, bare_reply=not exit_status)
    status = field_status
    if field_status:
        ev.append(Evidence("status", "dsn:Status", f.status or ""))
    # the server's own words are more telling than the reporting MTA's summary of them, unless they are vaguer
    # (X.0.0) or of another class (then the Status field says what the reporting MTA made of them)
    if diag_status and diag_status[0] in "45" and diag_status != status and not (
            status and (diag_status.endswith(GENERIC_DETAIL) or diag_status[0] != status[0])):
        status = diag_status
        ev.append(Evidence("status", "diagnostic", diag_status))
    if field_status and diag_status and diag_status[0] in "45" and field_status != diag_status \
            and not field_status.endswith(GENERIC_DETAIL) and not diag_status.endswith(GENERIC_DETAIL):
        # two specific codes that disagree: say so, with the one kept
        ev.append(Evidence("status", "conflict", f"the Status field says {field_status}, the server's reply "
                                                 f"{diag_status}; {status} is kept"))
    if reply is not None:
        ev.append(Evidence("reply_code", "diagnostic", str(reply)))
    return status, reply, ev


def responder_for(f: Finding, reply: int | None, reporting_mta: str | None, dsn_gateway: str | None,
                  rules: RuleSet, notice: str = "") -> Responder:
    cue = smtp.find_server(f.diagnostic, rules.servers)
    if f.context and (cue is None or cue.unnamed):
        # the notice's own words about the recipient, for a server the diagnostic does not name
        named = smtp.find_server(f.context, rules.servers)
        if cue is None:
            cue = named
        elif named is not None and named.role == "remote" and named.host:
            cue = cue.named_by(named)
    if notice and reply is not None and not f.remote_mta and (cue is None or cue.unnamed):
        # a reply that names no server, quoted again in a transcript of the session in which it was given, away
        # from the recipient's own lines ("... while talking to mx.example.net.: >>> DATA <<< 552 ...")
        named = _server_of_reply(f, notice, rules)
        if named is not None:
            cue = named if cue is None else cue.named_by(named)
    if cue is None and notice and f.remote_mta and _bare_domain(f.remote_mta, f.address):
        # a Remote-MTA field that names only the recipient's domain: the notice's lines about the recipient tell
        # whether a server there answered ("550 5.1.2 <a@example.net>... Host unknown (Name server: ...)")
        cue = _said_of(f.address, notice, rules)
    dtype = f.diagnostic_type.lower()
    if cue is not None and cue.role == "remote":
        host = cue.host or f.remote_mta
        ip = cue.ip or (smtp.ip_next_to(host, f.diagnostic, f.context) if host else None) or (
            f.remote_ip if host and host == f.remote_mta else None)
        role, evidence = Role.REMOTE, cue.evidence
    elif f.remote_mta and (dtype == "smtp" or reply is not None) and (cue is None or (
            reply is not None and not _same_org(f.remote_mta, reporting_mta)
            and not _bare_domain(f.remote_mta, f.address))):
        # a Remote-MTA field that names another organisation's server, with its reply quoted, tells more than
        # words the reporting MTA uses of its own refusals (Exchange's "RESOLVER.ADR..." from a remote Exchange);
        # one that names only the recipient's domain is where the MTA meant to go, and its own words that it gave
        # up ("Host unknown (Name server: ...)") say that no server there answered
        host, ip = f.remote_mta, smtp.ip_next_to(f.remote_mta, f.diagnostic, f.context) or f.remote_ip
        role, evidence = Role.REMOTE, f"Remote-MTA: {f.remote_mta}"
    elif cue is not None:
        host, ip = cue.host or _generating_server(notice, rules) or reporting_mta, cue.ip
        role, evidence = Role.REPORTING, cue.evidence
    elif dtype.startswith(LOCAL_DIAGNOSTIC_TYPES):
        host, ip = reporting_mta, None
        role, evidence = Role.REPORTING, f"Diagnostic-Code type {f.diagnostic_type}"
    elif reply is None:
        host, ip = reporting_mta, None
        role, evidence = Role.REPORTING, "no SMTP reply is quoted: the reporting MTA gave up by itself"
    elif _same_org(reporting_mta, f.address.rpartition("@")[2]):
        host, ip = reporting_mta, None
        role, evidence = Role.REPORTING, f"{reporting_mta} belongs to the recipient's own domain and wrote the reply"
    elif dtype == "smtp":
        host, ip = None, None
        role, evidence = Role.REMOTE, "the diagnostic is an SMTP reply from a server the notice does not name"
    else:
        # a notice that quotes a reply passes on what a server answered when it tried to deliver: the receiving one,
        # since the reporting MTA's own refusals are caught above (its own words, or the recipient's own domain)
        host, ip = None, None
        role, evidence = Role.REMOTE, "an SMTP reply quoted without the server's name: the receiving server's"
    if role is Role.REMOTE and ((host is None and not f.remote_mta) or (host and ip is None)) and notice:
        # a reply whose server nothing about the recipient names (or not its address): the server the notice says it
        # handed the message to ("Receiving server: mx.example.net (192.0.2.1)", Exchange's diagnostic information)
        named = _reading_of(notice, rules).receiver()
        if named is not None and named.host and host is None:
            host, ip, evidence = named.host, named.ip, f"{evidence} / {named.evidence}"
        elif named is not None and host == named.host:
            ip = named.ip
    if role is Role.REMOTE and host and notice and _is_own(host, reporting_mta, notice, rules):
        if _inside_reply(host, f.diagnostic):
            # the notice's writer named inside the reply is the client the server refused ("554 5.7.1
            # <out.example.com[192.0.2.1]>: Client host rejected"), not the server that gave it
            host = f.remote_mta if f.remote_mta and not _is_own(f.remote_mta, reporting_mta, notice, rules) else None
            ip = f.remote_ip if host else None
            evidence = f"{evidence}: the reporting MTA's own name inside the reply (the client refused)"
        else:
            # the server named as the one that answered is the one that wrote the notice: its reply is its own
            # ("Server at EXCH01.corp.example.com returned '400 4.4.7 Message delayed'", its own queue)
            role, evidence = Role.REPORTING, f"{host} wrote the notice: {evidence}"
    gw = rules.gateway_for(host) or rules.gateway_for(dsn_gateway)
    if gw is not None:
        role, evidence = Role.GATEWAY, f"{host or dsn_gateway} is a {gw.name} filtering gateway"
    elif role is Role.REMOTE and (said := rules.gateway_replied(f.diagnostic.lower())) is not None:
        # a reply in a filtering product's own words (its documentation's address, the name it signs refusals
        # with): the server that gave it is that product, whatever its host is called
        gw, words = said
        role, evidence = Role.GATEWAY, f"{evidence}: the reply carries {gw.name}'s own words \"{words}\""
    elif notice and (role is Role.REPORTING or host is None):
        # a notice a filtering product signed, naming no other server: the filter refused the message itself
        gw = _reading_of(notice, rules).signed()
        if gw is not None:
            role, evidence = Role.GATEWAY, f"the notice was written by {gw.name}, a content filter"
            host = host or reporting_mta
    return Responder(role=role, host=host, ip=ip, evidence=evidence)


_REPLY_START = rx.compile(r"(?<![\w.])[245]\d\d[ -]")
_UNREAD = object()


class _NoticeReading:
    """What is read of one notice for the responders of its recipients, kept while they are classified (a notice
    may list thousands): its first 8000 characters with white space made single, the cues that are not weak (a host
    next to an address is often the client's), the cue found in each window of it already looked at, and the
    filtering product that signed it."""

    def __init__(self, notice: str, rules: RuleSet) -> None:
        self.notice, self.rules = notice, rules
        self.seen: dict[tuple[str, bool], smtp.ServerCue | None] = {}
        self.asked = self.found = 0  # recipients asked about, and those whose server was found
        self._signed: Gateway | object | None = _UNREAD
        self._own: str | object | None = _UNREAD
        self._receiver: smtp.ServerCue | object | None = _UNREAD

    @property
    def strong(self) -> tuple[smtp.ServerRule, ...]:
        return _cues_of(self.rules).strong

    def signed(self) -> Gateway | None:
        """The filtering product whose signature the notice's words carry, if any."""
        if self._signed is _UNREAD:
            self._signed = self.rules.gateway_signed(" ".join(self.notice[:4000].lower().split()))
        return self._signed  # type: ignore[return-value]

    def own_host(self) -> str | None:
        """The host the notice names as the one that generated it, if any."""
        if self._own is _UNREAD:
            self._own = _generating_server(self.notice, self.rules)
        return self._own  # type: ignore[return-value]

    def receiver(self) -> smtp.ServerCue | None:
        """The server the notice names as the one it handed the message to, if any."""
        if self._receiver is _UNREAD:
            cues = _cues_of(self.rules).receivers
            self._receiver = smtp.find_server(self.notice[:4000], cues, writers=True) if cues else None
        return self._receiver  # type: ignore[return-value]

    def server(self, window: str, strong: bool) -> smtp.ServerCue | None:
        key = (window, strong)
        if key not in self.seen:
            if len(self.seen) > 256:
                self.seen.clear()
            self.seen[key] = smtp.find_server(window, self.strong if strong else self.rules.servers)
        return self.seen[key]


_last_reading: _NoticeReading | None = None


@dataclass(frozen=True)
class _Cues:
    """Lists of a rule set's server cues, made once for it (``find_server`` indexes a list by its identity)."""

    rules: RuleSet
    strong: tuple[smtp.ServerRule, ...]  # the cues that are not weak
    naming_writer: tuple[smtp.ServerRule, ...]  # reporting and writer cues that read a host
    receivers: tuple[smtp.ServerRule, ...]  # cues naming the server the notice's writer handed the message to


_cues: dict[int, _Cues] = {}


def _cues_of(rules: RuleSet) -> _Cues:
    found = _cues.get(id(rules))
    if found is None or found.rules is not rules:
        if len(_cues) >= 8:
            _cues.clear()
        found = _cues[id(rules)] = _Cues(
            rules, tuple(c for c in rules.servers if not c.weak),
            tuple(c for c in rules.servers if c.role in ("reporting", "writer") and c.host),
            tuple(c for c in rules.servers if c.role == "receiver"))
    return found


def _reading_of(notice: str, rules: RuleSet) -> _NoticeReading:
    global _last_reading
    last = _last_reading
    if last is None or last.notice is not notice or last.rules is not rules:
        last = _last_reading = _NoticeReading(notice, rules)
    return last


_WINDOW = 300  # how far before the quoted reply the server that gave it is looked for
_TRIES = 32  # recipients of one notice looked for before giving up when none has been found


def _server_of_reply(f: Finding, notice: str, rules: RuleSet) -> smtp.ServerCue | None:
    """The receiving server a notice names just before it quotes this recipient's reply again (a transcript of
    the session: "... while talking to mx.example.net.: >>> DATA <<< 552-5.7.0 ..."), with no other recipient's
    address in between; a weak cue (a host next to an address) only after the recipient's own address, since
    before it such a host is often the client's. The reply is matched by its first 40 characters, white space made
    single, at its first four places in the notice."""
    flat = " ".join(f.diagnostic.split())
    m = rx.search(_REPLY_START, flat)
    words = flat[m.start():m.start() + 40] if m else ""
    if len(words) < 16:
        return None
    reading = _reading_of(notice, rules)
    if reading.asked >= _TRIES and not reading.found:
        return None  # a long list whose first replies no server is named for: a list of replies, no transcript
    reading.asked += 1
    own = f.address.lower()
    places = _places(notice[:8000], words)
    again = len(places) > 1  # (only a reply quoted again may be in a transcript)
    for i in places:
        window = " ".join(notice[max(0, i - _WINDOW):i].split())
        found = _addresses(window) if "@" in window else []
        others = [a for a in found if a != own]
        cue = reading.server(_after(window, others[-1]) if others else window, True) if again else None
        tail = _after(window, found[-1]) if found and not others else ""
        if (cue is None or cue.role != "remote") and "." in tail:
            # after the recipient's own address, on the way to its reply, any cue will do: "<a@example.jp> :
            # 192.0.2.250 : mx.example.jp:[192.0.2.153] : 550 ..." (a server's name or address holds a dot)
            cue = reading.server(tail, False)
        if cue is not None and cue.role == "remote" and cue.host:
            reading.found += 1
            return cue
    return None


_NOT_IN_ADDRESS = str.maketrans({c: " " for c in "<>()[],;:\"'"})


def _addresses(window: str) -> list[str]:
    """The addresses a short text names, in order, lower-cased (the words with an "@" inside, between the marks
    that set an address apart): looking for the address pattern at every place cost far more."""
    return [w.strip(".").lower() for w in window.translate(_NOT_IN_ADDRESS).split()
            if "@" in w.strip("@") and "." in w.rpartition("@")[2]]


def _after(window: str, address: str) -> str:
    """The text after the last place the address is named in it."""
    i = window.lower().rfind(address)
    return window[i + len(address):] if i >= 0 else window


def _places(text: str, words: str) -> list[int]:
    """Where a reply starts in the text (its first four places), its white space read as single spaces: the
    reply's first twelve characters are looked for, and what follows each is compared."""
    out: list[int] = []
    i = text.find(words[:12])
    while i >= 0 and len(out) < 4:
        if " ".join(text[i:i + 2 * len(words)].split()).startswith(words):
            out.append(i)
        i = text.find(words[:12], i + 1)
    return out


def _bare_domain(remote_mta: str, address: str) -> bool:
    """Whether a Remote-MTA field names the recipient's domain itself, not a server."""
    return remote_mta.lower().rstrip(".") == address.rpartition("@")[2].lower()


def _said_of(address: str, notice: str, rules: RuleSet) -> smtp.ServerCue | None:
    """The first server cue on the notice's lines that name this address (at most four of them)."""
    low = notice[:8000].lower()
    i = low.find(address.lower())
    for _ in range(4):
        if i < 0:
            break
        start, end = low.rfind("\n", 0, i) + 1, low.find("\n", i)
        cue = smtp.find_server(notice[start:end if end >= 0 else len(low)], rules.servers)
        if cue is not None:
            return cue
        i = low.find(address.lower(), i + len(address))
    return None


def _generating_server(notice: str, rules: RuleSet) -> str | None:
    """The host a notice names as the one that wrote it ("Generating server: ...", "DSN generated by: ..."), for a
    refusal of its own whose words name no host: a reporting or writer cue that reads a host, looked for in the
    notice's own text."""
    if not notice:
        return None
    cue = smtp.find_server(notice[:4000], _cues_of(rules).naming_writer, writers=True)
    return cue.host if cue is not None else None


def _is_own(host: str, reporting_mta: str | None, notice: str, rules: RuleSet) -> bool:
    """Whether a host is the one that wrote the notice: its Reporting-MTA (or the host the notice names as its own),
    or the server it names as having generated it ("Generating server: ...")."""
    host = host.lower().rstrip(".")
    if reporting_mta and host == reporting_mta.lower().rstrip("."):
        return True
    own = _reading_of(notice, rules).own_host()
    return own is not None and host == own.rstrip(".")


def _inside_reply(host: str, diagnostic: str) -> bool:
    """Whether a host is named only inside the SMTP reply a diagnostic quotes, after its reply code."""
    low = diagnostic.lower()
    i = low.find(host)
    while i > 0 and (low[i - 1].isalnum() or low[i - 1] in "@.-_"):
        i = low.find(host, i + 1)  # a piece of a longer name or of an address ("<a@mx.example.com>") is not it
    m = rx.search(_REPLY_START, diagnostic)
    return i >= 0 and m is not None and i > m.start()


def _same_org(a: str | None, b: str | None) -> bool:
    return bool(a and b) and org_domain(a or "") == org_domain(b or "")


def org_domain(host: str) -> str:
    """The organisation's part of a host name: ``mx1.mail.example.co.jp`` → ``example.co.jp`` (a close
    approximation of the registrable domain, without a public-suffix list)."""
    labels = host.lower().strip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= 3:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


SPECIFIC_CODE = 40  # the priority of an exact enhanced code marked specific (rules/README.md, "Precedence")


def _code_decision(status: str | None, reply: int | None, rules: RuleSet) -> Decision:
    rentry: CodeEntry | None = rules.replies.get(reply) if reply is not None else None
    by_reply = rentry is not None and bool(rentry.reason)
    if status:
        entry = rules.status_entry(status)
        # a code whose only word is "undefined" (X.0.0, which MTAs write when the reply had no enhanced code) says
        # less than a reply code that names a reason ("552" with Status 5.0.0)
        if entry is not None and entry.reason and not (entry.reason == "undefined" and by_reply):
            return Decision(entry.reason, f"status:{entry.code}", SPECIFIC_CODE if entry.specific else 20,
                            Evidence("reason", f"status-codes:{entry.code}", status), hint=entry.hint)
    if rentry is not None and rentry.reason:
        return Decision(rentry.reason, f"reply:{reply}", 15, Evidence("reason", f"reply-codes:{reply}",
                                                                        str(reply)), hint=rentry.hint)
    if status:
        sentry = rules.subject_entry(status)
        if sentry is not None and sentry.reason:
            return Decision(sentry.reason, f"status:{sentry.code}", 10,
                            Evidence("reason", f"status-codes:{sentry.code}", status))
    return Decision("undefined", "default", 0, Evidence("reason", "default", "no rule, code or default applied"))


def _rule_decision(rule: Rule, matched: str, text: str, field: str) -> Decision:
    return Decision(rule.reason, rule.id, rule.priority,
                    Evidence("reason", f"rule:{rule.id}", f"{field}: {_excerpt(text, matched)}"),
                    verdict=rule.verdict, hint=rule.hint, fault=rule.fault)


# what the words may say that beats a specific code of the recipient's side used loosely: the sender's standing (a
# block list, a rate), a message too large for any mailbox there ("552 5.2.2 Die Nachricht überschreitet die
# maximale Größe": a smaller message goes through), or a mailbox that is full ("550 5.1.1 Postfach voll": a mailbox
# that is full exists, whatever 5.1.1 says)
WORDS_OVER_LOOSE_CODE = frozenset({"blocked", "rate_limited", "bad_reputation", "spam_detected", "require_ptr",
                                   "email_too_large", "mailbox_full"})
# the states of the recipient's mailbox: when a specific code names one and the words another (and not the code's
# as well), the words say what the server found and the code is the one it had at hand ("550 5.2.2 user does not
# exist": a mailbox that does not exist is not full; "550 5.1.1 account disabled": a disabled mailbox exists), in
# both directions. A domain's code (5.1.2) is not weighed: words about an address under it often name the domain
RECIPIENT_STATES = frozenset({"user_unknown", "has_moved", "mailbox_full", "suspend", "filtered"})


def words_over_code(words: str, code: str) -> bool:
    """Whether the reason the words give beats the one a specific code of the recipient's side gives."""
    if words == code:
        return False
    return words in WORDS_OVER_LOOSE_CODE or (words in RECIPIENT_STATES and code in RECIPIENT_STATES)


# the subject a reply at an SMTP stage is about when its words name none ("550 Unknown" in reply to RCPT TO): a
# refusal of the connection or the greeting, before any address is named, is said of the host that connected
# ("550 Access denied" at the banner)
STAGE_SUBJECT = {"RCPT": "recipient", "MAIL": "sender", "CONNECT": "sending_host", "HELO": "sending_host",
                 "EHLO": "sending_host"}
_QUOTED_REPLY = rx.compile(r"(?<![\w.])[245]\d\d(?=[ -]|$)")
_CODED_SUMMARY = rx.compile(r"^\s*[245]\.\d{1,3}\.\d{1,3}\b")


# a multi-line reply joined into one line repeats its codes before each of its lines, and the line breaks fall
# between any two words ("550-5.7.1 The IP you're using to send mail is not authorized to 550-5.7.1 send email
# directly ..."): the repeats are taken out, so that the words read as the one sentence they are
_JOINED_REPLY = rx.Needing(r"(?<![\w.-])([245]\d\d)-([245]\.\d{1,3}\.\d{1,3}(?= ))?", need=r"\d-")


def joined_reply(text: str) -> str:
    """A reply's text without the codes repeated before each of its joined lines."""
    m = _JOINED_REPLY.search(text)
    if m is None:
        return text
    code, status = m.group(1), m.group(2)
    rest = text[m.end():]
    if status:
        again = rest.replace(f" {code}-{status} ", " ").replace(f" {code} {status} ", " ")
    else:
        again = rest.replace(f" {code}-", " ")
    return text if again == rest else text[:m.end()] + again


def server_words(low: str) -> str:
    """The server's own reply inside a reporter's coded summary of it ("5.1.0 - Unknown address error 550-'5.7.1
    ... Access denied'"): cues read the reply, not the summary wrapped around it."""
    if not rx.match(_CODED_SUMMARY, low):
        return low
    m = rx.search(_QUOTED_REPLY, low)
    return low[m.start():] if m and m.start() > 0 else low


def decide(text: str, field: str, status: str | None, reply: int | None, hosts: tuple[str, ...],
           rules: RuleSet, command: str | None = None) -> Decision:
    """The winning decision for one recipient: the highest-priority rule that matches, or the code tables."""
    by_code = _code_decision(status, reply, rules)
    text = joined_reply(text)
    low = text.lower()
    found, gated = rules.index.matches(low)
    cue_low: str | None = None

    def match(n: int) -> str | None:
        """What rule ``n`` matches of the text, None when it does not match or its guards do not hold."""
        nonlocal cue_low
        rule = rules.rules[n]
        matched = "" if rule.guards_only else found.get(n)
        if matched is None and rule.regex is not None and n in gated:
            m = rx.search(rule.regex, low)
            matched = str(m.group(0)) if m else None
        if matched is not None and rule.cue is not None and not rule.concepts:
            if cue_low is None:
                cue_low = server_words(low)
            if not rule.cue.spares(cue_low, matched):
                return None  # (a phrase rule's words said of what its ``unless`` names: "the sender's domain")
        if matched is None and rule.cue is not None and rule.concepts:
            if not rule.guards_hold(status, reply, hosts, command):
                return None  # (a cue rule guarded by a code is not worth a scan of the text when the code is another)
            if cue_low is None:
                cue_low = server_words(low)
            matched = rule.cue.match(cue_low, STAGE_SUBJECT.get(command or ""))
        return matched if matched is not None and rule.guards_hold(status, reply, hosts, command) else None

    # a specific code of the recipient's side (5.1.1, 5.2.2) whose words tell of the sender's standing instead (a
    # block list, a rate) or of another state of the mailbox (no such user under 5.2.2): the server used the code
    # loosely, and the first rule the words match, down to the cues, is weighed against it rather than beaten by it
    loose = by_code.priority == SPECIFIC_CODE and rules.reasons[by_code.reason].fault == "recipient"
    floor = PRIORITY_CUE if loose else by_code.priority
    # only rules that can match: a string of theirs is in the text, their regex may match, or they need no text
    candidates = sorted(found.keys() | gated | rules.index.guards_only | rules.index.cued)
    for i, n in enumerate(candidates):
        rule = rules.rules[n]
        if rule.priority < floor:
            break
        matched = match(n)
        if matched is None:
            continue
        if rule.priority < by_code.priority:
            if not words_over_code(rule.reason, by_code.reason):
                return by_code  # (the words agree with the code, or say something else: the code stands)
            if rule.reason in RECIPIENT_STATES and any(
                    rules.rules[k].reason == by_code.reason and match(k) is not None
                    for k in candidates[i + 1:] if rules.rules[k].priority >= floor):
                return by_code  # (the words say what the code says too: "out of space and inactive" under 5.2.2)
        return _rule_decision(rule, matched, text, field)
    return by_code


def code_class(status: str | None, reply: int | None) -> str | None:
    if status:
        return status[0]
    if reply is not None:
        return str(reply)[0]
    return None


def classes_conflict(status: str | None, reply: int | None) -> bool:
    """A failure reply and a failure status of different classes (``450 5.2.3``)."""
    return bool(status and reply is not None and status[0] in "45" and str(reply)[0] in "45"
                and status[0] != str(reply)[0])


def verdict_of(decision: Decision, reason: Reason, cls: str | None) -> str | None:
    """hard / soft from the rule or the reason; "by-class" is soft for a 4xx code; None when not a failure."""
    word = decision.verdict or reason.verdict
    if word == "by-class":
        word = "soft" if cls == "4" else "hard"
    return None if word == "none" else word


def as_sent(f: Finding) -> tuple[str, str | None]:
    """The address the sender used, and the final address when the notice shows a different one (an alias
    expanded, a forward, a rewritten domain): a list manager looks up the address it sent to."""
    sent = (f.original_recipient or "").strip().lower()
    if sent and "@" in sent and " " not in sent and sent != f.address.lower():
        return sent, f.address
    return f.address, None


def fault_of(decision: Decision, reason: Reason) -> str | None:
    """Whose side the failure is on: the rule's word when it has one, else the reason's."""
    return decision.fault or reason.fault


def classify(f: Finding, *, notice: str, reporting_mta: str | None, dsn_gateway: str | None,
             rules: RuleSet) -> Recipient:
    """Turn one finding into a recipient result."""
    if len(f.diagnostic) > MAX_READ or len(f.context) > MAX_READ:
        f = replace(f, diagnostic=f.diagnostic[:MAX_READ], context=f.context[:MAX_READ])
    status, reply, evidence = pick_codes(f)
    action = f.action or "failed"
    responder = responder_for(f, reply, reporting_mta, dsn_gateway, rules, notice)
    evidence.append(Evidence("responder", str(responder.role), responder.evidence))
    cls = code_class(status, reply)
    permanent: bool | None = {"5": True, "4": False, "2": None}.get(cls or "")
    if permanent is None and cls is None:
        permanent = True if action == "failed" else (False if action == "delayed" else None)
    conflict = classes_conflict(status, reply)
    if conflict:
        evidence.append(Evidence("status", "conflict", f"reply {reply} and status {status} disagree on the class"))

    diag_for_hints = f"{f.diagnostic}\n{f.context}" if f.context else f.diagnostic
    command = f.smtp_command or smtp.find_command(diag_for_hints)
    if action in NON_FAILURE_ACTIONS:
        reason = rules.reasons["delivered"]
        decision = Decision("delivered", "action", 100, Evidence("reason", "dsn:Action", action))
    else:
        diagnostic, context = " ".join(f.diagnostic.split()), " ".join(f.context.split())
        if diagnostic:
            # what the notice's own text says about this recipient counts too (Postfix: "Command died with status"),
            # once: the notice often repeats the diagnostic word for word
            if not context or context in diagnostic:
                text = diagnostic
            elif diagnostic in context:
                text = context
            else:
                text = f"{diagnostic} {context}"
            field = "diagnostic"
        elif context:
            text, field = context, "notice"
        else:
            # nothing said of this recipient but the comment on its Status code ("4.0.0 (example.net: host name lookup
            # failure)"), if any: that and the notice's own words
            text, field = " ".join(f"{status_comment(f.status)} {notice[:4000]}".split()), "notice"
        hosts = tuple(h for h in (responder.host, f.remote_mta, reporting_mta, f.address.rpartition("@")[2]) if h)
        decision = decide(text, field, status, reply, hosts, rules, command)
        reason = rules.reasons[decision.reason]
    evidence.append(decision.evidence)

    verdict = verdict_of(decision, reason, cls)
    if action == "delayed" and verdict is not None:
        verdict = "soft"
    hint = decision.hint or reason.hint
    address, final = as_sent(f)
    if final:
        evidence.append(Evidence("address", "original-recipient", f"sent to {address}, delivered as {final}"))
    if f.source.startswith("original:"):
        evidence.append(Evidence("address", f.source, "the notice names no recipient: taken from "
                                                      f"{f.source.partition(':')[2]}"))
    fault = fault_of(decision, reason) if verdict is not None else None
    return Recipient(
        address=address,
        final_recipient=final,
        action=action,
        status=status,
        reply_code=reply,
        diagnostic=" ".join(f.diagnostic.split())[:MAX_DIAGNOSTIC],
        smtp_command=command,
        remote_mta=f.remote_mta,
        responder=responder,
        reason=decision.reason,
        verdict=verdict,
        fault=fault,
        permanent=permanent,
        retry_after=smtp.find_retry_after(diag_for_hints),
        hint=hint,
        rule=decision.rule,
        code_conflict=conflict,
        original_recipient=f.original_recipient,
        last_attempt=f.last_attempt,
        will_retry_until=f.will_retry_until,
        evidence=tuple(evidence),
    )
