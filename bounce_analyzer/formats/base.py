"""The contract every format parser keeps, and the raw facts it hands back.

A format parser reads one layout of bounce notice. It says how sure it is that a message has its layout
(``sniff``: 0 = not mine, higher = surer; it looks only at headers and the first lines), and then extracts what the
notice says about each recipient (``parse``). It never decides a reason or a verdict: that is the rules' job.
Neither method may raise on any input; a parser that cannot read a message returns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:  # the classifier and ``explain`` use these types without reading any message
    from email.message import Message

    from ..classify.rules import Detect

# A sniff score at or above this says the layout alone makes the message a notice: headings and field names that
# only a delivery report carries, whatever its sender and Subject say (gateways often send "Re: <subject>").
CERTAIN = 8


@dataclass(slots=True)
class Finding:
    """What a notice says about one recipient, as found. Empty fields are simply not known."""

    address: str
    action: str | None = None  # failed / delayed / delivered / relayed / expanded
    status: str | None = None  # the Status field (or a code the layout puts in its place)
    diagnostic: str = ""  # the server's or the MTA's own words about this recipient
    diagnostic_type: str = ""  # "smtp" when the words are an SMTP reply, "x-postfix" etc. when the MTA wrote them
    remote_mta: str | None = None
    remote_ip: str | None = None  # the address the Remote-MTA field gives beside it ("dns; mx.example.net (192.0.2.1)")
    smtp_command: str | None = None
    original_recipient: str | None = None
    last_attempt: str | None = None
    will_retry_until: str | None = None
    context: str = ""  # other text the notice has about this recipient (not reported, used for cues)
    source: str = ""  # "dsn" or "text": which part of the message it was read from


@dataclass(slots=True)
class Extract:
    """Everything one parser found in one message."""

    findings: list[Finding] = field(default_factory=list)
    reporting_mta: str | None = None
    arrival_date: str | None = None
    envelope_id: str | None = None
    dsn_gateway: str | None = None


@dataclass(slots=True)
class Bounce:
    """One message, parsed once and shared by every parser."""

    msg: Message
    subject: str
    sender: str  # the bounce's From address, lower-cased
    report_type: str  # of a multipart/report: "delivery-status", "feedback-report", ...
    notice: str  # the human-readable text of the notice, without the attached original
    dsn_texts: list[str]  # the text of each message/delivery-status part
    original: Message | None = None  # the attached original message, or its headers
    quoted: str = ""  # the notice's text from the original-message marker on (a quoted or forwarded message)
    lead: str = ""  # the notice's first text part: its own words, without parts that may carry a copy of the original
    detect: Detect | None = None  # the rules' word lists the readers use (None: the shipped rules')


class FormatParser(Protocol):
    name: ClassVar[str]

    def sniff(self, bounce: Bounce) -> int: ...

    def parse(self, bounce: Bounce) -> Extract: ...


class Enricher(Protocol):
    """A parser that can also say, more cheaply than ``parse``, what its layout tells about recipients another
    parser has read (``about``); the analyzer asks it that instead when it is not the surest."""

    def about(self, bounce: Bounce, addresses: list[str]) -> Extract: ...
