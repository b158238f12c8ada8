"""Options: one immutable object of knobs, with named presets built by ``dataclasses.replace``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """Limits and switches of one analysis (see the README's Library section)."""

    max_size: int = 10 * 1024 * 1024  # bytes of a message that are analyzed; the rest is cut off and reported
    max_text: int = 256 * 1024  # characters of notice text, and of delivery-status fields, read per message
    regex_timeout: float = 0.5  # seconds one pattern may run on one text before it is given up on
    extra_headers: tuple[str, ...] = ()  # headers of the original message to report as well (e.g. "X-Campaign-ID")
    strict: bool = False  # raise instead of reporting a problem (for tests and debugging)
    # self-checks of how well the generic path stands alone: switch off the provider rule files and vendor readers
    # named here ("yahoo", "ses-json"), or all of them ("vendor")
    ablate: tuple[str, ...] = ()

    def replace(self, **changes: Any) -> Options:
        return replace(self, **changes)


DEFAULT = Options()
PASSWORD_ENV = "BOUNCE_ANALYZER_PASSWORD"  # where a mailbox source reads its password by default
STRICT = DEFAULT.replace(strict=True)
