"""`dids readiness`: what stands between a trust's v1 extract and a clean DIDS v2.0 submission, as actions its
information team can take. One streaming pass; memory grows only with the distinct (patient, day, site) keys
(8-byte digests) used to spot the "most complex code only" collapse.

Each finding has a level: `blocking` (a v2.0 submission of this data would be rejected or would be wrong),
`action` (work to do before v2.0 is right) or `info`. Exit code 1 when anything is blocking.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from hashlib import blake2b
from pathlib import Path
from typing import Any

from conformance.check.reference import load_local_mappings, load_reference
from conformance.formats import Ledger, Submission, open_submission
from conformance.markup import visible
from conformance.spec import Pack, load_pack
from v1_to_v2._upgrade import UpgradeError, lenient_date, plan

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
    reference: dict[str, str | None] | None = None  # the reference release the codes were judged against

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
            "reference": self.reference,
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
            *(
                [f"reference data: {self.reference['name']} (sha256 {self.reference['sha256']})"]
                if self.reference
                else []
            ),
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


def _window(month: date, today: date) -> str:
    """Where a month of activity stands on `today`: as v2.0 from the v2 start, else as v1 under the DSP's window
    (both from the packs)."""
    v2 = load_pack("v2")
    if v2.activity_from is not None and month >= v2.activity_from:
        window = v2.window("v2", month)
        assert window.opens is not None and window.closes is not None  # v2 periods open and close
        if today < window.opens:
            return f"v2.0; its window opens on {window.opens.isoformat()}"
        if today > window.closes:
            return f"v2.0; its submission window closed on {window.closes.isoformat()}"
        return f"v2.0; submit by {window.closes.isoformat()} (window of {window.months} months)"
    window = load_pack("v1").window("v1-dsp", month)
    assert window.closes is not None and window.warns_from is not None  # the DSP warns (DIDS049), then rejects
    if today > window.closes:
        return f"v1; too late since {(window.closes + timedelta(days=1)).isoformat()} (DIDS055 rejects it)"
    if today >= window.warns_from:
        return f"v1; accepted with a warning until {window.closes.isoformat()} (DIDS049)"
    return f"v1; accepted without warning until {(window.warns_from - timedelta(days=1)).isoformat()}"


def readiness(
    source: str | Path,
    *,
    local_codes: str | Path | None = None,
    submitter: str | None = None,
    reference: str | None = None,
    today: date | None = None,
) -> Readiness:
    """Read the v1 extract once and say what stands between it and a clean v2.0 submission."""
    submission = open_submission(source)
    if submission.pack is None or not submission.readable:
        fatal = submission.problems.fatal
        raise UpgradeError(f"{source}: cannot be read as DIDS: {fatal.message if fatal else 'not a DIDS file'}")
    if submission.version != "v1":
        raise UpgradeError(f"{source} is already DIDS {submission.version}")
    table: dict[str, str] = {}
    if local_codes is not None:
        if not submitter:
            raise UpgradeError("--local-codes needs --submitter (the table holds each organisation's own codes)")
        org = submitter.strip().upper()
        table = {local: nicip for (owner, local), nicip in load_local_mappings(local_codes).items() if owner == org}
    ref = load_reference(reference) if reference else None
    scan = _Scan(submission.pack, table, ref.nicip if ref is not None else None, ref.descriptions if ref else {})
    for record in submission.records():
        scan.see([v.strip() for v in record.values])
    when = today or datetime.now(UTC).date()
    result = Readiness(str(source), submission.format or "csv", scan.records, when)
    result.input = submission.ledger()
    result.reference = ref.release.as_dict() if ref is not None and ref.release is not None else None
    _input_findings(result, result.input, submission)
    _scan_findings(result, scan, submission.pack)
    for month, count in sorted(scan.months.items()):
        result.months[month] = {"records": count, "status": _window(date.fromisoformat(f"{month}-01"), when)}
    return result


class _Scan:
    """What one pass over the records gathers: blanks per item, local codes mapped or not, codes naming several
    examinations, months of activity (and those from the v2 start), and the "most complex code" collapse."""

    def __init__(
        self, pack: Pack, table: dict[str, str], known: Mapping[str, Any] | None, descriptions: Mapping[str, str]
    ):
        at = pack.index
        self.table, self.known, self.descriptions = table, known, descriptions
        self.positions = [(item.id, at[item.id]) for item in pack.items]
        self.nhs, self.test, self.site, self.accession = (
            at["nhs_number"], at["test_date"], at["site_code"], at["accession_number"]
        )  # fmt: skip
        self.nicip, self.snomed = at["imaging_code_nicip"], at["imaging_code_snomed"]
        v2_start = load_pack("v2").activity_from
        self.v2_from = v2_start.isoformat() if v2_start else "9999"
        self.records = 0
        self.blank, self.mapped, self.unmapped, self.multi = (
            Counter[str](),
            Counter[str](),
            Counter[str](),
            Counter[str](),
        )
        self.months, self.late = Counter[str](), Counter[str]()
        self.day_accessions: dict[int, int] = {}  # (patient, day, site) -> accession digest; -1 once a second is seen
        self.collapsed = 0
        self.examples_collapsed: list[str] = []

    def see(self, values: list[str]) -> None:
        self.records += 1
        for item_id, position in self.positions:
            if not values[position]:
                self.blank[item_id] += 1
        code = values[self.nicip]
        if code:
            if code.upper() in self.table:
                self.mapped[code] += 1
            elif self.known is not None and code not in self.known:
                self.unmapped[code] += 1
        for c in (code, values[self.snomed]):
            text = self.descriptions.get(c, "")
            if text and any(m in f" {text.lower()} " for m in MULTI_PART):
                self.multi[f"{c} ({text})"] += 1
        day, _ = lenient_date(values[self.test])
        if day is None:
            return
        self.months[day[:7]] += 1
        if day >= self.v2_from:
            self.late[day[:7]] += 1
        if values[self.nhs] and values[self.accession]:
            self._collapse(values, day)

    def _collapse(self, values: list[str], day: str) -> None:
        key = _digest(values[self.nhs], day, values[self.site].upper())
        seen = self.day_accessions.get(key)
        this = _digest(values[self.accession].upper())
        if seen is None:
            self.day_accessions[key] = this
        elif seen > 0 and seen != this:
            self.day_accessions[key] = -1
            self.collapsed += 1
            if len(self.examples_collapsed) < 3:
                self.examples_collapsed.append(
                    f"{values[self.site]} on {day}, accessions incl. {values[self.accession]}"
                )


def _input_findings(result: Readiness, ledger: Ledger, submission: Submission) -> None:
    """What the reading itself says: a file not read in full (or holding no records) blocks; damaged values
    are work to do."""
    add = result.findings.append
    if not ledger.complete:
        examples = [f"line {p.line}: {visible(p.message)}" for p in submission.problems if p.lost or p.fatal][:3]
        message = (
            f"the file could not be read in full: {ledger.headline()}. Nothing in this report covers what was "
            "not read: fix the extract and run readiness again"
        )
        add(Finding("blocking", "unreadable-records", message, ledger.records_not_read, examples))
    if ledger.records_read == 0:
        add(Finding("blocking", "no-records", "the file holds no records: there is nothing to judge", 0))
    damaged = {k: n for k, n in ledger.other_problems.items() if k != "no-records"}
    if damaged:
        message = "file problems in records that were read (values may be wrong): " + ", ".join(
            f"{kind} {n:,}" for kind, n in damaged.items()
        )
        examples = [f"line {p.line}: {visible(p.message)}" for p in submission.problems if p.kind in damaged][:3]
        add(Finding("action", "file-problems", message, sum(damaged.values()), examples))


def _scan_findings(result: Readiness, scan: _Scan, pack: Pack) -> None:
    """What the records say: activity that belongs in v2.0, local codes, v2.0 items to add, collapsed
    examinations, multi-part codes, completeness."""
    add = result.findings.append
    if scan.late:
        n = sum(scan.late.values())
        message = (
            f"{n:,} record(s) of activity on or after 1 April 2026 are in v1 form: DIDS v2.0 is the only collection "
            "for them (dids upgrade converts them)"
        )
        add(Finding("blocking", "v1-after-april-2026", message, n, sorted(scan.late)[:6]))
    if scan.unmapped:
        n = sum(scan.unmapped.values())
        message = (
            f"{n:,} record(s) carry {len(scan.unmapped)} code(s) that are neither NICIP codes in the reference data "
            "nor in the local-code table: v2.0 rejects local codes (DIDS00300302); add them to the table or send "
            "NICIP / SNOMED CT codes"
        )
        add(
            Finding(
                "blocking", "unmapped-local-codes", message, n, [f"{c} ({k})" for c, k in scan.unmapped.most_common(5)]
            )
        )
    if scan.mapped:
        n = sum(scan.mapped.values())
        message = (
            f"{n:,} record(s) use {len(scan.mapped)} local exam code(s) found in the local-code table: v2.0 has no "
            "local-code mapping, so the RIS extract must send the NICIP (or SNOMED CT) code itself (dids upgrade "
            "--local-codes maps them meanwhile)"
        )
        examples = [f"{c} -> {scan.table[c.upper()]}" for c, _ in scan.mapped.most_common(5)]
        add(Finding("action", "mapped-local-codes", message, n, examples))
    if scan.known is None:
        message = (
            "imaging codes were not checked against reference data: give --reference to find local codes that have "
            "no mapping"
        )
        add(Finding("info", "codes-not-checked", message))
    steps = plan(pack, load_pack("v2"))
    missing = [s for s in steps if s.how == "none"]
    message = "v2.0 items the v1 extract cannot supply, which the RIS extract must add: " + "; ".join(
        f"{s.name} ({s.why})" for s in missing
    )
    add(Finding("action", "items-v1-cannot-supply", message, len(missing)))
    if scan.collapsed:
        message = (
            f"{scan.collapsed:,} patient-day(s) have several examinations at one site under different accession "
            "numbers: v1 sent one record per examination with its most complex code; v2.0 wants every coded "
            "procedure, so check whether the RIS holds more procedures per examination than this extract shows"
        )
        add(Finding("action", "most-complex-code-collapse", message, scan.collapsed, scan.examples_collapsed))
    if scan.multi:
        n = sum(scan.multi.values())
        message = (
            f"{n:,} record(s) carry a code that names several examinations or body parts: in v2.0 each procedure "
            "performed is its own record"
        )
        add(Finding("action", "multi-part-codes", message, n, [c for c, _ in scan.multi.most_common(3)]))
    blank = scan.blank
    gaps = sorted(((blank[s.source], s.name) for s in steps if s.source and blank[s.source]), reverse=True)
    if gaps:
        shown = "; ".join(
            f"{name} blank in {n:,} ({100 * n / scan.records:.1f}%)" for n, name in gaps[:KEPT_ITEMS_TO_REPORT]
        )
        add(Finding("info", "completeness", "items blank in some records (v2.0 keeps them): " + shown))


def readiness_json(result: Readiness) -> str:
    return json.dumps(result.as_json(), indent=2) + "\n"
