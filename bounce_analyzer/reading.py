"""Reading the recipients of a notice with the format registry: every parser that recognises the message reads
it, the surest one gives the recipients and the others fill in what it left empty; a notice that names nobody
falls back to the original's one recipient."""

from __future__ import annotations

from .formats import Bounce, Extract, Finding, FormatParser
from .formats.generic import code_paragraphs, reporting_host
from .formats.registry import FORMATS
from .kinds import Signals
from .options import Options
from .original import verp_recipient
from .parse import bounded as rx
from .parse import smtp
from .parse.address import ADDR, in_header
from .parse.message import header


def parsers(options: Options) -> tuple[FormatParser, ...]:
    """The registry, less what a self-check switched off (``Options.ablate``)."""
    if not options.ablate:
        return FORMATS
    off = options.ablate
    return tuple(p for p in FORMATS if p.name not in off and not ("vendor" in off and getattr(p, "vendor", False)))


Sniffed = list[tuple[int, int, FormatParser]]  # how sure, registry position, parser


def sniff(b: Bounce, options: Options) -> Sniffed:
    return [(p.sniff(b), i, p) for i, p in enumerate(parsers(options))]


def read_findings(b: Bounce, sniffs: Sniffed) -> tuple[str, Extract] | None:
    """The recipients as the surest parser read them, with what the others add; None when no parser read any."""
    extracts: list[tuple[str, Extract]] = []
    unnamed: list[Extract] = []  # read no recipient, but what they say of the whole message still counts
    for score, _, parser in sorted(sniffs, key=lambda t: (-t[0], t[1])):
        if score <= 0:
            continue
        if extracts and hasattr(parser, "about"):
            # the surest parser has read the recipients; this one only says what it knows about them
            ex = parser.about(b, [f.address for f in extracts[0][1].findings])
        else:
            ex = parser.parse(b)
        if ex.findings:
            extracts.append((parser.name, ex))
        elif ex.reporting_mta or ex.arrival_date:
            unnamed.append(ex)
    if not extracts:
        return None
    fmt, primary = extracts[0]
    merge(primary, [ex for _, ex in extracts[1:]] + unnamed)
    _lone_reply(b, primary)
    return fmt, primary


def _lone_reply(b: Bounce, primary: Extract) -> None:
    """One recipient and nothing (or no code) said about it by name: the notice's paragraphs that quote an SMTP
    reply are about it ("554 5.3.0 unknown mailer error 255" under a Sendmail transcript, "<<< 421" when the
    delivery-status part leaves Diagnostic-Code empty, "The receiving system answered:" with no address)."""
    lone = primary.findings[0] if len(primary.findings) == 1 else None
    if lone is None or (lone.context.strip() and (
            smtp.find_reply(lone.diagnostic) is not None or smtp.find_reply(lone.context) is not None)):
        return
    quoted = code_paragraphs(b.notice)
    if not lone.diagnostic.strip():
        lone.diagnostic = quoted
    elif quoted and says_more(quoted, lone.diagnostic):
        lone.diagnostic = f"{lone.diagnostic} {quoted}"


def merge(primary: Extract, others: list[Extract]) -> None:
    """Let other parsers fill in what the surest one left empty, recipient by recipient."""
    by_address: dict[str, Finding] = {}
    for f in primary.findings:
        by_address.setdefault(f.address, f)
        if f.original_recipient:
            by_address.setdefault(f.original_recipient, f)
    for other in others:
        for g in other.findings:
            found = by_address.get(g.address)
            if found is None or found is g:
                continue
            f = found
            if g.diagnostic and g.diagnostic not in f.context:
                f.context = f"{f.context} {g.diagnostic}".strip()
            if not f.diagnostic.strip():
                f.diagnostic = g.diagnostic
            elif g.diagnostic and says_more(g.diagnostic, f.diagnostic):
                f.diagnostic = f"{f.diagnostic} {g.diagnostic}"
            f.smtp_command = f.smtp_command or g.smtp_command
            if not f.remote_mta:
                f.remote_mta, f.remote_ip = g.remote_mta, g.remote_ip
        primary.reporting_mta = primary.reporting_mta or other.reporting_mta
        primary.arrival_date = primary.arrival_date or other.arrival_date


def says_more(other: str, diagnostic: str) -> bool:
    """Whether ``other`` quotes codes that ``diagnostic`` lacks (an enhanced code, or a reply code where the
    diagnostic has none, or only a local program's exit status like "255")."""
    if smtp.find_status(diagnostic) is None and smtp.find_status(other):
        return True
    bare = diagnostic.strip().isdigit()
    return (bare or smtp.find_reply(diagnostic) is None) and smtp.find_reply(other) is not None


def fill_actions(findings: list[Finding], signals: Signals) -> None:
    """Findings whose notice states no action: a delay warning if the notice says delivery goes on, else failed."""
    for f in findings:
        if f.action:
            continue
        status = smtp.find_status(f.status or "", successes=True) or smtp.find_status(f.diagnostic)
        reply = smtp.find_reply(f.diagnostic)
        cls = status[0] if status else (str(reply)[0] if reply else "")
        if cls == "2":
            f.action = "delivered"
        elif cls != "5" and signals.delay:  # (the notice's words are read only when the code leaves it open)
            f.action = "delayed"
        else:
            f.action = "failed"


_ENVELOPE_HEADERS = ("x-original-to", "delivered-to", "x-envelope-to", "envelope-to", "x-rcpt-to")


_RECEIVED_FOR = rx.compile(rf"\bfor\s+<?({ADDR})>?", rx.I)


def _named_elsewhere(b: Bounce) -> tuple[str, str] | None:
    """The one recipient of the original, for a notice that names nobody ("Delivery report unavailable"), and
    where it was read: the original's envelope headers, the "for <...>" of its Received lines, its To (unless it
    went to a list or to several people), or the VERP return address the notice was sent to."""
    o = b.original
    mine = {b.sender}
    if o is not None:
        mine |= in_header(header(o, "from"))
        for name in _ENVELOPE_HEADERS:
            found = in_header(header(o, name)) - mine
            if len(found) == 1:
                return found.pop(), f"the original's {name.title()} header"
        received = set()
        for value in (o.get_all("received") or [])[:20]:
            received |= in_header(str(value), _RECEIVED_FOR)
        received -= mine
        if len(received) == 1:
            return received.pop(), "the original's Received header"
        if not (header(o, "cc") or header(o, "list-id") or header(o, "list-post")):
            found = in_header(header(o, "to")) - mine
            if len(found) == 1:
                return found.pop(), "the original's To header"
        # several recipients: the one whose mailbox name the notice writes on its own ("kijitora... User unknown",
        # a screen name)
        named = [a for a in sorted(in_header(f"{header(o, 'to')}, {header(o, 'cc')}") - mine)
                 if _names_mailbox(b.notice, a.partition("@")[0])]
        if len(named) == 1:
            return named[0], "the original's recipients, by the mailbox name the notice gives"
    verp = verp_recipient(header(b.msg, "to"), header(b.msg, "delivered-to"), header(b.msg, "x-original-to"))
    return (verp, "the VERP address the notice was sent to") if verp else None


def _names_mailbox(notice: str, local: str) -> bool:
    """Whether the notice writes a mailbox name as a word of its own (not inside an address or a longer word)."""
    if len(local) < 3:
        return False
    low, local = notice.lower(), local.lower()
    i = low.find(local)
    while i >= 0:
        before, after = low[i - 1:i] if i else "", low[i + len(local):i + len(local) + 1]
        if not (before.isalnum() or before in "._-+@") and not (after.isalnum() or after in "@_-+"):
            return True
        i = low.find(local, i + 1)
    return False


def from_original(b: Bounce) -> tuple[str, Extract] | None:
    """A notice that names no recipient at all: the one the original was sent to, if it can be told."""
    named = _named_elsewhere(b)
    if named is None:
        return None
    extract = Extract(findings=[Finding(address=named[0], source=f"original:{named[1]}")],
                      reporting_mta=reporting_host(b))
    _lone_reply(b, extract)
    return "original", extract
