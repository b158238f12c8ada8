"""bounce-analyzer: read bounce messages and tell, for every failed recipient, what happened, which server said so,
whether the address is hard- or soft-bounced, and what to do about it.

    >>> import bounce_analyzer
    >>> report = bounce_analyzer.analyze(raw_bytes)
    >>> for r in report.recipients:
    ...     print(r.address, r.status, r.reason, r.verdict, r.hint)
"""

from __future__ import annotations

from .api import analyze, analyze_file
from .errors import BounceAnalyzerError, InputError, RulesError
from .explain import Explanation, explain
from .model import Evidence, Kind, Original, Problem, Recipient, Report, Responder, Role
from .options import DEFAULT, STRICT, Options

__version__ = "0.1.0"

__all__ = [
    "DEFAULT",
    "STRICT",
    "BounceAnalyzerError",
    "Evidence",
    "Explanation",
    "InputError",
    "Kind",
    "Options",
    "Original",
    "Problem",
    "Recipient",
    "Report",
    "Responder",
    "Role",
    "RulesError",
    "__version__",
    "analyze",
    "analyze_file",
    "explain",
]
