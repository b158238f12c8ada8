"""RFC 3464 delivery status notifications (and RFC 6533 ``message/global-delivery-status``).

    Content-Type: multipart/report; report-type=delivery-status; boundary="..."
    ...
    Content-Type: message/delivery-status

    Reporting-MTA: dns; mail.example.com

    Final-Recipient: rfc822; alice@example.net
    Action: failed
    Status: 5.1.1
    Remote-MTA: dns; mx.example.net
    Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown

Also reads the same fields when an MTA sends them inside a text/plain part.
"""

from __future__ import annotations

from typing import ClassVar

from ..parse import dsn
from .base import Bounce, Extract, Finding


class RFC3464:
    name: ClassVar[str] = "rfc3464"

    def sniff(self, bounce: Bounce) -> int:
        if bounce.dsn_texts:
            return 10
        if dsn.looks_like_dsn_text(bounce.notice):
            return 5
        return 0

    def parse(self, bounce: Bounce) -> Extract:
        texts = bounce.dsn_texts or ([bounce.notice] if dsn.looks_like_dsn_text(bounce.notice) else [])
        out = Extract()
        seen: set[str] = set()
        for text in texts:
            fields = dsn.parse_fields(text)
            m = fields.message
            if out.reporting_mta is None and m.get("reporting-mta"):
                out.reporting_mta = dsn.host_of(m.get("reporting-mta")) or None
            out.arrival_date = out.arrival_date or m.get("arrival-date") or None
            out.envelope_id = out.envelope_id or m.get("original-envelope-id") or None
            out.dsn_gateway = out.dsn_gateway or (dsn.host_of(m.get("dsn-gateway")) or None)
            for block in fields.recipients:
                address = (dsn.address_of(block.get("final-recipient"))
                           or dsn.address_of(block.get("x-actual-recipient"))
                           or dsn.address_of(block.get("original-recipient")))
                if not address:
                    continue
                diag_type, diagnostic = dsn.typed_value(block.get("diagnostic-code"))
                supplementary = block.get("x-supplementary-info")
                if supplementary and supplementary not in diagnostic:
                    diagnostic = f"{diagnostic} {supplementary}".strip()
                action = dsn.action_of(block.get("action"))
                if address in seen:  # the same recipient reported twice (two DSN parts): keep the first
                    continue
                seen.add(address)
                out.findings.append(Finding(
                    address=address,
                    action=action,
                    status=block.get("status") or None,
                    diagnostic=diagnostic,
                    diagnostic_type=diag_type,
                    remote_mta=dsn.host_of(block.get("remote-mta")) or None,
                    remote_ip=dsn.ip_of(block.get("remote-mta")),
                    original_recipient=dsn.address_of(block.get("original-recipient")) or None,
                    last_attempt=block.get("last-attempt-date") or None,
                    will_retry_until=block.get("will-retry-until") or None,
                    source="dsn",
                ))
        return out
