"""Report benchmark: the time, peak memory and page size of ``bounce-analyzer report`` on a large store.

    python bench/bench_report.py                    # a store of 100,000 messages
    python bench/bench_report.py --messages 20000

The store is made by scanning the shipped samples once (with ``--header X-Campaign-ID``) and copying their rows
in SQL until it holds the number of messages asked for; each copy gets its own source id and content key, and its
dates moved back by a number of days, so the time chart spans years as a real mailbox's does. The report is then
written by the real command line in a child process.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "bounce_analyzer"]


def build_store(db: Path, messages: int) -> int:
    subprocess.run([*CLI, "scan", "--db", str(db), "--format", "none", "--no-summary", "--no-progress", "--header",
                    "X-Campaign-ID", str(ROOT / "samples")], cwd=ROOT, check=True)
    c = sqlite3.connect(db)
    base = c.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    columns = [r[1] for r in c.execute("PRAGMA table_info(messages)")]
    rcols = [r[1] for r in c.execute("PRAGMA table_info(recipients)")]
    copies = -(-messages // base) - 1
    c.execute("CREATE TEMP TABLE seed AS SELECT * FROM messages")
    c.execute("CREATE TEMP TABLE seed_r AS SELECT * FROM recipients")
    for i in range(1, copies + 1):
        shift = f"-{(i * 3) % 2000} days"
        values = {col: col for col in columns}
        values["source_id"] = f"source_id || '#copy{i}'"
        values["message_key"] = f"message_key || '-{i}'"
        values["date"] = f"strftime('%Y-%m-%dT%H:%M:%S+00:00', date, '{shift}')"  # NULL stays NULL
        c.execute(f"INSERT INTO messages ({', '.join(columns)}) "
                  f"SELECT {', '.join(values[x] for x in columns)} FROM seed")
        rvalues = {col: col for col in rcols}
        rvalues["source_id"] = f"source_id || '#copy{i}'"
        rvalues["address"] = f"replace(address, '@', '+{i % 997}@')"
        c.execute(f"INSERT INTO recipients ({', '.join(rcols)}) SELECT {', '.join(rvalues[x] for x in rcols)} "
                  "FROM seed_r")
    c.commit()
    n = c.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    c.close()
    return int(n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--messages", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "big.sqlite"
        start = time.perf_counter()
        n = build_store(db, args.messages)
        with sqlite3.connect(db) as c:
            rows = c.execute("SELECT COUNT(*) FROM recipients WHERE action IN ('failed', 'delayed', 'complained')"
                             ).fetchone()[0]
        print(f"store: {n:,} messages, {rows:,} failure/delay/complaint rows, "
              f"{db.stat().st_size / 2**20:.0f} MB (built in {time.perf_counter() - start:.0f} s)")
        out = Path(tmp) / "report.html"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run([*CLI, "report", "--db", str(db), "-o", str(out)], cwd=ROOT, check=True,
                       stderr=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"report: {elapsed:.1f} s, peak memory {max(peak, before) / 1024:.0f} MB, "
              f"page {out.stat().st_size / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
