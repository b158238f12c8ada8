"""Scale-out benchmark: a Dask scan of a synthetic mbox on a local cluster with 1 and 2 worker processes.

    python bench/bench_dask.py [--messages 100000] [--workers 1 2] [--task-mb 16]

Prints messages per second for each cluster size (the Parquet dataset written, as ``scan --dask --format parquet``
does) by the clock and by the workers' processor time, the processor time the calling process spends per message
(keeping each key once and writing the parts: the work that does not spread over workers), and the scheduler's
overhead per task (empty tasks submitted and collected the way the scan does). The closing note says what a
10-machine cluster should reach by the same measure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import build_mbox

from bounce_analyzer import distributed as bd


def _nothing(i: int) -> int:
    return i


def overhead_per_task(client: object, n: int = 2000) -> float:
    """Seconds per task for tasks that do nothing, submitted and collected one by one as the scan does."""
    c: object = client
    start = time.perf_counter()
    futures = [c.submit(_nothing, i, pure=False) for i in range(n)]  # type: ignore[attr-defined]
    for f in futures:
        f.result()
    return (time.perf_counter() - start) / n


def _cpu() -> float:
    return time.process_time()


def cluster_cpu(client: object) -> float:
    """Processor seconds the worker processes have used so far."""
    c: object = client
    return sum(c.run(_cpu).values())  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--task-mb", type=float, default=16, help="bytes of mbox per task, in MB")
    args = ap.parse_args()
    from distributed import Client, LocalCluster

    driver = [0.0]
    deliver = bd._deliver

    def timed(*a: object, **k: object) -> object:
        start = time.thread_time()  # processor time of this thread: what a core of its own would take
        out = list(deliver(*a, **k))  # type: ignore[arg-type]
        driver[0] += time.thread_time() - start
        return iter(out)

    bd._deliver = timed  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        mbox = Path(tmp) / "bounces.mbox"
        n = build_mbox(mbox, messages=args.messages)
        size = mbox.stat().st_size
        task_bytes = int(args.task_mb * 1024**2)
        tasks = len(bd.plan([str(mbox)], task_bytes=task_bytes))
        print(f"{n:,} messages, {size / 1024**2:.0f} MB, {tasks} tasks of {args.task_mb:g} MB")
        rates: dict[int, float] = {}
        per_cpu: dict[int, float] = {}
        for workers in args.workers:
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                              silence_logs=50) as cluster, Client(cluster) as client:
                driver[0] = 0.0
                out = Path(tmp) / f"out{workers}"
                cpu = cluster_cpu(client)
                start = time.perf_counter()
                count = sum(1 for _ in bd.scan(str(mbox), client, parquet=str(out), task_bytes=task_bytes))
                elapsed = time.perf_counter() - start
                cpu = cluster_cpu(client) - cpu
                assert count == n, (count, n)
                rates[workers] = n / elapsed
                per_cpu[workers] = n / cpu
                per_task = overhead_per_task(client)
                print(f"{workers} worker(s): {n / elapsed:,.0f} messages/s ({elapsed:.1f} s); {n / cpu:,.0f} "
                      f"messages per processor second of the workers (the rate on cores of their own); the caller "
                      f"spent {driver[0] / n * 1e6:.0f} µs a message keeping keys and writing Parquet; scheduler "
                      f"overhead {per_task * 1e3:.2f} ms a task")
        if 1 in rates:
            caller = n / driver[0] if driver[0] else float("inf")
            workers_rate = 20 * per_cpu[1]
            print(f"note: a 10-machine cluster of 2-core workers runs 20 worker processes, about "
                  f"{workers_rate:,.0f} messages/s by the processor-time rate of one worker (wall-clock rates here "
                  f"are lower when the cores are shared); the calling process, which keeps each key once and writes "
                  f"the parts, handles about {caller:,.0f} messages/s a core, so such a cluster should reach about "
                  f"{min(workers_rate, caller):,.0f} messages/s, if the file system serves the reads")


if __name__ == "__main__":
    main()
