"""The HTML report: self-contained, escaped, and drawn by a real browser (headless Chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import SAMPLES, need, run_cli

HOSTILE = (b"From: MAILER-DAEMON@mx.example.com\nTo: list@example.com\nSubject: Undelivered Mail Returned to Sender\n"
           b"Date: Tue, 02 Jan 2024 10:00:00 +0000\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n"
           b"Content-Type: text/plain\n\nThe mail system\n--b\nContent-Type: message/delivery-status\n\n"
           b"Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; <img src=x onerror=alert(1)>@example.net\n"
           b"Final-Recipient: rfc822; mallory@example.net\nAction: failed\nStatus: 5.1.1\n"
           b"Diagnostic-Code: smtp; 550 5.1.1 </script><script>alert(2)</script> no such user\n--b--\n")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "mail").mkdir()
    for eml in sorted(SAMPLES.rglob("*.eml")):
        (tmp / "mail" / f"{eml.parent.name}-{eml.name}").write_bytes(eml.read_bytes())
    (tmp / "mail" / "hostile.eml").write_bytes(HOSTILE)
    db = tmp / "r.sqlite"
    r = run_cli("scan", "--db", str(db), "--format", "none", "--no-summary", str(tmp / "mail"))
    assert r.returncode == 0, r.stderr
    out = tmp / "report.html"
    r = run_cli("report", "--db", str(db), "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out, out.read_text(encoding="utf-8")


def test_the_page_fetches_nothing(report):
    _, page = report
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in page


def test_text_from_messages_is_escaped(report):
    _, page = report
    assert "<script>alert(2)" not in page and "</script><script>" not in page
    assert "<img src=x" not in page
    assert page.count("<script") == 2  # the embedded data and the page's own script


def test_a_missing_store_is_a_clear_error(tmp_path):
    r = run_cli("report", "--db", str(tmp_path / "none.sqlite"), "-o", str(tmp_path / "r.html"))
    assert r.returncode == 2 and b"no such results store" in r.stderr
    assert not (tmp_path / "none.sqlite").exists()  # asking for a report never creates a store


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    need("Chromium", found is not None, "apt-get install chromium")
    return str(found)


def _browser(tmp: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp / 'profile'}", "--hide-scrollbars", "--virtual-time-budget=3000"]
    return subprocess.run([_chromium(), *flags, *args], capture_output=True, timeout=120)


def test_the_browser_runs_the_table_script(report, tmp_path):
    path, _ = report
    r = _browser(tmp_path, "--dump-dom", path.as_uri())
    dom = r.stdout.decode("utf-8", "replace")
    assert 'id="rows"' in dom, r.stderr[-2000:]
    body = dom.split('id="rows"', 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr") > 20  # rows made by the script from the embedded data
    assert "mallory@example.net" in body
    assert re.search(r"\d+ of \d+ addresses", dom)
    assert "<script>alert(2)" not in body  # the hostile diagnostic is text, not markup


def test_the_browser_draws_the_charts(report, tmp_path):
    from PIL import Image as image
    path, _ = report
    shot = tmp_path / "shot.png"
    r = _browser(tmp_path, f"--screenshot={shot}", "--window-size=1280,1400", path.as_uri())
    assert shot.exists(), r.stderr[-2000:]
    pixels = image.open(shot).convert("RGB")
    blue, red, amber = (0x2F, 0x6D, 0xB5), (0xC0, 0x39, 0x2B), (0xE5, 0xA8, 0x23)  # the page's chart colours
    counts = dict.fromkeys((blue, red, amber), 0)
    for n, color in pixels.getcolors(maxcolors=1 << 22) or []:
        for target in counts:  # the browser may shift colours a little when it manages them
            if sum(abs(a - b) for a, b in zip(color, target, strict=True)) <= 24:
                counts[target] += n
    assert counts[blue] > 5000, counts  # the bar charts are drawn
    assert counts[red] > 500 and counts[amber] > 500, counts  # hard and soft, in their colours
