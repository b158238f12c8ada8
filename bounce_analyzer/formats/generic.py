"""Last-resort reading of a human-readable notice with no known layout.

Most MTAs write the failed address on a line of its own or at the start of one, followed by what went wrong:

    <alice@example.net>: host mx.example.net[192.0.2.10] said: 550 5.1.1 User unknown (in reply to RCPT TO command)

      bob@example.org
        SMTP error from remote mail server after RCPT TO:<bob@example.org>:
        host mx.example.org [192.0.2.20]: 550 5.1.1 unknown user

    <carol@example.com>... User unknown

    Delivery has failed to these recipients or groups:
    dave@example.com (dave@example.com)

The parser collects every such address line and the lines that belong to it (up to a blank line or the next
address). An address the notice names several times keeps the block that carries an SMTP code. Addresses of the
notice's own sender, postmasters and MAIL FROM arguments are never taken for recipients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar

from ..classify.rules import Detect
from ..classify.rules import default as default_rules
from ..parse import bounded as rx
from ..parse import dsn, smtp
from ..parse.address import ADDR, PATTERN
from ..parse.address import clean as _clean
from ..parse.message import header
from .base import Bounce, Extract, Finding

_ADDR = PATTERN
# an address line: the address (bracketed or not) at the start of the line (after a bullet or a number, "1)", or a
# table's cell that numbers its rows, "1<TAB>"), then ":" / "..." / "(" / a dash / a tab / text / nothing, or ";"
# and another address
_ADDR_LINE = rx.compile(
    rf"^[ \t>*•·◦▪‣-]{{0,8}}(?:\d{{1,3}}(?:[.)][ \t]+|[ ]?\t[ \t]*))?"
    rf"(?:(?:Original|Final)[- ]Recipient:\s*(?:rfc822;\s*)?|Recipients?(?:\(s\))?(?: address(?:es)?)?:\s*|"
    rf"Failed recipient:\s*|To:\s*|Address:\s*|"
    # "Rcpt To:   <alice@example.net>": the recipient in a block of a session's details (XMail and the like), in
    # brackets or quotes (Apache James's bare "RCPT TO: alice@..." under "Message details:" is its reader's)
    rf"Rcpt[ \t]+To:[ \t]*(?=[<\"'])|"
    # "SMTP <alice@example.net>" (InterMail and other older servers): the address's type, then the address in brackets
    # or quotes
    rf"SMTP[ \t]+(?=[<\"'])|"
    rf"\d{{3}}[ -](?:\d\.\d{{1,3}}\.\d{{1,3}}\s+)?)?"
    # "[SMTP:alice@example.net]" (MailEnable, Exchange): the address with its type, in brackets
    # (doubled brackets, "<<alice@example.net>>", and a full stop after the address at the line's end are kept as sent)
    rf"(?:\[SMTP:|[<\"'\[]{{0,2}}(?:mailto:|SMTP:)?)({ADDR})[>\"'\]]{{0,2}}"
    rf"(?:\s*(?:\.\.\.|:|,|;(?=[ \t]*['\"<\[]?[^\s@;]+@)|\(|\s+on\s|\s+[-–—]\s|\s+\[)|\.?\s*$|[ \t]+(?=<[^<>\s]+@)|\t|"
    # "<alice@example.net> User unknown": words after an address in brackets or quotes
    rf"(?<=[>\"'])[ \t]+|"
    # "alice@example.net Invalid Address, ERROR_CODE :550, ...": words, then an SMTP code on the same line
    rf"[ \t]+(?=[^\n]{{0,200}}?(?<![\w.])[245](?:\d\d|\.\d{{1,3}}\.\d{{1,3}})(?!\w)))(.*)$",
    rx.M | rx.I,
)
_ADDR_LINE_LABELS = ("original", "final", "recipient", "failed recipient", "to:", "address:", "rcpt to:", "smtp <",
                     'smtp "', "smtp '")


# "Original Recipient:" alone on its line, the address ("rfc822;alice@example.net") on the line under it (ZMailer's
# "FAILED:" blocks, and other servers that set a label's value under it): read as one line with the next
_LABEL_ALONE = rx.compile(r"^[ \t>*-]{0,8}(?:(?:Original|Final)[- ]Recipient|Recipient(?: address)?|Failed recipient)"
                          r"[ \t]*:[ \t]*$", rx.I)


def _label_above(lines: list[str], i: int) -> int:
    """The indent of the line above line ``i`` when that line is a recipient's label alone and line ``i`` holds its
    value (the address, with or without its type), else -1."""
    if i == 0 or not lines[i - 1].rstrip().endswith(":") or len(lines[i - 1]) > 60:
        return -1
    return _indent(lines[i - 1]) if rx.match(_LABEL_ALONE, lines[i - 1]) else -1


def _addr_line(line: str) -> rx.Match | None:
    """``_ADDR_LINE`` on one line, tried only where it can match: the address (which holds no space) is the first word
    after any leading quote marks and dashes, unless a label or a reply code comes first."""
    rest = line.lstrip(" \t>*-•·◦▪‣")
    if not rest:
        return None
    if "@" not in rest.split(None, 1)[0] and not rest[0].isdigit() and \
            not rest[:16].casefold().startswith(_ADDR_LINE_LABELS):
        return None
    if rest[:4].casefold() == "rcpt" and len(rest) != len(line.lstrip(" \t")):
        return None  # ">>> RCPT TO:<alice@example.net>": a command in a session's transcript (transcript_stages)
    return rx.match(_ADDR_LINE, line)


# a recipient's name before the address in brackets: "Luca Bianchi <luca@example.net>", "João Silva <joao@...>"
_NAMED = r"(?:(?:[^\W\d_][\w'.-]{0,30}[ \t]+){1,4}(?=<))?"
# "Your message to alice@example.net couldn't be delivered." / "failed to deliver to <alice@example.net>" /
# "Failed to deliver to '<alice@example.net>'" / "Your message to: alice@example.net" / "... по адресу alice@..." /
# "Local mailbox alice@example.net is unavailable"
_ADDR_SENTENCE = rx.compile(
    rf"(?:\b(?:(?:un)?deliver\w*|send\w*|sent|transmi\w*|message|(?:e-?)?mail|relay\w*)\b[^\n<>@]{{0,40}}?\b(?:to|for):?|"
    rf"\b(?:recipient|address|mailbox)(?:e?s)?:?|"
    # "to the address" in other languages: Russian, German, French, Spanish, Portuguese, Italian
    rf"\bпо\s+адресу|\bадресату|\ban\s+(?:die\s+Adresse|den\s+Empfänger)|\bà\s+l'adresse|"
    rf"\b(?:a|para)\s+(?:la\s+)?(?:dirección|o\s+endereço|o\s+destinatário|el\s+destinatario)|"
    rf"\ball'indirizzo|"
    # "bound for": French, Spanish, Portuguese, Italian
    rf"\bà\s+destination\s+de|\b(?:destin|adress)[ée]e?s?\s+à|\bcon\s+destino\s+a|\b(?:dirigid|destinad|destinat)[oa]s?\s+a)"
    # the address, or a name and the address in brackets ("delivered to Luca Bianchi <luca@example.net>"), or the
    # address in parentheses ("the following recipient (hugo@example.org)"), or as a link ("mailto:hugo@...")
    rf"\s+{_NAMED}['\"<\[(]{{0,2}}(?:mailto:)?({ADDR})>?", rx.I)


def words_pattern(phrase: str) -> str:
    """A phrase of a rules file's word list as a pattern: its words as written, any run of spaces or tabs between
    them."""
    return r"[ \t]+".join(re.escape(w) for w in phrase.split())


def _alphabetic(ch: str) -> bool:
    """A letter or digit of a script written with spaces between words (not an ideograph, kana or hangul)."""
    return ch.isalnum() and ord(ch) < 0x2E80


def _phrase(p: str) -> str:
    """A phrase before an address as a pattern: at a word's edge, and apart from the address by white space, where
    its script puts spaces between words; touching it where it does not ("发送给wei@example.org")."""
    return (r"\b" if _alphabetic(p[0]) else "") + words_pattern(p) + (r"\s+" if _alphabetic(p[-1]) else r"\s*")


@lru_cache(maxsize=8)
def phrase_sentence(phrases: tuple[str, ...]) -> rx.Pattern | None:
    """``_ADDR_SENTENCE`` for "to the recipient" in more languages (``recipient_phrases`` in detect.toml), read only
    when nothing else named a recipient (the words at the start of a pattern are tried at every place of a text);
    made once for each list."""
    if not phrases:
        return None
    return rx.compile(rf"(?:{'|'.join(map(_phrase, phrases))}){_NAMED}['\"<(]{{0,2}}(?:mailto:)?({ADDR})>?", rx.I)


@lru_cache(maxsize=8)
def _sentence_after(phrases: tuple[str, ...]) -> rx.Pattern | None:
    """The same for the languages whose word for "to" follows the address (``recipient_after_phrases``:
    "jisoo@example.org 님에게", "hanako@example.jp宛"): the words are found first and the address read behind them,
    since an address tried at every place of a long line costs time in proportion to the line times its length."""
    if not phrases:
        return None
    words = "|".join(map(words_pattern, phrases))
    return rx.compile(rf"(?:{words})(?<=({ADDR})>?['\"]?[ \t]*(?:{words}))", rx.I)


# more addresses right after the one a sentence names: "Your email to alice@example.net, bob@example.org and
# carol@example.com could not be delivered" ("and" in English, German, French, Spanish, Italian and Portuguese,
# Dutch, Polish and Czech, Swedish, Danish and Norwegian, Russian, Turkish, Hungarian, Indonesian)
_AND_ADDR = rx.compile(rf"[>'\"\]]?[ \t]*(?:,|;|&|\band\b|\bund\b|\bet\b|\by\b|\be\b|\ben\b|\bi\b|\boch\b|\bog\b|"
                       rf"\bи\b|\bve\b|\bés\b|\bdan\b)[ \t]*(?:and[ \t]+)?['\"<\[]{{0,2}}({ADDR})[>'\"\]]?", rx.I)


def _listed_after(notice: str, end: int) -> tuple[list[str], int]:
    """The addresses listed after the one a sentence or a line names, joined by commas or "and", and where the list
    ends."""
    out: list[str] = []
    while len(out) < 20:
        m = rx.match(_AND_ADDR, notice[end:end + 400])
        if m is None:
            break
        out.append(m.group(1))
        end += m.end()
    return out, end


# "Unknown user: alice@example.net" (IMail), "Unable to deliver message to: <alice@example.net>" (MailFoundry): a
# label that says what failed, then the address alone; the label is what the notice says about it. The label may
# be a table's cell and the address the cell after it, set apart by a tab and no colon ("받는 사람<TAB>jisoo@..."),
# and a name may stand before the address in brackets ("Empfänger: Klaus Berg <klaus@example.org>"), a name that
# does not start with a digit ("Remote host said: 550 5.1.1 <alice@example.net>..." quotes a reply, not a name)
_LABEL_LINE = rx.compile(rf"^[ \t]{{0,8}}([^\W\d_][\w '-]{{0,48}}?)[ \t]*(?:[:：]|(?=\t))[ \t]*"
                         rf"(?:[^\t <>@\n\d][^\t<>@\n]{{0,59}}?[ \t]+(?=<))?"
                         rf"(?:\[SMTP:|<?(?:mailto:|SMTP:)?)({ADDR})[>\]]?[ \t.]*$")
# "Recipient address: final@example.net" / "Original address: alias@example.org" (Oracle Messaging Server): the
# address the sender used, on a line of its own in the block of the one the message was finally sent to
_ORIGINAL_LINE = rx.compile(rf"^[ \t>*-]{{0,8}}Original[- ](?:address|recipient)[ \t]*:[ \t]*(?:rfc822;[ \t]*)?"
                            rf"<?({ADDR})>?[ \t]*$", rx.I | rx.M)
# "<final@example.net> (expanded from <alias@example.org>): ..." (Postfix), "(generated from alias@example.org)"
# (Exim): the address the sender used, under the one the message was finally sent to
# (the opening parenthesis is missing from a block's text when the address line took it: "expanded from <...>): ...")
_GENERATED = rx.compile(rf"(?:\(|^)\s*(?:generated|expanded)\s+from:?\s*[<\"]?({ADDR})[>\"]?\s*\)?:?", rx.I)
_SENDER_CONTEXT = rx.compile(rf"(?:mail\s+from:?|sender|envelope-from|return-path|from:|reply-to:)\s*<?({ADDR})",
                             rx.I)
_REPLY_CODE = rx.compile(r"(?<![\w.])[245]\d\d(?=[ -]|\n|$)")
_CODE_LINE = rx.Needing(r"(?<![\w.])[245]\d\d(?:[ -]|\n|$)|(?<![\w.])[245]\.\d{1,3}\.\d{1,3}(?![\w]|\.\d)|#[45]\.\d",
                        need=r"[245][.\d]\d")
# "This is the mail system at host mx.example.com." / "This is the qmail-send program at mx.example.com." / "This is a
# delivery status notification from mail.example.org" (Courier); not a server said to be another's ("rejected by
# the recipient's mail server mx.example.net"), nor a table's label cell set off by a tab ("Mail server<TAB>HOST")
_SELF_HOST = rx.Gated(r"\b(?:mail\s+system|mail\s+transport|qmail-send\s+program|mail\s+agent(?:\s+v[\d.]+)?|"
                      r"mail\s+delivery\s+(?:system|subsystem)|mail\s*server|mailservers|delivery\s+agent|mta|program|"
                      r"status\s+notification\s+from)(?![ ]*\t)\s+(?:at|on|of)?"
                      r"\s*(?:host\s+)?([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})\b", rx.I)
_OTHERS_SERVER = ("recipient's ", "recipients ", "remote ", "receiving ", "destination ")
# "   ----- The following addresses had permanent fatal errors -----", "|----- Message log follows: -----|"
# (read one short line at a time: the title starts with no framing character, so the opening run is read once)
_HEADING = rx.compile(r"^[ \t]*[-=|*]{3,}[ \t]*([^-=|*\s][^\n]{2,80}?)[ \t]*:?[ \t]*[-=|*]{3,}[ \t]*$")
_HEADING_WIDTH = 300  # longer lines are not headings
# Domino: "because:" on a line of its own, then the reason, indented, in the next paragraph
_BECAUSE = rx.compile(r"^[ \t]*(?:because|reasons?|the reason(?: is)?)[ \t]*:[ \t]*(?:\n(?:[ \t]*\n)?)?"
                      r"((?:[ \t]*\S[^\n]*\n?){1,6})", rx.I | rx.M)
_LISTING_WORDS = ("address", "recipient")
_ABOUT_WORDS = ("information", "reason", "log", "error", "transcript", "diagnostic", "detail")
_SECTION_STARTS = ("... while talking", ">>>", "<<<", "-----", "=====")
_HOSTNAME = re.compile(r"[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,10}")  # a host's name, lower case: a fixed shape
_SELF_LOCALS = ("mailer-daemon", "postmaster", "mailer_daemon", "maildaemon", "mail-daemon", "abuse", "noreply",
                "no-reply", "do-not-reply", "donotreply")
_SELF_NAMES = ("mail delivery subsystem", "mail delivery system", '"mail delivery subsystem"', '"mail delivery system"')


class _Excluded:
    """Tells whether an address is never a failed recipient: the notice's own sender and addressee, the original's
    sender, any address the notice gives as a MAIL FROM or sender, and the message ids of both messages (which look
    like addresses). Worked out only for addresses asked about."""

    def __init__(self, bounce: Bounce, listed: set[str] | None = None) -> None:
        self.bounce = bounce
        self.listed = listed or set()  # listed under a heading about failed addresses: a postmaster can fail too
        self._headers: set[str] | None = None
        self._ids: set[str] | None = None
        self._sender_set: set[str] | None = None

    def __contains__(self, address: str) -> bool:
        return self.excludes(address)

    def excludes(self, address: str, *, answered: bool = False) -> bool:
        """``answered``: the notice quotes a server's failure reply under the address. Being the notice's addressee
        or the original's sender does not rule it out then: a message sent to oneself bounces too."""
        if address == self.bounce.sender:
            return True
        if address.split("@", 1)[0] in _SELF_LOCALS and address not in self.listed:
            return True
        if address in self._message_ids():
            return True
        if not answered and address in self._header_addresses():
            return True
        return address in self._senders()  # "MAIL FROM:<a@example.org>", "Sender: a@example.org"

    def _header_addresses(self) -> set[str]:
        """The notice's addressee and the original's sender (and its list's posting address), as their headers name
        them."""
        if self._headers is None:
            b = self.bounce
            values = [header(b.msg, n) for n in ("to", "return-path", "reply-to", "sender")]
            if b.original is not None:
                # (and the address of the list it was posted to: "Your message to team@lists.example.org could not be
                # delivered to one member: ...")
                values += [header(b.original, n) for n in ("from", "return-path", "sender", "reply-to", "list-post")]
            self._headers = {_clean(m.group(0)) for m in rx.finditer(_ADDR, " ".join(values))}
        return self._headers

    def _message_ids(self) -> set[str]:
        if self._ids is None:
            messages = [m for m in (self.bounce.msg, self.bounce.original) if m is not None]
            values = [header(m, n) for m in messages for n in ("message-id", "in-reply-to", "references")]
            self._ids = {_clean(m.group(0)) for m in rx.finditer(_ADDR, " ".join(values))}
        return self._ids

    def _senders(self) -> set[str]:
        """The addresses the notice gives right after a sender word (MAIL FROM, Sender, Return-Path, Reply-To), all
        found in one pass: looking again at every place each address asked about is named took time in the product
        of the two."""
        if self._sender_set is None:
            self._sender_set = {_clean(m.group(1)) for m in rx.finditer(
                _SENDER_CONTEXT, self.bounce.notice, overlapped=True)}
        return self._sender_set


def _headings(text: str) -> list[tuple[int, int, str]]:
    """(start, end, title in lower case) of each line that is a heading framed by dashes or the like. Lines are
    looked at one by one, and only short ones that start with a framing character."""
    out = []
    pos = 0
    for line in text.split("\n"):
        first = line.lstrip(" \t")[:1]
        if first and first in "-=|*" and len(line) <= _HEADING_WIDTH:
            m = rx.match(_HEADING, line)
            if m:
                out.append((pos, pos + m.end(), m.group(1).lower()))
        pos += len(line) + 1
    return out


def headed_sections(notice: str) -> tuple[set[str], str]:
    """Under headings framed by dashes: the addresses listed under a heading about addresses or recipients, and
    the text of the sections that explain the failure ("Non-delivered information", "Message log follows"), else
    the paragraph under a "because:" line."""
    if "---" not in notice and "===" not in notice and "|||" not in notice and "***" not in notice:
        return set(), _because(notice)
    heads = _headings(notice[:50_000])
    listed: set[str] = set()
    about: list[str] = []
    for n, (_, end, title) in enumerate(heads):
        body = notice[end:heads[n + 1][0] if n + 1 < len(heads) else end + 2000][:2000]
        if any(w in title for w in _LISTING_WORDS):
            listed.update(_clean(m.group(0)) for m in rx.finditer(_ADDR, body))
        elif any(w in title for w in _ABOUT_WORDS) and "original" not in title and "message text" not in title:
            text = " ".join(body.split())
            if text:
                about.append(text)
    return listed, " ".join(about)[:1000] or _because(notice)


def _because(notice: str) -> str:
    low = notice[:20_000].lower()
    if "because" not in low and "reason" not in low:
        return ""
    m = rx.search(_BECAUSE, notice[:20_000])
    return " ".join(m.group(1).split())[:1000] if m else ""


@lru_cache(maxsize=8)
def _reason_label(labels: tuple[str, ...]) -> rx.Pattern | None:
    """A "Reason:" label in another language than English (``reason_labels`` in detect.toml) opening a line, and the
    lines under it; made once for each list."""
    if not labels:
        return None
    return rx.compile(rf"^[ \t]*(?:{'|'.join(map(words_pattern, labels))})[ \t]*[:：][ \t]*(?:\n(?:[ \t]*\n)?)?"
                      r"((?:[ \t]*\S[^\n]*\n?){1,6})", rx.I | rx.M)


def _reason_line(notice: str, labels: tuple[str, ...]) -> str:
    """The lines under a "Reason:" label written in another language than English (asked only of a notice whose
    one recipient has no words of its own)."""
    pattern = _reason_label(labels)
    m = rx.search(pattern, notice[:20_000]) if pattern is not None else None
    return " ".join(m.group(1).split())[:1000] if m else ""


def _answered(texts: list[str]) -> bool:
    """Whether one of an address's blocks quotes a server's failure reply (a 4xx/5xx reply or status code)."""
    for text in texts:
        reply, status = smtp.find_pair(text)
        if (reply is not None and 400 <= reply < 600) or status is not None:
            return True
    return False


def label_words(detect: Detect) -> tuple[str, ...]:
    """The words of a label that names a recipient: ``recipient_labels`` and ``address_labels``. (Joined on each
    call: a cache keyed by the word lists would hash all of them at each call, which takes longer.)"""
    return detect.recipient_labels + detect.address_labels


def label_line(line: str, labels: tuple[str, ...]) -> tuple[str, str] | None:
    """(address, label) of a line that labels an address with what failed: "Unknown user: alice@example.net".
    ``labels``: the words such a label holds (``recipient_labels`` and ``address_labels`` in detect.toml)."""
    # the label and its colon (or the tab after its cell) stand before the address, the line's first "@": without
    # them, no label line
    head = line[:line.find("@")].lower()
    if (":" not in head and "：" not in head and "\t" not in head.strip(" \t")) or not any(w in head for w in labels):
        return None
    m = rx.match(_LABEL_LINE, line)
    if not m or not any(w in m.group(1).lower() for w in labels):
        return None
    return m.group(2), m.group(1)


# words of a line that leads in to the address of a failure, in several languages (a line that ends with an address
# and says none of them, "Questions? Send a message to help@example.com", is no recipient's)
_LEAD_IN_WORDS = ("deliver", "fail", "unable", "could not", "couldn't", "cannot", "can't", "not be", "blocked",
                  "reject", "bounce", "returned", "refused", "your message to", "доставить", "доставлено", "zugestellt",
                  "zustell", "remis", "entregar", "entregue", "recapit", "bezorg", "afgeleverd", "doruč", "dostarcz",
                  "送信", "投递", "반송")


def _lead_in_line(line: str) -> tuple[str, str] | None:
    """(address, "") of a line that ends with the address after words saying it could not be reached ("Failed to
    deliver to '<alice@example.net>'", "Your message to: alice@example.net", "... по адресу alice@example.net."):
    what went wrong follows on the lines under it. A header line ("Delivered-To: ...") is none."""
    if len(line) > 200 or rx.match(_ANY_HEADER, line):
        return None
    head = line[:line.find("@")].lower()
    if not any(w in head for w in _LEAD_IN_WORDS):
        return None
    m = rx.search(_ADDR_SENTENCE, line)
    if m is None or line[m.end():].strip(" \t.:'\">)"):
        return None
    return m.group(1), ""


_ENCODED_WORD = r"=\?[\w-]{1,40}\?[BbQq]\?[^?\s]{1,200}\?="
# a recipient's display name before the address in brackets or quotes: "Jane Doe <jane@example.net>", '"Doe, Jane"
# <jane@example.net>: 550 ...' (a few words that each start with a capital or a letter of a script without case, or
# anything in quotes, or encoded words: "please contact <help@example.com>" is a sentence, and a header's name and
# colon no name)
_DISPLAY_NAME = rx.compile(r"^[ \t>*-]{0,8}(?:\"[^\"\n]{1,80}\"|"
                           r"[\p{Lu}\p{Lo}][^\W_]*(?:[ \t.,'-]+[\p{Lu}\p{Lo}][^\W_]*){0,4}\.?|"
                           # a name left as the original's header wrote it, in encoded words ("=?UTF-8?B?...?=")
                           rf"{_ENCODED_WORD}(?:[ \t]+{_ENCODED_WORD}){{0,4}})"
                           r"[ \t]+(?=[<\"'][^<>\"'\s@]+@)")


# a table's row whose first cell is the recipient's name and the next its address, with a server's failure reply in a
# later cell (an enhanced status code, or a cell opening with the reply: "Jane Doe<TAB>jane@example.net<TAB>Failed<TAB>
# 550 5.1.1 ..."): the name's cell, read as a name
_NAME_CELL = rx.compile(r"^[ \t]{0,8}[\p{Lu}\p{Lo}][^\W_]*(?:[ .,'-]+[\p{Lu}\p{Lo}][^\W_]*){0,4}\.?[ ]?\t[ \t]*"
                        r"(?=[^<>\"'\s@]+@)")
# a cell that opens with a failure reply and its words ("<TAB>550 Requested action not taken"), not with a number a
# telephone's ("<TAB>555-0123")
_REPLY_CELL = rx.compile(r"\t[ ]?[45]\d\d[ -]\p{L}")


def _named_line(line: str) -> tuple[str, str] | None:
    """(address, rest of the line) of an address line whose address, in brackets or quotes, follows the recipient's
    name (or stands in the table's cell after the name's, the line quoting a reply): read as the address line it
    would be without the name."""
    if len(line) > 300:
        return None
    if "\t" in line.strip():
        m = rx.match(_NAME_CELL, line)
        if m is not None and (smtp.find_status(line[m.end():]) or rx.search(_REPLY_CELL, line[m.end():])):
            found = _addr_line(line[m.end():])
            if found:
                return found.group(1), found.group(2)
    if "<" not in line and '"' not in line:
        return None
    m = rx.match(_DISPLAY_NAME, line)
    if m is None:
        return None
    rest = line[m.end():]
    after = rest.split(None, 1)[1] if len(rest.split(None, 1)) > 1 else ""
    if after and not after.startswith((":", "(", "...", "- ", ",")):
        return None  # "Recipient <alice@example.net> rejected by ...": a sentence, not a name
    found = _addr_line(rest)
    return (found.group(1), found.group(2)) if found else None


def _indent(line: str) -> int:
    """How far a line is indented, a tab reaching the next multiple of eight columns as a terminal shows it."""
    body = line.lstrip()
    lead = len(line) - len(body)
    return len(line[:lead].expandtabs(8)) if "\t" in line[:lead] else lead


def _wrapped_addr_line(lines: list[str], i: int) -> tuple[str, str] | None:
    """(address, rest of the line) of an address line whose reply code was wrapped onto the lines indented under it
    ("alice@example.net Invalid Address, ERROR_CODE" / "    :550, ERROR_CODE :5.1.1 ..."), read as one line with
    them; the rest is what the first line holds after the address, since the lines under it join its block."""
    line = lines[i].rstrip()
    indent = _indent(line)
    more = []
    for following in lines[i + 1:i + 4]:
        if not following.strip() or _indent(following) <= indent:
            break
        more.append(following.strip())
    if not more:
        return None
    m = _addr_line(" ".join([line, *more]))
    if m is None:
        return None
    return m.group(1), line[m.start(2):] if m.start(2) < len(line) else ""


def _continues(lines: list[str], start: int, i: int, indent: int) -> bool:
    """Whether line ``i`` follows the address line ``start`` (indented ``indent``) with only that line's indented
    continuations between them: the same block, a few lines on."""
    return indent >= 0 and i - start <= 4 and all(_indent(lines[k]) > indent
                                                 for k in range(start + 1, i))


def recipient_blocks(notice: str, *, lead_ins: bool = True, labels: tuple[str, ...] | None = None,
                     ) -> dict[str, list[str]]:
    """Every address line of the notice, with the lines that belong to it, by address in order of appearance.
    ``lead_ins=False`` leaves out lines that end with the address after a sentence's words: asked about the
    recipients a delivery-status part names, such a line is more often prose wrapped after the address than a
    heading of what follows. ``labels``: the words of a label naming a recipient (else the shipped rules')."""
    if labels is None:
        labels = label_words(default_rules().detect)
    lines = notice.split("\n")
    blocks: dict[str, list[str]] = {}
    starts: list[tuple[int, str, str, int]] = []  # (line, address, rest of the line, indent of the block)
    indent_of_start = -1
    for i, line in enumerate(lines):
        if not line.strip():
            indent_of_start = -1  # a blank line closes the paragraph
            continue
        if len(line) > 1000 or "@" not in line:
            continue
        if starts and indent_of_start >= 0 and i - starts[-1][0] <= 4 and "original" in line[:20].lower() and \
                rx.match(_ORIGINAL_LINE, line):
            continue  # the address the one above was sent as, in its block: no recipient of its own
        above = _label_above(lines, i)
        m = _addr_line(f"{lines[i - 1].rstrip()} {line.strip()}" if above >= 0 else line)
        listed: list[str] = []
        if m:
            address, rest = m.group(1), m.group(2)
            if above < 0:
                # "alice@example.net, bob@example.org: 550 ...", "Recipient(s): alice@example.net; bob@example.org"
                listed, after = _listed_after(line, m.end(1))
                rest = line[after:].lstrip(" \t>:;,") if listed else rest
        else:
            found = _named_line(line) or label_line(line, labels) or _wrapped_addr_line(lines, i) or (
                _lead_in_line(line) if lead_ins else None)
            if found is None:
                continue
            address, rest = found
        indent = _indent(line) if above < 0 or m is None else above
        if 0 <= indent_of_start < indent:
            continue  # a folded continuation of the block above that quotes the address again
        address = _clean(address)
        if starts and starts[-1][1] == address and (
                (_continues(lines, starts[-1][0], i, indent_of_start) and
                 line.lstrip(" \t>*-").lstrip("<\"'").lower().startswith(address)) or
                (indent_of_start >= 0 and i - starts[-1][0] <= 4 and line.lstrip(" \t>*-")[:1].isdigit())):
            # the block of an address line goes on with a line starting with it again ("<a@...>... Unknown"), or with
            # the server's reply naming it, wrapped onto a line of its own in the same paragraph ("Reason: Remote SMTP
            # Server Returned:" / "550 5.1.1 <a@...>... No such user")
            continue
        starts.append((i, address, rest.strip(), indent))
        starts.extend((i, _clean(a), rest.strip(), indent) for a in listed)
        indent_of_start = indent
    for n, (i, address, rest, base_indent) in enumerate(starts):
        # (the block ends at the next address line: addresses listed on one line share the lines under it)
        end = next((k for k, *_ in starts[n + 1:] if k > i), len(lines))
        body = [rest] if rest else []
        for j in range(i + 1, min(end, i + 40)):
            line = lines[j]
            if line.lstrip().startswith(_SECTION_STARTS) and not (
                    base_indent < _indent(line) and line.lstrip().startswith("<<<")):
                # a session transcript or a new section begins; not a reply quoted under a line of the block
                # ("Diagnostic texts:" / "    <<< 550 5.1.1 No such user")
                break
            if not line.strip():
                # a blank line ends the block, unless the block has no text yet and the next line is indented
                if body:
                    break
                if j + 1 < end and lines[j + 1][:1] in (" ", "\t") and not _addr_line(lines[j + 1]):
                    continue
                break
            indent = _indent(line)
            if body and indent < base_indent and not line[:1].isspace() and base_indent:
                break
            body.append(line.strip())
        blocks.setdefault(address, []).append("\n".join(body).strip())
    return blocks


_SENT = rx.compile(r"^\s*>>>\s*([A-Za-z]{4}(?:\s+(?:FROM|TO))?|\.)", rx.I)
_STAGE = {"MAIL FROM": "MAIL", "RCPT TO": "RCPT", "DATA": "DATA", ".": "DATA-END", "HELO": "HELO", "EHLO": "EHLO",
          "STARTTLS": "STARTTLS", "AUTH": "AUTH", "MAIL": "MAIL", "RCPT": "RCPT", "LHLO": "EHLO"}


_TALKING_TO = rx.compile(rf"^\.\.\.[ \t]*while[ \t]+talking[ \t]+to[ \t]+\[?({smtp.HOST}|{smtp.IP})\]?[ \t]*:", rx.I)


@dataclass(slots=True)
class Transcript:
    """What a session transcript (``... while talking to HOST:``, ``>>> DATA``, ``<<< 550 ...``) says: the command
    each recipient's rejection answered and the server that answered, by the address quoted in or under the reply,
    the command and server of the first rejection of all, and the addresses of ``RCPT TO`` commands that a failure
    reply answered (``refused``)."""

    stages: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)
    first: str | None = None
    first_host: str | None = None
    refused: dict[str, str] = field(default_factory=dict)  # RCPT TO's address -> the failure reply it got


# a session log that marks what was sent and received with arrows after a time stamp (MDaemon:
# "Wed 2026-11-25 10:12:04: --> RCPT To:<a@example.net>", "... <-- 550 5.1.1 ..."): read as ">>>" and "<<<" lines
_ARROWS = {"-->": ">>>", "<--": "<<<"}
_ARROW_LEAD = 40  # the longest time stamp before an arrow
# the server's greeting names it: "<<< 220 mx.example.net ESMTP ready"
_GREETING = rx.compile(r"<<<[ \t]*220[ \t-]+([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})\.?(?:[ \t]|$)")


def _arrow_at(line: str, i: int) -> bool:
    """Whether the arrow found at ``i`` marks a log entry: at the start, or after a space or a time stamp's colon,
    and followed by a space."""
    return line[i + 3:i + 4] in (" ", "\t") and (i == 0 or line[i - 1] in " \t:\n")


def _is_arrow_log(notice: str) -> bool:
    """Whether some line of the notice starts, after a short time stamp, with an arrow that marks a log entry."""
    for arrow in _ARROWS:
        i = notice.find(arrow)
        while i >= 0:
            if i - (notice.rfind("\n", 0, i) + 1) <= _ARROW_LEAD and _arrow_at(notice, i):
                return True
            i = notice.find(arrow, i + 3)
    return False


def _as_marked(line: str) -> list[str]:
    """A line of an arrow log as the ">>>" / "<<<" lines it stands for: each arrow that marks an entry starts one
    (entries that a mail program joined into one line come apart again); what stands before the first arrow, a time
    stamp, is dropped."""
    cuts = sorted(i for arrow in _ARROWS for i in _find_all(line, arrow) if _arrow_at(line, i))
    if not cuts:
        return [line]
    return [_ARROWS[line[a:a + 3]] + line[a + 3:b] for a, b in zip(cuts, [*cuts[1:], len(line)], strict=True)]


def _find_all(line: str, needle: str) -> list[int]:
    out = []
    i = line.find(needle)
    while i >= 0:
        out.append(i)
        i = line.find(needle, i + len(needle))
    return out


# what follows a client's mark (an SMTP command) and a server's (a reply code) in a transcript
_AFTER_CLIENT_MARK = rx.compile(r"[ \t]*(?:(?:MAIL|RCPT|DATA|EHLO|HELO|LHLO|QUIT|RSET|NOOP|STARTTLS|AUTH|BDAT|"
                                r"XFORWARD)\b|\.[ \t]*$)", rx.I)
_AFTER_SERVER_MARK = rx.compile(r"[ \t]*[2-5]\d\d(?:[ \t-]|$)")


def _with_marks(lines: list[str], detect: Detect) -> list[str]:
    """The lines of a transcript whose client and server are marked otherwise than with ">>>" and "<<<" ("C:" /
    "S:", "Sent:" / "Received:", "->" / "<-": ``transcript_*_marks`` in detect.toml) as ">>>" and "<<<" lines: a
    client's mark where an SMTP command follows it, a server's where a reply code does; unchanged unless some line
    has each. Lines marked only with ">>>" and "<<<" are read as they are."""
    others = tuple(m for m in (*detect.transcript_client_marks, *detect.transcript_server_marks)
                   if m not in (">>>", "<<<"))
    if not others or not any(line.lstrip(" \t")[:12].lower().startswith(others) for line in lines):
        return lines
    client = sorted(detect.transcript_client_marks, key=len, reverse=True)
    server = sorted(detect.transcript_server_marks, key=len, reverse=True)
    out: list[str] = []
    sent = answered = False
    for line in lines:
        rest = line.lstrip(" \t")
        head = rest[:12].casefold()
        for marks, after, as_mark in ((client, _AFTER_CLIENT_MARK, ">>> "), (server, _AFTER_SERVER_MARK, "<<< ")):
            mark = next((m for m in marks if head.startswith(m)), None)
            if mark and rx.match(after, rest[len(mark):len(mark) + 40]):
                line = as_mark + rest[len(mark):].lstrip(" \t")
                sent, answered = sent or as_mark == ">>> ", answered or as_mark == "<<< "
                break
        out.append(line)
    return out if sent and answered else lines


def _refusals(lines: list[str]) -> dict[int, list[tuple[str, str, str]]]:
    """The recipients each failure reply of a transcript refuses, by the line on which the reply ends: (address,
    command, reply). Each reply answers the command in its place: one by one, or, where the client sent several
    commands together (pipelining, RFC 2920: "MAIL FROM", "RCPT TO" ..., "DATA", then the replies in the same
    order), the first reply the first command, the second the second. A log that shows fewer replies than the
    commands sent together leaves out some; there a reply answers only a RCPT TO whose address it names. A failure
    at the end of the message's data refuses every recipient accepted before it."""
    out: dict[int, list[tuple[str, str, str]]] = {}
    pending: list[tuple[str | None, str | None]] = []  # the commands sent and not yet answered: (command, address)
    replies: list[tuple[int, str]] = []  # the replies to them so far: (the line it ends on, the reply)
    accepted: list[str] = []
    part: list[str] = []

    def settle() -> None:
        if len(replies) >= len(pending):
            pairs = list(zip(pending, replies, strict=False))
        else:
            pairs = [(c, r) for r in replies for c in pending if c[1] and c[1] in r[1].lower()]
        for (command, address), (i, reply) in pairs:
            failed = reply[:1] in "45"
            if command == "RCPT" and address:
                if failed:
                    out.setdefault(i, []).append((address, "RCPT", reply))
                elif reply[:1] == "2" and address not in accepted:
                    accepted.append(address)
            elif command == "DATA-END" and failed:
                out.setdefault(i, []).extend((a, "DATA-END", reply) for a in accepted)

    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">>>"):
            if replies:
                settle()
                pending, replies = [], []
            m = rx.match(_SENT, line)
            command = _STAGE.get(" ".join(m.group(1).upper().split())) if m else None
            ma = rx.search(_ADDR, line[m.end():m.end() + 400]) if m and command == "RCPT" else None
            pending.append((command, _clean(ma.group(0)) if ma else None))
        elif stripped.startswith("<<<") and pending:
            reply = stripped[3:].strip()
            if not rx.match(_AFTER_SERVER_MARK, reply[:8]):
                continue
            part.append(reply)
            if reply[3:4] != "-":  # (a reply of several lines goes on: "550-...")
                replies.append((i, " ".join(part)[:2000]))
                part = []
    if replies:
        settle()
    return out


def transcript_stages(notice: str, detect: Detect | None = None) -> Transcript:
    """Read the session transcript of a notice, if it has one."""
    t = Transcript()
    by_address = t.stages
    last: str | None = None
    rejected: str | None = None  # the command whose rejection the lines below talk about
    host: str | None = None  # the server the transcript is talking to
    arrows = ("<--" in notice or "-->" in notice) and _is_arrow_log(notice)
    lines = notice.split("\n")
    if arrows:
        lines = [marked for line in lines for marked in (_as_marked(line) if "--" in line else [line])]
    marked = _with_marks(lines, detect or default_rules().detect)
    if marked is lines and not arrows and ">>>" not in notice and "<<<" not in notice:
        return t  # (no line marked as sent or received: no transcript)
    lines = marked
    if not any(line.lstrip().startswith((">>>", "<<<")) for line in lines):
        return t
    refusals = _refusals(lines)
    for n, line in enumerate(lines):
        if host is None and "<<<" in line and "220" in line:
            mg = rx.match(_GREETING, line.lstrip())
            if mg:
                host = mg.group(1).lower()
                continue
        if line.startswith("...") and "talking" in line.lower():
            mh = rx.match(_TALKING_TO, line)
            if mh:
                host, last, rejected = mh.group(1).rstrip(".").lower(), None, None
                continue
        m = rx.match(_SENT, line) if ">>>" in line else None
        if m:
            last = _STAGE.get(" ".join(m.group(1).upper().split()))
            rejected = None
            continue
        stripped = line.strip()
        for address, command, reply in refusals.get(n, ()):
            # the reply to "RCPT TO:<...>": a failure reply refuses the address the command named, even when the
            # reply does not name it ("<<< 550 5.1.1 No such mailbox here")
            t.refused.setdefault(address, reply)
            by_address.setdefault(address, command)
            if host:
                t.hosts.setdefault(address, host)
        if rejected and not stripped.startswith("<<<") and "@" in stripped:
            # Sendmail sums up under the reply: "<a@example.org>... Deferred: 452 4.3.1 Insufficient storage"
            for a in rx.finditer(_ADDR, stripped.split("...")[0]):
                address = _clean(a.group(0))
                by_address.setdefault(address, rejected)
                if host:
                    t.hosts.setdefault(address, host)
            continue
        if not (stripped.startswith("<<<") and stripped[4:5] in "45" and _CODE_LINE.search(stripped[:12])):
            continue
        if not last:
            # a reply with no command sent before it: the server's greeting or its last word, still from that host
            t.first_host = t.first_host or host
            if host:
                rejected = rejected or "\0"
            continue
        rejected = last
        low = stripped.lower()
        if t.first is not None and ("rcpt" in low or "recipient" in low):
            # "503 Need RCPT" after a rejection that followed ">>> DATA": the client pipelined its commands and
            # the rejection was the answer to RCPT TO
            t.stages = by_address = {a: ("RCPT" if s == "DATA" else s) for a, s in by_address.items()}
            t.first = "RCPT" if t.first == "DATA" else t.first
            continue
        t.first = t.first or last
        t.first_host = t.first_host or host
        for a in rx.finditer(_ADDR, stripped):
            address = _clean(a.group(0))
            by_address.setdefault(address, last)
            if host:
                t.hosts.setdefault(address, host)
    t.stages = {a: s for a, s in by_address.items() if s != "\0"}
    return t


# a block of message headers ("Subject: ...", "Date: ...") is a quoted copy of the original, not a diagnostic
_HEADER_LINE = rx.Needing(r"^(?:subject|from|to|cc|date|message-id|reply-to|mime-version|content-type|received|"
                          r"return-path|x-[\w-]+)[ \t]*:", rx.I, need=":")
_ANY_HEADER = rx.compile(r"^[A-Za-z][\w-]{0,40}:[ \t]")
_HEADER_NAME = rx.compile(r"[A-Za-z][\w-]{0,40}:")


def _headers_only(text: str) -> bool:
    lines = text.split("\n")
    return bool(_HEADER_LINE.match(lines[0])) and all(rx.match(_ANY_HEADER, line) for line in lines)


def _best_block(texts: list[str]) -> str:
    texts = [t for t in texts if not _headers_only(t)]
    with_code = [t for t in texts if _CODE_LINE.search(t)]
    if with_code:
        return max(with_code, key=len)
    non_empty = [t for t in texts if t]
    return non_empty[0] if non_empty else ""


def _other_blocks(texts: list[str], best: str) -> str:
    """What the notice says of an address in its other blocks ("Delivery has failed to these recipients" with the
    reason in words, then the address again under "Diagnostic information for administrators" with the server that
    refused): not the recipient's diagnostic, but words about it that may name the server."""
    if len(texts) < 2 or _CODE_LINE.search(best):
        return ""  # (a block that quotes a reply says enough of its own)
    return " ".join(" ".join(t.split()) for t in texts
                    if t and t != best and not rx.match(_HEADER_NAME, t))[:2000]  # not a quoted copy's headers


@lru_cache(maxsize=4)
def code_paragraphs(notice: str) -> str:
    """The paragraphs of a notice that quote an SMTP reply (Gmail and Exchange put it away from the address).
    The text is searched once; the last few answers are kept, since the parser and the analyzer both ask."""
    hits = [m.start() for m in _CODE_LINE.finditer(notice)]
    if not hits:
        return ""
    out: list[str] = []
    before = ""
    pos = 0
    h = 0
    for para in notice.split("\n\n"):
        end = pos + len(para)
        while h < len(hits) and hits[h] < pos:
            h += 1
        has_code = h < len(hits) and hits[h] < end
        pos = end + 2
        if not para.strip():
            continue
        if has_code:
            if before:  # "The response from the remote server was:", a blank line, then the reply
                out.append(before)
            out.append(" ".join(para.split()))
        text = " ".join(para.split())
        before = text if text.endswith(":") and len(text) <= 200 and text not in out else ""
    return " ".join(out)[:2000]


def _as_sent(notice: str, findings: list[Finding], excluded: _Excluded) -> None:
    """The address the sender used, where the notice shows it next to a final one: in a recipient's block, it
    becomes that recipient's original address (and leaves the diagnostic); an address named only that way (the
    final destination a program or a file) is a recipient of its own, with the paragraph around it."""
    known = {f.address for f in findings}
    for f in findings:
        m = rx.search(_GENERATED, f.diagnostic)
        if m:
            f.original_recipient = _clean(m.group(1))
            f.diagnostic = (f.diagnostic[:m.start()] + f.diagnostic[m.end():]).strip()
            known.add(f.original_recipient)
    for m in rx.finditer(_GENERATED, notice):
        address = _clean(m.group(1))
        if address in known or address in excluded:
            continue
        known.add(address)
        start = notice.rfind("\n\n", 0, m.start()) + 1
        end = notice.find("\n\n", m.end())
        around = notice[start:end if end >= 0 else len(notice)]
        text = (around[:m.start() - start] + around[m.end() - start:]).strip()
        findings.append(Finding(address=address, diagnostic=text[:2000], source="text"))
    low = notice.lower()
    findings.sort(key=lambda f: min(i for i in (low.find(f.address), low.find(f.original_recipient or "\0"),
                                                len(low)) if i >= 0))


_URL_CONTEXT = ("http://", "https://", "mailto:", "www.")


def _scored(notice: str, excluded: _Excluded, bounce: Bounce) -> list[Finding]:
    """The last resort for a layout nothing above reads: every address of the notice's own text, kept when the
    evidence for it adds up. For: a failure reply on its line (two points), being one of the original's recipients
    (one); an address the notice gives as sender, postmaster or the like, or inside a link, never counts. The line
    it stands on is its diagnostic."""
    wanted: set[str] = set()
    if bounce.original is not None:
        for name in ("to", "cc", "x-original-to", "delivered-to"):
            wanted.update(_clean(m.group(0)) for m in rx.finditer(_ADDR, header(bounce.original, name)))
    found: dict[str, tuple[int, str]] = {}
    for line in notice[:50_000].split("\n"):
        if "@" not in line or len(line) > 1000:
            continue
        low = line.lower()
        coded = bool(_CODE_LINE.search(line))
        for m in rx.finditer(_ADDR, line):
            address = _clean(m.group(0))
            before = low[max(0, m.start() - 12):m.start()]
            if address in excluded or any(u in before for u in _URL_CONTEXT) or "/" in before[-1:]:
                continue
            score = 2 * coded + (address in wanted)
            if score > found.get(address, (0, ""))[0]:
                found[address] = (score, line.strip())
    return [Finding(address=a, diagnostic=text, source="text") for a, (score, text) in found.items() if score >= 2]


_INTRO = 400  # how far before the first recipient the sentence that introduces them is looked for


def _introduced(notice: str, findings: list[Finding]) -> None:
    """The sentence that introduces the recipients, when it says a remote server refused them ("Each of the following
    recipients was rejected by a remote mail server"): the context of each recipient whose own lines name no server."""
    at = notice.lower().find(findings[0].address)
    if at <= 0 or "remote" not in notice[max(0, at - _INTRO):at].lower():
        return
    cue = smtp.find_server(notice[max(0, at - _INTRO):at])
    if cue is None or cue.role != "remote":
        return
    for f in findings:
        if not f.context and smtp.find_server(f.diagnostic) is None:
            f.context = cue.evidence


def reporting_host(bounce: Bounce) -> str | None:
    """The host the notice names as its own, else that of a MAILER-DAEMON / postmaster sender (or one whose name is
    "Mail Delivery Subsystem"): its domain, or the host in that domain that gave the notice its Message-ID
    ("<...@mx1.example.org>" from postmaster@example.org)."""
    head = bounce.notice[:600]
    low = head.lower()
    m = _SELF_HOST.search(head, low)
    if m and not low[:m.start()].endswith(_OTHERS_SERVER):
        return m.group(1).rstrip(".").lower()
    local, _, domain = bounce.sender.partition("@")
    if domain and "." in domain and (local.lower() in (*_SELF_LOCALS, "mail-delivery-subsystem", "mailer", "mdaemon")
                                     or header(bounce.msg, "from").lower().startswith(_SELF_NAMES)):
        domain = domain.strip(">").lower()
        host = header(bounce.msg, "message-id").rpartition("@")[2].strip(" >").rstrip(".").lower()
        if host.endswith("." + domain) and _HOSTNAME.fullmatch(host):
            return host
        return _relayed_from(bounce, domain) or domain
    return None


_RECEIVED_HOST = re.compile(r"\b(from|by)\s+\[?([A-Za-z0-9.-]{1,253})", re.I)


def _relayed_from(bounce: Bounce, domain: str) -> str | None:
    """The host in the sender's domain that the notice's Received headers show it came from (the earliest hop
    first: "from notes7.example.net ... by mx.example.com"), for a notice whose From names only the domain."""
    try:
        fields = bounce.msg.get_all("received") or []
    except (TypeError, ValueError, LookupError):
        return None
    for value in reversed([str(v) for v in fields[:8]]):
        found = dict((k.lower(), v.rstrip(".").lower()) for k, v in reversed(_RECEIVED_HOST.findall(value[:500])))
        for key in ("from", "by"):
            host = str(found.get(key, ""))
            if host.endswith("." + domain) and _HOSTNAME.fullmatch(host):
                return host
    return None


class GenericText:
    name: ClassVar[str] = "generic"

    def sniff(self, bounce: Bounce) -> int:
        return 1 if bounce.notice.strip() else 0

    def about(self, bounce: Bounce, addresses: list[str]) -> Extract:
        """What the notice's text says about recipients another parser has read: each one's block and stage."""
        notice = bounce.notice
        low = notice.lower()
        wanted = [a for a in addresses if a in low]
        if not wanted:
            return Extract()
        blocks = recipient_blocks(notice, lead_ins=False,
                                  labels=label_words(bounce.detect or default_rules().detect))
        findings = [Finding(address=a, diagnostic=_best_block(blocks[a]), source="text") for a in wanted if a in blocks]
        self._finish(notice, findings, bounce.detect)
        return Extract(findings=findings)

    @staticmethod
    def _finish(notice: str, findings: list[Finding], detect: Detect | None = None) -> None:
        """The server's reply for a lone recipient whose block lacks it (or for recipients listed together, sharing
        one block that lacks it), and each recipient's SMTP stage."""
        if len({f.diagnostic for f in findings}) == 1 and not _CODE_LINE.search(findings[0].diagnostic):
            # a notice that puts the server's reply away from the address (Gmail, Exchange), or away from the line
            # that lists the addresses ("alice@example.net; bob@example.org" / ... / "Reason: 550 5.1.1 ...")
            quoted = code_paragraphs(notice)
            if quoted and (len(findings) == 1 or len({m.group(0) for m in rx.finditer(_REPLY_CODE, quoted)}) == 1):
                # (several recipients share it only when it is one reply: replies that differ are each one's)
                for f in findings:
                    f.diagnostic = f"{f.diagnostic} {quoted}".strip()
        t = transcript_stages(notice, detect)
        for f in findings:
            f.smtp_command = t.stages.get(f.address) or smtp.find_command(f.diagnostic) or (
                t.first if len(findings) == 1 else None) or (
                smtp.find_headed_command(notice) if len(findings) == 1 else None)
            f.remote_mta = f.remote_mta or t.hosts.get(f.address) or (t.first_host if len(findings) == 1 else None)

    def parse(self, bounce: Bounce) -> Extract:
        notice = bounce.notice
        listed, about = headed_sections(notice)
        excluded = _Excluded(bounce, listed)
        detect = bounce.detect or default_rules().detect
        blocks = recipient_blocks(notice, labels=label_words(detect))
        failed_header = header(bounce.msg, "x-failed-recipients")
        # the header lists addresses and nothing else: read each one whole, so that an internationalised local part
        # ("🐈@example.jp", which the address pattern of free text does not take) is kept too
        named = [a for a in (dsn.address_of(v) for v in failed_header.split(",")[:100]) if a]
        if blocks:  # the header only adds what the text names too
            low_notice = notice.lower()
            named = [a for a in named if a in low_notice]
        findings: list[Finding] = []
        order = named + [a for a in blocks if a not in named]
        for address in order:
            if address not in named and excluded.excludes(address, answered=_answered(blocks.get(address, []))):
                continue
            texts = blocks.get(address, [])
            best = _best_block(texts)
            findings.append(Finding(address=address, diagnostic=best, source="text",
                                    context=_other_blocks(texts, best)))
        for f in findings:
            m = rx.search(_ORIGINAL_LINE, f.diagnostic) if "original" in f.diagnostic.lower() else None
            if m:
                f.original_recipient = _clean(m.group(1))
                f.diagnostic = (f.diagnostic[:m.start()] + f.diagnostic[m.end():]).strip()
        originals = {f.original_recipient for f in findings if f.original_recipient}
        if originals:
            # the address the sender used, named elsewhere too (the original's "To:" quoted above): one recipient
            findings = [f for f in findings if f.address not in originals or f.original_recipient]
        if "generated from" in notice.lower() or "expanded from" in notice.lower():
            _as_sent(notice, findings, excluded)
        if not findings:
            # a session transcript with no address line: each "RCPT TO:<...>" a failure reply answered ("<<< 550
            # 5.1.1 No such mailbox here"); an accepted one is no failure
            for address, reply in transcript_stages(notice, detect).refused.items():
                if not excluded.excludes(address, answered=True):
                    findings.append(Finding(address=address, diagnostic=reply, source="text"))
        for sentence in (_ADDR_SENTENCE, phrase_sentence(detect.recipient_phrases),
                         _sentence_after(detect.recipient_after_phrases)):
            if findings:
                break
            if sentence is None:
                continue
            for m in rx.finditer(sentence, notice):
                for address in (m.group(1), *_listed_after(notice, m.end())[0]):
                    address = _clean(address)
                    if all(f.address != address for f in findings) and address not in excluded:
                        findings.append(Finding(address=address, source="text"))
        if not findings:
            findings = _scored(notice, excluded, bounce)
        if not findings:
            return Extract()
        _introduced(notice, findings)
        self._finish(notice, findings, detect)
        if len(findings) == 1 and not findings[0].diagnostic.strip():
            about = about or _reason_line(notice, detect.reason_labels)
            if about:
                findings[0].diagnostic = about
        return Extract(findings=findings, reporting_mta=reporting_host(bounce))
