"""How well the generic path stands alone: ablation and leave-one-family-out on the development corpus.

    .venv/bin/python bench/generalization.py [--corpus ../shared/corpus] [--families 10]

Runs the scorer of the development corpus (``../shared/eval``, read in place; nothing of it is copied) with the
command line's ``--ablate`` switch:

- ablation: without every provider rule file and vendor reader (``--ablate vendor``), then also without the phrase
  rules of ``rules/patterns/`` (codes and cues alone), then without the cues too (codes alone);
- leave one family out: for each of the largest format families, the parts specific to it switched off (its
  provider rule files and its reader, where it has any), scored on that family's records only. A family whose
  notices are read by the generic path alone has nothing to switch off; its row shows the generic path's score.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PATTERN_FILES = sorted(p.stem for p in (ROOT / "bounce_analyzer" / "rules" / "patterns").glob("*.toml"))
# what is specific to a family: provider rule files (by file name) and vendor readers (by parser name)
SPECIFIC = {
    "Gmail": ["google"], "GoogleGroups": ["google"], "GSuite": ["google"], "Yahoo": ["yahoo", "aol"],
    "YahooInc": ["yahoo", "aol"], "Aol": ["aol", "yahoo"], "Outlook": ["microsoft"], "Office365": ["microsoft"],
    "Exchange2007": ["microsoft"], "Exchange2003": ["microsoft"], "AmazonSES": ["ses-json"], "ApacheJames": ["james"],
    "FML": ["mlserver"], "Zoho": ["zoho"], "Cox": ["cox"], "Comcast": ["comcast"], "GoDaddy": ["godaddy"],
    "Barracuda": ["barracuda"], "Mimecast": ["mimecast"], "Orange": ["orange"], "Tencent": ["tencent"],
}
COLUMNS = ("rcptR", "st.real", "rp.real", "verdict", "reason")


def score(cmd: list[str], corpus: Path, by: str) -> dict[str, dict[str, str]]:
    """The scorer's table, row name → column → value."""
    work = tempfile.mkdtemp()
    try:
        env = dict(os.environ, CMD=" ".join(cmd), BY=by, WORK=work)
        out = subprocess.run(["bash", str(corpus.parent / "eval" / "run.sh")], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=False).stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] == ["group"]:
            header = parts
        elif header and len(parts) == len(header) and not set(line) <= {"-"}:
            rows[parts[0]] = dict(zip(header, parts, strict=True))
    return rows


def line(name: str, row: dict[str, str] | None) -> str:
    cells = "".join(f"{(row or {}).get(c, '-'):>9}" for c in COLUMNS)
    return f"  {name:34}{row.get('recs', '-') if row else '-':>6}{cells}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--families", type=int, default=10, help="how many of the largest families to leave out")
    args = ap.parse_args()
    if not (args.corpus / "truth-dev.jsonl").exists():
        sys.stderr.write(f"{args.corpus}: no development corpus here; give --corpus\n")
        return 2
    base = [str(Path(sys.executable).with_name("bounce-analyzer"))]
    head = f"  {'':34}{'recs':>6}" + "".join(f"{c:>9}" for c in COLUMNS)

    print("ablation (all failure records)")
    print(head)
    ablations = [
        ("everything", []),
        ("generic path (no provider, no vendor)", ["vendor"]),
        ("codes and cues (no phrase rules)", ["vendor", *PATTERN_FILES]),
        ("codes alone", ["vendor", *PATTERN_FILES, "cues"]),
    ]
    for name, off in ablations:
        cmd = base + [x for o in off for x in ("--ablate", o)]
        print(line(name, score(cmd, args.corpus, "none").get("ALL")), flush=True)

    truth = [json.loads(x) for x in (args.corpus / "truth-dev.jsonl").read_text(encoding="utf-8").splitlines()]
    sizes = collections.Counter(t["module"] for t in truth if t.get("reason") not in ("delivered", "feedback",
                                                                                        "vacation"))
    largest = [m for m, _ in sizes.most_common(args.families)]
    print(f"\nleave one family out ({args.families} largest families, their records only)")
    print(head)
    full = score(base, args.corpus, "module")
    for family in largest:
        off = SPECIFIC.get(family, [])
        key = next((k for k in full if k.lower() == family.lower()), family)
        print(line(f"{family} with everything", full.get(key)))
        if not off:
            print(f"  {'':4}(nothing specific to it: read by the generic path)")
            continue
        cmd = base + [x for o in off for x in ("--ablate", o)]
        left = score(cmd, args.corpus, "module")
        print(line(f"{family} without {', '.join(off)}", left.get(key)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
