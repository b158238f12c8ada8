"""A mailing-list server's refusal of a post (fml and list servers that write like it): the list answers from its
administrative address that it did not distribute the message, and the recipient that failed is the list itself.

    From: party-admin@example.org
    Subject: You alice@example.com are not member (party ML)
    X-MLServer: fml [fml 4.0.3 release (20011202/4.0.3)]

    You are not a member of this mailing list <party@example.org>.

The list is named by the ``(NAME ML)`` tag of the Subject or the ``X-ML-Name`` header; its address is the one in the
text whose local part is that name. Without a name, a refusal that names a single address (other than the list's
administrative ones) names the list. Ordinary posts distributed by the list carry the same ``X-MLServer`` header but
come from their author, not from the list's own administrative address, and say none of these refusals.

Other list servers (Mailman, Sympa, ...) write the same refusal without the ``X-MLServer`` header: from the list's
administrative address, saying that the sender is no member and that the post was refused ("Your message to the
list team@... has been rejected: you are not a subscriber"; ``non_member_phrases`` and ``refusal_words`` in
detect.toml). A list that holds such a post for its moderator
refuses nothing (``list_phrases`` in detect.toml: the message is no notice).
"""

from __future__ import annotations

from typing import ClassVar

from ..classify.rules import default as default_rules
from ..parse import bounded as rx
from ..parse.address import PATTERN
from ..parse.address import clean as _clean
from ..parse.message import header
from .base import CERTAIN, Bounce, Extract, Finding

_ADMIN_SUFFIXES = ("-admin", "-ctl", "-owner", "-request", "-error", "-errors", "-bounces")
# the refusals list servers of this kind write, in the Subject or the first lines
_REFUSALS = ("not member", "not a member", "loop alert", "duplicated message-id", "rejected", "denied",
             "too big", "not allowed", "deny", "forbidden")
_ML_TAG = rx.compile(r"\(([\w.+-]{1,64}) ML\)\s*$")
_ADDRESS = PATTERN


def _list_name(bounce: Bounce) -> str:
    name = header(bounce.msg, "x-ml-name").strip().lower()
    if name:
        return name
    m = rx.search(_ML_TAG, bounce.subject)
    return m.group(1).lower() if m else ""


class MailingListRefusal:
    name: ClassVar[str] = "mlserver"
    vendor: ClassVar[bool] = True  # one product's layout, not a standard or generic one

    def sniff(self, bounce: Bounce) -> int:
        local = bounce.sender.partition("@")[0]
        if not local.endswith(_ADMIN_SUFFIXES):
            return 0
        said = f"{bounce.subject}\n{bounce.notice[:1000]}".lower()
        if header(bounce.msg, "x-mlserver").lower().startswith("fml"):
            return CERTAIN if any(w in said for w in _REFUSALS) else 0
        d = bounce.detect or default_rules().detect
        if bounce.dsn_texts or any(p in said for p in d.list_phrases):
            return 0  # a delivery report, or a post held for the moderator
        said = " ".join(said.split())
        return CERTAIN if any(w in said for w in d.non_member_phrases) and any(w in said for w in d.refusal_words) \
            else 0

    def parse(self, bounce: Bounce) -> Extract:
        name = _list_name(bounce)
        notice = bounce.notice[:4000]
        sender_domain = bounce.sender.partition("@")[2]
        candidates = [_clean(m.group(0)) for m in rx.finditer(_ADDRESS, notice)]
        candidates = [a for a in candidates if a != bounce.sender
                      and not a.partition("@")[0].endswith(_ADMIN_SUFFIXES)]
        address = next((a for a in candidates if name and a.partition("@")[0] == name), "")
        if not address and name and sender_domain:
            address = f"{name}@{sender_domain}"
        if not address and not name and len(set(candidates)) == 1:
            address = candidates[0]  # nothing names the list, and the refusal names one address: the list's
        if not address:
            return Extract()
        first = next((p for p in notice.split("\n\n") if p.strip()), "")
        return Extract(findings=[Finding(address=address, action="failed", diagnostic=" ".join(first.split())[:500],
                                         context=bounce.subject, source="text")])
