"""Field completeness of any DIDS file beside Table C of the DID 2024/25 Technical Report: `completeness(path)`.

Table C's fields are v1-era; for a v2 file each is read from the item that carries it (gender from PERSON STATED
GENDER CODE, the test date from CODED PROCEDURE START TIMESTAMP, the report date from SERVICE REPORT ISSUE
TIMESTAMP).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from conformance.errors import DidsError
from conformance.formats import Ledger, Record, Submission, open_submission
from conformance.markup import visible
from conformance.spec import Pack
from generators.service import TABLE_C_2024_25

# Table C field -> (v1 item, v2 item); "imaging_code" is present when either code is.
TABLE_C_ITEMS = {
    "nhs_number": ("nhs_number", "nhs_number"),
    "nhs_number_status": ("nhs_number_status", "nhs_number_status"),
    "person_birth_date": ("person_birth_date", "person_birth_date"),
    "ethnic_category": ("ethnic_category", "ethnic_category"),
    "gender": ("person_gender_code", "person_stated_gender_code"),
    "postcode": ("postcode", "postcode"),
    "gp_practice_code": ("gp_practice_code", "gp_practice_code"),
    "patient_source_setting": ("patient_source_setting", "patient_source_setting"),
    "request_date": ("request_date", "request_date"),
    "request_received_date": ("request_received_date", "request_received_date"),
    "test_date": ("test_date", "procedure_start_timestamp"),
    "imaging_code_nicip": ("imaging_code_nicip", "coded_procedure_nicip"),
    "report_issue_date": ("report_issue_date", "report_issue_timestamp"),
    "site_code": ("site_code", "site_code"),
}
DISTRIBUTIONS = ("patient_source_setting", "ethnic_category", "nhs_number_status")


class StatsError(DidsError):
    """The file cannot be read as DIDS at all."""


@dataclass(frozen=True, slots=True)
class ItemCompleteness:
    """One data item: how many records carry it, beside Table C's figure where Table C has the field."""

    item: str
    column: str
    present: int
    percent: float
    table_c: float | None


@dataclass
class Stats:
    version: str
    records: int
    present: dict[str, float]  # Table C field -> percentage of records with it
    distributions: dict[str, Counter[str]]
    input: Ledger | None = None
    items: list[ItemCompleteness] = field(default_factory=list)  # every item of the version, in column order
    days: Counter[str] = field(default_factory=Counter)  # ISO date of the test / procedure start -> records
    hours: Counter[int] = field(default_factory=Counter)  # hour of the procedure start (v2) -> records
    offsets: Counter[str] = field(default_factory=Counter)  # v2 timestamps' offsets ("+01:00", "Z", ...) -> values
    file: str = ""

    def to_text(self) -> str:
        lines = [f"{self.file + ': ' if self.file else ''}{self.records} record(s), DIDS {self.version}"]
        if self.input is not None:
            lines += self.input.lines()
            if not self.input.complete:
                lines.append("INCOMPLETE: the figures below cover only the records that were read")
        width = max([26, *(len(row.column) for row in self.items)])
        lines += ["", f"{'field':<{width}} {'file':>7} {'Table C 2024/25':>16}"]
        for row in self.items:
            table_c = f"{row.table_c:>15.1f}%" if row.table_c is not None else f"{'-':>16}"
            lines.append(f"{row.column:<{width}} {row.percent:>6.1f}% {table_c}")
        lines.append(
            f"{'(NICIP or SNOMED CT code)':<{width}} {self.present['imaging_code']:>6.1f}% "
            f"{TABLE_C_2024_25['imaging_code']:>15.1f}%"
        )
        for name, counts in self.distributions.items():
            total = sum(counts.values()) or 1
            shares = ", ".join(f"{k or '(blank)'} {100 * n / total:.1f}%" for k, n in sorted(counts.items()))
            lines.append(f"\n{name}: {shares}")
        lines += self._activity_lines()
        return visible("\n".join(lines)) + "\n"

    def _activity_lines(self) -> list[str]:
        lines = []
        if self.days:
            days = sorted(self.days.items())
            weekend = sum(n for d, n in days if date.fromisoformat(d).weekday() >= 5)
            lines.append(
                f"\nactivity: {days[0][0]} to {days[-1][0]} on {len(days)} day(s); "
                f"{100 * weekend / (sum(self.days.values()) or 1):.1f}% at weekends"
            )
        if self.hours:
            busiest, n = max(self.hours.items(), key=lambda kv: (kv[1], -kv[0]))
            lines.append(
                f"procedure start hours: {len(self.hours)} distinct; busiest {busiest:02d}:00 with "
                f"{100 * n / (sum(self.hours.values()) or 1):.1f}%"
            )
        if self.offsets:
            lines.append("timestamp offsets: " + ", ".join(f"{k} {n}" for k, n in sorted(self.offsets.items())))
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": STATS_SCHEMA,
            "file": self.file,
            "version": self.version,
            "records": self.records,
            "input": self.input.as_json() if self.input is not None else None,
            "items": [
                {"item": r.item, "column": r.column, "present": r.present, "percent": round(r.percent, 2),
                 "table_c_2024_25": r.table_c}
                for r in self.items
            ],
            "table_c": {name: round(pct, 2) for name, pct in self.present.items()},
            "distributions": {name: dict(sorted(c.items())) for name, c in self.distributions.items()},
            "days": dict(sorted(self.days.items())),
            "hours": {f"{h:02d}": n for h, n in sorted(self.hours.items())},
            "offsets": dict(sorted(self.offsets.items())),
        }  # fmt: skip


STATS_SCHEMA = "dids-stats/1.0"


class Tally:
    """Counts what the statistics need from each record as it streams past: one pass, memory bounded by the
    number of distinct days, hours and offsets."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.records = 0
        self.present = [0] * len(pack.items)
        self.either_code = 0
        column = 0 if pack.version == "v1" else 1
        self.codes = [pack.index[i] for i in ((V1_CODES, V2_CODES)[column])]
        self.table_c = {items[column]: TABLE_C_2024_25[name] for name, items in TABLE_C_ITEMS.items()}
        self.fields = {name: pack.index[items[column]] for name, items in TABLE_C_ITEMS.items()}
        self.distributions = {name: Counter[str]() for name in DISTRIBUTIONS}
        self.distribution_at = {name: pack.index[name] for name in DISTRIBUTIONS}
        self.day_at = pack.index["test_date" if column == 0 else "procedure_start_timestamp"]
        self.timestamps = [pack.index[i] for i in V2_TIMESTAMPS if i in pack.index]
        self.days: Counter[str] = Counter()
        self.hours: Counter[int] = Counter()
        self.offsets: Counter[str] = Counter()

    def see(self, record: Record) -> None:
        values = record.values
        self.records += 1
        present = self.present
        for i, value in enumerate(values):
            if value and not value.isspace():
                present[i] += 1
        if any(values[i].strip() for i in self.codes):
            self.either_code += 1
        for name, i in self.distribution_at.items():
            self.distributions[name][values[i].strip()] += 1
        when = values[self.day_at]
        if DAY.match(when):
            self.days[when[:10]] += 1
            if len(when) >= 13 and when[10] == "T" and when[11:13].isdigit():
                self.hours[int(when[11:13])] += 1
        for i in self.timestamps:
            stamp = values[i]
            if len(stamp) > 19 and stamp[10] == "T":
                self.offsets[stamp[19:]] += 1

    def stats(self, ledger: Ledger | None, file: str = "") -> Stats:
        n = self.records
        share = (lambda k: 100 * k / n) if n else (lambda k: 0.0)
        items = [
            ItemCompleteness(item.id, item.column, self.present[i], share(self.present[i]), self.table_c.get(item.id))
            for i, item in enumerate(self.pack.items)
        ]
        pct = {name: share(self.present[i]) for name, i in self.fields.items()}
        pct["imaging_code"] = share(self.either_code)
        ordered = {name: pct[name] for name in TABLE_C_2024_25}
        return Stats(
            self.pack.version, n, ordered, self.distributions, ledger, items, self.days, self.hours, self.offsets,
            file,
        )  # fmt: skip


class Collector:
    """An observer for conformance.check.check(observe=...): the tally of the file the check reads, in the same
    single pass."""

    def __init__(self) -> None:
        self.tally: Tally | None = None

    def __call__(self, submission: Submission) -> Callable[[Record], None]:
        assert submission.pack is not None  # check() observes only a submission it can check
        self.tally = Tally(submission.pack)
        return self.tally.see


V1_CODES, V2_CODES = ("imaging_code_nicip", "imaging_code_snomed"), ("coded_procedure_nicip", "coded_procedure_snomed")
V2_TIMESTAMPS = ("procedure_start_timestamp", "procedure_end_timestamp", "report_issue_timestamp")
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


def completeness(
    path: str | Path,
    *,
    observe: Callable[[Submission], Callable[[Record], None]] | None = None,
    format: str | None = None,
) -> Stats:
    """Completeness and distributions of the file at `path` ("-" for standard input), with its input ledger.
    `observe` sees every record too (progress)."""
    submission = open_submission(path, format=format)
    pack = submission.pack
    if pack is None:
        fatal = submission.problems.fatal
        raise StatsError(f"{path}: cannot be read as DIDS: {fatal.describe() if fatal else 'not a DIDS file'}")
    tally = Tally(pack)
    seen = observe(submission) if observe is not None else None
    for record in submission.records():
        tally.see(record)
        if seen is not None:
            seen(record)
    return tally.stats(submission.ledger(), submission.name)
