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
from conformance.check._spark import SPARK_TRIM, dsp_values

if TYPE_CHECKING:
    from conformance.check._engine import LocalCodes, RuleGroup, _Plan
    from conformance.check._model import Report
    from conformance.formats import Record, Submission
    from conformance.spec import RuleSpec

BATCH_ROWS = 16_384
# What Python's str.strip() strips (every character whose isspace() is true), so that Polars trims alike.
# (tests/test_engines.py recomputes it from this Python's Unicode tables).
PYTHON_WHITESPACE = (
    "\x09\x0a\x0b\x0c\x0d\x1c\x1d\x1e\x1f\x20\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# check/_spark.py NHS_NUMBER_CLEANSE in Rust's regex syntax (Java's ASCII \s, and the hyphen)
NHS_NUMBER_CLEANSE_RUST = (
    r"[ \t\n\x0B\x0C\r-]+"  # rows per batch: ~20 MiB of Python strings at 25 items, and the frame's copy
)

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
        self.dsp_nhs_number = plan.dsp_nhs_number
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

    def frame(self, raws: list[tuple[str, ...]], extra: set[int], local: LocalCodes | None) -> pl.DataFrame:
        """The batch as columns: `v<p>` (the values as the rules see them) for the positions some rule or `extra`
        reads, `r<p>` (as read) where a rule needs them."""
        by_position = list(zip(*raws, strict=True))
        wanted_v = self.columns.positions | extra
        if local is not None:
            wanted_v.add(local.position)
        raw_positions = wanted_v | self.columns.raw_positions
        frame = pl.DataFrame(
            {f"r{p}": pl.Series(by_position[p], dtype=pl.String) for p in sorted(raw_positions)}, height=len(raws)
        )
        frame = frame.with_columns(self._seen_as(p).alias(f"v{p}") for p in sorted(wanted_v))
        if local is not None:
            # The trust's local codes, mapped as LocalCodes.apply maps them (Python's upper(), its dictionary).
            name = f"v{local.position}"
            codes = local.codes
            mapped = [codes.get(value.upper(), value) for value in frame.get_column(name).to_list()]
            frame = frame.with_columns(pl.Series(name, mapped, dtype=pl.String))
        return frame

    def _seen_as(self, position: int) -> pl.Expr:
        """A raw column as the profile's rules see it (Row: str.strip(); the DSP's trimming and cleansing, see
        check/_spark.py dsp_values)."""
        raw = pl.col(f"r{position}")
        if not self.dsp:
            return raw.str.strip_chars(PYTHON_WHITESPACE)
        trimmed = raw.str.strip_chars(SPARK_TRIM)
        if position == self.dsp_nhs_number:
            return trimmed.str.replace_all(NHS_NUMBER_CLEANSE_RUST, "")
        return trimmed

    def breaking(self, frame: pl.DataFrame, rows: Callable[[int], Row]) -> Iterator[tuple[int, RuleSpec, Hit]]:
        """(row index in the batch, rule, hit) for every rule a row breaks, each rule's rows in file order."""
        if self.natives:
            # A null is "cannot tell", so the row is looked at (false would let a broken row pass unseen); the
            # row index keeps the frame's height when an expression is a bare literal (which would give one row).
            masks = (
                frame.lazy()
                .select(
                    pl.int_range(pl.len()).alias("_row"),
                    *(n.expr.fill_null(True).alias(str(k)) for k, n in enumerate(self.natives)),
                )
                .collect()
            )
            for k, native in enumerate(self.natives):
                column = masks.get_column(str(k))
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
    """Every record through the plan, a batch at a time; returns the records read. Each rule's findings are added
    in file order, as the record engine adds them, so the examples kept are the same."""
    from conformance.check._columnar_rules import NATIVE_RULES

    run = ColumnarRun(plan, setup, NATIVE_RULES)
    batch_rows = batch_rows or BATCH_ROWS
    dsp_nhs_number = plan.dsp_nhs_number
    key_columns, extra = _key_columns(setup) if plan.uniqueness else ([], set())
    add = report.add
    count = 0
    records: list[Record] = []

    built: dict[int, Row] = {}

    def row_at(index: int) -> Row:
        """A batch row as the record engine would have built it (built only for rows a rule may break, once)."""
        row = built.get(index)
        if row is None:
            row = built[index] = build(index)
        return row

    def build(index: int) -> Row:
        record = records[index]
        if dsp_nhs_number is None:
            row = Row(record.number, record.line, record.values, record.path)
        else:
            row = Row(
                record.number, record.line, record.values, record.path, dsp_values(record.values, dsp_nhs_number)[0]
            )
        if local is not None:
            local.apply(row)
        return row

    def flush() -> None:
        if not records:
            return
        frame = run.frame([r.values for r in records], extra, local)
        for unique in plan.uniqueness:
            _see_batch(unique, key_columns, frame, records, dsp=run.dsp)
        found = sorted(run.breaking(frame, row_at), key=lambda f: f[0])
        for index, spec, hit in found:
            add(record_finding(spec, hit, row_at(index)))
        records.clear()
        built.clear()

    for record in submission.records():
        count += 1
        if seen is not None:
            seen(record)
        records.append(record)
        if len(records) >= batch_rows:
            flush()
    flush()
    return count


def _key_columns(setup: Setup) -> tuple[list[tuple[pl.Expr, bool]], set[int]]:
    """The uniqueness key as expressions over the batch, each with the pack's fallback applied and whether it is
    compared as an instant (check._engine._key_reader), and the positions they read."""
    unique, index = setup.pack.uniqueness, setup.pack.index
    stand_in = dict(unique.fallback)
    columns = []
    for item in unique.key:
        value = pl.col(f"v{index[item]}")
        if item in stand_in:
            value = pl.when(value != "").then(value).otherwise(pl.col(f"v{index[stand_in[item]]}"))
        columns.append((value, item in unique.instants))
    positions = {index[i] for i in (*unique.key, *stand_in.values())}
    return columns, positions


def _see_batch(
    unique: Any, columns: list[tuple[pl.Expr, bool]], frame: pl.DataFrame, records: list[Record], dsp: bool
) -> None:
    """The batch's records through the duplicate index, in file order, as UniqueKey.see takes them one by one."""
    from conformance.check._columnar_exprs import utc_text
    from conformance.check._engine import _instant_text

    exprs = [pl.col(f"v{unique.at}").alias("value")]
    for k, (value, instant) in enumerate(columns):
        exprs.append((utc_text(value) if instant else value).alias(f"key{k}"))
        if instant:
            exprs.append(value.alias(f"written{k}"))
    table = frame.select(exprs)
    keys = []
    for k, (_, instant) in enumerate(columns):
        key = table.get_column(f"key{k}").to_list()
        if instant and None in key:  # a year Polars writes otherwise than Python: Python's own reading
            written = table.get_column(f"written{k}").to_list()
            key = [_instant_text(w) if v is None else v for v, w in zip(key, written, strict=True)]
        keys.append(key)
    values = table.get_column("value").to_list()
    see = unique.see_key
    if dsp:  # the DSP leaves out a record only when a key value is null (an empty field), see UniqueKey.see
        for record, value, *key in zip(records, values, *keys, strict=True):
            if any(not record.values[p] for p in unique.positions):
                continue
            see(record.number, record.line, record.path, value, tuple(key))
        return
    for record, value, *key in zip(records, values, *keys, strict=True):
        if value:
            see(record.number, record.line, record.path, value, tuple(key))
