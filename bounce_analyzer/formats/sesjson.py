"""Amazon SES event notifications sent by e-mail: the JSON object SES publishes for a bounce, a delivery or a delay,
either on its own or wrapped in the Amazon SNS envelope whose ``Message`` field holds it as a string.

    {"Type" : "Notification", ..., "Message" : "{\\"notificationType\\":\\"Bounce\\",\\"bounce\\":{
        \\"bounceType\\":\\"Permanent\\",\\"bounceSubType\\":\\"General\\",
        \\"bouncedRecipients\\":[{\\"emailAddress\\":\\"alice@example.net\\",\\"action\\":\\"failed\\",
            \\"status\\":\\"5.1.1\\",\\"diagnosticCode\\":\\"smtp; 550 5.1.1 user unknown\\"}],
        \\"reportingMTA\\":\\"dsn; a1-2.smtp-out.example.com\\",\\"remoteMtaIp\\":\\"192.0.2.7\\"}, \\"mail\\":{...}}"}

Event publishing names the type ``eventType`` instead of ``notificationType``. A complaint (``"Complaint"``, with
``complainedRecipients``) is not a delivery notice: ``complaint`` finds one, and the analyzer reports it as feedback.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..parse import dsn
from .base import CERTAIN, Bounce, Extract, Finding

_MAX = 512 * 1024
# the list of recipients each notification type carries, and the action it means
_TYPES = {"bounce": ("bouncedRecipients", "failed"), "delivery": ("recipients", "delivered"),
          "deliverydelay": ("delayedRecipients", "delayed")}


def _loads(text: str) -> object:
    """The JSON value of the text; long lines folded by a mail system on the way ("\\n " inserted, after a "!" where
    Sendmail broke a line that was too long) are unfolded."""
    import json  # here: only a text with braces gets this far, and importing json cost every start-up 1.5 ms

    unfolded = text.replace("!\n ", "\n ") if "!\n " in text else text
    for attempt in (text, unfolded.replace("\n ", ""), unfolded.replace("\n", "")):
        try:
            return json.loads(attempt)
        except (ValueError, RecursionError):
            continue
    return None


def _notification(text: str) -> dict[str, Any] | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start or end - start > _MAX:
        return None
    obj = _loads(text[start:end + 1])
    if isinstance(obj, dict) and isinstance(obj.get("Message"), str):  # the SNS envelope
        obj = _loads(obj["Message"])
    return obj if isinstance(obj, dict) else None


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def complaint(bounce: Bounce) -> dict[str, Any] | None:
    """The SES notification of a complaint that the message carries, or None."""
    low = bounce.notice[:4000].lower()
    if "{" not in low or "complain" not in low or ("notificationtype" not in low and "eventtype" not in low):
        return None
    obj = _notification(bounce.notice)
    if obj is None or _str(obj.get("notificationType") or obj.get("eventType")).lower() != "complaint":
        return None
    return obj if isinstance(obj.get("complaint"), dict) else None


def complained_recipients(obj: dict[str, Any]) -> list[str]:
    """The addresses of a complaint notification's ``complainedRecipients``, each once."""
    out: list[str] = []
    recipients = obj["complaint"].get("complainedRecipients")
    for r in recipients[:1000] if isinstance(recipients, list) else ():
        address = dsn.address_of(_str(r.get("emailAddress"))) if isinstance(r, dict) else ""
        if address and address not in out:
            out.append(address)
    return out


def complaint_fields(obj: dict[str, Any]) -> dict[str, str]:
    """What a complaint notification says of the complaint and the message complained about: ``feedback_type``,
    ``arrival_date``, and the original's ``message_id``, ``from``, ``to``, ``subject`` and ``date``."""
    body = obj["complaint"]
    mail = _dict(obj.get("mail"))
    common = _dict(mail.get("commonHeaders"))

    def joined(value: object) -> str:
        return ", ".join(_str(v) for v in value if _str(v)) if isinstance(value, list) else _str(value)

    return {"feedback_type": _str(body.get("complaintFeedbackType")).lower(),
            "arrival_date": _str(body.get("arrivalDate")) or _str(body.get("timestamp")),
            **{name: joined(common.get(key)) for name, key in (("message_id", "messageId"), ("from", "from"),
                                                               ("to", "to"), ("subject", "subject"),
                                                               ("date", "date"))}}


class SesJson:
    name: ClassVar[str] = "ses-json"
    vendor: ClassVar[bool] = True  # one product's layout, not a standard or generic one

    def sniff(self, bounce: Bounce) -> int:
        head = bounce.notice[:4000]
        if "{" not in head:
            return 0
        low = head.lower()
        if ("notificationtype" in low or "eventtype" in low) and (
                "bouncedrecipients" in low or "delayedrecipients" in low or "smtpresponse" in low):
            return CERTAIN
        return 0

    def parse(self, bounce: Bounce) -> Extract:
        obj = _notification(bounce.notice)
        if obj is None:
            return Extract()
        kind = _str(obj.get("notificationType") or obj.get("eventType")).lower()
        if kind not in _TYPES:
            return Extract()
        key, action = _TYPES[kind]
        body = obj.get(kind) or obj.get({"deliverydelay": "deliveryDelay"}.get(kind, kind))
        if not isinstance(body, dict):
            return Extract()
        out = Extract(reporting_mta=dsn.host_of(_str(body.get("reportingMTA"))) or None,
                      arrival_date=_str(body.get("timestamp")) or None)
        remote = _str(body.get("remoteMtaIp")) or None
        kind_words = " ".join(w for w in (_str(body.get("bounceType")), _str(body.get("bounceSubType")),
                                          _str(body.get("delayType"))) if w)
        recipients = body.get(key)
        if not isinstance(recipients, list):
            return out
        for r in recipients[:1000]:
            if isinstance(r, str):  # a delivery lists bare addresses
                r = {"emailAddress": r}
            if not isinstance(r, dict):
                continue
            address = dsn.address_of(_str(r.get("emailAddress")))
            if not address or any(f.address == address for f in out.findings):
                continue
            diag_type, diagnostic = dsn.typed_value(_str(r.get("diagnosticCode")) or _str(body.get("smtpResponse")))
            out.findings.append(Finding(
                address=address, action=dsn.action_of(_str(r.get("action"))) or action,
                status=_str(r.get("status")) or None, diagnostic=diagnostic,
                diagnostic_type=diag_type or ("smtp" if diagnostic[:1].isdigit() else ""), remote_mta=remote,
                context=f"Amazon SES {kind} type: {kind_words}" if kind_words else "", source="json"))
        return out
