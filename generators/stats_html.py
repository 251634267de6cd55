"""The statistics of a DIDS file as HTML: the charts (also embedded in `dids check --format html`) and a page.

Pictures show what a table hides: every procedure at 12:00 after an upgrade, a synthetic month with no weekend
dip, an item far below Table C.
"""

from __future__ import annotations

import calendar
from collections import Counter
from datetime import date

from conformance.charts import Bar, columns, figure, horizontal_bars, page
from conformance.markup import html_text
from generators.stats import Stats

CHART_IDS = ("chart-completeness", "chart-days", "chart-hours", "chart-offsets")
LOW_BY = 5.0  # percentage points below Table C that a completeness bar is drawn in the alarm colour


def charts(stats: Stats) -> str:
    """The four charts of a file's activity, as a grid of figures."""
    parts = [_completeness(stats), _days(stats), _hours(stats), _offsets(stats)]
    return '<div class="charts">' + "".join(parts) + "</div>"


def _completeness(stats: Stats) -> str:
    bars = [
        Bar(
            row.column,
            row.percent,
            reference=row.table_c,
            low=row.table_c is not None and row.percent < row.table_c - LOW_BY,
        )
        for row in stats.items
    ]
    return figure(
        "chart-completeness",
        "Completeness of every item (% of records with a value)",
        horizontal_bars(bars, maximum=100, unit="%"),
        note=f"Dark mark: Table C of the DID 2024/25 Technical Report, where it has the field. Red: more than "
        f"{LOW_BY:.0f} points below it.",
        wide=True,
    )


def _month_of(days: Counter[str]) -> date | None:
    """The month most of the activity falls in (a stray date outside it must not stretch the axis)."""
    if not days:
        return None
    months: Counter[str] = Counter()
    for day, n in days.items():
        months[day[:7]] += n
    busiest = max(months.items(), key=lambda kv: (kv[1], kv[0]))[0]
    try:
        return date.fromisoformat(busiest + "-01")
    except ValueError:
        return None


def _days(stats: Stats) -> str:
    month = _month_of(stats.days)
    if month is None:
        return figure("chart-days", "Activity by day", "<p class='muted'>No dated activity.</p>")
    length = calendar.monthrange(month.year, month.month)[1]
    bars = []
    for d in range(1, length + 1):
        day = month.replace(day=d)
        bars.append(Bar(str(d), stats.days.get(day.isoformat(), 0), shaded=day.weekday() >= 5))
    outside = sum(stats.days.values()) - sum(b.value for b in bars)
    note = "Light bars: Saturdays and Sundays."
    if outside:
        note += f" {outside:,.0f} record(s) dated outside {month:%B %Y} are not drawn."
    what = "test date" if stats.version == "v1" else "procedure start"
    return figure("chart-days", f"Activity by day of {month:%B %Y} ({what})", columns(bars), note=note)


def _hours(stats: Stats) -> str:
    if not stats.hours:
        why = "DIDS v1 carries no times." if stats.version == "v1" else "No procedure start times."
        return figure("chart-hours", "Activity by hour of day", f"<p class='muted'>{html_text(why)}</p>")
    bars = [Bar(f"{h:02d}", stats.hours.get(h, 0)) for h in range(24)]
    return figure(
        "chart-hours",
        "Activity by hour of day (procedure start, UK wall clock)",
        columns(bars, label_every=2),
        note="A single tall bar (every procedure at 12:00) is the mark of dates made timestamps by an upgrade.",
    )


def _offsets(stats: Stats) -> str:
    if not stats.offsets:
        return figure("chart-offsets", "Timestamp offsets used", "<p class='muted'>No timestamps (DIDS v1).</p>")
    bars = [Bar(offset or "(none)", n) for offset, n in sorted(stats.offsets.items(), key=lambda kv: -kv[1])]
    return figure(
        "chart-offsets",
        "Timestamp offsets used (start, end and report timestamps)",
        horizontal_bars(bars, label_width=90),
        note="DIDS v2.0 allows +01:00, +00:00, -00:00 and Z.",
    )


def ledger_html(stats: Stats) -> str:
    """The input ledger: records read, not read and file problems."""
    if stats.input is None:
        return ""
    lines = "".join(f"<li>{html_text(line.strip())}</li>" for line in stats.input.lines())
    warning = (
        ""
        if stats.input.complete
        else "<p class='sev-file-reject'>INCOMPLETE: the figures cover only the records that were read.</p>"
    )
    return f"<h2>Input</h2>{warning}<ul>{lines}</ul>"


def to_html(stats: Stats) -> str:
    """A whole page: the ledger, the charts, the distributions."""
    title = f"DIDS statistics: {stats.file or 'file'}"
    body = [
        f"<h1>{html_text(title)}</h1>",
        f"<p class='muted'>{stats.records:,} record(s), DIDS {html_text(stats.version)}</p>",
        ledger_html(stats),
        "<h2>Charts</h2>",
        charts(stats),
        "<h2>Distributions</h2>",
    ]
    for name, counts in stats.distributions.items():
        total = sum(counts.values()) or 1
        rows = "".join(
            f"<tr><td><code>{html_text(k or '(blank)')}</code></td><td class='n'>{n:,}</td>"
            f"<td class='n'>{100 * n / total:.1f}%</td></tr>"
            for k, n in sorted(counts.items())
        )
        body.append(
            f"<h3>{html_text(name)}</h3><table><tr><th>code</th><th class='n'>records</th>"
            f"<th class='n'>share</th></tr>{rows}</table>"
        )
    return page(title, "\n".join(body))
