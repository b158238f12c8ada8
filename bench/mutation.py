"""Mutation score of the test suite: how many small changes to the parsers and the rules loader the tests catch.

    .venv/bin/pip install -e '.[mutation]'
    .venv/bin/python bench/mutation.py [--max-children 2] [--only 'bounce_analyzer.parse.dsn.*'] [--report]

Runs mutmut (configured in pyproject.toml, ``[tool.mutmut]``: which files are mutated and which tests judge a
mutant) in ``mutants/``, then prints per file the mutants killed, survived and timed out, and the score: killed out
of the mutants run, less those listed in ``bench/mutation-equivalent.txt`` (mutants that change no behaviour, each
with the reason it was judged so); mutants not run yet are counted apart. The samples are run in LF line endings
only. Not part of CI: the parsers and the loader make about 2,800 mutants, hours on two cores; ``--only`` limits a
run to the mutants whose names match, ``--report`` only prints the last results. A mutant stays judged until its
function changes, so a second run only runs what changed (``mutmut run NAME`` judges one again after new tests).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = Path(__file__).resolve().parent / "mutation-equivalent.txt"


def equivalent() -> dict[str, str]:
    """``mutant-name  # why it changes nothing`` per line."""
    out: dict[str, str] = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        name, _, why = line.partition("#")
        if name.strip():
            out[name.strip()] = why.strip()
    return out


def results() -> dict[str, str]:
    mutmut = Path(sys.executable).parent / "mutmut"
    done = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"mutmut results failed: {done.stderr.strip()[-500:]}")
    out: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, sep, state = line.strip().partition(": ")
        if sep:
            out[name] = state.strip()
    return out


def report(states: dict[str, str], same: dict[str, str]) -> float:
    by_file: dict[str, Counter[str]] = defaultdict(Counter)
    for name, state in states.items():
        module = name.split(".x", 1)[0] if ".x" in name else name.rsplit(".", 1)[0]
        by_file[module]["equivalent" if name in same and state != "killed" else state] += 1
    total: Counter[str] = Counter()
    print(f"{'module':<32} {'killed':>7} {'survived':>9} {'timeout':>8} {'equiv.':>7} {'other':>6} {'not run':>8} "
          f"{'score':>7}")
    for module in sorted(by_file):
        c = by_file[module]
        total.update(c)
        print(_row(module, c))
    print(_row("all", total))
    stale = sorted(set(same) - set(states))
    if stale:
        print(f"{len(stale)} mutants in {EQUIVALENT.name} no longer exist (their functions changed): review them")
    judged = sum(total.values()) - total["equivalent"] - total["not checked"]
    return 100.0 * total["killed"] / judged if judged else 0.0


def _row(label: str, c: Counter[str]) -> str:
    other = sum(v for k, v in c.items() if k not in ("killed", "survived", "timeout", "equivalent", "not checked"))
    judged = sum(c.values()) - c["equivalent"] - c["not checked"]
    score = 100.0 * c["killed"] / judged if judged else 0.0
    return (f"{label:<32} {c['killed']:>7} {c['survived']:>9} {c['timeout']:>8} {c['equivalent']:>7} {other:>6} "
            f"{c['not checked']:>8} {score:>6.1f}%")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-children", type=int, default=2)
    ap.add_argument("--only", action="append", default=[], help="mutant name pattern (repeatable)")
    ap.add_argument("--report", action="store_true", help="only print the results of the last run")
    args = ap.parse_args()
    if not args.report:
        env = dict(os.environ, BOUNCE_ANALYZER_SAMPLE_ENDINGS="lf")
        mutmut = Path(sys.executable).parent / "mutmut"
        done = subprocess.run([str(mutmut), "run", "--max-children", str(args.max_children), *args.only], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            print(f"mutmut run exited with {done.returncode}", file=sys.stderr)
            return 1
    score = report(results(), equivalent())
    print(f"mutation score: {score:.1f}% of the mutants that change behaviour are killed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
