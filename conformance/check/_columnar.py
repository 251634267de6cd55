"""The columnar engine: the same rules as the record engine (`_engine._run`), evaluated over batches of rows.

Records come as the format readers give them, except a regular CSV file's plain rows, which come a block at a time
already split into columns by Polars (formats/_csv.py read_csv_blocks, whose file problems, lines and ledger are
read_csv's). Instead of running each rule on each record, a batch of rows becomes a Polars frame and:

1. A rule with a column expression (`check/_columnar_rules.py`) is a *filter*: the expression picks out every
   row that may break it (its candidates: no row that breaks the rule may be left out; a row that passes may be
   picked, at the cost of a wasted look), each item parsed once per batch (a timestamp, its UK-clock day).
2. Every other rule is evaluated once per distinct combination of the values it reads in the batch (rules read
   only their catalogued items, tests/test_rule_items.py), and the combinations that break it are joined back.
3. Only the rows so picked are looked at again, each by the record engine's own rule function run on that row:
   the record, line, field, value and message of a finding are the record engine's by construction. A row an
   expression wrongly leaves out is what the differential test (tests/test_engines.py) looks for.

Memory: a batch is bounded (BATCH_ROWS records, or BLOCK_BYTES of plain rows, with the next block read ahead while
it is checked); the duplicate index (CompactIndex) keeps 16 bytes a key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

import polars as pl

from conformance.check._engine import KEY_ESCAPE, KEY_SEPARATOR, key_text
from conformance.check._rows import Hit, Row, RuleFn, Setup
from conformance.check._spark import SPARK_TRIM, dsp_values

if TYPE_CHECKING:
    from conformance.check._columnar_exprs import Stamp
    from conformance.check._engine import LocalCodes, RuleGroup, UniqueKey, _Plan
    from conformance.check._model import Report
    from conformance.formats import PlainRows, Record, Submission
    from conformance.spec import RuleSpec

# Records per batch when they come one by one (XML, CSV rows that are not plain): ~40 MiB of Python strings at 25
# items, and the frame's copy; Polars plans a batch in ~30 ms whatever its size
BATCH_ROWS = 32_768
# Polars' engine for a batch's expressions: a batch is in memory, and the in-memory engine evaluates its ~70
# expressions ~20 % faster than the streaming engine Polars 2 picks by default (measured on 19,000 rows of v2)
ENGINE: Final = "in-memory"
# Between a batch's values and records when ColumnarRun.frame joins them for Polars to split (XML cannot hold
# either; a CSV value that holds one is built the slow way)
_VALUE_END, _RECORD_END = "\x1f", "\x1e"
# The duplicate index's digest here: Polars' 64-bit hash of the key's text, with a seed fixed so that it is the same
# run after run (UniqueKey's BLAKE2b costs a Python call a record)
KEY_SEED = 0x0D1D5
# A regular CSV file's plain rows are split a block of this many bytes at a time (~19,000 rows of v2, ~30,000 of
# v1), the next block read while the last is checked (formats/_ahead.py). Each batch has a fixed cost whatever its
# size (~16 ms of Polars for v2, ~6 for v1); with blocks of 8 MiB, a check of 1,000,000 records took ~10 % less
# time and ~50 MiB more memory, and its peak grew from 100,000 records to 1,000,000 by ~20 MiB beyond the duplicate
# index (measured with tests/benchmarks/bench_check.py)
BLOCK_BYTES = 4 << 20
# What Python's str.strip() strips (every character whose isspace() is true), so that Polars trims alike.
# (tests/test_engines.py recomputes it from this Python's Unicode tables).
PYTHON_WHITESPACE = (
    "\x09\x0a\x0b\x0c\x0d\x1c\x1d\x1e\x1f\x20\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# check/_spark.py NHS_NUMBER_CLEANSE in Rust's regex syntax (Java's ASCII \s, and the hyphen)
NHS_NUMBER_CLEANSE_RUST = r"[ \t\n\x0B\x0C\r-]+"

# A native rule: given the Setup and the batch's columns, an expression true on every row that may break it.
NativeFactory = Callable[[Setup, "Columns"], "pl.Expr"]


class Columns:
    """The columns a batch offers to expressions: `v(item)`, the value as the profile's rules see it, and
    `raw(item)`, as read. Derived columns (a parsed timestamp, its UK day) are expressions over these: either
    plain expressions, which Polars' common-subexpression elimination evaluates once per batch where it finds
    them, or `shared` columns, computed once per batch before the rules' query."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.positions: set[int] = set()
        self.raw_positions: set[int] = set()
        self.stamps: dict[str, Stamp] = {}  # each timestamp item's reading (`stamp`), made once
        # shared columns by stage: a column made from others comes a stage after the last of them
        self.stages: list[list[pl.Expr]] = []
        self._stage_of: dict[str, int] = {}

    def shared(self, name: str, make: Callable[[], pl.Expr]) -> pl.Expr:
        """The column `name`, made by `make()` once per batch before the rules' query: for a reading many rules
        build on (a date key, its day), which common-subexpression elimination misses inside a `when` or beneath
        another reading, so that each rule would compute it again."""
        column = f"_{name}"
        if column not in self._stage_of:
            expr = make()
            read = [self._stage_of[c] for c in expr.meta.root_names() if c in self._stage_of]
            stage = self._stage_of[column] = max(read, default=-1) + 1
            if stage == len(self.stages):
                self.stages.append([])
            self.stages[stage].append(expr.alias(column))
        return pl.col(column)

    def with_shared(self, batch: pl.LazyFrame) -> pl.LazyFrame:
        """The batch with the shared columns made, stage by stage."""
        for stage in self.stages:
            batch = batch.with_columns(stage)
        return batch

    def stamp(self, item: str) -> Stamp:
        """The item's timestamp reading (_columnar_exprs.timestamp_of), its instant, UK clock, shape and doubt each
        a shared column: a batch's fixed cost (~1 ms a reading for the time-zone tables and patterns) and its parse
        are paid once, however many rules and keys read it."""
        from conformance.check._columnar_exprs import timestamp_of

        stamp = self.stamps.get(item)
        if stamp is None:
            stamp = timestamp_of(self.v(item), lambda part, make: self.shared(f"{part} {item}", make))
            self.stamps[item] = stamp
        return stamp

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
    """Rules evaluated per distinct combination of the values at `positions`, read from the batch's columns `keys`
    (see ColumnarRun._group)."""

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
        # Per group, one query a batch: whether a row is the first with its values, and a hash of them by which the
        # rows sharing a failing row's values are found (a collision adds a look, never a miss)
        self.group_exprs: list[pl.Expr] = []
        for k, g in enumerate(groups):
            values = pl.col(g.keys[0]) if len(g.keys) == 1 else pl.struct(g.keys)
            self.group_exprs += [values.is_first_distinct().alias(f"_first{k}"), values.hash(KEY_SEED).alias(f"_of{k}")]

    def _group(self, group: RuleGroup, rules: list[tuple[RuleSpec, RuleFn]]) -> _Group:
        # The values whose distinct combinations the rules run on: as the rules see them, or for a profile that
        # follows the DSP the raw values alone (what its rules see is made from them, and they tell a value of
        # spaces from an empty one)
        if self.dsp:
            self.columns.raw_positions.update(group.positions)
            return _Group(group.positions, rules, [f"r{p}" for p in group.positions])
        self.columns.positions.update(group.positions)
        return _Group(group.positions, rules, [f"v{p}" for p in group.positions])

    def wanted(self, extra: set[int], local: LocalCodes | None) -> tuple[list[int], list[int]]:
        """The positions a batch needs as `v<p>` (the values as the rules see them: some rule, `extra` or the local
        codes read them) and as `r<p>` (as read: those, and where a rule needs the raw value)."""
        wanted_v = self.columns.positions | extra
        if local is not None:
            wanted_v.add(local.position)
        return sorted(wanted_v), sorted(wanted_v | self.columns.raw_positions)

    def frame(self, raws: list[tuple[str, ...]], extra: set[int], local: LocalCodes | None) -> pl.DataFrame:
        """The batch of records' values as columns: `r<p>` and `v<p>` (see `wanted`)."""
        wanted_v, raw_positions = self.wanted(extra, local)
        width = len(raws[0])
        # Joined into one text and split by Polars: half the cost of building a Series per column from Python's
        # strings (transposing the rows alone costs more). Taken only when no value holds a separator.
        text = _RECORD_END.join([_VALUE_END.join(values) for values in raws])
        if text.count(_VALUE_END) == (width - 1) * len(raws) and text.count(_RECORD_END) == len(raws) - 1:
            names = [f"r{p}" for p in range(width)]
            rows = pl.Series("row", [text], dtype=pl.String).str.split(_RECORD_END).explode()
            split = rows.str.split_exact(_VALUE_END, width - 1).struct.rename_fields(names).struct.unnest()
            frame = split.select(f"r{p}" for p in raw_positions)
        else:
            by_position = list(zip(*raws, strict=True))
            frame = pl.DataFrame(
                {f"r{p}": pl.Series(by_position[p], dtype=pl.String) for p in raw_positions}, height=len(raws)
            )
        return self._derive(frame, wanted_v, local, plain=False)

    def plain_frame(self, block: PlainRows, extra: set[int], local: LocalCodes | None) -> pl.DataFrame:
        """The same from a block of plain rows (formats/_csv.py PlainRows, already split into columns)."""
        wanted_v, raw_positions = self.wanted(extra, local)
        return self._derive(block.columns.select(f"r{p}" for p in raw_positions), wanted_v, local, plain=True)

    def _derive(
        self, frame: pl.DataFrame, wanted_v: list[int], local: LocalCodes | None, *, plain: bool
    ) -> pl.DataFrame:
        frame = frame.with_columns(self._seen_as(p, plain).alias(f"v{p}") for p in wanted_v)
        if local is not None:
            # The trust's local codes, mapped as LocalCodes.apply maps them (Python's upper(), its dictionary).
            name = f"v{local.position}"
            codes = local.codes
            mapped = [codes.get(value.upper(), value) for value in frame.get_column(name).to_list()]
            frame = frame.with_columns(pl.Series(name, mapped, dtype=pl.String))
        return frame

    def _seen_as(self, position: int, plain: bool) -> pl.Expr:
        """A raw column as the profile's rules see it (Row: str.strip(); the DSP's trimming and cleansing, see
        check/_spark.py dsp_values). `plain`: the values come from a plain CSV block, which holds no control
        character: there Python's white space is Rust's (it adds only \x1c-\x1f), and Polars strips Rust's at
        ~60 % of the cost of a set of characters."""
        raw = pl.col(f"r{position}")
        if not self.dsp:
            return raw.str.strip_chars() if plain else raw.str.strip_chars(PYTHON_WHITESPACE)
        trimmed = raw.str.strip_chars(SPARK_TRIM)
        if position == self.dsp_nhs_number:
            return trimmed.str.replace_all(NHS_NUMBER_CLEANSE_RUST, "")
        return trimmed

    def evaluate(self, frame: pl.DataFrame, more: list[pl.Expr]) -> pl.DataFrame:
        """One query over the batch: every native rule's candidates (column "<k>" for the k-th) and the columns
        `more` asks for (the duplicate keys), so that what they share (a parsed timestamp) is computed once, and
        Polars plans the batch once (~40 ms a plan, whatever the batch's size)."""
        # A null is "cannot tell", so the row is looked at (false would let a broken row pass unseen); the row index
        # keeps the frame's height when every expression is a bare literal (which would give one row).
        return (
            self.columns.with_shared(frame.lazy())
            .select(
                pl.int_range(pl.len()).alias("_row"),
                *(n.expr.fill_null(True).alias(str(k)) for k, n in enumerate(self.natives)),
                *more,
            )
            .collect(engine=ENGINE)
        )

    def breaking(
        self, frame: pl.DataFrame, masks: pl.DataFrame, rows: Callable[[int], Row]
    ) -> Iterator[tuple[int, RuleSpec, Hit]]:
        """(row index in the batch, rule, hit) for every rule a row breaks, in file order, and on one row in the
        record engine's order (the native rules, then the groups); `masks` is the batch's `evaluate`. The rows a
        rule may break are put in that order first, as integers, so that a batch whose every row breaks rules
        (an upgraded file's blanks) holds no more than one row's findings at a time."""
        count = len(self.natives)
        looks: list[pl.DataFrame] = []
        for k in range(count):
            column = masks.get_column(str(k))
            if column.any():
                looks.append(pl.DataFrame({"_row": column.arg_true(), "k": k}, schema=_LOOKS))
        if self.groups:
            distinct = frame.select(self.group_exprs)
            for g, group in enumerate(self.groups):
                shared = self._group_rows(g, group, distinct, rows)
                if shared:
                    looks.append(pl.DataFrame({"_row": shared, "k": count + g}, schema=_LOOKS))
        if not looks:
            return
        for part in pl.concat(looks).sort("_row", "k").iter_slices(_LOOKS_AT_ONCE):
            for index, k in zip(part.get_column("_row").to_list(), part.get_column("k").to_list(), strict=True):
                row = rows(index)
                if k < count:
                    native = self.natives[k]
                    hit = native.fn(row)
                    if hit is not None:
                        yield index, native.spec, hit
                    continue
                for spec, fn in self.groups[k - count].rules:
                    hit = fn(row)
                    if hit is not None:
                        yield index, spec, hit

    @staticmethod
    def _group_rows(g: int, group: _Group, distinct: pl.DataFrame, rows: Callable[[int], Row]) -> list[int]:
        """The rows the g-th group's rules may break: every row sharing its values with a row that breaks one (the
        rules run on the first row of each distinct combination of the values they read)."""
        failing: list[int] = []
        for first in distinct.get_column(f"_first{g}").arg_true().to_list():
            row = rows(first)
            if any(fn(row) is not None for _, fn in group.rules):
                failing.append(first)
        if not failing:
            return []
        of = distinct.get_column(f"_of{g}")
        return of.is_in(of.gather(failing).implode()).arg_true().to_list()


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
    in file order, as the record engine adds them, so the examples kept are the same.

    A regular CSV file's plain rows come as columns (Submission.blocks), a block at a time; other rows come as the
    reader's Records, gathered `batch_rows` at a time."""
    from conformance.check._columnar_rules import NATIVE_RULES
    from conformance.formats import PlainRows
    from conformance.signals import raise_noted

    run = ColumnarRun(plan, setup, NATIVE_RULES)
    batch_rows = batch_rows or BATCH_ROWS
    dsp_nhs_number = plan.dsp_nhs_number
    key_columns, extra = _key_columns(setup, run.columns) if plan.uniqueness else ([], set())
    indexes = [CompactIndex(unique) for unique in plan.uniqueness]
    key_exprs = [e for k, index in enumerate(indexes) for e in _key_exprs(index.unique, k, key_columns, run.dsp)]
    instants = [c.instant for c in key_columns]
    add = report.add
    count = 0
    records: list[Record] = []

    def look(frame: pl.DataFrame, record_at: Callable[[int], Record], places: _Places) -> None:
        """One batch: the duplicate index fed, then every rule's findings in file order."""
        last: list[Any] = [-1, None]  # the row built last: rows are taken in order, each built once or twice

        def row_at(index: int) -> Row:
            """A batch row as the record engine would have built it (built only for rows a rule may break)."""
            if last[0] == index:
                return cast(Row, last[1])
            record = record_at(index)
            seen_as = None if dsp_nhs_number is None else dsp_values(record.values, dsp_nhs_number)
            row = Row(record.number, record.line, record.values, record.path, seen_as)
            if local is not None:
                local.apply(row)
            last[0], last[1] = index, row
            return row

        masks = run.evaluate(frame, key_exprs)
        # A signal whose exception a Polars function swallowed (conformance/signals.py) ends the check here
        raise_noted()
        for k, compact in enumerate(indexes):
            _see_batch(compact, k, instants, masks, places, dsp=run.dsp)
        for index, spec, hit in run.breaking(frame, masks, row_at):
            add(record_finding(spec, hit, row_at(index)))

    def flush() -> None:
        if records:
            places = _Places([r.number for r in records], [r.line for r in records], [r.path for r in records])
            look(run.frame([r.values for r in records], extra, local), records.__getitem__, places)
            records.clear()

    items = submission.blocks(BLOCK_BYTES, ahead=True)
    try:
        for item in items:
            if isinstance(item, PlainRows):
                count += len(item)
                if seen is not None:
                    for record in item.records():
                        seen(record)
                numbers, lines = range(item.number, item.number + len(item)), range(item.line, item.line + len(item))
                frame = run.plain_frame(item, extra, local)
                if not records:
                    look(frame, item.record, _Places(numbers, lines))
                else:
                    # The records read one by one before the block (a file's first row, when it has no header) join
                    # it: one batch, not one more of a single row (~40 ms of Polars' planning)
                    before = records.copy()
                    records.clear()
                    frame = pl.concat([run.frame([r.values for r in before], extra, local), frame], rechunk=False)
                    places = _Places([*(r.number for r in before), *numbers], [*(r.line for r in before), *lines])
                    look(frame, _records_then_block(before, item), places)
                del item, frame  # not kept while the next block is read
                continue
            count += 1
            if seen is not None:
                seen(item)
            records.append(item)
            if len(records) >= batch_rows:
                flush()
    finally:
        items.close()  # the reader and its thread stopped now, in order, not when collected
    flush()
    return count


def _records_then_block(before: list[Record], block: PlainRows) -> Callable[[int], Record]:
    """The record at a row of a batch made of records `before` and then a block's rows."""
    ahead = len(before)
    return lambda index: before[index] if index < ahead else block.record(index - ahead)


# ColumnarRun.breaking: a row to look at and the rule (or group) to run on it, taken into Python so many at a time
_LOOKS = {"_row": pl.UInt32, "k": pl.UInt32}
_LOOKS_AT_ONCE = 8192


@dataclass(frozen=True, slots=True)
class _Places:
    """Where a batch's rows are: record numbers, lines, XML paths (None for CSV)."""

    numbers: Sequence[int]
    lines: Sequence[int]
    paths: Sequence[str | None] | None = None


@dataclass(frozen=True, slots=True)
class KeyColumn:
    """One value of a uniqueness key in a batch: as read (with the pack's fallback), and as its text joins the key
    (an instant as the UTC instant it names: instant_text, null where Python must write it)."""

    value: pl.Expr
    text: pl.Expr
    instant: bool


def _key_columns(setup: Setup, shared: Columns) -> tuple[list[KeyColumn], set[int]]:
    """The uniqueness key as expressions over the batch, each with the pack's fallback applied and whether it is
    compared as an instant (check._engine._key_reader), and the positions they read. An instant's text is read
    from the item's shared timestamp reading (`shared`, which the rules' readings share)."""
    from conformance.check._columnar_exprs import instant_text, timestamp_of

    unique, index = setup.pack.uniqueness, setup.pack.index
    stand_in = dict(unique.fallback)
    columns = []
    for item in unique.key:
        value = pl.col(f"v{index[item]}")
        if item in stand_in:
            value = pl.when(value != "").then(value).otherwise(pl.col(f"v{index[stand_in[item]]}"))
        if item not in unique.instants:
            columns.append(KeyColumn(value, value, instant=False))
            continue
        stamp = timestamp_of(value) if item in stand_in else shared.stamp(item)
        columns.append(KeyColumn(value, instant_text(stamp), instant=True))
    positions = {index[i] for i in (*unique.key, *stand_in.values())}
    return columns, positions


def _key_exprs(unique: UniqueKey, k: int, columns: list[KeyColumn], dsp: bool) -> list[pl.Expr]:
    """The k-th uniqueness rule's columns in a batch's query (ColumnarRun.evaluate): `key<k>` the value a finding
    shows, `out<k>` whether the record takes no part, `text<k>` the key's text as UniqueKey.digest joins it (null
    where Python must write it), `digest<k>` its hash, `written<k>_<j>` the key's values as read."""
    at = pl.col(f"v{unique.at}")
    # out of the index: the DSP leaves out a record only when a key value is null (an empty field, see
    # UniqueKey.see); the rule texts, one whose accession number is blank
    out = pl.any_horizontal(pl.col(f"r{p}") == "" for p in unique.positions) if dsp else at == ""
    # null where a value's text is (an instant Python must write), or where a value holds the separator or its
    # escape, which Python escapes (key_text; an instant's text names no such character, or is null)
    joined = pl.concat_str([c.text for c in columns], separator=KEY_SEPARATOR)
    plain = [~c.value.str.contains(f"[{KEY_SEPARATOR}{KEY_ESCAPE}]") for c in columns if not c.instant]
    if plain:
        joined = pl.when(pl.all_horizontal(plain)).then(joined)
    if not dsp:
        # Python's upper() and Rust's agree on ASCII (text whose every character is one byte); other text is
        # upper-cased by Python (_see_batch)
        joined = pl.when(joined.str.len_bytes() == joined.str.len_chars()).then(joined.str.to_uppercase())
    return [
        at.alias(f"key{k}"),
        out.alias(f"out{k}"),
        joined.alias(f"text{k}"),
        joined.hash(seed=KEY_SEED).alias(f"digest{k}"),
        *(c.value.alias(f"written{k}_{j}") for j, c in enumerate(columns)),
    ]


def _see_batch(
    index: CompactIndex, k: int, instants: list[bool], masks: pl.DataFrame, places: _Places, dsp: bool
) -> None:
    """The batch's records through the k-th duplicate index, in file order, as UniqueKey.see takes them one by one
    (`masks`: the batch's query, with _key_exprs' columns; `instants`: which of the key's values are instants)."""
    from conformance.check._engine import _instant_text

    out = masks.get_column(f"out{k}")
    table = masks if not out.any() else masks.filter(~out)
    digests = table.get_column(f"digest{k}")
    text = table.get_column(f"text{k}")
    if text.null_count():  # Python's own reading: instants Polars writes otherwise, text beyond ASCII
        texts = text.to_list()
        written = [table.get_column(f"written{k}_{j}").to_list() for j in range(len(instants))]
        for row, value in enumerate(texts):
            if value is None:
                parts = [
                    _instant_text(written[j][row]) if instant else written[j][row] for j, instant in enumerate(instants)
                ]
                joined = key_text(parts)
                texts[row] = joined if dsp else joined.upper()
        digests = pl.Series(texts, dtype=pl.String).hash(seed=KEY_SEED)  # the same hash as the expression's
    values = table.get_column(f"key{k}")
    if table.height == len(places.numbers):  # every record takes part (the usual case)
        index.see(places.numbers, places.lines, digests, values, places.paths)
        return
    picked = table.get_column("_row").to_list()
    numbers, lines, paths = places.numbers, places.lines, places.paths
    index.see(
        [numbers[r] for r in picked],
        [lines[r] for r in picked],
        digests,
        values,
        None if paths is None else [paths[r] for r in picked],
    )


class CompactIndex:
    """A uniqueness rule's duplicate index for the columnar engine: the digest of every key seen so far, sorted,
    beside its first record's place (number << 32 | line), 16 bytes a key where UniqueKey's dictionary takes ~100;
    a batch's keys are looked up all at once (a binary search), and only the keys met more than once go into
    UniqueKey.first, where UniqueKey.meet reports them as the record engine does. In one part of a parallel check,
    every key goes to UniqueKey.log instead (the parent meets them)."""

    # The most keys a run holds (32 MiB): a merge holds its two runs and their copy at once, so the index's last
    # merge before 2^k batches briefly doubled it (the index alone fed 10,000,000 keys in v1-dsp's batches peaked
    # at 379-423 MiB for its 153 MiB of keys; 277-279 MiB capped). Past it, a batch's look-ups search one more run
    # for each MAX_RUN keys (9 % longer at 10,000,000 keys).
    MAX_RUN = 1 << 21

    def __init__(self, unique: UniqueKey) -> None:
        self.unique = unique
        # The keys seen, as sorted runs of (digest "d", first place "p") with no digest in two runs, each run at
        # least as long as the next: a new batch's run is merged with the last while that is no longer and the two
        # fit in MAX_RUN (a binary counter), so a key is copied ~log2(batches) times and the runs freed are few and
        # of few sizes. Merging every batch into one run copied the whole index each time, and the allocator kept
        # the freed copies: ~10 MiB more peak memory at 1,000,000 records.
        self.runs: list[pl.DataFrame] = []

    def __len__(self) -> int:
        return sum(len(run) for run in self.runs)

    def _lookup(self, needles: pl.Series) -> tuple[pl.Series, pl.Series]:
        """Whether each of the sorted digests `needles` was seen before this batch, and (where it was) its first
        place. Sorted, so that each run's binary searches walk it in order: half the time of the batch's random
        order (the searches were ~20 % of a v1-dsp check of 1,000,000 records)."""
        found = pl.repeat(False, len(needles), eager=True)
        earlier = pl.repeat(None, len(needles), dtype=pl.UInt64, eager=True)
        for run in self.runs:
            seen_d = run.get_column("d")
            at = seen_d.search_sorted(needles, side="left").clip(0, len(seen_d) - 1)
            hit = seen_d.gather(at) == needles
            found, earlier = found | hit, run.get_column("p").gather(at).zip_with(hit, earlier)
        return found, earlier

    def see(
        self,
        numbers: Sequence[int],
        lines: Sequence[int],
        digests: pl.Series,
        values: pl.Series,
        paths: Sequence[str | None] | None,
    ) -> None:
        """The batch's keys that take part, in file order."""
        unique = self.unique
        if unique.log is not None:
            unique.see_digests(numbers, lines, digests.to_list(), values.to_list(), paths)
            return
        # The batch sorted by digest once, keeping file order among equal digests: the look-ups, the keys the batch
        # repeats and each one's first record, and the new run all read it (hashing the batch for its repeats and
        # first records, and sorting the new keys again, cost ~40 % more)
        size = len(digests)
        batch = pl.DataFrame(
            {
                "d": digests.cast(pl.UInt64),
                "p": pl.Series(numbers, dtype=pl.UInt64) * (1 << 32) + pl.Series(lines, dtype=pl.UInt64),
                "j": pl.int_range(size, dtype=pl.UInt32, eager=True),
            }
        ).sort("d", maintain_order=True)
        d = batch.get_column("d")
        found, earlier = self._lookup(d)
        first = (d != d.shift(1)).fill_null(True)  # the first of its digest in the batch, in file order
        repeated = ~first | (d == d.shift(-1)).fill_null(False)
        involved = found | repeated
        if involved.any():
            meet = (
                batch.select("d", "j", found.alias("found"), earlier.alias("earlier"))
                .filter(involved)
                .sort("j")  # met in file order, as UniqueKey.see meets them
            )
            seen = unique.first
            for digest, j, in_run, place in meet.iter_rows():
                if digest not in seen and in_run:
                    seen[digest] = place  # its first record, in an earlier batch
                if digest in seen:
                    unique.meet(digest, numbers[j], lines[j], values[j], None if paths is None else paths[j])
                else:
                    seen[digest] = numbers[j] << 32 | lines[j]
        new = batch.select("d", "p").filter(first & ~found)  # sorted by digest already
        if len(new):
            runs = self.runs
            runs.append(new)
            while len(runs) > 1 and len(runs[-2]) <= len(runs[-1]) and len(runs[-2]) + len(runs[-1]) <= self.MAX_RUN:
                last = runs.pop()
                runs[-1] = runs[-1].merge_sorted(last, key="d")
