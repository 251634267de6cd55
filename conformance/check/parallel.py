"""`check(path, jobs=N)`: one CSV file checked in worker processes, with the report one process gives, byte for byte.

The file is cut into spans at line starts (conformance.formats.Span). Each worker checks one span with the public
`check(path, part=span)`, so whichever engine `check` runs does the work, and hands back the span's record
findings (the first `max_examples` of each rule, every one counted), its rejected records as bits, its file
problems and how its reading ended, and its uniqueness keys as 64-bit digests in arrays: all numbered from the
span's start. This process joins them in file order: records and lines moved on by the spans before, examples
capped as one pass caps them, the keys met by the uniqueness rule in file order (so a key first seen in the first
span and repeated in the third is reported as one pass reports it), and then, once, on the whole: the file's own
findings, "no-records" and "no-final-newline", the DSP's file reject, the input ledger and the sort.

Where a span may start. The csv reader ends a row only at a line end outside quotes, and a quoted value keeps the
line ends it spans. So every span starts just after a line end (never between the CR and LF of a CR LF), and a
worker reports when its last row ends in a line end (SpanEnd.open_quote): it may have stopped inside a quoted
value, and the next span may not start at a row. Then the spans from that one on are checked again as one, from
its start, which is a row's start; the report is the same bytes, only later. A byte-order mark and the header row
are read by the first span only; the others get the header's column layout from this process, which reads the
first 64 KiB as the reader does.

One process checks (and says why at INFO on this module's logger): standard input, XML (the schema validates the
whole document; `--jobs` applies to CSV), a file under `MIN_BYTES` (a worker costs more to start than it saves), a
caller's observer of every record, reference data another process cannot open, and a header row that does not end
within the first 64 KiB.
"""

from __future__ import annotations

import logging
import math
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, BinaryIO

from conformance.check._context import make_context
from conformance.check._engine import Options, Run, _from_case_context, check, conclude, prepare
from conformance.check._model import Finding, PartOutcome, Report
from conformance.check.reference import ReferenceData, load_reference
from conformance.formats import FileProblem, ProblemLog, Record, Span, SpanEnd, Submission, read_csv

__all__ = ["MIN_BYTES", "Options", "check_parallel", "check_span", "cores"]

log = logging.getLogger(__name__)

MIN_BYTES = 4 * 1024 * 1024  # below this a file is checked in one process
SPANS_PER_JOB = 2  # spans per worker, so that one slow span leaves less of the others idle
MAX_SPAN_BYTES = 256 * 1024 * 1024  # a bound on what one worker holds for its span (its keys and their values)
HEAD_BYTES = 64 * 1024  # the header row must end within these

# What a worker needs to open the same reference data: load_reference's argument and the local-code mapping.
Recipe = tuple[str, dict[tuple[str, str], str]]


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_parallel(
    path: str | Path,
    options: Options,
    *,
    jobs: int,
    observe: Callable[[Submission], Callable[[Record], None]] | None = None,
    span_bytes: int | None = None,
    min_bytes: int = MIN_BYTES,
    in_process: bool = False,
) -> Report:
    """Check `path` with `jobs` worker processes (0: one per core); the report is the one `check(path)` gives.
    Like any use of multiprocessing, a script that calls this needs the `if __name__ == "__main__":` guard.

    For tests: `span_bytes` bounds a span's size (to force many small spans), `min_bytes` is the smallest file
    worth the workers, and `in_process` checks the spans here, one after another (the cutting and joining
    alone, without the cost of starting workers)."""
    if jobs < 0:
        raise ValueError(f"jobs must be 0 (one per core) or more, not {jobs}")
    workers = cores() if jobs == 0 else jobs
    recipe = _recipe(options.reference)
    why = _one_process_before_opening(path, workers, observe, min_bytes, recipe is not None)
    if why is not None:
        return _in_one_process(path, options, observe, why)
    if isinstance(options.context, Mapping):  # a corpus case's context: its reference data loaded here, once
        context, reference = _from_case_context(options.context, options.reference)
        options = replace(options, context=context, reference=reference)
        recipe = _recipe(reference)
    if recipe is None:
        return _in_one_process(path, options, observe, "its reference data cannot be opened by another process")
    options = replace(options, context=options.context or make_context())  # one "now" for every worker
    run = prepare(path, options)
    spans, why = _spans(run, Path(path), workers, span_bytes, options.max_record_bytes)
    if why is not None:
        return _in_one_process(path, options, observe, why)
    shipped = replace(options, reference=None)
    parts = _parts(Path(path), spans, shipped, recipe, 0 if in_process else min(workers, len(spans)))
    _join(run, parts)
    conclude(run)
    return run.report


def _recipe(reference: ReferenceData | None) -> Recipe | None:
    if reference is None:
        return "none", {}
    if reference.origin is None:
        return None
    return reference.origin, reference.local_nicip


def _one_process_before_opening(
    path: str | Path, workers: int, observe: object, min_bytes: int, shippable: bool
) -> str | None:
    if workers == 1:
        return "one worker (--jobs 1, or 0 on one core)"
    if str(path) == "-":
        return "standard input is read in one pass"
    if observe is not None:
        return "an observer must see every record"
    if not shippable:
        return "its reference data cannot be opened by another process"
    try:
        size = os.stat(path).st_size
    except OSError:
        return "it cannot be read as a regular file"  # check() says why
    if size < min_bytes:
        return f"it is under {min_bytes:,} bytes"
    return None


def _in_one_process(
    path: str | Path, options: Options, observe: Callable[[Submission], Callable[[Record], None]] | None, why: str
) -> Report:
    log.info("%s: checked in one process: %s", path, why)
    return check(path, **_keywords(options), observe=observe)


def _keywords(options: Options) -> dict[str, Any]:
    return {f.name: getattr(options, f.name) for f in fields(options)}


# --------------------------------------------------------------------------------------------------------------
# Cutting the file
# --------------------------------------------------------------------------------------------------------------


def _spans(
    run: Run, path: Path, workers: int, span_bytes: int | None, max_record_bytes: int
) -> tuple[list[Span], str | None]:
    """The spans to check, or why the file is checked in one process."""
    submission = run.submission
    if submission.format != "csv":
        return [], "--jobs applies to CSV files; an XML file is checked in one process"
    size = path.stat().st_size
    order: tuple[int | None, ...] | None = None
    width: int | None = None
    first = 1
    if submission.header_expected:
        layout = _header_layout(run, path, max_record_bytes)
        if layout is None:
            return [], "its header row does not end within the first 64 KiB"
        order, width, first = layout
    wanted = workers * SPANS_PER_JOB
    wanted = max(wanted, math.ceil(size / MAX_SPAN_BYTES))
    if span_bytes is not None:
        wanted = max(wanted, math.ceil(size / max(span_bytes, 1)))
    starts = [0]
    with open(path, "rb") as handle:
        for i in range(1, wanted):
            at = _line_start(handle, max(size * i // wanted, first, starts[-1] + 1))
            if at is None or at >= size:
                break
            if at > starts[-1]:
                starts.append(at)
    if len(starts) < 2:
        return [], "it holds no line end to cut it at"
    ends = [*starts[1:], size]
    return [Span(start, end, order, width) for start, end in zip(starts, ends, strict=True)], None


def _header_layout(
    run: Run, path: Path, max_record_bytes: int
) -> tuple[tuple[int | None, ...] | None, int | None, int] | None:
    """The column layout the header row gives and where the line after it starts, read as the reader reads them
    (blank lines before it skipped, a byte-order mark dropped); None when that is not within HEAD_BYTES, or when
    the header leaves nothing after it to read."""
    at = 0
    with open(path, "rb") as handle:
        while True:
            head = _line_start(handle, at)
            if head is None or head > HEAD_BYTES:
                return None
            end = SpanEnd()
            rows = read_csv(
                run.submission.source, run.pack, ProblemLog(0), header=True, max_record_bytes=max_record_bytes,
                span=Span(0, head), span_end=end,
            )  # fmt: skip
            for _ in rows:
                pass
            if end.layout is not None and not end.open_quote:
                return end.layout[0], end.layout[1], head
            at = head


def _line_start(handle: BinaryIO, at: int) -> int | None:
    """The first line start after `at`: just past the next LF, CR LF or lone CR (as the csv module ends lines),
    never between a CR and its LF; None at the end of the file."""
    handle.seek(at)
    position = at
    while True:
        block = handle.read(1 << 16)
        if not block:
            return None
        lf, cr = block.find(b"\n"), block.find(b"\r")
        end = lf if cr < 0 else cr if lf < 0 else min(lf, cr)
        if end >= 0:
            start = position + end + 1
            if block[end] == 0x0D:
                after = block[end + 1 : end + 2]
                if not after:
                    handle.seek(start)
                    after = handle.read(1)
                if after == b"\n":
                    start += 1
            return start
        position += len(block)


# --------------------------------------------------------------------------------------------------------------
# Checking the spans
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _Part:
    """One span's results, numbered from its start: its records read, its record rules' counts and first
    examples (in the order found), its rejected records as bits, and the rest (PartOutcome)."""

    records: int
    counts: dict[str, int]
    findings: list[Finding]
    rejected: bytes
    outcome: PartOutcome


def _start_worker() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the pool; a worker that died of it too would only
    # print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def check_span(path: str, span: Span, options: Options, recipe: Recipe) -> _Part:
    """In a worker: check one span with the public check() and keep what the whole file's report needs."""
    origin, local_nicip = recipe
    reference = load_reference(origin)
    if local_nicip:
        reference = replace(reference, local_nicip=local_nicip)
    report = check(path, **_keywords(replace(options, reference=reference)), part=span)
    assert report.part is not None
    kinds = {rule: spec.kind for rule, spec in report.rules.items()}
    return _Part(
        records=report.records,
        counts={rule: n for rule, n in report.counts.items() if kinds.get(rule) == "record"},
        findings=[f for f in report.findings if kinds.get(f.rule) == "record"],
        rejected=bytes(report.rejected_bits),
        outcome=report.part,
    )


def _parts(path: Path, spans: list[Span], options: Options, recipe: Recipe, workers: int) -> Iterator[_Part]:
    """Each span's results in file order (from `workers` processes; 0: in this one). A span that ended inside a
    quoted value (or may have) is checked again with every span after it as one, from its own start, here."""
    with _pool(workers) as pool:
        futures: list[Future[_Part]] = []
        if pool is not None:
            futures = [pool.submit(check_span, str(path), s, options, recipe) for s in spans]
        for index, span in enumerate(spans):
            part = futures[index].result() if futures else check_span(str(path), span, options, recipe)
            if part.outcome.end.open_quote and index < len(spans) - 1:
                for later in futures[index + 1 :]:
                    later.cancel()
                log.info("%s: the span ending at byte %d may end inside a quoted value: checking from byte %d on "
                         "in one process", path, span.end, span.start)  # fmt: skip
                yield check_span(str(path), replace(span, end=spans[-1].end), options, recipe)
                return
            yield part


@contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    if workers == 0:
        yield None
        return
    # spawn: a worker starts clean, without this process's open files and database connections (a forked copy of
    # a SQLite connection is not safe to use), and the same on every platform.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_start_worker)
    try:
        yield pool
    except BaseException:
        # An error or an interruption: spans not yet started are dropped, and those under way are stopped rather
        # than waited for (a span can take a minute, and a worker ignores Ctrl-C).
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------------------------------------------
# Joining the spans
# --------------------------------------------------------------------------------------------------------------


def _join(run: Run, parts: Iterator[_Part]) -> None:
    """The spans' results joined into `run`, in file order, as one pass would have found them."""
    report, submission = run.report, run.submission
    uniqueness = {unique.spec.id: unique for unique in run.plan.uniqueness}
    lines = records = 0  # lines and rows counted as records before the span
    records_read = 0
    rejected = 0
    last_read = previous_end = 0
    end = SpanEnd()
    for part in parts:
        outcome, end = part.outcome, part.outcome.end
        records_read += part.records
        for finding in _taken(report, part):
            moved = replace(finding, record=_plus(finding.record, records), line=_plus(finding.line, lines))
            report.findings.append(moved)
        for rule, count in part.counts.items():
            report.counts[rule] += count
        rejected |= int.from_bytes(part.rejected, "little") << records
        for rule, keys in outcome.keys.items():
            unique = uniqueness[rule]
            values = keys.value
            for index, (digest, place) in enumerate(zip(keys.digests, keys.places, strict=True)):
                number, line = (place >> 32) + records, (place & 0xFFFFFFFF) + lines
                unique.meet(digest, number, line, values(index), None)
        submission.problems.absorb(outcome.problems, lines=lines, records=records)
        if end.last_read:
            last_read = end.last_read + records
        if end.previous_end:
            previous_end = end.previous_end + lines
        lines += end.lines
        records += end.rows
    _add_bits(report, rejected)
    report.records = submission.records_read = records_read
    # As read_csv decides them at the end of one pass (conformance/formats/_csv.py).
    if records == 0:
        submission.problems.add(FileProblem("no-records", "the file holds no data rows", fatal=False))
    elif not end.ends_with_newline and last_read == records:
        message = "the last row has no line end: if the file was cut short, that row may be incomplete"
        submission.problems.add(FileProblem("no-final-newline", message, line=previous_end, record=records))


def _taken(report: Report, part: _Part) -> Iterator[Finding]:
    """The span's examples that one pass keeps: the first `max_examples` of each rule in file order."""
    room = {rule: report.max_examples - report.counts[rule] for rule in part.counts}
    for finding in part.findings:
        if room[finding.rule] > 0:
            room[finding.rule] -= 1
            yield finding


def _plus(value: int | None, offset: int) -> int | None:
    return None if value is None else value + offset


def _add_bits(report: Report, bits: int) -> None:
    if not bits:
        return
    mine = int.from_bytes(report.rejected_bits, "little") | bits
    report.rejected_bits = bytearray(mine.to_bytes((mine.bit_length() + 7) // 8, "little"))
