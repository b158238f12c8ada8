"""A webhook receiver for the tests, on 127.0.0.1 only: logs every request (one JSON line each) and fails some on
purpose. Run: python webhook_server.py PORT LOG [--fail-every N] [--drop-every N]

--fail-every N answers every Nth request with 503; --drop-every N closes every Nth connection without an answer.
A request whose Idempotency-Key was already taken is answered 200 and logged with "new": false. Keys taken by an
earlier run of the server are read back from the log, so a restarted server still knows them."""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("log")
parser.add_argument("--fail-every", type=int, default=0)
parser.add_argument("--drop-every", type=int, default=0)
args = parser.parse_args()

log = Path(args.log)
taken: set[str] = set()
if log.exists():
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if entry["status"] == 200:
            taken.add(entry["key"])
lock = threading.Lock()
count = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        global count
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if len(body) < length:  # the sender went away mid-request (a killed scan): nothing was taken
            self.close_connection = True
            return
        key = self.headers.get("Idempotency-Key", "")
        with lock:
            count += 1
            n = count
            if args.drop_every and n % args.drop_every == 0:
                status = "drop"
            elif args.fail_every and n % args.fail_every == 0:
                status = 503
            else:
                status = 200
            new = status == 200 and key not in taken
            if status == 200:
                taken.add(key)
            with log.open("a") as fh:
                fh.write(json.dumps({"key": key, "status": status, "new": new, "auth": self.headers.get(
                    "Authorization"), "body": json.loads(body)}) + "\n")
        if status == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send_response(int(status))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *a: object) -> None:  # quiet
        return


ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
