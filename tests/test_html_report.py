"""The HTML report: self-contained, escaped, and drawn by a real browser (headless Chromium)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
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


UNDATED = HOSTILE.replace(b"Date: Tue, 02 Jan 2024 10:00:00 +0000\n", b"").replace(b"mallory", b"undated")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "mail").mkdir()
    for eml in sorted(SAMPLES.rglob("*.eml")):
        (tmp / "mail" / f"{eml.parent.name}-{eml.name}").write_bytes(eml.read_bytes())
    (tmp / "mail" / "hostile.eml").write_bytes(HOSTILE)
    (tmp / "mail" / "undated.eml").write_bytes(UNDATED)
    db = tmp / "r.sqlite"
    r = run_cli("scan", "--db", str(db), "--format", "none", "--no-summary", "--header", "X-Campaign-ID",
                str(tmp / "mail"))
    assert r.returncode == 0, r.stderr
    out = tmp / "report.html"
    r = run_cli("report", "--db", str(db), "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out, out.read_text(encoding="utf-8")


def _sql(report: tuple[Path, str], query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(report[0].parent / "r.sqlite") as c:
        return c.execute(query, args).fetchall()


_ROWS = ("FROM recipients r JOIN messages m USING (source_id) WHERE r.action IN ('failed', 'delayed', "
         "'complained')")


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


# what a person does on the page, step by step; each step's table is recorded (a row: its cells' text)
_DRIVE = r"""
(() => {
  const $ = id => document.getElementById(id), out = {};
  const cells = () => [...document.querySelectorAll('#rows tr.row')]
    .map(tr => [...tr.children].map(td => td.textContent));
  const pick = (id, v) => { $(id).value = v;
    $(id).dispatchEvent(new Event($(id).tagName === 'SELECT' ? 'change' : 'input')); };
  const snap = name => { out[name] = {count: $('count').textContent, page: $('page').textContent, rows: cells()}; };
  let saved = null;  // what the export hands to the browser to save
  window.Blob = function (parts) { this.text = parts.join(''); };
  URL.createObjectURL = b => { saved = b.text; return '#'; };
  snap('start');
  $('next').click(); snap('page2'); $('prev').click();
  pick('f-verdict', 'hard'); snap('hard');
  $('export').click(); out.hardCsv = saved;
  $('reset').click(); pick('f-kind', 'feedback'); snap('complaints');
  $('reset').click(); pick('f-reason', 'user_unknown'); pick('f-domain', 'example.net'); snap('unknownNet');
  $('reset').click(); pick('f-from', '2024-01-01'); pick('f-to', '2024-06-30'); snap('firstHalf2024');
  $('export').click(); out.rangeCsv = saved;
  $('reset').click(); pick('f-campaign', 'X-Campaign-ID: wk36-2023'); snap('campaign');
  $('reset').click(); pick('q', 'mallory'); snap('search');
  document.querySelector('#rows tr.row').click(); out.detail = document.querySelector('#rows tr.detail').textContent;
  $('reset').click(); pick('q', 'undated@'); snap('undated');
  $('reset').click(); document.querySelector('th[data-key=address]').click(); snap('byAddress');
  document.querySelector('th[data-key=address]').click(); snap('byAddressDown');
  const pre = document.createElement('pre'); pre.id = 'result'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
"""


@pytest.fixture(scope="module")
def driven(report, tmp_path_factory) -> dict:
    _, page = report
    tmp = tmp_path_factory.mktemp("driven")
    page_with_steps = tmp / "driven.html"
    page_with_steps.write_text(page.replace("</body>", f"<script>{_DRIVE}</script></body>"), encoding="utf-8")
    r = _browser(tmp, "--dump-dom", page_with_steps.as_uri())
    dom = r.stdout.decode("utf-8", "replace")
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, r.stderr[-2000:]
    import html

    return dict(json.loads(html.unescape(found.group(1))))


def _n(step: dict) -> int:
    return int(step["count"].split(" of ")[0].replace(",", ""))


def test_the_table_holds_every_failure_in_pages(report, driven):
    total = _sql(report, f"SELECT COUNT(*) {_ROWS}")[0][0]
    assert driven["start"]["count"] == f"{total} of {total} rows"
    assert len(driven["start"]["rows"]) == 50 and driven["start"]["page"] == f"page 1 of {-(-total // 50)}"
    assert driven["page2"]["page"].startswith("page 2 of") and driven["page2"]["rows"] != driven["start"]["rows"]
    # newest first; a row whose notice has no date says so and comes last, never dated by the scan
    dates = [row[2] for row in driven["start"]["rows"]]
    assert dates == sorted(dates, reverse=True)
    (undated,) = driven["undated"]["rows"]
    assert undated[1] == "undated@example.net" and undated[2] == "no date"


def test_filters_narrow_the_table_to_what_the_store_holds(report, driven):
    hard = _sql(report, f"SELECT COUNT(*) {_ROWS} AND r.verdict = 'hard'")[0][0]
    assert _n(driven["hard"]) == hard and {row[3] for row in driven["hard"]["rows"]} == {"hard"}
    complaints = _sql(report, f"SELECT COUNT(*) {_ROWS} AND m.kind = 'feedback'")[0][0]
    assert _n(driven["complaints"]) == complaints > 0
    assert {row[3] for row in driven["complaints"]["rows"]} == {"complaint"}  # not hidden by a hard-only view
    unknown = _sql(report, f"SELECT COUNT(*) {_ROWS} AND r.reason = 'user_unknown' AND r.domain = 'example.net'")
    assert _n(driven["unknownNet"]) == unknown[0][0] > 0
    assert all(row[5] == "user_unknown" and row[1].endswith("@example.net") for row in driven["unknownNet"]["rows"])
    in_range = _sql(report, f"SELECT COUNT(*) {_ROWS} AND substr(m.date, 1, 10) BETWEEN '2024-01-01' AND '2024-06-30'")
    assert _n(driven["firstHalf2024"]) == in_range[0][0] > 0
    assert _n(driven["campaign"]) == 1
    assert [row[1] for row in driven["search"]["rows"]] == ["mallory@example.net"]


def test_export_gives_the_current_view_as_csv(report, driven):
    rows = list(csv.DictReader(io.StringIO(driven["hardCsv"])))
    expected = _sql(report, f"SELECT r.address, r.reason, r.source_id {_ROWS} AND r.verdict = 'hard'")
    assert sorted((x["address"], x["reason"], x["source"]) for x in rows) == sorted(expected)
    assert {x["verdict"] for x in rows} == {"hard"}
    dated = list(csv.DictReader(io.StringIO(driven["rangeCsv"])))
    assert len(dated) == _n(driven["firstHalf2024"]) and all("2024-01-01" <= x["date"][:10] <= "2024-06-30"
                                                              for x in dated)


def test_columns_sort_both_ways(driven):
    up = [row[1] for row in driven["byAddress"]["rows"]]
    down = [row[1] for row in driven["byAddressDown"]["rows"]]
    assert up == sorted(up) and down == sorted(down, reverse=True) and up[0] < down[0]


def test_a_row_opens_to_its_diagnostic_and_hint(driven):
    text = driven["detail"]
    assert "diagnostic550 5.1.1 </script><script>alert(2)</script> no such user" in text  # as text
    assert "what to do" in text


def test_the_time_axis_has_years_and_counts_undated_apart(report):
    _, page = report
    timeline = page.split('id="timeline"', 1)[1].split("</figure>", 1)[0]
    undated = _sql(report, f"SELECT COUNT(*) {_ROWS} AND m.date IS NULL")[0][0]
    assert undated >= 1 and f"{undated:,} without a date (the notice had no readable Date header)" in timeline
    years = re.findall(r">(?:[A-Z][a-z]{2} )?((?:19|20)\d\d)</text>", timeline)
    assert len(years) >= 3 and years == sorted(years)
    assert 'href="#problems"' in page and 'id="problems"' in page  # the "with problems" card leads somewhere


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
