"""Benchmark: the columnar engine's reference look-ups (check/_columnar_exprs.py per_distinct and judged, on
Remembered) beside the way they were made before, in the same run (a script, not a test).

    python tests/benchmarks/bench_lookups.py [--rows N] [--batches B] [--repeats R]

A look-up answers a Python question once per distinct value (is this postcode known? in what days is this code
valid?) and hands each row its value's answer. Before, every batch took its distinct values to Python, looked each
up in a dict of the answers so far and joined the answers back ("per batch"); now the answers are kept as a frame
across batches, each batch is one join against it, and Python sees only values not met before ("remembered").

Columns of B batches of N rows each (default 6 of 30,667, a v1-dsp block), drawn from pools of 25 values (the
synthetic month's codes) and of 40,000 (a real month's postcodes or referrers: ~21,000 distinct a batch). The
time is the median per batch, in this process, after the first batch of each pool (whose answers are new to both).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence

import polars as pl

from conformance.check._columnar_exprs import judged, per_distinct


def per_batch_distinct(look: Callable[[str], bool]) -> pl.Expr:
    """The baseline: per_distinct as it was (every batch's distinct values to Python, a dict, a join)."""
    cache: dict[tuple[str, ...], bool] = {}

    def batch(column: pl.Series) -> pl.Series:
        frame = pl.DataFrame({"k0": column})
        distinct = frame.unique()
        answers = []
        for key in distinct.iter_rows():
            if key not in cache:
                cache[key] = look(*key)
            answers.append(cache[key])
        table = distinct.with_columns(pl.Series("_answer", answers, dtype=pl.Boolean))
        return frame.join(table, on="k0", how="left", maintain_order="left", nulls_equal=True).to_series(1)

    return pl.col("v").map_batches(batch, return_dtype=pl.Boolean)


def per_batch_judged(judge: Callable[[str], tuple[str, str] | bool]) -> pl.Expr:
    """The baseline: judged as it was (every batch's distinct values to Python, a dict, a join, the windows)."""
    memo: dict[tuple[str, ...], tuple[str, str] | bool] = {}

    def pick(columns: Sequence[pl.Series]) -> pl.Series:
        frame = pl.DataFrame({"k0": columns[0]})
        distinct = frame.unique()
        always, lows, highs = [], [], []
        for row in distinct.rows():
            verdict = memo.get(row)
            if verdict is None:
                verdict = memo[row] = judge(*row)
            window = isinstance(verdict, tuple)
            always.append(False if window else verdict)
            lows.append(verdict[0] if isinstance(verdict, tuple) else None)
            highs.append(verdict[1] if isinstance(verdict, tuple) else None)
        table = distinct.with_columns(
            pl.Series("always", always, dtype=pl.Boolean),
            pl.Series("lo", lows, dtype=pl.String),
            pl.Series("hi", highs, dtype=pl.String),
        )
        joined = frame.join(table, on="k0", how="left", maintain_order="left")
        low, high = joined.get_column("lo"), joined.get_column("hi")
        day = columns[1]
        return (
            joined.get_column("always").fill_null(True) | (day < low).fill_null(False) | (day > high).fill_null(False)
        )

    return pl.map_batches([pl.col("v"), pl.col("d")], pick, return_dtype=pl.Boolean)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=30_667)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    def known(value: str) -> bool:
        return value.endswith("7")

    def window(value: str) -> tuple[str, str] | bool:
        return ("2010-01-01", "2030-12-31") if not value.endswith("7") else True

    print(f"ms per batch of {args.rows:,} rows (median of {args.repeats} x {args.batches - 1} batches)\n")
    print(f"{'look-up':<14}{'pool':>8}{'distinct':>10}{'per batch':>12}{'remembered':>12}{'ratio':>8}  same answers")
    rng = random.Random(1)
    for pool_size in (25, 40_000):
        pool = [f"C{n:05d} {n % 9}" for n in range(pool_size)]
        batches = [
            pl.DataFrame({"v": rng.choices(pool, k=args.rows), "d": ["2020-06-01"] * args.rows})
            for _ in range(args.batches)
        ]
        distinct = batches[0].get_column("v").n_unique()
        makers: list[tuple[str, Callable[[], pl.Expr], Callable[[], pl.Expr]]] = [
            ("per_distinct", lambda: per_batch_distinct(known), lambda: per_distinct(known, [pl.col("v")])),
            ("judged", lambda: per_batch_judged(window), lambda: judged([pl.col("v")], window, [pl.col("d")])),
        ]
        for name, before, now in makers:
            medians: list[float] = []
            answers: list[list[pl.Series]] = []
            for make in (before, now):
                expr = make()
                first = batches[0].select(expr).to_series()  # new to both
                times: list[float] = []
                for _ in range(args.repeats):
                    for batch in batches[1:]:
                        start = time.perf_counter()
                        batch.select(expr)
                        times.append(time.perf_counter() - start)
                medians.append(statistics.median(times) * 1000)
                answers.append([first, *(b.select(expr).to_series() for b in batches[1:])])
            same = all(a.equals(b) for a, b in zip(*answers, strict=True))
            print(
                f"{name:<14}{pool_size:>8,}{distinct:>10,}{medians[0]:>12.2f}{medians[1]:>12.2f}"
                f"{medians[0] / medians[1]:>7.1f}x  {'yes' if same else 'NO'}"
            )


if __name__ == "__main__":
    main()
