"""Records as read from a file, and the file-level problems found while reading."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple


class Record(NamedTuple):
    """One flattened DIDS record: its values in the pack's CSV column order, and where it came from.

    A NamedTuple rather than a dataclass because readers build millions of them; it is immutable all the same.
    """

    number: int  # 1-based position of the flattened record in the file (one per CSV data row or ImagingActivity)
    line: int  # 1-based line where the record starts (CSV row, or ImagingActivity start tag)
    values: tuple[str, ...]
    path: str | None = None  # XML: /DIDS/DIDSRecord[n]/ImagingActivity[k]
    activity: int | None = None  # XML: k, the activity's position within its DIDSRecord


# Every kind of file-level problem a reader reports, with what it means. `fatal` problems stop reading.
PROBLEM_KINDS: dict[str, str] = {
    "empty-file": "the file has no content",
    "binary-content": "the file holds binary data, not text",
    "encoding": "bytes that are not valid UTF-8 (values on that line hold U+FFFD)",
    "bom": "a byte-order mark at the start of the file (ignored)",
    "not-dids": "the content is not a DIDS submission",
    "ambiguous": "the content could be more than one DIDS version or layout",
    "version-mismatch": "the content is a different DIDS version from the one asked for",
    "csv-syntax": "the CSV cannot be parsed at this line",
    "column-count": "a CSV row with the wrong number of fields (the row is not read as a record)",
    "header-row": "a header row where the layout has none, or a header that differs from the layout",
    "missing-header": "no header row where the layout requires one",
    "no-records": "the file holds no records",
    "xml-syntax": "the XML is not well-formed (reading stops here)",
    "xml-dtd": "a DOCTYPE (DTDs and entity declarations are refused)",
    "xml-structure": "an element that the DIDS layout does not have at this place (its value is not read)",
    "xml-repeated-element": "an element given twice where the layout has it once (the first value is kept)",
    "xsd": "the record does not validate against the DIDS XML schema",
}


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A problem with the file rather than with one value: where it is, and whether reading could go on."""

    kind: str
    message: str
    line: int | None = None
    record: int | None = None
    path: str | None = None
    fatal: bool = False

    def __post_init__(self) -> None:
        if self.kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown file problem kind {self.kind!r}")

    def describe(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}"


class ProblemLog:
    """Counts every problem; keeps the first `max_examples` of each kind so memory stays bounded."""

    def __init__(self, max_examples: int = 100) -> None:
        self.max_examples = max_examples
        self.counts: Counter[str] = Counter()
        self.examples: list[FileProblem] = []

    def add(self, problem: FileProblem) -> None:
        self.counts[problem.kind] += 1
        if self.counts[problem.kind] <= self.max_examples:
            self.examples.append(problem)

    def __iter__(self) -> Iterator[FileProblem]:
        return iter(self.examples)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)

    @property
    def fatal(self) -> FileProblem | None:
        return next((p for p in self.examples if p.fatal), None)

    def omitted(self) -> dict[str, int]:
        """Problems counted but not kept as examples, by kind."""
        return {k: n - self.max_examples for k, n in self.counts.items() if n > self.max_examples}
