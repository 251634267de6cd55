"""Read a DIDS file through and say what it is: version, layout, records, and every file problem, counted."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from conformance.formats._constants import DEFAULT_MAX_RECORD_BYTES
from conformance.formats._model import FileProblem, Ledger
from conformance.formats._submission import open_submission
from conformance.markup import visible


@dataclass
class Inspection:
    """What reading a file through found. `readable` is False when it could not be read as DIDS to the end."""

    file: str
    version: str | None
    format: str | None
    header_row: bool
    readable: bool
    ledger: Ledger
    problems: list[FileProblem]
    problem_counts: dict[str, int]
    examples_omitted: dict[str, int]
    max_examples: int
    first_records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.ledger.records_read

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "version": self.version,
            "format": self.format,
            "header_row": self.header_row,
            "readable": self.readable,
            "records": self.records,
            "input": self.ledger.as_json(),
            "problems": [asdict(p) for p in self.problems],
            "problem_counts": self.problem_counts,
            "examples_omitted": self.examples_omitted,
            "first_records": self.first_records,
        }

    def to_text(self) -> str:
        what = f"DIDS {self.version} {self.format}" if self.readable else "NOT read to the end"
        lines = [f"{self.file}: {what}, {self.records} record(s), {sum(self.problem_counts.values())} file problem(s)"]
        lines += [f"  {p.kind}: {visible(p.describe())}" for p in self.problems]
        for kind, n in self.examples_omitted.items():
            lines.append(f"  ... and {n} more {kind} problem(s) not shown (--max-examples {self.max_examples})")
        lines += ["  " + line for line in self.ledger.lines()]
        for row in self.first_records:
            lines.append(f"  record {row['record']} (line {row['line']}): {json.dumps(row['values'])}")
        return "\n".join(lines) + "\n"


def inspect(
    path: str | Path,
    *,
    version: str | None = None,
    format: str | None = None,
    overrides: Sequence[str | Path] = (),
    validate_xml: bool = False,
    show: int = 0,
    max_examples: int = 100,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    stdin: BinaryIO | None = None,
) -> Inspection:
    """Read `path` through ("-" for standard input); report version, layout, records and every file problem."""
    submission = open_submission(
        path,
        version=version,
        format=format,
        overrides=overrides,
        validate_xml=validate_xml,
        max_examples=max_examples,
        max_record_bytes=max_record_bytes,
        stdin=stdin,
    )
    shown: list[dict[str, Any]] = []
    for record in submission.records():
        if len(shown) < show and submission.pack is not None:
            values = dict(zip(submission.pack.columns, record.values, strict=True))
            shown.append({"record": record.number, "line": record.line, "path": record.path, "values": values})
    problems = submission.problems
    return Inspection(
        file=submission.name,
        version=submission.version,
        format=submission.format,
        header_row=submission.header,
        readable=submission.readable,
        ledger=submission.ledger(),
        problems=list(problems),
        problem_counts=dict(problems.counts),
        examples_omitted=problems.omitted(),
        max_examples=problems.max_examples,
        first_records=shown,
    )
