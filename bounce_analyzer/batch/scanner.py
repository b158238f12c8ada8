"""One scan over several sources into an optional store: the ``Scanner`` and ``scan()`` (see the package's
description)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..api import RulesArg
from ..model import Report
from ..options import DEFAULT, Options
from .sources import Item, Source, message_key, open_source
from .store import Store
from .workers import Analyzed, analyze_items

COMMIT_EVERY = 200  # messages
SKIPS_BEFORE_FLUSH = 32  # messages skipped in a row before what is in flight is answered anyway
COMMIT_SECONDS = 1.0
LOOKUP_GROUP = 32  # messages read ahead whose keys and ids are looked up in the store with one query each


def _groups(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """Items in groups of ``size``. When reading the next one fails, the items read before it come first (as they
    would without the grouping), then the error."""
    group: list[Item] = []
    it = iter(items)
    while True:
        try:
            item = next(it)
        except StopIteration:
            break
        except Exception:
            if group:
                yield group
            raise
        group.append(item)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


class Scanner:
    """One scan over several sources into an optional store. ``run()`` yields (item, report) pairs in order.
    ``reports=False`` says the caller reads only the JSON, the problems and the rows of each result, never its
    ``report``: worker processes then do not send it."""

    def __init__(self, sources: Sequence[str | Source], *, rules: RulesArg = None, options: Options = DEFAULT,
                 jobs: int = 1, store: Store | None = None, rescan: bool = False, reports: bool = True,
                 **remote: Any) -> None:
        self.specs = list(sources)
        self.reports = reports
        self.rules = rules
        self.options = options
        self.jobs = jobs
        self.store = store
        self.rescan = rescan
        self.remote = remote
        self.skipped = 0  # messages already in the store
        self.on_skip: Callable[[Item | None], None] | None = None
        self._handed_out: set[str] = set()  # keys of messages handed to analysis and not yet stored
        # the store's answers for the group of messages being checked: the keys stored, the key at each id that has
        # a row; None once the store has changed since it was asked
        self._known: tuple[set[str], dict[str, str | None]] | None = None

    def open(self, spec: str | Source) -> Source:
        if isinstance(spec, str):
            return open_source(spec, self.options.max_size, **self.remote)
        return spec

    def _done(self, source_id: str) -> bool:
        if self.store is None or self.rescan or not self.store.has(source_id):
            return False
        self._skip(None)
        return True

    def _skip(self, item: Item | None) -> None:
        self.skipped += 1
        if self.on_skip:
            self.on_skip(item)

    def _keyed(self, items: Iterable[Item]) -> Iterator[Item | None]:
        """Each message with its content key; without ``rescan``, those stored already (or met before in this
        scan) are skipped, and a None stands for every run of skipped messages (so that what was handed out is
        answered without waiting for a new message). A store from before keys existed is trusted by location, as
        it was kept: a row there without a key gets the key of the message found at its id.

        The store is asked about a group of messages at once (a query for each message took longer than storing
        it); once it has changed since (results were stored, a key was set), it is asked message by message."""
        store = self.store
        skipped = 0
        for group in _groups(items, LOOKUP_GROUP):
            keys = [message_key(i.raw) if i.error is None and store is not None else None for i in group]
            self._look_up([(i, k) for i, k in zip(group, keys, strict=True) if k is not None])
            for item, k in zip(group, keys, strict=True):
                if skipped >= SKIPS_BEFORE_FLUSH:
                    skipped = 0
                    yield None
                if k is None or store is None:  # no store, or a message that could not be read
                    yield item
                    continue
                if k in self._handed_out or (not self.rescan and self._has_key(store, k)):
                    self._skip(item)
                    skipped += 1
                    continue
                stored, stored_key = self._key_at(store, item.id)
                if stored and stored_key is None and not self.rescan:
                    store.set_key(item.id, k)
                    self._known = None
                    self._skip(item)
                    skipped += 1
                    continue
                self._handed_out.add(k)
                skipped = 0
                if stored and stored_key not in (None, k):  # another message sat here when that row was stored
                    yield item.keyed(k, f"{item.id};key={k[:16]}")
                else:
                    yield item.keyed(k)

    def _look_up(self, keyed: list[tuple[Item, str]]) -> None:
        """Ask the store about these messages' keys and ids at once (see ``_has_key`` and ``_key_at``)."""
        if self.store is None or not keyed:
            self._known = None
            return
        stored = self.store.stored_keys([k for _, k in keyed]) if not self.rescan else set()
        self._known = (stored, self.store.keys_at([i.id for i, _ in keyed]))

    def _has_key(self, store: Store, k: str) -> bool:
        return k in self._known[0] if self._known is not None else store.has_key(k)

    def _key_at(self, store: Store, source_id: str) -> tuple[bool, str | None]:
        if self._known is None:
            return store.key_at(source_id)
        at = self._known[1]
        return (source_id in at, at.get(source_id))

    def sources(self) -> Iterator[Source]:
        for spec in self.specs:
            yield self.open(spec)

    def run(self, sources: Iterable[Source] | None = None) -> Iterator[tuple[Item, Analyzed]]:
        for source in sources if sources is not None else self.sources():
            try:
                yield from self._run_one(source)
            finally:
                source.close()

    def _run_one(self, source: Source) -> Iterator[tuple[Item, Analyzed]]:
        pending: list[tuple[Item, Analyzed]] = []
        last = time.monotonic()
        try:
            for item, result in analyze_items(self._keyed(source.items(self._done)), rules=self.rules,
                                              options=self.options, jobs=self.jobs, packed=self.store is not None,
                                              reports=self.reports):
                pending.append((item, result))  # first: whatever happens while the caller has it, it is stored
                yield item, result
                if len(pending) >= COMMIT_EVERY or time.monotonic() - last >= COMMIT_SECONDS:
                    group, pending = pending, []  # if storing fails, the finally below does not try it again
                    self._commit(source, group)
                    last = time.monotonic()
        finally:
            # what was handed out is stored even when the scan stops early (an error, Ctrl-C, a closed pipe)
            self._commit(source, pending)

    def _commit(self, source: Source, results: list[tuple[Item, Analyzed]]) -> None:
        if not results:
            return
        if self.store is not None:
            self.store.save([(r.rows, item.size if item.size >= 0 else None) for item, r in results],
                            [item.key for item, _ in results])
            self._known = None  # what the store was asked before this is out of date
            self._handed_out.difference_update(item.key for item, _ in results if item.key)
            source.after_stored([(item, r.acts_on) for item, r in results])


def scan(source: str | Source | Sequence[str | Source], *, rules: RulesArg = None, options: Options = DEFAULT,
         jobs: int = 1, store: str | None = None, rescan: bool = False, **remote: Any) -> Iterator[Report]:
    """Analyze every message of a source (a path, ``-``, an ``imap[s]://`` or ``pop3[s]://`` URL, or several),
    in input order. With ``store`` (an SQLite file), results are stored and messages already stored are skipped.

    ``remote`` takes the options of mailbox sources: ``password_env``, ``netrc_file``, ``plaintext``, ``ca_file``,
    ``move_to``, ``mark_seen`` (IMAP) and ``delete`` (POP3); the actions run only with a store.
    """
    specs = [source] if isinstance(source, str) or not isinstance(source, Sequence) else list(source)
    db = Store(store, durable=bool(remote.get("delete"))) if store else None
    try:
        scanner = Scanner(specs, rules=rules, options=options, jobs=jobs, store=db, rescan=rescan, **remote)
        for _, result in scanner.run():
            yield result.report
    finally:
        if db is not None:
            db.close()
