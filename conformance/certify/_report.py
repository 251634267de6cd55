"""Certification results as text, JSON, JUnit XML and a single-file HTML certificate (no scripts, no network)."""

from __future__ import annotations

import json
from typing import Any

from conformance import __version__
from conformance.certify._score import CATEGORIES, CaseResult, Certification
from conformance.junit import TestCase, junit_xml
from conformance.markup import html_text as escape
from conformance.markup import visible

JSON_SCHEMA = "dids-certification/1.0"


def _why(r: CaseResult) -> str:
    parts = []
    if r.missing:
        parts.append("missed " + ", ".join(_pair(p) for p in sorted(r.missing, key=_order)))
    if r.extra:
        parts.append("also reported " + ", ".join(_pair(p) for p in sorted(r.extra, key=_order)))
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


def to_text(cert: Certification, *, show: int = 50) -> str:
    counts, statuses = cert.counts, cert.statuses
    lines = [
        f"DIDS certification: {cert.validator}",
        f"corpus {cert.corpus.version} ({cert.corpus_hash[:12]}), profile {cert.corpus.profile}, "
        f"{len(cert.results)} case(s), dids-harness {__version__}, {cert.today.isoformat()}",
        "",
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
    for r in failing[:show]:
        lines.append(f"  {r.status:<26} {r.category:<14} {r.case.id}: {_why(r)}")
    if len(failing) > show:
        lines.append(f"  ... and {len(failing) - show} more")
    lines.append("")
    lines.append(f"RESULT: {'CERTIFIED' if cert.passed else 'NOT CERTIFIED'}")
    return "\n".join(lines) + "\n"


def to_json(cert: Certification) -> str:
    payload: dict[str, Any] = {
        "schema": JSON_SCHEMA,
        "tool": {"name": "dids-harness", "version": __version__},
        "corpus": {"version": cert.corpus.version, "sha256": cert.corpus_hash, "profile": cert.corpus.profile},
        "validator": cert.validator,
        "date": cert.today.isoformat(),
        "certified": cert.passed,
        "counts": {c: cert.counts.get(c, 0) for c in CATEGORIES},
        "statuses": dict(sorted(cert.statuses.items())),
        "rules": {rule: dict(c) for rule, c in cert.per_rule().items()},
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
                "detail": _why(r),
            }
            for r in cert.results
        ],
    }
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
body { font-family: Georgia, 'Times New Roman', serif; margin: 2.5em auto; max-width: 60em; color: #1b1b1b; }
header { border: 3px double #1d4e89; padding: 1.2em 1.6em; text-align: center; }
h1 { font-size: 1.7em; margin: 0 0 .2em; color: #1d4e89; }
.verdict { font-size: 1.4em; font-weight: bold; margin: .6em 0 0; }
.pass { color: #1e6b34; } .fail { color: #a4161a; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25em 1.2em; margin: 1.2em 0; }
dt { font-weight: bold; }
dd { margin: 0; font-family: Menlo, Consolas, monospace; font-size: .9em; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: .8em 0 1.6em; font-size: .92em; }
th, td { border: 1px solid #c8ccd0; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #eef2f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
footer { font-size: .85em; color: #555; border-top: 1px solid #c8ccd0; padding-top: .6em; }
"""


def to_html(cert: Certification) -> str:
    """A single self-contained page: inline style, no script, no external reference of any kind."""
    ok = cert.passed
    counts = cert.counts
    summary = "".join(f"<tr><td>{escape(c)}</td><td class='n'>{counts.get(c, 0)}</td></tr>" for c in CATEGORIES)
    rules = "".join(
        f"<tr><td>{escape(rule)}</td><td class='n'>{c.get('caught', 0)}</td><td class='n'>{c.get('missed', 0)}</td>"
        f"<td class='n'>{c.get('spurious', 0)}</td></tr>"
        for rule, c in cert.per_rule().items()
    )
    notable = [r for r in cert.results if r.status != "pass"]
    rows = "".join(
        f"<tr><td>{escape(r.case.id)}</td><td>{escape(r.status)}</td><td>{escape(r.category)}</td>"
        f"<td>{escape(_why(r))}</td></tr>"
        for r in notable
    )
    cases_table = (
        f"<table><tr><th>case</th><th>status</th><th>category</th><th>why</th></tr>{rows}</table>"
        if notable
        else "<p>Every case met its expectation.</p>"
    )
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
<div>profile <strong>{escape(cert.corpus.profile)}</strong> (DIDS {escape(cert.corpus.dids_version)})</div>
<p class="verdict {"pass" if ok else "fail"}">{"CERTIFIED" if ok else "NOT CERTIFIED"}:
{len(cert.results)} case(s), {counts.get("correct-accept", 0) + counts.get("correct-reject", 0)} correct</p>
</header>
<dl>
<dt>Validator</dt><dd>{escape(cert.validator)}</dd>
<dt>Corpus version</dt><dd>{escape(cert.corpus.version)}</dd>
<dt>Corpus SHA-256</dt><dd>{escape(cert.corpus_hash)}</dd>
<dt>Certified by</dt><dd>dids-harness {escape(__version__)} (dids certify)</dd>
<dt>Date</dt><dd>{escape(cert.today.isoformat())}</dd>
</dl>
<h2>Results</h2>
<table><tr><th>category</th><th>cases</th></tr>{summary}</table>
<h2>Cases not plainly passing</h2>
{cases_table}
<h2>Per rule</h2>
<table><tr><th>rule</th><th>caught</th><th>missed</th><th>reported where not expected</th></tr>{rules}</table>
<footer>v2.0 rules with V2P-* ids are this project's reconstructions (the v2.0 ETOS is not public); only
DIDS00300302, DIDS00300402 and DIDSREJ012 are published v2.0 codes. The corpus is synthetic: no patient data.</footer>
</body>
</html>
"""
