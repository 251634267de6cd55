"""Upgrade a DIDS v1 file to v2.0, one record at a time: read v1 leniently, write v2 strictly, account for
every item of every record.

How each v2 item is filled is data: the v2 pack's [upgrade] section (each decision labelled verified / inferred /
assumed, overridable). The per-item outcomes, counted for the summary and optionally written per record:

  copied        the v1 value, unchanged
  normalised    the v1 value in a lenient form made strict (an NHS number with spaces, a date as 14/05/2026)
  recoded       through the pack's recode table (PERSON GENDER CODE 0 -> PERSON STATED GENDER CODE X)
  synthesised   a timestamp built from a v1 date and the time policy (the time is not v1's)
  local-mapped  a local exam code replaced by its NICIP code from the trust's table
  unmapped      a code that is neither in the trust's table nor in the NICIP reference: passed as sent, flagged
  dropped       a v1 value that cannot be written in v2 (a date that is no date): left empty, value listed
  empty         blank in v1, blank in v2
  not-in-v1     v1 has no such item: left empty (never invented)
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from conformance.calendar import LONDON, offset_text
from conformance.check import Report, check, load_reference, make_context
from conformance.check.reference import ReferenceData, load_local_mappings
from conformance.errors import DidsError
from conformance.files import OutputSet, refuse_overlap
from conformance.formats import Ledger, Record, Submission, XmlRecords, open_submission, write_csv
from conformance.markup import visible
from conformance.spec import Pack, load_pack

OUTCOMES = (
    "copied",
    "normalised",
    "recoded",
    "synthesised",
    "local-mapped",
    "unmapped",
    "dropped",
    "empty",
    "not-in-v1",
)


class UpgradeError(DidsError):
    """The file cannot be upgraded at all (not DIDS v1, unreadable, bad options): one line saying why."""


# ----- lenient v1 values --------------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_LENIENT_DATES = (
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ]00:00(:00(\.0+)?)?$"), (1, 2, 3)),  # a date with a midnight time
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), (1, 2, 3)),  # CCYYMMDD
    (re.compile(r"^(\d{4})/(\d{2})/(\d{2})$"), (1, 2, 3)),  # CCYY/MM/DD
    (re.compile(r"^(\d{2})[/.-](\d{2})[/.-](\d{4})$"), (3, 2, 1)),  # DD/MM/CCYY, the UK order
)


@lru_cache(maxsize=65_536)
def lenient_date(text: str) -> tuple[str | None, bool]:
    """(ISO date, whether it had to be normalised); (None, _) when the text is no date at all."""
    match = _ISO.match(text)
    if match is not None:
        try:
            date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None, False
        return text, False
    for pattern, (y, m, d) in _LENIENT_DATES:
        match = pattern.match(text)
        if match is not None:
            try:
                return date(int(match[y]), int(match[m]), int(match[d])).isoformat(), True
            except ValueError:
                return None, False
    return None, False


@lru_cache(maxsize=65_536)
def uk_timestamp(iso_day: str, clock: str) -> str:
    """A v2 timestamp for a UK wall-clock time on a day, with the offset in force then."""
    moment = datetime.combine(date.fromisoformat(iso_day), time.fromisoformat(clock), LONDON)
    offset = moment.utcoffset()
    assert offset is not None
    return f"{iso_day}T{clock}{offset_text(int(offset.total_seconds()))}"


# ----- the plan ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """How one v2 item is filled."""

    item: str
    name: str
    how: str  # copy | recode | date-to-timestamp | nicip | none
    source: str | None  # the v1 item
    source_position: int | None
    values: dict[str, str]
    why: str
    provenance: str
    normalise: str | None = None
    is_date: bool = False  # a v2 date item: v1 dates are read leniently


COPIED = "carried over from v1 unchanged"


def plan(v1: Pack, v2: Pack) -> list[Step]:
    """The pack's [upgrade] decisions, one step per v2 item in column order."""
    if v2.upgrade is None:
        raise UpgradeError(f"the {v2.version} pack has no [upgrade] section")
    steps = []
    for item in v2.items:
        decision = v2.upgrade.items.get(item.id)
        source = item.from_v1 or (item.id if item.id in v1.index else None)
        how = decision.how if decision is not None else ("copy" if source is not None else "none")
        if how != "none" and source is None:
            raise UpgradeError(f"[upgrade] says {item.id} is filled by {how} but it has no v1 item")
        steps.append(
            Step(
                item=item.id,
                name=item.name,
                how=how,
                source=source if how != "none" else None,
                source_position=v1.index[source] if source and how != "none" else None,
                values=dict(decision.values) if decision is not None else {},
                why=decision.why
                if decision is not None
                else ("carried over from v1 unchanged" if how == "copy" else ""),
                provenance=(decision.provenance if decision is not None else item.provenance).status,
                normalise=decision.normalise if decision is not None else None,
                is_date=item.format.startswith("an10 CCYY"),
            )
        )
    return steps


# ----- the account ------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What happened to every v2 item over the file, and the upgraded file's check."""

    source: str
    output: str
    input_format: str
    output_format: str
    time_policy: str
    records: int = 0
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    unmapped_codes: Counter[str] = field(default_factory=Counter)
    local_mapped: Counter[str] = field(default_factory=Counter)
    input: Ledger | None = None  # what was read and written: every record accounted for
    problem_examples: list[dict[str, Any]] = field(default_factory=list)  # the first few file problems
    codes_checked: bool = False
    before_v2: int = 0
    months: Counter[str] = field(default_factory=Counter)
    check: Report | None = None
    period_note: str = ""
    steps: list[Step] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": "dids-upgrade-account/1.0",
            "source": self.source,
            "output": self.output,
            "input_format": self.input_format,
            "output_format": self.output_format,
            "time_policy": self.time_policy,
            "records": self.records,
            "complete": self.complete,
            "input": self.input.as_json() if self.input is not None else None,
            "problem_examples": self.problem_examples,
            "items": [
                {
                    "item": s.item,
                    "name": s.name,
                    "how": s.how,
                    "from_v1": s.source,
                    "why": s.why,
                    "provenance": s.provenance,
                    "outcomes": dict(sorted(self.outcomes.get(s.item, Counter()).items())),
                }
                for s in self.steps
            ],
            "local_codes_mapped": dict(sorted(self.local_mapped.items())),
            "codes_not_mapped": dict(sorted(self.unmapped_codes.items())),
            "nicip_codes_checked_against_reference": self.codes_checked,
            "activity_before_v2": self.before_v2,
            "months": dict(sorted(self.months.items())),
        }
        if self.check is not None:
            out["check"] = {
                "profile": "v2",
                "verdict": self.check.verdict,
                "period": self.period_note,
                "counts": dict(sorted(self.check.counts.items())),
                "not_evaluated": [n.rule for n in self.check.not_evaluated],
            }
        return out

    @property
    def complete(self) -> bool:
        """Every record of the input was read and written."""
        return self.input is not None and self.input.complete

    @property
    def clean(self) -> bool:
        """Complete, the input had no file problem, and the upgraded file (when checked) is accepted."""
        return self.input is not None and self.input.clean and (self.check is None or self.check.verdict == "accepted")

    def to_text(self) -> str:
        lines = [
            f"Upgraded {self.records:,} v1 record(s) ({self.input_format}) to DIDS v2.0 ({self.output_format}): "
            f"{self.output}",
            f"time policy: {self.time_policy}",
        ]
        if self.input is not None:
            if not self.input.complete:
                lines.append(
                    "INCOMPLETE: records of the input were not upgraded; the upgraded file holds only what was read"
                )
            lines += self.input.lines()
            lines += [f"  line {p['line']}: {p['kind']}: {visible(p['message'])}" for p in self.problem_examples[:10]]
        lines.append("")
        lines.append("Per v2 item (records):")
        for s in self.steps:
            counts = self.outcomes.get(s.item, Counter())
            said = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: OUTCOMES.index(kv[0])))
            lines.append(f"  {s.name:<58} {said}")
            if s.how in ("none", "recode", "date-to-timestamp", "nicip") or s.normalise:
                lines.append(f"  {'':<58}   {s.why} [{s.provenance}]")
        if self.local_mapped:
            lines.append(
                f"\nlocal exam codes mapped: {sum(self.local_mapped.values()):,} ({len(self.local_mapped)} codes)"
            )
        if self.unmapped_codes:
            top = ", ".join(f"{c} ({n})" for c, n in self.unmapped_codes.most_common(10))
            lines.append(f"codes NOT mapped (passed as sent; v2 rejects local codes, DIDS00300302): {top}")
        if not self.codes_checked:
            lines.append("NICIP codes were not checked against reference data (give --reference to check them)")
        if self.before_v2:
            lines.append(
                f"{self.before_v2:,} record(s) are activity before 1 April 2026, which belongs in DIDS v1, not v2.0"
            )
        if self.check is not None:
            lines.append("")
            lines.append(
                f"Check of the upgraded file (profile v2{', ' + self.period_note if self.period_note else ''}):"
            )
            lines.append(f"  verdict {self.check.verdict.upper()}; {self.check.records_rejected:,} record(s) rejected")
            if not self.complete:
                lines.append("  (the verdict covers the records that were upgraded, not the ones that were not read)")
            for rule, count in sorted(self.check.counts.items()):
                spec = self.check.rules[rule]
                lines.append(f"  {rule:<36} {spec.severity:<14} {count:>8,}  {spec.message}")
            if self.check.not_evaluated:
                names = ", ".join(n.rule for n in self.check.not_evaluated)
                lines.append(f"  not evaluated: {names}")
        return "\n".join(lines) + "\n"


# ----- the upgrader -----------------------------------------------------------------------------------------


class Upgrader:
    """Turns v1 rows into v2 rows. `record_account` (optional) receives, per record, the items whose outcome is
    not a plain copy: {item: [outcome, detail]}."""

    def __init__(
        self,
        *,
        time_policy: str | None = None,
        local_codes: dict[str, str] | None = None,
        reference: ReferenceData | None = None,
        v1: Pack | None = None,
        v2: Pack | None = None,
    ) -> None:
        self.v1, self.v2 = v1 or load_pack("v1"), v2 or load_pack("v2")
        settings = self.v2.upgrade
        if settings is None:
            raise UpgradeError(f"the {self.v2.version} pack has no [upgrade] section")
        policies = settings.time_policies
        self.time_policy = time_policy or settings.default_time_policy
        if self.time_policy not in policies:
            raise UpgradeError(f"unknown time policy {self.time_policy!r}; choose one of {', '.join(policies)}")
        self.clock = policies[self.time_policy].time
        self.steps = plan(self.v1, self.v2)
        self.local_codes = {k.upper(): v for k, v in (local_codes or {}).items()}
        self.known_nicip = reference.nicip if reference is not None else None
        self.width = len(self.v2.items)
        self.test_position = self.v1.index["test_date"]

    def upgrade_row(self, values: Sequence[str], account: dict[str, list[str]] | None) -> list[str]:
        out = [""] * self.width
        for position, step in enumerate(self.steps):
            if step.source_position is None:
                continue
            raw = values[step.source_position].strip()
            if not raw:
                if account is not None:
                    account[step.item] = ["empty", "blank in v1"]
                continue
            how = step.how
            if how == "copy":
                out[position], note = self._copy(step, raw)
            elif how == "recode":
                mapped = step.values.get(raw)
                if mapped is None:
                    out[position], note = raw, ["copied", f"{raw!r} is not a code the recode table knows: as sent"]
                elif mapped != raw:
                    out[position], note = mapped, ["recoded", f"{raw} -> {mapped}"]
                else:
                    out[position], note = raw, None
            elif how == "date-to-timestamp":
                day, reformatted = lenient_date(raw)
                if day is None:
                    note = ["dropped", f"{raw!r} is not a date"]
                else:
                    out[position] = uk_timestamp(day, self.clock)
                    read = f"{raw} read as {day}" if reformatted else raw
                    note = ["synthesised", f"{read} + {self.clock} ({self.time_policy})"]
            else:  # nicip
                out[position], note = self._nicip(raw)
            if note is not None and account is not None:
                account[step.item] = note
        return out

    def _copy(self, step: Step, raw: str) -> tuple[str, list[str] | None]:
        if step.normalise == "digits":
            digits = re.sub(r"[\s-]", "", raw)
            return (digits, ["normalised", f"{raw!r} -> {digits}"]) if digits != raw else (raw, None)
        if step.is_date:
            day, reformatted = lenient_date(raw)
            if day is None:
                return "", ["dropped", f"{raw!r} is not a date"]
            return (day, ["normalised", f"{raw} -> {day}"]) if reformatted else (raw, None)
        return raw, None

    def _nicip(self, raw: str) -> tuple[str, list[str] | None]:
        mapped = self.local_codes.get(raw.upper())
        if mapped is not None:
            return mapped, ["local-mapped", f"{raw} -> {mapped}"]
        if self.known_nicip is not None and raw not in self.known_nicip and raw.upper() not in self.known_nicip:
            return raw, ["unmapped", f"{raw} is in neither the local-code table nor the NICIP reference"]
        return raw, None


def upgrade(
    source: str | Path,
    output: str | Path,
    *,
    format: str | None = None,
    time_policy: str | None = None,
    local_codes: str | Path | None = None,
    submitter: str | None = None,
    reference: str | None = None,
    check_output: bool = True,
    submitted: str | None = None,
    period: str | None = None,
    account: str | Path | None = None,
    overrides: Sequence[str | Path] = (),
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Upgrade the v1 file `source` to v2.0 at `output` (CSV or XML: `format`, default the input's), streaming.

    `local_codes`: the trust's local-code table (CSV or the peer's JSON lines) and `submitter` the organisation
    whose rows apply. `reference`: "synthetic" or a folder, to check NICIP codes and the upgraded file.
    `check_output`: check the upgraded file with the v2 profile (the period is inferred when every procedure falls
    in one month and `period` is not given). `account`: write a JSON-lines account, one line per record.
    """
    reference_dir = reference if reference not in (None, "synthetic", "none") else None
    refuse_overlap(
        [source, local_codes, reference_dir, *overrides],
        {"the output (-o)": output, "the account (--account)": account},
    )
    submission = open_submission(source, overrides=overrides)
    if submission.pack is None or not submission.readable:
        fatal = submission.problems.fatal
        raise UpgradeError(f"{source}: cannot be read as DIDS: {fatal.message if fatal else 'not a DIDS file'}")
    if submission.version != "v1":
        raise UpgradeError(f"{source} is DIDS {submission.version}, not v1: nothing to upgrade")
    output_format = format or submission.format or "csv"
    if output_format not in ("csv", "xml"):
        raise UpgradeError(f"unknown format {output_format!r}; choose csv or xml")
    if check_output and OutputSet.in_place(output):
        raise UpgradeError(f"{output} is not a file the upgraded records can be checked in: add --no-check")
    ref = load_reference(reference) if reference else None
    v2 = load_pack("v2", overrides)
    table = _local_table(local_codes, submitter)
    upgrader = Upgrader(time_policy=time_policy, local_codes=table, reference=ref, v1=submission.pack, v2=v2)
    summary = Summary(str(source), str(output), submission.format or "csv", output_format, upgrader.time_policy)
    summary.steps = upgrader.steps
    summary.codes_checked = ref is not None and ref.nicip is not None
    with OutputSet() as outputs:
        # Everything is written to temporary files and checked there; only a finished upgrade is renamed into
        # place, so an interrupted or failed run leaves no output behind.
        journal = outputs.open(account, "w", encoding="utf-8") if account is not None else None
        try:
            translation = _Translation(submission, upgrader, summary, journal, progress)
            written = translation.write(outputs, output, output_format)
        finally:
            if journal is not None:
                journal.close()
        translation.finish()
        ledger = submission.ledger()
        ledger.records_written = written
        ledger.not_written = dict(translation.not_written)
        summary.input = ledger
        summary.problem_examples = [
            {"line": p.line, "kind": p.kind, "message": p.message, "lost": p.lost} for p in submission.problems
        ]
        if check_output:
            summary.check = _check(outputs.path(output), str(output), summary, period, submitted, submitter, ref)
    return summary


def _local_table(local_codes: str | Path | None, submitter: str | None) -> dict[str, str]:
    """The submitter's rows of the trust's local-code table (none without a table)."""
    if local_codes is None:
        return {}
    if not submitter:
        raise UpgradeError("--local-codes needs --submitter (the table holds each organisation's own codes)")
    org = submitter.strip().upper()
    table = {local: nicip for (owner, local), nicip in load_local_mappings(local_codes).items() if owner == org}
    if not table:
        raise UpgradeError(f"the local-code table has no rows for submitter {org}")
    return table


class _Translation:
    """One pass of the upgrade: records through the Upgrader to the writer, each item's outcome counted for the
    summary and, with a journal, every record's account written as it goes."""

    def __init__(
        self,
        submission: Submission,
        upgrader: Upgrader,
        summary: Summary,
        journal: IO[str] | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        assert submission.pack is not None
        self.submission, self.upgrader, self.summary = submission, upgrader, summary
        self.journal, self.progress = journal, progress
        self.outcomes = {s.item: Counter[str]() for s in upgrader.steps}
        summary.outcomes = self.outcomes
        self.nicip_position = submission.pack.index["imaging_code_nicip"]
        self.start_position = upgrader.v2.index["procedure_start_timestamp"]
        first = upgrader.v2.activity_from
        self.v2_from = first.isoformat() if first else ""
        self.not_written: Counter[str] = Counter()

    def write(self, outputs: OutputSet, output: str | Path, output_format: str) -> int:
        v2 = self.upgrader.v2
        with outputs.text(output, newline="" if output_format == "csv" else "\n") as handle:
            if output_format == "csv":
                return write_csv(self.rows(), handle, v2, on_refused=self.refused)
            writer = XmlRecords(v2)
            handle.write(writer.head())
            written = writer.write(self.rows(), handle, on_refused=self.refused)
            handle.write(writer.tail())
            return written

    def refused(self, number: int, position: int, cause: str) -> None:
        """A value the output layout cannot carry: the record is not written (counted in the ledger)."""
        self.not_written[cause] += 1

    def rows(self) -> Iterator[Record]:
        summary, outcomes = self.summary, self.outcomes
        for record in self.submission.records():
            notes: dict[str, list[str]] = {}
            row = self.upgrader.upgrade_row(record.values, notes)
            summary.records += 1
            for item, (outcome, _) in notes.items():  # plain copies are counted once at the end, by difference
                outcomes[item][outcome] += 1
            nicip_note = notes.get("coded_procedure_nicip")
            if nicip_note is not None:
                code = record.values[self.nicip_position].strip()
                if nicip_note[0] == "local-mapped":
                    summary.local_mapped[code] += 1
                elif nicip_note[0] == "unmapped":
                    summary.unmapped_codes[code] += 1
            start = row[self.start_position]
            if start:
                summary.months[start[:7]] += 1
                if start[:10] < self.v2_from:
                    summary.before_v2 += 1
            if self.journal is not None:
                entry = {"record": record.number, "line": record.line, "items": notes}
                self.journal.write(json.dumps(entry, separators=(",", ":")) + "\n")
            if self.progress is not None and summary.records % 1_000 == 0:
                self.progress(summary.records)
            yield Record(record.number, record.line, tuple(row))

    def finish(self) -> None:
        """Plain copies (and items v1 lacks) are the records no other outcome was counted for."""
        for step in self.upgrader.steps:
            counter = self.outcomes[step.item]
            rest = self.summary.records - sum(counter.values())
            if rest:
                counter["not-in-v1" if step.how == "none" else "copied"] += rest


def _check(
    path: Path,
    name: str,
    summary: Summary,
    period: str | None,
    submitted: str | None,
    submitter: str | None,
    reference: ReferenceData | None,
) -> Report:
    """The upgraded file checked with the v2 profile; the period is inferred when every procedure falls in one
    month."""
    chosen = period
    if chosen is None and len(summary.months) == 1:
        chosen = next(iter(summary.months))
        summary.period_note = f"period {chosen} inferred from the procedure dates"
    elif chosen is not None:
        summary.period_note = f"period {chosen}"
    else:
        summary.period_note = "no period (the procedures span several months; give --period)"
    context = make_context(submitted, chosen, submitter)
    return check(path, profile="v2", context=context, reference=reference or load_reference(None), display_name=name)
