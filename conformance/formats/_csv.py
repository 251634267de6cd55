"""Streaming CSV reading and writing for both DIDS versions."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import BinaryIO, TextIO, cast

from conformance.files import Source
from conformance.formats._model import DEFAULT_MAX_RECORD_BYTES, FileProblem, ProblemLog, Record
from conformance.markup import has_control, visible
from conformance.spec import Pack

_BUFFER = 1 << 20
# Bytes XML cannot carry (C0 controls but TAB, LF, CR; NUL is the csv module's own error); found per chunk with
# bytes.translate, which runs at memory speed where a regular expression costs ~20 ns a byte, then located per row.
_CONTROL_BYTES = bytes([*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])


class _Guard(io.RawIOBase):
    """Passes a file's bytes through, watching them at C speed per chunk so the per-row loop stays plain:

    - the line of every chunk that is not valid UTF-8 is reported (the text layer above decodes with
      errors="replace", so a bad byte costs one U+FFFD and a reported problem, not the rest of the file);
    - a line longer than `max_line` bytes is cut there (the rest of it is dropped, never held in memory) and its
      number noted in `cut_lines`, so the reader reports that row as not read;
    - `controls` turns on once any chunk holds a control character, so rows are searched only from then on;
    - `ends_with_newline` says at the end whether the last byte was a line end.
    """

    def __init__(self, raw: BinaryIO, on_error: Callable[[int, str], None], max_line: int) -> None:
        super().__init__()
        self._raw = cast(io.BufferedIOBase, raw)  # a binary stream with readinto
        self._on_error = on_error
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._lines = 0
        self._max_line = max(max_line, 1024)
        self._run = 0  # bytes since the last line end
        self._dropping = False
        self.cut_lines: set[int] = set()
        self.controls = False
        self.ends_with_newline = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        # Read at most max_line bytes at a time, so that a line wholly inside one chunk is never over the cap.
        view = memoryview(buffer)[: self._max_line]
        while True:
            n = self._raw.readinto(view) or 0
            if not n:
                self._check_utf8(b"", final=True)
                return 0
            chunk = self._limit_lines(bytes(view[:n]))
            if chunk:
                break  # a chunk wholly inside a line being dropped gives nothing: read on
        view[: len(chunk)] = chunk
        self._check_utf8(chunk, final=False)
        if not self.controls and len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk):
            self.controls = True
        self._lines += chunk.count(b"\n")
        self.ends_with_newline = chunk.endswith(b"\n")
        return len(chunk)

    def _limit_lines(self, chunk: bytes) -> bytes:
        first = chunk.find(b"\n")
        if first < 0:
            if self._dropping:
                return b""
            if self._run + len(chunk) <= self._max_line:
                self._run += len(chunk)
                return chunk
            keep = self._max_line - self._run
            self._dropping = True
            self.cut_lines.add(self._lines + 1)
            self._run = self._max_line
            return chunk[:keep]
        head = b""
        if self._dropping:
            self._dropping = False
            chunk = chunk[first:]  # resume at the line end that closes the cut line
        elif self._run + first > self._max_line:
            self.cut_lines.add(self._lines + 1)
            head, chunk = chunk[: self._max_line - self._run], chunk[first:]
        self._run = len(chunk) - chunk.rfind(b"\n") - 1
        return head + chunk

    def _check_utf8(self, chunk: bytes, *, final: bool) -> None:
        start = 0
        while True:
            try:
                self._decoder.decode(chunk[start:], final=final)
                return
            except UnicodeDecodeError as exc:
                # exc.object is the decoder's held-back bytes plus chunk[start:]; map its offsets onto chunk.
                shift = len(chunk) - len(exc.object)
                offset = max(exc.start + shift, 0)
                self._on_error(self._lines + chunk.count(b"\n", 0, offset) + 1, exc.reason)
                self._decoder = codecs.getincrementaldecoder("utf-8")()
                start = max(exc.end + shift, start + 1)
                if start >= len(chunk):
                    return


def read_csv(
    source: Source,
    pack: Pack,
    problems: ProblemLog,
    *,
    header: bool,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Iterator[Record]:
    """Yield one Record per CSV data row. A row that cannot be read is a file problem that counts the records it
    cost: one, or one per line when an unterminated quote swallowed several lines into one bad row."""
    bad_lines: set[int] = set()

    def on_decode_error(line: int, reason: str) -> None:
        if line not in bad_lines:
            bad_lines.add(line)
            problems.add(FileProblem("encoding", f"bytes that are not valid UTF-8 ({reason})", line=line))

    n_items = len(pack.items)
    with source.open() as raw:
        guard = _Guard(raw, on_decode_error, max_record_bytes)
        buffered = io.BufferedReader(guard, buffer_size=_BUFFER)
        text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline="")
        text._CHUNK_SIZE = _BUFFER  # type: ignore[attr-defined]  # decode in 1 MiB steps, not 8 KiB
        reader = csv.reader(text, delimiter=pack.csv.delimiter)
        order: list[int | None] | None = None  # header position -> value position, when the header is not exact
        width = n_items
        number = 0
        previous_end = 0
        expect_header = header
        cut = guard.cut_lines
        last_read = 0  # the number of the last row read as a record

        def cut_in(first: int, last: int) -> bool:
            hit = [n for n in cut if first <= n <= last]
            for n in hit:
                cut.discard(n)
            return bool(hit)

        while True:
            try:
                for row in reader:
                    line = previous_end + 1
                    previous_end = reader.line_num
                    if not row:
                        continue  # a blank line carries no data
                    if cut and cut_in(line, previous_end):
                        number += 1
                        problems.add(_too_long(line, number, max_record_bytes))
                        continue
                    if expect_header:
                        expect_header = False
                        order, width = _read_header(row, pack, problems, line)
                        if order is not None and all(j is None for j in order):
                            return
                        continue
                    number += 1
                    if len(row) != width:
                        spanned = previous_end - line + 1
                        problems.add(
                            FileProblem(
                                "column-count",
                                f"row has {len(row)} fields, expected {width}"
                                + (f"; it runs over {spanned} lines (an unterminated quote?)" if spanned > 1 else ""),
                                line=line,
                                record=number,
                                lost=spanned,
                            )
                        )
                        continue
                    values = tuple(row) if order is None else tuple(row[j] if j is not None else "" for j in order)
                    if guard.controls:
                        _report_controls(values, pack, problems, line, number)
                    last_read = number
                    yield Record(number, line, values)
                break
            except csv.Error as exc:
                line = previous_end + 1
                previous_end = reader.line_num
                number += 1
                if cut and cut_in(line, previous_end):
                    problems.add(_too_long(line, number, max_record_bytes))
                    continue
                spanned = previous_end - line + 1
                problems.add(FileProblem("csv-syntax", str(exc), line=line, record=number, lost=spanned))
    if number == 0:
        problems.add(FileProblem("no-records", "the file holds no data rows", fatal=False))
    elif not guard.ends_with_newline and last_read == number:
        problems.add(
            FileProblem(
                "no-final-newline",
                "the last row has no line end: if the file was cut short, that row may be incomplete",
                line=previous_end,
                record=number,
            )
        )


def _too_long(line: int, number: int, cap: int) -> FileProblem:
    return FileProblem(
        "row-too-long",
        f"the row is longer than {cap:,} bytes (the record size cap); it is not read",
        line=line,
        record=number,
        lost=1,
    )


def _report_controls(values: tuple[str, ...], pack: Pack, problems: ProblemLog, line: int, number: int) -> None:
    for position, value in enumerate(values):
        if has_control(value):
            column = pack.columns[position]
            problems.add(
                FileProblem(
                    "control-character",
                    f"{column} holds a control character ({visible(value)!r})",
                    line=line,
                    record=number,
                    field=pack.items[position].id,
                )
            )


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
    problems.add(FileProblem("header-columns", "header row differs from the layout: " + "; ".join(parts), line=line))
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
