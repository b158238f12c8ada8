"""The stored answers for every sample: the full JSON report the command prints (``analyze --format jsonl``), one
line a sample, with the sample's path relative to ``samples/`` as its source.

``tests/test_same_answers.py`` compares every sample's output with ``tests/snapshots/samples.jsonl``, so that a change
made for speed cannot change an answer unnoticed. When an answer changes on purpose, regenerate the file, read the
diff line by line, and commit it with a message that starts with ``snapshot:`` and says why each answer changed:

    .venv/bin/python -m tests.snapshot
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "samples.jsonl"


def sample_files() -> list[Path]:
    return sorted(SAMPLES.rglob("*.eml"))


def answer(path: Path) -> str:
    """The line ``analyze --format jsonl`` prints for this sample (the source made relative)."""
    from bounce_analyzer.api import analyze
    from bounce_analyzer.display import to_json

    report = analyze(path.read_bytes(), source=path.relative_to(SAMPLES).as_posix())
    return to_json(report.to_dict())


def stored() -> dict[str, str]:
    """Source → stored line."""
    import json

    out = {}
    for line in SNAPSHOT.read_text(encoding="utf-8").splitlines():
        out[json.loads(line)["source"]] = line
    return out


def main() -> int:
    lines = [answer(p) for p in sample_files()]
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    print(f"{SNAPSHOT.relative_to(ROOT)}: {len(lines)} samples written; read `git diff` before committing",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
