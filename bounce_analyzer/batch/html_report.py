"""One self-contained HTML page about a results store: charts and a searchable table of recipients.

Everything is inside the page: the charts are SVG drawn here, the table's data is embedded JSON rendered by a few
lines of script. It fetches nothing, so it opens offline and can be mailed around. All text that came from a message
is escaped.
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from ..classify.engine import org_domain
from ..display import no_surrogates
from .store import Store
from .summary import Summary, summarize

TABLE_LIMIT = 50_000  # addresses in the table, the most recently seen first
HARD, SOFT, BAR, OTHER = "#c0392b", "#e5a823", "#2f6db5", "#8a8f98"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def bar_chart(title: str, rows: Sequence[tuple[str, int]], color: str | Sequence[str] = BAR, *,
              width: int = 560) -> str:
    """Horizontal bars, one a row, with the count at the end; ``color`` is one colour, or one for each row."""
    if not rows:
        return f'<figure class="chart"><figcaption>{_e(title)}</figcaption><p class="empty">no data</p></figure>'
    label_w, bar_h, gap = 190, 18, 6
    top = max(n for _, n in rows) or 1
    span = width - label_w - 70
    height = len(rows) * (bar_h + gap) + gap
    fill = [color] * len(rows) if isinstance(color, str) else list(color)
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">']
    for i, (label, n) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(2, round(span * n / top))
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end">{_e(short)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{fill[i]}"><title>{_e(label)}: '
                     f'{n}</title></rect><text x="{label_w + w + 6}" y="{y + 13}">{n:,}</text>')
    parts.append("</svg>")
    return f'<figure class="chart"><figcaption>{_e(title)}</figcaption>{"".join(parts)}</figure>'


def stacked_columns(title: str, days: Sequence[tuple[str, int, int]], *, width: int = 1140, height: int = 220) -> str:
    """Hard and soft failures per day, as stacked columns."""
    if not days:
        return f'<figure class="chart wide"><figcaption>{_e(title)}</figcaption><p class="empty">no data</p></figure>'
    left, bottom, top_pad = 40, 30, 10
    top = max(h + s for _, h, s in days) or 1
    step = (width - left - 10) / len(days)
    col = max(1.0, step * 0.8)
    plot_h = height - bottom - top_pad
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end">{top:,}</text>',
             f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>']
    label_every = max(1, len(days) // 12)
    for i, (day, hard, soft) in enumerate(days):
        x = left + i * step
        y = float(height - bottom)
        for n, color in ((hard, HARD), (soft, SOFT)):
            h = plot_h * n / top
            if n:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col:.1f}" height="{max(h, 1):.1f}" '
                             f'fill="{color}"><title>{_e(day)}: {n:,} {"hard" if color == HARD else "soft"}'
                             f'</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 10}">{_e(day[5:])}</text>')
    parts.append("</svg>")
    return f'<figure class="chart wide"><figcaption>{_e(title)}</figcaption>{"".join(parts)}</figure>'


def _provider(host: str | None, role: str | None, domain: str | None) -> str:
    if host and role == "remote" and any(c.isalpha() for c in host.rsplit(".", 1)[-1]):
        return org_domain(host)
    return org_domain(domain) if domain else "-"


def _figures(store: Store) -> tuple[Counter[str], list[tuple[str, int, int]], list[dict[str, object]]]:
    providers: Counter[str] = Counter()
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    latest: dict[str, dict[str, object]] = {}
    rows = store.iter_query(
        "SELECT r.address, r.domain, r.verdict, r.reason, r.status, r.reply_code, r.responder_role, "
        "r.responder_host, r.hint, r.diagnostic, COALESCE(m.date, m.scanned_at), m.kind "
        "FROM recipients r JOIN messages m USING (source_id) WHERE r.action IN ('failed', 'complained')")
    for address, domain, verdict, reason, status, reply, role, host, hint, diagnostic, seen, kind in rows:
        providers[_provider(host, role, domain)] += 1
        if verdict in ("hard", "soft"):
            per_day[seen[:10]][0 if verdict == "hard" else 1] += 1
        entry = latest.get(address)
        if entry is None:
            entry = latest[address] = {"times": 0}
        entry["times"] = int(entry["times"]) + 1  # type: ignore[call-overload]
        if str(seen) >= str(entry.get("seen", "")):
            entry.update(address=address, seen=seen, verdict=verdict or kind, reason=reason, status=status or "",
                         reply=reply or "", responder=" ".join(x for x in (role, host) if x), hint=hint,
                         diagnostic=" ".join((diagnostic or "").split())[:300])
    table = sorted(latest.values(), key=lambda e: str(e["seen"]), reverse=True)
    days = [(day, hard, soft) for day, (hard, soft) in sorted(per_day.items())]
    return providers, days, table


_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:22px;margin:0 0 4px}.sub{color:#5b6472;margin:0 0 18px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:18px}
.card{border:1px solid #dde2ea;border-radius:6px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:22px}.card span{color:#5b6472}
.grid{display:flex;flex-wrap:wrap;gap:18px}.chart{margin:0;border:1px solid #dde2ea;border-radius:6px;padding:10px}
.chart.wide{flex-basis:100%}figcaption{font-weight:600;margin-bottom:6px}svg text{font-size:12px;fill:#1d2430}
.empty{color:#8a8f98}input[type=search]{font:inherit;padding:6px 8px;width:360px;margin:18px 8px 8px 0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e6e9ef;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f4f6f9;position:sticky;top:0}
.hard{color:#c0392b;font-weight:600}.soft{color:#9a6b00}.muted{color:#5b6472}td.hint{max-width:420px}
"""

_SCRIPT = """
const rows = JSON.parse(document.getElementById('data').textContent);
const body = document.getElementById('rows'), box = document.getElementById('q'),
      hardOnly = document.getElementById('hard'), count = document.getElementById('count');
const SHOW = 500;
function cell(tr, text, cls) { const td = document.createElement('td'); td.textContent = text;
  if (cls) td.className = cls; tr.appendChild(td); }
function render() {
  const q = box.value.trim().toLowerCase(); let shown = 0, matched = 0;
  body.replaceChildren();
  for (const r of rows) {
    if (hardOnly.checked && r.verdict !== 'hard') continue;
    if (q && !(r.address + ' ' + r.reason + ' ' + r.status + ' ' + r.responder + ' ' + r.diagnostic)
        .toLowerCase().includes(q)) continue;
    matched++;
    if (shown >= SHOW) continue;
    shown++;
    const tr = document.createElement('tr');
    cell(tr, r.address); cell(tr, r.verdict, r.verdict); cell(tr, r.reason);
    cell(tr, [r.reply, r.status].filter(Boolean).join(' ')); cell(tr, r.responder, 'muted');
    cell(tr, String(r.seen).slice(0, 16).replace('T', ' ')); cell(tr, r.times);
    cell(tr, r.hint, 'hint'); tr.title = r.diagnostic; body.appendChild(tr);
  }
  count.textContent = matched + ' of ' + rows.length + ' addresses' + (matched > SHOW ? ' (first ' + SHOW +
    ' shown; search to narrow)' : '');
}
box.addEventListener('input', render); hardOnly.addEventListener('change', render); render();
"""


def _card(label: str, n: int) -> str:
    return f'<div class="card"><b>{n:,}</b><span>{_e(label)}</span></div>'


def render(store: Store, *, title: str = "Bounce report") -> str:
    s: Summary = summarize(store)
    providers, days, table = _figures(store)
    cut = ""
    if len(table) > TABLE_LIMIT:  # said on the page: the table shows only the most recent addresses
        cut = (f'<p class="muted">The table shows the {TABLE_LIMIT:,} most recently seen of {len(table):,} '
               "addresses; the figures above count them all.</p>")
        table = table[:TABLE_LIMIT]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cards = [("messages", s.messages), ("failed recipients", s.recipients), ("hard", s.verdicts.get("hard", 0)),
             ("soft", s.verdicts.get("soft", 0)), ("to suppress", s.suppress), ("with problems", s.problems)]
    charts = [
        bar_chart("Failed recipients by reason", s.reasons.most_common(20)),
        bar_chart("Hard and soft", [("hard", s.verdicts.get("hard", 0)), ("soft", s.verdicts.get("soft", 0))],
                  (HARD, SOFT)),
        bar_chart("By recipient domain (top 10)", s.domains.most_common(10)),
        bar_chart("By provider (top 10)", providers.most_common(10)),
        bar_chart("Messages by kind", s.kinds.most_common(), OTHER),
        bar_chart("Who answered", s.roles.most_common(), OTHER),
        stacked_columns("Over time: failed recipients per day (hard in red, soft in amber)", days),
    ]
    data = json.dumps(table, ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_STYLE}</style></head><body>
<h1>{_e(title)}</h1><p class="sub">{_e(no_surrogates(store.path))} · generated {generated}</p>
<div class="cards">{"".join(_card(label, n) for label, n in cards)}</div>
<div class="grid">{"".join(charts)}</div>
<h2>Recipients</h2>{cut}
<input type="search" id="q" placeholder="Search address, reason, code, server, diagnostic" aria-label="Search">
<label><input type="checkbox" id="hard"> hard bounces only</label> <span id="count" class="muted"></span>
<table><thead><tr><th>address</th><th>verdict</th><th>reason</th><th>code</th><th>answered by</th><th>last seen</th>
<th>times</th><th>what to do</th></tr></thead><tbody id="rows"></tbody></table>
<script type="application/json" id="data">{data}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_report(store: Store, path: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render(store))
