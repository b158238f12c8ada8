"""The built wheel carries the rules inside the package, and the installed package analyzes from them."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from .conftest import ROOT

RULES = ROOT / "bounce_analyzer" / "rules"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return next(out.glob("*.whl"))


def test_wheel_contains_exactly_the_rule_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"bounce_analyzer/rules/{p.relative_to(RULES).as_posix()}" for p in RULES.rglob("*") if p.is_file()}
    in_wheel = {n for n in names if n.startswith("bounce_analyzer/rules/")}
    assert in_wheel == shipped
    assert "bounce_analyzer/py.typed" in names


def test_installed_wheel_analyzes(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    code = ("import bounce_analyzer, pathlib; p = pathlib.Path(bounce_analyzer.__file__).parent; "
            f"assert str(p).startswith({str(target)!r}), p; "
            "r = bounce_analyzer.explain('550 5.1.1 user unknown'); print(r.reason)")
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "user_unknown"
