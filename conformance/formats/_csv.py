"""Streaming CSV reading and writing for both DIDS versions."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO, cast

from conformance.formats._model import FileProblem, ProblemLog, Record
from conformance.spec import Pack

_BUFFER = 1 << 20


class _Utf8Guard(io.RawIOBase):
    """Passes bytes through unchanged and reports the line of every chunk that is not valid UTF-8.

    Checking whole chunks at C speed keeps the per-row loop free of decoding checks; the text layer above decodes
    with errors="replace", so a bad byte costs one U+FFFD and a reported problem, not the rest of the file.
    """

    def __init__(self, raw: BinaryIO, on_error: Callable[[int, str], None]) -> None:
        super().__init__()
        self._raw = cast(io.BufferedIOBase, raw)  # open(..., "rb") with a buffer size: a BufferedReader
        self._on_error = on_error
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._lines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)
        chunk = bytes(buffer[:n]) if n else b""
        start = 0
        while True:
            try:
                self._decoder.decode(chunk[start:], final=not n)
                break
            except UnicodeDecodeError as exc:
                # exc.object is the decoder's held-back bytes plus chunk[start:]; map its offsets onto chunk.
                shift = len(chunk) - len(exc.object)
                offset = max(exc.start + shift, 0)
                self._on_error(self._lines + chunk.count(b"\n", 0, offset) + 1, exc.reason)
                self._decoder = codecs.getincrementaldecoder("utf-8")()
                start = max(exc.end + shift, start + 1)
                if start >= len(chunk):
                    break
        self._lines += chunk.count(b"\n")
        return n or 0


def read_csv(
    path: str | Path,
    pack: Pack,
    problems: ProblemLog,
    *,
    header: bool,
) -> Iterator[Record]:
    """Yield one Record per CSV data row, reporting rows and bytes that cannot be read as file problems."""
    bad_lines: set[int] = set()

    def on_decode_error(line: int, reason: str) -> None:
        if line not in bad_lines:
            bad_lines.add(line)
            problems.add(FileProblem("encoding", f"bytes that are not valid UTF-8 ({reason})", line=line))

    n_items = len(pack.items)
    with open(path, "rb", buffering=_BUFFER) as raw:
        guarded = io.BufferedReader(_Utf8Guard(raw, on_decode_error), buffer_size=_BUFFER)
        text = io.TextIOWrapper(guarded, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter=pack.csv.delimiter)
        order: list[int | None] | None = None  # header position -> value position, when the header is not exact
        width = n_items
        number = 0
        previous_end = 0
        expect_header = header
        while True:
            try:
                for row in reader:
                    line = previous_end + 1
                    previous_end = reader.line_num
                    if not row:
                        continue  # a blank line carries no data
                    if expect_header:
                        expect_header = False
                        order, width = _read_header(row, pack, problems, line)
                        if order is not None and all(j is None for j in order):
                            return
                        continue
                    number += 1
                    if len(row) != width:
                        problems.add(
                            FileProblem(
                                "column-count",
                                f"row has {len(row)} fields, expected {width}",
                                line=line,
                                record=number,
                            )
                        )
                        continue
                    if order is None:
                        yield Record(number, line, tuple(row))
                    else:
                        yield Record(number, line, tuple(row[j] if j is not None else "" for j in order))
                break
            except csv.Error as exc:
                previous_end = reader.line_num
                number += 1
                problems.add(FileProblem("csv-syntax", str(exc), line=reader.line_num, record=number))
    if number == 0:
        problems.add(FileProblem("no-records", "the file holds no data rows", fatal=False))


def _read_header(row: list[str], pack: Pack, problems: ProblemLog, line: int) -> tuple[list[int | None] | None, int]:
    """Map a header row onto the pack's columns; report every difference. Returns (order or None, width)."""
    names = [name.strip().upper() for name in row]
    columns = [c.upper() for c in pack.columns]
    if names == columns:
        if not pack.csv.header:
            problems.add(
                FileProblem("header-row", "the first row is a header of column names; it is skipped", line=line)
            )
        return None, len(row)
    position = {name: j for j, name in enumerate(names)}
    order = [position.get(c) for c in columns]
    missing = [pack.columns[i] for i, j in enumerate(order) if j is None]
    unknown = [row[j].strip() for j, name in enumerate(names) if name not in set(columns)]
    parts = []
    if missing:
        parts.append(f"missing column(s) {', '.join(missing)} (read as empty)")
    if unknown:
        parts.append(f"unknown column(s) {', '.join(unknown)} (their values are not read)")
    if not missing and not unknown:
        parts.append("columns are in a different order from the layout (read by name)")
    problems.add(FileProblem("header-row", "header row differs from the layout: " + "; ".join(parts), line=line))
    return order, len(row)


def write_csv(
    records: Iterable[Record | Sequence[str]],
    out: TextIO,
    pack: Pack,
    *,
    header: bool | None = None,
) -> int:
    """Write records in the pack's column order; the header follows the layout unless `header` says otherwise.

    `out` must be opened with newline="" so the writer alone decides line endings. Returns the record count.
    """
    writer = csv.writer(
        out, delimiter=pack.csv.delimiter, lineterminator=pack.csv.line_terminator, quoting=csv.QUOTE_MINIMAL
    )
    # QUOTE_MINIMAL quotes only the line terminator's own characters, so a bare "\r" in a value would be written
    # unquoted and read back as a line end. Rows holding one are written fully quoted instead.
    quote_all = csv.writer(
        out, delimiter=pack.csv.delimiter, lineterminator=pack.csv.line_terminator, quoting=csv.QUOTE_ALL
    )
    stray = "\r" if "\r" not in pack.csv.line_terminator else "\n"
    if pack.csv.header if header is None else header:
        writer.writerow(pack.columns)
    width = len(pack.items)
    count = 0
    for record in records:
        values = record.values if isinstance(record, Record) else record
        if len(values) != width:
            raise ValueError(f"record {count + 1} has {len(values)} values; DIDS {pack.version} has {width} items")
        (quote_all if stray in "".join(values) else writer).writerow(values)
        count += 1
    return count
