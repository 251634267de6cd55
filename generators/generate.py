"""Write a synthetic month (or months) of a radiology service as a DIDS file: `generate(...)`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from conformance.formats import write_records
from conformance.spec import PROFILES, load_pack
from generators.records import v1_row, v2_rows
from generators.service import Mix, Service


def generated_rows(profile: str, records: int, seed: int, period: date, mix: Mix | None = None) -> Iterator[list[str]]:
    """The rows of a generated file, streamed."""
    version = PROFILES[profile]
    pack = load_pack(version)
    service = Service(seed, mix, patients=max(records // 3, 1), profile=profile)
    if version == "v1":
        for event in service.events(period, records, per_event=1):
            yield v1_row(event, pack)
    else:
        for event in service.events(period, records):
            yield from v2_rows(event, pack)


def generate(
    out: str | Path,
    *,
    profile: str = "v2",
    format: str = "csv",
    records: int = 1000,
    seed: int = 1,
    period: date = date(2026, 4, 1),
    mix: Mix | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write `records` records of `profile`'s version to `out` as CSV or XML; return how many were written."""
    pack = load_pack(PROFILES[profile])
    rows = generated_rows(profile, records, seed, period, mix)
    if progress is not None:
        rows = _reporting(rows, progress)
    return write_records(rows, out, pack=pack, format=format)


def _reporting(rows: Iterator[list[str]], progress: Callable[[int], None], every: int = 10_000) -> Iterator[list[str]]:
    for n, row in enumerate(rows, 1):
        yield row
        if n % every == 0:
            progress(n)
