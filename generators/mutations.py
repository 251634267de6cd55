"""Mutation operators: for every rule of every profile, a way to turn a generated file into one that breaks it,
and the answer key that says exactly which findings a conforming checker must then report.

How a record is broken. The breaking changes are those in generators/breaks.py, proven on the canonical
record by the checker's own tests. To apply one to a generated record, the target record takes the change and,
when the change touches a date, the whole of the canonical record's timeline (birth, request, receipt, procedure,
report), moved from the canonical base period to the file's period by whole months; dates before 2000 (birth
dates and the floors rules test) stay as they are. Timestamps keep their wall-clock time and take the offset in
force on their new day (or, when the change states a wrong offset on purpose, the one not in force). So the
relations the tests proved hold in the mutant, and every item the key does not list is the generated value.

Other kinds: a duplicate (the next record becomes a copy of the target: both are reported), a CSV record with a
value missing, an XML record with an element the schema does not allow, and for v2 the submission itself
(submitted before the window opens, after it closes, or for a period before v2.0).

Every answer key lists, per mutation: the rule, the record, the field, each changed item before and after, and
the other rules the change also breaks; then every finding expected, as (rule, record, field). Where the XSD
rejects a mutant value in XML (a code longer than the schema allows), the key adds the XML structure rule: the
schema is published data, so that expectation is computed with lxml from the XSD, not by our checker.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from lxml import etree

from conformance.calendar import LONDON, add_months, month_end, months_between, offset_text
from conformance.errors import DidsError
from conformance.formats import XmlRecords, xml_schema
from conformance.spec import PROFILES, Pack, load_pack
from generators.breaks import V1_ALSO, V1_BASE, V1_BREAKS, V2_BASE, V2_BREAKS
from generators.service import Block

BASES = {"v1": V1_BASE, "v2": V2_BASE}
BASE_PERIODS = {"v1": date(2018, 8, 1), "v2": date(2026, 5, 1)}
# Items whose values are moments in a record's timeline: a change to one brings the canonical timeline with it.
TIMELINES = {
    "v1": ("person_birth_date", "request_date", "request_received_date", "test_date", "report_issue_date"),
    "v2": (
        "person_birth_date",
        "request_date",
        "request_time",
        "request_received_date",
        "request_received_time",
        "activity_category",
        "waiting_list_clock_start_date",
        "procedure_start_timestamp",
        "procedure_end_timestamp",
        "report_issue_timestamp",
    ),
}
# Rules broken by a mutation only through codes the synthetic reference retires on a fixed date (inside the
# 183-day grace of the base period's test date): the months for which the mutant still means what it says.
FIXED_PERIODS = {"DIDS077": ("2018-04", "2018-09"), "DIDS078": ("2018-07", "2018-12")}
# Rules about fixed dates (activity before v2.0 began on 1 April 2026): their values are never moved.
ABSOLUTE = {"V2P-BEFORE-V2"}
SENTINEL = "@@DIDS-MUTANT@@"  # marks the record a text-level mutation (layout, structure) is applied to
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})([+-]\d{2}:\d{2})")


class RowSource(Protocol):
    """The generated rows, before mutation: some by record number, or all in order."""

    def rows(self, numbers: Iterable[int]) -> dict[int, list[str]]: ...

    def each(self) -> Iterator[list[str]]: ...


class MutationError(DidsError):
    """A mutation that cannot be made for this profile, format, period or file size: say why."""


def submission_break_period(rule: str, pack: Pack) -> date:
    """The month to generate a file for when breaking submission rule `rule`: the base period, or for the rule
    about periods before v2.0, the month before v2.0 began."""
    if rule == "V2P-PERIOD-BEFORE-V2" and pack.activity_from is not None:
        return add_months(pack.activity_from, -1)
    return BASE_PERIODS[pack.version]


def submission_context(version: str, period: date) -> dict[str, str]:
    """The check context a generated month is meant for: submitted at 09:00 on the 10th of the next month."""
    after = add_months(period.replace(day=1), 1)
    context = {"submitted": f"{after.replace(day=10).isoformat()}T09:00"}
    if version == "v2":
        context["period"] = f"{period:%Y-%m}"
    return context


# ----- the operators ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    rule: str
    kind: str  # record | duplicate | layout | structure | submission
    item: str | None  # the item the finding points at (None for file and submission findings)
    changes: dict[str, str] = field(default_factory=dict)
    also: frozenset[str] = frozenset()
    formats: tuple[str, ...] = ("csv", "xml")


def _record_operators(version: str) -> dict[str, Operator]:
    out = {}
    if version == "v1":
        for rule, (changes, item) in V1_BREAKS.items():
            out[rule] = Operator(rule, "record", item, dict(changes), frozenset(V1_ALSO.get(rule, ())))
    else:
        for rule, (changes, item, also) in V2_BREAKS.items():
            out[rule] = Operator(rule, "record", item, dict(changes), frozenset(also))
    return out


# How a rule that is not a record rule is broken, by the catalogue's kind (and a file rule's layout).
_NON_RECORD = {"cross-record": "duplicate", "submission": "submission"}
_FILE = {"csv": "layout", "xml": "structure"}


def operators(version: str) -> dict[str, Operator]:
    """Every operator of a version, by rule id: the break tables' record changes, and for every other rule of
    the catalogue the kind of change its kind calls for."""
    ops = _record_operators(version)
    for spec in load_pack(version).rules:
        if spec.kind == "file":
            assert spec.layout is not None
            ops[spec.id] = Operator(spec.id, _FILE[spec.layout], None, formats=(spec.layout,))
        elif spec.kind in _NON_RECORD:
            item = spec.items[0] if spec.kind == "cross-record" else None
            ops[spec.id] = Operator(spec.id, _NON_RECORD[spec.kind], item)
    return ops


def _structure_rule(pack: Pack, layout: str) -> str:
    return next(r.id for r in pack.rules if r.kind == "file" and r.layout == layout)


# ----- moving the canonical timeline to another period ---------------------------------------------------------


def _shift_day(day: date, months: int) -> date:
    """`day` moved by whole months; the last day of a month stays the last day, other days are clamped."""
    last = day.day == calendar.monthrange(day.year, day.month)[1]
    first = add_months(day.replace(day=1), months)
    end = month_end(first)
    return end if last else first.replace(day=min(day.day, end.day))


def _offset_text(moment: datetime) -> str:
    offset = moment.utcoffset()
    assert offset is not None
    return offset_text(int(offset.total_seconds()))


def shift_value(value: str, months: int) -> str:
    """A date or timestamp moved by whole months (dates before 2000 and other values unchanged)."""
    if months == 0:
        return value
    if _ISO_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:  # a deliberately impossible date (2018-08-32) breaks a format rule as it is
            return value
        return _shift_day(day, months).isoformat() if day.year >= 2000 else value
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return value
    day_text, clock, stated = match.groups()
    try:
        day = date.fromisoformat(day_text)
        datetime.fromisoformat(f"{day_text}T{clock}")
    except ValueError:
        return value
    if day.year < 2000:
        return value
    old_wall = datetime.fromisoformat(f"{day_text}T{clock}").replace(tzinfo=LONDON)
    in_force = stated in (_offset_text(old_wall), _offset_text(old_wall.replace(fold=1)))
    new_day = _shift_day(day, months)
    new_wall = datetime.fromisoformat(f"{new_day.isoformat()}T{clock}").replace(tzinfo=LONDON)
    if in_force:
        offset = _offset_text(new_wall)
    elif stated in ("+00:00", "+01:00"):  # a wrong UK offset on purpose: keep it wrong
        offset = "+00:00" if _offset_text(new_wall) == "+01:00" else "+01:00"
    else:
        offset = stated  # not a UK offset at all (+02:00): as it was
    return f"{new_day.isoformat()}T{clock}{offset}"


# ----- planning: targets, mutant rows and the answer key -------------------------------------------------------


@dataclass
class Planned:
    operator: Operator
    record: int  # 1-based; for a duplicate, the record copied (the copy is record + 1)
    changes: list[dict[str, str]] = field(default_factory=list)  # [{"field", "before", "after"}]
    expected: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    also: list[str] = field(default_factory=list)


@dataclass
class MutationPlan:
    """The rows to substitute, by record number, and the text-level edits: a BlockEdit for the generator."""

    replacements: dict[int, list[str]] = field(default_factory=dict)
    text_edits: dict[int, str] = field(default_factory=dict)  # record -> "layout" | "structure"
    originals: dict[int, str] = field(default_factory=dict)  # record -> accession hidden behind the sentinel
    planned: list[Planned] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)

    def apply(self, block: Block, rows: list[list[str]], pack: Pack) -> list[list[str]]:
        first, last = block.first_record, block.first_record + len(rows) - 1
        for number, row in self.replacements.items():
            if first <= number <= last:
                rows[number - first] = list(row)
        return rows

    def apply_text(self, block: Block, text: str, format: str) -> str:
        targets = [n for n in self.text_edits if block.first_record <= n < block.first_record + block.records]
        for number in targets:
            original = self.originals[number]
            if format == "csv":  # the accession is the last column: drop it with its separator
                text = re.sub(f"[,|]{re.escape(SENTINEL)}(?=\r?\n)", "", text, count=1)
            else:  # an element no DIDS schema allows, right after the record's accession number
                lines = text.split("\n")
                at = next(i for i, line in enumerate(lines) if SENTINEL in line)
                indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
                lines[at] = lines[at].replace(SENTINEL, original)
                lines.insert(at + 1, f"{indent}<NotADidsElement>1</NotADidsElement>")
                text = "\n".join(lines)
        return text


def plan_mutations(
    rules: Sequence[str],
    *,
    profile: str,
    format: str,
    period: date,
    records: int,
    source: RowSource,
) -> MutationPlan:
    """Choose a target record for each rule and work out its mutant and expected findings.

    `source` gives the generated (unmutated) rows: the planner reads only its targets. Targets are spread evenly
    through the file, one per rule, so mutants never meet.
    """
    version = PROFILES[profile]
    pack = load_pack(version)
    ops = operators(version)
    in_profile = {r.id for r in pack.rules_for(profile)}
    plan = MutationPlan(context=submission_context(version, period))
    wanted = list(dict.fromkeys(rules))
    for rule in wanted:
        if rule not in in_profile:
            raise MutationError(f"{rule} is not a rule of profile {profile}")
        op = ops.get(rule)
        if op is None:
            raise MutationError(f"no mutation operator for {rule}")
        if format not in op.formats:
            raise MutationError(f"{rule} is about {'/'.join(op.formats)} files; it cannot be broken in {format}")
        window = FIXED_PERIODS.get(rule)
        if window and not window[0] <= f"{period:%Y-%m}" <= window[1]:
            raise MutationError(
                f"{rule} needs a period from {window[0]} to {window[1]}: the synthetic reference retires its code on a "
                "fixed date"
            )
    submission = [r for r in wanted if ops[r].kind == "submission"]
    if len(submission) > 1 or (submission and len(wanted) > 1):
        raise MutationError("a submission mutation changes the check context: make it alone")
    if submission:
        return _plan_submission(ops[submission[0]], plan, period, records, source, pack)
    slots = 2 * len(wanted)  # a duplicate needs its target and the next record
    if records < slots:
        raise MutationError(f"{len(wanted)} mutation(s) need at least {slots} records; the file has {records}")
    targets = [1 + (2 * k * records) // slots for k in range(len(wanted))]
    originals = source.rows({t for t in targets} | {t + 1 for t in targets})
    structure = _structure_rule(pack, format)
    months = months_between(period, BASE_PERIODS[version])
    for rule, target in zip(wanted, targets, strict=True):
        op = ops[rule]
        row = originals[target]
        planned = Planned(op, target)
        if op.kind == "duplicate":
            plan.replacements[target + 1] = list(row)
            planned.changes = _diff(pack, originals[target + 1], row)
            planned.expected = [(rule, target, op.item), (rule, target + 1, op.item)]
        elif op.kind in ("layout", "structure"):
            mutant = list(row)
            accession = pack.index["accession_number"]
            plan.originals[target] = row[accession]
            mutant[accession] = SENTINEL
            plan.replacements[target] = mutant
            plan.text_edits[target] = op.kind
            what = "dropped the last value" if op.kind == "layout" else "added <NotADidsElement>"
            planned.changes = [{"field": "(record)", "before": "", "after": what}]
            planned.expected = [(rule, None, None)]
        else:
            mutant = mutant_row(version, pack, row, op, 0 if rule in ABSOLUTE else months)
            plan.replacements[target] = mutant
            planned.changes = _diff(pack, row, mutant)
            planned.also = sorted(op.also & in_profile)
            planned.expected = [(rule, target, op.item)]
            planned.expected += [(a, target, _points_at(pack, a)) for a in planned.also]
            if format == "xml" and not _schema_accepts(pack, mutant):
                planned.also.append(structure)
                planned.expected.append((structure, None, None))
        plan.planned.append(planned)
    return plan


def _points_at(pack: Pack, rule: str) -> str | None:
    """The item a rule's finding points at: the first its catalogue entry reads."""
    items = pack.rule(rule).items
    return items[0] if items else None


def mutant_row(version: str, pack: Pack, row: list[str], op: Operator, months: int) -> list[str]:
    mutant = list(row)
    base = BASES[version]
    touched = set(op.changes)
    if touched & set(TIMELINES[version]):
        for item in TIMELINES[version]:
            mutant[pack.index[item]] = shift_value(base[item], months)
    for item, value in op.changes.items():
        mutant[pack.index[item]] = shift_value(value, months) if item in TIMELINES[version] else value
    return mutant


def _diff(pack: Pack, before: Sequence[str], after: Sequence[str]) -> list[dict[str, str]]:
    return [
        {"field": item.id, "before": before[i], "after": after[i]}
        for i, item in enumerate(pack.items)
        if before[i] != after[i]
    ]


def _schema_accepts(pack: Pack, row: list[str]) -> bool:
    """Does the published (v1) or reconstructed (v2) XSD accept this one record? lxml against the schema."""
    import io

    writer = XmlRecords(pack)
    buffer = io.StringIO()
    buffer.write(writer.head())
    writer.write([row], buffer)
    buffer.write(writer.tail())
    document = etree.fromstring(buffer.getvalue().encode("utf-8"), etree.XMLParser(resolve_entities=False))
    return bool(xml_schema(pack).validate(document))


def _plan_submission(
    op: Operator, plan: MutationPlan, period: date, records: int, source: RowSource, pack: Pack
) -> MutationPlan:
    """The file is unchanged; the key's check context is what breaks the rule."""
    planned = Planned(op, 0, expected=[(op.rule, None, None)])
    context = dict(plan.context)
    if op.rule == "V2P-WINDOW-CLOSED":
        close = pack.window("v2", period).closes
        assert close is not None  # v2 periods from April 2026 all have a window
        context["submitted"] = f"{(close + timedelta(days=1)).isoformat()}T09:00"
    elif op.rule == "V2P-WINDOW-NOT-OPEN":
        # On the period's last day, after the day's activity but before its late reports: those reports are
        # after the submission too (V2P-AFTER-SUBMISSION), and the key lists each one.
        context["submitted"] = f"{month_end(period).isoformat()}T23:59"
        submitted = datetime.fromisoformat(context["submitted"]).replace(tzinfo=LONDON)
        for number, row in enumerate(source.each(), 1):
            item = _first_after(pack, row, submitted)
            if item is not None:
                planned.expected.append(("V2P-AFTER-SUBMISSION", number, item))
        planned.also = ["V2P-AFTER-SUBMISSION"] if len(planned.expected) > 1 else []
    elif op.rule == "V2P-PERIOD-BEFORE-V2":
        first = pack.activity_from
        if first is None or period >= first:
            raise MutationError(f"V2P-PERIOD-BEFORE-V2 needs a file generated for a period before {first:%Y-%m}")
        # Every record of a pre-v2 month is before v2.0 too (one finding per record, on its start).
        planned.expected += [("V2P-BEFORE-V2", n, "procedure_start_timestamp") for n in range(1, records + 1)]
        planned.also = ["V2P-BEFORE-V2"]
    planned.changes = [{"field": "(check context)", "before": plan.context["submitted"], "after": context["submitted"]}]
    plan.context = context
    plan.planned.append(planned)
    return plan


def _first_after(pack: Pack, row: Sequence[str], submitted: datetime) -> str | None:
    for item in ("procedure_start_timestamp", "procedure_end_timestamp", "report_issue_timestamp"):
        value = row[pack.index[item]]
        if value and datetime.fromisoformat(value) > submitted:
            return item
    return None


def answer_key(
    plan: MutationPlan,
    *,
    profile: str,
    format: str,
    records: int,
    seed: int,
    period: date,
    scenarios: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The JSON answer key of a generated file."""
    version = PROFILES[profile]
    pack = load_pack(version)
    expected = sorted(
        {e for p in plan.planned for e in p.expected} | {e for s in scenarios for e in s.get("expected", [])},
        key=lambda e: (e[1] is not None, e[1] or 0, e[0], e[2] or ""),
    )
    if pack.follows(profile) == "dsp" and format == "csv" and any(p.operator.kind == "layout" for p in plan.planned):
        # The DSP's CSV loader rejects a file with a malformed row before any record rule runs: the file reject
        # is all it reports (check/_engine.py DSP_LOADER_REJECTS).
        expected = [e for e in expected if pack.rule(e[0]).kind == "file"]
    return {
        "schema": "dids-answer-key/1.0",
        "profile": profile,
        "version": version,
        "format": format,
        "records": records,
        "seed": seed,
        "period": f"{period:%Y-%m}",
        "check_with": {**plan.context, "profile": profile, "reference": "synthetic"},
        "mutations": [
            {
                "rule": p.operator.rule,
                "official": pack.rule(p.operator.rule).official,
                "kind": p.operator.kind,
                "record": p.record or None,
                "field": p.operator.item,
                "changes": p.changes,
                "also_breaks": p.also,
            }
            for p in plan.planned
        ],
        "scenarios": [{k: v for k, v in s.items() if k != "expected"} for s in scenarios],
        "expected_findings": [{"rule": r, "record": n, "field": f} for r, n, f in expected],
    }


def every_mutable_rule(profile: str, format: str, period: date) -> list[str]:
    """Every rule of the profile that one file of this format and period can break, record rules and file rules
    together (submission rules change the check context, so each needs a file of its own)."""
    version = PROFILES[profile]
    ops = operators(version)
    month = f"{period:%Y-%m}"
    return [
        r.id
        for r in load_pack(version).rules_for(profile)
        if r.id in ops
        and format in ops[r.id].formats
        and ops[r.id].kind != "submission"
        and (r.id not in FIXED_PERIODS or FIXED_PERIODS[r.id][0] <= month <= FIXED_PERIODS[r.id][1])
    ]
