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

    nice -n 19 .venv/bin/python bench/mutation.py --max-children 1 --sample 350 --seed 1 [--module PREFIX]
    nice -n 19 .venv/bin/python bench/mutation.py --max-children 1 --sample 350 --seed 1 --survivors

``--sample N`` measures a uniform random sample of N mutants, not all of them: the mutants of the files in
``only_mutate`` whose names start with ``--module`` (``bounce_analyzer.classify.`` by default: the engine, the cues,
the checks and the rules loader, about 3,300 mutants) are listed as mutmut names them, N are drawn with
``random.Random(SEED)``, and only those are run and reported, with the score as an estimate of the whole
population's and its 95% (Wilson) interval. The same seed draws the same mutants as long as the mutated code is
unchanged. ``--survivors`` runs again only the drawn mutants that survived (not killed, not timed out, not listed as
equivalent), after new tests.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
import tomllib
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


def population(prefix: str) -> list[str]:
    """The names mutmut gives the mutants of the ``only_mutate`` files in modules starting with ``prefix``."""
    from mutmut.__main__ import get_mutant_name
    from mutmut.mutation.file_mutation import mutate_file_contents

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    names: list[str] = []
    for rel in config["only_mutate"]:
        module = rel.removesuffix(".py").replace("/", ".") + "."
        if not (module.startswith(prefix) or prefix.startswith(module)):
            continue
        path = Path(rel)
        mutated = mutate_file_contents(rel, (ROOT / path).read_text(encoding="utf-8"))
        names.extend(n for n in (get_mutant_name(path, m) for m in mutated.mutant_names) if n.startswith(prefix))
    return sorted(names)


def wilson(killed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% interval of a proportion estimated from a sample of n."""
    if n == 0:
        return 0.0, 0.0
    p = killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half)


def report(states: dict[str, str], same: dict[str, str], *, sampled: bool = False) -> float:
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
    if stale and not sampled:
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
    ap.add_argument("--sample", type=int, metavar="N", help="run and report a uniform random sample of N mutants")
    ap.add_argument("--seed", type=int, default=1, help="the sample's seed (default 1)")
    ap.add_argument("--module", default="bounce_analyzer.classify.", help="the sample's population: mutant names "
                    "starting with this (default bounce_analyzer.classify.)")
    ap.add_argument("--survivors", action="store_true", help="with --sample: run only the drawn mutants "
                    "not killed nor listed as equivalent")
    args = ap.parse_args()
    drawn: list[str] = []
    if args.sample is not None:
        everyone = population(args.module)
        if not 0 < args.sample <= len(everyone):
            ap.error(f"--sample must be from 1 to {len(everyone)} (the mutants of {args.module}*)")
        drawn = sorted(random.Random(args.seed).sample(everyone, args.sample))
        print(f"sample: {len(drawn)} of the {len(everyone)} mutants of {args.module}* (seed {args.seed})")
        names = drawn
        if args.survivors:
            states, same = results(), equivalent()
            names = [n for n in drawn if states.get(n) not in ("killed", "timeout") and n not in same]
        args.only = names
    if not args.report and not (args.sample is not None and not args.only):
        env = dict(os.environ, BOUNCE_ANALYZER_SAMPLE_ENDINGS="lf")
        mutmut = Path(sys.executable).parent / "mutmut"
        (ROOT / "mutants").mkdir(exist_ok=True)
        with (ROOT / "mutants" / "run.log").open("w") as log:
            done = subprocess.run([str(mutmut), "run", "--max-children", str(args.max_children), *args.only],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            print(f"mutmut run exited with {done.returncode} (see mutants/run.log)", file=sys.stderr)
            return 1
    states = results()
    same = equivalent()
    if drawn:
        states = {n: states.get(n, "not checked") for n in drawn}
    score = report(states, same, sampled=bool(drawn))
    if drawn:
        judged = [n for n, state in states.items() if not (n in same and state != "killed") and state != "not checked"]
        killed = sum(states[n] == "killed" for n in judged)
        low, high = wilson(killed, len(judged))
        print(f"estimated from a sample of {len(drawn)} mutants ({len(judged)} that change behaviour): "
              f"{score:.1f}% killed, 95% interval {low:.1f}% to {high:.1f}%")
        for n in sorted(states):
            if states[n] != "killed" and n not in same:
                print(f"  {states[n]}: {n}")
        return 0
    print(f"mutation score: {score:.1f}% of the mutants that change behaviour are killed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
