"""Streaming CSV reading and writing for both DIDS versions."""

from __future__ import annotations

import codecs
import csv
import io
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO, cast

from conformance.files import Replay, Source
from conformance.formats._constants import DEFAULT_MAX_RECORD_BYTES
from conformance.formats._model import FileProblem, ProblemLog, Record, Refused
from conformance.markup import has_control, visible
from conformance.spec import Pack

_BUFFER = 1 << 20
# Bytes XML cannot carry (C0 controls but TAB, LF, CR; NUL too, which the csv module reads as data since Python
# 3.11); found per chunk with bytes.translate, which runs at memory speed where a regular expression costs ~20 ns
# a byte, then located per row.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
# The noncharacters U+FFFE and U+FFFF, which XML cannot carry either (conformance.markup.has_control), in UTF-8.
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")
_BYTE_ORDER_MARK = "\ufeff".encode()


@dataclass(frozen=True, slots=True)
class Span:
    """A byte range of a regular CSV file read on its own: one part of a file checked in parallel
    (conformance/check/parallel.py). `start` is where a row's first line begins (the file's start, or just after a
    line end that no quoted value spans); a span after the first has no header row, so it gets the column layout
    the file's header gave (`order`, `width`: see SpanEnd.layout), or none when the file has no header."""

    start: int
    end: int
    order: tuple[int | None, ...] | None = None
    width: int | None = None


@dataclass(slots=True)
class SpanEnd:
    """How reading a span ended, in the span's own numbering (lines and records counted from its start), for the
    reader of the whole file to join spans: it decides "no-records" and "no-final-newline" on the whole file."""

    rows: int = 0  # rows counted as records, read or not
    lines: int = 0  # line ends in the span
    last_read: int = 0  # the number of the last row read as a record
    previous_end: int = 0  # the line the last row ended on
    ends_with_newline: bool = True
    # The span ended inside a quoted value (its last row was cut off by the span's end), or may have: the next
    # span then did not start at a row, and its reading is not the whole file's.
    open_quote: bool = False
    # The header's column layout (order, width) once the header row has been read or when none is expected;
    # None while a header row is still expected.
    layout: tuple[tuple[int | None, ...] | None, int] | None = None


class _Window(io.RawIOBase):
    """The bytes [start, end) of a regular file."""

    def __init__(self, raw: BinaryIO, start: int, end: int) -> None:
        super().__init__()
        raw.seek(start)
        self._raw = cast(io.BufferedIOBase, raw)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        n = self._raw.readinto(memoryview(buffer)[: self._left]) or 0
        self._left -= n
        return n


def _first_end(chunk: bytes) -> int:
    """Where the first line end (LF or CR, as the csv module reads them) is in `chunk`, or -1."""
    lf, cr = chunk.find(b"\n"), chunk.find(b"\r")
    return lf if cr < 0 else cr if lf < 0 else min(lf, cr)


def _last_end(chunk: bytes) -> int:
    return max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))


class _Guard(io.RawIOBase):
    """Passes a file's bytes through, watching them at C speed per chunk so the per-row loop stays plain:

    - the line of every chunk that is not valid UTF-8 is reported (the text layer above decodes with
      errors="replace", so a bad byte costs one U+FFFD and a reported problem, not the rest of the file);
    - a line longer than `max_line` bytes is cut there (the rest of it is dropped, never held in memory) and its
      number noted in `cut_lines`, so the reader reports that row as not read;
    - `controls` turns on once any chunk holds a control character (or U+FFFE, U+FFFF), so rows are searched only
      from then on (and every row that holds one is searched, however the file is read ahead);
    - `ends_with_newline` says at the end whether the last byte was a line end.

    Lines end as the csv module ends them: at LF, CR or CR LF, so a file with CR line ends (old Macs, some RIS
    exports) is counted line by line, not as one long line.
    """

    def __init__(self, raw: BinaryIO | io.RawIOBase, on_error: Callable[[int, str], None], max_line: int) -> None:
        super().__init__()
        self._raw = cast(io.BufferedIOBase, raw)  # a binary stream with readinto
        self._on_error = on_error
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._lines = 0
        self._max_line = max(max_line, 1024)
        self._run = 0  # bytes since the last line end
        self._dropping = False
        self._after_cr = False  # the last chunk ended with CR: an LF starting the next is the same line end
        self.cut_lines: set[int] = set()
        self.controls = False
        self._tail = b""  # the last bytes of the last chunk, for a noncharacter cut between two chunks
        self.ends_with_newline = True

    def readable(self) -> bool:
        return True

    @property
    def lines(self) -> int:
        """Line ends passed through so far."""
        return self._lines

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
        if not self.controls:
            self.controls = self._has_control(chunk)
        self._lines += self._ends(chunk)
        self._after_cr = chunk.endswith(b"\r")
        self.ends_with_newline = chunk.endswith((b"\n", b"\r"))
        return len(chunk)

    def _has_control(self, chunk: bytes) -> bool:
        if len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk):
            return True
        joint, self._tail = self._tail + chunk[:2], chunk[-2:]
        return any(n in chunk or n in joint for n in _NONCHARACTERS)

    def _ends(self, chunk: bytes) -> int:
        """How many line ends `chunk` holds (CR LF counts once, also when split between two chunks)."""
        ends = chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
        return ends - 1 if self._after_cr and chunk.startswith(b"\n") else ends

    def _limit_lines(self, chunk: bytes) -> bytes:
        first = _first_end(chunk)
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
        self._run = len(chunk) - _last_end(chunk) - 1
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
                self._on_error(self._lines + self._ends(chunk[:offset]) + 1, exc.reason)
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
    span: Span | None = None,
    span_end: SpanEnd | None = None,
) -> Iterator[Record]:
    """Yield one Record per CSV data row. A row that cannot be read is a file problem that counts the records it
    cost: one, or one per line when an unterminated quote swallowed several lines into one bad row.

    With `span`, only those bytes of a regular file are read, numbered from the span's start (a byte-order mark
    and a header row are looked for only at the file's start); how the span ended goes into `span_end`, and
    the problems that concern the whole file ("no-records", "no-final-newline") are left to the caller."""
    inner = span is not None and span.start > 0
    end = span_end if span_end is not None else SpanEnd()
    with source.open() as raw:
        stream = raw if span is None else _Window(raw, span.start, span.end)
        layout = (span.order, span.width) if span is not None and inner else None
        yield from _read_stream(stream, pack, problems, header=header and not inner, cap=max_record_bytes,
                                inner=inner, layout=layout, end=end)  # fmt: skip
    if span_end is None:
        _conclude(problems, end)


def _conclude(problems: ProblemLog, end: SpanEnd) -> None:
    """What a reading of the whole file decides at its end: no records at all, or a last row with no line end."""
    if end.rows == 0:
        problems.add(FileProblem("no-records", "the file holds no data rows", fatal=False))
    elif not end.ends_with_newline and end.last_read == end.rows:
        message = "the last row has no line end: if the file was cut short, that row may be incomplete"
        problems.add(FileProblem("no-final-newline", message, line=end.previous_end, record=end.rows))


def _read_stream(
    stream: BinaryIO | io.RawIOBase,
    pack: Pack,
    problems: ProblemLog,
    *,
    header: bool,
    cap: int,
    inner: bool,
    layout: tuple[tuple[int | None, ...] | None, int | None] | None,
    end: SpanEnd,
) -> Iterator[Record]:
    """The records of a byte stream read from its start, numbered from 1 (read_csv's reading; `inner`: the stream
    starts inside a file, so a byte-order mark is a value's and `layout` is the header's column layout)."""
    bad_lines: set[int] = set()
    # Bad bytes are found as the bytes are read, ahead of the rows: held here and logged with the row they are in,
    # so that problems are logged in file order, whatever was read ahead (and so, the same in spans).
    pending: deque[FileProblem] = deque()

    def on_decode_error(line: int, reason: str) -> None:
        if line not in bad_lines:
            bad_lines.add(line)
            pending.append(FileProblem("encoding", f"bytes that are not valid UTF-8 ({reason})", line=line))

    guard = _Guard(stream, on_decode_error, cap)
    buffered = io.BufferedReader(guard, buffer_size=_BUFFER)
    # utf-8-sig drops a byte-order mark at the start only; a stream that starts later keeps U+FEFF as a value's
    encoding = "utf-8" if inner else "utf-8-sig"
    text = io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline="")
    text._CHUNK_SIZE = _BUFFER  # type: ignore[attr-defined]  # decode in 1 MiB steps, not 8 KiB
    rows = _Rows(csv.reader(text, delimiter=pack.csv.delimiter), guard, pack, problems, cap, pending)
    if layout is not None:
        rows.order = layout[0]
        rows.width = layout[1] if layout[1] is not None else rows.width
    yield from rows.records(header)
    rows.log_pending(None)
    end.rows, end.lines, end.last_read = rows.number, guard.lines, rows.last_read
    end.previous_end, end.ends_with_newline = rows.previous_end, guard.ends_with_newline
    end.open_quote = rows.open_quote
    order = tuple(rows.order) if rows.order is not None else None
    end.layout = None if rows.expect_header else (order, rows.width)


@dataclass(frozen=True, slots=True)
class PlainRows:
    """Rows of a CSV file that need no CSV parsing (see read_csv_blocks), already split: row k is record
    `number + k`, on line `line + k`, and `columns` (a Polars frame of strings, "r0", "r1", ... in the layout's
    order, exactly its width) holds its values as read_csv would give them."""

    number: int
    line: int
    columns: Any  # polars.DataFrame (formats does not import Polars unless a columnar check asks for blocks)

    def __len__(self) -> int:
        return int(self.columns.height)

    def record(self, index: int) -> Record:
        return Record(self.number + index, self.line + index, self.columns.row(index))

    def records(self) -> Iterator[Record]:
        """Every row as a Record, in order (for an observer that wants them all: a progress count)."""
        for index, values in enumerate(self.columns.iter_rows()):
            yield Record(self.number + index, self.line + index, values)


def read_csv_blocks(
    source: Source,
    pack: Pack,
    problems: ProblemLog,
    *,
    header: bool,
    block_bytes: int,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Generator[Record | PlainRows, None, None]:
    """read_csv's reading of a whole regular file, with its runs of plain rows split in bulk by Polars and handed
    over as PlainRows (columns), `block_bytes` at a time (the columnar engine's batch size); every other row is
    read_csv's Record. The records, numbers, lines and problems are read_csv's (tests/test_csv_blocks.py holds
    them equal).

    The file is taken a block of whole lines at a time. A block is plain when the CSV reader could find nothing in
    it but rows of values: no quote, no control character or noncharacter, no carriage return but in CR LF, valid
    UTF-8, no blank line, no line near the size cap, and every line holding exactly the layout's number of
    delimiters, after a header that matched the layout exactly. Any other block is read by read_csv's own reader,
    and from a block with a quote on (a quoted value may hold a line end, so rows may not start at line starts)
    the rest of the file is."""
    reading = _Blocks(pack, problems, header, max_record_bytes)
    with source.open() as handle:
        first = handle.readline(block_bytes)  # the header row (or the first row), with its byte-order mark
        if not first.endswith(b"\n") or b'"' in first:  # the first row may not end at the first line end
            yield from reading.slow(Replay(first, handle), at_start=True)
            first = b""
        else:
            yield from reading.slow(io.BytesIO(first), at_start=True)
        carry = b""
        while first and not reading.finished:
            more = handle.read(block_bytes)
            data = carry + more
            if not data:
                break
            cut = data.rfind(b"\n") + 1
            if not more or not cut or not reading.exact or b'"' in data[:cut]:
                # the end (a last row with no line end), a block with no line end, a layout that is not read by
                # position, or a quote: the CSV reader reads the rest
                yield from reading.slow(Replay(data, handle), at_start=False)
                break
            chunk, carry = data[:cut], data[cut:]
            del data, more  # (each name dropped once used: while the next block is read, none keeps this one)
            plain = reading.plain(chunk)
            if plain is None:
                yield from reading.slow(io.BytesIO(chunk), at_start=False)
            else:
                del chunk
                yield plain
                del plain
    _conclude(problems, reading.done)


class _Blocks:
    """read_csv_blocks' account of the file so far: rows, lines and how the last row ended (a SpanEnd for the
    whole file up to here), and the header's layout."""

    def __init__(self, pack: Pack, problems: ProblemLog, header: bool, cap: int) -> None:
        self.pack, self.problems, self.cap = pack, problems, cap
        self.header_pending = header
        self.layout: tuple[tuple[int | None, ...] | None, int | None] = (None, len(pack.items))
        self.done = SpanEnd()
        self.delimiter = pack.csv.delimiter
        self.commas = len(pack.items) - 1
        self.max_line = max(cap, 1024)  # as _Guard caps a line
        self.finished = False

    @property
    def exact(self) -> bool:
        """Rows are read by position, at the layout's width: a block may be plain."""
        return not self.header_pending and self.layout == (None, len(self.pack.items))

    def slow(self, stream: BinaryIO | io.RawIOBase, *, at_start: bool) -> Iterator[Record]:
        """read_csv's own reading of `stream` (the file's start, or bytes starting at a row), moved on past what
        has been read so far."""
        done = self.done
        rows, lines = done.rows, done.lines
        local = ProblemLog(self.problems.max_examples)
        end = SpanEnd()
        layout = None if at_start else self.layout
        for record in _read_stream(stream, self.pack, local, header=self.header_pending, cap=self.cap,
                                   inner=not at_start, layout=layout, end=end):  # fmt: skip
            yield record if not (rows or lines) else Record(record.number + rows, record.line + lines, record.values)
        self.problems.absorb(local, lines=lines, records=rows)
        if end.last_read:
            done.last_read = end.last_read + rows
        if end.previous_end:
            done.previous_end = end.previous_end + lines
        done.rows += end.rows
        done.lines += end.lines
        done.ends_with_newline = end.ends_with_newline
        if end.layout is not None:
            self.header_pending = False
            self.layout = end.layout
            order = end.layout[0]
            # a header that names none of the layout's columns: the reader reads nothing after it
            self.finished = order is not None and all(j is None for j in order)

    def plain(self, chunk: bytes) -> PlainRows | None:
        """`chunk` (whole lines) as PlainRows when it is plain (see read_csv_blocks), else None. What makes it plain
        is looked for in the bytes; the rows are split by Polars' CSV reader with quoting off (a third of the cost
        of Python's str.split), and a row that holds too many values is its error."""
        import polars as pl

        separator = self.delimiter.encode("utf-8")
        if len(separator) != 1:
            return None  # Polars splits at a byte
        crlf = b"\r" in chunk
        if crlf:
            if chunk.count(b"\r") != chunk.count(b"\r\n"):
                return None
            chunk = chunk.replace(b"\r\n", b"\n")
        if not self.commas and (chunk.startswith(b"\n") or b"\n\n" in chunk):
            return None  # a blank line, which the reader skips (counting its line); else the delimiter count finds it
        if len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk):
            return None
        if not chunk.isascii():  # (ASCII holds neither a noncharacter nor a byte-order mark)
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError:
                return None
            if any(n in chunk for n in _NONCHARACTERS):
                return None
            if _BYTE_ORDER_MARK in chunk:
                return None  # Polars drops one at the start; the reader keeps it as part of a value
        # No row holds more than the layout's number of delimiters (Polars' reader raises), and all the rows
        # together hold exactly that number each: so each row holds exactly that number.
        count = chunk.count(b"\n")
        if chunk.count(separator) != self.commas * count:
            return None
        names = [f"r{p}" for p in range(self.commas + 1)]
        try:
            columns = pl.read_csv(chunk, has_header=False, separator=self.delimiter, quote_char=None,
                                  infer_schema=False, new_columns=names, empty_string_is_null=False,
                                  truncate_ragged_lines=False)  # fmt: skip
        except pl.exceptions.PolarsError:
            return None
        if columns.shape != (count, len(names)):
            return None
        # A line near the cap _Guard puts on a line (its CR included) is the reader's to refuse (a line's bytes are
        # its values' and its delimiters'), and so is a value over the csv module's field size limit (counted in
        # characters, which are never more than its bytes)
        sizes = pl.all().str.len_bytes()
        longest, widest = columns.select(
            pl.sum_horizontal(sizes).max().alias("line"), pl.max_horizontal(sizes.max()).alias("value")
        ).row(0)
        if longest is None or longest + self.commas * len(separator) >= self.max_line - crlf:
            return None
        if widest > csv.field_size_limit():
            return None
        done = self.done
        block = PlainRows(done.rows + 1, done.lines + 1, columns)
        done.rows += count
        done.lines += count
        done.last_read = done.rows
        done.previous_end = done.lines
        done.ends_with_newline = True
        return block


class _Rows:
    """The rows of one CSV read, and what became of each: a record, a header, or a row not read and why."""

    def __init__(
        self, reader: Any, guard: _Guard, pack: Pack, problems: ProblemLog, cap: int, pending: deque[FileProblem]
    ) -> None:
        self.reader, self.guard, self.pack, self.problems, self.cap = reader, guard, pack, problems, cap
        self.pending = pending  # problems found in bytes read ahead, logged when their row is reached
        self.order: Sequence[int | None] | None = None  # header position -> value position, when not exact
        self.width = len(pack.items)
        self.number = 0  # rows counted as records (read or not)
        self.previous_end = 0  # the line the last row ended on
        self.last_read = 0  # the number of the last row read as a record
        self.expect_header = False
        # The last row ended at the end of the input inside a quoted value, or may have: a quoted value holds the
        # line ends it spans, and a line end outside quotes ends a row, so a last value ending in one is suspect.
        self.open_quote = False

    def records(self, header: bool) -> Iterator[Record]:
        self.expect_header = header
        while True:
            row: list[str] | None = None
            try:
                for row in self.reader:
                    line = self._started()
                    if not row:
                        continue  # a blank line carries no data
                    if self._cut(line):
                        continue
                    if self.expect_header:
                        self.expect_header = False
                        self.order, self.width = _read_header(row, self.pack, self.problems, line)
                        if self.order is not None and all(j is None for j in self.order):
                            self.open_quote = True  # nothing after the header is read: no span may follow
                            return
                        continue
                    record = self._record(row, line)
                    if record is not None:
                        yield record
                if row:
                    self.open_quote = row[-1].endswith(("\n", "\r"))
                return
            except csv.Error as exc:
                # The reader drops the rest of the line and starts afresh at the next one.
                line = self._started()
                if not self._cut(line):
                    self.number += 1
                    spanned = self.previous_end - line + 1
                    self.problems.add(FileProblem("csv-syntax", str(exc), line=line, record=self.number, lost=spanned))

    def _started(self) -> int:
        """The line the row just read started on (the csv module counts the line it ended on)."""
        line = self.previous_end + 1
        self.previous_end = self.reader.line_num
        if self.pending:
            self.log_pending(self.previous_end)
        return line

    def log_pending(self, upto: int | None) -> None:
        """Log the problems held for lines up to `upto` (None: all of them)."""
        pending = self.pending
        while pending and (upto is None or (pending[0].line or 0) <= upto):
            self.problems.add(pending.popleft())

    def _cut(self, line: int) -> bool:
        """True (and the row is reported as not read) when the guard cut one of its lines at the size cap."""
        cut = self.guard.cut_lines
        hit = [n for n in cut if line <= n <= self.previous_end] if cut else []
        for n in hit:
            cut.discard(n)
        if hit:
            self.number += 1
            self.problems.add(_too_long(line, self.number, self.cap))
        return bool(hit)

    def _record(self, row: list[str], line: int) -> Record | None:
        self.number += 1
        spanned = self.previous_end - line + 1
        if len(row) != self.width:
            message = f"row has {len(row)} fields, expected {self.width}"
            if spanned > 1:
                message += f"; it runs over {spanned} lines (an unterminated quote?)"
            self.problems.add(FileProblem("column-count", message, line=line, record=self.number, lost=spanned))
            return None
        if spanned > 1:
            # No DIDS value holds a line break: a quoted value over several lines is a stray or unterminated quote
            # that has swallowed the rows between, even when the field count happens to come out right.
            message = f"a quoted value runs over {spanned} lines (a stray quote?); the rows it swallowed are not read"
            self.problems.add(FileProblem("row-spans-lines", message, line=line, record=self.number, lost=spanned))
            return None
        order = self.order
        values = tuple(row) if order is None else tuple(row[j] if j is not None else "" for j in order)
        if self.guard.controls:
            _report_controls(values, self.pack, self.problems, line, self.number)
        self.last_read = self.number
        return Record(self.number, line, values)


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
    on_refused: Refused | None = None,
) -> int:
    """Write records in the pack's column order; the header follows the layout unless `header` says otherwise.

    `out` must be opened with newline="" so the writer alone decides line endings. No DIDS value holds a line
    break, and the reader takes a quoted value over several lines for rows swallowed by a stray quote: a record
    with one raises ValueError, or, with `on_refused(record number, value position, "line-break")`, is reported
    there and left out. Returns the number of records written.
    """
    writer = csv.writer(
        out, delimiter=pack.csv.delimiter, lineterminator=pack.csv.line_terminator, quoting=csv.QUOTE_MINIMAL
    )
    if pack.csv.header if header is None else header:
        writer.writerow(pack.columns)
    width = len(pack.items)
    count = seen = 0
    for record in records:
        values = record.values if isinstance(record, Record) else record
        seen += 1
        if len(values) != width:
            raise ValueError(f"record {seen} has {len(values)} values; DIDS {pack.version} has {width} items")
        joined = "".join(values)
        if "\n" in joined or "\r" in joined:
            position = next(i for i, v in enumerate(values) if "\n" in v or "\r" in v)
            number = record.number if isinstance(record, Record) else seen
            if on_refused is None:
                raise ValueError(
                    f"record {number}: {pack.items[position].id} holds a line break, which CSV cannot carry"
                )
            on_refused(number, position, "line-break")
            continue
        writer.writerow(values)
        count += 1
    return count
