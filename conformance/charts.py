"""Charts and page style for the HTML reports: inline SVG and CSS, no scripts, nothing fetched, prints on paper.

Each chart is a `<figure class="chart">` with an `id` (tests and readers find it by that), a caption, and an SVG
that scales to the page width. Every text that reaches the page goes through conformance.markup.html_text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from conformance.markup import html_text

STYLE = """
:root { --ink: #1d2733; --muted: #5b6673; --line: #d5dbe1; --bar: #3a6ea5; --alt: #9fb8d3; --bad: #b3261e;
  --warn: #8a5a00; --good: #1e6b35; --mark: #1d2733; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid
  var(--line); padding-bottom: 4px; } h3 { font-size: 14px; margin: 16px 0 4px; }
.muted { color: var(--muted); } .verdict { font-size: 20px; font-weight: 700; padding: 8px 12px;
  border-radius: 4px; display: inline-block; margin: 8px 0; }
.verdict.ok { background: #e3f1e7; color: var(--good); } .verdict.bad { background: #fbe5e3; color: var(--bad); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: #f3f5f7; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code, .value { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px;
  overflow-wrap: anywhere; }
.tag { font-size: 11px; padding: 1px 5px; border-radius: 3px; background: #eef1f4; color: var(--muted);
  white-space: nowrap; }
.sev-file-reject, .sev-record-reject { color: var(--bad); font-weight: 600; } .sev-warning { color: var(--warn); }
td.sev-file-reject, td.sev-record-reject, td.sev-warning { white-space: nowrap; font-size: 13px; }
table.rules { table-layout: fixed; } col.c-rule { width: 30%; } col.c-code { width: 13%; }
col.c-severity { width: 13%; } col.c-count { width: 8%; }
table.facts th { width: 13em; } table.examples { table-layout: fixed; }
col.c-record { width: 5.5em; } col.c-line { width: 5em; } col.c-field { width: 34%; } col.c-value { width: 17%; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px 24px; }
figure.chart { margin: 0; break-inside: avoid; page-break-inside: avoid; } figure.chart.wide { grid-column: 1 / -1; }
figure.chart.wide svg { max-width: 900px; }
figure.chart figcaption { font-weight: 600; margin-bottom: 2px; }
figure.chart .note { font-size: 12px; color: var(--muted); }
figure.chart svg { width: 100%; height: auto; display: block; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--ink); }
svg .bar { fill: var(--bar); } svg .bar.alt { fill: var(--alt); } svg .ref { stroke: var(--mark);
  stroke-width: 2; } svg .axis { stroke: var(--line); } svg .low { fill: var(--bad); }
.legend { font-size: 12px; color: var(--muted); }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; } h2 { break-after: avoid; }
  .charts { grid-template-columns: 1fr 1fr; } figure.chart.wide svg { max-width: none; }
  td.sev-file-reject, td.sev-record-reject, td.sev-warning { font-size: inherit; } tr { break-inside: avoid; }
  @page { size: A4; margin: 14mm; }
}
"""


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, value, an optional reference value drawn as a mark, and whether to shade it."""

    label: str
    value: float
    reference: float | None = None
    shaded: bool = False
    low: bool = False  # drawn in the alarm colour: below its reference by more than the report allows


def page(title: str, body: str) -> str:
    """A whole HTML document: inline style, no script, no external resource."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html_text(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def figure(chart_id: str, caption: str, svg: str, note: str = "", *, wide: bool = False) -> str:
    """A chart with its caption and note; a wide one takes the whole width of the grid."""
    shown = f'<div class="note">{html_text(note)}</div>' if note else ""
    kind = "chart wide" if wide else "chart"
    return (
        f'<figure class="{kind}" id="{html_text(chart_id)}"><figcaption>{html_text(caption)}</figcaption>'
        f"{shown}{svg}</figure>"
    )


def horizontal_bars(
    bars: Sequence[Bar], *, maximum: float | None = None, unit: str = "", label_width: int = 350
) -> str:
    """Labelled horizontal bars with their values, and a dark mark at each bar's reference value."""
    bar_width, value_width, row = 330, 70, 17
    top = max([b.value for b in bars] + [b.reference or 0 for b in bars] + [maximum or 0, 1e-9])
    height = row * len(bars) + 4
    parts = []
    for i, b in enumerate(bars):
        y = 2 + i * row
        length = bar_width * b.value / top
        kind = "bar low" if b.low else "bar alt" if b.shaded else "bar"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end">{html_text(_clip(b.label, 50))}</text>'
            f'<rect class="{kind}" x="{label_width}" y="{y + 2}" width="{length:.1f}" height="{row - 5}"/>'
            f'<text x="{label_width + bar_width + value_width - 4}" y="{y + 12}" text-anchor="end">'
            f"{_number(b.value)}{unit}</text>"
        )
        if b.reference is not None:
            x = label_width + bar_width * b.reference / top
            parts.append(f'<line class="ref" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + row - 1}"/>')
    width = label_width + bar_width + value_width
    return _svg(width, height, "".join(parts))


def columns(bars: Sequence[Bar], *, label_every: int = 1) -> str:
    """Vertical columns over a category axis (days of a month, hours of a day); shaded ones in a lighter colour."""
    width, height, left, bottom, top_margin = 660, 180, 44, 22, 8
    span = width - left - 4
    step = span / max(len(bars), 1)
    top = max([b.value for b in bars] + [1])
    plot = height - bottom - top_margin
    parts = [f'<line class="axis" x1="{left}" x2="{width - 4}" y1="{height - bottom}" y2="{height - bottom}"/>']
    parts.append(f'<text x="{left - 4}" y="{top_margin + 8}" text-anchor="end">{_number(top)}</text>')
    parts.append(f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>')
    for i, b in enumerate(bars):
        h = plot * b.value / top
        x = left + i * step
        kind = "bar alt" if b.shaded else "bar"
        parts.append(
            f'<rect class="{kind}" x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}"><title>{html_text(b.label)}: {_number(b.value)}</title></rect>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - 6}" text-anchor="middle">{html_text(b.label)}</text>'
            )
    return _svg(width, height, "".join(parts))


def _svg(width: int, height: int, content: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'preserveAspectRatio="xMinYMin meet">{content}</svg>'
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
