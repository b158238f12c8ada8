"""One self-contained HTML page about a results store, made to act on: charts on a real time axis, a table of every
failure, delay and complaint with filters, sorting, pages, the diagnostic and hint of each row, and export of what is
shown as CSV; breakdowns by list and campaign, and the messages that had problems.

Everything is inside the page: the charts are SVG drawn here, the table's data is embedded JSON (each distinct text
once, rows as indexes into it) rendered by the page's own script. It fetches nothing, so it opens offline and can be
mailed around. All text that came from a message is escaped, or set as text by the script.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ..classify.engine import org_domain
from ..display import no_surrogates
from .store import Store
from .summary import Summary, summarize

ROW_LIMIT = 250_000  # table rows (the newest first); the page says when there were more
PROBLEM_LIMIT = 2_000  # messages listed under "with problems"
HARD, SOFT, BAR, OTHER = "#c0392b", "#e5a823", "#2f6db5", "#8a8f98"
# a row of the table, in this order (the script reads the same names)
FIELDS = ("address", "domain", "date", "kind", "verdict", "fault", "reason", "code", "responder", "provider", "list",
          "campaign", "diagnostic", "hint", "source")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def bar_chart(title: str, rows: Sequence[tuple[str, int]], color: str | Sequence[str] = BAR, *,
              width: int = 560, legend: str = "") -> str:
    """Horizontal bars, one a row, with the count at the end; ``color`` is one colour, or one for each row."""
    note = f'<p class="legend">{_e(legend)}</p>' if legend else ""
    if not rows:
        return (f'<figure class="chart"><figcaption>{_e(title)}</figcaption>{note}<p class="empty">no data</p>'
                "</figure>")
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
        short = label if len(label) <= 25 else label[:24] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end">{_e(short)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{fill[i]}"><title>{_e(label)}: '
                     f'{n}</title></rect><text x="{label_w + w + 6}" y="{y + 13}">{n:,}</text>')
    parts.append("</svg>")
    return f'<figure class="chart"><figcaption>{_e(title)}</figcaption>{note}{"".join(parts)}</figure>'


# ---- the time axis ---------------------------------------------------------------------------------------------


def _buckets(first: date, last: date) -> tuple[str, list[date]]:
    """Every day, week or month from ``first`` to ``last`` (gaps included), whichever gives at most ~400 columns."""
    span = (last - first).days
    if span <= 400:
        return "day", [first + timedelta(days=i) for i in range(span + 1)]
    if span <= 7 * 400:
        start = first - timedelta(days=first.weekday())
        return "week", [start + timedelta(weeks=i) for i in range((last - start).days // 7 + 1)]
    months = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        months.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return "month", months


def _bucket_of(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def time_chart(per_day: Counter[tuple[str, str]], undated: int, *, width: int = 1140, height: int = 240) -> str:
    """Failures over time as stacked columns (hard, soft, other) on a continuous date axis with years: a column for
    every day, week or month between the first and the last date, empty where nothing happened. Failures without a
    date are counted apart, never put at some other time."""
    title = "Over time: failures, delays and complaints (hard in red, soft in amber, other in grey)"
    apart = (f'<p class="legend">{undated:,} without a date (the notice had no readable Date header) are not '
             "plotted.</p>") if undated else ""
    days = sorted({d for d, _ in per_day})
    if not days:
        return (f'<figure class="chart wide" id="timeline"><figcaption>{_e(title)}</figcaption>{apart}'
                '<p class="empty">no dated failures</p></figure>')
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    unit, columns = _buckets(first, last)
    index = {c: i for i, c in enumerate(columns)}
    stacks = [[0, 0, 0] for _ in columns]
    for (day, verdict), n in per_day.items():
        stacks[index[_bucket_of(date.fromisoformat(day), unit)]][{"hard": 0, "soft": 1}.get(verdict, 2)] += n
    left, bottom, top_pad = 48, 34, 10
    top = max(sum(s) for s in stacks) or 1
    step = (width - left - 10) / len(columns)
    col = max(1.0, step * 0.85)
    plot_h = height - bottom - top_pad
    base = height - bottom
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end">{top:,}</text>',
             f'<text x="{left - 6}" y="{base}" text-anchor="end">0</text>']
    labels = _tick_labels(columns, unit)
    for i, (when, stack) in enumerate(zip(columns, stacks, strict=True)):
        x = left + i * step
        y = float(base)
        for n, color, word in zip(stack, (HARD, SOFT, OTHER), ("hard", "soft", "other"), strict=True):
            if n:
                h = max(plot_h * n / top, 1.0)
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col:.1f}" height="{h:.1f}" fill="{color}">'
                             f"<title>{_e(_span_label(when, unit))}: {n:,} {word}</title></rect>")
        if i in labels:
            parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#999"/>'
                         f'<text x="{x:.1f}" y="{base + 18}">{_e(labels[i])}</text>')
    parts.append("</svg>")
    per = {"day": "per day", "week": "per week (from Monday)", "month": "per month"}[unit]
    caption = f"{title}, {per}, {first.isoformat()} to {last.isoformat()}"
    return (f'<figure class="chart wide" id="timeline"><figcaption>{_e(caption)}</figcaption>{apart}'
            f'{"".join(parts)}</figure>')


def _span_label(when: date, unit: str) -> str:
    if unit == "month":
        return when.strftime("%Y-%m")
    if unit == "week":
        return f"week of {when.isoformat()}"
    return when.isoformat()


def _tick_labels(columns: list[date], unit: str, most: int = 14) -> dict[int, str]:
    """Where the axis gets a label, and which: the start of each month (with its year) for days and weeks, the
    start of each year for months; thinned to at most ``most`` labels."""
    marks: list[tuple[int, str]] = []
    for i, c in enumerate(columns):
        prev = columns[i - 1] if i else None
        if unit == "month":
            if i == 0 or c.month == 1:
                marks.append((i, str(c.year)))
        elif i == 0 or (prev is not None and prev.month != c.month):
            marks.append((i, c.strftime("%b %Y")))
    if len(marks) > most:
        every = -(-len(marks) // most)
        marks = marks[::every]
    return dict(marks)


# ---- the data --------------------------------------------------------------------------------------------------


def _provider(host: str | None, role: str | None, domain: str | None) -> str:
    if host and role == "remote" and any(c.isalpha() for c in host.rsplit(".", 1)[-1]):
        return org_domain(host)
    return org_domain(domain) if domain else "-"


@dataclass
class Figures:
    index: dict[str, int] = field(default_factory=lambda: {"": 0})  # each distinct text once, in order
    rows: list[list[int]] = field(default_factory=list)
    total_rows: int = 0
    per_day: Counter[tuple[str, str]] = field(default_factory=Counter)
    undated: int = 0
    providers: Counter[str] = field(default_factory=Counter)
    lists: Counter[str] = field(default_factory=Counter)
    campaigns: Counter[str] = field(default_factory=Counter)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    total_problems: int = 0

    @property
    def strings(self) -> list[str]:
        return list(self.index)


def _campaigns(headers: str | None) -> list[str]:
    """The original's ``--header`` values, as ``Name: value``."""
    if not headers:
        return []
    try:
        values = json.loads(headers)
    except ValueError:
        return []
    return [f"{k}: {v}" for k, v in values.items() if v] if isinstance(values, dict) else []


def figures(store: Store, *, limit: int = ROW_LIMIT) -> Figures:
    f = Figures()
    providers: dict[tuple[str | None, str | None, str | None], str] = {}
    index = f.index
    rows = store.iter_query(
        "SELECT r.address, r.domain, m.date, m.kind, r.action, r.verdict, r.fault, r.reason, r.reply_code, r.status, "
        "r.responder_role, r.responder_host, m.list_id, json_extract(m.report, '$.original.headers'), r.diagnostic, "
        "r.hint, r.source_id FROM recipients r JOIN messages m USING (source_id) "
        "WHERE r.action IN ('failed', 'delayed', 'complained') "
        "ORDER BY m.date IS NULL, m.date DESC, r.source_id, r.idx")
    for (address, domain, when, kind, action, verdict, fault, reason, reply, status, role, host, list_id, headers,
         diagnostic, hint, source) in rows:
        provider = providers.get((host, role, domain))
        if provider is None:
            provider = providers[(host, role, domain)] = _provider(host, role, domain)
        f.providers[provider] += 1
        state = verdict or ("complaint" if action == "complained" else action or kind)
        if when:
            f.per_day[(when[:10], state)] += 1
        else:
            f.undated += 1
        campaigns = _campaigns(headers)
        if list_id:
            f.lists[list_id] += 1
        for c in campaigns:
            f.campaigns[c] += 1
        f.total_rows += 1
        if len(f.rows) >= limit:
            continue
        code = " ".join(x for x in (str(reply) if reply else "", status or "") if x)
        responder = " ".join(x for x in (role, host) if x)
        values = (address, domain, when or "", kind, state, fault, reason, code, responder, provider, list_id,
                  " · ".join(campaigns), " ".join((diagnostic or "").split())[:1000], hint, source)
        f.rows.append([index.setdefault(v or "", len(index)) for v in values])
    for source, problems in store.iter_query("SELECT source_id, problems FROM messages WHERE problems IS NOT NULL "
                                             "ORDER BY source_id"):
        f.total_problems += 1
        if len(f.problems) < PROBLEM_LIMIT:
            for p in json.loads(problems):
                f.problems.append((source, str(p.get("kind", "")), str(p.get("message", ""))))
    return f


# ---- the page --------------------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:26px 0 8px}.sub{color:#5b6472;margin:0 0 18px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:18px}
.card{border:1px solid #dde2ea;border-radius:6px;padding:10px 14px;min-width:120px;color:inherit;text-decoration:none}
a.card:hover{border-color:#2f6db5;background:#f4f8fd}.card b{display:block;font-size:22px}.card span{color:#5b6472}
.grid{display:flex;flex-wrap:wrap;gap:18px}.chart{margin:0;border:1px solid #dde2ea;border-radius:6px;padding:10px}
.chart.wide{flex-basis:100%}figcaption{font-weight:600;margin-bottom:6px}svg text{font-size:12px;fill:#1d2430}
.legend{color:#5b6472;font-size:12.5px;max-width:540px;margin:0 0 8px}.chart.wide .legend{max-width:none}
.empty{color:#8a8f98}.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:end;margin:8px 0}
.filters label{display:flex;flex-direction:column;font-size:12px;color:#5b6472}
.filters select,.filters input{font:inherit;font-size:13px;padding:4px 6px;max-width:230px}
.filters input[type=search]{width:260px}button{font:inherit;font-size:13px;padding:5px 10px;cursor:pointer}
.bar{display:flex;gap:10px;align-items:center;margin:8px 0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e6e9ef;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f4f6f9;position:sticky;top:0;cursor:pointer;user-select:none;
white-space:nowrap}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
tr.row{cursor:pointer}tr.row:hover{background:#f7f9fc}td.toggle{color:#5b6472;width:1em}
tr.detail td{background:#fafbfd;padding:6px 10px 10px 28px}tr.detail dl{display:grid;grid-template-columns:110px 1fr;
gap:3px 10px;margin:0}tr.detail dt{color:#5b6472}tr.detail dd{margin:0;word-break:break-word}
.hard{color:#c0392b;font-weight:600}.soft{color:#9a6b00}.muted{color:#5b6472}.nodate{color:#8a8f98;font-style:italic}
.note{color:#9a6b00}td.nowrap{white-space:nowrap}
"""

_SCRIPT = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const S = D.strings, F = D.fields, ROWS = D.rows, PAGE = 50;
const col = Object.fromEntries(F.map((f, i) => [f, i]));
ROWS.forEach((r, i) => r.push(i));   // each row's own number, after its fields
const $ = id => document.getElementById(id);
const filters = {kind: $('f-kind'), verdict: $('f-verdict'), fault: $('f-fault'), reason: $('f-reason'),
                 domain: $('f-domain'), list: $('f-list'), campaign: $('f-campaign')};
let view = [], page = 0, sortKey = 'date', sortDir = -1;
const open = new Set();
function val(r, f) { return S[r[col[f]]]; }
function fill(sel, f) {
  const n = new Map();
  for (const r of ROWS) { const v = r[col[f]];
    if (f === 'campaign') { for (const c of S[v].split(' · ')) if (c) n.set(c, (n.get(c) || 0) + 1); }
    else if (v) n.set(S[v], (n.get(S[v]) || 0) + 1); }
  for (const [v, c] of [...n].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) {
    const o = document.createElement('option'); o.value = v; o.textContent = v + ' (' + c + ')'; sel.appendChild(o); }
}
function matches(r, q, from, to) {
  for (const [f, sel] of Object.entries(filters)) {
    if (!sel.value) continue;
    if (f === 'campaign') { if (!val(r, f).split(' · ').includes(sel.value)) return false; }
    else if (val(r, f) !== sel.value) return false;
  }
  const d = val(r, 'date').slice(0, 10);
  if ((from || to) && !d) return false;
  if (from && d < from) return false;
  if (to && d > to) return false;
  if (q && !(val(r, 'address') + ' ' + val(r, 'reason') + ' ' + val(r, 'code') + ' ' + val(r, 'responder') + ' ' +
             val(r, 'diagnostic')).toLowerCase().includes(q)) return false;
  return true;
}
function apply() {
  const q = $('q').value.trim().toLowerCase(), from = $('f-from').value, to = $('f-to').value;
  view = ROWS.filter(r => matches(r, q, from, to));
  const i = col[sortKey], dir = sortDir;
  view.sort((a, b) => { const x = S[a[i]], y = S[b[i]];
    if (x === y) return 0; if (!x) return 1; if (!y) return -1;   // empty values (no date) last either way
    return (x < y ? -1 : 1) * dir; });
  page = 0; draw();
}
const COLUMNS = [['address', 'address'], ['date', 'date'], ['verdict', 'verdict'], ['fault', 'whose fault'],
                 ['reason', 'reason'], ['code', 'code'], ['responder', 'answered by'], ['list', 'list']];
function cell(tr, text, cls) { const td = document.createElement('td'); td.textContent = text;
  if (cls) td.className = cls; tr.appendChild(td); return td; }
function detail(r) {
  const tr = document.createElement('tr'); tr.className = 'detail'; const td = document.createElement('td');
  td.colSpan = COLUMNS.length + 1; const dl = document.createElement('dl');
  for (const [f, label] of [['diagnostic', 'diagnostic'], ['hint', 'what to do'], ['kind', 'message kind'],
                            ['provider', 'provider'], ['campaign', 'campaign'], ['source', 'message']]) {
    const v = val(r, f); if (!v) continue;
    const dt = document.createElement('dt'); dt.textContent = label; const dd = document.createElement('dd');
    dd.textContent = v; dl.append(dt, dd); }
  td.appendChild(dl); tr.appendChild(td); return tr;
}
function draw() {
  const body = $('rows'); body.replaceChildren();
  const pages = Math.max(1, Math.ceil(view.length / PAGE)); page = Math.min(page, pages - 1);
  for (const r of view.slice(page * PAGE, page * PAGE + PAGE)) {
    const tr = document.createElement('tr'); tr.className = 'row'; const key = r[F.length];
    cell(tr, open.has(key) ? '▾' : '▸', 'toggle');
    for (const [f] of COLUMNS) {
      const v = val(r, f);
      if (f === 'date') cell(tr, v ? v.slice(0, 16).replace('T', ' ') : 'no date', v ? 'nowrap' : 'nodate');
      else cell(tr, v, f === 'verdict' ? v : (f === 'responder' ? 'muted' : (f === 'code' ? 'nowrap' : '')));
    }
    tr.addEventListener('click', () => { open.has(key) ? open.delete(key) : open.add(key); draw(); });
    body.appendChild(tr);
    if (open.has(key)) body.appendChild(detail(r));
  }
  $('count').textContent = view.length.toLocaleString('en') + ' of ' + ROWS.length.toLocaleString('en') + ' rows';
  $('page').textContent = 'page ' + (page + 1) + ' of ' + pages;
  $('prev').disabled = page === 0; $('next').disabled = page >= pages - 1;
  for (const th of document.querySelectorAll('th[data-key]'))
    th.setAttribute('aria-sort', th.dataset.key === sortKey ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
}
function csvCell(v) { v = String(v);
  if (/^[=+\-@\t\r]/.test(v)) v = "'" + v;   // a spreadsheet would run it as a formula
  return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
function csv() {
  const out = [F.map(csvCell).join(',')];
  for (const r of view) out.push(F.map(f => csvCell(val(r, f))).join(','));
  return out.join('\r\n') + '\r\n';
}
function exportCsv() {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([csv()], {type: 'text/csv;charset=utf-8'}));
  a.download = 'bounces.csv'; document.body.appendChild(a); a.click(); a.remove();
}
for (const [f, sel] of Object.entries(filters)) { fill(sel, f); sel.addEventListener('change', apply); }
for (const id of ['q', 'f-from', 'f-to']) $(id).addEventListener('input', apply);
$('prev').addEventListener('click', () => { page--; draw(); });
$('next').addEventListener('click', () => { page++; draw(); });
$('export').addEventListener('click', exportCsv);
$('reset').addEventListener('click', () => { for (const s of Object.values(filters)) s.value = '';
  for (const id of ['q', 'f-from', 'f-to']) $(id).value = ''; apply(); });
for (const th of document.querySelectorAll('th[data-key]')) th.addEventListener('click', () => {
  if (sortKey === th.dataset.key) sortDir = -sortDir; else { sortKey = th.dataset.key; sortDir = 1; } apply(); });
for (const a of document.querySelectorAll('a[data-verdict]')) a.addEventListener('click', () => {
  filters.verdict.value = a.dataset.verdict; apply(); });
apply();
"""

_LEGEND_PROVIDER = ("The mail provider behind each failure: the organisation's domain of the server that answered "
                    "(gmail-smtp-in.l.google.com counts as google.com), else of the recipient's address.")
_LEGEND_ROLES = ("Which server gave the answer: remote, the recipient's own server refused the message; reporting, "
                 "the server that wrote the notice gave up by itself (no answer, DNS, queue expired); gateway, a "
                 "filter in between (a spam or security appliance); unknown, the notice does not say.")
_LEGEND_FAULT = ("Whose side a soft failure is on: only recipient faults say anything about the address; sender "
                 "faults (blocklisted IP, rate limits, content) are for the sending side to fix.")


def _card(label: str, n: int, href: str = "", verdict: str = "") -> str:
    inner = f"<b>{n:,}</b><span>{_e(label)}</span>"
    if not href:
        return f'<div class="card">{inner}</div>'
    data = f' data-verdict="{_e(verdict)}"' if verdict else ""
    return f'<a class="card" href="{_e(href)}"{data}>{inner}</a>'


def _select(name: str, label: str) -> str:
    return f'<label>{_e(label)}<select id="f-{name}"><option value="">all</option></select></label>'


def _problems(f: Figures) -> str:
    if not f.problems:
        return '<p class="muted">No message had a problem.</p>'
    rows = "".join(f"<tr><td>{_e(s)}</td><td>{_e(k)}</td><td>{_e(m)}</td></tr>" for s, k, m in f.problems)
    cut = (f'<p class="note">The first {PROBLEM_LIMIT:,} of {f.total_problems:,} messages with problems are listed.'
           "</p>") if f.total_problems > PROBLEM_LIMIT else ""
    return (f'{cut}<table><thead><tr><th>message</th><th>problem</th><th>what happened</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def render(store: Store, *, title: str = "Bounce report") -> str:
    s: Summary = summarize(store, diagnostics=False)
    f = figures(store, limit=ROW_LIMIT)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    complaints = s.kinds.get("feedback", 0)
    cards = [_card("messages", s.messages), _card("failed recipients", s.recipients, "#recipients"),
             _card("hard", s.verdicts.get("hard", 0), "#recipients", "hard"),
             _card("soft", s.verdicts.get("soft", 0), "#recipients", "soft"),
             _card("complaints", complaints, "#recipients", "complaint"), _card("to suppress", s.suppress),
             _card("with problems", s.problems, "#problems"), _card("without a date", f.undated, "#timeline")]
    charts = [
        time_chart(f.per_day, f.undated),
        bar_chart("Failed recipients by reason", s.reasons.most_common(20)),
        bar_chart("Soft failures: whose fault", s.soft_faults.most_common(), legend=_LEGEND_FAULT),
        bar_chart("Hard and soft", [("hard", s.verdicts.get("hard", 0)), ("soft", s.verdicts.get("soft", 0))],
                  (HARD, SOFT)),
        bar_chart("By recipient domain (top 10)", s.domains.most_common(10)),
        bar_chart("By provider (top 10)", f.providers.most_common(10), legend=_LEGEND_PROVIDER),
        bar_chart("Who answered", s.roles.most_common(), OTHER, legend=_LEGEND_ROLES),
        bar_chart("Messages by kind", s.kinds.most_common(), OTHER),
        bar_chart("By list (List-Id, top 10)", f.lists.most_common(10)),
        bar_chart("By campaign (--header values, top 10)", f.campaigns.most_common(10)),
    ]
    cut = (f'<p class="note">The table holds the newest {len(f.rows):,} of {f.total_rows:,} rows; the charts count '
           "them all.</p>") if f.total_rows > len(f.rows) else ""
    data = json.dumps({"fields": FIELDS, "strings": f.strings, "rows": f.rows}, ensure_ascii=False,
                      separators=(",", ":")).replace("<", "\\u003c")
    heads = "".join(f'<th data-key="{k}" aria-sort="none">{_e(label)}</th>' for k, label in (
        ("address", "address"), ("date", "date"), ("verdict", "verdict"), ("fault", "whose fault"),
        ("reason", "reason"), ("code", "code"), ("responder", "answered by"), ("list", "list")))
    selects = "".join(_select(n, label) for n, label in (
        ("kind", "message kind"), ("verdict", "verdict"), ("fault", "whose fault"), ("reason", "reason"),
        ("domain", "recipient domain"), ("list", "list (List-Id)"), ("campaign", "campaign (header)")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_STYLE}</style></head><body>
<h1>{_e(title)}</h1><p class="sub">{_e(no_surrogates(store.path))} · generated {generated}</p>
<div class="cards">{"".join(cards)}</div>
<div class="grid">{"".join(charts)}</div>
<h2 id="recipients">Failures, delays and complaints</h2>
<p class="legend">One row a recipient in a notice. Click a row for the diagnostic and what to do; click a heading to
sort; the export holds every row of the current view.</p>{cut}
<div class="filters"><label>search<input type="search" id="q" placeholder="address, reason, code, server, text"></label>
{selects}<label>from<input type="date" id="f-from"></label><label>to<input type="date" id="f-to"></label>
<button id="reset" type="button">clear filters</button></div>
<div class="bar"><button id="export" type="button">Export this view as CSV</button><span id="count" class="muted">
</span><button id="prev" type="button">‹ previous</button><span id="page" class="muted"></span>
<button id="next" type="button">next ›</button></div>
<table><thead><tr><th></th>{heads}</tr></thead><tbody id="rows"></tbody></table>
<h2 id="problems">Messages with problems</h2>
<p class="legend">Messages that could not be read in full: unreadable, cut at the size limit, or a check that ran out
of time. Each was still stored; the problem says what is missing.</p>
{_problems(f)}
<script type="application/json" id="data">{data}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_report(store: Store, path: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(render(store))

