"""What a check produces: findings, rules not evaluated, and the report that counts them."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from conformance.formats import Ledger, ProblemLog, SpanEnd
from conformance.spec import RuleSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One rule broken at one place. `record` is the 1-based flattened record, None for file-level findings.
    Made by keyword only (conformance.check._engine._finding stamps a rule's id, code and severity)."""

    rule: str
    code: str | None
    official: bool
    severity: str
    record: int | None
    field: str | None
    line: int | None
    value: str | None
    message: str
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "code": self.code,
            "official": self.official,
            "severity": self.severity,
            "record": self.record,
            "field": self.field,
            "line": self.line,
            "value": self.value,
            "message": self.message,
            "path": self.path,
        }


@dataclass(frozen=True, slots=True)
class NotEvaluated:
    rule: str
    reason: str


class KeyLog:
    """The uniqueness keys of one part of a file checked in parallel, in file order and compactly (16 bytes and
    the value a record, never a dictionary entry): each key's 64-bit digest, the record's number and line, and
    the value a duplicate finding shows. The parent meets them in the whole file's order (check/parallel.py).
    Between processes the values travel as one string and their lengths."""

    __slots__ = ("_offsets", "_text", "digests", "places", "values")

    def __init__(self) -> None:
        self.digests = array("Q")
        self.places = array("Q")  # number << 32 | line, as UniqueKey keeps them
        self.values: list[str] = []
        self._text = ""
        self._offsets: array[int] | None = None  # where each value starts in _text, once unpacked

    def add(self, digest: int, number: int, line: int, value: str) -> None:
        self.digests.append(digest)
        self.places.append(number << 32 | line)
        self.values.append(value)

    def value(self, index: int) -> str:
        if self._offsets is None:
            return self.values[index]
        return self._text[self._offsets[index] : self._offsets[index + 1]]

    def __getstate__(self) -> tuple[array[int], array[int], array[int], str]:
        values = [self.value(i) for i in range(len(self.digests))] if self._offsets is not None else self.values
        return self.digests, self.places, array("I", map(len, values)), "".join(values)

    def __setstate__(self, state: tuple[array[int], array[int], array[int], str]) -> None:
        self.digests, self.places, sizes, self._text = state
        self._offsets = array("Q", accumulate(sizes, initial=0))
        self.values = []


@dataclass(slots=True)
class PartOutcome:
    """What a check of one span of a file hands to the check of the whole, beside the span's record findings:
    its file problems and how its reading ended, both numbered from the span's start, and its uniqueness keys
    by rule id."""

    problems: ProblemLog
    end: SpanEnd
    keys: dict[str, KeyLog]


@dataclass(slots=True)
class Report:
    """Every finding counted per rule; the first `max_examples` of each rule kept as examples."""

    profile: str
    version: str
    file: str
    format: str | None
    context: dict[str, str | None]
    rules: dict[str, RuleSpec]
    max_examples: int = 100
    records: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    not_evaluated: list[NotEvaluated] = field(default_factory=list)
    file_problems: list[dict[str, Any]] = field(default_factory=list)
    # One bit per record with a record-level error: 125 KiB for a million records, where a set would take ~60 MiB.
    rejected_bits: bytearray = field(default_factory=bytearray)
    fail_on_warning: bool = False
    input: Ledger | None = None  # the account of the file read: records read, not read, what stopped reading
    reference: dict[str, str | None] | None = None  # the reference release judged against (name, date, sha256)
    # Item id -> the CSV column or XML element the user sees (conformance.check._engine.field_names).
    field_names: dict[str, str] = field(default_factory=dict)
    # A check of one span of a file (check(part=...)): what the check of the whole needs beside the findings.
    part: PartOutcome | None = None

    def location(self, finding: Finding) -> str | None:
        """Where a finding points, in the user's terms: the CSV column, or the XML element's path."""
        if finding.field is None:
            return finding.path
        name = self.field_names.get(finding.field, finding.field)
        if finding.path is None:
            return name.removeprefix("../")
        if name.startswith("../"):
            return f"{finding.path.rpartition('/')[0]}/{name.removeprefix('../')}"
        return f"{finding.path}/{name}"

    def add(self, finding: Finding) -> None:
        self.counts[finding.rule] += 1
        if finding.severity == "record-reject" and finding.record is not None:
            byte, bit = divmod(finding.record, 8)
            if byte >= len(self.rejected_bits):
                self.rejected_bits.extend(bytes(byte + 1 - len(self.rejected_bits) + 4096))
            self.rejected_bits[byte] |= 1 << bit
        if self.counts[finding.rule] <= self.max_examples:
            self.findings.append(finding)

    def drop_record_findings(self, reason: str) -> None:
        """Keep the file-level findings only (the file's own layout problems); every record or cross-record rule
        that had findings is listed as not evaluated, with `reason`."""
        dropped = sorted({rule for rule in self.counts if self.rules[rule].kind not in ("file",)})
        for rule in dropped:
            del self.counts[rule]
            self.not_evaluated.append(NotEvaluated(rule, reason))
        self.findings = [f for f in self.findings if f.rule not in dropped]
        self.rejected_bits = bytearray()
        for finding in self.findings:
            if finding.severity == "record-reject" and finding.record is not None:
                byte, bit = divmod(finding.record, 8)
                if byte >= len(self.rejected_bits):
                    self.rejected_bits.extend(bytes(byte + 1 - len(self.rejected_bits)))
                self.rejected_bits[byte] |= 1 << bit

    @property
    def records_rejected(self) -> int:
        """How many distinct records have at least one record-level error."""
        return int.from_bytes(self.rejected_bits, "little").bit_count()

    def omitted(self) -> dict[str, int]:
        return {r: n - self.max_examples for r, n in sorted(self.counts.items()) if n > self.max_examples}

    def count_by_severity(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for rule_id, n in self.counts.items():
            totals[self.rules[rule_id].severity] += n
        return {s: totals.get(s, 0) for s in ("file-reject", "record-reject", "warning")}

    @property
    def verdict(self) -> str:
        """DIDS rejects the whole file on any error (v1: DSP reject_on_error; the portal likewise; v2 assumed).
        A file not read to its end, or with records that could not be read, is never accepted, whatever an
        override makes of the layout rule's severity: what was not read was not checked."""
        by_severity = self.count_by_severity()
        errors = by_severity["file-reject"] + by_severity["record-reject"]
        if errors or (self.fail_on_warning and by_severity["warning"]):
            return "rejected"
        if self.input is not None and not self.input.complete:
            return "rejected"
        return "accepted"
