"""Does the MIME reader build the standard library's tree? Compares, node by node, the tree ``parse/mime.py`` builds
with the one ``email.message_from_bytes(policy=compat32)`` builds, for every file under each DIR, as read and with
its line endings made LF (as ``analyze()`` parses it).

    python bench/mime_diff.py DIR ... [--time] [--rounds 5]

Prints how many inputs matched, how many the reader left to the feed parser and why, and every input whose tree
differs (exit status 1 then). ``--time`` also gives the CPU microseconds a message of ``parse_bytes`` (the reader,
with the feed parser for what it leaves), of the feed parser alone as ``parse_bytes`` ran it before the reader, and
of a bare ``message_from_bytes``, over the LF inputs.
"""

from __future__ import annotations

import argparse
import collections
import email
import email.policy
import sys
import time
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_analyze import load  # noqa: E402
from bounce_analyzer.parse.message import feed_parse, normalise_newlines, parse_bytes  # noqa: E402
from bounce_analyzer.parse.mime import HEADER_CACHE, Uncommon, read_message  # noqa: E402

# what the feed parser sets on a message; any other attribute on either side is a difference too
_FIELDS = ("policy", "_headers", "_unixfrom", "_charset", "preamble", "epilogue", "_default_type")


def standard(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=email.policy.compat32)


def difference(mine: Any, theirs: Any, where: str = "root") -> str | None:
    """Where two message trees first differ, and how; None when they are the same in every node."""
    if type(mine) is not type(theirs):
        return f"{where}: {type(mine).__name__} != {type(theirs).__name__}"
    if not isinstance(mine, Message):
        return None if mine == theirs else f"{where}: {mine!r} != {theirs!r}"
    # (the fields by name, which the reader files as it reads a part's type, are a cache, not part of the tree)
    if set(vars(mine)) - {HEADER_CACHE} != set(vars(theirs)) - {HEADER_CACHE}:
        return f"{where}: attributes {sorted(vars(mine))} != {sorted(vars(theirs))}"
    for name in _FIELDS:
        a, b = getattr(mine, name), getattr(theirs, name)
        if a != b:
            return f"{where}.{name}: {a!r:.200} != {b!r:.200}"
    defects = [(type(d), d.args) for d in mine.defects], [(type(d), d.args) for d in theirs.defects]
    if defects[0] != defects[1]:
        return f"{where}.defects: {defects[0]} != {defects[1]}"
    a, b = mine._payload, theirs._payload
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: {len(a)} parts != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    if type(a) is not type(b) or a != b:
        return f"{where}._payload: {a!r:.200} != {b!r:.200}"
    return None


def check(data: bytes) -> tuple[str, str]:
    """("same", ""), ("fallback", why) or ("differs", where) for one input."""
    try:
        mine = read_message(data.decode("ascii", "surrogateescape"))
    except Uncommon as e:
        return "fallback", str(e)
    theirs = standard(data)
    found = difference(mine, theirs)
    return ("differs", found) if found else ("same", "")


def cpu_per_message(fn: Callable[[bytes], object], inputs: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for data in inputs:
            fn(data)
        best = min(best, time.process_time() - start)
    return 1e6 * best / len(inputs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--time", action="store_true", help="also time the readers over the LF inputs")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    messages = load(args.dirs)
    outcomes: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    differs = []
    for n, raw in enumerate(messages):
        for label, data in (("as read", raw), ("LF", normalise_newlines(raw))):
            if label == "LF" and data is raw:
                continue
            outcome, detail = check(data)
            outcomes[outcome] += 1
            if outcome == "fallback":
                reasons[f"{detail} ({label})"] += 1
            elif outcome == "differs":
                differs.append(f"message {n} ({label}): {detail}")
    total = sum(outcomes.values())
    print(f"{len(messages)} messages, {total} inputs: {outcomes['same']} same tree, "
          f"{outcomes['fallback']} left to the feed parser, {outcomes['differs']} different")
    for reason, count in reasons.most_common():
        print(f"  fallback: {reason}: {count}")
    for line in differs:
        print(f"  DIFFERS {line}")
    if args.time:
        lf = [normalise_newlines(raw) for raw in messages]
        times = {
            "parse_bytes (reader + fallback)": cpu_per_message(parse_bytes, lf, args.rounds),
            "feed parser alone (before)": cpu_per_message(
                lambda d: feed_parse(d.decode("ascii", "surrogateescape")), lf, args.rounds),
            "bare message_from_bytes": cpu_per_message(standard, lf, args.rounds),
        }
        for name, micros in times.items():
            print(f"{name:34} {micros:8.1f} µs a message (CPU, best of {args.rounds})")
    return 1 if differs else 0


if __name__ == "__main__":
    raise SystemExit(main())
