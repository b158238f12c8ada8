"""The ``bounce-analyzer`` command. Start-up stays light: each command imports only what it needs.

Exit codes: 0 when every input was read, 1 when some could not be (each named on stderr in one line), 2 on usage
errors. No traceback reaches a user; a closed pipe (``| head``) ends quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .explain import Explanation
    from .model import Report

PROG = "bounce-analyzer"


def _err(message: str) -> None:
    sys.stderr.write(f"{PROG}: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Read bounce messages and tell what happened to every "
                                "recipient, which server said so, and what to do about it.")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser("analyze", help="analyze bounce messages (files, folders, or - for stdin)",
                       description="Analyze each message and print one report per message, in input order.")
    a.add_argument("inputs", nargs="+", metavar="FILE|DIR|-")
    a.add_argument("--format", choices=("text", "json", "jsonl"), default=None,
                   help="text (default on a terminal), json, or jsonl (default otherwise): one report a line")
    a.add_argument("--rules", action="append", default=[], metavar="PATH",
                   help="extra rules file or folder, loaded after the shipped rules (repeatable)")
    a.add_argument("--header", action="append", default=[], metavar="NAME",
                   help="also report this header of the original message, e.g. X-Campaign-ID (repeatable)")
    a.add_argument("--max-size", type=_size, default=None, metavar="BYTES",
                   help="analyze at most this many bytes of each message (default 10M)")

    e = sub.add_parser("explain", help="explain a reply code, an enhanced status code or a diagnostic line",
                       description="Explain 550, 5.7.1 or a whole line such as '550 5.1.1 User unknown'.")
    e.add_argument("query", nargs="+", metavar="CODE|TEXT")
    e.add_argument("--format", choices=("text", "json"), default="text")
    e.add_argument("--rules", action="append", default=[], metavar="PATH")

    r = sub.add_parser("rules", help="work with rule files")
    rsub = r.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    c = rsub.add_parser("check", help="load the rules and run every rule's examples",
                        description="Load the shipped rules plus PATHs, validate them and run every example.")
    c.add_argument("paths", nargs="*", metavar="PATH")
    return p


def _version() -> str:
    from . import __version__

    return __version__


def _size(value: str) -> int:
    v = value.strip().lower()
    mult = 1
    for suffix, m in (("k", 1024), ("m", 1024**2), ("g", 1024**3)):
        if v.endswith(suffix):
            v, mult = v[:-1], m
    try:
        n = int(float(v) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {value!r} (write e.g. 10M or 500000)") from None
    if n <= 0:
        raise argparse.ArgumentTypeError("the size must be positive")
    return n


def _expand(inputs: list[str]) -> Iterator[tuple[str, str | None]]:
    """(name, error) for every input, folders expanded in sorted order; error is set when it cannot be read."""
    for item in inputs:
        if item == "-":
            yield item, None
        elif os.path.isdir(item):
            found = False
            for root, dirs, files in os.walk(item):
                dirs.sort()
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    path = os.path.join(root, name)
                    if name.endswith(".toml") or name.endswith(".md"):  # expected results and notes beside samples
                        continue
                    found = True
                    yield path, None
            if not found:
                yield item, "folder holds no messages"
        elif os.path.exists(item):
            yield item, None
        else:
            yield item, "no such file or folder"


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .api import analyze, analyze_file
    from .errors import BounceAnalyzerError
    from .options import DEFAULT

    options = DEFAULT.replace(extra_headers=tuple(args.header))
    if args.max_size:
        options = options.replace(max_size=args.max_size)
    rules = _load_rules(args.rules)
    fmt = args.format or ("text" if sys.stdout.isatty() else "jsonl")
    out = sys.stdout
    failures = 0
    reports: list[dict[str, Any]] = []
    for name, error in _expand(args.inputs):
        if error:
            _err(f"{name}: {error}")
            failures += 1
            continue
        try:
            if name == "-":
                raw = sys.stdin.buffer.read(options.max_size)
                size = len(raw)
                while chunk := sys.stdin.buffer.read(1 << 20):  # read to the end, keep only the start
                    size += len(chunk)
                report = analyze(raw, source="-", rules=rules, options=options, size=size)
            else:
                report = analyze_file(name, rules=rules, options=options, source=name)
        except BounceAnalyzerError as e:
            _err(str(e))
            failures += 1
            continue
        except OSError as e:
            _err(f"{name}: cannot read ({e.strerror or e})")
            failures += 1
            continue
        for problem in report.problems:
            if problem.kind not in ("no-recipient",):
                _err(str(problem))
        if fmt == "jsonl":
            out.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
        elif fmt == "json":
            reports.append(report.to_dict())
        else:
            _print_report(report, out)
    if fmt == "json":
        doc: Any = reports[0] if len(args.inputs) == 1 and len(reports) == 1 and args.inputs[0] != "-" \
            and not os.path.isdir(args.inputs[0]) else reports
        if len(args.inputs) == 1 and args.inputs[0] == "-" and len(reports) == 1:
            doc = reports[0]
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    return 1 if failures else 0


def _load_rules(paths: list[str]) -> Any:
    if not paths:
        return None
    from .classify.rules import load

    ruleset = load(paths)
    for w in ruleset.warnings:
        _err(w)
    return ruleset


def _print_report(report: Report, out: TextIO) -> None:
    kind = str(report.kind).replace("_", " ")
    head = f"{report.source}: {kind}"
    if report.format:
        head += f" (read as {report.format})"
    if report.reporting_mta:
        head += f", reported by {report.reporting_mta}"
    out.write(head + "\n")
    if report.original and (report.original.message_id or report.original.subject):
        o = report.original
        out.write(f"  original: {o.subject or ''} {o.message_id or ''}".rstrip() + "\n")
        if o.verp_recipient:
            out.write(f"  VERP recipient: {o.verp_recipient}\n")
    for r in report.recipients:
        codes = " ".join(x for x in (str(r.reply_code) if r.reply_code else "", r.status or "") if x) or "no code"
        verdict = (r.verdict or "-").upper()
        out.write(f"  {r.address}  [{r.action}]  {codes}  {r.reason}  {verdict}\n")
        who = f"{r.responder.role}"
        if r.responder.host:
            who += f" {r.responder.host}"
        if r.responder.ip:
            who += f" [{r.responder.ip}]"
        stage = f", at {r.smtp_command}" if r.smtp_command else ""
        out.write(f"      answered by: {who}{stage}\n")
        if r.diagnostic:
            out.write(f"      diagnostic:  {r.diagnostic[:300]}\n")
        if r.code_conflict:
            out.write("      note:        the reply code and the enhanced code disagree on the class\n")
        if r.retry_after:
            out.write(f"      retry after: {r.retry_after} s\n")
        out.write(f"      hint:        {r.hint}\n")
        out.write(f"      rule:        {r.rule}\n")
    if not report.recipients and report.kind in ("not_bounce", "autoreply"):
        out.write("  no failed recipient: this is not a bounce\n")
    out.write("\n")


def _cmd_explain(args: argparse.Namespace) -> int:
    from .explain import explain

    rules = _load_rules(args.rules)
    query = " ".join(args.query)
    ex = explain(query, rules=rules)
    if args.format == "json":
        sys.stdout.write(json.dumps(ex.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _print_explanation(ex, sys.stdout)
    if not ex.known:
        _err(f"{query}: not a code this tool knows; showing what the rules make of it")
    return 0


def _print_explanation(ex: Explanation, out: TextIO) -> None:
    lines: list[tuple[str, Any]] = []
    if ex.reply_code is not None:
        std = "" if ex.standard is None else (" (standard)" if ex.standard else " (not standard)")
        lines.append(("reply code", f"{ex.reply_code} {ex.reply_title or ''}{std}".rstrip()))
        lines += [("class", ex.reply_class), ("meaning", ex.reply_meaning), ("used by", ex.used_by)]
    if ex.status is not None:
        lines.append(("status", f"{ex.status} {ex.status_title or ''}".rstrip()))
        lines += [("class", ex.status_class), ("subject", ex.status_subject), ("meaning", ex.status_meaning)]
    if ex.conflict:
        lines.append(("note", "the reply code and the enhanced code disagree on the class"))
    lines += [("reason", ex.reason), ("verdict", ex.verdict), ("hint", ex.hint), ("decided by", ex.rule),
              ("refs", ", ".join(ex.refs) if ex.refs else None)]
    for label, value in lines:
        if value:
            out.write(f"{label + ':':12} {value}\n")


def _cmd_rules_check(args: argparse.Namespace) -> int:
    from .classify.check import check
    from .classify.rules import load

    ruleset = load(args.paths)
    for w in ruleset.warnings:
        _err(w)
    problems = check(ruleset)
    for p in problems:
        sys.stdout.write(p + "\n")
    n_examples = sum(len(r.match_examples) + len(r.no_match_examples) for r in ruleset.rules)
    sys.stdout.write(f"{len(ruleset.rules)} rules, {n_examples} examples, {len(problems)} problems\n")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) else 2
    from .errors import BounceAnalyzerError

    try:
        if args.command == "analyze":
            return _cmd_analyze(args)
        if args.command == "explain":
            return _cmd_explain(args)
        if args.command == "rules" and args.rules_command == "check":
            return _cmd_rules_check(args)
        parser.print_help(sys.stderr)
        return 2
    except BounceAnalyzerError as e:
        _err(str(e))
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as e:  # a bug of ours: say so in one line rather than with a traceback
        _err(f"internal error ({type(e).__name__}: {e}); please report it with the input that caused it")
        return 2
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_stdout()


def _quiet_stdout() -> None:
    """After the reader of stdout went away, point stdout at /dev/null so the exit flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
