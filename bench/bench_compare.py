"""The command line next to Sisimai and a bare standard-library parse, over the same files, in one interleaved run.

    python bench/bench_compare.py [--corpus DIR] [--files files-dev.txt] [--repeat 10] [--rounds 3] [--before DIR]

The files are those of ``files-dev.txt`` in the development corpus (``../shared/corpus``, read in place) except the
``mailbox/`` ones (mbox files, which Sisimai splits into many messages and we read as one), each named ``--repeat``
times. Each contender is one process over all of them, its output thrown away:

- ``bounce-analyzer analyze --format jsonl FILES...``;
- Sisimai (Perl; Debian's ``libsisimai-perl``) through ``bench/sisimai_files.pl``, one JSON record a line; skipped,
  with a message, when ``perl -MSisimai`` fails;
- a bare ``email.message_from_bytes(raw, policy=compat32)`` of each file, read from disk the same way;
- with ``--before DIR``, the command of another checkout of this project (an export of an older commit, say
  ``git archive COMMIT | tar -x -C DIR``), run from there with the same Python.

The contenders take turns within each round, so that a busier spell of a shared machine weighs on all alike. Printed:
messages a second (median of the rounds; wall time, and CPU time, which another load hardly changes), and the
median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

BARE = """import email, email.policy, sys
for name in sys.argv[1:]:
    with open(name, "rb") as fh:
        email.message_from_bytes(fh.read(), policy=email.policy.compat32)
"""


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _sisimai_ok() -> bool:
    try:
        return subprocess.run(["perl", "-MSisimai", "-e1"], capture_output=True).returncode == 0
    except OSError:
        return False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    ap.add_argument("--files", default="files-dev.txt")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", metavar="DIR", help="also time the command of the checkout in DIR")
    args = ap.parse_args()
    base = Path(args.corpus) / "set-of-emails"
    names = [n for n in (Path(args.corpus) / args.files).read_text(encoding="utf-8").split()
             if not n.startswith("mailbox/")]
    files = [str(base / n) for n in names] * args.repeat
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed
    commands = {
        "bounce-analyzer analyze --format jsonl": [sys.executable, "-m", "bounce_analyzer", "analyze", "--format",
                                                   "jsonl", *files],
        "bare compat32 parse": [sys.executable, "-c", BARE, *files],
    }
    cwd = {name: ROOT for name in commands}
    if args.before:
        commands["analyze (before)"] = commands["bounce-analyzer analyze --format jsonl"]
        cwd["analyze (before)"] = Path(args.before).resolve()  # python -m imports the package found there
    if _sisimai_ok():
        commands["Sisimai (Perl)"] = ["perl", str(HERE / "sisimai_files.pl"), *files]
        cwd["Sisimai (Perl)"] = ROOT
    else:
        print("Sisimai is not installed (apt-get install libsisimai-perl): compared without it", file=sys.stderr)
    subprocess.run(commands["bounce-analyzer analyze --format jsonl"][:6] + files[:1], env=env,
                   stdout=subprocess.DEVNULL, cwd=ROOT)  # the rules cache, as after the first run
    wall: dict[str, list[float]] = {c: [] for c in commands}
    cpu: dict[str, list[float]] = {c: [] for c in commands}
    for r in range(args.rounds):
        order = list(commands)
        order = order[r % len(order):] + order[:r % len(order)]
        for name in order:
            before = _child_cpu()
            start = time.perf_counter()
            subprocess.run(commands[name], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd[name])
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(_child_cpu() - before)
    n = len(files)
    print(f"{n} messages ({len(names)} files x {args.repeat}), one process each, median of {args.rounds} rounds")
    print(f"{'':40}{'msg/s wall':>12}{'msg/s CPU':>12}")
    for name in commands:
        print(f"{name:40}{n / statistics.median(wall[name]):12.0f}{n / statistics.median(cpu[name]):12.0f}")
    ours = "bounce-analyzer analyze --format jsonl"
    for other in ("Sisimai (Perl)", "bare compat32 parse", "analyze (before)"):
        if other in commands:
            ratio = statistics.median(w_other / w_ours for w_ours, w_other in zip(wall[ours], wall[other], strict=True))
            ratio_cpu = statistics.median(c_o / c_u for c_u, c_o in zip(cpu[ours], cpu[other], strict=True))
            print(f"analyze speed / {other}: {ratio:.2f} wall, {ratio_cpu:.2f} CPU")
    if hasattr(os, "getloadavg"):
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
