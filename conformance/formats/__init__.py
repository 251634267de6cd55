"""Reading and writing DIDS files: v1 and v2, CSV and XML, one record at a time.

`open_submission(path)` sniffs the version and layout, then streams `Record`s; everything wrong with the file
itself (encoding, layout, XML syntax, schema) lands in `submission.problems` with its line, never as an exception.
`write_records(records, path, pack=..., format=...)` writes the same four layouts byte-deterministically.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from conformance.formats._csv import read_csv, write_csv
from conformance.formats._detect import Detection, detect, detect_bytes
from conformance.formats._model import PROBLEM_KINDS, FileProblem, ProblemLog, Record
from conformance.formats._xml import XmlRecords, read_xml, write_xml
from conformance.formats._xsd import xml_schema, xsd_text
from conformance.spec import Pack, load_pack

FORMATS = ("csv", "xml")

__all__ = [
    "FORMATS",
    "PROBLEM_KINDS",
    "Detection",
    "FileProblem",
    "ProblemLog",
    "Record",
    "Submission",
    "XmlRecords",
    "detect",
    "detect_bytes",
    "open_submission",
    "read_csv",
    "read_xml",
    "write_csv",
    "write_records",
    "write_xml",
    "xml_schema",
    "xsd_text",
]


class Submission:
    """A DIDS file opened for one streaming pass: its version, layout, the records, and the file problems."""

    def __init__(
        self, path: Path, detection: Detection, pack: Pack | None, problems: ProblemLog, validate_xml: bool
    ) -> None:
        self.path = path
        self.version = detection.version
        self.format = detection.format
        self.header = detection.header
        self.pack = pack
        self.problems = problems
        self._validate_xml = validate_xml
        self._consumed = False

    @property
    def readable(self) -> bool:
        """False when the file could not be read as DIDS at all (the fatal problem says why)."""
        return self.pack is not None and self.problems.fatal is None

    def records(self) -> Iterator[Record]:
        """Stream the records once; file problems accumulate in `problems` as reading goes."""
        if self._consumed:
            raise RuntimeError("a Submission streams its records once; open the file again to re-read it")
        self._consumed = True
        if not self.readable or self.pack is None:
            return iter(())
        if self.format == "xml":
            schema = xml_schema(self.pack) if self._validate_xml else None
            return read_xml(self.path, self.pack, self.problems, schema=schema)
        return read_csv(self.path, self.pack, self.problems, header=self.header)

    def __iter__(self) -> Iterator[Record]:
        return self.records()


def open_submission(
    path: str | Path,
    *,
    version: str | None = None,
    format: str | None = None,
    pack: Pack | None = None,
    overrides: Sequence[str | Path] = (),
    validate_xml: bool = False,
    max_examples: int = 100,
) -> Submission:
    """Open a DIDS file for streaming. `version`/`format` force what detection would guess; `pack` (or `overrides`
    on the bundled pack) supplies the spec. Raises OSError only when the file cannot be opened at all."""
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a directory, not a DIDS file")
    packs = {v: load_pack(v, overrides) for v in ("v1", "v2")}
    if pack is not None:
        packs[pack.version] = pack
        version = version or pack.version
    detection = detect(p, version=version, format=format, packs=packs)
    problems = ProblemLog(max_examples)
    for problem in detection.problems:
        problems.add(problem)
    chosen = packs.get(detection.version) if detection.version and detection.fatal is None else None
    return Submission(p, detection, chosen, problems, validate_xml)


def write_records(
    records: Iterable[Record | Sequence[str]],
    path: str | Path,
    *,
    pack: Pack,
    format: str,
    group_activities: bool = True,
) -> int:
    """Write records to `path` in `format` ("csv" or "xml"); returns the number written."""
    if format == "csv":
        with open(path, "w", encoding="utf-8", newline="") as out:
            return write_csv(records, out, pack)
    if format == "xml":
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            return write_xml(records, out, pack, group=group_activities)
    raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
