from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def sample_pairs() -> list[tuple[Path, Path]]:
    pairs = []
    for eml in sorted(SAMPLES.rglob("*.eml")):
        expected = eml.with_suffix(".expected.toml")
        pairs.append((eml, expected))
    return pairs


def run_cli(*args: str, stdin: bytes | None = None, cwd: Path | None = None):
    """Run the command as a user would, in a child process."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "bounce_analyzer", *args], input=stdin, capture_output=True,
                          cwd=cwd or ROOT, timeout=120)


@pytest.fixture
def cli():
    return run_cli
