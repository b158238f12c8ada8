"""``classify_reply()``: a reply received while sending (a synchronous ``550`` at RCPT TO) classified as a bounce
carrying it would be, provider rules included when the answering host is known."""

from __future__ import annotations

from .api import RulesArg, _ruleset
from .classify.engine import classify
from .classify.rules import COMMANDS
from .errors import InputError
from .formats.base import Finding
from .model import Recipient
from .parse import smtp

_MAX_REPLY = 8000  # characters of a reply that are read


def classify_reply(reply: str, *, recipient: str | None = None, host: str | None = None,
                   command: str | None = None, rules: RulesArg = None) -> Recipient:
    """Classify an SMTP reply (``"550 5.1.1 <a@example.net>: User unknown"``, multi-line replies joined or not).

    ``recipient`` is the address the reply was about; ``host`` the server that answered (its name decides which
    provider's rules apply: ``mta5.am0.yahoodns.net``); ``command`` the SMTP stage (CONNECT, HELO, EHLO, STARTTLS,
    AUTH, MAIL, RCPT, DATA, DATA-END). A 5xx reply is a failed recipient, a 4xx one a delayed recipient (the sender
    will try again) and a 2xx one a delivered one. Raises ``InputError`` for a stage that does not exist."""
    text = " ".join(str(reply)[:_MAX_REPLY].split())
    stage = command.upper() if command else None
    if stage is not None and stage not in COMMANDS:
        raise InputError(f"{command}: not an SMTP stage (use {', '.join(COMMANDS)})")
    code, status = smtp.find_pair(text)
    cls = status[0] if status else (str(code)[0] if code is not None else None)
    action = {"2": "delivered", "4": "delayed"}.get(cls or "", "failed")
    finding = Finding(address=(recipient or "").strip(), action=action, diagnostic=text,
                      diagnostic_type="smtp", remote_mta=host.strip().rstrip(".").lower() if host else None,
                      smtp_command=stage, source="reply")
    return classify(finding, notice="", reporting_mta=None, dsn_gateway=None, rules=_ruleset(rules))
