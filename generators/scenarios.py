"""Data-quality scenarios: the problems the DID 2024/25 Technical Report sees in real submissions, opt-in by name.

Each scenario changes the generated rows the way a provider with that problem would send them, and says in the
answer key what it did, to how many records, and which findings (if any) a checker must then report. Most are
valid DIDS that a checker cannot reject (a provider defaulting every source setting to "Other" sends valid
codes): they exist so that data-quality tools (`dids stats`) can be tested against known answers.

  source-setting-other   every patient source setting sent as 07 "Other" (a RIS default never changed)
  request-equals-test    request and received dates always the procedure's date (times left blank: v2 warns)
  missing-report-dates   no report issue date or timestamp at all
  missing-gender-site    site X9T02 sends no gender
  duplicated-activity    about 1 record in 200 sent twice (the next record is replaced by its copy)
  missing-month          with several months (`dids generate --months N`): one month not sent

Source: the DID 2024/25 Technical Report ("data quality"; SEED in docs/sources/README.md); the shares are assumptions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from conformance.errors import DidsError
from conformance.spec import PROFILES, Pack, load_pack
from generators.service import Block

DUPLICATE_SHARE = 0.005
SITE_WITHOUT_GENDER = "X9T02"


class ScenarioError(DidsError):
    """A scenario that cannot be applied as asked: say why."""


class RowSource(Protocol):
    def each(self) -> Iterator[list[str]]: ...


def _chance(seed: int, record: int) -> float:
    """A uniform draw that depends only on (seed, record): the same records are chosen however the file is made."""
    digest = hashlib.blake2b(f"dup:{seed}:{record}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class ScenarioEdit:
    """One scenario as a block edit (generators.generate.BlockEdit)."""

    name: str
    version: str
    seed: int

    def apply(self, block: Block, rows: list[list[str]], pack: Pack) -> list[list[str]]:
        at = pack.index
        if self.name == "source-setting-other":
            for row in rows:
                row[at["patient_source_setting"]] = "07"
        elif self.name == "request-equals-test":
            start = at["test_date" if self.version == "v1" else "procedure_start_timestamp"]
            for row in rows:
                day = row[start][:10]
                row[at["request_date"]] = row[at["request_received_date"]] = day
                if self.version == "v2":
                    row[at["request_time"]] = row[at["request_received_time"]] = ""
                    if row[at["waiting_list_clock_start_date"]]:
                        row[at["waiting_list_clock_start_date"]] = day
        elif self.name == "missing-report-dates":
            report = at["report_issue_date" if self.version == "v1" else "report_issue_timestamp"]
            for row in rows:
                row[report] = ""
        elif self.name == "missing-gender-site":
            gender = at["person_gender_code" if self.version == "v1" else "person_stated_gender_code"]
            for row in rows:
                if row[at["site_code"]] == SITE_WITHOUT_GENDER:
                    row[gender] = ""
        elif self.name == "duplicated-activity":
            for i in duplicated(block, self.seed):
                rows[i + 1] = list(rows[i])
        return rows


def duplicated(block: Block, seed: int) -> list[int]:
    """Positions in the block whose record is sent twice (copied over the next record, never a copy's copy)."""
    out: list[int] = []
    for i in range(block.records - 1):
        if (not out or out[-1] < i - 1) and _chance(seed, block.first_record + i) < DUPLICATE_SHARE:
            out.append(i)
    return out


@dataclass
class Applied:
    name: str
    edit: ScenarioEdit | None
    version: str
    seed: int
    blocks: list[Block] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def key(self, pack: Pack, source: RowSource) -> dict[str, Any]:
        """The scenario's answer-key entry: what it did, to how many records, and the findings it causes."""
        entry: dict[str, Any] = {"scenario": self.name, **self.detail}
        if self.name == "duplicated-activity":
            rule = next(r.id for r in pack.rules if r.kind == "cross-record")
            pairs = [
                (b.first_record + i, b.first_record + i + 1) for b in self.blocks for i in duplicated(b, self.seed)
            ]
            entry["records"] = [list(p) for p in pairs]
            entry["expected"] = [(rule, n, "accession_number") for pair in pairs for n in pair]
        elif self.name == "request-equals-test" and self.version == "v2":
            # Every record keeps its dates and loses its times: v2's completeness warnings, one per time.
            numbers = [b.first_record + i for b in self.blocks for i in range(b.records)]
            entry["records"] = len(numbers)
            entry["expected"] = [(rule, n, item) for n in numbers for rule, item in TIMES_LEFT_BLANK]
        elif self.name == "missing-gender-site":
            site = pack.index["site_code"]
            entry["records"] = sum(1 for row in source.each() if row[site] == SITE_WITHOUT_GENDER)
        else:
            entry["records"] = sum(b.records for b in self.blocks)
        entry.setdefault("expected", [])
        return entry


TIMES_LEFT_BLANK = (("V2P-REQUEST-TIME-BLANK", "request_time"), ("V2P-RECEIVED-TIME-BLANK", "request_received_time"))
SCENARIOS = (
    "source-setting-other",
    "request-equals-test",
    "missing-report-dates",
    "missing-gender-site",
    "duplicated-activity",
    "missing-month",
)


def plan_scenarios(
    names: Sequence[str], *, profile: str, period: date, records: int, seed: int, months: int = 1
) -> list[Applied]:
    from generators.service import blocks

    version = PROFILES[profile]
    load_pack(version)
    out = []
    for name in dict.fromkeys(names):
        if name not in SCENARIOS:
            raise ScenarioError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
        if name == "missing-month":
            if months < 2:
                raise ScenarioError("missing-month needs several months: dids generate --months 2 or more")
            continue  # handled by the caller, which leaves one month's file out
        out.append(Applied(name, ScenarioEdit(name, version, seed), version, seed, blocks(period, records)))
    return out
