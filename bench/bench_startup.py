"""Start-up: wall time of one-message commands, each a new process, median of N runs.

    python bench/bench_startup.py [--runs 10] [--file samples/exim/has-moved.eml] [--instructions]

Times ``bounce-analyzer analyze FILE``, ``bounce-analyzer explain 550``, and ``import bounce_analyzer`` plus the first
``analyze()``: with the cache of compiled rules and patterns warm (the usual case: it is written by the first run),
and with it turned off (what every run cost before it, and what a first run costs). The variants run interleaved, so
a busier spell of a shared machine weighs on all of them alike. The process's own start (``python -c pass``) is
given for comparison. Python's bytecode cache is allowed even where ``PYTHONDONTWRITEBYTECODE`` is set, as an
installed package has its modules compiled.

``--instructions`` also counts the instructions each command runs with the cache warm (once, under valgrind's
cachegrind; skipped with a message when valgrind is not installed): unlike times, the counts hardly move when the
machine is busy, so two versions can be compared on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _child_cpu() -> float:
    """User and system time of the finished children: unlike wall time, hardly changed by a busy machine."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _instructions(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, int]:
    """Instructions each command runs (valgrind's cachegrind, no cache simulation), with the cache warm."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts", file=sys.stderr)
        return {}
    counts = {}
    for name, cmd in commands.items():
        run = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                              *cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             check=True, cwd=ROOT)
        m = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
        if m:
            counts[name] = int(m.group(1).replace(",", ""))
    return counts


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--file", default=str(ROOT / "samples" / "exim" / "has-moved.eml"))
    ap.add_argument("--instructions", action="store_true", help="also count instructions with valgrind")
    args = ap.parse_args()
    py = sys.executable
    first = (f"import bounce_analyzer, pathlib; bounce_analyzer.analyze(pathlib.Path({args.file!r}).read_bytes())")
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "analyze one.eml": [py, "-m", "bounce_analyzer", "analyze", "--format", "jsonl", args.file],
        "explain 550": [py, "-m", "bounce_analyzer", "explain", "550"],
        "import + first analyze()": [py, "-c", first],
    }
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as cache:
        envs = {"warm cache": {**base, "BOUNCE_ANALYZER_CACHE_DIR": cache},
                "no cache": {**base, "BOUNCE_ANALYZER_CACHE_DIR": ""}}
        for cmd in commands.values():  # fill the cache
            subprocess.run(cmd, env=envs["warm cache"], stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
        times: dict[tuple[str, str], list[float]] = {(c, e): [] for c in commands for e in envs}
        cpu: dict[tuple[str, str], list[float]] = {(c, e): [] for c in commands for e in envs}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                for env_name, env in envs.items():
                    before = _child_cpu()
                    start = time.perf_counter()
                    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
                    times[(name, env_name)].append(time.perf_counter() - start)
                    cpu[(name, env_name)].append(_child_cpu() - before)
        counts = _instructions(commands, envs["warm cache"]) if args.instructions else {}
    heads = "".join(f"{e + ' wall':>16}{e + ' CPU':>15}" for e in envs)
    print(f"median of {args.runs} runs, ms {heads}")
    for name in commands:
        med = {e: (1000 * statistics.median(times[(name, e)]), 1000 * statistics.median(cpu[(name, e)])) for e in envs}
        row = "".join(f"{wall:16.0f}{used:15.0f}" for wall, used in med.values())
        if name in counts:
            row += f"{counts[name] / 1e6:14.1f}M instructions"
        print(f"{name:26}{row}")
    if hasattr(os, "getloadavg"):
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
