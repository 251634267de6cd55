"""The columnar engine's duplicate index (check/_columnar.py CompactIndex) against a dictionary: every later record
of a key is met with its first record's place, in file order, whether the first was in the same batch or in any
run before it; no run grows past MAX_RUN (runs then stay apart), and no digest is in two runs."""

from __future__ import annotations

import random

import polars as pl
import pytest

from conformance.check._columnar import CompactIndex


class _Recorder:
    """What CompactIndex asks of UniqueKey, recording each meeting as (digest, record, first record)."""

    def __init__(self) -> None:
        self.log = None
        self.first: dict[int, int] = {}
        self.met: list[tuple[int, int, int]] = []

    def meet(self, key: int, number: int, line: int, value: str, path: str | None) -> None:
        first = self.first.get(key)
        if first is None:
            self.first[key] = number << 32 | line
            return
        self.met.append((key, number, abs(first) >> 32))


def _expected(digests: list[int]) -> list[tuple[int, int, int]]:
    first: dict[int, int] = {}
    met = []
    for number, digest in enumerate(digests, start=1):
        if digest in first:
            met.append((digest, number, first[digest]))
        else:
            first[digest] = number
    return met


@pytest.mark.parametrize(("max_run", "batch"), [(64, 20), (100, 37), (1 << 21, 50)])
def test_every_repeat_is_met_with_its_first_record_across_capped_runs(
    max_run: int, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CompactIndex, "MAX_RUN", max_run)
    rng = random.Random(max_run + batch)
    pool = [rng.getrandbits(64) for _ in range(600)]
    digests = [rng.choice(pool) if rng.random() < 0.3 else rng.getrandbits(64) for _ in range(2_400)]
    recorder = _Recorder()
    index = CompactIndex(recorder)  # type: ignore[arg-type]
    for start in range(0, len(digests), batch):
        numbers = range(start + 1, min(start + batch, len(digests)) + 1)
        chunk = pl.Series(digests[start : start + batch], dtype=pl.UInt64)
        index.see(numbers, numbers, chunk, pl.Series([""] * len(numbers)), None)
        assert all(len(run) <= max(max_run, batch) for run in index.runs)
    assert recorder.met == _expected(digests)
    assert len(index) == len(set(digests))
    together = pl.concat([run.get_column("d") for run in index.runs])
    assert together.n_unique() == len(together)  # no digest in two runs
    if max_run < len(digests):
        assert len(index.runs) > 2  # the cap kept runs apart that would have merged
