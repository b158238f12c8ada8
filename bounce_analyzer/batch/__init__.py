"""Batch scanning: every message of one or more sources analyzed, stored and reported, none lost.

    >>> from bounce_analyzer import scan
    >>> for report in scan("bounces.mbox", store="results.sqlite", jobs=2):
    ...     print(report.source, [(r.address, r.verdict) for r in report.failed])

Reports come in input order. With a store, each message's results are committed together with its content key
(``message_key``), and messages already in the store are skipped, wherever they are found now: a scan that was
stopped, however abruptly, picks up where it stopped and counts nothing twice, and so does a scan of a mailbox that
was trimmed, compacted or moved since. A different message found where a stored one was (an mbox offset reused after
trimming) is stored beside it, its id followed by ``;key=`` and the start of its key.
Results are committed in small groups; a remote source's actions on processed mail (mark seen, move, delete) run
only for messages whose group is committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _lazy_names

# names are imported on first use: ``analyze`` reads its inputs through ``sources`` without loading the store
# (sqlite3) or the worker pool (multiprocessing)
_WHERE = {"Scanner": "scanner", "scan": "scanner", "Item": "sources", "Source": "sources",
          "message_key": "sources", "open_source": "sources"}

if TYPE_CHECKING:
    from .scanner import Scanner, scan
    from .sources import Item, Source, message_key, open_source

__all__ = ["Item", "Scanner", "Source", "message_key", "open_source", "scan"]

__getattr__ = _lazy_names(__name__, _WHERE)
