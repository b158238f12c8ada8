"""The same answers on the development corpus, before and after a change: the full JSON report of every listed file,
compared with a snapshot kept outside the project (corpus content never enters it).

    python bench/same_answers.py --write /tmp/corpus-answers.jsonl     # before the change
    python bench/same_answers.py --check /tmp/corpus-answers.jsonl     # after: lists every file whose answer changed

Files are those of ``files-dev.txt`` in the corpus folder (default ``../shared/corpus``), read in place; a report's
source is the file's path relative to that folder. Exit status 1 when an answer changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bounce_analyzer.api import analyze  # noqa: E402
from bounce_analyzer.display import to_json  # noqa: E402


def answers(corpus: Path, listing: str) -> dict[str, str]:
    out = {}
    base = corpus / "set-of-emails"
    for name in (corpus / listing).read_text(encoding="utf-8").split():
        path = base / name
        out[name] = to_json(analyze(path.read_bytes(), source=name).to_dict())
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(HERE.parent.parent / "shared" / "corpus"))
    ap.add_argument("--files", default="files-dev.txt", help="the list of files, relative to the corpus folder")
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--write", metavar="PATH", help="write the snapshot here (outside the project)")
    what.add_argument("--check", metavar="PATH", help="compare with the snapshot written here")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    target = Path(args.write or args.check).resolve()
    if target.is_relative_to(HERE.parent.resolve()):
        print(f"{target}: the corpus snapshot must be kept outside the project", file=sys.stderr)
        return 2
    got = answers(corpus, args.files)
    if args.write:
        target.write_text("".join(f"{line}\n" for line in got.values()), encoding="utf-8")
        print(f"{target}: {len(got)} answers written")
        return 0
    want = {json.loads(line)["source"]: line for line in target.read_text(encoding="utf-8").splitlines()}
    changed = sorted(name for name in got.keys() | want.keys() if got.get(name) != want.get(name))
    for name in changed:
        print(f"changed: {name}")
    print(f"{len(got)} files, {len(changed)} answers changed")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
