"""The notice of Apache James's notify mailets (and of the mobile-carrier gateways built on them): the error first,
then the envelope of the message that failed, with each recipient on an ``RCPT TO:`` line.

    Error message below:
    550 - Requested action not taken: no such user here

    Message details:
      Subject: Lunch on Friday
      Sent date: Tue Mar 03 10:15:00 GMT 2026
      MAIL FROM: alice@example.com
      RCPT TO: bob@example.net
      From: alice@example.com
      Size (in bytes): 1234
      Number of lines: 20

A line above the error ("Error: Invalid user address") is the gateway's summary of it. The wording of the two
headings is fixed by the product, which is what makes the layout a notice whoever forwards it and whatever its
Subject says (these notices often come as "Re: <the original subject>").
"""

from __future__ import annotations

from typing import ClassVar

from ..parse import bounded as rx
from ..parse.address import ADDR, PATTERN
from ..parse.address import clean as _clean
from .base import CERTAIN, Bounce, Extract, Finding

_ERROR_HEAD = "error message below:"
_DETAILS_HEAD = "message details:"
_RCPT = rx.compile(rf"^[ \t]*RCPT[ \t]+TO:[ \t]*((?:<?{ADDR}>?[ ,;]*)+)", rx.I | rx.M)
_ONE = PATTERN
_SUMMARY = rx.compile(r"^[ \t]*Error:[ \t]*(\S[^\n]{0,200})$", rx.I | rx.M)


def _sections(notice: str) -> tuple[str, str, str] | None:
    """(summary line, error text, details block), or None when the notice lacks either heading."""
    low = notice.lower()
    i = low.find(_ERROR_HEAD)
    j = low.find(_DETAILS_HEAD, i + 1) if i >= 0 else -1
    if i < 0 or j < 0:
        return None
    summary = rx.search(_SUMMARY, notice[:i])
    error = " ".join(notice[i + len(_ERROR_HEAD):j].split())[:2000]
    details = notice[j + len(_DETAILS_HEAD):j + len(_DETAILS_HEAD) + 4000]
    return (summary.group(1).strip() if summary else ""), error, details


class JamesNotify:
    name: ClassVar[str] = "james"
    vendor: ClassVar[bool] = True  # one product's layout, not a standard or generic one

    def sniff(self, bounce: Bounce) -> int:
        head = bounce.notice[:20000]
        if "etails:" not in head and "ETAILS:" not in head:
            return 0
        low = head.lower()
        if _ERROR_HEAD not in low or _DETAILS_HEAD not in low or "rcpt to:" not in low:
            return 0
        return CERTAIN

    def parse(self, bounce: Bounce) -> Extract:
        parts = _sections(bounce.notice)
        if parts is None:
            return Extract()
        summary, error, details = parts
        findings: list[Finding] = []
        for m in rx.finditer(_RCPT, details):
            for a in rx.finditer(_ONE, m.group(1)):
                address = _clean(a.group(0))
                if all(f.address != address for f in findings):
                    findings.append(Finding(address=address, diagnostic=error, context=summary, source="text",
                                            smtp_command=None))
        return Extract(findings=findings)
