"""``report.html``: the report as one self-contained page that opens offline from a file.

The page holds the summary, the plots (PNG, base64) and a table of problems that filters by level,
subject, verdict and the grader's reason, sorts by any column, and expands a row to the problem, the
gold answer and each response with its extracted answer. The table's rows are small JSON; each
problem's texts are gzip-compressed JSON, unpacked by the browser only when its row is opened, so a
run of 500 problems x 64 samples stays a file a browser opens. Model text is untrusted: the page
only ever places it as text (``textContent``), and every embedded JSON escapes ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from lm_eval_math500.analysis.intervals import verdict_cell
from lm_eval_math500.analysis.samples import Problem

PAGE = "report.html"

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:0 18px 40px;color:#1d1d1d}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:18px 0 6px}
.meta{color:#666;font-size:12px;word-break:break-all}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #e6e6e6;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px}
.plots img{width:100%;border:1px solid #eee}
.controls{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:8px 0;position:sticky;top:0;background:#fff;padding:6px 0;z-index:1}
.controls label{font-size:12px;color:#444}select,input{font:inherit;font-size:13px}
#problems th{cursor:pointer;user-select:none}#problems th[data-dir="1"]::after{content:" \\25B2"}#problems th[data-dir="-1"]::after{content:" \\25BC"}
#problems tbody tr.row:hover{background:#f3f7fc;cursor:pointer}
.right{color:#2b7a3d;font-weight:600}.wrong{color:#b23a3a;font-weight:600}.mixed{color:#a06500;font-weight:600}
.detail td{background:#fafafa}.detail pre{white-space:pre-wrap;word-break:break-word;max-height:420px;overflow:auto;background:#fff;border:1px solid #e3e3e3;padding:8px;margin:4px 0 10px;font-size:12.5px}
.tag{display:inline-block;border-radius:3px;padding:0 5px;margin-right:4px;font-size:11.5px;background:#eef1f5}
details{margin:6px 0}summary{cursor:pointer}
"""

_SCRIPT = r"""
"use strict";
const views = JSON.parse(document.getElementById("views").textContent);
const packed = JSON.parse(document.getElementById("details").textContent);
const opened = new Map();
const byId = (id) => document.getElementById(id);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; };
let sortKey = "id", sortDir = 1;

async function unpack(key) {
  if (!opened.has(key)) {
    const bytes = Uint8Array.from(atob(packed[key]), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    opened.set(key, JSON.parse(await new Response(stream).text()));
  }
  return opened.get(key);
}

function verdictClass(row) { return row.right === row.n ? "right" : row.right === 0 ? "wrong" : "mixed"; }
function verdictText(row) { return row.n === 1 ? (row.right ? "right" : "wrong") : `${row.right}/${row.n}`; }

function fillSelect(select, values, label) {
  select.replaceChildren(el("option", `all ${label}`));
  select.firstChild.value = "";
  for (const v of values) { const o = el("option", v); o.value = v; select.appendChild(o); }
}

function currentView() { return views[byId("view").value]; }

function setView() {
  const view = currentView();
  const rows = view.rows;
  fillSelect(byId("level"), [...new Set(rows.map((r) => r.level).filter((v) => v !== null))].sort(), "levels");
  fillSelect(byId("subject"), [...new Set(rows.map((r) => r.subject).filter((v) => v !== null))].sort(), "subjects");
  fillSelect(byId("reason"), [...new Set(rows.flatMap((r) => r.reasons))].sort(), "reasons");
  const verdict = byId("verdict");
  verdict.replaceChildren();
  for (const [value, text] of [["", "all verdicts"], ["right", view.n === 1 ? "right" : "all samples right"], ["mixed", "some samples right"], ["wrong", view.n === 1 ? "wrong" : "no sample right"]]) {
    if (view.n === 1 && value === "mixed") continue;
    const o = el("option", text); o.value = value; verdict.appendChild(o);
  }
  byId("verdict-head").textContent = view.metric;
  byId("tokens-head").textContent = view.tokens;
  render();
}

function visibleRows() {
  const view = currentView();
  const level = byId("level").value, subject = byId("subject").value, verdict = byId("verdict").value, reason = byId("reason").value;
  const search = byId("search").value.trim().toLowerCase();
  const rows = view.rows.filter((r) =>
    (!level || String(r.level) === level) && (!subject || r.subject === subject) &&
    (!verdict || verdictClass(r) === verdict) && (!reason || r.reasons.includes(reason)) &&
    (!search || r.uid.toLowerCase().includes(search) || (r.answer || "").toLowerCase().includes(search)));
  const key = (r) => r[sortKey] === null || r[sortKey] === undefined ? "" : r[sortKey];
  rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id - b.id) * sortDir);
  return rows;
}

function render() {
  const rows = visibleRows();
  const body = byId("rows");
  body.replaceChildren();
  for (const r of rows) {
    const tr = el("tr", undefined, "row");
    tr.dataset.id = r.id;
    tr.append(el("td", r.id, "num"), el("td", r.uid), el("td", r.level, "num"), el("td", r.subject),
      el("td", verdictText(r), verdictClass(r)), el("td", r.answer ?? "none"), el("td", r.gold),
      el("td", r.tokens === null ? "" : Math.round(r.tokens), "num"), el("td", r.reasons.join("; ")));
    tr.addEventListener("click", () => toggle(tr, r));
    body.appendChild(tr);
  }
  byId("shown").textContent = `${rows.length} of ${currentView().rows.length} problems shown`;
}

async function toggle(tr, row) {
  const next = tr.nextSibling;
  if (next && next.classList && next.classList.contains("detail")) { next.remove(); return; }
  const view = currentView();
  const data = await unpack(view.details[row.id]);
  const marks = data.filters[view.filter];
  const td = el("td"); td.colSpan = 9;
  td.append(el("h3", "Problem"), el("pre", data.problem), el("h3", "Gold answer"), el("pre", data.gold));
  data.texts.forEach((text, i) => {
    const m = marks[i];
    const box = el("details");
    if (data.texts.length === 1) box.open = true;
    const head = el("summary");
    head.append(el("span", `sample ${i + 1}: `), el("span", m.verdict ? "right" : "wrong", m.verdict ? "right" : "wrong"),
      el("span", ` answer: ${m.answer ?? "none"}`));
    box.appendChild(head);
    const tags = el("div");
    for (const t of [`reason: ${m.reason}`, `format_ok: ${m.format_ok}`, `unfinished: ${m.unfinished}`, `${currentView().tokens.includes("estimated") ? "estimated tokens" : "tokens"}: ${m.tokens}`, ...(m.timed_out ? ["grader timed out"] : [])]) tags.appendChild(el("span", t, "tag"));
    box.append(tags, el("pre", text));
    td.appendChild(box);
  });
  const detail = el("tr", undefined, "detail"); detail.appendChild(td);
  tr.after(detail);
}

for (const [i, v] of views.entries()) { const o = el("option", v.label); o.value = i; byId("view").appendChild(o); }
for (const id of ["view"]) byId(id).addEventListener("change", setView);
for (const id of ["level", "subject", "verdict", "reason"]) byId(id).addEventListener("change", render);
byId("search").addEventListener("input", render);
for (const th of document.querySelectorAll("#problems th[data-key]")) {
  th.addEventListener("click", () => {
    sortDir = sortKey === th.dataset.key ? -sortDir : 1; sortKey = th.dataset.key;
    for (const other of document.querySelectorAll("#problems th")) other.removeAttribute("data-dir");
    th.dataset.dir = sortDir; render();
  });
}
setView();
"""


def _json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` survives unescaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _packed(value: Any) -> str:
    """``value`` as gzip-compressed JSON in base64, for the page to unpack when it is needed."""
    return base64.b64encode(gzip.compress(msgspec.json.encode(value), compresslevel=6, mtime=0)).decode("ascii")


def _row(problem: Problem, tokens: Sequence[int]) -> dict[str, Any]:
    answers = Counter(r.answer for r in problem.responses)
    return {
        "id": problem.doc_id,
        "uid": problem.unique_id,
        "level": problem.level,
        "subject": problem.subject,
        "gold": problem.gold,
        "n": len(problem.responses),
        "right": sum(r.verdict for r in problem.responses),
        "rate": sum(r.verdict for r in problem.responses) / len(problem.responses),
        "answer": answers.most_common(1)[0][0],
        "reasons": sorted({r.reason for r in problem.responses}),
        "tokens": sum(tokens) / len(tokens),
    }


def _marks(problem: Problem, tokens: Sequence[int]) -> list[dict[str, Any]]:
    return [
        {
            "answer": r.answer, "verdict": r.verdict, "reason": r.reason, "format_ok": r.format_ok,
            "unfinished": r.unfinished, "timed_out": r.timed_out, "tokens": tokens[i],
        }  # fmt: skip
        for i, r in enumerate(problem.responses)
    ]


def _summary(report: Mapping[str, Any]) -> str:
    """The leading table of each task: the verdict, then the rates to check first."""
    parts = []
    for name, task in report["tasks"].items():
        budget = task["budget"]
        tokens = {"run": "the run's own", "estimate": "estimated"}.get(task["tokens"], f"counted with {task['tokens']}")
        note = "" if budget["measured"] else f" budget_reached is {budget['note']}."
        head = ["filter", "problems", "verdict", "value ± s.e.", "95% interval", "accuracy (answer only)", "format_ok", "unfinished", "budget_reached", "grader timeouts"]
        rows = []
        for filter_name, f in task["filters"].items():
            r = f["rates"]
            cells = [
                filter_name, f["problems"], f["verdict_metric"], verdict_cell(f["verdict"]),
                f"[{f['verdict']['low']:.3f}, {f['verdict']['high']:.3f}]", f"{f['accuracy']['mean']:.3f}",
                *(("not measured" if r[k] is None else f"{100 * r[k]:.1f}%") for k in ("format_ok", "unfinished", "budget_reached", "grader_timeouts")),
            ]  # fmt: skip
            rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
            if "sampling" in f:
                s = f["sampling"]
                ks = [str(k) for k in s["k"]]
                sampling = "".join(
                    f"<tr><th>{html.escape(label)}</th>" + "".join(f'<td class="num">{s[key][k]["mean"]:.3f}</td>' for k in ks) + "</tr>"
                    for label, key in (("pass@k", "pass@k"), ("maj@k (first k samples)", "maj@k"), ("maj_avg@k (every k-subset)", "maj_avg@k"))
                )
                rows.append(
                    f'<tr><td colspan="{len(head)}"><table><tr><th>{html.escape(f["verdict_metric"])}, k =</th>'
                    + "".join(f'<th class="num">{k}</th>' for k in ks) + f"</tr>{sampling}</table></td></tr>"
                )  # fmt: skip
        first = next(iter(task["filters"].values()))
        parts.append(
            f"<h2>{html.escape(name)}</h2><p>{task['repeats']} sample(s) per problem; token budget "
            f"{html.escape(str(budget['tokens'] or 'unknown'))}; token counts {html.escape(tokens)}.{html.escape(note)} "
            f"Intervals: {html.escape(first['interval'])}.</p>"
            "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>"
        )
    return "".join(parts)


def _plots(report: Mapping[str, Any], folder: Path) -> str:
    parts = []
    for name, task in report["tasks"].items():
        images = "".join(
            f'<img alt="{html.escape(plot)}" src="data:image/png;base64,{base64.b64encode((folder / plot).read_bytes()).decode("ascii")}">'
            for plot in task["plots"]
            if plot.endswith(".png")
        )
        parts.append(f"<h3>{html.escape(name)}</h3><div class=\"plots\">{images}</div>")
    return "".join(parts)


Read = Mapping[tuple[str, str], tuple[list[Problem], list[list[int]]]]


@dataclass(frozen=True)
class Views:
    """The page's data: a table of rows for each (task, filter), and each problem's texts packed."""

    views: list[dict[str, Any]]
    details: dict[str, str]


def problem_views(report: Mapping[str, Any], problems: Read) -> Views:
    """The table rows and packed texts of every (task, filter); ``problems`` holds their problems
    and the responses' token counts."""
    views, details = [], {}
    for name, task in report["tasks"].items():
        by_doc: dict[int, dict[str, Any]] = {}
        for filter_name, numbers in task["filters"].items():
            read, counts = problems[name, filter_name]
            rows = []
            for problem, tokens in zip(read, counts, strict=True):
                rows.append(_row(problem, tokens))
                entry = by_doc.setdefault(
                    problem.doc_id,
                    {"problem": problem.doc.get("problem", ""), "gold": problem.gold, "texts": [r.text for r in problem.responses], "filters": {}},
                )
                entry["filters"][filter_name] = _marks(problem, tokens)
            views.append(
                {
                    "label": f"{name} · filter {filter_name} ({numbers['verdict_metric']})",
                    "filter": filter_name,
                    "metric": numbers["verdict_metric"],
                    "n": numbers["samples_per_problem"],
                    "tokens": "tokens (mean, estimated)" if task["tokens"] == "estimate" else "tokens (mean)",
                    "rows": rows,
                    "details": {problem.doc_id: f"{name}/{problem.doc_id}" for problem in read},
                }
            )
        details.update({f"{name}/{doc_id}": _packed(entry) for doc_id, entry in by_doc.items()})
    return Views(views, details)


def page(report: Mapping[str, Any], views: Views, folder: Path) -> str:
    """The whole page as one string, with the plots ``report`` lists from ``folder``."""
    title = f"Report: {report['model']}"
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class=\"meta\">Run: {html.escape(report['results_file'])}</p>"
        f"{_summary(report)}<h2>Plots</h2>{_plots(report, folder)}"
        "<h2>Problems</h2><div class=\"controls\">"
        "<label>view <select id=\"view\"></select></label><select id=\"level\"></select><select id=\"subject\"></select>"
        "<select id=\"verdict\"></select><select id=\"reason\"></select>"
        "<input id=\"search\" type=\"search\" placeholder=\"problem id or answer\"><span id=\"shown\"></span></div>"
        "<table id=\"problems\"><thead><tr><th data-key=\"id\" class=\"num\">#</th><th data-key=\"uid\">problem</th>"
        "<th data-key=\"level\" class=\"num\">level</th><th data-key=\"subject\">subject</th><th data-key=\"rate\" id=\"verdict-head\">verdict</th>"
        "<th data-key=\"answer\">answer (most given)</th><th data-key=\"gold\">gold</th><th data-key=\"tokens\" class=\"num\" id=\"tokens-head\">tokens (mean)</th>"
        "<th data-key=\"reasons\">grader's reasons</th></tr></thead><tbody id=\"rows\"></tbody></table>"
        f"<script type=\"application/json\" id=\"views\">{_json(views.views)}</script>"
        f"<script type=\"application/json\" id=\"details\">{_json(views.details)}</script>"
        f"<script>{_SCRIPT}</script></body></html>"
    )


def write_html(report: Mapping[str, Any], views: Views, folder: Path) -> Path:
    """Write :data:`PAGE` into ``folder`` (beside the plots it embeds); return its path."""
    path = folder / PAGE
    path.write_text(page(report, views, folder), encoding="utf-8")
    return path
