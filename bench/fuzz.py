"""Structure-aware fuzzing of analyze(): the shipped samples, mutated the way damaged and hostile mail is.

    python bench/fuzz.py [--minutes 60] [--seed N] [--max-bytes 1048576] [--keep DIR]

Runs until the time is up (or Ctrl-C), one input at a time in this process, and prints every minute how many
inputs were tried, how many failed, and the slowest shapes so far. An input fails when analyze() raises, reports an
internal error or a pattern that ran out of time, gives a report that does not serialise as UTF-8 JSON, or takes
more than a second of CPU for a message of at most 1 MB. Failing inputs are written to DIR (default: a new
temporary folder) to be replayed with ``bounce-analyzer analyze FILE``. The same seed gives the same inputs.

The mutations live here so that the test suite (tests/test_fuzz.py) runs a short, fixed part of the same run.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bounce_analyzer import analyze  # noqa: E402
from bounce_analyzer.model import Report  # noqa: E402

MB = 1 << 20
CPU_LIMIT = 1.0  # seconds of CPU for one message of at most 1 MB


def load_samples(root: Path = ROOT / "samples") -> list[bytes]:
    return [p.read_bytes().replace(b"\r\n", b"\n") for p in sorted(root.rglob("*.eml"))]


# --- the parts of a message that mutations work on -----------------------------------------------------------------

def _split(msg: bytes) -> tuple[list[bytes], bytes]:
    """Header lines (continuations joined to their header) and the body."""
    head, sep, body = msg.partition(b"\n\n")
    if not sep:
        return [], msg
    fields: list[bytes] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    return fields, body


def _join(fields: list[bytes], body: bytes) -> bytes:
    return b"\n".join(fields) + b"\n\n" + body


def _set_header(msg: bytes, name: bytes, value: bytes) -> bytes:
    fields, body = _split(msg)
    fields = [f for f in fields if not f.lower().startswith(name.lower() + b":")]
    return _join([*fields, name + b": " + value], body)


def _lines(body: bytes) -> list[bytes]:
    return body.split(b"\n")


Mutation = Callable[[random.Random, bytes, list[bytes]], bytes]
_CONTROL = [b"\x1b]0;owned\x07", b"\x1b[2J", b"\x1b]8;;http://x.test/\x1b\\", b"\x07", b"\x08" * 8, b"\x00",
            "\u009b31m".encode(), "\u202e".encode(), b"\x7f", b"\r"]
_CHARSETS = [b"utf-8", b"utf-7", b"utf-16", b"x-unknown", b"bogus-charset", b"iso-2022-jp", b"cp1252", b"gb2312",
             b"\"utf-8", b"", b"utf-8*en", b"iso-8859-1\x00"]
_TYPES = [b"message/delivery-status", b"multipart/report; report-type=delivery-status", b"text/html",
          b"message/rfc822", b"application/octet-stream", b"multipart/mixed", b"text/rfc822-headers",
          b"message/feedback-report", b"multipart/alternative; boundary=\"\"", b"text/plain; charset=",
          b"multipart/report; boundary=x; report-type=feedback-report", b"message/global-delivery-status"]
_HOSTILE_LINES = [b"<a@", b"@", b"<", b"5.1.1 ", b"550-", b"=?utf-8?q?", b"Final-Recipient: rfc822;", b"(", b"[",
                  b"host ", b"said: ", b"--", b"=\n", b"\\", b"\"", b"a" * 64 + b"@", b"0.0.0.", b"::", b"RCPT TO:<"]


def m_header_repeat(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    fields, body = _split(msg)
    if not fields:
        return msg
    f = rnd.choice(fields)
    n = min(rnd.choice([2, 50, 1000, 20000]), MB // (len(f) + 1) + 1)  # never much more than a megabyte
    return _join(fields + [f] * n, body)


def m_encoded_words(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    n = rnd.choice([1, 10, 1000, 20000, 50000])
    cs = rnd.choice(_CHARSETS).replace(b"\"", b"")
    word = rnd.choice([b"=?%s?b?QUFBQQ==?=", b"=?%s?q?caf=C3=A9_?=", b"=?%s?b?w6?=", b"=?%s?q?=FF=FE?=",
                       b"=?%s?x?zz?=", b"=?%s?b?", b"=?%s??="]) % cs
    sep = rnd.choice([b" ", b"", b"\n ", b"x"])
    return _set_header(msg, rnd.choice([b"Subject", b"From", b"To", b"Message-ID"]), sep.join([word] * n))


def m_long_header(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    n = rnd.choice([1000, 100000, 900000])
    filler = rnd.choice(_HOSTILE_LINES)
    value = (filler * (n // len(filler) + 1))[:n]
    if rnd.random() < 0.5:
        value = b"\n ".join(value[i:i + 70] for i in range(0, len(value), 70))
    return _set_header(msg, rnd.choice([b"Subject", b"Content-Type", b"From", b"X-Failed-Recipients", b"Date"]),
                       value)


def m_raw_8bit(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    junk = bytes(rnd.randrange(0x80, 0x100) for _ in range(rnd.choice([1, 10, 300])))
    return _set_header(msg, rnd.choice([b"Subject", b"From", b"To"]), b"x" + junk + b" <a" + junk + b"@example.com>")


def m_no_blank_line(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    return msg.replace(b"\n\n", b"\n", rnd.choice([1, 3, 1000]))


def m_boundary(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    m = re.search(rb'boundary="?([^";\s]+)', msg, re.I)
    if not m:
        return msg
    b = m.group(1)
    choice = rnd.randrange(5)
    if choice == 0:
        return msg.replace(b"--" + b, b"--" + b + b"x")  # the boundary never shows up
    if choice == 1:
        return msg.replace(b"--" + b + b"--", b"")  # never closed
    if choice == 2:
        return msg.replace(m.group(0), b"boundary=\"\"")
    if choice == 3:
        return msg.replace(b"--" + b, (b"--" + b + b"\n") * rnd.choice([10, 5000]) + b"--" + b, 1)
    return msg[:msg.find(b"--" + b) + len(b) + 2] if b"--" + b in msg else msg


def m_content_type(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    fields, body = _split(msg)
    ctype = rnd.choice(_TYPES)
    i = [k for k, f in enumerate(fields) if f.lower().startswith(b"content-type:")]
    if i and rnd.random() < 0.7:
        fields[rnd.choice(i)] = b"Content-Type: " + ctype
        return _join(fields, body)
    # somewhere inside: a part's own Content-Type
    parts = [mm.start() for mm in re.finditer(rb"\ncontent-type:[^\n]*", msg, re.I)]
    if not parts:
        return _set_header(msg, b"Content-Type", ctype)
    at = rnd.choice(parts)
    end = msg.find(b"\n", at + 1)
    return msg[:at] + b"\nContent-Type: " + ctype + msg[end:]


def m_charset(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    cs = rnd.choice(_CHARSETS)
    if re.search(rb"charset=", msg, re.I):
        return re.sub(rb'charset="?[^";\s]*"?', b"charset=" + cs, msg, count=rnd.choice([1, 0]), flags=re.I)
    return _set_header(msg, b"Content-Type", b"text/plain; charset=" + cs)


def m_transfer_encoding(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    fields, body = _split(msg)
    enc = rnd.choice([b"base64", b"quoted-printable", b"x-uuencode", b"8bit", b"bogus"])
    if rnd.random() < 0.5:
        body = base64.b64encode(body)[: rnd.randrange(1, len(body) + 2)] + b"!!==\n" + body[:100]
    fields = [f for f in fields if not f.lower().startswith(b"content-transfer-encoding:")]
    return _join([*fields, b"Content-Transfer-Encoding: " + enc], body)


def m_truncate(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    return msg[: rnd.randrange(0, len(msg) + 1)]


def m_flip(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    data = bytearray(msg)
    for _ in range(rnd.choice([1, 8, 64])):
        if data:
            data[rnd.randrange(len(data))] = rnd.randrange(256)
    return bytes(data)


def m_repeat_line(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    lines = _lines(msg)
    interesting = [k for k, line in enumerate(lines) if re.search(rb"@|\b[245]\d\d\b|\b[245]\.\d", line)]
    k = rnd.choice(interesting or range(len(lines)))
    n = min(rnd.choice([10, 1000, 20000]), MB // (len(lines[k]) + 1) + 1)  # never much more than a megabyte
    return b"\n".join(lines[:k] + [lines[k]] * n + lines[k + 1:])


def m_control_chars(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    data = msg
    for _ in range(rnd.choice([1, 5, 50])):
        at = rnd.randrange(len(data) + 1)
        data = data[:at] + rnd.choice(_CONTROL) + data[at:]
    return data


def m_line_endings(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    return msg.replace(b"\n", rnd.choice([b"\r", b"\r\n", b"\r\r\n", b"\n\r"]))


def m_long_line(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    filler = rnd.choice(_HOSTILE_LINES)
    n = rnd.choice([10_000, 200_000, 900_000])
    line = (filler * (n // len(filler) + 1))[:n]
    lines = _lines(msg)
    k = rnd.randrange(len(lines) + 1)
    return b"\n".join([*lines[:k], line, *lines[k:]])


def m_nest(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    depth = rnd.choice([2, 10, 200, 2000])
    if rnd.random() < 0.5:
        head = b"From: MAILER-DAEMON@example.net\nSubject: Returned mail\nContent-Type: message/rfc822\n\n"
        return head * depth + msg
    before = [b"Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n" % (i, i) for i in range(depth)]
    after = [b"\n--b%d--\n" % i for i in reversed(range(depth))]
    return b"".join([*before, msg, *after])


def m_splice(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    other = rnd.choice(pool)
    return msg[: rnd.randrange(len(msg) + 1)] + other[rnd.randrange(len(other) + 1):]


def m_dsn_blocks(rnd: random.Random, msg: bytes, pool: list[bytes]) -> bytes:
    n = rnd.choice([10, 1000, 10000])
    block = (b"Final-Recipient: rfc822; user%d@example.com\nAction: failed\nStatus: 5.1.1\n"
             b"Diagnostic-Code: smtp; 550 5.1.1 <user%d@example.com>: no such user\n\n")
    dsn = b"".join(block % (i, i) for i in range(n))
    return (b"From: MAILER-DAEMON@example.net\nSubject: Undelivered Mail\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"z\"\n\n--z\n"
            b"Content-Type: text/plain\n\n" + msg[:2000] + b"\n--z\nContent-Type: message/delivery-status\n\n"
            b"Reporting-MTA: dns; mx.example.net\n\n" + dsn + b"--z--\n")


MUTATIONS: dict[str, Mutation] = {f.__name__[2:]: f for f in (
    m_header_repeat, m_encoded_words, m_long_header, m_raw_8bit, m_no_blank_line, m_boundary, m_content_type,
    m_charset, m_transfer_encoding, m_truncate, m_flip, m_repeat_line, m_control_chars, m_line_endings, m_long_line,
    m_nest, m_splice, m_dsn_blocks)}


@dataclass(frozen=True, slots=True)
class Case:
    shape: str  # the sample and the mutations applied, e.g. "12:encoded_words+flip"
    raw: bytes


def cases(seed: int, pool: list[bytes], max_bytes: int = MB):
    """An endless, reproducible stream of mutated messages of at most ``max_bytes``."""
    rnd = random.Random(seed)
    while True:
        i = rnd.randrange(len(pool))
        raw = pool[i]
        names = rnd.sample(sorted(MUTATIONS), rnd.choice([1, 1, 2, 3]))
        for name in names:
            raw = MUTATIONS[name](rnd, raw, pool)[:max_bytes]
        yield Case(f"{i}:{'+'.join(names)}", raw)


# --- what must hold for every input --------------------------------------------------------------------------------

def check(report: Report) -> str | None:
    """Why a report breaks the promises analyze() makes, or None when it keeps them."""
    internal = [p for p in report.problems if p.kind in ("internal-error", "regex-timeout")]
    if internal:
        return f"{internal[0].kind}: {internal[0].message}"
    try:
        text = json.dumps(report.to_dict(), ensure_ascii=False)
        text.encode("utf-8")
        if json.loads(text) != report.to_dict():
            return "JSON does not read back the same"
    except (TypeError, ValueError) as e:  # UnicodeEncodeError is a ValueError
        return f"JSON does not serialise: {e}"
    return None


def run_case(case: Case) -> tuple[float, str | None]:
    """CPU seconds taken and the failure, if any."""
    start = time.process_time()
    try:
        report = analyze(case.raw, source="fuzz")
    except Exception as e:
        return time.process_time() - start, f"raised {type(e).__name__}: {e}"
    took = time.process_time() - start
    failure = check(report)
    if failure is None and len(case.raw) <= MB and took > CPU_LIMIT:
        failure = f"took {took:.2f} s of CPU"
    return took, failure


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang


def main(argv: list[str] | None = None) -> int:
    # a mutation or an analysis that runs away with memory fails here (MemoryError), not the machine
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--max-bytes", type=int, default=MB)
    p.add_argument("--keep", type=Path, default=None, help="folder for failing inputs")
    args = p.parse_args(argv)
    keep = args.keep or Path(tempfile.mkdtemp(prefix="bounce-analyzer-fuzz-"))
    keep.mkdir(parents=True, exist_ok=True)
    pool = load_samples()
    print(f"seed {args.seed}, {len(pool)} samples, {len(MUTATIONS)} mutations; failing inputs go to {keep}",
          flush=True)
    signal.signal(signal.SIGALRM, _alarm)
    analyze(b"")  # the rules are loaded once, before anything is timed
    end = time.monotonic() + args.minutes * 60
    tried = failed = 0
    slowest: list[tuple[float, int, str]] = []
    by_shape: dict[str, list[float]] = {}
    next_note = time.monotonic() + 60
    try:
        for case in cases(args.seed, pool, args.max_bytes):
            if time.monotonic() >= end:
                break
            signal.alarm(30)
            try:
                took, failure = run_case(case)
            except _Hang:
                took, failure = 30.0, "did not finish in 30 s"
            finally:
                signal.alarm(0)
            tried += 1
            for name in case.shape.split(":", 1)[1].split("+"):
                by_shape.setdefault(name, []).append(took)
            slowest = sorted([*slowest, (took, len(case.raw), case.shape)], reverse=True)[:10]
            if failure:
                failed += 1
                path = keep / f"fail-{tried:07d}.eml"
                path.write_bytes(case.raw)
                print(f"FAIL {case.shape} ({len(case.raw):,} bytes): {failure} -> {path}", flush=True)
            if time.monotonic() >= next_note:
                next_note += 60
                print(f"{tried:,} inputs, {failed} failed, slowest {slowest[0][0]:.3f} s ({slowest[0][2]})",
                      flush=True)
    except KeyboardInterrupt:
        pass
    print(f"\n{tried:,} inputs tried, {failed} failed (seed {args.seed})")
    print("slowest inputs (CPU s, bytes, sample:mutations):")
    for took, size, shape in slowest:
        print(f"  {took:7.3f}  {size:>9,}  {shape}")
    print("mutations by worst time (worst, mean CPU s, count):")
    for name, times in sorted(by_shape.items(), key=lambda kv: -max(kv[1])):
        print(f"  {max(times):7.3f}  {sum(times) / len(times):7.4f}  {len(times):>7,}  {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
