"""``scan_message`` and ``all_failures`` with the signatures and return types of flufl.bounce's functions of the same
names, so that a program built on them (GNU Mailman's bounce runner) switches by changing one import::

    from bounce_analyzer.compat.flufl import all_failures, scan_message

Both take an ``email.message.Message`` and answer with frozensets of addresses as bytes. The answers come from this
package's analysis, and differ where it knows better: only failures on the recipient's side (an unknown, moved,
disabled or full mailbox; ``fault`` ``recipient`` or ``unknown``) are permanent; a failure on the sending side (a
blocklisted IP, a rate limit, a spam verdict), at a broken destination or in the network is temporary, so that a
list manager that scores permanent failures does not unsubscribe good subscribers when the sending IP is blocked.
Delay warnings are temporary; complaints, auto-replies and success notices are no failure at all.
"""

from __future__ import annotations

from email.message import Message
from email.policy import compat32

from ..api import analyze
from ..model import Report

Recipients = frozenset[bytes]
NoFailures: tuple[Recipients, Recipients] = (frozenset(), frozenset())
_PERMANENT_FAULTS = frozenset({"recipient", "unknown"})


def _report(msg: Message) -> Report:
    try:
        raw = msg.as_bytes(policy=compat32)
    except (UnicodeError, LookupError, ValueError):
        raw = msg.as_string(policy=compat32).encode("utf-8", "surrogateescape")
    return analyze(raw, source="message")


def _split(report: Report) -> tuple[Recipients, Recipients]:
    temporary: set[bytes] = set()
    permanent: set[bytes] = set()
    for r in report.recipients:
        if not r.address or r.verdict is None:
            continue
        # the address the list mailed (an alias the receiving side expanded is reported as the original recipient)
        address = (r.original_recipient or r.address).encode("utf-8", "surrogateescape")
        if r.action == "failed" and (r.fault or "unknown") in _PERMANENT_FAULTS:
            permanent.add(address)
        elif r.action in ("failed", "delayed"):
            temporary.add(address)
    return frozenset(temporary), frozenset(permanent)


def all_failures(msg: Message) -> tuple[Recipients, Recipients]:
    """The addresses that failed temporarily and those that failed permanently, as a pair of frozensets of bytes."""
    return _split(_report(msg))


def scan_message(msg: Message) -> Recipients:
    """The addresses that failed permanently, as a frozenset of bytes."""
    return _split(_report(msg))[1]
