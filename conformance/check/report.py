"""Render a Report as text (for a trust's analyst), JSON (versioned schema) or JUnit XML (for CI)."""

from __future__ import annotations

import json
from typing import Any

from conformance import __version__
from conformance.check._model import Finding, Report
from conformance.junit import TestCase, junit_xml
from conformance.markup import visible

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
        "findings": [f.as_dict() for f in report.findings],
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


def to_text(report: Report, examples: int = 3) -> str:
    lines = [
        f"{report.file}: DIDS {report.version} {report.format or ''}, profile {report.profile}",
        f"submitted {report.context['submitted']}"
        + (f", reporting period {report.context['period']}" if report.context.get("period") else "")
        + (f", submitter {report.context['submitter']}" if report.context.get("submitter") else ""),
        f"reference data: {_reference_line(report.reference)}",
        "",
        f"VERDICT: {report.verdict.upper()}",
    ]
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
        unofficial = "[reconstructed]" if report.version == "v2" else "[provisional]"
        lines += ["", f"Findings by rule (official code, or {unofficial} where none is published):"]
        for rule_id, count in sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0])):
            spec = report.rules[rule_id]
            tag = "" if spec.official else f" {unofficial}"
            lines.append(f"  {rule_id + tag:<36} {spec.severity:<13} {count:>7}  {spec.message}")
            for f in [f for f in report.findings if f.rule == rule_id][:examples]:
                where = f"record {f.record}" if f.record is not None else "file"
                where += f", line {f.line}" if f.line is not None else ""
                value = f" = {f.value!r}" if f.field else ""
                lines.append(f"      {where}: {f.field or ''}{value}")
    omitted = report.omitted()
    if omitted:
        lines += [
            "",
            f"Examples are capped at {report.max_examples} per rule (--max-examples); counts above are "
            f"complete. Not shown: " + ", ".join(f"{r} {n}" for r, n in omitted.items()),
        ]
    if report.version == "v2":
        lines += [
            "",
            "DIDS v2.0 rules are reconstructed from public sources (the ETOS is not public): only DIDS00300302, "
            "DIDS00300402 and DIDSREJ012 are official codes; V2P-* rules are this tool's, labelled in the pack.",
        ]
    if report.not_evaluated:
        lines += ["", f"Not evaluated ({len(report.not_evaluated)} rule(s)) - these were NOT checked:"]
        for n in report.not_evaluated:
            lines.append(f"  {n.rule}: {n.reason}")
    return visible("\n".join(lines)) + "\n"  # a submitted value never reaches a terminal as a control sequence


def _junit_line(f: Finding) -> str:
    where = f"record {f.record}" if f.record is not None else "file"
    return f"{where} line {f.line}: {f.field or ''} {f.value or ''} {f.message}"


def to_junit(report: Report) -> str:
    """One testsuite per file: a test case for reading the file in full, then one per rule of the profile: failed
    (with every example) for an error rule with findings, passed with its examples for a warning, skipped for a
    rule not evaluated."""
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
