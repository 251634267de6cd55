"""Render a Report as text (for a trust's analyst), JSON (versioned schema) or JUnit XML (for CI)."""

from __future__ import annotations

import json
import re
from typing import Any

from conformance import __version__
from conformance.check._model import Finding, Report
from conformance.markup import html_text, visible
from conformance.spec import RuleSpec

# Bump when a field is removed or changes meaning; adding a field is not a breaking change.
REPORT_SCHEMA_VERSION = "1.0"
REPORT_SCHEMA_ID = "https://github.com/dids-harness/schemas/check-report-1.0.json"


def to_json_data(report: Report) -> dict[str, Any]:
    per_rule = []
    for rule_id, count in sorted(report.counts.items()):
        spec = report.rules[rule_id]
        per_rule.append(
            {
                "rule": rule_id,
                "code": spec.code,
                "official": spec.official,
                "severity": spec.severity,
                "count": count,
                "message": spec.message,
            }
        )
    return {
        "$schema": REPORT_SCHEMA_ID,
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "dids-harness", "version": __version__},
        "file": report.file,
        "format": report.format,
        "version": report.version,
        "profile": report.profile,
        "context": {**report.context, "reference": report.reference},
        "verdict": report.verdict,
        "records": report.records,
        "records_rejected": report.records_rejected,
        "counts": report.count_by_severity(),
        "rules": per_rule,
        "findings": [{**f.as_dict(), "location": report.location(f)} for f in report.findings],
        "examples_capped_at": report.max_examples,
        "examples_omitted": report.omitted(),
        "not_evaluated": [{"rule": n.rule, "reason": n.reason} for n in report.not_evaluated],
        "file_problems": report.file_problems,
        "input": report.input.as_json() if report.input is not None else None,
    }


def _reference_line(release: dict[str, str | None] | None) -> str:
    if release is None:
        return "none"
    return f"{release['name']} (release {release['release_date'] or 'undated'}, sha256 {release['sha256']})"


def to_json(report: Report) -> str:
    return json.dumps(to_json_data(report), indent=2, ensure_ascii=False) + "\n"


def context_line(report: Report) -> str:
    """The submission context in one line: when, for which period and window, by whom."""
    context = report.context
    parts = [f"submitted {context['submitted']}"]
    if context.get("period"):
        parts.append(f"reporting period {context['period']}")
    if context.get("window_opens") or context.get("window_closes"):
        opens, closes = context.get("window_opens"), context.get("window_closes")
        parts.append(f"window {opens or '(no opening date)'} to {closes or '(no closing date)'}")
    if context.get("submitter"):
        parts.append(f"submitter {context['submitter']}")
    return ", ".join(parts)


def detail(finding: Finding, spec: RuleSpec | None) -> str:
    """What a finding says beyond its rule's message: the window's dates, both sides of a comparison."""
    message = _NAMESPACE.sub("", finding.message)
    if spec is not None and message.startswith(spec.message):
        message = message[len(spec.message) :].strip(" :")
        if message.startswith("(") and _closes_at_end(message):
            message = message[1:-1]
    return message


_NAMESPACE = re.compile(r"\{[^{}\s]*\}(?=\w)")  # an XML name's {namespace}: the user's file names it once


def _closes_at_end(text: str) -> bool:
    """True when the parenthesis that opens `text` is the one that closes it."""
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return position == len(text) - 1
    return False


def example_line(report: Report, finding: Finding) -> str:
    """One example: record, line, the user's column or XML path, the value, and the finding's own detail."""
    where = f"record {finding.record}" if finding.record is not None else "file"
    where += f", line {finding.line}" if finding.line is not None else ""
    location = report.location(finding)
    said = f"{location} = {finding.value!r}" if finding.field else (location or "")
    extra = detail(finding, report.rules.get(finding.rule))
    return f"{where}: {said}" + (f" ({extra})" if extra and said else extra)


def rule_label(report: Report, rule_id: str) -> str:
    return rule_id if report.rules[rule_id].official else f"{rule_id} {unofficial_tag(report)}"


def unofficial_tag(report: Report) -> str:
    return "[reconstructed]" if report.version == "v2" else "[provisional]"


def to_text(report: Report, examples: int = 3) -> str:
    lines = [f"{report.file}: DIDS {report.version} {report.format or ''}, profile {report.profile}"]
    lines += [context_line(report), f"reference data: {_reference_line(report.reference)}"]
    lines += ["", f"VERDICT: {report.verdict.upper()}"]
    totals = report.count_by_severity()
    lines.append(
        f"{report.records} record(s) read; {report.records_rejected} with record-level errors; "
        f"{totals['file-reject']} file-level, {totals['record-reject']} record-level error(s), "
        f"{totals['warning']} warning(s)"
    )
    if report.input is not None:
        lines += report.input.lines()
        if not report.input.complete:
            lines.append("Records that were not read were not checked: the file cannot be accepted.")
    if report.verdict == "rejected":
        lines.append(
            "Any error rejects the whole file"
            + (" (warnings too: --fail-on warning)" if report.fail_on_warning else "")
            + "."
        )
    if report.counts:
        lines += ["", f"Findings by rule (official code, or {unofficial_tag(report)} where none is published):"]
        ranked = sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        width = max(len(rule_label(report, rule_id)) for rule_id, _ in ranked)
        for rule_id, count in ranked:
            spec = report.rules[rule_id]
            lines.append(f"  {rule_label(report, rule_id):<{width}}  {spec.severity:<13} {count:>7}  {spec.message}")
            for f in [f for f in report.findings if f.rule == rule_id][:examples]:
                lines.append(f"      {example_line(report, f)}")
    lines += _text_tail(report)
    return visible("\n".join(lines)) + "\n"  # a submitted value never reaches a terminal as a control sequence


def _text_tail(report: Report) -> list[str]:
    lines = []
    omitted = report.omitted()
    if omitted:
        lines += [
            "",
            f"Examples are capped at {report.max_examples} per rule (--max-examples); counts above are "
            f"complete. Not shown: " + ", ".join(f"{r} {n}" for r, n in omitted.items()),
        ]
    if report.version == "v2":
        lines += ["", V2_NOTE]
    if report.not_evaluated:
        lines += ["", f"Not evaluated ({len(report.not_evaluated)} rule(s)) - these were NOT checked:"]
        for n in report.not_evaluated:
            lines.append(f"  {n.rule}: {n.reason}")
    return lines


V2_NOTE = (
    "DIDS v2.0 rules are reconstructed from public sources (the ETOS is not public): only DIDS00300302, "
    "DIDS00300402 and DIDSREJ012 are official codes; V2P-* rules are this tool's, labelled in the pack."
)


def _junit_line(f: Finding) -> str:
    where = f"record {f.record}" if f.record is not None else "file"
    return f"{where} line {f.line}: {f.field or ''} {f.value or ''} {f.message}"


def to_junit(report: Report) -> str:
    """One testsuite per file: a test case for reading the file in full, then one per rule of the profile: failed
    (with every example) for an error rule with findings, passed with its examples for a warning, skipped for a
    rule not evaluated."""
    from conformance.junit import TestCase, junit_xml  # the JUnit and HTML writers: imported by their formats only

    by_rule: dict[str, list[str]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule, []).append(_junit_line(f))
    skipped = {n.rule: n.reason for n in report.not_evaluated}
    classname = f"dids.{report.profile}"
    cases = []
    if report.input is not None:  # the input itself: a test that fails when records were not read
        ledger = report.input
        outcome = "passed" if ledger.complete else "failure"
        cases.append(TestCase(classname, "input read in full", outcome, message=ledger.headline()))
    for rule_id, spec in report.rules.items():
        if report.profile not in spec.profiles:
            continue
        name, count, text = (
            f"{rule_id} {spec.message}",
            report.counts.get(rule_id, 0),
            "\n".join(by_rule.get(rule_id, [])),
        )
        if rule_id in skipped:
            cases.append(TestCase(classname, name, "skipped", message=f"not evaluated: {skipped[rule_id]}"))
        elif count and spec.severity != "warning":
            cases.append(TestCase(classname, name, "failure", f"{count} finding(s)", text, kind=spec.severity))
        else:
            cases.append(TestCase(classname, name, text=text))
    properties = {"reference": _reference_line(report.reference)}
    return junit_xml(cases, suite=f"{report.file} ({report.profile})", name="dids check", properties=properties)


# ----- HTML: one self-contained page (conformance.charts supplies the style and the SVG) -------------------------

WHAT_TO_DO = {
    "file-reject": "Fix the file or the submission (layout, period, window) and submit again: the whole file is "
    "rejected until then.",
    "record-reject": "Correct this value in the source system and extract again: any error rejects the whole file.",
    "warning": "Check this value: a warning does not reject the file (unless --fail-on warning).",
}


def to_html(report: Report, *, charts: str = "", reference: str | None = None, examples: int = 10) -> str:
    """The report as one HTML page (inline CSS and SVG, no script): verdict, context, counts per rule, examples
    with the user's field names, what was not evaluated, and `charts` (the file's statistics, already drawn)."""
    from conformance.charts import page

    title = f"DIDS check: {report.file}"
    body = [
        f"<h1>{html_text(title)}</h1>",
        f"<div class='verdict {'ok' if report.verdict == 'accepted' else 'bad'}'>"
        f"{html_text(report.verdict.upper())}</div>",
        _html_context(report, reference),
        _html_rules(report),
        "<h2>Charts</h2><div class='charts'>" + _findings_chart(report) + "</div>" + charts,
        _html_examples(report, examples),
        _html_not_evaluated(report),
    ]
    if report.version == "v2":
        body.append(f"<p class='muted'>{html_text(V2_NOTE)}</p>")
    body.append(f"<p class='muted'>dids-harness {html_text(__version__)}</p>")
    return page(title, "\n".join(body))


def _html_context(report: Report, reference: str | None) -> str:
    context = report.context
    totals = report.count_by_severity()
    rows = [
        ("file", report.file),
        ("DIDS version and layout", f"{report.version} {report.format or ''}"),
        ("profile", report.profile),
        ("submitted", context.get("submitted")),
        ("reporting period", context.get("period") or "not given (period and window rules not evaluated)"),
        ("submission window", _window(context)),
        ("submitter", context.get("submitter")),
        ("reference data", _reference_line(report.reference) if report.reference else reference or "none"),
        ("records read", f"{report.records:,}; {report.records_rejected:,} with record-level errors"),
        ("findings", f"{totals['file-reject']:,} file-level and {totals['record-reject']:,} record-level "
         f"error(s), {totals['warning']:,} warning(s)"),
    ]  # fmt: skip
    cells = "".join(f"<tr><th>{html_text(k)}</th><td>{html_text(v)}</td></tr>" for k, v in rows if v)
    ledger = ""
    if report.input is not None:
        items = "".join(f"<li>{html_text(line.strip())}</li>" for line in report.input.lines())
        lost = "" if report.input.complete else (
            "<p class='sev-file-reject'>Records that were not read were not checked: the file cannot be "
            "accepted.</p>"
        )  # fmt: skip
        ledger = f"<h3>Input</h3>{lost}<ul>{items}</ul>"
    return f"<h2>Submission</h2><table class='facts'>{cells}</table>{ledger}"


def _window(context: dict[str, str | None]) -> str | None:
    if not (context.get("window_opens") or context.get("window_closes")):
        return None
    return f"opens {context.get('window_opens') or '-'}, closes at the end of {context.get('window_closes') or '-'}"


def _html_rules(report: Report) -> str:
    if not report.counts:
        return "<h2>Findings by rule</h2><p>No findings.</p>"
    rows = []
    for rule_id, count in sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0])):
        spec = report.rules[rule_id]
        mark = "official" if spec.official else unofficial_tag(report).strip("[]")
        rows.append(
            f"<tr id='rule-{html_text(rule_id)}'><td class='rule'><a href='#examples-{html_text(rule_id)}'><code>"
            f"{html_text(rule_id)}</code></a></td><td><span class='tag'>{html_text(mark)}</span></td>"
            f"<td class='sev-{html_text(spec.severity)}'>{html_text(spec.severity)}</td>"
            f"<td class='n'>{count:,}</td><td>{html_text(spec.message)}</td></tr>"
        )
    head = (
        "<colgroup><col class='c-rule'><col class='c-code'><col class='c-severity'><col class='c-count'><col>"
        "</colgroup><tr><th>rule</th><th>code</th><th>severity</th><th class='n'>findings</th><th>rule says</th></tr>"
    )
    return f"<h2>Findings by rule</h2><table class='rules'>{head}{''.join(rows)}</table>"


def _findings_chart(report: Report) -> str:
    from conformance.charts import Bar, figure, horizontal_bars

    ranked = sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ranked:
        return figure("chart-findings", "Findings per rule", "<p class='muted'>No findings.</p>")
    shown = ranked[:CHART_RULES]
    bars = [Bar(rule_id, n, shaded=report.rules[rule_id].severity == "warning") for rule_id, n in shown]
    note = "Light bars: warnings."
    if len(ranked) > len(shown):
        rest = ranked[len(shown) :]
        note += f" {len(rest)} more rule(s) with {sum(n for _, n in rest):,} finding(s) are in the table above."
    return figure("chart-findings", "Findings per rule", horizontal_bars(bars), note=note, wide=True)


CHART_RULES = 25  # the rules with most findings drawn; the table lists them all


def _html_examples(report: Report, examples: int) -> str:
    if not report.findings:
        return ""
    parts = [f"<h2>First examples per rule</h2><p class='muted'>Up to {examples} per rule; every finding is "
             f"counted above (examples kept: {report.max_examples} per rule, --max-examples).</p>"]  # fmt: skip
    head = (
        "<colgroup><col class='c-record'><col class='c-line'><col class='c-field'><col class='c-value'><col></colgroup>"
        "<tr><th class='n'>record</th><th class='n'>line</th><th>field</th><th>value</th><th>what to do</th></tr>"
    )
    for rule_id in sorted(report.counts, key=lambda r: (-report.counts[r], r)):
        spec = report.rules[rule_id]
        shown = [f for f in report.findings if f.rule == rule_id][:examples]
        rows = "".join(_html_example(report, f, spec) for f in shown)
        parts.append(
            f"<h3 id='examples-{html_text(rule_id)}'><code>{html_text(rule_id)}</code> "
            f"{html_text(spec.message)}</h3><table class='examples'>{head}{rows}</table>"
        )
    return "".join(parts)


def _html_example(report: Report, finding: Finding, spec: RuleSpec) -> str:
    extra = detail(finding, spec)
    todo = WHAT_TO_DO.get(spec.severity, "")
    value = "" if finding.value is None else f"<span class='value'>{html_text(repr(finding.value))}</span>"
    return (
        f"<tr><td class='n'>{'' if finding.record is None else finding.record}</td>"
        f"<td class='n'>{'' if finding.line is None else finding.line}</td>"
        f"<td><code>{html_text(report.location(finding) or '')}</code></td><td>{value}</td>"
        f"<td>{html_text(extra.rstrip('.') + '. ' + todo if extra else todo)}</td></tr>"
    )


def _html_not_evaluated(report: Report) -> str:
    if not report.not_evaluated:
        return "<h2>Not evaluated</h2><p>Every rule of the profile was evaluated.</p>"
    rows = "".join(
        f"<tr><td><code>{html_text(n.rule)}</code></td><td>{html_text(n.reason)}</td></tr>"
        for n in report.not_evaluated
    )
    return (
        f"<h2>Not evaluated ({len(report.not_evaluated)} rules): these were NOT checked</h2>"
        f"<table><tr><th>rule</th><th>why</th></tr>{rows}</table>"
    )
