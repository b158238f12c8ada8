"""The figures of a results store, for the terminal summary and the HTML report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from ..display import for_terminal
from ..parse import bounded as rx
from ..parse.address import ADDR
from .store import Store

_ADDRESS = rx.compile(f"<?{ADDR}>?")
_IP = rx.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b|\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b", rx.I)
_LONG_NUMBER = rx.compile(r"\b[0-9A-F]{6,}\b|\b\d{5,}\b", rx.I)
TOP = 10


def shape_of(diagnostic: str) -> str:
    """A diagnostic with its addresses, IPs and queue ids replaced, so that the same answer groups together."""
    text = " ".join(diagnostic.split())[:300]
    text = rx.sub(_ADDRESS, "<address>", text)
    text = rx.sub(_IP, "<ip>", text)
    return rx.sub(_LONG_NUMBER, "<id>", text)[:160]


@dataclass
class Summary:
    messages: int = 0
    problems: int = 0
    recipients: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    domains: Counter[str] = field(default_factory=Counter)
    reporting_mtas: Counter[str] = field(default_factory=Counter)
    roles: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)  # failed recipients by whose side the failure is on
    soft_faults: Counter[str] = field(default_factory=Counter)  # the soft ones alone
    diagnostics: Counter[str] = field(default_factory=Counter)
    suppress: int = 0


def summarize(store: Store, *, diagnostics: bool = True) -> Summary:
    """The store's figures; ``diagnostics=False`` leaves out the most frequent diagnostics (the costliest part,
    which the HTML report does not show)."""
    s = Summary()
    for kind, n, with_problems in store.query(
            "SELECT kind, COUNT(*), SUM(problems IS NOT NULL) FROM messages GROUP BY kind"):
        s.kinds[kind] = n
        s.messages += n
        s.problems += with_problems or 0
    for mta, n in store.query("SELECT reporting_mta, COUNT(*) FROM messages WHERE is_bounce AND reporting_mta "
                              "IS NOT NULL GROUP BY reporting_mta ORDER BY 2 DESC LIMIT ?", (TOP,)):
        s.reporting_mtas[mta] = n
    failed = "action = 'failed'"
    for column, counter in (("verdict", s.verdicts), ("reason", s.reasons), ("responder_role", s.roles),
                            ("fault", s.faults)):
        for value, n in store.query(f"SELECT {column}, COUNT(*) FROM recipients WHERE {failed} GROUP BY 1"):
            counter[value or "-"] = n
    for domain, n in store.query(f"SELECT domain, COUNT(*) FROM recipients WHERE {failed} GROUP BY 1 "
                                 "ORDER BY 2 DESC LIMIT ?", (TOP,)):
        s.domains[domain or "-"] = n
    s.recipients = sum(s.verdicts.values())
    for value, n in store.query(f"SELECT fault, COUNT(*) FROM recipients WHERE {failed} AND verdict = 'soft' "
                                "GROUP BY 1"):
        s.soft_faults[value or "-"] = n
    if diagnostics:
        for (diagnostic,) in store.iter_query(f"SELECT diagnostic FROM recipients WHERE {failed} AND diagnostic != ''"):
            s.diagnostics[shape_of(diagnostic)] += 1
    s.suppress = len(store.suppressions())  # what the default bounce policy says to stop mailing
    return s


def _table(out: TextIO, title: str, counts: Counter[str], total: int, limit: int = TOP) -> None:
    if not counts:
        return
    out.write(f"{title}\n")
    for value, n in counts.most_common(limit):
        share = f"{100 * n / total:5.1f}%" if total else ""
        out.write(f"  {n:>8,}  {share}  {for_terminal(value)}\n")


def print_summary(s: Summary, out: TextIO, *, where: str, skipped: int = 0, new: int = 0) -> None:
    out.write(f"\n{for_terminal(where)}: {s.messages:,} messages, {s.recipients:,} failed recipients")
    if skipped:
        out.write(f" ({new:,} analyzed now, {skipped:,} were already stored)")
    out.write("\n")
    if s.problems:
        out.write(f"  {s.problems:,} messages had problems (see the 'problems' column or field)\n")
    _table(out, "by kind", s.kinds, s.messages)
    _table(out, "by verdict (failed recipients)", s.verdicts, s.recipients)
    _table(out, "by reason", s.reasons, s.recipients, limit=15)
    _table(out, "by fault", s.faults, s.recipients)
    _table(out, "soft failures by fault", s.soft_faults, s.verdicts.get("soft", 0))
    _table(out, "by recipient domain", s.domains, s.recipients)
    _table(out, "by reporting MTA", s.reporting_mtas, sum(s.kinds[k] for k in ("failure", "delay")))
    _table(out, "by responder role", s.roles, s.recipients)
    _table(out, "top diagnostics", s.diagnostics, s.recipients)
    out.write(f"addresses to suppress: {s.suppress:,}\n")
