"""Gating a change, not only an absolute: a run compared with an earlier certification (`--baseline PREVIOUS.json`).

A case regresses when it met its expectation before (correct accept or reject) and does not now; it is fixed the
other way round. Cases only in this run are new, cases only in the baseline are gone. Any regression fails the
gate, whether or not the validator was ever fully certified; so does any validator error in this run (a crash, a
timeout: an error is never an answer, so no baseline can make it one). A baseline of another profile cannot be compared;
a different corpus version, corpus, level or validator description is stated in the result, never hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.certify._score import PASSING, Certification
from conformance.certify._validators import CertifyError
from conformance.files import InputError, require_file


@dataclass
class Comparison:
    baseline: str  # the file compared with
    regressions: list[tuple[str, str, str]] = field(default_factory=list)  # (case, category before, now)
    fixes: list[tuple[str, str, str]] = field(default_factory=list)
    new: list[tuple[str, str]] = field(default_factory=list)  # (case, category now)
    gone: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # corpus or validator differences, stated
    errors: list[str] = field(default_factory=list)  # cases where the validator gave no answer in this run

    @property
    def passed(self) -> bool:
        return not self.regressions and not self.errors


def load_baseline(path: str | Path) -> dict[str, Any]:
    """An earlier `dids certify --format json` report."""
    try:
        data = json.loads(require_file(path, what="baseline", max_bytes=256 << 20).read_text("utf-8"))
    except InputError as exc:
        raise CertifyError(str(exc)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CertifyError(f"cannot read the baseline {path}: {exc}") from None
    cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(cases, list) or not all(
        isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("category"), str) for c in cases
    ):
        raise CertifyError(f"{path} is not a dids certify JSON report (no cases with id and category)")
    report: dict[str, Any] = data
    return report


def compare(cert: Certification, baseline: dict[str, Any], name: str) -> Comparison:
    corpus = baseline.get("corpus", {}) if isinstance(baseline.get("corpus"), dict) else {}
    if corpus.get("profile") != cert.corpus.profile:
        raise CertifyError(f"the baseline {name} is profile {corpus.get('profile')}, this run {cert.corpus.profile}")
    result = Comparison(name)
    if corpus.get("version") != cert.corpus.version:
        result.notes.append(f"corpus version differs: baseline {corpus.get('version')}, now {cert.corpus.version}")
    elif corpus.get("sha256") != cert.corpus_hash:
        result.notes.append("same corpus version but different files (SHA-256 differs)")
    if baseline.get("level", "exact") != cert.level:
        result.notes.append(f"level differs: baseline {baseline.get('level', 'exact')}, now {cert.level}")
    if baseline.get("validator") != cert.validator:
        result.notes.append(f"validator differs: baseline {baseline.get('validator')!r}")
    before = {c["id"]: c["category"] for c in baseline["cases"]}
    now = {r.case.id: r.category for r in cert.results}
    for case, category in now.items():
        if case not in before:
            result.new.append((case, category))
        elif before[case] in PASSING and category not in PASSING:
            result.regressions.append((case, before[case], category))
        elif before[case] not in PASSING and category in PASSING:
            result.fixes.append((case, before[case], category))
    result.gone = [case for case in before if case not in now]
    result.errors = [case for case, category in now.items() if category == "error"]
    return result


def comparison_text(comparison: Comparison) -> str:
    lines = [f"Compared with {comparison.baseline}:"]
    lines += [f"  note: {note}" for note in comparison.notes]
    lines += [f"  REGRESSION {case}: {was} -> {now}" for case, was, now in comparison.regressions]
    lines += [f"  fixed      {case}: {was} -> {now}" for case, was, now in comparison.fixes]
    lines += [f"  new        {case}: {now}" for case, now in comparison.new]
    lines += [f"  gone       {case}" for case in comparison.gone]
    lines += [
        f"  ERROR      {case}: the validator gave no answer (never a pass, whatever the baseline)"
        for case in comparison.errors
    ]
    counts = (
        f"{len(comparison.regressions)} regression(s), {len(comparison.fixes)} fixed, {len(comparison.new)} new, "
        f"{len(comparison.gone)} gone"
    )
    lines.append(f"  {counts}")
    lines.append(f"GATE: {'NO REGRESSION' if comparison.passed else 'REGRESSED'}")
    return "\n".join(lines) + "\n"


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "baseline": comparison.baseline,
        "passed": comparison.passed,
        "notes": comparison.notes,
        "regressions": [{"id": c, "before": b, "now": n} for c, b, n in comparison.regressions],
        "fixes": [{"id": c, "before": b, "now": n} for c, b, n in comparison.fixes],
        "new": [{"id": c, "now": n} for c, n in comparison.new],
        "gone": comparison.gone,
        "errors": comparison.errors,
    }
