"""The columnar engine: the same rules as the record engine (`_engine._run`), evaluated over batches of rows.

Records still come from the format readers (so every file problem, ledger count and line number is the readers'
own), but instead of running each rule on each record, a batch of rows becomes a Polars frame and:

1. A rule with a column expression (`check/_columnar_rules.py`) is a *filter*: the expression picks out every
   row that may break it (its candidates: no row that breaks the rule may be left out; a row that passes may be
   picked, at the cost of a wasted look), each item parsed once per batch (a timestamp, its UK-clock day).
2. Every other rule is evaluated once per distinct combination of the values it reads in the batch (rules read
   only their catalogued items, tests/test_rule_items.py), and the combinations that break it are joined back.
3. Only the rows so picked are looked at again, each by the record engine's own rule function run on that row:
   the record, line, field, value and message of a finding are the record engine's by construction. A row an
   expression wrongly leaves out is what the differential test (tests/test_engines.py) looks for.

Memory: a batch is bounded (BATCH_ROWS rows); the duplicate index is the record engine's compact UniqueKey.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from conformance.check._rows import Hit, Row, RuleFn, Setup
from conformance.check._spark import dsp_values

if TYPE_CHECKING:
    from conformance.check._engine import LocalCodes, RuleGroup, _Plan
    from conformance.check._model import Report
    from conformance.formats import Record, Submission
    from conformance.spec import RuleSpec

BATCH_ROWS = 16_384  # rows per batch: ~20 MiB of Python strings at 25 items, and the frame's copy

# A native rule: given the Setup and the batch's columns, an expression true on every row that may break it.
NativeFactory = Callable[[Setup, "Columns"], "pl.Expr"]


class Columns:
    """The columns a batch offers to expressions: `v(item)`, the value as the profile's rules see it, and
    `raw(item)`, as read. Derived columns (a parsed timestamp, its UK day) are plain expressions over these;
    Polars' common-subexpression elimination evaluates each once per batch."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.positions: set[int] = set()
        self.raw_positions: set[int] = set()

    def v(self, item: str) -> pl.Expr:
        position = self.setup.pos(item)
        self.positions.add(position)
        return pl.col(f"v{position}")

    def raw(self, item: str) -> pl.Expr:
        position = self.setup.pos(item)
        self.raw_positions.add(position)
        return pl.col(f"r{position}")


@dataclass
class _Group:
    """Rules evaluated per distinct combination of the values at `positions` (and the raw values, for a profile
    that follows the DSP: its rules tell a value of spaces from an empty one)."""

    positions: tuple[int, ...]
    rules: list[tuple[RuleSpec, RuleFn]]
    keys: list[str]


@dataclass
class _Native:
    spec: RuleSpec
    fn: RuleFn
    expr: pl.Expr


class ColumnarRun:
    """The plan's rules, split into native expressions and per-distinct-value groups, run batch by batch."""

    def __init__(self, plan: _Plan, setup: Setup, natives: dict[str, NativeFactory]) -> None:
        self.dsp = plan.dsp_nhs_number is not None
        self.columns = Columns(setup)
        self.natives: list[_Native] = []
        groups: list[_Group] = []
        for group in plan.groups:
            rest: list[tuple[RuleSpec, RuleFn]] = []
            for spec, fn in group.rules:
                factory = natives.get(spec.id)
                if factory is None:
                    rest.append((spec, fn))
                else:
                    self.natives.append(_Native(spec, fn, factory(setup, self.columns)))
            if rest:
                groups.append(self._group(group, rest))
        self.groups = groups

    def _group(self, group: RuleGroup, rules: list[tuple[RuleSpec, RuleFn]]) -> _Group:
        keys = [f"v{p}" for p in group.positions]
        self.columns.positions.update(group.positions)
        if self.dsp:
            keys += [f"r{p}" for p in group.positions]
            self.columns.raw_positions.update(group.positions)
        return _Group(group.positions, rules, keys)

    def frame(self, raws: list[tuple[str, ...]], values: list[list[str]]) -> pl.DataFrame:
        """The batch as columns: only the positions some rule reads."""
        data: dict[str, Any] = {}
        if self.columns.positions:
            by_position = list(zip(*values, strict=True))
            for p in sorted(self.columns.positions):
                data[f"v{p}"] = pl.Series(by_position[p], dtype=pl.String)
        if self.columns.raw_positions:
            by_position = list(zip(*raws, strict=True))
            for p in sorted(self.columns.raw_positions):
                data[f"r{p}"] = pl.Series(by_position[p], dtype=pl.String)
        return pl.DataFrame(data, height=len(raws))

    def breaking(self, frame: pl.DataFrame, rows: Callable[[int], Row]) -> Iterator[tuple[int, RuleSpec, Hit]]:
        """(row index in the batch, rule, hit) for every rule a row breaks, each rule's rows in file order."""
        if self.natives:
            masks = (
                frame.lazy()
                .select(*(n.expr.fill_null(False).alias(str(k)) for k, n in enumerate(self.natives)))
                .collect()
            )
            for k, native in enumerate(self.natives):
                column = masks.to_series(k)
                if not column.any():
                    continue
                for index in column.arg_true().to_list():
                    hit = native.fn(rows(index))
                    if hit is not None:
                        yield index, native.spec, hit
        for group in self.groups:
            yield from self._group_hits(group, frame, rows)

    def _group_hits(
        self, group: _Group, frame: pl.DataFrame, rows: Callable[[int], Row]
    ) -> Iterator[tuple[int, RuleSpec, Hit]]:
        indexed = frame.select(group.keys).with_row_index("_row")
        distinct = indexed.unique(subset=group.keys, keep="first", maintain_order=True)
        failing: list[int] = []
        for first in distinct.get_column("_row").to_list():
            row = rows(first)
            if any(fn(row) is not None for _, fn in group.rules):
                failing.append(first)
        if not failing:
            return
        # every row whose values equal a failing combination's
        bad = indexed.filter(pl.col("_row").is_in(failing)).drop("_row")
        picked = indexed.join(bad, on=group.keys, how="semi").get_column("_row").sort().to_list()
        for index in picked:
            row = rows(index)
            for spec, fn in group.rules:
                hit = fn(row)
                if hit is not None:
                    yield index, spec, hit


def run_columnar(
    submission: Submission,
    plan: _Plan,
    setup: Setup,
    local: LocalCodes | None,
    report: Report,
    seen: Callable[[Record], None] | None,
    record_finding: Callable[[RuleSpec, Hit, Row], Any],
    batch_rows: int | None = None,
) -> int:
    """Every record through the plan, a batch at a time; returns the records read. Findings are added in file
    order within each rule, as the record engine adds them, so the examples kept are the same."""
    from conformance.check._columnar_rules import NATIVE_RULES

    run = ColumnarRun(plan, setup, NATIVE_RULES)
    batch_rows = batch_rows or BATCH_ROWS
    dsp_nhs_number = plan.dsp_nhs_number
    uniqueness = plan.uniqueness
    add = report.add
    count = 0
    meta: list[tuple[int, int, str | None]] = []
    raws: list[tuple[str, ...]] = []
    values: list[list[str]] = []
    submitted: dict[int, dict[str, str]] = {}

    def flush() -> None:
        if not raws:
            return

        def row_at(index: int) -> Row:
            number, line, path = meta[index]
            row = Row(number, line, raws[index], path, list(values[index]))
            row.submitted = submitted.get(index)
            return row

        found = sorted(run.breaking(run.frame(raws, values), row_at), key=lambda f: f[0])
        for index, spec, hit in found:
            add(record_finding(spec, hit, row_at(index)))
        meta.clear()
        raws.clear()
        values.clear()
        submitted.clear()

    for record in submission.records():
        count += 1
        if seen is not None:
            seen(record)
        if dsp_nhs_number is None:
            row = Row(record.number, record.line, record.values, record.path)
        else:
            row = Row(
                record.number, record.line, record.values, record.path, dsp_values(record.values, dsp_nhs_number)[0]
            )
        if local is not None:
            local.apply(row)
            if row.submitted is not None:
                submitted[len(raws)] = row.submitted
        for unique in uniqueness:
            unique.see(row)
        meta.append((record.number, record.line, record.path))
        raws.append(record.values)
        values.append(row.v)
        if len(raws) >= batch_rows:
            flush()
    flush()
    return count
