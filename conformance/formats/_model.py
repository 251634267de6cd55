"""Records as read from a file, and the file-level problems found while reading."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
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
    "csv-syntax": "the CSV cannot be parsed at this line (the row is not read)",
    "column-count": "a CSV row with the wrong number of fields (the row is not read as a record)",
    "row-too-long": "a CSV line longer than the record size cap (the row is not read)",
    "row-spans-lines": "a quoted CSV value that runs over several lines, swallowing the rows between (not read)",
    "header-row": "a header of the layout's column names where the layout has none (skipped; nothing lost)",
    "header-columns": "a header row whose columns differ from the layout (values are read by name)",
    "missing-header": "no header row where the layout requires one",
    "no-final-newline": "the last row has no line end (nothing lost, unless the file was cut inside that row)",
    "control-character": "a value holds a control character that XML cannot carry",
    "no-records": "the file holds no records",
    "xml-syntax": "the XML is not well-formed (reading stops here)",
    "xml-dtd": "a DOCTYPE (DTDs and entity declarations are refused)",
    "xml-structure": "an element that the DIDS layout does not have at this place (its value is not read)",
    "xml-repeated-element": "an element given twice where the layout has it once (the first value is kept)",
    "record-too-large": "a record larger than the record size cap (reading stops here)",
    "xsd": "the record does not validate against the DIDS XML schema",
}
# A writer's report of a record it cannot write: (record number, position of the value, cause). Causes: a value
# holding a character XML cannot carry ("control-character"), a line break in a CSV value ("line-break").
Refused = Callable[[int, int, str], None]

# Problems that lose nothing: reported as notes, never as lost records, and they never change an exit code.
NOTE_KINDS = frozenset({"bom", "header-row", "no-final-newline"})


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A problem with the file rather than with one value: where it is, and whether reading could go on."""

    kind: str
    message: str
    line: int | None = None
    record: int | None = None
    path: str | None = None
    fatal: bool = False
    lost: int = 0  # records this problem cost (a row not read; the activities of a record cut short)
    field: str | None = None  # the item (column) the problem is in, when it is one value's

    def __post_init__(self) -> None:
        if self.kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown file problem kind {self.kind!r}")

    def describe(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}"

    def moved(self, lines: int, records: int) -> FileProblem:
        """The same problem with its line and record moved on: found in a part of a file read on its own, placed
        in the whole file (`lines` and `records` before the part)."""
        return replace(
            self,
            line=self.line + lines if self.line is not None else None,
            record=self.record + records if self.record is not None else None,
        )


class ProblemLog:
    """Counts every problem and the records each cost; keeps the first `max_examples` of each kind as examples,
    and the fatal problem always (an example cap must never hide why reading stopped)."""

    def __init__(self, max_examples: int = 100) -> None:
        self.max_examples = max(0, max_examples)
        self.counts: Counter[str] = Counter()
        self.lost: Counter[str] = Counter()
        self.examples: list[FileProblem] = []
        self.fatal: FileProblem | None = None

    def add(self, problem: FileProblem) -> None:
        self.counts[problem.kind] += 1
        if problem.lost:
            self.lost[problem.kind] += problem.lost
        if problem.fatal and self.fatal is None:
            self.fatal = problem
        if self.counts[problem.kind] <= self.max_examples:
            self.examples.append(problem)

    def absorb(self, other: ProblemLog, *, lines: int = 0, records: int = 0) -> None:
        """Count `other`'s problems after this log's, as if they had been found here: the log of the next part of
        a file read on its own, whose lines and records are moved on by `lines` and `records`. The examples kept
        are the same as one log over the whole file keeps, when `other` kept as many of each kind as this one."""
        before = Counter(self.counts)
        for kind, n in other.counts.items():
            self.counts[kind] += n
        self.lost.update(other.lost)
        taken: Counter[str] = Counter()
        for problem in other.examples:
            taken[problem.kind] += 1
            if before[problem.kind] + taken[problem.kind] <= self.max_examples:
                self.examples.append(problem.moved(lines, records))
        if self.fatal is None and other.fatal is not None:
            self.fatal = other.fatal.moved(lines, records)

    def __iter__(self) -> Iterator[FileProblem]:
        return iter(self.examples)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)

    def omitted(self) -> dict[str, int]:
        """Problems counted but not kept as examples, by kind."""
        return {k: n - self.max_examples for k, n in self.counts.items() if n > self.max_examples}


@dataclass
class Ledger:
    """The account of one input, the same for every command: records read, records not read (by cause, every one
    counted), what stopped reading, every other problem, and the notes that lost nothing. Commands that write
    records add what they wrote and what they could not."""

    source: str
    records_read: int
    not_read: dict[str, int]
    fatal: FileProblem | None
    problems: dict[str, int]
    notes: dict[str, int]
    records_written: int | None = None
    not_written: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, source: str, records_read: int, log: ProblemLog) -> Ledger:
        return cls(
            source=source,
            records_read=records_read,
            not_read=dict(sorted(log.lost.items())),
            fatal=log.fatal,
            problems={k: n for k, n in sorted(log.counts.items()) if k not in NOTE_KINDS},
            notes={k: n for k, n in sorted(log.counts.items()) if k in NOTE_KINDS},
        )

    @property
    def records_not_read(self) -> int:
        return sum(self.not_read.values())

    @property
    def records_not_written(self) -> int:
        return sum(self.not_written.values())

    @property
    def complete(self) -> bool:
        """Every record of the input was read (and, for a command that writes, written)."""
        return self.fatal is None and not self.not_read and not self.not_written

    @property
    def clean(self) -> bool:
        """Complete, and no problem other than notes."""
        return self.complete and not self.problems

    @property
    def other_problems(self) -> dict[str, int]:
        """Problems in what was read (values that may be wrong), apart from those that cost records or stopped
        reading."""
        stopped = self.fatal.kind if self.fatal is not None else None
        return {k: n for k, n in self.problems.items() if k not in self.not_read and k != stopped}

    def headline(self) -> str:
        """One line: what was read and lost, and why reading stopped."""
        parts = [f"{self.records_read:,} record(s) read"]
        if self.records_written is not None:
            parts.append(f"{self.records_written:,} written")
        if self.not_read:
            causes = ", ".join(f"{kind} {n:,}" for kind, n in self.not_read.items())
            parts.append(f"{self.records_not_read:,} NOT read ({causes})")
        if self.not_written:
            causes = ", ".join(f"{kind} {n:,}" for kind, n in self.not_written.items())
            parts.append(f"{self.records_not_written:,} NOT written ({causes})")
        text = "; ".join(parts)
        if self.fatal is not None:
            text += f"; reading STOPPED at {self.fatal.describe()} (anything after it was not read)"
        return text

    def lines(self) -> list[str]:
        """The ledger as text lines: the headline, then other problems and notes, all counted."""
        out = [f"input {self.source}: {self.headline()}"]
        others = {
            k: n for k, n in self.problems.items() if k not in self.not_read and k != getattr(self.fatal, "kind", None)
        }
        if others:
            out.append("  file problems: " + ", ".join(f"{kind} {n:,}" for kind, n in others.items()))
        if self.notes:
            out.append("  notes (nothing lost): " + ", ".join(f"{kind} {n:,}" for kind, n in self.notes.items()))
        return out

    def as_json(self) -> dict[str, object]:
        fatal = None
        if self.fatal is not None:
            fatal = {"kind": self.fatal.kind, "line": self.fatal.line, "message": self.fatal.message}
        out: dict[str, object] = {
            "source": self.source,
            "complete": self.complete,
            "records_read": self.records_read,
            "records_not_read": self.records_not_read,
            "not_read_by_cause": self.not_read,
            "fatal": fatal,
            "problems": self.problems,
            "notes": self.notes,
        }
        if self.records_written is not None:
            out["records_written"] = self.records_written
            out["records_not_written"] = self.records_not_written
            out["not_written_by_cause"] = self.not_written
        return out
