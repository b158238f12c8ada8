"""The registry of format parsers: one explicit, ordered tuple. Nothing registers itself.

Every parser sniffs every message; the analyzer reads recipients with the surest one (ties go to the earlier entry)
and lets the others fill in what it left empty. To add a layout: write a module with a class that keeps the
``FormatParser`` contract of ``base.py``, add it here, and add samples for it.
The readers are imported only by what reads messages (``explain`` and the rules loader do not need them).
"""

from __future__ import annotations

from .base import FormatParser
from .generic import GenericText
from .james import JamesNotify
from .mlserver import MailingListRefusal
from .rfc3464 import RFC3464
from .sesjson import SesJson

FORMATS: tuple[FormatParser, ...] = (
    RFC3464(),
    SesJson(),
    JamesNotify(),
    MailingListRefusal(),
    GenericText(),
)
