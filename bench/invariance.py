"""How often the analyzer's answer survives a meaning-preserving rewrite of the message, per variant.

    python bench/invariance.py [-v] [--corpus DIR] [--files LIST] [--no-corpus]

Runs every variant of tests/variants.py over samples/ and over the development corpus (the files named in LIST,
relative to DIR; by default ../shared/corpus/files-dev.txt and ../shared/corpus/set-of-emails, read in place) and
prints, per variant and overall, how many messages it applied to, how many kept their answer (kind and the
failed/delayed recipients' address, status, reply code, responder role and host, verdict, reason) and how many
changed. With -v, every changed message is listed with how its answer changed.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.variants import VARIANTS, describe_change, key  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def measure(label: str, files: list[tuple[str, Path]], verbose: bool) -> None:
    applied: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    details: list[str] = []
    unreadable = 0
    for name, path in files:
        try:
            raw = path.read_bytes()
        except OSError as e:
            print(f"{name}: cannot read: {e.strerror}", file=sys.stderr)
            unreadable += 1
            continue
        before = key(raw)
        for variant_name, variant in VARIANTS.items():
            try:
                out = variant(raw)
            except Exception as e:  # a variant that cannot handle a message is a finding, not the end of the run
                print(f"{name}: variant {variant_name} failed: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            if out is None:
                continue
            applied[variant_name] += 1
            after = key(out)
            if after != before:
                changed[variant_name] += 1
                details.append(f"  {variant_name:16} {name}: {describe_change(before, after)}")
    print(f"\n{label}: {len(files) - unreadable} messages")
    print(f"  {'variant':16} {'applied':>8} {'unchanged':>10} {'changed':>8} {'invariant':>10}")
    rows = [(n, applied[n], changed[n]) for n in VARIANTS]
    rows.append(("overall", sum(applied.values()), sum(changed.values())))
    for variant_name, a, c in rows:
        rate = f"{100 * (a - c) / a:.1f}%" if a else "-"
        print(f"  {variant_name:16} {a:8} {a - c:10} {c:8} {rate:>10}")
    if verbose and details:
        print(f"\n{label}: changed")
        print("\n".join(details))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every changed message and how")
    parser.add_argument("--corpus", type=Path, default=CORPUS / "set-of-emails", help="folder the list is relative to")
    parser.add_argument("--files", type=Path, default=CORPUS / "files-dev.txt", help="file list, one path a line")
    parser.add_argument("--no-corpus", action="store_true", help="samples/ only")
    args = parser.parse_args()
    samples = [(p.relative_to(ROOT).as_posix(), p) for p in sorted((ROOT / "samples").rglob("*.eml"))]
    measure("samples", samples, args.verbose)
    if args.no_corpus:
        return 0
    try:
        names = [line.strip() for line in args.files.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as e:
        print(f"{args.files}: cannot read the file list: {e.strerror}", file=sys.stderr)
        return 1
    measure("corpus", [(n, args.corpus / n) for n in names], args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
