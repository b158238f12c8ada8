"""bounce-analyzer: read bounce messages and tell, for every failed recipient, what happened, which server said so,
whether the address is hard- or soft-bounced, and what to do about it.

    >>> import bounce_analyzer
    >>> report = bounce_analyzer.analyze(raw_bytes)
    >>> for r in report.recipients:
    ...     print(r.address, r.status, r.reason, r.verdict, r.hint)

Names are imported on first use, so that the command line starts quickly; ``dir()`` and completion list them all.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "analyze": "api", "analyze_file": "api", "scan": "batch.scanner",
    "explain": "explain", "Explanation": "explain", "classify_reply": "reply",
    "Store": "batch.store", "Tracker": "policy", "load_policy": "policy",
    "BounceAnalyzerError": "errors", "InputError": "errors", "RulesError": "errors",
    "Evidence": "model", "Kind": "model", "Original": "model", "Problem": "model", "Recipient": "model",
    "Report": "model", "Responder": "model", "Role": "model", "Reason": "model", "Verdict": "model", "Fault": "model",
    "Item": "batch.sources", "Source": "batch.sources", "message_key": "batch.sources", "open_source": "batch.sources",
    "DEFAULT": "options", "STRICT": "options", "Options": "options",
}

if TYPE_CHECKING:
    from .api import analyze, analyze_file
    from .batch.scanner import scan
    from .batch.sources import Item, Source, message_key, open_source
    from .batch.store import Store
    from .errors import BounceAnalyzerError, InputError, RulesError
    from .explain import Explanation, explain
    from .model import Evidence, Fault, Kind, Original, Problem, Reason, Recipient, Report, Responder, Role, Verdict
    from .options import DEFAULT, STRICT, Options
    from .policy import Tracker, load_policy
    from .reply import classify_reply


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The garbage collector paused (as it was again afterwards) while start-up makes the objects that live as long as
    the process: modules, classes, the rule set. Collecting while they are made finds next to nothing; a collection
    after each pause stands for some fifteen (about 5M of a one-message run's 430M instructions)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _lazy_names(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A package's ``__getattr__`` that imports each of its names from the module ``where`` gives on first use (and
    keeps it, so that the next use is a plain lookup)."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        with _collector_paused():
            value = getattr(import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


__getattr__ = _lazy_names(__name__, _WHERE)


def __dir__() -> list[str]:
    """The public API, imported or not yet (the helpers this module uses are left out)."""
    return sorted(__all__)


__all__ = [
    "DEFAULT",
    "STRICT",
    "BounceAnalyzerError",
    "Evidence",
    "Explanation",
    "Fault",
    "InputError",
    "Item",
    "Kind",
    "Options",
    "Original",
    "Problem",
    "Reason",
    "Recipient",
    "Report",
    "Responder",
    "Role",
    "RulesError",
    "Source",
    "Store",
    "Tracker",
    "Verdict",
    "__version__",
    "analyze",
    "analyze_file",
    "classify_reply",
    "explain",
    "load_policy",
    "message_key",
    "open_source",
    "scan",
]
