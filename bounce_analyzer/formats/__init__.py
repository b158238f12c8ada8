"""The format readers, each in a module of its own, and the contract they keep (``base.py``); ``registry.py``
lists them in the order they are tried."""

from __future__ import annotations

from .base import CERTAIN, Bounce, Extract, Finding, FormatParser

__all__ = ["CERTAIN", "Bounce", "Extract", "Finding", "FormatParser"]
