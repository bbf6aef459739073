"""A self-contained HTML report: the verdict table and, per scenario, a timeline and the cause of its
violations (``harness.report.causes``).

One file, inline CSS and inline SVG, no script and no external resource: it opens
from a CI artifact, an e-mail attachment or a file share, offline, years later.

The timeline answers "what happened around the lost write": one lane per replica,
every operation a small mark coloured by outcome, fault windows shaded and labelled,
and the operations a violation names marked on top, with the violation's message as
their tooltip. Operations close in time are merged into one mark per outcome (its
tooltip counts them), so a scenario of many thousand operations still draws at most
a few hundred marks per lane: the page stays small and the browser stays fast.
Every string from a history or a verdict is escaped.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from math import floor, log10
from pathlib import Path
from typing import Any, Iterable, Sequence

from harness.checkers.faults_as_claimed import killed_after
from harness.history import FaultEvent, History, Operation
from harness.report import causes
from harness.report.errors import is_error, reason
from harness.report.junit import replay_hint
from harness.redaction import Redactor
from harness.vocabulary import REPLACED_BY_ORCHESTRATOR

COLOURS = {"ok": "#43a047", "fail": "#e53935", "unknown": "#fb8c00"}
VIOLATION = "#6a1b9a"
FAULT_BAND, FAULT_LANE, FAULT_TEXT = "#bbdefb", "#64b5f6", "#0d47a1"
#: a graceful stop that ended in SIGKILL: the fault was a kill, whatever its name says
KILLED_BAND, KILLED_LANE, KILLED_TEXT = "#ffcdd2", "#e57373", "#b71c1c"

WIDTH = 1200
LEFT, RIGHT = 110, 20
LANE_H = 34
LABEL_ROW_H = 16
MAX_LABEL_ROWS = 4
AXIS_H = 36
MERGE_GAP = 1.0      # px: operations closer than this share one mark
MIN_MARK = 2.0       # px: the narrowest operation mark
MAX_VIOLATION_MARKS = 500
MAX_LINKS = 12       # beyond this many violations, write-to-read links hide more than they show
MAX_LISTED = 50      # violations listed in full per scenario

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#212121;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 6px;border-top:1px solid #e0e0e0;padding-top:14px}
.meta{color:#616161;font-size:13px}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f5f5f5;padding:1px 4px}
table#verdicts{border-collapse:collapse;margin:14px 0;width:100%}
#verdicts th,#verdicts td{border-bottom:1px solid #e0e0e0;padding:5px 8px;text-align:left;vertical-align:top}
#verdicts th{background:#fafafa;font-weight:600} #verdicts td.num{text-align:right} #verdicts .nw{white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.pass{background:#2e7d32}.fail{background:#c62828}.unknown{background:#ef6c00}
.legend{display:flex;flex-wrap:wrap;gap:18px;align-items:center;margin:8px 0 4px;font-size:13px}
.legend span{display:inline-flex;align-items:center;gap:6px}
.error{background:#8e0000} .errorcard{border:2px solid #8e0000;background:#ffebee;padding:6px 10px;margin:8px 0}
.missing{color:#b71c1c;font-weight:600} .notice{background:#fff8e1;border:1px solid #ffe082;padding:6px 10px}
.finding{background:#fff3cd;color:#7a4f01;border-radius:4px;padding:0 6px;font-weight:600;font-size:12px}
svg.timeline{display:block;width:100%;height:auto;max-width:1400px;border:1px solid #e0e0e0;background:#fff}
ol.violations{margin:6px 0;padding-left:22px} ol.violations li{margin:3px 0}
details{margin:4px 0} pre{white-space:pre-wrap;font-size:12px;background:#fafafa;padding:6px}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, default=str, ensure_ascii=False)


def _natural(name: str) -> list[Any]:
    """``app-2`` before ``app-10``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


@dataclass
class _Span:
    """Operations of one outcome merged into one mark."""

    x0: float
    x1: float
    first: Operation
    last: Operation
    count: int = 1


def _nice_step(span: float, ticks: int = 10) -> float:
    raw = max(span / ticks, 1e-3)
    base = 10 ** floor(log10(raw))
    return next(m * base for m in (1, 2, 5, 10) if m * base >= raw)


class _Scale:
    def __init__(self, t0: float, t1: float) -> None:
        self.t0, self.span = t0, max(t1 - t0, 1e-3)

    def x(self, t: float) -> float:
        return LEFT + (t - self.t0) / self.span * (WIDTH - LEFT - RIGHT)


def _fault_text(f: FaultEvent) -> str:
    """A fault's label on the timeline; a graceful stop that ended in SIGKILL says "(killed)", a heal the
    orchestrator carried out (a replacement task) "(orchestrator)"."""
    orchestrator = " (orchestrator)" if REPLACED_BY_ORCHESTRATOR in f.detail else ""
    return f"{f.label} {f.target}" + (" (killed)" if killed_after(f) is not None else "") + orchestrator


def _label_rows(faults: list[FaultEvent], scale: _Scale) -> list[int | None]:
    """A row for each fault label so labels never overlap; None when no row is free."""
    ends: list[float] = []
    rows: list[int | None] = []
    for f in faults:
        x = scale.x(f.start)
        width = 6.4 * len(_fault_text(f)) + 8
        row = next((i for i, end in enumerate(ends) if end < x), None)
        if row is None and len(ends) < MAX_LABEL_ROWS:
            ends.append(0.0)
            row = len(ends) - 1
        if row is not None:
            ends[row] = x + width
        rows.append(row)
    return rows


def _spans(ops: list[Operation], scale: _Scale) -> list[_Span]:
    spans: list[_Span] = []
    for op in sorted(ops, key=lambda o: o.start):
        x0 = scale.x(op.start)
        x1 = max(scale.x(op.end), x0 + MIN_MARK)
        if spans and x0 <= spans[-1].x1 + MERGE_GAP:
            last = spans[-1]
            last.x1, last.last, last.count = max(last.x1, x1), op, last.count + 1
        else:
            spans.append(_Span(x0, x1, op, op))
    return spans


def _span_title(span: _Span, outcome: str, t0: float) -> str:
    if span.count == 1:
        op = span.first
        status = f", HTTP {op.status}" if op.status is not None else ""
        return (f"op {op.id}: {op.kind} {op.name} on {op.replica}, {outcome}{status}, "
                f"+{op.start - t0:.3f}s to +{op.end - t0:.3f}s ({op.phase})")
    return (f"{span.count} {outcome} operations (ids {span.first.id} to {span.last.id}), "
            f"+{span.first.start - t0:.2f}s to +{span.last.end - t0:.2f}s")


def timeline_svg(history: History, violations: Sequence[dict[str, Any]] = ()) -> str:
    """The timeline of one scenario as an inline ``<svg class="timeline">``."""
    ops = history.operations()
    faults = sorted(history.faults(), key=lambda f: f.start)
    events = [*ops, *faults]
    t0 = min(e.start for e in events)
    scale = _Scale(t0, max(e.end for e in events))
    lanes = sorted({op.replica for op in ops}, key=_natural) or ["(no operation)"]
    label_rows = _label_rows(faults, scale)
    top = 8 + LABEL_ROW_H * max((r + 1 for r in label_rows if r is not None), default=0)
    lane_y = {name: top + i * LANE_H for i, name in enumerate(lanes)}
    bottom = top + len(lanes) * LANE_H
    height = bottom + AXIS_H
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
           f'width="{WIDTH}" height="{height}" role="img" font-family="system-ui,sans-serif" font-size="12">',
           f'<title>timeline: {len(ops)} operations, {len(faults)} faults, {len(violations)} violations</title>']

    # lanes, then time grid, then faults (under the marks), then marks, then violations on top
    for i, name in enumerate(lanes):
        y = lane_y[name]
        if i % 2 == 0:
            out.append(f'<rect x="{LEFT}" y="{y}" width="{WIDTH - LEFT - RIGHT}" height="{LANE_H}" fill="#f7f7f7"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + LANE_H / 2 + 4:.1f}" text-anchor="end" fill="#212121">'
                   f'{_e(name)}</text>')
    step = _nice_step(scale.span)
    tick = 0.0
    while tick <= scale.span + 1e-9:
        x = scale.x(t0 + tick)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#e0e0e0"/>'
                   f'<text x="{x:.1f}" y="{bottom + 17}" text-anchor="middle" fill="#616161">{tick:g}s</text>')
        tick = round(tick + step, 9)
    started = dt.datetime.fromtimestamp(t0, dt.timezone.utc).isoformat(timespec="seconds")
    out.append(f'<text x="{WIDTH - RIGHT}" y="{bottom + 32}" text-anchor="end" fill="#616161">'
               f'seconds from the start ({_e(started)})</text>')

    for f, row in zip(faults, label_rows):
        x0, x1 = scale.x(f.start), max(scale.x(f.end), scale.x(f.start) + MIN_MARK)
        detail = f" ({f.detail})" if f.detail else ""
        tip = _e(f"{f.label} of {f.target}: +{f.start - t0:.2f}s to +{f.end - t0:.2f}s{detail}")
        killed = killed_after(f) is not None
        band, lane, text = (KILLED_BAND, KILLED_LANE, KILLED_TEXT) if killed else (FAULT_BAND, FAULT_LANE, FAULT_TEXT)
        out.append(f'<g class="fault{" killed" if killed else ""}"><title>{tip}</title>'
                   f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{bottom - top}" '
                   f'fill="{band}" opacity="0.6"/>')
        if f.target in lane_y:
            out.append(f'<rect x="{x0:.1f}" y="{lane_y[f.target]}" width="{x1 - x0:.1f}" height="{LANE_H}" '
                       f'fill="{lane}" opacity="0.45"/>')
        if row is not None:
            y = 8 + row * LABEL_ROW_H + 11
            out.append(f'<line x1="{x0:.1f}" y1="{y - 10}" x2="{x0:.1f}" y2="{top}" stroke="{text}"/>'
                       f'<text x="{x0 + 3:.1f}" y="{y}" fill="{text}" font-weight="600">'
                       f'{_e(_fault_text(f))}</text>')
        out.append("</g>")

    by_lane: dict[tuple[str, str], list[Operation]] = defaultdict(list)
    for op in ops:
        by_lane[(op.replica, op.outcome.value)].append(op)
    for outcome, mark_h in (("ok", 10), ("fail", 16), ("unknown", 16)):
        for lane in lanes:
            for span in _spans(by_lane.get((lane, outcome), []), scale):
                y = lane_y[lane] + (LANE_H - mark_h) / 2
                out.append(f'<rect class="op {outcome}" x="{span.x0:.1f}" y="{y:.1f}" width="{span.x1 - span.x0:.1f}" '
                           f'height="{mark_h}" fill="{COLOURS[outcome]}">'
                           f'<title>{_e(_span_title(span, outcome, t0))}</title></rect>')

    out += _violation_marks(ops, violations, scale, lane_y, t0)
    out.append("</svg>")
    return "".join(out)


LOAD_PANEL_H = 110
LOAD_COLOURS = {"allowed": "#2e7d32", "denied": "#78909c", "errors": "#e53935", "p50": "#1565c0", "p95": "#8e24aa"}


def _quantile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))] if sorted_values else 0.0


def load_plot_svg(history: History) -> str | None:
    """Per second of a load scenario: allowed, denied and failed responses (log scale), and latency.

    A rate limit allows a handful of hits per window among thousands of denials, so the
    counts use a log scale, where both show. Latency is each response's end - start
    (p50 and p95 per second). The x axis is the timeline's, fault windows shaded the same.
    None when the history has no load operations.
    """
    ops = [op for op in history.operations() if op.phase == "load"]
    if not ops:
        return None
    events = [*history.operations(), *history.faults()]
    t0 = min(e.start for e in events)
    scale = _Scale(t0, max(e.end for e in events))
    seconds = int(scale.span) + 1
    counts = {k: [0] * seconds for k in ("allowed", "denied", "errors")}
    latencies: list[list[float]] = [[] for _ in range(seconds)]
    for op in ops:
        i = min(seconds - 1, int(op.start - t0))
        kind = ("errors" if op.outcome.value != "ok"
                else "allowed" if (op.value or {}).get("allowed") else "denied")
        counts[kind][i] += 1
        latencies[i].append((op.end - op.start) * 1000)
    for values in latencies:
        values.sort()
    p50 = [_quantile(v, 0.5) for v in latencies]
    p95 = [_quantile(v, 0.95) for v in latencies]
    top1, top2 = 26, 26 + LOAD_PANEL_H + 30
    height = top2 + LOAD_PANEL_H + AXIS_H
    peak = max(max(c) for c in counts.values()) or 1
    decades = max(1, int(log10(peak)) + 1)
    slowest = max(p95) or 1.0
    lat_step = _nice_step(slowest, 4)
    lat_top = lat_step * (int(slowest / lat_step) + 1)

    zero_row = 14  # px under the "1" line where the zeros go: a log scale has no 0

    def y_count(n: int) -> float:
        bottom = top1 + LOAD_PANEL_H
        return bottom if n <= 0 else bottom - zero_row - log10(n) / decades * (LOAD_PANEL_H - zero_row)

    def y_ms(ms: float) -> float:
        return top2 + LOAD_PANEL_H - ms / lat_top * LOAD_PANEL_H

    def x_mid(i: int) -> float:  # the middle of second i; the last, partial one ends at the axis' end
        return scale.x(min(t0 + i + 0.5, t0 + scale.span))

    out = [f'<svg class="timeline loadplot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
           f'width="{WIDTH}" height="{height}" role="img" font-family="system-ui,sans-serif" font-size="12">',
           f'<title>load: {len(ops)} responses over {seconds} s</title>',
           f'<text x="{LEFT}" y="16" font-weight="600">responses per second (log scale)</text>',
           f'<text x="{LEFT}" y="{top2 - 10}" font-weight="600">latency per second, ms (p50, p95)</text>']
    for f in history.faults():
        x0, x1 = scale.x(f.start), max(scale.x(f.end), scale.x(f.start) + MIN_MARK)
        for top in (top1, top2):
            out.append(f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{LOAD_PANEL_H}" '
                       f'fill="{FAULT_BAND}" opacity="0.6"><title>{_e(f.label)} {_e(f.target)}</title></rect>')
    for n in [0, *(10 ** d for d in range(decades + 1))]:
        y = y_count(n)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#eeeeee"/>'
                   f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#616161">{n:g}</text>')
    tick = 0.0
    while tick <= lat_top + 1e-9:
        y = y_ms(tick)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#eeeeee"/>'
                   f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#616161">{tick:g}</text>')
        tick = round(tick + lat_step, 9)
    for name, values in counts.items():
        points = " ".join(f"{x_mid(i):.1f},{y_count(n):.1f}" for i, n in enumerate(values))
        out.append(f'<polyline class="{name}" points="{points}" fill="none" stroke="{LOAD_COLOURS[name]}" '
                   f'stroke-width="1.6"/>')
    for name, values in (("p50", p50), ("p95", p95)):
        points = " ".join(f"{x_mid(i):.1f},{y_ms(v):.1f}" for i, v in enumerate(values) if latencies[i])
        out.append(f'<polyline class="{name}" points="{points}" fill="none" stroke="{LOAD_COLOURS[name]}" '
                   f'stroke-width="1.6"/>')
    width = (WIDTH - LEFT - RIGHT) / max(scale.span, 1e-3)
    for i in range(seconds):  # one hover target per second, over both panels
        tip = (f"+{i}s to +{i + 1}s: {counts['allowed'][i]} allowed, {counts['denied'][i]} denied, "
               f"{counts['errors'][i]} without a definite answer; latency p50 {p50[i]:.1f} ms, p95 {p95[i]:.1f} ms")
        out.append(f'<rect x="{scale.x(t0 + i):.1f}" y="{top1}" width="{width:.1f}" height="{height - top1 - AXIS_H}" '
                   f'fill="transparent"><title>{_e(tip)}</title></rect>')
    step = _nice_step(scale.span)
    tick = 0.0
    bottom = top2 + LOAD_PANEL_H
    while tick <= scale.span + 1e-9:
        x = scale.x(t0 + tick)
        out.append(f'<text x="{x:.1f}" y="{bottom + 17}" text-anchor="middle" fill="#616161">{tick:g}s</text>')
        tick = round(tick + step, 9)
    legend_items = [("allowed", "allowed"), ("denied", "denied (limited)"), ("errors", "no definite answer"),
                    ("p50", "latency p50"), ("p95", "latency p95")]
    x = WIDTH - RIGHT - 560
    for name, text in legend_items:
        out.append(f'<line x1="{x}" y1="12" x2="{x + 18}" y2="12" stroke="{LOAD_COLOURS[name]}" stroke-width="3"/>'
                   f'<text x="{x + 22}" y="16" fill="#424242">{_e(text)}</text>')
        x += 28 + 6.4 * len(text)
    out.append("</svg>")
    return "".join(out)


def _load_figures(load: dict[str, Any]) -> str:
    locust = load.get("locust") or {}
    link = (f' · <a href="{_e(load["report"])}">locust report</a>' if load.get("report") else "")
    return (f'<div class="meta">load: {_e(load.get("users", "?"))} users, {_e(load.get("processes", "?"))} '
            f'processes, {_e(load.get("duration", "?"))} s · {_e(load.get("responses", "?"))} responses recorded '
            f'({_e(load.get("rate", "?"))}/s), locust counted {_e(locust.get("requests", "?"))}'
            f'{" · faults: " + _e(", ".join(load["faults"])) if load.get("faults") else ""}{link}</div>')


def _violation_marks(ops: list[Operation], violations: Sequence[dict[str, Any]], scale: _Scale,
                     lane_y: dict[str, float], t0: float) -> list[str]:
    """A diamond on every operation a violation names, a dashed link from write to read."""
    by_id = {op.id: op for op in ops}
    named: dict[int, list[dict[str, Any]]] = defaultdict(list)
    out: list[str] = []
    for v in violations:
        members = [by_id[i] for i in v.get("op_ids", ()) if i in by_id and by_id[i].replica in lane_y]
        for op in members:
            named[op.id].append(v)
        if len(violations) <= MAX_LINKS and len(members) >= 2:
            points = " ".join(f"{scale.x((o.start + o.end) / 2):.1f},{lane_y[o.replica] + 6:.1f}"
                              for o in sorted(members, key=lambda o: o.start))
            out.append(f'<polyline class="link" points="{points}" fill="none" stroke="{VIOLATION}" '
                       f'stroke-width="1" stroke-dasharray="4 3" opacity="0.55"/>')
    for op_id in sorted(named)[:MAX_VIOLATION_MARKS]:
        op, vs = by_id[op_id], named[op_id]
        x, y = scale.x((op.start + op.end) / 2), lane_y[op.replica] + 6
        kinds = sorted({str(v.get("kind", "violation")) for v in vs})
        tip = [f"op {op.id}: {op.kind} {op.name} on {op.replica}, {op.outcome.value}, +{op.start - t0:.3f}s"]
        tip += [f"{v.get('kind', 'violation')}: {v.get('message', '')}" for v in vs[:3]]
        if len(vs) > 3:
            tip.append(f"... and {len(vs) - 3} more violations")
        out.append(f'<path class="violating {_e(" ".join(kinds))}" d="M{x:.1f} {y - 6:.1f}l6 6l-6 6l-6 -6z" '
                   f'fill="{VIOLATION}" stroke="#fff" stroke-width="1.5"><title>{_e(chr(10).join(tip))}</title></path>')
    if len(named) > MAX_VIOLATION_MARKS:
        out.append(f'<text x="{LEFT}" y="12" fill="{VIOLATION}">{len(named) - MAX_VIOLATION_MARKS} '
                   f'more violating operations not drawn</text>')
    return out


def legend() -> str:
    def swatch(shape: str) -> str:
        return f'<svg width="22" height="16" viewBox="0 0 22 16" aria-hidden="true">{shape}</svg>'

    items = [(swatch(f'<rect x="2" y="3" width="18" height="10" fill="{COLOURS["ok"]}"/>'), "ok (acknowledged)"),
             (swatch(f'<rect x="2" y="0" width="18" height="16" fill="{COLOURS["fail"]}"/>'), "fail (not applied)"),
             (swatch(f'<rect x="2" y="0" width="18" height="16" fill="{COLOURS["unknown"]}"/>'),
              "unknown (may have applied)"),
             (swatch(f'<path d="M11 2l6 6l-6 6l-6 -6z" fill="{VIOLATION}"/>'
                     f'<line x1="0" y1="8" x2="5" y2="8" stroke="{VIOLATION}" stroke-dasharray="2 2"/>'),
              "operation named by a violation (lost write, bad read...); dashed: its write and its read"),
             (swatch(f'<rect x="0" y="0" width="22" height="16" fill="{FAULT_BAND}" opacity="0.6"/>'),
              "fault window"),
             (swatch(f'<rect x="0" y="0" width="22" height="16" fill="{FAULT_LANE}" opacity="0.6"/>'),
              "fault on this replica"),
             (swatch(f'<rect x="0" y="0" width="22" height="16" fill="{KILLED_BAND}" opacity="0.9"/>'),
              "graceful stop that ended in SIGKILL (the app ignored SIGTERM: a kill)")]
    return ('<div class="legend" id="legend"><strong>Legend</strong>'
            + "".join(f"<span>{s}{_e(text)}</span>" for s, text in items)
            + "<span>hover a mark for details</span></div>")


def _badge(validity: str) -> str:
    cls = validity if validity in ("pass", "fail", "error") else "unknown"
    return f'<span class="badge {cls}">{_e(validity)}</span>'


def _table(records: Sequence[dict[str, Any]]) -> str:
    rows = []
    for i, r in enumerate(records):
        vs = r.get("violations", [])
        fs = r.get("findings", [])
        rows.append(f'<tr><td class="num">{i + 1}</td>'
                    f'<td class="nw"><a href="#scenario-{i}">{_e(r.get("scenario", "?"))}</a></td>'
                    f'<td class="nw">{_e(r.get("target", "?"))}</td><td class="num">{_e(r.get("replicas", ""))}</td>'
                    f'<td>{_badge(str(r.get("validity", "unknown")))}</td><td class="num">{len(vs)}</td>'
                    f'<td class="num">{len(fs)}</td><td>{_cause(r)}{_first(vs, fs) or _e(reason(r))}</td></tr>')
    return ('<table id="verdicts"><thead><tr><th>#</th><th>scenario</th><th>target</th><th>replicas</th>'
            '<th>verdict</th><th>violations</th><th>findings</th><th>cause, first violation (or finding)</th>'
            '</tr></thead>'
            '<tbody>' + "".join(rows) + "</tbody></table>")


def _cause(record: dict[str, Any]) -> str:
    """The cause summary of a row (``harness.report.causes``), bold, above its first violation."""
    text = causes.summary(record)
    return f'<strong class="cause">cause: {_e(text)}</strong><br>' if text else ""


def _causes(record: dict[str, Any]) -> str:
    """Per scenario: the cause summary, then each group with its counts, where, after what, and a first example."""
    text = causes.summary(record)
    if text is None:
        return ""
    items = []
    for cause, group in causes.groups(record):
        first = group.get("first") or {}
        example = (f'<br><span class="meta">first: [{_e(first.get("checker", "?"))}/{_e(first.get("kind", "?"))}] '
                   f'{_e(first["message"])}</span>' if first.get("message") else "")
        items.append(f'<li class="{_e(cause)}">{_e(causes.group_line(cause, group))}{example}</li>')
    return (f'<div class="causes" style="border-left:4px solid {VIOLATION};padding:2px 10px;margin:8px 0">'
            f'<p><strong>cause: {_e(text)}</strong></p><ul>{"".join(items)}</ul></div>')


def _first(violations: list[dict[str, Any]], findings: list[dict[str, Any]]) -> str:
    """The first violation's message; else the first finding's, marked as a finding."""
    if violations:
        return _e(violations[0].get("message", ""))
    if findings:
        return (f'<span class="finding">finding ({_e(findings[0].get("kind", "?"))})</span> '
                f'{_e(findings[0].get("message", ""))}')
    return ""


def _findings(findings: list[dict[str, Any]]) -> str:
    """Findings of the declared model: listed apart from violations, which they never are."""
    if not findings:
        return ""
    items = "".join(f'<li><strong>{_e(f.get("kind", "?"))}</strong> ({_e(f.get("checker", "?"))}) '
                    f'{_e(f.get("message", ""))}</li>' for f in findings[:MAX_LISTED])
    return (f'<div class="findings"><p><span class="finding">findings of the declared model</span> '
            f'(not violations: they do not fail the verdict)</p><ul>{items}</ul></div>')


def _error_card(entry: dict[str, Any]) -> str:
    """A scenario that reached no verdict: its cause first, in words, then the full (redacted) message."""
    return (f'<div class="errorcard"><p><strong>error, no verdict</strong> '
            f'({_e(entry.get("type", "?"))}, during {_e(entry.get("phase", "?"))}): {_e(entry.get("cause", ""))}</p>'
            f'<details><summary>full message</summary><pre>{_e(entry.get("detail", ""))}</pre></details></div>')


def _section(i: int, record: dict[str, Any], history: History | str | None) -> str:
    vs = record.get("violations", [])
    parts = [f'<section class="scenario" id="scenario-{i}"><h2>{i + 1}. {_e(record.get("scenario", "?"))} '
             f'{_badge(str(record.get("validity", "unknown")))}</h2>',
             f'<div class="meta">test <code>{_e(record.get("nodeid", "?"))}</code>'
             f' · target {_e(record.get("target", "?"))}'
             f' · {_e(record.get("replicas", "?"))} replicas · seed {_e(record.get("seed", "?"))}'
             f' · checkers {_e(record.get("checker", "?"))}'
             + (f' · {_e(absent)}' if (absent := causes.not_in_spec_text(record)) else "") + '</div>',
             f'<div class="meta">{_e(replay_hint(record))}</div>']
    # the picture first: where the faults were and which operations went wrong; the details below it
    if isinstance(record.get("load"), dict):
        parts.append(_load_figures(record["load"]))
    if isinstance(history, History) and len(history):
        parts.append(timeline_svg(history, vs))
        plot = load_plot_svg(history)
        if plot is not None:
            parts.append(plot)
    elif isinstance(history, History):
        parts.append('<p class="missing">no event recorded in this history</p>')
    elif is_error(record):
        parts.append(_error_card(record["error"] if isinstance(record.get("error"), dict) else {}))
    else:
        parts.append(f'<p class="missing">{_e(history or "history not found")}</p>')
    parts.append(_causes(record))
    if vs:
        items = "".join(
            f'<li><strong>{_e(v.get("kind", "?"))}</strong> ({_e(v.get("checker", "?"))}) {_e(v.get("message", ""))}'
            + (f'<details><summary>evidence, operations {_e(", ".join(map(str, v.get("op_ids", []))))}</summary>'
               f'<pre>{_e(_json(v.get("evidence", {})))}</pre>'
               '</details>')
            + "</li>" for v in vs[:MAX_LISTED])
        more = (f"<p>... and {len(vs) - MAX_LISTED} more violations (all are in verdicts.json)</p>"
                if len(vs) > MAX_LISTED else "")
        parts.append(f'<ol class="violations">{items}</ol>{more}')
    parts.append(_findings(record.get("findings", [])))
    parts += [f'<p class="meta">note: {_e(n)}</p>' for n in record.get("notes", [])]
    if record.get("stats"):
        parts.append(f'<details><summary>checker statistics</summary><pre>{_e(_json(record["stats"]))}</pre></details>')
    return "".join(parts) + "</section>"


def render_html(records: Sequence[dict[str, Any]], histories: Iterable[History | str | None], *,
                title: str = "harness report", notices: Iterable[str] = (), redactor: Redactor | None = None) -> str:
    """The whole report. ``histories[i]`` belongs to ``records[i]``: a History, or why there is none.

    With a ``redactor``, records and histories are redacted first (the run folder's
    writer has usually done so already; redacting twice changes nothing).
    """
    if redactor is not None:
        records = [redactor.value(r) for r in records]
        histories = [redactor.history(h) if isinstance(h, History) else h for h in histories]
    counts = {k: sum(r.get("validity") == k for r in records) for k in ("pass", "fail", "unknown", "error")}
    summary = " · ".join(f"{n} {k}" for k, n in counts.items())
    notes = "".join(f'<p class="notice">{_e(n)}</p>' for n in notices)
    sections = "".join(_section(i, r, h) for i, (r, h) in enumerate(zip(records, histories)))
    generated = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>'
            f'<h1>{_e(title)}</h1>'
            f'<div class="meta">{len(records)} scenarios: {_e(summary)} · generated {generated}</div>'
            f"{notes}{_table(records)}{legend()}{sections}</body></html>\n")


def write_html(path: Path, records: Sequence[dict[str, Any]], histories: Iterable[History | str | None],
               **kwargs: Any) -> Path:
    """Write ``report.html``; keyword arguments as for ``render_html``."""
    path.write_text(render_html(records, histories, **kwargs), encoding="utf-8")
    return path
