"""Write a synthetic month of a radiology service as a DIDS file: `generate(...)`.

The month is made in blocks (service.blocks), each from its own random stream, rendered to text and written in
order. With more than one worker the blocks are rendered in worker processes and written by this one as they
come back, at most a few blocks ahead, so the output is the same bytes and memory stays bounded.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from conformance.calendar import add_months
from conformance.files import OutputSet, refuse_overlap
from conformance.formats import XmlRecords, write_csv
from conformance.spec import PROFILES, Pack, load_pack
from generators.local_codes import LocalCodesEdit, write_mapping
from generators.mutations import answer_key as make_key
from generators.mutations import plan_mutations
from generators.records import v1_writer, v2_writer
from generators.scenarios import plan_scenarios
from generators.service import PROVIDER, Block, Mix, Service, blocks

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
        text = buffer.getvalue()
        for edit in self.plan.edits:
            apply_text = getattr(edit, "apply_text", None)
            if apply_text is not None:  # mutations that no row can express (a missing value, a stray element)
                text = apply_text(block, text, self.plan.format)
        return text, count


class _Source:
    """The generated rows before mutation, for the mutation planner (generators.mutations.RowSource)."""

    def __init__(self, renderer: _Renderer, work: list[Block]) -> None:
        self.renderer, self.work = renderer, work

    def rows(self, numbers: Iterable[int]) -> dict[int, list[str]]:
        wanted, out = sorted(set(numbers)), {}
        for block in self.work:
            inside = [n for n in wanted if block.first_record <= n < block.first_record + block.records]
            if inside:
                rows = self.renderer.rows(block)
                out.update({n: rows[n - block.first_record] for n in inside})
        return out

    def each(self) -> Iterator[list[str]]:
        for block in self.work:
            yield from self.renderer.rows(block)


_worker: _Renderer | None = None


def _start_worker(plan: Plan) -> None:
    global _worker
    # Ctrl-C reaches the whole process group: the parent stops the pool and removes its output; a worker that
    # died of it too would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
    scenarios: Sequence[str] = (),
    months: int = 1,
    mutate: Sequence[str] = (),
    answer_key: str | Path | None = None,
    local_codes: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> int:
    """Write `records` records of `profile`'s version to `out` as CSV or XML; return how many were written.

    `scenarios` (generators.scenarios.SCENARIOS) shape the month like a provider's known data-quality problems;
    `mutate` breaks one record (or the file, or the submission) per rule named; `answer_key` is where the JSON
    answer key goes (generators.mutations.answer_key). `workers` (default: by size and cores) never changes the
    bytes written. `local_codes` (v1 only): send local exam codes for some records and write the trust's
    mapping table to this path (generators.local_codes); the key then says to check with it. Raises
    MutationError or ScenarioError (ValueErrors) for what cannot be made. Every file is written whole or not at
    all: an error or an interruption leaves none of them behind.
    """
    refuse_overlap([], {"the output (-o)": out, "--answer-key": answer_key, "--local-codes": local_codes})
    keys: list[dict[str, Any]] = []
    with OutputSet() as outputs:
        written = _generate(
            outputs,
            out,
            profile=profile,
            format=format,
            records=records,
            seed=seed,
            period=period,
            mix=mix,
            scenarios=scenarios,
            months=months,
            mutate=mutate,
            key_sink=keys.append if answer_key is not None else None,
            local_codes=local_codes,
            progress=progress,
            workers=workers,
        )
        if answer_key is not None:
            with outputs.open(answer_key, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(keys[0], indent=2) + "\n")
    return written


def _generate(
    outputs: OutputSet,
    out: str | Path,
    *,
    profile: str,
    format: str,
    records: int,
    seed: int,
    period: date,
    mix: Mix | None,
    scenarios: Sequence[str],
    months: int,
    mutate: Sequence[str],
    key_sink: Callable[[dict[str, Any]], None] | None,
    local_codes: str | Path | None,
    progress: Callable[[int], None] | None,
    workers: int | None,
) -> int:
    """generate() within an output set; the answer key goes to `key_sink` rather than a file."""
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    work = blocks(period, records)
    plan = Plan(profile, format, records, seed, period, mix)
    applied = plan_scenarios(scenarios, profile=profile, period=period, records=records, seed=seed, months=months)
    plan.edits = [s.edit for s in applied if s.edit is not None]
    if local_codes is not None:
        if PROFILES[profile] != "v1":
            raise ValueError("local exam codes are v1 only: DIDS v2.0 accepts none")
        write_mapping(outputs.path(local_codes))
        plan.edits.append(LocalCodesEdit(seed))
    renderer = _Renderer(plan)
    source = _Source(renderer, work)  # the rows with the scenarios, before any mutation
    scenario_keys = [s.key(renderer.pack, source) for s in applied] if key_sink is not None else []
    mutation_plan = plan_mutations(
        mutate, profile=profile, format=format, period=period, records=records, source=source
    )
    plan.edits.append(mutation_plan)
    if key_sink is not None:
        key = make_key(
            mutation_plan,
            profile=profile,
            format=format,
            records=records,
            seed=seed,
            period=period,
            scenarios=scenario_keys,
        )
        if local_codes is not None:
            key["check_with"].update(local_mappings=str(local_codes), submitter=PROVIDER)
        key_sink(key)
    workers = default_workers(records) if workers is None else max(1, workers)
    written = 0
    newline = "" if format == "csv" else "\n"
    with outputs.text(out, newline=newline) as handle:
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
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(plan,))
    try:
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
    finally:
        # On an error or an interruption, blocks not yet started are dropped rather than rendered for nothing.
        pool.shutdown(wait=True, cancel_futures=True)


def generate_months(
    folder: str | Path,
    *,
    months: int,
    profile: str = "v2",
    format: str = "csv",
    records: int = 1000,
    seed: int = 1,
    period: date = date(2026, 4, 1),
    scenarios: Sequence[str] = (),
    answer_key: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> list[tuple[date, Path | None]]:
    """Several consecutive months, one file each in `folder` (`<profile>-<YYYY-MM>.<format>`), the same patients
    throughout. With the missing-month scenario one month (the middle one) is not written; the answer key (one
    JSON file for all months) names it. All the files appear together, or none (and a folder made for them is
    removed again)."""
    if months < 1:
        raise ValueError("--months must be 1 or more")
    out = Path(folder)
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    missing = months // 2 if "missing-month" in scenarios else None
    per_month = [s for s in scenarios if s != "missing-month"]
    written: list[tuple[date, Path | None]] = []
    keys: list[dict[str, Any]] = []
    try:
        with OutputSet() as outputs:
            for index in range(months):
                month = add_months(period.replace(day=1), index)
                if index == missing:
                    written.append((month, None))
                    continue
                path = out / f"{profile}-{month:%Y-%m}.{format}"
                month_keys: list[dict[str, Any]] = []
                _generate(
                    outputs,
                    path,
                    profile=profile,
                    format=format,
                    records=records,
                    seed=seed,
                    period=month,
                    mix=None,
                    scenarios=per_month,
                    months=months,
                    mutate=(),
                    key_sink=month_keys.append if answer_key is not None else None,
                    local_codes=None,
                    progress=progress,
                    workers=workers,
                )
                keys += [{"file": path.name, **key} for key in month_keys]
                written.append((month, path))
            if answer_key is not None:
                combined = {
                    "schema": "dids-answer-key-months/1.0",
                    "months": keys,
                    "missing_month": None if missing is None else f"{add_months(period.replace(day=1), missing):%Y-%m}",
                }
                with outputs.open(answer_key, "w", encoding="utf-8") as handle:
                    handle.write(json.dumps(combined, indent=2) + "\n")
    except BaseException:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return written
