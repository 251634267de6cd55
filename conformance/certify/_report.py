"""Certification results as text, JSON, JUnit XML and a single-file HTML certificate (no scripts, no network)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from conformance import __version__
from conformance.certify._baseline import Comparison, comparison_json, comparison_text
from conformance.certify._score import CATEGORIES, PASSING, CaseResult, Certification
from conformance.junit import TestCase, junit_xml
from conformance.markup import html_text as escape
from conformance.markup import visible

JSON_SCHEMA = "dids-certification/1.1"


def _why(r: CaseResult) -> str:
    parts = []
    if r.category == "false-accept":
        broken = ", ".join(_pair(p) for p in sorted(r.case.pairs, key=_order))
        parts.append(f"accepted a file that breaks {broken}" if broken else "accepted a file it should refuse")
    elif r.category == "false-reject":
        parts.append("refused a file that every rule accepts")
    if r.missing:
        parts.append("missed " + ", ".join(_pair(p) for p in sorted(r.missing, key=_order)))
    if r.extra:
        parts.append("also reported " + ", ".join(_pair(p) for p in sorted(r.extra, key=_order)))
    if r.file_reject_met:
        parts.append("refused at file level: record findings not judged")
    if r.unmapped:
        parts.append("unmapped (not scored) " + ", ".join(_pair(p) for p in sorted(r.unmapped, key=_order)))
    if r.outcome.detail:
        parts.append(r.outcome.detail)
    if r.expected_failure is not None:
        parts.append(f"expected failure: {r.expected_failure.reason}")
    if r.control:
        parts.append("control case: added because the selection held no case to accept")
    return visible("; ".join(parts))


def _order(pair: tuple[str, int | None]) -> tuple[str, int]:
    return pair[0], pair[1] or 0


def _pair(pair: tuple[str, int | None]) -> str:
    return pair[0] if pair[1] is None else f"{pair[0]}@{pair[1]}"


def likely_causes(cert: Certification) -> list[str]:
    """One line per cause the failing cases share: reference data, the submission window, one rule, one error."""
    failing = [r for r in cert.results if r.status in ("fail", "expired-expected-failure")]
    if not failing:
        return []
    specs = cert.corpus.rule_specs
    causes = []
    errors = [r for r in failing if r.category == "error"]
    if errors and len({r.outcome.detail.split(":", 1)[0] for r in errors}) == 1:
        causes.append(f"every validator error says the same: {errors[0].outcome.detail[:160]}")
    judged = [r for r in failing if r.category != "error"]
    if not judged:
        return causes

    def blamed(r: CaseResult) -> set[str]:
        return r.missing_rules | r.extra_rules or (r.case.rules if r.category == "false-accept" else set())

    needs_reference = [r for r in judged if any(specs[x].needs for x in blamed(r) if x in specs)]
    if len(needs_reference) == len(judged) and len(judged) > 1:
        causes.append(
            f"every failing case ({len(judged)}) turns on a rule that needs reference data: was the validator run "
            "without it (the {reference} placeholder)?"
        )
    windows = [r for r in judged if any(specs[x].kind == "submission" for x in blamed(r) if x in specs)]
    if len(windows) == len(judged) and len(judged) > 1:
        causes.append(
            f"every failing case ({len(judged)}) turns on the submission window or period: does the validator get "
            "{submitted} and {period}?"
        )
    shared = set.intersection(*(blamed(r) for r in judged))
    if len(shared) == 1 and len(judged) > 1:
        causes.append(f"every failing case ({len(judged)}) involves one rule: {next(iter(shared))}")
    accepted = [r for r in cert.results if r.case.verdict == "accepted"]
    if accepted and all(r.category == "false-reject" for r in accepted):
        causes.append("the validator refused every file it should accept: is it run with the right profile?")
    return causes


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def per_family(cert: Certification) -> dict[str, tuple[int, int]]:
    """Rule family (the kind of rule: record, cross-record, file, submission) -> (cases caught, cases judged)."""
    out: dict[str, list[int]] = {}
    specs = cert.corpus.rule_specs
    for rule, counts in cert.per_rule().items():
        family = specs[rule].kind if rule in specs else "not a rule of the corpus"
        caught, judged = counts.get("caught", 0), counts.get("caught", 0) + counts.get("missed", 0)
        total = out.setdefault(family, [0, 0])
        total[0] += caught
        total[1] += judged + counts.get("spurious", 0)
    return {family: (a, b) for family, (a, b) in sorted(out.items())}


def _success(cert: Certification) -> tuple[int, int]:
    return sum(r.category in PASSING for r in cert.results), len(cert.results)


def to_text(cert: Certification, *, show: int = 50) -> str:
    counts, statuses = cert.counts, cert.statuses
    good, total = _success(cert)
    lines = [
        f"DIDS certification: {cert.validator}",
        f"corpus {cert.corpus.version} ({cert.corpus_hash[:12]}), profile {cert.corpus.profile}, level {cert.level}, "
        f"{len(cert.results)} case(s), dids-harness {__version__}, {cert.today.isoformat()}",
        "",
        f"  {good} of {total} cases correct ({_percent(good, total)})",
        "  " + "  ".join(f"{c}: {counts.get(c, 0)}" for c in CATEGORIES),
        f"  expected failures: {statuses.get('expected-failure', 0)}, now passing: "
        f"{statuses.get('unexpected-pass', 0)}, expired: {statuses.get('expired-expected-failure', 0)}",
        "",
    ]
    failing = [r for r in cert.results if r.status != "pass"]
    errors = counts.get("error", 0)
    if errors:
        lines.append(f"  {errors} case(s) ended in a validator error (crash, timeout, unreadable answer): an error")
        lines.append("  is never an answer, so the validator cannot be certified until they pass")
    controls = [r.case.id for r in cert.results if r.control]
    if controls:
        lines.append(f"  control case added (the selection held no case to accept): {', '.join(controls)}")
    unmapped = cert.unmapped()
    if unmapped:
        lines.append("  codes that map to no rule (listed, not scored): " + ", ".join(sorted(unmapped)))
    lines += [f"  likely cause: {cause}" for cause in likely_causes(cert)]
    for r in failing[:show]:
        lines.append(f"  {r.status:<26} {r.category:<14} {r.case.id}: {_why(r)}")
    if len(failing) > show:
        lines.append(f"  ... and {len(failing) - show} more")
    lines.append("")
    lines.append(f"RESULT: {'CERTIFIED' if cert.passed else 'NOT CERTIFIED'}")
    return "\n".join(lines) + "\n"


def to_json(cert: Certification, comparison: Comparison | None = None) -> str:
    payload: dict[str, Any] = {
        "schema": JSON_SCHEMA,
        "tool": {"name": "dids-harness", "version": __version__},
        "corpus": {"version": cert.corpus.version, "sha256": cert.corpus_hash, "profile": cert.corpus.profile},
        "validator": cert.validator,
        "date": cert.today.isoformat(),
        "level": cert.level,
        "certified": cert.passed,
        "counts": {c: cert.counts.get(c, 0) for c in CATEGORIES},
        "statuses": dict(sorted(cert.statuses.items())),
        "rules": {rule: dict(c) for rule, c in cert.per_rule().items()},
        "unmapped": dict(sorted(cert.unmapped().items())),
        "likely_causes": likely_causes(cert),
        "cases": [
            {
                "id": r.case.id,
                "expected": r.case.verdict,
                "outcome": r.outcome.verdict,
                "category": r.category,
                "status": r.status,
                "control": r.control,
                "reasons_checked": r.reasons_checked,
                "missing": [{"rule": a, "record": b} for a, b in sorted(r.missing, key=_order)],
                "extra": [{"rule": a, "record": b} for a, b in sorted(r.extra, key=_order)],
                "unmapped": [{"code": a, "record": b} for a, b in sorted(r.unmapped, key=_order)],
                "file_reject_met": r.file_reject_met,
                "detail": _why(r),
            }
            for r in cert.results
        ],
    }
    if comparison is not None:
        payload["baseline"] = comparison_json(comparison)
    return json.dumps(payload, indent=2) + "\n"


def to_junit(cert: Certification) -> str:
    """One test case per corpus case: an error for a validator error, a failure for a case that fails, skipped
    for an unexpired expected failure."""
    classname = f"dids.certify.{cert.corpus.profile}"
    cases = []
    for r in cert.results:
        name = f"{r.case.id}: {r.case.description}"
        if r.category == "error":
            cases.append(TestCase(classname, name, "error", r.category, _why(r)))
        elif r.status in ("fail", "expired-expected-failure"):
            cases.append(TestCase(classname, name, "failure", r.category, _why(r)))
        elif r.status == "expected-failure":
            cases.append(TestCase(classname, name, "skipped", "expected failure: " + _why(r)))
        else:
            cases.append(TestCase(classname, name))
    return junit_xml(cases, suite=f"DIDS corpus {cert.corpus.version} {cert.corpus.profile}: {cert.validator}")


_STYLE = """
body { font-family: Georgia, 'Times New Roman', serif; margin: 2em auto; max-width: 64em; color: #1b1b1b; }
header { border: 3px double #1d4e89; padding: 1em 1.6em; text-align: center; }
h1 { font-size: 1.7em; margin: 0 0 .2em; color: #1d4e89; }
h2 { color: #1d4e89; border-bottom: 1px solid #c8ccd0; padding-bottom: .15em; }
.verdict { font-size: 1.4em; font-weight: bold; margin: .5em 0 0; }
.pass { color: #1e6b34; } .fail { color: #a4161a; } .warn { color: #8a5a00; }
.badge { display: inline-block; padding: 0 .45em; border-radius: .3em; font-size: .85em; font-family: sans-serif;
  color: #fff; white-space: nowrap; }
.b-pass { background: #1e6b34; } .b-fail { background: #a4161a; } .b-waived { background: #8a5a00; }
.b-error { background: #5b1a7a; }
tr.row-fail td { background: #fbeaea; } tr.row-waived td { background: #fdf4e3; }
tr.row-error td { background: #f2e8f7; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25em 1.2em; margin: 1.2em 0; }
dt { font-weight: bold; }
dd { margin: 0; font-family: Menlo, Consolas, monospace; font-size: .9em; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: .8em 0 1.6em; font-size: .92em; }
th, td { border: 1px solid #c8ccd0; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #eef2f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
td code, li code { font-size: .9em; }
.bar { background: #f1d5d5; height: .8em; width: 10em; display: inline-block; vertical-align: middle; }
.bar span { background: #1e6b34; height: 100%; display: block; }
.causes { border-left: 4px solid #8a5a00; background: #fdf4e3; padding: .4em 1em; }
.legend { font-size: .9em; } .legend li { margin: .15em 0; }
footer { font-size: .85em; color: #555; border-top: 1px solid #c8ccd0; padding-top: .6em; }
"""

_BADGE = {
    "pass": "b-pass",
    "unexpected-pass": "b-pass",
    "fail": "b-fail",
    "expired-expected-failure": "b-fail",
    "expected-failure": "b-waived",
}
_LEGEND = (
    ("correct-accept", "expected accepted, accepted"),
    ("correct-reject", "expected a refusal, refused, with the findings the level requires"),
    ("wrong-reason", "the right verdict for the wrong reasons: a required finding missing, or a wrong official code"),
    ("false-reject", "a file the validator should have accepted, refused"),
    ("false-accept", "a file the validator should have refused, accepted"),
    ("error", "the validator crashed, timed out, could not start or gave an answer that cannot be read; never a pass"),
)
_LEVELS = {
    "verdict": "the verdict alone",
    "official": "the verdict and every official code at its record; this harness's provisional ids optional; a file "
    "refused whole meets a file-reject case",
    "exact": "every expected id at its record, and nothing else",
}


def _findings_html(pairs: set[tuple[str, int | None]] | frozenset[tuple[str, int | None]]) -> str:
    if not pairs:
        return "none"
    return ", ".join(f"<code>{escape(_pair(p))}</code>" for p in sorted(pairs, key=_order))


def _bar(part: int, whole: int) -> str:
    width = round(100 * part / whole) if whole else 0
    return f"<span class='bar'><span style='width:{width}%'></span></span> {_percent(part, whole)}"


def _failing_rows(cert: Certification) -> str:
    rows = []
    for r in sorted(cert.results, key=lambda r: (r.status in ("pass", "unexpected-pass"), r.category != "error")):
        if r.status in ("pass", "unexpected-pass"):
            break
        kind = "error" if r.category == "error" else "waived" if r.status == "expected-failure" else "fail"
        badge = "b-error" if kind == "error" else _BADGE.get(r.status, "b-fail")
        expected = f"{escape(r.case.verdict)}: {_findings_html(r.case.pairs)}"
        observed = escape(r.outcome.verdict)
        if r.outcome.findings is not None:
            observed += f": {_findings_html(r.observed | r.unmapped)}"
        rows.append(
            f"<tr class='row-{kind}'><td><code>{escape(r.case.id)}</code><br>{escape(r.case.description)}</td>"
            f"<td><span class='badge {badge}'>{escape(r.status)}</span><br>{escape(r.category)}</td>"
            f"<td>{expected}</td><td>{observed}</td><td>{escape(_why(r))}</td></tr>"
        )
    return "".join(rows)


def _rule_rows(cert: Certification) -> str:
    rules = cert.per_rule()
    order = sorted(rules, key=lambda rule: (not (rules[rule].get("missed") or rules[rule].get("spurious")), rule))
    rows = []
    for rule in order:
        c = rules[rule]
        bad = bool(c.get("missed") or c.get("spurious"))
        mark = "<span class='badge b-fail'>fail</span>" if bad else "<span class='badge b-pass'>pass</span>"
        rows.append(
            f"<tr{' class=row-fail' if bad else ''}><td><code>{escape(rule)}</code></td><td>{mark}</td>"
            f"<td class='n'>{c.get('caught', 0)}</td><td class='n'>{c.get('missed', 0)}</td>"
            f"<td class='n'>{c.get('spurious', 0)}</td><td class='n'>{c.get('optional-unreported', 0)}</td></tr>"
        )
    return "".join(rows)


def _comparison_html(comparison: Comparison | None) -> str:
    if comparison is None:
        return ""
    ok = comparison.passed
    text = escape(comparison_text(comparison))
    return (
        f"<h2>Compared with an earlier run</h2><p class='verdict {'pass' if ok else 'fail'}'>"
        f"{'NO REGRESSION' if ok else 'REGRESSED'}</p><pre>{text}</pre>"
    )


def to_html(cert: Certification, comparison: Comparison | None = None) -> str:
    """A single self-contained page, failures first: inline style, no script, no external reference of any kind."""
    ok = cert.passed
    counts = cert.counts
    good, total = _success(cert)
    summary = "".join(f"<tr><td>{escape(c)}</td><td class='n'>{counts.get(c, 0)}</td></tr>" for c in CATEGORIES)
    families = "".join(
        f"<tr><td>{escape(family)}</td><td class='n'>{caught}</td><td class='n'>{judged}</td>"
        f"<td>{_bar(caught, judged)}</td></tr>"
        for family, (caught, judged) in per_family(cert).items()
    )
    tags: dict[str, Counter[bool]] = {}
    for r in cert.results:
        for tag in r.case.tags:
            tags.setdefault(tag, Counter())[r.category in PASSING] += 1
    tag_rows = "".join(
        f"<tr><td>{escape(tag)}</td><td class='n'>{c[True]}</td><td class='n'>{c[True] + c[False]}</td>"
        f"<td>{_bar(c[True], c[True] + c[False])}</td></tr>"
        for tag, c in sorted(tags.items())
    )
    failing = _failing_rows(cert)
    cases_table = (
        f"<table><tr><th>case</th><th>status</th><th>expected</th><th>observed</th><th>why</th></tr>{failing}</table>"
        if failing
        else "<p class='pass'>Every case met its expectation.</p>"
    )
    causes = likely_causes(cert)
    causes_html = (
        "<div class='causes'><strong>Likely cause</strong><ul>"
        + "".join(f"<li>{escape(c)}</li>" for c in causes)
        + "</ul></div>"
        if causes
        else ""
    )
    unmapped = cert.unmapped()
    unmapped_html = (
        "<h2>Codes that map to no rule (listed, not scored)</h2><table><tr><th>code</th><th>cases</th></tr>"
        + "".join(
            f"<tr><td><code>{escape(c)}</code></td><td class='n'>{n}</td></tr>" for c, n in sorted(unmapped.items())
        )
        + "</table>"
        if unmapped
        else ""
    )
    legend = "".join(f"<li><strong>{escape(c)}</strong>: {escape(m)}</li>" for c, m in _LEGEND)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>DIDS conformance certificate: {escape(cert.corpus.profile)}</title>
<style>{_STYLE}</style>
</head>
<body>
<header>
<h1>DIDS conformance certificate</h1>
<div>profile <strong>{escape(cert.corpus.profile)}</strong> (DIDS {escape(cert.corpus.dids_version)}), level
<strong>{escape(cert.level)}</strong></div>
<p class="verdict {"pass" if ok else "fail"}">{"CERTIFIED" if ok else "NOT CERTIFIED"}:
{good} of {total} case(s) correct ({_percent(good, total)})</p>
</header>
{causes_html}
{_comparison_html(comparison)}
<h2>Cases that did not pass ({sum(r.status not in ("pass", "unexpected-pass") for r in cert.results)})</h2>
{cases_table}
<h2>Results</h2>
<table><tr><th>category</th><th>cases</th></tr>{summary}</table>
<h2>Success per rule family</h2>
<table><tr><th>family</th><th>caught</th><th>judged</th><th>success</th></tr>{families}</table>
<h2>Success per kind of case</h2>
<table><tr><th>tag</th><th>correct</th><th>cases</th><th>success</th></tr>{tag_rows}</table>
<h2>Per rule (failing rules first)</h2>
<table><tr><th>rule</th><th></th><th>caught</th><th>missed</th><th>reported where not expected</th>
<th>not required, not reported</th></tr>{_rule_rows(cert)}</table>
{unmapped_html}
<h2>Legend</h2>
<ul class="legend">{legend}
<li><strong>level {escape(cert.level)}</strong>: {escape(_LEVELS[cert.level])}</li>
<li><span class="badge b-pass">pass</span> met its expectation; <span class="badge b-fail">fail</span> did not;
<span class="badge b-waived">expected-failure</span> a known gap, waived until it expires;
<span class="badge b-error">error</span> the validator gave no answer</li></ul>
<dl>
<dt>Validator</dt><dd>{escape(cert.validator)}</dd>
<dt>Corpus version</dt><dd>{escape(cert.corpus.version)}</dd>
<dt>Corpus SHA-256</dt><dd>{escape(cert.corpus_hash)}</dd>
<dt>Certified by</dt><dd>dids-harness {escape(__version__)} (dids certify)</dd>
<dt>Date</dt><dd>{escape(cert.today.isoformat())}</dd>
</dl>
<footer>v2.0 rules with V2P-* ids are this project's reconstructions (the v2.0 ETOS is not public); only
DIDS00300302, DIDS00300402 and DIDSREJ012 are published v2.0 codes. The corpus is synthetic: no patient data.</footer>
</body>
</html>
"""
