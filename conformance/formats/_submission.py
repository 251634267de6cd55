"""A DIDS file opened for one streaming pass, and records written back whole."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from conformance.files import OutputSet, Source, open_input
from conformance.formats._ahead import read_ahead
from conformance.formats._constants import DEFAULT_MAX_RECORD_BYTES, FORMATS
from conformance.formats._csv import PlainRows, Span, SpanEnd, read_csv, read_csv_blocks, write_csv
from conformance.formats._detect import Detection, detect_bytes
from conformance.formats._model import Ledger, ProblemLog, Record, Refused
from conformance.spec import VERSIONS, Pack, PackError, load_pack


class Submission:
    """A DIDS file opened for one streaming pass: its version, layout, the records, and the file problems.

    After the pass, `ledger()` accounts for the input: records read, records not read by cause, what stopped
    reading, other problems and notes."""

    def __init__(
        self,
        source: Source,
        detection: Detection,
        pack: Pack | None,
        problems: ProblemLog,
        validate_xml: bool,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        self.source = source
        self.path = source.path if source.path is not None else Path(source.name)
        self.name = source.name
        self.version = detection.version
        self.format = detection.format
        self.header = detection.header
        self.pack = pack
        self.problems = problems
        self.records_read = 0
        self._validate_xml = validate_xml
        self._max_record_bytes = max_record_bytes
        self._consumed = False
        self._literal = False
        self._span: Span | None = None
        self.span_end: SpanEnd | None = None  # how reading a span ended, after the pass (see read_span)

    @property
    def readable(self) -> bool:
        """False when the file could not be read as DIDS at all (the fatal problem says why)."""
        return self.pack is not None and self.problems.fatal is None

    def read_literally(self) -> None:
        """Read a CSV as NHS England's DSP does (Spark's CSV reader): a header row is a record like any other (a
        byte-order mark is dropped, as Spark drops it: seen in the DSP differential oracle). Call before
        `records()`; XML is read as ever."""
        if self.format == "csv":
            self._literal = True

    @property
    def header_expected(self) -> bool:
        """The CSV reader takes the first row as a header (v2; v1 with a header row, unless read literally)."""
        return self.format == "csv" and self.header and not self._literal

    def read_span(self, span: Span) -> None:
        """Read only the bytes of `span` of a regular CSV file, as one part of a file checked in parallel: records,
        lines and problems are numbered from the span's start, the problems already found (by detection, which
        saw the file's start) are left to the caller, and `span_end` says how reading ended. Call before
        `records()`."""
        if self.format != "csv" or self.source.is_stdin:
            raise ValueError("only a regular CSV file can be read a span at a time")
        self._span = span
        self.span_end = SpanEnd()
        self.problems = ProblemLog(self.problems.max_examples)

    def records(self) -> Iterator[Record]:
        """Stream the records once; file problems accumulate in `problems` as reading goes."""
        if self._consumed:
            raise RuntimeError("a Submission streams its records once; open the file again to re-read it")
        self._consumed = True
        if not self.readable or self.pack is None:
            return iter(())
        if self.format == "xml":
            from conformance.formats._xml import read_xml  # lxml: imported by XML files only
            from conformance.formats._xsd import xml_schema

            schema = xml_schema(self.pack) if self._validate_xml else None
            reader = read_xml(
                self.source, self.pack, self.problems, schema=schema, max_record_bytes=self._max_record_bytes
            )
        else:
            reader = read_csv(
                self.source,
                self.pack,
                self.problems,
                header=self.header_expected,
                max_record_bytes=self._max_record_bytes,
                span=self._span,
                span_end=self.span_end,
            )
        return self._counted(reader)

    def blocks(self, block_bytes: int, *, ahead: bool = False) -> Generator[Record | PlainRows, None, None]:
        """The records as `records()` gives them, but for a regular CSV file read whole, runs of plain rows handed
        over as columns, `block_bytes` at a time (formats/_csv.py read_csv_blocks), for a reader that takes them in
        bulk (the columnar engine). Anything else is `records()`. With `ahead`, a regular CSV file is read by a
        thread one block ahead of the caller (formats/_ahead.py)."""
        if (
            self.format != "csv"
            or self.source.is_stdin
            or self._span is not None
            or not self.readable
            or self.pack is None
        ):
            yield from self.records()
            return
        if self._consumed:
            raise RuntimeError("a Submission streams its records once; open the file again to re-read it")
        self._consumed = True
        reader = read_csv_blocks(
            self.source,
            self.pack,
            self.problems,
            header=self.header_expected,
            max_record_bytes=self._max_record_bytes,
            block_bytes=block_bytes,
        )
        if ahead:
            reader = read_ahead(reader, alone=PlainRows)
        try:
            for item in reader:
                self.records_read += len(item) if isinstance(item, PlainRows) else 1
                yield item
                del item  # (a block is not kept while the next is read)
            self.source.check_unchanged()
        finally:
            # closed here, when this is closed (not whenever the reader is collected), so that what closing the
            # read-ahead raises (a second interrupt while it stops its thread) reaches the caller, not stderr
            reader.close()

    def _counted(self, reader: Iterator[Record]) -> Iterator[Record]:
        for record in reader:
            self.records_read += 1
            yield record
        self.source.check_unchanged()  # read to the end: of the file as it was when opened?

    def position(self) -> tuple[int, int] | None:
        """(bytes read so far, size) of a regular file being read, for a progress bar; None otherwise."""
        return self.source.position()

    def __iter__(self) -> Iterator[Record]:
        return self.records()

    def ledger(self) -> Ledger:
        """The account of what has been read so far (call it after the pass)."""
        return Ledger.of(self.name, self.records_read, self.problems)


def open_submission(
    path: str | Path,
    *,
    version: str | None = None,
    format: str | None = None,
    pack: Pack | None = None,
    overrides: Sequence[str | Path] = (),
    validate_xml: bool = False,
    max_examples: int = 100,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    stdin: BinaryIO | None = None,
) -> Submission:
    """Open a DIDS file for streaming: a regular file, or "-" for standard input (one pass). `version`/`format`
    force what detection would guess; `pack` (or `overrides` on the bundled pack) supplies the spec.
    `max_record_bytes` caps one record (a CSV row, an XML DIDSRecord) held in memory. Raises InputError when the
    path is not a regular file (a FIFO, a device, a folder) and OSError when it cannot be opened at all."""
    source = open_input(path, stdin=stdin)
    packs, refused = _packs(overrides)
    if pack is not None:
        packs[pack.version] = pack
        refused.pop(pack.version, None)
        version = version or pack.version
    detection = detect_bytes(source.head, version=version, format=format, packs=packs)
    if detection.version in refused:
        raise refused[detection.version]
    problems = ProblemLog(max_examples)
    for problem in detection.problems:
        problems.add(problem)
    chosen = packs.get(detection.version) if detection.version and detection.fatal is None else None
    return Submission(source, detection, chosen, problems, validate_xml, max_record_bytes)


def _packs(overrides: Sequence[str | Path]) -> tuple[dict[str, Pack], dict[str, PackError]]:
    """Both versions' packs with the overrides applied. An override written for one version (a v1 rule, say) does
    not fit the other: that version is detected with its bundled pack, and the error raised only if the file is
    of that version."""
    packs: dict[str, Pack] = {}
    refused: dict[str, PackError] = {}
    for version in VERSIONS:
        try:
            packs[version] = load_pack(version, overrides)
        except PackError as exc:
            if not overrides:
                raise
            refused[version] = exc
            packs[version] = load_pack(version)
    return packs, refused


def write_records(
    records: Iterable[Record | Sequence[str]],
    path: str | Path,
    *,
    pack: Pack,
    format: str,
    group_activities: bool = True,
    on_refused: Refused | None = None,
) -> int:
    """Write records to `path` in `format` ("csv" or "xml"), whole or not at all; returns the number written.
    `on_refused(record number, value position, cause)` receives the records the layout cannot carry (else
    ValueError): a control character in XML, a line break in CSV."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    with OutputSet() as outputs:
        if format == "csv":
            with outputs.text(path, newline="") as out:
                return write_csv(records, out, pack, on_refused=on_refused)
        from conformance.formats._xml import write_xml

        with outputs.text(path, newline="\n") as out:
            return write_xml(records, out, pack, group=group_activities, on_refused=on_refused)
