"""Scan benchmarks: throughput on a synthetic mailbox, peak memory on a large mbox, resume after a kill.

    python bench/bench_scan.py                      # 100,000 messages built from samples/, 1 and 2 jobs
    python bench/bench_scan.py --messages 20000 --jobs 1 2
    python bench/bench_scan.py --gigabytes 1        # peak memory on a 1 GB mbox (2 jobs)
    python bench/bench_scan.py --resume             # time to pick up again after a SIGKILL
    python bench/bench_scan.py --messages 20000 --ceiling   # what a second process can bring on this machine

The mailbox is an mbox of the shipped samples repeated in turn (with a unique Message-ID header each), written to a
temporary folder. Every run is the real command line, ``bounce-analyzer scan --db ... --format none``, in a child
process; peak memory is the largest sum of the resident sets of the command and its workers, sampled every 0.1 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CMD = [sys.executable, "-m", "bounce_analyzer", "scan", "--format", "none", "--no-summary", "--no-progress"]


def samples() -> list[bytes]:
    return [p.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            for p in sorted((ROOT / "samples").rglob("*.eml"))]


def build_mbox(path: Path, *, messages: int = 0, size: int = 0, pad: int = 0) -> int:
    """Write an mbox of ``messages`` messages (or of at least ``size`` bytes); returns the message count."""
    pool = samples()
    filler = (b"X-Padding: " + b"x" * 70 + b"\n") * (pad // 82) if pad else b""
    n = written = 0
    with path.open("wb") as fh:
        while (messages and n < messages) or (size and written < size):
            raw = pool[n % len(pool)]
            body = b"From bench@example.com Mon Jan  1 00:00:00 2024\nX-Bench-Id: %d\n" % n + filler + raw
            if not body.endswith(b"\n"):
                body += b"\n"
            body = body.replace(b"\nFrom ", b"\n>From ") + b"\n"
            fh.write(body)
            written += len(body)
            n += 1
    return n


def tree_rss(pid: int) -> int:
    """Resident memory in bytes of a process and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def run(mbox: Path, db: Path, jobs: int) -> tuple[float, float]:
    """(seconds, peak resident memory in MB of the command and its workers together)."""
    t = time.perf_counter()
    proc = subprocess.Popen([*CMD, "--db", str(db), "--jobs", str(jobs), str(mbox)], cwd=ROOT)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.1)
    elapsed = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(f"scan failed with {proc.returncode}")
    return elapsed, peak / 1024**2


def ceiling(mbox: Path, tmp: Path, n: int) -> None:
    """One 1-job scan alone, then two of the same mailbox at once (each into its own store): how much faster two
    independent processes get through the work than one, the most a second job could bring here."""
    alone, _ = run(mbox, tmp / "alone.sqlite", 1)
    t = time.perf_counter()
    procs = [subprocess.Popen([*CMD, "--db", str(tmp / f"pair{i}.sqlite"), "--jobs", "1", str(mbox)], cwd=ROOT)
             for i in range(2)]
    if any(p.wait() for p in procs):
        raise SystemExit("a scan failed")
    both = time.perf_counter() - t
    print(f"one 1-job scan alone: {n / alone:,.0f} msg/s ({alone:.1f} s); two at once: {2 * n / both:,.0f} msg/s "
          f"together ({both:.1f} s): {2 * alone / both:.2f} times one")


def stored(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as c:
        total = c.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        distinct = c.execute("SELECT COUNT(DISTINCT source_id) FROM messages").fetchone()[0]
    return total, distinct


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--gigabytes", type=float, default=0, help="measure peak memory on an mbox this large")
    ap.add_argument("--pad", type=int, default=0, help="bytes of extra header per message (bigger messages)")
    ap.add_argument("--resume", action="store_true", help="kill a scan half-way, then time the resumed scan")
    ap.add_argument("--ceiling", action="store_true", help="time two independent 1-job scans at once against one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        mbox = Path(tmp) / "bounces.mbox"
        if args.gigabytes:
            n = build_mbox(mbox, size=int(args.gigabytes * 1024**3), pad=args.pad)
        else:
            n = build_mbox(mbox, messages=args.messages, pad=args.pad)
        mb = mbox.stat().st_size / 1024**2
        print(f"mailbox: {n:,} messages, {mb:,.0f} MB")
        if args.ceiling:
            ceiling(mbox, Path(tmp), n)
            return
        if args.resume:
            db = Path(tmp) / "resume.sqlite"
            proc = subprocess.Popen([*CMD, "--db", str(db), "--jobs", str(args.jobs[-1]), str(mbox)], cwd=ROOT)
            time.sleep(max(1.0, n / 4000))
            os.kill(proc.pid, signal.SIGKILL)  # the workers go too: they die with their parent's pipe
            proc.wait()
            done_before, _ = stored(db)
            elapsed, _ = run(mbox, db, args.jobs[-1])
            total, distinct = stored(db)
            print(f"killed after {done_before:,} stored; resumed and finished in {elapsed:.1f} s; "
                  f"{total:,} rows for {distinct:,} distinct messages of {n:,}")
            skip, _ = run(mbox, db, args.jobs[-1])
            print(f"run again on the finished store: {skip:.1f} s to find all {n:,} messages stored "
                  f"({skip / n * 1e6:.0f} µs a message)")
            return
        for jobs in args.jobs:
            db = Path(tmp) / f"jobs{jobs}.sqlite"
            elapsed, peak = run(mbox, db, jobs)
            total, _ = stored(db)
            print(f"jobs={jobs}: {n / elapsed:,.0f} msg/s ({elapsed:.1f} s), {total:,} stored, "
                  f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
