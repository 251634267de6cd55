"""Write a synthetic month of a radiology service as a DIDS file: `generate(...)`.

The month is made in blocks (service.blocks), each from its own random stream, rendered to text and written in
order. With more than one worker the blocks are rendered in worker processes and written by this one as they
come back, at most a few blocks ahead, so the output is the same bytes and memory stays bounded.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from conformance.formats import XmlRecords, write_csv
from conformance.spec import PROFILES, Pack, load_pack
from generators.records import v1_writer, v2_writer
from generators.service import Block, Mix, Service, blocks

FORMATS = ("csv", "xml")


class BlockEdit(Protocol):
    """Something that changes a block's rows after they are made (a scenario or a mutation); picklable."""

    def apply(self, block: Block, rows: list[list[str]], pack: Pack) -> list[list[str]]: ...


@dataclass
class Plan:
    """Everything a worker needs to render any block of the file."""

    profile: str
    format: str
    records: int
    seed: int
    period: date
    mix: Mix | None = None
    edits: list[BlockEdit] = field(default_factory=list)


class _Renderer:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.version = PROFILES[plan.profile]
        self.pack = load_pack(self.version)
        self.service = Service(plan.seed, plan.mix, patients=max(plan.records // 3, 1), profile=plan.profile)
        self.v1_row = v1_writer(self.pack) if self.version == "v1" else None
        self.v2_rows = v2_writer(self.pack) if self.version == "v2" else None
        self.xml = XmlRecords(self.pack) if plan.format == "xml" else None

    def rows(self, block: Block) -> list[list[str]]:
        if self.v1_row is not None:
            rows = [self.v1_row(event) for event in self.service.block_events(block, per_event=1)]
        else:
            assert self.v2_rows is not None
            rows = [row for event in self.service.block_events(block) for row in self.v2_rows(event)]
        for edit in self.plan.edits:
            rows = edit.apply(block, rows, self.pack)
        return rows

    def text(self, block: Block) -> tuple[str, int]:
        rows = self.rows(block)
        buffer = io.StringIO()
        if self.xml is not None:
            count = self.xml.write(rows, buffer, counted=block.first_record - 1)
        else:
            count = write_csv(rows, buffer, self.pack, header=False)
        return buffer.getvalue(), count


_worker: _Renderer | None = None


def _start_worker(plan: Plan) -> None:
    global _worker
    _worker = _Renderer(plan)


def _render_in_worker(block: Block) -> tuple[str, int]:
    assert _worker is not None
    return _worker.text(block)


def generated_rows(
    profile: str, records: int, seed: int, period: date, mix: Mix | None = None, edits: list[BlockEdit] | None = None
) -> Iterator[list[str]]:
    """The rows of a generated file, streamed block by block."""
    renderer = _Renderer(Plan(profile, "csv", records, seed, period, mix, list(edits or [])))
    for block in blocks(period, records):
        yield from renderer.rows(block)


def default_workers(records: int) -> int:
    """Worker processes worth starting: none for small files (start-up costs more than it saves)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 1 if records < 50_000 else max(1, min(cores, 4))


def generate(
    out: str | Path,
    *,
    profile: str = "v2",
    format: str = "csv",
    records: int = 1000,
    seed: int = 1,
    period: date = date(2026, 4, 1),
    mix: Mix | None = None,
    edits: list[BlockEdit] | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> int:
    """Write `records` records of `profile`'s version to `out` as CSV or XML; return how many were written.
    `workers` (default: by size and cores) never changes the bytes written."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    plan = Plan(profile, format, records, seed, period, mix, list(edits or []))
    renderer = _Renderer(plan)
    work = blocks(period, records)
    workers = default_workers(records) if workers is None else max(1, workers)
    written = 0
    newline = "" if format == "csv" else "\n"
    with open(out, "w", encoding="utf-8", newline=newline) as handle:
        if renderer.xml is not None:
            handle.write(renderer.xml.head())
        else:
            write_csv([], handle, renderer.pack)  # the header, when the layout has one
        for text, count in _texts(renderer, plan, work, workers):
            handle.write(text)
            written += count
            if progress is not None:
                progress(written)
        if renderer.xml is not None:
            handle.write(renderer.xml.tail())
    return written


def _texts(renderer: _Renderer, plan: Plan, work: list[Block], workers: int) -> Iterator[tuple[str, int]]:
    if workers == 1 or len(work) < 2:
        for block in work:
            yield renderer.text(block)
        return
    # A sliding window of blocks in flight, taken back in order: bounded memory, same bytes as one process.
    with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(plan,)) as pool:
        pending: deque[Future[tuple[str, int]]] = deque()
        upcoming = iter(work)
        for block in upcoming:
            pending.append(pool.submit(_render_in_worker, block))
            if len(pending) >= 2 * workers:
                break
        while pending:
            yield pending.popleft().result()
            following = next(upcoming, None)
            if following is not None:
                pending.append(pool.submit(_render_in_worker, following))
