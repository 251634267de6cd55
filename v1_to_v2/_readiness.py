"""`dids readiness`: what stands between a trust's v1 extract and a clean DIDS v2.0 submission, as actions its
information team can take. One streaming pass; memory grows only with the distinct (patient, day, site) keys
(8-byte digests) used to spot the "most complex code only" collapse.

Each finding has a level: `blocking` (a v2.0 submission of this data would be rejected or would be wrong),
`action` (work to do before v2.0 is right) or `info`. Exit code 1 when anything is blocking.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from hashlib import blake2b
from pathlib import Path
from typing import Any

from conformance.check._context import add_months, month_end
from conformance.check.reference import load_local_mappings, load_reference, reference_folder
from conformance.check.rules_v2 import submission_months, window_close
from conformance.formats import Ledger, open_submission
from conformance.markup import visible
from conformance.spec import load_pack
from v1_to_v2._upgrade import ACTIVITY_FROM, UpgradeError, lenient_date, plan

MULTI_PART = (" and ", " & ", "+")  # descriptions that name several examinations or regions in one code
KEPT_ITEMS_TO_REPORT = 5


@dataclass
class Finding:
    level: str  # blocking | action | info
    topic: str
    message: str
    count: int | None = None
    examples: list[str] = field(default_factory=list)


@dataclass
class Readiness:
    source: str
    format: str
    records: int
    today: date
    findings: list[Finding] = field(default_factory=list)
    months: dict[str, dict[str, Any]] = field(default_factory=dict)
    input: Ledger | None = None

    @property
    def blocking(self) -> bool:
        return any(f.level == "blocking" for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        return {
            "schema": "dids-readiness/1.0",
            "source": self.source,
            "format": self.format,
            "records": self.records,
            "input": self.input.as_json() if self.input is not None else None,
            "as_of": self.today.isoformat(),
            "ready": not self.blocking,
            "findings": [
                {"level": f.level, "topic": f.topic, "message": f.message, "count": f.count, "examples": f.examples}
                for f in self.findings
            ],
            "months": self.months,
        }

    def to_text(self) -> str:
        lines = [
            f"DIDS v2.0 readiness of {self.source} ({self.records:,} v1 record(s), {self.format}), as of "
            f"{self.today.isoformat()}",
            *(self.input.lines() if self.input is not None else []),
            "",
        ]
        for level, title in (("blocking", "Blocking"), ("action", "To do before v2.0"), ("info", "For information")):
            chosen = [f for f in self.findings if f.level == level]
            if not chosen:
                continue
            lines.append(f"{title}:")
            for f in chosen:
                lines.append(f"  - {f.message}")
                if f.examples:
                    lines.append(f"    e.g. {', '.join(f.examples)}")
            lines.append("")
        if self.months:
            lines.append("Months in the file and where they stand:")
            for month, m in self.months.items():
                lines.append(f"  {month}: {m['records']:,} record(s); {m['status']}")
            lines.append("")
        lines.append("READY for v2.0" if not self.blocking else "NOT READY: resolve the blocking items first")
        return "\n".join(lines) + "\n"


def _digest(*parts: str) -> int:
    return int.from_bytes(blake2b("\x1f".join(parts).encode(), digest_size=8).digest(), "big")


def _descriptions(reference: str | None) -> dict[str, str]:
    """Code -> description from the reference folder's nicip.csv and snomed.csv, where they carry one."""
    if reference is None:
        return {}
    folder = reference_folder(reference)
    out: dict[str, str] = {}
    for name, key in (("nicip.csv", "code"), ("snomed.csv", "concept_id")):
        path = folder / name
        if path.is_file():
            with path.open(encoding="utf-8-sig", newline="") as handle:
                for row in csv.DictReader(handle):
                    if row.get(key) and row.get("description"):
                        out[row[key].strip()] = row["description"]
    return out


def _window(month: date, today: date) -> str:
    """Where a month of activity stands on `today`, as v1 (before April 2026) or as v2.0: the packs' windows."""
    if month >= ACTIVITY_FROM:
        v2 = load_pack("v2")
        close, months = window_close(v2, month), submission_months(v2, month)
        assert close is not None
        opens = add_months(month, 1)
        if today < opens:
            return f"v2.0; its window opens on {opens.isoformat()}"
        if today > close:
            return f"v2.0; its submission window closed on {close.isoformat()}"
        return f"v2.0; submit by {close.isoformat()} (window of {months} months)"
    # v1 (DSP): a warning once the test month is more than N months before the submission month (DIDS049), a
    # reject after M (DIDS055)
    dsp = load_pack("v1").extras["windows"]["v1-dsp"]
    warn_after, reject_after = int(dsp["warn_after_months"]), int(dsp["reject_after_months"])
    warn_from, reject_from = add_months(month, warn_after + 1), add_months(month, reject_after + 1)
    if today >= reject_from:
        return f"v1; too late since {reject_from.isoformat()} (DIDS055 rejects it)"
    if today >= warn_from:
        return f"v1; accepted with a warning until {month_end(add_months(month, reject_after)).isoformat()} (DIDS049)"
    return f"v1; accepted without warning until {month_end(add_months(month, warn_after)).isoformat()}"


def readiness(
    source: str | Path,
    *,
    local_codes: str | Path | None = None,
    submitter: str | None = None,
    reference: str | None = None,
    today: date | None = None,
) -> Readiness:
    submission = open_submission(source)
    if submission.pack is None or not submission.readable:
        fatal = submission.problems.fatal
        raise UpgradeError(f"{source}: cannot be read as DIDS: {fatal.message if fatal else 'not a DIDS file'}")
    if submission.version != "v1":
        raise UpgradeError(f"{source} is already DIDS {submission.version}")
    pack = submission.pack
    table: dict[str, str] = {}
    if local_codes is not None:
        if not submitter:
            raise UpgradeError("--local-codes needs --submitter (the table holds each organisation's own codes)")
        table = {
            local: nicip
            for (org, local), nicip in load_local_mappings(local_codes).items()
            if org == submitter.strip().upper()
        }
    ref = load_reference(reference) if reference else None
    known = ref.nicip if ref is not None else None
    descriptions = _descriptions(reference)
    at = pack.index
    positions = [(item.id, at[item.id]) for item in pack.items]
    nhs, test, site, accession = at["nhs_number"], at["test_date"], at["site_code"], at["accession_number"]
    nicip, snomed = at["imaging_code_nicip"], at["imaging_code_snomed"]
    blank = Counter[str]()
    mapped, unmapped, multi = Counter[str](), Counter[str](), Counter[str]()
    months: Counter[str] = Counter()
    late: Counter[str] = Counter()
    day_accessions: dict[int, int] = {}  # (patient, day, site) -> accession digest, negated once a second is seen
    collapsed = 0
    examples_collapsed: list[str] = []
    records = 0
    for record in submission.records():
        values = [v.strip() for v in record.values]
        records += 1
        for item_id, position in positions:
            if not values[position]:
                blank[item_id] += 1
        code = values[nicip]
        if code:
            if code.upper() in table:
                mapped[code] += 1
            elif known is not None and code not in known:
                unmapped[code] += 1
        for c in (code, values[snomed]):
            text = descriptions.get(c, "")
            if text and any(m in f" {text.lower()} " for m in MULTI_PART):
                multi[f"{c} ({text})"] += 1
        day, _ = lenient_date(values[test])
        if day is not None:
            months[day[:7]] += 1
            if day >= ACTIVITY_FROM.isoformat():
                late[day[:7]] += 1
            if values[nhs] and values[accession]:
                key = _digest(values[nhs], day, values[site].upper())
                seen = day_accessions.get(key)
                this = _digest(values[accession].upper())
                if seen is None:
                    day_accessions[key] = this
                elif seen > 0 and seen != this:
                    day_accessions[key] = -1
                    collapsed += 1
                    if len(examples_collapsed) < 3:
                        examples_collapsed.append(f"{values[site]} on {day}, accessions incl. {values[accession]}")
    when = today or datetime.now(UTC).date()
    result = Readiness(str(source), submission.format or "csv", records, when)
    add = result.findings.append
    ledger = submission.ledger()
    result.input = ledger
    if not ledger.complete:
        examples = [f"line {p.line}: {visible(p.message)}" for p in submission.problems if p.lost or p.fatal][:3]
        add(
            Finding(
                "blocking",
                "unreadable-records",
                f"the file could not be read in full: {ledger.headline()}. Nothing in this report covers what was "
                "not read: fix the extract and run readiness again",
                ledger.records_not_read,
                examples,
            )
        )
    if ledger.records_read == 0:
        add(Finding("blocking", "no-records", "the file holds no records: there is nothing to judge", 0))
    damaged = {k: n for k, n in ledger.other_problems.items() if k != "no-records"}
    if damaged:
        add(
            Finding(
                "action",
                "file-problems",
                "file problems in records that were read (values may be wrong): "
                + ", ".join(f"{kind} {n:,}" for kind, n in damaged.items()),
                sum(damaged.values()),
                [f"line {p.line}: {visible(p.message)}" for p in submission.problems if p.kind in damaged][:3],
            )
        )
    if late:
        add(
            Finding(
                "blocking",
                "v1-after-april-2026",
                f"{sum(late.values()):,} record(s) of activity on or after 1 April 2026 are in v1 form: DIDS v2.0 "
                "is the only collection for them (dids upgrade converts them)",
                sum(late.values()),
                sorted(late)[:6],
            )
        )
    if unmapped:
        add(
            Finding(
                "blocking",
                "unmapped-local-codes",
                f"{sum(unmapped.values()):,} record(s) carry {len(unmapped)} code(s) that are neither NICIP codes in "
                "the reference data nor in the local-code table: v2.0 rejects local codes (DIDS00300302); add them "
                "to the table or send NICIP / SNOMED CT codes",
                sum(unmapped.values()),
                [f"{c} ({n})" for c, n in unmapped.most_common(5)],
            )
        )
    if mapped:
        add(
            Finding(
                "action",
                "mapped-local-codes",
                f"{sum(mapped.values()):,} record(s) use {len(mapped)} local exam code(s) found in the local-code "
                "table: v2.0 has no local-code mapping, so the RIS extract must send the NICIP (or SNOMED CT) code "
                "itself (dids upgrade --local-codes maps them meanwhile)",
                sum(mapped.values()),
                [f"{c} -> {table[c.upper()]}" for c, _ in mapped.most_common(5)],
            )
        )
    if known is None:
        add(
            Finding(
                "info",
                "codes-not-checked",
                "imaging codes were not checked against reference data: give "
                "--reference to find local codes that have no mapping",
            )
        )
    missing = [s for s in plan(pack, load_pack("v2")) if s.how == "none"]
    add(
        Finding(
            "action",
            "items-v1-cannot-supply",
            "v2.0 items the v1 extract cannot supply, which the RIS extract must add: "
            + "; ".join(f"{s.name} ({s.why})" for s in missing),
            len(missing),
        )
    )
    if collapsed:
        add(
            Finding(
                "action",
                "most-complex-code-collapse",
                f"{collapsed:,} patient-day(s) have several examinations at one site under different accession "
                "numbers: v1 sent one record per examination with its most complex code; v2.0 wants every coded "
                "procedure, so check whether the RIS holds more procedures per examination than this extract shows",
                collapsed,
                examples_collapsed,
            )
        )
    if multi:
        add(
            Finding(
                "action",
                "multi-part-codes",
                f"{sum(multi.values()):,} record(s) carry a code that names several examinations or body parts: in "
                "v2.0 each procedure performed is its own record",
                sum(multi.values()),
                [c for c, _ in multi.most_common(3)],
            )
        )
    kept = [s for s in plan(pack, load_pack("v2")) if s.source is not None]
    gaps = sorted(((blank[s.source], s.name) for s in kept if s.source and blank[s.source]), reverse=True)
    if gaps:
        add(
            Finding(
                "info",
                "completeness",
                "items blank in some records (v2.0 keeps them): "
                + "; ".join(
                    f"{name} blank in {n:,} ({100 * n / records:.1f}%)" for n, name in gaps[:KEPT_ITEMS_TO_REPORT]
                ),
            )
        )
    for month, count in sorted(months.items()):
        first = date.fromisoformat(f"{month}-01")
        result.months[month] = {"records": count, "status": _window(first, when)}
    return result


def readiness_json(result: Readiness) -> str:
    return json.dumps(result.as_json(), indent=2) + "\n"
