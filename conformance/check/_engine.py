"""Run a profile's rules over a submission in one streaming pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from conformance.check._context import SubmissionContext, make_context
from conformance.check._model import Finding, NotEvaluated, Report
from conformance.check._rows import Hit, Row, RuleFn, Setup
from conformance.check.reference import NO_REFERENCE, ReferenceData
from conformance.formats import FileProblem, open_submission
from conformance.spec import PROFILES, Pack, PackError, RuleSpec, load_pack

Factory = Callable[[Setup], RuleFn]

# File problems that mean the file could not be identified as a DIDS file of the profile's version at all: there
# is nothing to check, so `check` raises CannotCheck (exit 2) instead of reporting findings.
UNCHECKABLE = {"empty-file", "binary-content", "not-dids", "ambiguous", "version-mismatch", "xml-dtd"}
# File problems that the format rules report, by layout; "bom" and a tolerated v1 header row are not findings.
LAYOUT_PROBLEMS = {
    "csv": {"csv-syntax", "column-count", "encoding", "missing-header", "no-records"},
    "xml": {"xml-syntax", "xml-structure", "xml-repeated-element", "xsd", "encoding", "no-records"},
}


class CannotCheck(Exception):
    """The file cannot be checked; the message is the one line a user sees."""


SubmissionRule = Callable[[Setup], "str | None"]


def registry(version: str) -> tuple[dict[str, Factory], dict[str, SubmissionRule]]:
    """The version's record-rule factories and its submission-context rules, by rule id."""
    if version == "v1":
        from conformance.check.rules_v1 import RULES

        return RULES, {}
    from conformance.check.rules_v2 import RULES as RULES_V2
    from conformance.check.rules_v2 import SUBMISSION_RULES

    return RULES_V2, SUBMISSION_RULES


def _unmet_needs(spec: RuleSpec, reference: ReferenceData, context: SubmissionContext) -> str | None:
    """Why a rule cannot run here (reference data or context it needs is absent), or None."""
    reasons = []
    missing = reference.missing(tuple(n for n in spec.needs if n != "period"))
    if missing:
        reasons.append(f"needs reference data: {', '.join(missing)} (pass --reference synthetic or a directory)")
    if "period" in spec.needs and context.period is None:
        reasons.append("needs the reporting period (pass --period YYYY-MM)")
    return "; ".join(reasons) or None


def _file_rule(rules: Sequence[RuleSpec], layout: str) -> RuleSpec | None:
    """The profile's file-level rule for a layout (the catalogue's `layout` field)."""
    return next((r for r in rules if r.kind == "file" and r.layout == layout), None)


def check(
    path: str | Path,
    *,
    profile: str | None = None,
    context: SubmissionContext | None = None,
    reference: ReferenceData | None = None,
    overrides: Sequence[str | Path] = (),
    max_examples: int = 100,
    fail_on_warning: bool = False,
    input_format: str | None = None,
) -> Report:
    """Check one file against a profile (default: the detected version's default profile)."""
    context = context or make_context()
    reference = reference or NO_REFERENCE
    if profile is not None and profile not in PROFILES:
        raise CannotCheck(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    try:
        pack: Pack | None = load_pack(profile, overrides) if profile else None
        submission = open_submission(
            path,
            version=PROFILES.get(profile or ""),
            format=input_format,
            pack=pack,
            overrides=overrides,
            validate_xml=True,
            max_examples=max_examples,
        )
    except PackError as exc:
        raise CannotCheck(str(exc)) from None
    fatal = submission.problems.fatal
    if submission.pack is None or (fatal is not None and fatal.kind in UNCHECKABLE):
        reason = fatal.describe() if fatal else "not a DIDS file"
        raise CannotCheck(f"{path}: cannot be checked: {reason}")
    pack = submission.pack
    profile = profile or pack.default_profile
    specs = pack.rules_for(profile)
    if not specs:  # never report "accepted" for a profile that checks nothing
        raise CannotCheck(f"profile {profile} has no rules in its catalogue yet; nothing would be checked")
    report = Report(
        profile=profile,
        version=pack.version,
        file=str(path),
        format=submission.format,
        context=context.as_dict(),
        rules={r.id: r for r in pack.rules},
        max_examples=max_examples,
        fail_on_warning=fail_on_warning,
    )
    setup = Setup(pack, profile, context, reference)
    factories, submission_rules = registry(pack.version)

    record_rules: list[tuple[RuleSpec, RuleFn]] = []
    cross_rules: list[RuleSpec] = []
    for spec in specs:
        if spec.kind == "file":
            continue
        unmet = _unmet_needs(spec, reference, context)
        if unmet:
            report.not_evaluated.append(NotEvaluated(spec.id, unmet))
            continue
        if spec.kind == "cross-record":
            cross_rules.append(spec)
            continue
        if spec.kind == "submission":
            if spec.id not in submission_rules:
                raise CannotCheck(f"rule {spec.id} is in the {pack.version} catalogue but has no implementation")
            detail = submission_rules[spec.id](setup)
            if detail is not None:
                report.add(_context_finding(spec, detail))
            continue
        if spec.id not in factories:
            raise CannotCheck(f"rule {spec.id} is in the {pack.version} catalogue but has no implementation")
        record_rules.append((spec, factories[spec.id](setup)))

    uniqueness = [UniqueKey(spec, pack, report) for spec in cross_rules]
    for record in submission.records():
        row = Row(record.number, record.line, record.values, record.path)
        report.records += 1
        for spec, fn in record_rules:
            hit = fn(row)
            if hit is not None:
                report.add(_finding(spec, hit, row))
        for unique in uniqueness:
            unique.see(row)

    layout_rule = _file_rule(specs, submission.format or "csv")
    interesting = LAYOUT_PROBLEMS.get(submission.format or "csv", set())
    for kind, count in submission.problems.counts.items():
        if kind not in interesting:
            continue
        examples = [p for p in submission.problems if p.kind == kind]
        for problem in examples:
            report.add(_file_finding(layout_rule, problem, pack))
        if layout_rule is not None:  # every problem is counted, even those the reader kept no example of
            report.counts[layout_rule.id] += count - len(examples)
    report.file_problems = [
        {"kind": p.kind, "line": p.line, "message": p.message, "fatal": p.fatal} for p in submission.problems
    ]
    report.findings.sort(key=lambda f: (f.record is not None, f.record or 0, f.line or 0, f.rule))
    return report


def _finding(spec: RuleSpec, hit: Hit, row: Row) -> Finding:
    message = spec.message if hit.detail is None else f"{spec.message} ({hit.detail})"
    return Finding(
        spec.id, spec.code, spec.official, spec.severity, row.number, hit.field, row.line, hit.value, message, row.path
    )


def _context_finding(spec: RuleSpec, detail: str) -> Finding:
    return Finding(
        spec.id, spec.code, spec.official, spec.severity, None, None, None, None, f"{spec.message} ({detail})", None
    )


def _file_finding(spec: RuleSpec | None, problem: FileProblem, pack: Pack) -> Finding:
    if spec is None:  # a profile with no layout rule still reports the problem, under a clearly local id
        return Finding(
            "FILE", None, False, "file-reject", None, None, problem.line, None, problem.message, problem.path
        )
    return Finding(
        spec.id,
        spec.code,
        spec.official,
        spec.severity,
        None,
        None,
        problem.line,
        None,
        f"{spec.message}: {problem.message}",
        problem.path,
    )


class UniqueKey:
    """Flags every record whose key (e.g. accession number and site) another record in the file shares. The key
    is the pack's [uniqueness] key (else the rule's items); a record whose first rule item (the accession number)
    is blank is skipped: that is the missing-accession rule's finding, not a duplicate.

    Memory: one entry per distinct key, holding a 64-bit hash and the first record's number and line, not the
    values; a hash collision (about 1 in 10^7 for a million keys) could only add a finding, never hide one.
    """

    def __init__(self, spec: RuleSpec, pack: Pack, report: Report) -> None:
        key_items = pack.extras.get("uniqueness", {}).get("key") or list(spec.items)
        self.positions = [pack.index[i] for i in key_items]
        self.field = spec.items[0]
        self.at = pack.index[self.field]
        self.spec = spec
        self.report = report
        self.first: dict[int, tuple[int, int, str | None, str]] = {}
        self.flagged_first: set[int] = set()

    def see(self, row: Row) -> None:
        value = row.v[self.at]
        if not value:
            return
        key = hash(tuple([row.v[p].upper() for p in self.positions]))
        first = self.first.get(key)
        if first is None:
            self.first[key] = (row.number, row.line, row.path, value)
            return
        if key not in self.flagged_first:
            self.flagged_first.add(key)
            number, line, path, first_value = first
            self._add(number, line, first_value, f"also record {row.number}", path)
        self._add(row.number, row.line, value, f"first at record {first[0]}", row.path)

    def _add(self, number: int, line: int, value: str, detail: str, path: str | None) -> None:
        spec = self.spec
        self.report.add(
            Finding(
                spec.id,
                spec.code,
                spec.official,
                spec.severity,
                number,
                self.field,
                line,
                value,
                f"{spec.message} ({detail})",
                path,
            )
        )
