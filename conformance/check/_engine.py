"""Run a profile's rules over a submission in one streaming pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from hashlib import blake2b
from operator import itemgetter
from pathlib import Path

from conformance.check._context import SubmissionContext, make_context
from conformance.check._model import Finding, NotEvaluated, Report
from conformance.check._rows import Hit, Row, RuleFn, Setup, SubmissionRule
from conformance.check.reference import NO_REFERENCE, ReferenceData
from conformance.errors import DidsError
from conformance.formats import DEFAULT_MAX_RECORD_BYTES, FileProblem, open_submission
from conformance.spec import PROFILES, Pack, PackError, RuleSpec, load_pack

Factory = Callable[[Setup], RuleFn]

# File problems that mean the file could not be identified as a DIDS file of the profile's version at all: there
# is nothing to check, so `check` raises CannotCheck (exit 2) instead of reporting findings.
UNCHECKABLE = {"empty-file", "binary-content", "not-dids", "ambiguous", "version-mismatch", "xml-dtd"}
# File problems that the format rules report, by layout; "bom" and a tolerated v1 header row are not findings.
LAYOUT_PROBLEMS = {
    "csv": {
        "csv-syntax",
        "column-count",
        "row-too-long",
        "encoding",
        "missing-header",
        "header-columns",
        "control-character",
        "no-records",
    },
    "xml": {"xml-syntax", "xml-structure", "xml-repeated-element", "record-too-large", "xsd", "encoding", "no-records"},
}


class CannotCheck(DidsError):
    """The file cannot be checked; the message is the one line a user sees."""


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
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    display_name: str | None = None,
) -> Report:
    """Check one file ("-" for standard input) against a profile (default: the detected version's default
    profile). `display_name` is the name reports give the file (default: the path)."""
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
            max_record_bytes=max_record_bytes,
        )
    except PackError as exc:
        raise CannotCheck(str(exc)) from None
    name = display_name or submission.name
    fatal = submission.problems.fatal
    if submission.pack is None or (fatal is not None and fatal.kind in UNCHECKABLE):
        reason = fatal.describe() if fatal else "not a DIDS file"
        raise CannotCheck(f"{name}: cannot be checked: {reason}")
    pack = submission.pack
    profile = profile or pack.default_profile
    specs = pack.rules_for(profile)
    if not specs:  # never report "accepted" for a profile that checks nothing
        raise CannotCheck(f"profile {profile} has no rules in its catalogue yet; nothing would be checked")
    report = Report(
        profile=profile,
        version=pack.version,
        file=name,
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

    groups = _group_by_items(record_rules, pack)
    uniqueness = [UniqueKey(spec, pack, report) for spec in cross_rules]
    add = report.add
    # The hot loop. Each group is looked up in its cache by its values and evaluated only on a miss; once the
    # trial is over, groups that stopped caching run their rules directly, without the look-up.
    plan = [(group.cache.get, group.key, group.miss) for group in groups]
    direct: list[tuple[RuleSpec, RuleFn]] = []
    count = 0
    local = _local_codes(pack, context, reference)
    for record in submission.records():
        row = Row(record.number, record.line, record.values, record.path)
        values = row.v
        count += 1
        if local is not None:
            position, codes = local
            mapped = codes.get(values[position].upper())
            if mapped is not None:  # the DSP maps a trust's local exam code before it validates (peer case 00026)
                values[position] = mapped
        for cached, key, miss in plan:
            hits = cached(key(values))
            if hits is None:
                hits = miss(row)
            if hits:
                for spec, hit in hits:
                    add(_finding(spec, hit, row))
        for spec, fn in direct:
            one = fn(row)
            if one is not None:
                add(_finding(spec, one, row))
        for unique in uniqueness:
            unique.see(row)
        if count == RuleGroup.TRIAL:
            groups, direct = _replan(groups, count)
            plan = [(g.cache.get, g.key, g.miss) for g in groups]
    report.records = count

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
    report.input = replace(submission.ledger(), source=name)
    report.findings.sort(key=lambda f: (f.record is not None, f.record or 0, f.line or 0, f.rule))
    return report


def _local_codes(pack: Pack, context: SubmissionContext, reference: ReferenceData) -> tuple[int, dict[str, str]] | None:
    """v1 only: the submitter's local exam codes, when a mapping table and the submitter are both given."""
    if pack.version != "v1" or not reference.local_nicip or context.submitter is None:
        return None
    codes = {local: nicip for (org, local), nicip in reference.local_nicip.items() if org == context.submitter}
    return (pack.index["imaging_code_nicip"], codes) if codes else None


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
    # A problem in one value (a control character) keeps its record and field, so the submitter can find it.
    if spec is None:  # a profile with no layout rule still reports the problem, under a clearly local id
        return Finding(
            "FILE",
            None,
            False,
            "file-reject",
            problem.record if problem.field else None,
            problem.field,
            problem.line,
            None,
            problem.message,
            problem.path,
        )
    return Finding(
        spec.id,
        spec.code,
        spec.official,
        spec.severity,
        problem.record if problem.field else None,
        problem.field,
        problem.line,
        None,
        f"{spec.message}: {problem.message}",
        problem.path,
    )


Hits = tuple[tuple[RuleSpec, Hit], ...]
NO_HITS: Hits = ()


class RuleGroup:
    """Rules that read the same data items, run together, with their results cached by those items' values.

    Values repeat a great deal in a month of imaging (codes, dates, sites, referrers), so most records are answered
    by one dictionary look-up per group. This is sound because a rule reads only the items its catalogue entry
    names (tests/test_rule_items.py holds every rule to that). A group whose values hardly repeat (an accession
    number, an NHS number) runs without a cache after a trial, and every cache is cleared when it grows past a bound, so
    memory stays flat.
    """

    TRIAL = 8192  # records before judging whether caching pays: it stops unless hits outnumber misses
    MAX_ENTRIES = 32768
    FUSE_LIMIT = 4096  # most distinct keys (estimated) a fused group may have

    __slots__ = ("cache", "key", "misses", "positions", "rules")

    def __init__(self, positions: tuple[int, ...], rules: list[tuple[RuleSpec, RuleFn]]) -> None:
        self.rules = rules
        self.positions = positions
        self.key = itemgetter(*positions)
        self.cache: dict[object, Hits] = {}
        self.misses = 0

    def evaluate(self, row: Row) -> Hits:
        found = NO_HITS
        for spec, fn in self.rules:
            hit = fn(row)
            if hit is not None:
                found = (*found, (spec, hit))
        return found

    def miss(self, row: Row) -> Hits:
        """Evaluate on a cache miss and keep the answer (up to MAX_ENTRIES, then start again)."""
        found = self.evaluate(row)
        self.misses += 1
        if len(self.cache) >= self.MAX_ENTRIES:
            self.cache.clear()
        self.cache[self.key(row.v)] = found
        return found


def _replan(groups: list[RuleGroup], records: int) -> tuple[list[RuleGroup], list[tuple[RuleSpec, RuleFn]]]:
    """After the trial: groups whose values hardly repeated (misses >= half the records) run their rules directly;
    a caching group whose items are a subset of another caching group's joins it, since the bigger key already
    fixes the smaller one's values (one look-up instead of two, no more distinct keys)."""
    direct = [rule for g in groups if g.misses * 2 >= records for rule in g.rules]
    kept: list[RuleGroup] = []
    for group in sorted((g for g in groups if g.misses * 2 < records), key=lambda g: -len(g.positions)):
        host = next((k for k in kept if set(group.positions) <= set(k.positions)), None)
        if host is None:
            kept.append(group)
        else:
            host.rules.extend(group.rules)
    # Then fuse groups of few distinct values (status, gender, source setting, site...) into one key while the
    # product of their distinct counts in the trial stays small: one look-up answers them all.
    fused: list[RuleGroup] = []
    bucket: list[RuleGroup] = []
    product = 1
    for group in sorted(kept, key=lambda g: g.misses):
        distinct = max(group.misses, 1)
        if bucket and product * distinct > RuleGroup.FUSE_LIMIT:
            fused.append(_fuse(bucket))
            bucket, product = [], 1
        bucket.append(group)
        product *= distinct
    if bucket:
        fused.append(_fuse(bucket))
    return fused, direct


def _fuse(groups: list[RuleGroup]) -> RuleGroup:
    """One group for several: the union of their items, all their rules, and a fresh cache (old answers lack
    the rules joined to them)."""
    positions = tuple(sorted({p for g in groups for p in g.positions}))
    return RuleGroup(positions, [rule for g in groups for rule in g.rules])


def _group_by_items(record_rules: list[tuple[RuleSpec, RuleFn]], pack: Pack) -> list[RuleGroup]:
    by_items: dict[tuple[int, ...], list[tuple[RuleSpec, RuleFn]]] = {}
    for spec, fn in record_rules:
        positions = tuple(sorted({pack.index[i] for i in spec.items}))
        by_items.setdefault(positions, []).append((spec, fn))
    return [RuleGroup(positions, rules) for positions, rules in by_items.items()]


class UniqueKey:
    """Flags every record whose key (e.g. accession number and site) another record in the file shares. The key
    is the pack's [uniqueness] key (else the rule's items); a record whose first rule item (the accession number)
    is blank is skipped: that is the missing-accession rule's finding, not a duplicate.

    Memory: one dictionary entry per distinct key, a 64-bit digest of the key mapped to one int packing the first
    record's number and line (about 100 bytes a key), never the values: 1,000,000 distinct keys cost ~100 MiB. So
    the first record of a pair is reported with the later record's value (the same key, up to letter case) and no
    XML path (its line locates it). The digest is BLAKE2b, not Python's salted hash(), so reports are the same
    bytes run after run; a collision (about 1 in 10^7 for a million keys) could only add a finding, never hide one.
    """

    def __init__(self, spec: RuleSpec, pack: Pack, report: Report) -> None:
        key_items = pack.extras.get("uniqueness", {}).get("key") or list(spec.items)
        positions = [pack.index[i] for i in key_items]
        self.key: Callable[[list[str]], tuple[str, ...]] = (
            itemgetter(*positions) if len(positions) > 1 else lambda v: (v[positions[0]],)
        )
        self.field = spec.items[0]
        self.at = pack.index[self.field]
        self.spec = spec
        self.report = report
        # digest -> number << 32 | line of the key's first record; negated once that record has been reported
        self.first: dict[int, int] = {}

    def see(self, row: Row) -> None:
        value = row.v[self.at]
        if not value:
            return
        text = "\x1f".join(self.key(row.v)).upper().encode("utf-8", "surrogatepass")
        key = int.from_bytes(blake2b(text, digest_size=8).digest(), "little")
        first = self.first.get(key)
        if first is None:
            self.first[key] = row.number << 32 | row.line
            return
        if first >= 0:
            self.first[key] = -first
            self._add(first >> 32, first & 0xFFFFFFFF, value, f"also record {row.number}", None)
        number = abs(first) >> 32
        self._add(row.number, row.line, value, f"first at record {number}", row.path)

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
