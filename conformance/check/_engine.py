"""Run a profile's rules over a submission in one streaming pass.

`check()` reads as four steps, each a function below: open the file (or say why it cannot be checked), plan the
rules (which run, which cannot for want of reference data or context, which the submission context breaks), run
the records through them (the hot loop, with the rule groups' caches), and add the file's own problems and the
input ledger.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from hashlib import blake2b
from operator import itemgetter
from pathlib import Path

from conformance import signals
from conformance.calendar import parse_timestamp
from conformance.check._context import SubmissionContext, make_context
from conformance.check._model import Finding, KeyLog, NotEvaluated, PartOutcome, Report
from conformance.check._rows import Hit, Row, RuleFn, Setup, SubmissionRule
from conformance.check._spark import dsp_values
from conformance.check.reference import NO_REFERENCE, ReferenceData, load_local_mappings, load_reference
from conformance.errors import DidsError
from conformance.formats import (
    DEFAULT_MAX_RECORD_BYTES,
    FileProblem,
    Record,
    Span,
    SpanEnd,
    Submission,
    open_submission,
)
from conformance.spec import PROFILES, Pack, PackError, RuleSpec, load_pack

Factory = Callable[[Setup], RuleFn]

# File problems that mean the file could not be identified as a DIDS file of the profile's version at all: there
# is nothing to check, so `check` raises CannotCheck (exit 2) instead of reporting findings.
UNCHECKABLE = {"empty-file", "binary-content", "not-dids", "ambiguous", "version-mismatch", "xml-dtd"}
# File problems that the format rules report, by layout; notes that lose nothing (a BOM, a tolerated v1 header
# row, no final line end) are not findings.
LAYOUT_PROBLEMS = {
    "csv": {
        "csv-syntax",
        "column-count",
        "row-too-long",
        "row-spans-lines",
        "encoding",
        "missing-header",
        "header-columns",
        "control-character",
        "no-records",
    },
    "xml": {"xml-syntax", "xml-structure", "xml-repeated-element", "record-too-large", "xsd", "encoding", "no-records"},
}


# CSV problems on which the DSP's CSV loader (Spark, FAILFAST, 18 columns) rejects the file before any record rule
# runs (dsp/loaders/dids/dids_csv.py): a profile that follows the DSP then reports the file reject alone.
DSP_LOADER_REJECTS = {"csv-syntax", "column-count", "row-spans-lines", "no-records"}


ENGINES = ("auto", "columnar", "record")
DEFAULT_ENGINE = "auto"  # columnar from COLUMNAR_FROM_BYTES up: tests/test_engines.py holds the two equal
# "auto" takes the columnar engine from this size up: below it, loading Polars (~0.25 s) costs more than it saves.
COLUMNAR_FROM_BYTES = 4 * 1024 * 1024


def _columnar_for(engine: str, path: str | Path) -> bool:
    if engine != "auto":
        return engine == "columnar"
    if str(path) == "-":
        return True  # a pipe's size is unknown: it may be a month of a large trust
    try:
        return Path(path).stat().st_size >= COLUMNAR_FROM_BYTES
    except OSError:
        return False


class CannotCheck(DidsError):
    """The file cannot be checked; the message is the one line a user sees."""


def rule_tables(version: str) -> tuple[dict[str, Factory], dict[str, SubmissionRule]]:
    """The version's record-rule factories and its submission-context rules, by rule id."""
    if version == "v1":
        from conformance.check.rules_v1 import RULES_V1

        return RULES_V1, {}
    from conformance.check.rules_v2 import RULES_V2, SUBMISSION_RULES_V2

    return RULES_V2, SUBMISSION_RULES_V2


def _from_case_context(
    values: Mapping[str, str], reference: ReferenceData | None
) -> tuple[SubmissionContext, ReferenceData | None]:
    """A corpus case's context dict (the pytest plugin's `dids_case.context`) as a context and reference data."""
    context = make_context(values.get("submitted"), values.get("period"), values.get("submitter"))
    if reference is None and values.get("reference"):
        reference = load_reference(values["reference"])
        if values.get("local_mappings"):
            reference = replace(reference, local_nicip=load_local_mappings(values["local_mappings"]))
    return context, reference


def check(
    path: str | Path,
    *,
    profile: str | None = None,
    context: SubmissionContext | Mapping[str, str] | None = None,
    reference: ReferenceData | None = None,
    overrides: Sequence[str | Path] = (),
    max_examples: int = 100,
    fail_on_warning: bool = False,
    input_format: str | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    display_name: str | None = None,
    observe: Callable[[Submission], Callable[[Record], None]] | None = None,
    jobs: int = 1,
    part: Span | None = None,
    engine: str | None = None,
) -> Report:
    """Check one file ("-" for standard input) against a profile (default: the detected version's default
    profile). `display_name` is the name reports give the file (default: the path). `observe`, given the
    opened submission once, returns a function that sees every record read (statistics and progress, one pass).
    `context` may be a plain dict as a corpus case gives it (submitted, period, submitter, reference,
    local_mappings): its reference data and mapping table are then loaded unless `reference` is given.

    `jobs` > 1 (0: one per core) checks a large regular CSV file in that many worker processes, with the same
    report as one process (conformance/check/parallel.py says when it stays in one). `part` checks one span of a
    CSV file, as such a worker does: the report then holds the span's record findings, numbered from its start,
    and `report.part` what the whole file's report needs from it.

    `engine`: "record" (one record at a time), "columnar" (batches of rows, check/_columnar.py) or "auto" (columnar
    for a file large enough to repay loading Polars); the reports are the same. Default: $DIDS_ENGINE, else
    DEFAULT_ENGINE."""
    engine = engine or os.environ.get("DIDS_ENGINE") or DEFAULT_ENGINE
    if engine not in ENGINES:
        raise CannotCheck(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    options = Options(
        profile, context, reference, tuple(overrides), max_examples, fail_on_warning, input_format,
        max_record_bytes, display_name, engine,
    )  # fmt: skip
    if jobs != 1 and part is None:
        from conformance.check.parallel import check_parallel

        return check_parallel(path, options, jobs=jobs, observe=observe)
    run = prepare(path, options)
    if part is not None:
        run.submission.read_span(part)
        for unique in run.plan.uniqueness:
            unique.log = KeyLog()  # the keys go to the parent, which meets them in the whole file's order
    seen = observe(run.submission) if observe is not None else None
    if _columnar_for(engine, path):
        _one_allocator_arena()
        from conformance.check._columnar import run_columnar

        run.report.records = run_columnar(
            run.submission, run.plan, run.setup, run.local, run.report, seen, _record_finding
        )
    else:
        run.report.records = _run(run.submission, run.plan, run.local, run.report, seen)
    signals.raise_noted()  # a signal whose exception was swallowed on the way (conformance/signals.py)
    if part is not None:
        keys = {unique.spec.id: unique.log for unique in run.plan.uniqueness if unique.log is not None}
        run.report.part = PartOutcome(run.submission.problems, run.submission.span_end or SpanEnd(), keys)
        return run.report
    conclude(run)
    return run.report


# Polars' allocator (jemalloc) settings for a check, added to those Polars sets (polars/__init__.py appends
# $_RJEM_MALLOC_CONF to its own when it is imported). With one arena for all its threads, the memory one batch frees is
# what the next batch reuses; with one per thread (the default), each thread's freed pages stayed in its arena: a v1-dsp
# check of 1,000,000 records peaked at 229 MiB, not 198 MiB, and at the same speed (tests/benchmarks/bench_check.py).
POLARS_ALLOCATOR = "narenas:1"


def _one_allocator_arena() -> None:
    """Before Polars is imported, unless it is already or the user set the allocator's options."""
    if "polars" not in sys.modules and "_RJEM_MALLOC_CONF" not in os.environ:
        os.environ["_RJEM_MALLOC_CONF"] = POLARS_ALLOCATOR


@dataclass(frozen=True)
class Options:
    """What `check` is asked besides the file and the records' observer, as one value to hand on."""

    profile: str | None = None
    context: SubmissionContext | Mapping[str, str] | None = None
    reference: ReferenceData | None = None
    overrides: tuple[str | Path, ...] = ()
    max_examples: int = 100
    fail_on_warning: bool = False
    input_format: str | None = None
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    display_name: str | None = None
    engine: str | None = None


@dataclass
class Run:
    """A check under way: the opened submission, the report so far (submission rules judged, rules not evaluated
    listed), the plan for the records and the local-code mapping."""

    submission: Submission
    report: Report
    plan: _Plan
    local: LocalCodes | None
    pack: Pack
    profile: str
    setup: Setup


def prepare(path: str | Path, options: Options) -> Run:
    """Open the file (or say why it cannot be checked) and plan the rules."""
    reference = options.reference
    context = options.context
    if isinstance(context, Mapping):
        context, reference = _from_case_context(context, reference)
    context = context or make_context()
    reference = reference or NO_REFERENCE
    profile = options.profile
    submission = _open(
        path, profile, options.overrides, options.input_format, options.max_examples, options.max_record_bytes,
        options.display_name,
    )  # fmt: skip
    assert submission.pack is not None
    pack = submission.pack
    profile = profile or pack.default_profile
    report = Report(
        profile=profile,
        version=pack.version,
        file=options.display_name or submission.name,
        format=submission.format,
        context=_context_with_window(context, pack, profile),
        rules={r.id: r for r in pack.rules},
        max_examples=options.max_examples,
        fail_on_warning=options.fail_on_warning,
        field_names=field_names(pack, submission.format),
        reference=reference.release.as_dict() if reference.release is not None else None,
    )
    setup = Setup(pack, profile, context, reference)
    plan = _plan(setup, report)
    return Run(submission, report, plan, LocalCodes.of(pack, context, reference), pack, profile, setup)


def conclude(run: Run) -> None:
    """After the records: the file's own problems as findings, the DSP's file reject, the input ledger, and the
    findings in file order."""
    report, submission = run.report, run.submission
    # The file as first opened, still: a parallel check's parts each open it again, and a report on a file that
    # changed meanwhile would be a report on no one file (CannotCheck, not a verdict)
    submission.source.check_unchanged()
    _add_file_findings(report, submission, run.pack, run.profile)
    if run.pack.follows(run.profile) == "dsp" and submission.format == "csv":
        rejects = sorted(DSP_LOADER_REJECTS & set(submission.problems.counts))
        if rejects:
            reason = f"the DSP's CSV loader rejects the file ({', '.join(rejects)}) before any record rule runs"
            report.drop_record_findings(reason)
    report.input = replace(submission.ledger(), source=report.file)
    report.findings.sort(key=lambda f: (f.record is not None, f.record or 0, f.line or 0, f.rule))


def _context_with_window(context: SubmissionContext, pack: Pack, profile: str) -> dict[str, str | None]:
    """The submission context as reports show it, with the period's window when there is a period."""
    shown = context.as_dict()
    if context.period is not None and profile in pack.windows:
        window = pack.window(profile, context.period)
        shown["window_opens"] = window.opens.isoformat() if window.opens else None
        shown["window_closes"] = window.closes.isoformat() if window.closes else None
    return shown


def field_names(pack: Pack, layout: str | None) -> dict[str, str]:
    """Item id -> the name a user sees: the CSV column, or the XML element below DIDSRecord (an activity item
    below its ImagingActivity, whose own path each finding carries)."""
    if layout != "xml":
        return {item.id: item.column for item in pack.items}
    names = {}
    for group in pack.xml.groups:
        for item_id in group.items:
            element = pack.item(item_id).xml.element
            names[item_id] = element if group.id == pack.xml.activity_group else f"../{group.element}/{element}"
    return names


def _open(
    path: str | Path,
    profile: str | None,
    overrides: Sequence[str | Path],
    input_format: str | None,
    max_examples: int,
    max_record_bytes: int,
    display_name: str | None,
) -> Submission:
    """The submission, opened for the profile's version; CannotCheck when it is not a DIDS file to check."""
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
    fatal = submission.problems.fatal
    if submission.pack is None or (fatal is not None and fatal.kind in UNCHECKABLE):
        reason = fatal.describe() if fatal else "not a DIDS file"
        raise CannotCheck(f"{display_name or submission.name}: cannot be checked: {reason}")
    chosen = profile or submission.pack.default_profile
    if not submission.pack.rules_for(chosen):
        # never report "accepted" for a profile that checks nothing
        raise CannotCheck(f"profile {profile} has no rules in its catalogue yet; nothing would be checked")
    if submission.pack.follows(chosen) == "dsp":
        submission.read_literally()
    return submission


@dataclass
class _Plan:
    """What runs over the records: record rules (as cached groups) and the uniqueness indexes."""

    groups: list[RuleGroup] = field(default_factory=list)
    # v1-dsp: the position of the NHS number, which the DSP cleanses (see check/_spark.py); None for other profiles
    dsp_nhs_number: int | None = None
    uniqueness: list[UniqueKey] = field(default_factory=list)


def _plan(setup: Setup, report: Report) -> _Plan:
    """Sort the profile's rules: those that cannot run here are listed as not evaluated, submission rules are
    judged now from the context, record rules are grouped for the hot loop, cross-record rules get an index."""
    pack = setup.pack
    factories, submission_rules = rule_tables(pack.version)
    record_rules: list[tuple[RuleSpec, RuleFn]] = []
    plan = _Plan()
    if pack.follows(setup.profile) == "dsp":
        plan.dsp_nhs_number = pack.index["nhs_number"]
    for spec in pack.rules_for(setup.profile):
        if spec.kind == "file":
            continue  # the readers' file problems, added after the pass
        unmet = _unmet_needs(spec, setup)
        if unmet:
            report.not_evaluated.append(NotEvaluated(spec.id, unmet))
            continue
        if spec.kind == "cross-record":
            plan.uniqueness.append(UniqueKey(spec, pack, report, as_dsp=pack.follows(setup.profile) == "dsp"))
            continue
        table = submission_rules if spec.kind == "submission" else factories
        if spec.id not in table:
            raise CannotCheck(f"rule {spec.id} is in the {pack.version} catalogue but has no implementation")
        if spec.kind == "submission":
            detail = submission_rules[spec.id](setup)
            if detail is not None:
                report.add(_finding(spec, message=f"{spec.message} ({detail})"))
            continue
        record_rules.append((spec, factories[spec.id](setup)))
    plan.groups = _group_by_items(record_rules, pack)
    return plan


def _unmet_needs(spec: RuleSpec, setup: Setup) -> str | None:
    """Why a rule cannot run here (reference data or context it needs is absent), or None."""
    reasons = []
    missing = setup.reference.missing(tuple(n for n in spec.needs if n != "period"))
    if missing:
        reasons.append(f"needs reference data: {', '.join(missing)} (pass --reference synthetic or a directory)")
    if "period" in spec.needs and setup.context.period is None:
        reasons.append("needs the reporting period (pass --period YYYY-MM)")
    return "; ".join(reasons) or None


def _run(
    submission: Submission,
    plan: _Plan,
    local: LocalCodes | None,
    report: Report,
    seen: Callable[[Record], None] | None = None,
) -> int:
    """The hot loop: every record through every rule group (answered from its cache when its values repeat) and
    the uniqueness indexes; after a trial, groups are re-planned (see RuleGroup). Returns the records read."""
    groups, uniqueness, add = plan.groups, plan.uniqueness, report.add
    direct: list[tuple[RuleSpec, RuleFn]] = []
    steps = [(group.cache.get, group.key, group.miss) for group in groups]
    count = 0
    dsp_nhs_number = plan.dsp_nhs_number
    for record in submission.records():
        if dsp_nhs_number is None:
            row = Row(record.number, record.line, record.values, record.path)
        else:
            row = Row(record.number, record.line, record.values, record.path, dsp_values(record.values, dsp_nhs_number))
        count += 1
        if seen is not None:
            seen(record)
        if local is not None:
            local.apply(row)
        # The answers are cached by the values as read: what the rules see is made from them, and a finding shows
        # them (under the DSP's cleansing, "-0" and "0" are one NHS number but two values to show; spaces and an
        # empty field, which the DSP tells apart, are two keys)
        values = record.values
        for cached, key, miss in steps:
            found = cached(key(values))
            hits = miss(row) if found is None else found
            for spec, hit in hits:
                add(_record_finding(spec, hit, row))
        for spec, fn in direct:
            one = fn(row)
            if one is not None:
                add(_record_finding(spec, one, row))
        for unique in uniqueness:
            unique.see(row)
        if count == RuleGroup.TRIAL:
            groups, direct = _replan(groups, count)
            steps = [(g.cache.get, g.key, g.miss) for g in groups]
    return count


class LocalCodes:
    """v1 only: a trust's local exam codes, mapped to NICIP before the rules run, as the DSP does (peer case
    00026). The rules see the mapped code; findings show the value the trust submitted, and say it was mapped."""

    ITEM = "imaging_code_nicip"

    def __init__(self, position: int, codes: dict[str, str]) -> None:
        self.position = position
        self.codes = codes

    @classmethod
    def of(cls, pack: Pack, context: SubmissionContext, reference: ReferenceData) -> LocalCodes | None:
        if pack.version != "v1" or not reference.local_nicip or context.submitter is None:
            return None
        codes = {local: nicip for (org, local), nicip in reference.local_nicip.items() if org == context.submitter}
        return cls(pack.index[cls.ITEM], codes) if codes else None

    def apply(self, row: Row) -> None:
        submitted = row.v[self.position]
        mapped = self.codes.get(submitted.upper())
        if mapped is not None:
            row.v[self.position] = mapped
            row.submitted = {self.ITEM: submitted}


def _record_finding(spec: RuleSpec, hit: Hit, row: Row) -> Finding:
    message = spec.message if hit.detail is None else f"{spec.message} ({hit.detail})"
    value = hit.value
    if row.submitted is not None and hit.field in row.submitted:
        value = row.submitted[hit.field]
        message = f"{message} [local code {value} mapped to {hit.value}]"
    return _finding(
        spec, record=row.number, field=hit.field, line=row.line, value=value, message=message, path=row.path
    )


def _finding(
    spec: RuleSpec | None,
    *,
    message: str,
    record: int | None = None,
    field: str | None = None,
    line: int | None = None,
    value: str | None = None,
    path: str | None = None,
) -> Finding:
    """A finding of `spec`, stamped with its id, code and severity; None stands for a profile with no layout
    rule, whose file problems are still reported, under a clearly local id."""
    if spec is None:
        return Finding(
            rule="FILE", code=None, official=False, severity="file-reject", record=record, field=field, line=line,
            value=value, message=message, path=path,
        )  # fmt: skip
    return Finding(
        rule=spec.id, code=spec.code, official=spec.official, severity=spec.severity, record=record, field=field,
        line=line, value=value, message=message, path=path,
    )  # fmt: skip


def _add_file_findings(report: Report, submission: Submission, pack: Pack, profile: str) -> None:
    """The readers' file problems, as findings of the profile's layout rule: every problem counted, examples kept
    as the reader kept them. A problem in one value (a control character) keeps its record and field."""
    layout = submission.format or "csv"
    spec = next((r for r in pack.rules_for(profile) if r.kind == "file" and r.layout == layout), None)
    wanted = LAYOUT_PROBLEMS.get(layout, set())
    for kind, count in submission.problems.counts.items():
        if kind not in wanted:
            continue
        examples = [p for p in submission.problems if p.kind == kind]
        for problem in examples:
            report.add(_file_finding(spec, problem))
        if spec is not None:  # every problem is counted, even those the reader kept no example of
            report.counts[spec.id] += count - len(examples)
    report.file_problems = [
        {"kind": p.kind, "line": p.line, "message": p.message, "fatal": p.fatal} for p in submission.problems
    ]


def _file_finding(spec: RuleSpec | None, problem: FileProblem) -> Finding:
    return _finding(
        spec,
        message=problem.message if spec is None else f"{spec.message}: {problem.message}",
        record=problem.record if problem.field else None,
        field=problem.field,
        line=problem.line,
        path=problem.path,
    )


# --------------------------------------------------------------------------------------------------------------
# Rule groups and their caches
# --------------------------------------------------------------------------------------------------------------

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
        self.cache[self.key(row.raw)] = found
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


def _instant_text(value: str) -> str:
    """A timestamp as the UTC instant it names, so that `Z`, `+00:00` and the BST form of one moment are one key;
    a value that is not a DIDS timestamp stays as written (its format rule reports it)."""
    moment = parse_timestamp(value)
    return value if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# A uniqueness key's text: its values joined with KEY_SEPARATOR, a separator or KEY_ESCAPE inside a value escaped
# by KEY_ESCAPE, so that two keys' texts are the same only when their values are. Joined plainly, ("A", "B\x1fC") and
# ("A\x1fB", "C") were one key (a differential probe of the two engines found it; both agreed).
KEY_SEPARATOR, KEY_ESCAPE = "\x1f", "\x1e"


def key_text(values: Sequence[str]) -> str:
    """The key's values as one text (see KEY_SEPARATOR)."""
    return KEY_SEPARATOR.join(
        value.replace(KEY_ESCAPE, KEY_ESCAPE * 2).replace(KEY_SEPARATOR, KEY_ESCAPE + KEY_SEPARATOR)
        if KEY_SEPARATOR in value or KEY_ESCAPE in value
        else value
        for value in values
    )


def _key_reader(pack: Pack) -> Callable[[list[str]], tuple[str, ...]]:
    """The values of a record's uniqueness key, with the pack's fallbacks and instants applied."""
    unique = pack.uniqueness
    positions = [pack.index[i] for i in unique.key]
    if not unique.fallback and not unique.instants:
        return itemgetter(*positions) if len(positions) > 1 else lambda v: (v[positions[0]],)
    stand_in = {pack.index[item]: pack.index[other] for item, other in unique.fallback}
    instants = {pack.index[i] for i in unique.instants}
    steps = [(p, stand_in.get(p), p in instants) for p in positions]

    def read(v: list[str]) -> tuple[str, ...]:
        out = []
        for position, other, instant in steps:
            value = v[position] or (v[other] if other is not None else "")
            out.append(_instant_text(value) if instant else value)
        return tuple(out)

    return read


class UniqueKey:
    """Flags every record whose key (the pack's [uniqueness] key, e.g. accession number and site) another record
    in the file shares; a record whose first rule item (the accession number) is blank is skipped: that is the
    missing-accession rule's finding, not a duplicate.

    Memory: one dictionary entry per distinct key, a 64-bit digest of the key mapped to one int packing the first
    record's number and line (about 100 bytes a key), never the values: 1,000,000 distinct keys cost ~100 MiB. So
    the first record of a pair is reported with the later record's value (the same key, up to letter case) and no
    XML path (its line locates it). The digest is BLAKE2b of the key's text (the columnar engine's: Polars' hash
    with fixed seeds, check/_columnar.py; one run uses one of them), not Python's salted hash(), so reports are the
    same bytes run after run; a collision (about 1 in 10^7 for a million keys) could only add a finding, never hide
    one.
    """

    def __init__(self, spec: RuleSpec, pack: Pack, report: Report, as_dsp: bool = False) -> None:
        self.key = _key_reader(pack)
        # The DSP partitions by the exact values (letter case counts) and leaves out a record only when a key value
        # is null (an empty field): a value of spaces, trimmed to "", still takes part.
        self.as_dsp = as_dsp
        self.positions = [pack.index[i] for i in pack.uniqueness.key]
        self.field = spec.items[0]
        self.at = pack.index[self.field]
        self.spec = spec
        self.report = report
        # digest -> number << 32 | line of the key's first record; negated once that record has been reported
        self.first: dict[int, int] = {}
        # In one part of a parallel check, the keys seen, for the parent to meet in file order (see check()).
        self.log: KeyLog | None = None

    def digest(self, row: Row) -> int | None:
        """The record's key as a 64-bit digest, or None when the record takes no part."""
        if self.as_dsp:
            if any(not row.raw[p] for p in self.positions):
                return None
            text = key_text(self.key(row.v)).encode("utf-8", "surrogatepass")
        elif not row.v[self.at]:
            return None
        else:
            text = key_text(self.key(row.v)).upper().encode("utf-8", "surrogatepass")
        return int.from_bytes(blake2b(text, digest_size=8).digest(), "little")

    def see(self, row: Row) -> None:
        key = self.digest(row)
        if key is None:
            return
        if self.log is not None:
            self.log.add(key, row.number, row.line, row.v[self.at])
        else:
            self.meet(key, row.number, row.line, row.v[self.at], row.path)

    def see_digests(
        self,
        numbers: Sequence[int],
        lines: Sequence[int],
        digests: Sequence[int],
        values: Sequence[str],
        paths: Sequence[str | None] | None,
    ) -> None:
        """`see` for a batch of records that take part, in file order, each key given as its digest (the columnar
        engine hashes a batch's keys in Polars, check/_columnar.py): the loop kept tight, as it runs once a
        record."""
        first, log = self.first, self.log
        if log is not None:
            for number, line, digest, value in zip(numbers, lines, digests, values, strict=True):
                log.add(digest, number, line, value)
            return
        for j, (number, line, digest) in enumerate(zip(numbers, lines, digests, strict=True)):
            if digest in first:
                self.meet(digest, number, line, values[j], None if paths is None else paths[j])
            else:
                first[digest] = number << 32 | line

    def meet(self, key: int, number: int, line: int, value: str, path: str | None) -> None:
        """A record with this key digest, in file order: the first is remembered, a later one reported with it."""
        first = self.first.get(key)
        if first is None:
            self.first[key] = number << 32 | line
            return
        if first >= 0:
            self.first[key] = -first
            self._add(first >> 32, first & 0xFFFFFFFF, value, f"also record {number}", None)
        self._add(number, line, value, f"first at record {abs(first) >> 32}", path)

    def _add(self, number: int, line: int, value: str, detail: str, path: str | None) -> None:
        message = f"{self.spec.message} ({detail})"
        finding = _finding(
            self.spec, record=number, field=self.field, line=line, value=value, message=message, path=path
        )
        self.report.add(finding)
