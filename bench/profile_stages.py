"""Where analyze() spends its time: microseconds a message per stage, over a set of messages.

    python bench/profile_stages.py [DIR ...] [--rounds 3]

DIR defaults to samples/ (the development corpus: ../shared/corpus/set-of-emails). Each stage's function, as
``api.py`` calls it, is wrapped with a timer that counts its own time only (a stage called inside another, as for a
notice forwarded inside a notice, is not counted twice): parse (line endings and the standard library's parse), read
(the notice's text, delivery-status parts and original), kind (the signals that tell what kind of message it is),
original (its headers described), parsers (format sniffing and reading), classify (the rules), date, and output
(``to_dict`` and the JSON the command prints). "other" is the rest of analyze(). Times are CPU time (a busy machine
hardly changes them).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_analyze import load  # noqa: E402
from bounce_analyzer import api  # noqa: E402
from bounce_analyzer.display import to_json  # noqa: E402

STAGES = {
    "parse": ("normalise_newlines", "parse_bytes"),
    "read": ("read_notice",),
    "kind": ("Signals",),
    "original": ("describe",),
    "parsers": ("sniff", "read_findings", "fill_actions", "from_original"),
    "classify": ("classify",),
    "date": ("notice_date",),
}

spent: dict[str, float] = {}
_stack: list[float] = []  # time spent in stages called inside the running one


def _timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        _stack.append(0.0)
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            total = time.process_time() - start
            inner = _stack.pop()
            spent[stage] = spent.get(stage, 0.0) + total - inner
            if _stack:
                _stack[-1] += total
    return run


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="*", default=[str(HERE.parent / "samples")])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    messages = load(args.dirs)
    api.analyze(messages[0])  # rules loaded outside the timing
    for stage, names in STAGES.items():
        for name in names:
            setattr(api, name, _timed(stage, getattr(api, name)))
    whole = output = 0.0
    for _ in range(args.rounds):
        for raw in messages:
            start = time.process_time()
            report = api.analyze(raw)
            middle = time.process_time()
            to_json(report.to_dict())
            end = time.process_time()
            whole += middle - start
            output += end - middle
    n = len(messages) * args.rounds
    print(f"{len(messages)} messages x {args.rounds} rounds; microseconds a message")
    for stage in STAGES:
        print(f"{stage:10} {1e6 * spent.get(stage, 0.0) / n:8.0f}")
    print(f"{'other':10} {1e6 * (whole - sum(spent.values())) / n:8.0f}")
    print(f"{'output':10} {1e6 * output / n:8.0f}")
    print(f"{'total':10} {1e6 * (whole + output) / n:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
