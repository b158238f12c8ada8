"""Exceptions, for misuse and I/O only; bad input becomes a ``Problem`` in the report instead.

    BounceAnalyzerError
     ├── InputError        a file or stream could not be read
     ├── RulesError        a rules file is invalid (names the file, the rule id and the field)
     ├── StoreError        the results store cannot be written (a full disk, an I/O error)
     ├── ScanError         a scan cannot go on (one of its worker processes died)
     └── PolicyError       a bounce policy is invalid or unknown (names the file and the field)
"""

from __future__ import annotations


class BounceAnalyzerError(Exception):
    """Base of every error this package raises on purpose."""


class InputError(BounceAnalyzerError):
    """An input could not be read."""


class RulesError(BounceAnalyzerError):
    """A rules file is invalid."""


class PolicyError(BounceAnalyzerError):
    """A bounce policy file is invalid, or names no policy that exists."""


class StoreError(BounceAnalyzerError):
    """The results store cannot be opened or written; the message names it and says how much it holds."""


class ScanError(BounceAnalyzerError):
    """A scan cannot go on; what was handed out before is stored."""
