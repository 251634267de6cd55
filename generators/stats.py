"""Field completeness of any DIDS file beside Table C of the DID 2024/25 Technical Report: `completeness(path)`.

Table C's fields are v1-era; for a v2 file each is read from the item that carries it (gender from PERSON STATED
GENDER CODE, the test date from CODED PROCEDURE START TIMESTAMP, the report date from SERVICE REPORT ISSUE
TIMESTAMP).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import DidsError
from conformance.formats import Ledger, open_submission
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


@dataclass
class Stats:
    version: str
    records: int
    present: dict[str, float]  # Table C field -> percentage of records with it
    distributions: dict[str, Counter[str]]
    input: Ledger | None = None

    def to_text(self) -> str:
        lines = [f"{self.records} record(s), DIDS {self.version}"]
        if self.input is not None:
            lines += self.input.lines()
            if not self.input.complete:
                lines.append("INCOMPLETE: the figures below cover only the records that were read")
        lines += [
            "",
            f"{'field':<26} {'file':>7} {'Table C 2024/25':>16}",
        ]
        for name, pct in self.present.items():
            lines.append(f"{name:<26} {pct:>6.1f}% {TABLE_C_2024_25[name]:>15.1f}%")
        for name, counts in self.distributions.items():
            total = sum(counts.values()) or 1
            shares = ", ".join(f"{k or '(blank)'} {100 * n / total:.1f}%" for k, n in sorted(counts.items()))
            lines.append(f"\n{name}: {shares}")
        return "\n".join(lines) + "\n"


def completeness(path: str | Path) -> Stats:
    """Completeness and distributions of the file at `path` ("-" for standard input), with its input ledger."""
    submission = open_submission(path)
    pack = submission.pack
    if pack is None:
        fatal = submission.problems.fatal
        raise StatsError(f"{path}: cannot be read as DIDS: {fatal.describe() if fatal else 'not a DIDS file'}")
    column = 0 if pack.version == "v1" else 1
    positions = {name: pack.index[items[column]] for name, items in TABLE_C_ITEMS.items()}
    codes = [
        pack.index[i]
        for i in (
            ("imaging_code_nicip", "imaging_code_snomed")
            if column == 0
            else ("coded_procedure_nicip", "coded_procedure_snomed")
        )
    ]
    present: Counter[str] = Counter()
    distributions = {name: Counter[str]() for name in DISTRIBUTIONS}
    records = 0
    for record in submission.records():
        records += 1
        values = record.values
        for name, i in positions.items():
            if values[i].strip():
                present[name] += 1
        if any(values[i].strip() for i in codes):
            present["imaging_code"] += 1
        for name in DISTRIBUTIONS:
            distributions[name][values[pack.index[name]].strip()] += 1
    pct = {name: 100 * present[name] / records if records else 0.0 for name in TABLE_C_2024_25}
    return Stats(pack.version, records, pct, distributions, submission.ledger())
