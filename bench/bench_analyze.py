"""Throughput of analyze() next to a bare stdlib parse of the same messages, in one run.

    python bench/bench_analyze.py [DIR ...] [--rounds 5]

DIR defaults to samples/. Every regular file under each DIR is read into memory first, so disk speed does not
count. Prints messages per second for both, the ratio, the peak resident memory, and the time analyze() takes
on one bounce that carries a 15 MB attachment.
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import os
import resource
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bounce_analyzer import analyze  # noqa: E402


def load(dirs: list[str]) -> list[bytes]:
    out = []
    for d in dirs:
        for root, _, files in os.walk(d):
            for name in sorted(files):
                if name.endswith((".toml", ".md")) or name.startswith("."):
                    continue
                out.append(Path(root, name).read_bytes())
    return out


def one_pass(fn, messages: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in messages:
        fn(raw)
    return len(messages) / (time.perf_counter() - start)


def bare_parse(raw: bytes) -> object:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def rates(messages: list[bytes], rounds: int) -> tuple[float, float, float]:
    """Median rates of the bare parse and of analyze(), and the median of their per-round ratios. The two alternate
    round by round, so that a slower or faster spell of a shared machine weighs on both alike."""
    bare, full, ratio = [], [], []
    for _ in range(rounds):
        b = one_pass(bare_parse, messages)
        f = one_pass(analyze, messages)
        bare.append(b)
        full.append(f)
        ratio.append(f / b)
    return statistics.median(bare), statistics.median(full), statistics.median(ratio)


def big_bounce() -> bytes:
    blob = base64.encodebytes(os.urandom(11 * 1024 * 1024))  # about 15 MB once encoded
    return (b"From: MAILER-DAEMON@mx.example.com\nTo: sender@example.org\nSubject: Undelivered Mail\n"
            b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
            b"--B\nContent-Type: text/plain\n\nThis is the mail system at host mx.example.com.\n\n"
            b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
            b"Final-Recipient: rfc822; alice@example.net\nAction: failed\nStatus: 5.1.1\n"
            b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n"
            b"--B\nContent-Type: message/rfc822\n\nSubject: report\nContent-Type: multipart/mixed; boundary=C\n\n"
            b"--C\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n" + blob + b"\n--C--\n--B--\n")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="*", default=[str(HERE.parent / "samples")])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    messages = load(args.dirs)
    if not messages:
        print("no messages found", file=sys.stderr)
        return 1
    analyze(messages[0])  # load the rules once, outside the timing
    bare, full, ratio = rates(messages, args.rounds)
    big = big_bounce()
    start = time.perf_counter()
    report = analyze(big)
    big_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"messages:            {len(messages)} ({sum(map(len, messages)) / 1e6:.1f} MB), median of {args.rounds}")
    print(f"bare parse:          {bare:8.0f} msg/s")
    print(f"analyze:             {full:8.0f} msg/s  ({100 * ratio:.0f}% of the bare parse rate, median of rounds)")
    print(f"15 MB attachment:    {big_s:8.2f} s  ({len(big) / 1e6:.1f} MB, {len(report.recipients)} recipient)")
    print(f"peak memory (RSS):   {peak_mb:8.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
