"""What kind of message this is, before any recipient is read: a notice (failure or delay), an automatic reply, a
challenge, a list's moderation notice or a lure dressed as a notice, or ordinary mail. The word lists are data
(``rules/detect.toml``); the checks read the notice's own words, never the copy of the original it carries."""

from __future__ import annotations

from email.message import Message
from functools import cached_property

from .classify.rules import RuleSet
from .formats import Bounce
from .formats.generic import code_paragraphs, label_line, phrase_sentence
from .original import verp_recipient
from .parse import bounded as rx
from .parse import dsn as dsn_mod
from .parse.address import in_header
from .parse.dsn import address_of
from .parse.message import content_param, header, walk

_REPLY_SUBJECT = rx.compile(r"^\s*(?:re|aw|sv|antw|vs|r|rif|res)\s*:", rx.I)


# (at most 64 characters, as RFC 5321 allows: from each place a run may start, the pattern reads no further, so a
# long run with no "@" after it costs time in its length, not in the square of it)
_LOCAL_PART = rx.compile(r"([^\s<>\"@]{1,64})@")


def _local_part(address: str) -> str:
    m = rx.search(_LOCAL_PART, address)
    return m.group(1).lower() if m else address.lower().strip()


def _any(text: str, words: tuple[str, ...]) -> bool:
    return any(map(text.__contains__, words))


class Signals:
    """What the headers and text say about the kind of message, before any recipient is read. Each signal is
    worked out only when asked for, since a delivery-status part settles most questions at once."""

    def __init__(self, b: Bounce, rules: RuleSet) -> None:
        self.b = b
        self.rules = rules
        self.d = rules.detect

    @cached_property
    def _subject(self) -> str:
        return self.b.subject.lower()

    @cached_property
    def _notice(self) -> str:
        return self.b.notice[:8000].lower()

    @cached_property
    def _flat(self) -> str:
        """The notice's first 8000 characters, lower-cased, with white space made single: a sentence wrapped onto the
        next line ("could\nnot be sent") is still the sentence. Made only when the words were not found as written."""
        return " ".join(self._notice.split())

    @cached_property
    def _lead(self) -> str:
        """The notice's own words, without the later text parts that may carry a copy of what it is about."""
        return self.b.lead[:8000].lower()

    @cached_property
    def bounce_sender(self) -> bool:
        """Whether the From is one that sends delivery notices (MAILER-DAEMON, postmaster, ...)."""
        return _any(_local_part(self.b.sender), self.d.bounce_senders) or "mailer-daemon" in self.b.sender

    def own_addresses(self, addresses: list[str]) -> bool:
        """Whether every one of these addresses is at the sender's own domain."""
        domain = self.b.sender.rpartition("@")[2].strip(" >").lower()
        return bool(domain and addresses) and all(a.rpartition("@")[2].lower() == domain for a in addresses)

    @cached_property
    def bounce(self) -> bool:
        b, d = self.b, self.d
        if b.dsn_texts or b.report_type in ("delivery-status", "global-delivery-status") \
                or header(b.msg, "x-failed-recipients") or dsn_mod.looks_like_dsn_text(b.notice):
            return True
        sender = self.bounce_sender
        if not sender and (header(b.msg, "list-unsubscribe") or header(b.msg, "list-id")):
            # a list's post or a newsletter, sent by a person or a sender of bulk mail: a delivery system's notice
            # carries no list headers of its own (the copy of the original inside it may)
            return False
        subject = _any(self._subject, d.bounce_subjects)
        if sender and subject:
            return True
        if subject and self.rules.gateway_signed(self._lead) is not None:
            # a filtering product's notice, whose Subject says what it did ("Message blocked: ..."): its words
            # are the product's own ("was blocked by the Proofpoint Essentials filter"), in no list of phrases
            return True
        notice = self._notice
        if not (_any(notice, d.bounce_phrases) or _any(notice, d.delay_phrases)):
            notice = self._flat
            if not (_any(notice, d.bounce_phrases) or _any(notice, d.delay_phrases)) and not (
                    sender and code_paragraphs(b.notice)):
                # (a warning that delivery goes on is a notice too: "has not yet been delivered"; so is a delivery
                # system's own message that quotes a server's reply in words no list has: ZMailer's "FAILED:" blocks)
                return False
        if not (sender or subject):
            # neither From nor Subject says so: the words of a notice still do, with a server's failure reply
            # quoted in them or more than one of them, unless it is a person's reply, or it names no address and
            # carries no copy of an original and was not sent to a VERP return address (a notice tells which
            # recipient failed; "the parcel could not be delivered" in a person's letter does not)
            if "@" not in self._notice and b.original is None and not verp_recipient(
                    header(b.msg, "to"), header(b.msg, "delivered-to"), header(b.msg, "x-original-to")):
                return False
            # (one sentence is counted once: "could not be delivered" also holds "not be delivered"; a sentence that
            # says delivery goes on counts as one of a notice: "Delivery attempts are still pending for the following
            # address(es)")
            found = [p for p in (*d.bounce_phrases, *d.delay_phrases) if p in notice]
            said = sum(1 for p in found if not any(p != q and p in q for q in found))
            if said == 1 and self.rules.gateway_signed(self._lead) is not None:
                said = 2  # a filtering product's signature says it too: its notice, whatever its Subject
            if said == 1 and not code_paragraphs(b.notice) and self._names_recipient:
                said = 2  # it names the recipient as a notice does ("Recipient: ADDRESS", "Your message to ADDRESS")
            return (said > 1 or bool(code_paragraphs(b.notice))) and not (
                rx.match(_REPLY_SUBJECT, b.subject) or header(b.msg, "in-reply-to"))
        # a person's reply that talks about a bounce is not one
        return sender or not (rx.match(_REPLY_SUBJECT, b.subject) or header(b.msg, "in-reply-to"))

    @cached_property
    def _names_recipient(self) -> bool:
        """Whether the notice names the recipient as a notice does and a person's letter does not: on a line of its
        own after a recipient's label ("Adresse du destinataire : ADDRESS", "Empfänger<TAB>ADDRESS" in a table; an
        "E-mail address:" label is no recipient's), or as "your message to ADDRESS" (a person writes of "my message"
        or "I sent ... to"); not the notice's own addressee, nor an address at the sender's own domain or the
        addressee's (a contact address)."""
        b = self.b
        own = {b.sender.rpartition("@")[2].strip(" >").lower(), *(a.rpartition("@")[2] for a in in_header(
            header(b.msg, "to")))} - {""}
        mine = in_header(header(b.msg, "to")) | {b.sender.lower()}

        def other(address: str) -> bool:
            return bool(address) and address not in mine and address.rpartition("@")[2] not in own

        lead = b.lead[:8000]
        for line in lead.split("\n"):
            found = label_line(line, self.d.recipient_labels) if "@" in line and len(line) <= 300 else None
            if found is not None and other(address_of(found[0])):
                return True
        yours = phrase_sentence(self.d.your_message_phrases)
        return yours is not None and any(other(address_of(m.group(1))) for m in rx.finditer(yours, lead))

    @cached_property
    def complaint(self) -> bool:
        """A complaint that is not an ARF report: a feedback loop's notice whose Subject says so, carrying a copy of
        the message complained about, or that copy sent bare (``bare_complaint``)."""
        return (self.b.original is not None and _any(self._subject, self.d.complaint_subjects)
                and not self.b.dsn_texts) or bare_complaint(self.b, self.d.complaint_copy_headers)

    @cached_property
    def delay(self) -> bool:
        return _any(self._subject, self.d.delay_subjects) or _any(self._notice, self.d.delay_phrases)

    @cached_property
    def challenge(self) -> bool:
        """A challenge/response system asks the sender to prove to be a person before the message is delivered: in
        words it is known by, or with a link, a request to confirm or verify and the message said to be held
        ("Ihre Nachricht wurde zurückgehalten. Bitte bestätigen Sie ...: https://..."), unless the words are a
        lure's ("click here to verify your account") or a list moderator's ("held until the list moderator"). A
        reply that says it is one by RFC 3834 ("Auto-Submitted: auto-replied") may ask to "click the link": a lure
        dresses as a server's notice, not as a person's automatic reply."""
        lead, d = self._lead, self.d
        if _any(lead, d.challenge_phrases):
            return True
        return ("http://" in lead or "https://" in lead) and _any(lead, d.challenge_verbs) \
            and _any(lead, d.held_phrases) and not _any(lead, d.list_phrases) and (
                self.auto_replied or not _any(lead, d.lure_phrases))

    @cached_property
    def auto_replied(self) -> bool:
        """Whether the message says by RFC 3834's header that it is an automatic reply."""
        return header(self.b.msg, "auto-submitted").lower().startswith("auto-replied")

    @cached_property
    def look_alike(self) -> bool:
        """Dressed as a notice, but not one: a list's moderation notice, or spam and phishing with a bounce's
        Subject. Only asked of messages with no delivery-status part and no X-Failed-Recipients."""
        b, d = self.b, self.d
        if _any(self._lead, d.list_phrases):
            return True
        if b.original is not None:
            return False  # a copy of the message that failed: a real notice carries one, a lure has none
        if _lure_attached(b.msg, d.lure_attachments):
            return True
        return ("http://" in self._lead or "https://" in self._lead) and _any(self._lead, d.lure_phrases)

    @cached_property
    def autoreply(self) -> bool:
        b, d = self.b, self.d
        return bool(
            any(header(b.msg, h) for h in d.autoreply_headers)
            or self.auto_replied
            or header(b.msg, "precedence").lower() in ("auto_reply", "auto-reply")
            or _any(self._subject, d.autoreply_subjects)
        )


def bare_complaint(b: Bounce, copy_headers: tuple[str, ...]) -> bool:
    """Whether the message is a feedback loop's copy of a message complained about, sent with no report around it:
    its own headers hold one that only such a copy carries."""
    return not b.dsn_texts and any(header(b.msg, h) for h in copy_headers)


def _lure_attached(msg: Message, endings: tuple[str, ...]) -> bool:
    """Whether a part is an attachment whose file name ends as a program or an archive does."""
    for part in walk(msg):
        if part.is_multipart():
            continue
        name = (content_param(part, "name") or _disposition_filename(part)).strip('"').lower()
        if name and name.endswith(endings):
            return True
    return False


def _disposition_filename(part: Message) -> str:
    value = header(part, "content-disposition").lower()
    i = value.find("filename=")
    return value[i + 9:].split(";", 1)[0].strip() if i >= 0 else ""


def unsubscribe_request(b: Bounce) -> bool:
    """A mail program's automatic request to leave a list (Apple Mail's "unsubscribe" message, sent to the
    address of a List-Unsubscribe mailto: link)."""
    if header(b.msg, "x-apple-unsubscribe").lower() == "true":
        return True
    return b.subject.strip().lower() == "unsubscribe" and bool(header(b.msg, "auto-submitted"))
