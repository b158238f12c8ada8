"""Bounce policy benchmark: events per second through each shipped policy, and the time and peak memory of reading
a store's events, on a synthetic 60-day history.

    python bench/bench_policy.py                    # 20,000 addresses, 10 events each
    python bench/bench_policy.py --addresses 100000 --events 5

The history mixes what a list sees: recipient-side soft failures (a full mailbox), sending-side ones (a blocked
IP), hard failures, complaints and deliveries, spread at random (a fixed seed) over 60 days.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bounce_analyzer.batch.store import Store
from bounce_analyzer.policy import Event, decide, shipped_policies

START = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = [("soft", "recipient", "mailbox_full"), ("soft", "sender", "blocked"), ("soft", "network", "expired"),
         ("hard", "recipient", "user_unknown"), ("complaint", None, "feedback"), ("delivered", None, "delivered")]
WEIGHTS = [40, 30, 10, 5, 1, 14]


def history(addresses: int, per_address: int, seed: int = 1) -> list[Event]:
    rnd = random.Random(seed)
    out = []
    for a in range(addresses):
        for n in range(per_address):
            kind, fault, reason = rnd.choices(KINDS, WEIGHTS)[0]
            when = START + timedelta(seconds=rnd.randrange(60 * 86400))
            out.append(Event(f"user{a}@example.net", kind, when, f"msg-{a}-{n}", reason, fault))
    return out


def store_of(events: list[Event], path: Path) -> None:
    """A results store holding the events as messages with one recipient each."""
    Store(str(path)).close()
    actions = {"soft": "failed", "hard": "failed", "complaint": "complained", "delivered": "delivered"}
    con = sqlite3.connect(path)
    con.executemany("INSERT INTO messages (source_id, scanned_at, kind, is_bounce, date, report) "
                    "VALUES (?, ?, 'failure', 1, ?, '{}')",
                    [(e.source, e.date.isoformat(), e.date.isoformat()) for e in events])
    con.executemany("INSERT INTO recipients (source_id, idx, address, action, reason, verdict, fault) "
                    "VALUES (?, 0, ?, ?, ?, ?, ?)",
                    [(e.source, e.address, actions[e.type], e.reason,
                      e.type if e.type in ("hard", "soft") else None, e.fault) for e in events])
    con.commit()
    con.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--addresses", type=int, default=20000)
    p.add_argument("--events", type=int, default=10, help="events per address")
    args = p.parse_args()
    events = history(args.addresses, args.events)
    print(f"{len(events):,} events, {args.addresses:,} addresses, 60 days")
    for name in shipped_policies():
        t = time.perf_counter()
        decisions = decide(events, name)
        dt = time.perf_counter() - t
        print(f"  {name:<9} {len(events) / dt:>10,.0f} events/s  {len(decisions):>7,} decisions")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.sqlite"
        store_of(events, path)
        store = Store(str(path))
        t = time.perf_counter()
        n = len(store.suppressions())
        dt = time.perf_counter() - t
        tracemalloc.start()  # a second run, traced (tracing slows it down)
        store.suppressions()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        store.close()
        print(f"  Store.suppressions(): {dt:.2f} s for {len(events):,} stored recipients ({n:,} to suppress), "
              f"peak {peak / 2**20:.0f} MiB traced")


if __name__ == "__main__":
    main()
