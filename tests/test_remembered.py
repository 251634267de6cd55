"""The columnar engine's memory of Python judgements across batches (check/_columnar_exprs.py Remembered): each
row gets its own key's answer, Python judges a key once, and calls from two threads at once (Polars splits a batch
between its threads) neither duplicate a key nor misplace an answer."""

from __future__ import annotations

import threading
from collections import Counter

import polars as pl
import pytest

from conformance.check._columnar_exprs import Remembered, judged, per_distinct


def _remembered(calls: Counter[object], *, limit: int = 1_000, nulls_equal: bool = True) -> Remembered:
    def answer(key: tuple[object, ...]) -> tuple[object, ...]:
        calls[key] += 1
        code, day = key
        return (None if code in ("none", None) else str(code).endswith("7"), f"{code}@{day}")

    schema = {"bad": pl.Boolean, "said": pl.String}
    return Remembered(["code", "day"], answer, schema, nulls_equal=nulls_equal, limit=limit)


def _expected(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    return [(None if code == "none" else code.endswith("7"), f"{code}@{day}") for code, day in frame.iter_rows()]


def _answers(remembered: Remembered, frame: pl.DataFrame) -> list[tuple[object, ...]]:
    out = remembered.of(frame, [pl.col("bad"), pl.col("said")])
    assert not out.get_column(Remembered.UNSEEN).any()  # every key in the table once answered
    return out.select("bad", "said").rows()


def _batch(codes: list[str], days: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame({"code": codes, "day": pl.Series(days, dtype=pl.Int32)})


def test_each_row_gets_its_own_keys_answer_across_batches_and_python_judges_a_key_once() -> None:
    calls: Counter[object] = Counter()
    remembered = _remembered(calls)
    first = _batch(["A7", "B1", "A7", "none", "C3"], [1, 2, 1, 3, None])
    second = _batch(["C3", "D7", "A7", "B1", "C3", "D7"], [None, 4, 1, 2, 5, 4])  # new keys among seen ones
    third = _batch(["B1", "A7"], [2, 1])  # seen only: no Python at all
    for batch in (first, second, third):
        assert _answers(remembered, batch) == _expected(batch)
    assert calls == Counter({key: 1 for key in [*first.unique().rows(), ("D7", 4), ("C3", 5)]})


def test_a_none_answer_is_remembered_not_asked_again() -> None:
    calls: Counter[object] = Counter()
    remembered = _remembered(calls)
    for _ in range(3):
        assert _answers(remembered, _batch(["none"], [1])) == [(None, "none@1")]
    assert calls[("none", 1)] == 1


def test_null_keys_match_only_when_nulls_are_equal() -> None:
    batch = pl.DataFrame({"code": ["A7", None], "day": pl.Series([1, 1], dtype=pl.Int32)})
    for nulls_equal, null_row in ((False, (None, None, True)), (True, (None, "None@1", False))):
        remembered = _remembered(Counter(), nulls_equal=nulls_equal)
        for _ in range(2):  # unequal: as a join with nulls unequal gives it, every time
            out = remembered.of(batch, [pl.col("bad"), pl.col("said")])
            assert out.select("bad", "said", Remembered.UNSEEN).rows() == [(True, "A7@1", False), null_row]


def test_it_starts_again_when_full() -> None:
    calls: Counter[object] = Counter()
    remembered = _remembered(calls, limit=4)
    one, two = _batch(["A1", "A2", "A3"], [1, 1, 1]), _batch(["B1", "B2"], [1, 1])
    for batch in (one, two, one):
        assert _answers(remembered, batch) == _expected(batch)
    assert remembered.table is not None and len(remembered.table) <= 4
    assert calls[("A1", 1)] == 2  # forgotten with the rest when the table filled, then asked again


@pytest.mark.parametrize("rounds", range(3))
def test_calls_from_two_threads_at_once_keep_one_row_per_key(rounds: int) -> None:
    calls: Counter[object] = Counter()
    remembered = _remembered(calls, limit=1_000_000)
    # parts of one batch, as Polars hands an element-wise function's parts to its threads: the same new keys in each
    parts = [_batch([f"K{n % 5_000}" for n in range(start, start + 20_000)], [1] * 20_000) for start in range(8)]
    start = threading.Barrier(len(parts))
    results: dict[int, list[tuple[object, ...]]] = {}

    def call(k: int) -> None:
        start.wait()
        results[k] = _answers(remembered, parts[k])

    threads = [threading.Thread(target=call, args=(k,)) for k in range(len(parts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k, part in enumerate(parts):
        assert results[k] == _expected(part)
    assert remembered.table is not None
    assert remembered.table.select("code", "day").is_duplicated().sum() == 0
    assert set(calls.values()) == {1}


def test_judged_and_per_distinct_pick_the_rows_of_their_keys_over_a_batch_split_into_chunks() -> None:
    # a frame of several chunks: Polars may evaluate an element-wise function on each part in its own thread
    chunks = [pl.DataFrame({"code": [f"C{(n * 7 + k) % 97}" for n in range(5_000)]}) for k in range(6)]
    frame = pl.concat(chunks, rechunk=False).with_columns(day=pl.lit("2020-06-01"))
    assert frame.n_chunks() > 1

    def window(code: str) -> bool | tuple[str | None, str | None]:
        number = int(code[1:])
        return number % 3 == 0 if number % 2 else ("2020-07-01", None)  # odd: always or never; even: a window

    looks: Counter[str] = Counter()

    def fifth(code: str) -> bool:
        looks[code] += 1
        return int(code[1:]) % 5 == 0

    exprs = [
        judged([pl.col("code")], window, [pl.col("day")]).alias("judged"),
        per_distinct(fifth, [pl.col("code")]).alias("distinct"),
    ]
    picked = frame.select(exprs)
    for _ in range(2):  # again, from what the expressions remember
        assert frame.select(exprs).equals(picked)
    assert set(looks.values()) == {1} and len(looks) == 97
    numbers = [int(code[1:]) for code in frame.get_column("code")]
    assert picked.get_column("judged").to_list() == [n % 3 == 0 if n % 2 else True for n in numbers]
    assert picked.get_column("distinct").to_list() == [n % 5 == 0 for n in numbers]
