"""IMAP scan rate against a local Dovecot (Debian's dovecot-imapd), end to end through the command line.

    python bench/bench_imap.py [--messages 2000] [--jobs 1 2]

Starts a private Dovecot on 127.0.0.1 (tests/servers/dovecot.sh), appends the shipped samples in turn to a folder,
then times ``bounce-analyzer scan imap://... --plaintext --db ... --format none``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("Dovecot did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    if not Path("/usr/sbin/dovecot").exists():
        raise SystemExit("Dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
    from imapclient import IMAPClient

    d = Path(tempfile.mkdtemp(prefix="bench-imap-"))
    d.chmod(0o711)
    imap, pop3 = free_port(), free_port()
    proc = subprocess.Popen(["sh", str(ROOT / "tests" / "servers" / "dovecot.sh"), str(d), str(imap), str(pop3)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(imap)
        samples = [p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                   for p in sorted((ROOT / "samples").rglob("*.eml"))]
        c = IMAPClient("127.0.0.1", imap, ssl=False)
        c.login("test", "secret")
        c.create_folder("Bounces")
        t = time.perf_counter()
        for i in range(args.messages):
            c.append("Bounces", samples[i % len(samples)])
        print(f"appended {args.messages:,} messages in {time.perf_counter() - t:.1f} s")
        c.logout()
        env = {**os.environ, "BOUNCE_ANALYZER_PASSWORD": "secret"}
        for jobs in args.jobs:
            db = d / f"jobs{jobs}.sqlite"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bounce_analyzer", "scan", "--plaintext", "--db", str(db),
                            "--format", "none", "--no-summary", "--no-progress", "--jobs", str(jobs),
                            f"imap://test@127.0.0.1:{imap}/Bounces"], check=True, env=env, cwd=ROOT)
            elapsed = time.perf_counter() - t
            print(f"jobs={jobs}: {args.messages / elapsed:,.0f} msg/s ({elapsed:.1f} s)")
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
