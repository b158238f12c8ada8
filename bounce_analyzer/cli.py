"""The ``bounce-analyzer`` command. Start-up stays light: each command imports only what it needs.

Exit codes: 0 when every input was read, 1 when some could not be (each named on stderr in one line), 2 on usage
errors. No traceback reaches a user; a closed pipe (``| head``) ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from . import _collector_paused
from .display import for_terminal, to_json
from .options import PASSWORD_ENV

if TYPE_CHECKING:
    from .explain import Explanation
    from .model import Report

PROG = "bounce-analyzer"


def _err(message: str) -> None:
    sys.stderr.write(f"{PROG}: {for_terminal(message)}\n")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Read bounce messages and tell what happened to every "
                                "recipient, which server said so, and what to do about it.")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    p.add_argument("--ablate", action="append", default=[], metavar="PART",
                   help="self-check: analyze without a provider rule file or vendor reader (e.g. yahoo, ses-json), "
                        "or without all of them (vendor); repeatable")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser("analyze", help="analyze bounce messages (files, folders, or - for stdin)",
                       description="Analyze each message and print one report per message, in input order.")
    a.add_argument("inputs", nargs="+", metavar="FILE|DIR|-")
    a.add_argument("--format", choices=("text", "json", "jsonl", "sisimai"), default=None,
                   help="text (default on a terminal), json, or jsonl (default otherwise): one report a line; "
                   "sisimai: one record a failed recipient, in Sisimai's field names")
    _analysis_options(a)

    s = sub.add_parser("scan", help="analyze a whole mailbox: folders, mbox, Maildir, IMAP, POP3 or stdin",
                       description="Analyze every message of each SOURCE in input order: a file or folder of "
                       "messages, an mbox (also gzip), a Maildir, - for stdin (one message or an mbox stream), "
                       "imaps://USER@HOST[:PORT]/FOLDER, imap://..., pop3s://USER@HOST[:PORT] or pop3://... "
                       "Nothing is changed in any mailbox unless an action is asked for. The password of a mailbox "
                       f"comes from ${PASSWORD_ENV}, a netrc file, or a prompt on the terminal.")
    s.add_argument("sources", nargs="+", metavar="SOURCE")
    s.add_argument("--db", metavar="FILE", help="store results in this SQLite file; messages already in it are "
                   "skipped, so a stopped scan resumes where it stopped")
    s.add_argument("--rescan", action="store_true", help="analyze messages again even if they are in the store")
    s.add_argument("--format", choices=("jsonl", "csv", "text", "sisimai", "parquet", "none"), default=None,
                   help="what to print on stdout: jsonl (default when stdout is not a terminal), csv (one row a "
                   "recipient), text (default on a terminal), sisimai (one record a failed recipient, in Sisimai's "
                   "field names), none")
    s.add_argument("-o", "--output", metavar="DIR", help="--format parquet: write the Parquet dataset to this folder")
    s.add_argument("--dask", metavar="SCHEDULER", help="split the scan into tasks on this Dask scheduler "
                   "(tcp://HOST:8786); the workers read the files themselves")
    s.add_argument("--jobs", "-j", type=_positive, default=None, metavar="N",
                   help="processes to analyze with (default: the number of cores)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar (it is shown only on a terminal)")
    s.add_argument("--no-summary", action="store_true", help="no summary on stderr at the end")
    _analysis_options(s)
    m = s.add_argument_group("mailboxes (IMAP, POP3)")
    m.add_argument("--password-env", metavar="VAR", help=f"read the password from this variable (default "
                   f"{PASSWORD_ENV})")
    m.add_argument("--netrc", metavar="FILE", help="read the login from this netrc file (default ~/.netrc)")
    m.add_argument("--ca-file", metavar="FILE", help="trust this CA certificate bundle for the server's TLS")
    m.add_argument("--plaintext", action="store_true",
                   help="imap:// and pop3:// without TLS (the password travels unencrypted)")
    m.add_argument("--mark-seen", action="store_true", help="IMAP: flag analyzed bounces as seen (needs --db)")
    m.add_argument("--move-to", metavar="FOLDER", help="IMAP: move analyzed bounces to FOLDER (needs --db)")
    m.add_argument("--delete", action="store_true", help="POP3: delete analyzed bounces (needs --db)")
    w = s.add_argument_group("pushing to a list manager")
    w.add_argument("--post-to", metavar="URL", help="POST each new failure, complaint and policy decision to this "
                   "webhook, once (needs --db, where what was posted is recorded)")
    w.add_argument("--post-format", choices=("json", "listmonk"), default="json",
                   help="json (this tool's fields; the default) or listmonk (its bounce webhook body)")
    w.add_argument("--post-token-env", metavar="VAR", help="send the value of this variable as the Authorization "
                   "token (Bearer; listmonk: 'token USER:TOKEN')")
    w.add_argument("--post-retries", type=_count, default=5, metavar="N",
                   help="tries after the first on connection errors, 429 and 5xx, with backoff (default 5)")
    w.add_argument("--post-backoff", type=_seconds, default=0.5, metavar="SECONDS",
                   help="wait before the first retry, doubled for each next one (default 0.5)")
    w.add_argument("--policy", default="strict", metavar="NAME|FILE.toml",
                   help="the bounce policy whose decisions are posted (default strict)")

    ld = sub.add_parser("load", help="fill a results store from a Parquet dataset made by 'scan --format parquet'")
    ld.add_argument("dataset", metavar="DIR")
    ld.add_argument("--db", required=True, metavar="FILE")
    rp = sub.add_parser("report", help="write an HTML report of a results store",
                        description="Write one self-contained HTML page (charts and a searchable recipient table) "
                        "about a results store made by 'scan --db'.")
    rp.add_argument("--db", required=True, metavar="FILE")
    rp.add_argument("-o", "--output", required=True, metavar="FILE.html")

    su = sub.add_parser("suppressions", help="print the addresses to stop sending to",
                        description="Print the suppression list of a results store: what the default bounce policy "
                        "(strict) decides: addresses with a hard bounce, a complaint or a moved address, or repeated "
                        "recipient-side soft bounces, with the latest reason and when it was last seen.")
    su.add_argument("--db", required=True, metavar="FILE")
    su.add_argument("--format", choices=("text", "csv", "jsonl"), default="text")
    _policy_options(su)

    po = sub.add_parser("policy", help="apply a bounce policy to a results store",
                        description="Apply a bounce policy to each address's history in a results store and print "
                        "every decision with the chain of messages, dates and reasons that led to it. Shipped "
                        "policies: strict (the default), mailman, listmonk; or a policy file of your own.")
    po.add_argument("--db", required=True, metavar="FILE")
    po.add_argument("--format", choices=("text", "csv", "jsonl"), default="text")
    _policy_options(po)

    e = sub.add_parser("explain", help="explain a reply code, an enhanced status code or a diagnostic line",
                       description="Explain 550, 5.7.1 or a whole line such as '550 5.1.1 User unknown'.")
    e.add_argument("query", nargs="+", metavar="CODE|TEXT")
    e.add_argument("--host", metavar="HOST", help="the server that gave the reply (e.g. mta7.am0.yahoodns.net): its "
                   "provider's rules apply")
    e.add_argument("--format", choices=("text", "json"), default="text")
    e.add_argument("--rules", action="append", default=[], metavar="PATH")

    r = sub.add_parser("rules", help="work with rule files")
    rsub = r.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    c = rsub.add_parser("check", help="load the rules and run every rule's examples",
                        description="Load the shipped rules plus PATHs, validate them and run every example.")
    c.add_argument("paths", nargs="*", metavar="PATH")
    return p


def _analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", action="append", default=[], metavar="PATH",
                   help="extra rules file or folder, loaded after the shipped rules (repeatable)")
    p.add_argument("--header", action="append", default=[], metavar="NAME",
                   help="also report this header of the original message, e.g. X-Campaign-ID (repeatable)")
    p.add_argument("--max-size", type=_size, default=None, metavar="BYTES",
                   help="analyze at most this many bytes of each message (default 10M)")


def _policy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", default="strict", metavar="NAME|FILE.toml",
                   help="strict (default), mailman, listmonk, or a policy file")
    p.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                   help="decide on what was known up to this date (ISO 8601, e.g. 2026-01-31); default: everything")


def _date(value: str) -> str:
    from datetime import datetime

    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (write e.g. 2026-01-31)") from None
    return value.strip()


def _version() -> str:
    from . import __version__

    return __version__


def _at_least(minimum: int) -> Any:
    """An argument type: a whole number no smaller than ``minimum``."""

    def whole(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more")
        return n

    return whole


_positive = _at_least(1)
_count = _at_least(0)


def _seconds(value: str) -> float:
    try:
        n = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 <= n <= 3600:
        raise argparse.ArgumentTypeError("must be from 0 to 3600")
    return n


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


def _cmd_analyze(args: argparse.Namespace) -> int:
    with _collector_paused():
        from .batch.sources import open_source
        from .batch.workers import analyze_items
    from .errors import BounceAnalyzerError
    from .parse import bounded as rx

    options = _options(args)
    rules = _load_rules(args.rules)
    fmt = args.format or ("text" if sys.stdout.isatty() else "jsonl")
    out = sys.stdout
    failures = 0
    reports: list[dict[str, Any]] = []
    single = len(args.inputs) == 1  # json: one object for one message given alone, else a list
    with rx.timer_held(options.regex_timeout):  # for every file at once, rather than taken again for each
        for spec in args.inputs:
            try:
                source = open_source(spec, options.max_size, as_given=True)
                found = 0
                items = source.items(lambda _: False)
                for item, analyzed in analyze_items(items, rules=rules, options=options, jobs=1):
                    report, as_json = analyzed.report, analyzed.json
                    found += 1
                    single = single and found == 1 and item.id == spec
                    if item.error is not None:
                        _err(f"{item.id}: {item.error}")
                        failures += 1
                        continue
                    for problem in report.problems:
                        if problem.kind not in ("no-recipient",):
                            _err(str(problem))
                    if fmt == "jsonl":
                        out.write(as_json + "\n")
                    elif fmt == "sisimai":
                        from .sisimai import records

                        for record in records(report):
                            out.write(to_json(record) + "\n")
                    elif fmt == "json":
                        reports.append(report.to_dict())
                    else:
                        _print_report(report, out)
                if not found:
                    _err(f"{spec}: folder holds no messages")
                    failures += 1
            except BounceAnalyzerError as e:
                _err(str(e))
                failures += 1
    if fmt == "json":
        doc: Any = reports[0] if single and len(reports) == 1 else reports
        out.write(to_json(doc, indent=2) + "\n")
    return 1 if failures else 0


def _options(args: argparse.Namespace) -> Any:
    from .options import DEFAULT

    options = DEFAULT.replace(extra_headers=tuple(args.header), ablate=tuple(getattr(args, "ablate", ())))
    if args.max_size:
        options = options.replace(max_size=args.max_size)
    return options


def _cmd_scan(args: argparse.Namespace) -> int:
    import signal
    import tempfile

    from .batch.outputs import writer_for
    from .batch.scanner import Scanner
    from .batch.store import Store
    from .batch.summary import print_summary, summarize
    from .batch.workers import default_jobs
    from .errors import InputError

    if args.dask or args.format == "parquet" or args.output:
        return _cmd_scan_tasks(args)
    if (args.move_to or args.mark_seen or args.delete) and not args.db:
        _err("--mark-seen, --move-to and --delete need --db: mail is acted on only after its result is stored")
        return 2
    poster, policy = _poster(args) if args.post_to else (None, None)
    rules = _load_rules(args.rules)
    writer = writer_for(args.format or ("text" if sys.stdout.isatty() else "jsonl"), sys.stdout, tuple(args.header))
    options = _options(args)
    if poster is not None and args.post_format == "listmonk":
        from .batch.webhook import LISTMONK_HEADERS

        options = options.replace(extra_headers=(*options.extra_headers, *LISTMONK_HEADERS))
    with tempfile.TemporaryDirectory(prefix="bounce-analyzer-") as tmp:
        store = Store(args.db or os.path.join(tmp, "results.sqlite"), durable=args.delete)
        try:
            scanner = Scanner(args.sources, rules=rules, options=options, jobs=args.jobs or default_jobs(),
                              store=store, rescan=args.rescan, reports=writer.reads_reports,
                              password_env=args.password_env,
                              netrc_file=args.netrc, plaintext=args.plaintext, ca_file=args.ca_file,
                              move_to=args.move_to, mark_seen=args.mark_seen, delete=args.delete)
            failures = 0
            sources = []
            for spec in args.sources:
                try:
                    sources.append(scanner.open(spec))
                except InputError as e:
                    _err(str(e))
                    failures += 1
            new = 0
            bar = None
            try:
                for source in sources:
                    try:
                        bar = _progress(source, args.no_progress)
                        scanner.on_skip = bar.advance if bar else None
                        for item, result in scanner.run([source]):
                            new += 1  # (stored when it was handed out: counted before an interrupt can cut its line)
                            writer.write(result)
                            for problem in result.problems:
                                if problem.kind != "no-recipient":
                                    _note(str(problem), bar)
                                    failures += problem.kind == "unreadable"
                            if bar:
                                bar.advance(item)
                            if poster is not None and new % POST_EVERY == 0:
                                failures += not _post(poster, store, None, bar)
                    except InputError as e:
                        _note(str(e), bar)
                        failures += 1
                    finally:
                        if bar:
                            bar.close()
                            bar = None
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: what was handed out is stored by now
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second one must not cut the last words short
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                if bar:
                    bar.close()
                _err(_stopped(store, new, args))
                return 130
            if poster is not None:
                failures += not _post(poster, store, policy, None)
            if not args.no_summary and store.count():
                where = args.db or "this scan"
                print_summary(summarize(store), sys.stderr, where=where, skipped=scanner.skipped, new=new)
        finally:
            store.close()
    return 1 if failures else 0


def _cmd_scan_tasks(args: argparse.Namespace) -> int:
    """scan --dask and scan --format parquet: the sources cut into tasks (bounce_analyzer.distributed)."""
    from .batch.outputs import writer_for
    from .batch.workers import Analyzed, default_jobs

    if (args.format == "parquet") != bool(args.output):
        _err("--format parquet and -o DIR go together: the dataset is a folder of files")
        return 2
    unused = [flag for flag, given in (("--db", args.db), ("--rescan", args.rescan), ("--post-to", args.post_to),
                                       ("--mark-seen", args.mark_seen), ("--move-to", args.move_to),
                                       ("--delete", args.delete)) if given]
    if unused:
        _err(f"{', '.join(unused)}: not with --dask or --format parquet (fill a store from the dataset with "
             "'bounce-analyzer load DIR --db FILE')")
        return 2
    import signal

    from . import distributed

    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: no part is left half written
    rules = _load_rules(args.rules)
    options = _options(args)
    fmt = args.format or ("text" if sys.stdout.isatty() else "jsonl")
    writer = writer_for("none" if fmt == "parquet" else fmt, sys.stdout, tuple(args.header))
    out = args.output if fmt == "parquet" else None
    client = None
    if args.dask:
        client = _dask_client(args.dask)
    try:
        remote = {"password_env": args.password_env, "netrc_file": args.netrc, "plaintext": args.plaintext,
                  "ca_file": args.ca_file}
        # workers get the rule files' paths and load them once each, rather than a loaded rule set with every task
        reports = distributed.scan(args.sources, client, parquet=out, options=options,
                                   rules=[os.path.abspath(p) for p in args.rules] if rules is not None else None,
                                   headers=tuple(args.header), **remote) if client is not None else \
            distributed.run_local(args.sources, parquet=out, rules=rules, options=options,
                                  headers=tuple(args.header), jobs=args.jobs or default_jobs(), **remote)
        failures = messages = 0
        for report in reports:
            if out is None:
                writer.write(Analyzed(report, to_json(report.to_dict())))
            messages += 1
            for problem in report.problems:
                if problem.kind == "unreadable":
                    _err(str(problem))
                    failures += 1
    finally:
        if client is not None:
            client.close()
    if not args.no_summary:
        _err(f"{messages:,} messages analyzed" + (f", written to {out}" if out else ""))
    return 1 if failures else 0


def _dask_client(address: str) -> Any:
    from .errors import InputError

    try:
        import distributed
    except ImportError:
        raise InputError("--dask needs Dask: pip install 'bounce-analyzer[dask]'") from None
    try:
        connect: Any = distributed.Client  # typed loosely by Dask
        return connect(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(f"{address}: cannot reach the Dask scheduler ({e})") from None


def _cmd_load(args: argparse.Namespace) -> int:
    from .batch.parquet import load_into_store
    from .batch.store import Store

    store = Store(args.db)
    try:
        added, already = load_into_store(args.dataset, store)
    finally:
        store.close()
    _err(f"{added:,} messages added to {args.db} ({already:,} were stored already)")
    return 0


POST_EVERY = 200  # new messages between two rounds of posting during a scan (and one round at the end)


def _poster(args: argparse.Namespace) -> tuple[Any, Any]:
    from .batch.webhook import Poster
    from .errors import InputError
    from .policy import load_policy

    if not args.db:
        raise InputError("--post-to needs --db: what was posted is recorded there, so that nothing is posted twice")
    token = None
    if args.post_token_env:
        token = os.environ.get(args.post_token_env)
        if not token:
            raise InputError(f"{args.post_token_env}: this variable (--post-token-env) is not set")
    return (Poster(args.post_to, fmt=args.post_format, token=token, retries=args.post_retries,
                   backoff=args.post_backoff),
            load_policy(args.policy))


def _post(poster: Any, store: Any, policy: Any, bar: Any) -> bool:
    """One round of posting what is pending; False when the server could not be reached (said on stderr)."""
    result = poster.post_pending(store, policy, on_rejected=lambda m: _note(m, bar))
    if result.error:
        _note(f"{result.error} ({result.pending} events pending)", bar)
        return False
    return bool(result.rejected == 0)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _stopped(store: Any, new: int, args: argparse.Namespace) -> str:
    """What a stopped scan says: what is kept, and how to go on."""
    try:
        held = store.count()
    except Exception:  # the store itself is what failed: say what this run did
        held = None
    if not args.db:
        return (f"interrupted after {new:,} messages; without --db nothing is kept: run it with --db FILE to be able "
                "to stop and go on")
    stored = f"{held:,} messages are stored in {args.db}" if held is not None else f"results are in {args.db}"
    return f"interrupted: {stored} ({new:,} from this run); run the same command again to go on"


class _Bar:
    """The progress of one source on stderr: bytes read with a percentage and the time left for files and mboxes,
    messages for IMAP and POP3 (and of how many, when the server says)."""

    def __init__(self, source: Any) -> None:
        from tqdm import tqdm

        self.bytes = getattr(source, "unit", "messages") == "bytes"
        try:
            total = source.total()
        except Exception:  # the total is for show: the source's own errors are said when it is read
            total = None
        label = for_terminal(str(getattr(source, "label", "")))[-30:] or None
        if self.bytes:
            self.bar = tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
                            dynamic_ncols=True, smoothing=0.1)
        else:
            self.bar = tqdm(total=total, desc=label, unit="msg", leave=False, dynamic_ncols=True, smoothing=0.1)

    def advance(self, item: Any = None) -> None:
        if not self.bytes:
            self.bar.update(1)
        elif item is not None and item.position > self.bar.n:
            self.bar.update(item.position - self.bar.n)

    def write(self, message: str, file: TextIO) -> None:
        self.bar.write(message, file=file)

    def close(self) -> None:
        self.bar.close()


def _progress(source: Any, off: bool) -> _Bar | None:
    """A progress bar on stderr, only when stderr is a terminal (tqdm is imported only then)."""
    if off or not sys.stderr.isatty():
        return None
    return _Bar(source)


def _note(message: str, bar: Any) -> None:
    if bar is not None:
        bar.write(f"{PROG}: {for_terminal(message)}", file=sys.stderr)
    else:
        _err(message)


def _cmd_report(args: argparse.Namespace) -> int:
    from .batch.html_report import write_report
    from .batch.store import open_existing

    store = open_existing(args.db)
    try:
        write_report(store, args.output)
    except OSError as e:
        _err(f"{args.output}: cannot write ({e.strerror or e})")
        return 1
    finally:
        store.close()
    sys.stderr.write(f"wrote {args.output}\n")
    return 0


def _decisions(args: argparse.Namespace) -> list[Any]:
    from .batch.store import open_existing
    from .policy import load_policy

    policy = load_policy(args.policy)
    store = open_existing(args.db)
    try:
        return store.suppressions(policy, args.as_of)
    finally:
        store.close()


def _cmd_suppressions(args: argparse.Namespace) -> int:
    rows = [(d.address, d.reason, d.last_seen.isoformat(timespec="seconds") if d.last_seen else "", d.times,
             d.action) for d in _decisions(args)]
    out = sys.stdout
    if args.format == "csv":
        import csv

        from .batch.outputs import csv_cell

        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(("address", "reason", "last_seen", "times", "action"))
        w.writerows([csv_cell(v) for v in row] for row in rows)
    elif args.format == "jsonl":
        for address, reason, seen, times, action in rows:
            out.write(to_json({"address": address, "reason": reason, "last_seen": seen, "times": times,
                               "action": action}) + "\n")
    else:
        for address, reason, seen, times, _ in rows:
            out.write("\t".join(for_terminal(str(v)) for v in (address, reason, seen, times)) + "\n")
    return 0


def _cmd_policy(args: argparse.Namespace) -> int:
    decisions = _decisions(args)
    out = sys.stdout
    if args.format == "jsonl":
        for d in decisions:
            out.write(to_json(d.to_dict()) + "\n")
    elif args.format == "csv":
        import csv

        from .batch.outputs import csv_cell

        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(("address", "action", "decided_at", "reason", "why", "score", "policy", "chain"))
        for d in decisions:
            e = d.to_dict()
            chain = "; ".join(f"{x['date']} {x['event']} {x['reason']} {x['source']}" for x in e["chain"])
            w.writerow([csv_cell(v) for v in (d.address, d.action, e["decided_at"], d.reason, d.why,
                                           "" if d.score is None else f"{d.score:g}", d.policy, chain)])
    else:
        for d in decisions:
            out.write(f"{d.address}  {d.action.upper()}  {d.to_dict()['decided_at']}  {d.reason}  ({d.why})\n")
            for x in d.chain:
                fault = f" [{x.fault}]" if x.fault else ""
                out.write(f"    {x.to_dict()['date']}  {x.type:<9} {x.reason}{fault}  {x.source}\n")
    return 0


def _load_rules(paths: list[str]) -> Any:
    if not paths:
        return None
    from .classify.rules import load

    ruleset = load(paths)
    for w in ruleset.warnings:
        _err(w)
    return ruleset


def _print_report(report: Report, out: TextIO) -> None:
    from .display import Paint, kind_words, wants_colour

    t = for_terminal  # every value from the message, shown with its control characters made visible
    paint = Paint(wants_colour(out))
    head = f"{paint(t(report.source), 'bold')}: {paint(kind_words(report.kind), 'bold')}"
    if report.format:
        head += f" (read as {report.format})"
    if report.reporting_mta:
        head += f", reported by {t(report.reporting_mta)}"
    out.write(head + "\n")
    if report.original and (report.original.message_id or report.original.subject):
        o = report.original
        out.write(f"  original: {t(o.subject or '')} {t(o.message_id or '')}".rstrip() + "\n")
        if o.verp_recipient:
            out.write(f"  VERP recipient: {t(o.verp_recipient)}\n")
    for r in report.recipients:
        codes = " ".join(x for x in (str(r.reply_code) if r.reply_code else "", r.status or "") if x) or "no code"
        verdict = paint((r.verdict or "-").upper(), r.verdict)
        out.write(f"  {paint(t(r.address), 'bold')}  [{t(r.action or '')}]  {t(codes)}  {r.reason}  {verdict}\n")
        who = f"{r.responder.role}"
        if r.responder.host:
            who += f" {t(r.responder.host)}"
        if r.responder.ip:
            who += f" [{t(r.responder.ip)}]"
        stage = f", at {t(r.smtp_command)}" if r.smtp_command else ""
        out.write(f"      answered by: {who}{stage}\n")
        if r.fault:
            out.write(f"      fault:       {r.fault}\n")
        if r.diagnostic:
            out.write(f"      diagnostic:  {t(r.diagnostic[:300])}\n")
        if r.code_conflict:
            out.write("      note:        the reply code and the enhanced code disagree on the class\n")
        if r.retry_after:
            out.write(f"      retry after: {r.retry_after} s\n")
        out.write(f"      hint:        {t(r.hint)}\n")
        out.write(paint(f"      rule:        {t(r.rule)}", "dim") + "\n")
    if not report.recipients and report.kind == "not_bounce":
        out.write("  nothing failed: this message is not a bounce (no delivery report or failure notice in it)\n")
    elif not report.recipients and report.kind == "autoreply":
        out.write("  nothing failed: an automatic reply (out of office or similar), not a bounce\n")
    out.write("\n")


def _cmd_explain(args: argparse.Namespace) -> int:
    with _collector_paused():
        from .explain import explain

    rules = _load_rules(args.rules)
    query = " ".join(args.query)
    ex = explain(query, rules=rules, host=args.host)
    if not ex.known:
        _err(f"{query}: not a reply code, enhanced status code, reason word or diagnostic line this tool can read "
             "(try 550, 5.1.1, user_unknown or a whole line such as '550 5.1.1 User unknown')")
        return 1
    if args.format == "json":
        sys.stdout.write(to_json(ex.to_dict(), indent=2) + "\n")
    else:
        _print_explanation(ex, sys.stdout)
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
    reason = f"{ex.reason}: {ex.reason_description}" if ex.reason and ex.reason_description else ex.reason
    lines += [("reason", reason), ("verdict", ex.verdict), ("fault", ex.fault), ("hint", ex.hint),
              ("answered by", ex.host), ("refs", ", ".join(ex.refs) if ex.refs else None)]
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
    import signal
    import threading

    # Ctrl-C and SIGTERM stop every command the same way, even when started with them ignored (as a background job)
    if threading.current_thread() is threading.main_thread():  # (only there can handlers be set)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) else 2
    from .errors import BounceAnalyzerError, ScanError, StoreError

    try:
        if args.command == "analyze":
            return _cmd_analyze(args)
        if args.command == "scan":
            return _cmd_scan(args)
        if args.command == "load":
            return _cmd_load(args)
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "suppressions":
            return _cmd_suppressions(args)
        if args.command == "policy":
            return _cmd_policy(args)
        if args.command == "explain":
            return _cmd_explain(args)
        if args.command == "rules" and args.rules_command == "check":
            return _cmd_rules_check(args)
        parser.print_help(sys.stderr)
        return 2
    except (StoreError, ScanError) as e:  # not a usage error: the disk is full, a worker process was killed, ...
        _err(str(e))
        return 1
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
