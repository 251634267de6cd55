"""Column expressions the columnar rules share: a value read as the record engine reads it, once per batch.

Each mirrors a function of conformance.calendar exactly where it matters to a rule's candidates: a value that
function rejects must come out null here too (a candidate expression may pick a row that passes, never miss one
that breaks). Where mirroring Python exactly is not worth it, a reading says so with its `doubt`: an expression
true on the rows it may read otherwise than Python does (or where Python's date arithmetic overflows and the rule
raises), which every candidate expression using the reading adds to its candidates.

Once per batch: the engine evaluates every rule's expression in one Polars `select`, whose common-subexpression
elimination computes a repeated subexpression once. It takes the largest repeated subexpressions that hold no
`when`, and does not look inside them again: a parse repeated inside two different larger expressions would run
twice. So each costly reading (a parse, a time-zone conversion) is its own subexpression behind a `when`
(`_once`): what repeats, and is computed once, is the reading itself; what rules build on it is cheap arithmetic.
The readings most rules share (a v1 date key, a v2 timestamp's instant and UK clock) go further: each is a column
made before the rules' query (Columns.shared, the `share` of timestamp_of), so that its fixed cost per batch (a
pattern, the time-zone tables) is paid once too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import polars as pl

from conformance.calendar import LONDON

if TYPE_CHECKING:
    from conformance.check._columnar import Columns, NativeFactory
    from conformance.check._rows import RuleFn, Setup

# conformance.calendar's patterns, as Polars (Rust) reads them. Python's `$` also matches before a final line feed
# (and int() or fromisoformat then ignore it), Rust's only at the end: hence the `\n?`.
DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\n?$"
TIMESTAMP_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\+01:00|\+00:00|-00:00|Z)\n?$"
# The same, extracting what the value names, with the ranges Python's date and fromisoformat also ask for: a year
# from 0001 (Polars' strptime knows a year 0000), an hour to 23, a minute and second to 59 (strptime reads a 60th
# second as the next minute's first). Whether the day exists is left to strptime.
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_CLOCK = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_DATE_VALUE = rf"^({_YEAR}-[0-9]{{2}}-[0-9]{{2}})\n?$"
_TIMESTAMP_VALUE = rf"^({_YEAR}-[0-9]{{2}}-[0-9]{{2}}T{_CLOCK})(?:\+01:00|\+00:00|-00:00|Z)\n?$"
_TIME_VALUE = rf"^({_CLOCK})\n?$"
UTC_DATETIME = pl.Datetime("us", "UTC")
# Python's dates run from year 1 to 9999: near either end, a UK-clock day (0001-01-01T00:00Z is 31 December of
# year 0 on London's mean time) or a day plus a year or a month (calendar.add_months) overflows and the rule
# raises. The rows whose readings come that near are candidates, so that both engines raise on them.
SAFE_FROM, SAFE_BEFORE = date(1, 1, 2), date(9998, 1, 1)
# Polars' time zones (chrono-tz) keep summer time up to 2099 only; Python's zoneinfo goes on with the EU rule.
# A timestamp from 2100 is a candidate wherever it is read.
UK_CLOCK_BEFORE = datetime(2100, 1, 1, tzinfo=UTC)


def _once(reading: pl.Expr, value: pl.Expr) -> pl.Expr:
    """`reading` (of the column `value`), computed once per batch however many rules build on it (see the module's
    docstring; `value` is never null, so the `when` changes nothing else)."""
    return pl.when(value.is_not_null()).then(reading)


def date_of(value: pl.Expr) -> pl.Expr:
    """calendar.parse_date: the date a CCYY-MM-DD value names, null for a blank, another shape or no such day
    (year 0000 included: Python's date has no year 0)."""
    return _once(_matched(value, _DATE_VALUE, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False), value)


def _matched(value: pl.Expr, pattern: str, length: int) -> pl.Expr:
    """The first `length` characters of a value `pattern` (whose first group is just those) matches, else "" (which
    no strptime reads): str.extract's group at a third of its cost, and with no `when`, which would hide the
    reading from common-subexpression elimination (see the module's docstring)."""
    return value.str.slice(0, value.str.contains(pattern).cast(pl.UInt32) * length)


def instant_text(stamp: Stamp) -> pl.Expr:
    """check._engine._instant_text for the years 1001-9998: a valid timestamp as the UTC instant it names
    (YYYY-MM-DDTHH:MM:SSZ); a value that is not a timestamp as written. Null for a value of the timestamp's shape
    outside those years, which the caller hands to _instant_text itself (Python writes year 999 as "999", and
    the first and last hours of the calendar are where conversions overflow). Of the timestamp's shape and in those
    years, a value is valid exactly where its reading (`stamp.utc`) is not null."""
    value = stamp.value
    year = value.str.slice(0, 4).cast(pl.Int32, strict=False)
    return (
        pl.when(~stamp.shaped)
        .then(value)
        .when(~year.is_between(1001, 9998))
        .then(None)
        .when(stamp.utc.is_not_null())
        .then(stamp.utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        .otherwise(value)
    )


# ----- v1 candidates (check/_columnar_v1.py): date keys, NHS numbers, verdicts per distinct value -------------

# The start every date a v1 rule compares has: calendar.parse_date and the DSP's pattern_date both read a value that
# begins CCYY-MM-DD (ASCII digits), whatever follows (a final line feed, the DSP's line terminators).
DATE_PREFIX = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"


def date_key(value: pl.Expr) -> pl.Expr:
    """The value's first ten characters when they are shaped CCYY-MM-DD, else null. A date a v1 rule reads (a
    Python date or the DSP's (year, month, day)) is always written so, and zero-padded digits sort as dates do: a
    comparison of keys is true wherever the rule's comparison of its dates is. A null key is a value the rule reads
    as no date at all."""
    return pl.when(value.str.contains(DATE_PREFIX)).then(value.str.slice(0, 10))


def key_day(key: pl.Expr) -> pl.Expr:
    """The day a date key names, null for no such day (02-30, 02-00, month 13). Polars' calendar has a year 0000,
    as Spark's does and Python's does not; a key (ten characters shaped CCYY-MM-DD) is all this reads."""
    return key.str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def key_month(key: pl.Expr) -> pl.Expr:
    """year * 12 + month of a date key (null for a null key), the month count calendar.months_between and the
    DSP's whole months subtract."""
    return key.str.slice(0, 4).cast(pl.Int32, strict=False) * 12 + key.str.slice(5, 2).cast(pl.Int32, strict=False)


def may_cast(value: pl.Expr) -> pl.Expr:
    """False only for a value Spark's string-to-date cast (_spark.cast_date) cannot read as a date: every date it
    reads has a year of four to seven ASCII digits, so at least four bytes. (Wider than "holds four digits", which
    costs ten times as much to look for: a value of four bytes or more that Spark cannot read is looked at again.)"""
    return value.str.len_bytes() >= 4


NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)  # of the first nine digits
# The same sum, modulo 11, over the number's leading digits: (j, the weight of the first j digits read as one
# number P(j)). Digit j is P(j) - 10 P(j-1), so P(j) weighs w(j) - 10 w(j+1), and P(9) w(9); P(5)'s weight is 0.
NHS_PREFIX_WEIGHTS = tuple(
    (j, weight)
    for j, weight in [
        *((j, (NHS_WEIGHTS[j - 1] - 10 * NHS_WEIGHTS[j]) % 11) for j in range(1, 9)),
        (9, NHS_WEIGHTS[8]),
    ]
    if weight
)


def nhs_number_ok(value: pl.Expr, *, palindrome_ok: bool = True) -> pl.Expr:
    """identifiers.is_valid_nhs_number as a column, never null: ten ASCII digits whose last is the modulus-11
    check digit of the first nine (a remainder that asks for check digit 10 matches no digit). With `palindrome_ok`
    False, also not a palindrome of its first and last five digits (identifiers.is_palindromic; the DSP's UDF)."""
    ten = value.str.contains(r"^[0-9]{10}\z")
    # The digits read as one integer, taken apart by arithmetic: ~10 ms for 61,000 rows where slicing the text cost
    # ~30 (a value that is not ten digits reads as anything or null, and `ten` is false for it whatever it reads)
    number = value.str.to_integer(strict=False)
    # The weighted sum of the first nine digits, modulo 11, from the number's leading digits (NHS_PREFIX_WEIGHTS):
    # half the operations of taking the nine digits apart, for the same remainder
    total = sum(w * (number // 10 ** (10 - j)) for j, w in NHS_PREFIX_WEIGHTS)
    ok: pl.Expr = ten & ((11 - total % 11) % 11 == number % 10)
    if not palindrome_ok:
        # the first five digits against the last five reversed
        last = number % 100_000
        backwards = sum(last // 10**k % 10 * 10 ** (4 - k) for k in range(5))
        ok = ok & (number // 100_000 != backwards)
    return ok.fill_null(False)


# A verdict on one distinct combination of values: True, the rule may break on any row that has it; False, on none;
# (lo, hi), only on a row whose date key lies outside lo..hi (ISO dates; None leaves that side open).
Verdict = bool | tuple[str | None, str | None]


class Remembered:
    """The answers of a Python judgement, one per distinct combination of a batch's key columns, kept across
    batches as a frame of at most `limit` rows (then it starts again): a batch is one query, its rows joined to the
    answers, and Python judges only the combinations it has not met. Taking each batch's distinct keys to Python
    and joining their answers back (until the sixth session) cost 4x as much where a batch of 30,667 rows holds
    ~21,000 distinct values (a real month's postcodes or referrers), and as much at 25 (bench_lookups.py).

    `answer(key)` gives one value per column of `schema`; `nulls_equal`, whether a null key matches a null key
    (else a row with a null key has null answers, as a join gives it). Polars may call an expression's function on
    parts of a batch at once, from two threads: one call at a time here, or both could add the same keys, and a
    key twice in the table would double its rows in the join (tests/test_remembered.py)."""

    UNSEEN = "_unseen"  # a column of each answer: true where the row's key is not in the table
    LIMIT = 65_536  # distinct combinations kept by default (then it starts again: memory stays bounded)

    def __init__(
        self,
        keys: list[str],
        answer: Callable[[tuple[object, ...]], tuple[object, ...]],
        schema: Mapping[str, pl.DataType | type[pl.DataType]],
        *,
        nulls_equal: bool,
        limit: int = LIMIT,
    ) -> None:
        self.keys, self.answer, self.schema = keys, answer, schema
        self.nulls_equal, self.limit = nulls_equal, limit
        self.table: pl.DataFrame | None = None  # the keys, their answers, and "_seen" (true)
        self._lock = threading.Lock()

    def of(self, frame: pl.DataFrame, exprs: Sequence[pl.Expr]) -> pl.DataFrame:
        """`exprs` over `frame` (the keys, and any other columns `exprs` read) beside each row's answers (the
        columns of `schema`), a row for each of its rows in its order; and UNSEEN."""
        with self._lock:
            table = self.table
            if table is not None and table.schema != self._schema_for(frame):
                table = None  # keys of another type than before (not seen from the engine): start again
            out = unseen = None
            rest = frame  # the rows whose keys are new
            if table is not None:
                out = self._query(frame, table, exprs)
                unseen = out.get_column(self.UNSEEN)
                if not unseen.any():
                    return out
                rest = frame.filter(unseen)
            new = rest.select(self.keys).unique()
            answers = pl.DataFrame([self.answer(key) for key in new.iter_rows()], schema=self.schema, orient="row")
            added = new.hstack(answers).with_columns(pl.lit(True).alias("_seen"))
            full = table is None or len(table) + len(added) > self.limit
            self.table = added if table is None or full else pl.concat([table, added])
            answered = self._query(rest, added, exprs)  # those rows alone, against their new keys
            if out is None or unseen is None:
                return answered
            at = unseen.arg_true()
            return pl.DataFrame([out.get_column(c).scatter(at, answered.get_column(c)) for c in out.columns])

    def _schema_for(self, frame: pl.DataFrame) -> pl.Schema:
        """The table's schema for a batch of `frame`'s key types."""
        return pl.Schema({**{k: frame.schema[k] for k in self.keys}, **self.schema, "_seen": pl.Boolean})

    def _query(self, frame: pl.DataFrame, table: pl.DataFrame, exprs: Sequence[pl.Expr]) -> pl.DataFrame:
        # Eager: a lazy query's collect inside a Polars function waits for Polars' threads, which are busy with the
        # query that called it (7x as long, each call, in a check)
        joined = frame.join(table, on=self.keys, how="left", maintain_order="left", nulls_equal=self.nulls_equal)
        return joined.select(*exprs, pl.col("_seen").is_null().alias(self.UNSEEN))


def judged(values: Sequence[pl.Expr], judge: Callable[..., Verdict], days: Sequence[pl.Expr] = ()) -> pl.Expr:
    """Candidates from a Python judgement made once per distinct combination of `values` (remembered across
    batches: Remembered): for reference-data look-ups, whose answers cannot be written as columns. `judge(*values)`
    returns a Verdict; a window verdict picks a row when any of the `days` (date keys) lies outside it. Never null."""
    keys = [f"k{j}" for j in range(len(values))]
    day_names = [f"d{j}" for j in range(len(days))]

    def answer(key: tuple[object, ...]) -> tuple[object, ...]:
        verdict = judge(*key)
        return (False, *verdict) if isinstance(verdict, tuple) else (verdict, None, None)

    schema: dict[str, pl.DataType | type[pl.DataType]] = {"always": pl.Boolean, "lo": pl.String, "hi": pl.String}
    remembered = Remembered(keys, answer, schema, nulls_equal=False)
    outside = [
        (pl.col(d) < pl.col("lo")).fill_null(False) | (pl.col(d) > pl.col("hi")).fill_null(False) for d in day_names
    ]
    picked = pl.any_horizontal(pl.col("always").fill_null(True), *outside).alias("picked")

    def pick(columns: Sequence[pl.Series]) -> pl.Series:
        frame = pl.DataFrame(dict(zip([*keys, *day_names], columns, strict=True)))
        return remembered.of(frame, [picked]).get_column("picked")

    return pl.map_batches([*values, *days], pick, return_dtype=pl.Boolean)


def date_doubt(day: pl.Expr) -> pl.Expr:
    """A date whose day arithmetic (a month, six months or a year on) may overflow Python's dates."""
    return ~day.is_between(date_literal(SAFE_FROM), date_literal(SAFE_BEFORE), closed="left")


def seconds_of_time(value: pl.Expr) -> pl.Expr:
    """calendar.valid_time's HH:MM:SS as seconds since midnight, null where it is not valid."""
    clock = _matched(value, _TIME_VALUE, 8).str.strptime(pl.Time, "%H:%M:%S", strict=False)
    return _once(clock.cast(pl.Int64) // 1_000_000_000, value)


@dataclass(frozen=True)
class Stamp:
    """A v2 timestamp column as calendar.parse_timestamp reads it: `utc`, the instant (a UTC Datetime, null
    where parse_timestamp gives None); `doubt`, the rows whose reading may not be Python's: the pattern matches
    yet the value does not parse here (24:00:00, a 60th second, 30 February: Python rejects them too, but a
    candidate costs nothing next to a lost finding), or the instant lies in the first or last years Python can
    hold (see SAFE_FROM). `uk` is the UK wall-clock date and time of the instant (Europe/London: GMT, BST, London
    mean time before 1847) as a naive Datetime: the time zone is looked up once, and `day`, `clock` and
    `uk_offset` are plain arithmetic on it."""

    value: pl.Expr
    utc: pl.Expr
    uk: pl.Expr
    doubt: pl.Expr
    shaped: pl.Expr  # the value has the pattern's shape (TIMESTAMP_SHAPE), whatever its ranges

    @property
    def day(self) -> pl.Expr:
        """calendar.local_day: the calendar day the instant falls on in England."""
        return self.uk.dt.date()

    @property
    def clock(self) -> pl.Expr:
        """The UK wall-clock time of the instant, as seconds since midnight (whole seconds: London mean time's
        offset is -00:01:15)."""
        return self.uk.dt.epoch("s") % 86_400

    @property
    def uk_offset(self) -> pl.Expr:
        """The UTC offset in force in England at the instant, in seconds."""
        return (self.uk - self.utc.dt.replace_time_zone(None)).dt.total_seconds()

    @property
    def written_offset(self) -> pl.Expr:
        """The offset the value writes, in seconds (+01:00 is 3600; +00:00, -00:00 and Z are 0)."""
        return (self.value.str.slice(19, 6) == "+01:00").cast(pl.Int64) * 3600


# How a reading's parts are made: `share(name, make)` returns a column standing for `make()` (Columns.shared: made
# once per batch), or `make()` itself
Share = Callable[[str, Callable[[], pl.Expr]], pl.Expr]


def _unshared(name: str, make: Callable[[], pl.Expr]) -> pl.Expr:
    return make()


def timestamp_of(value: pl.Expr, share: Share = _unshared) -> Stamp:
    """calendar.parse_timestamp: the value's pattern, then datetime.fromisoformat's ranges (hour 00-23, minute and
    second 00-59, a real day of a year 0001-9999), the offset applied. Its parts ("utc", "uk", "doubt", "shaped")
    made through `share`: each part made from another reads the other's column, so nothing is parsed twice."""

    def parsed() -> pl.Expr:
        pattern = _matched(value, _TIMESTAMP_VALUE, 19)
        wall = pattern.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False)
        bst = (value.str.slice(19, 6) == "+01:00").cast(pl.Int64)
        return _once((wall - pl.duration(hours=bst)).dt.replace_time_zone("UTC"), value)

    utc = share("utc", parsed)
    uk = share("uk", lambda: utc.dt.convert_time_zone(LONDON.key).dt.replace_time_zone(None))
    shaped = share("shaped", lambda: value.str.contains(TIMESTAMP_SHAPE))
    first, last = utc_literal(datetime.combine(SAFE_FROM, time(0), UTC)), utc_literal(UK_CLOCK_BEFORE)
    if uk_clock_checked():
        doubt = share("doubt", lambda: (~utc.is_between(first, last, closed="left")).fill_null(shaped))
    else:
        doubt = value != ""  # every timestamp given
    return Stamp(value, utc, uk, doubt, shaped)


def uk_clock_agrees(instants: Iterable[datetime]) -> bool:
    """Whether Polars puts the UK clock where Python (calendar.LONDON) does, at every instant given."""
    moments = list(instants)
    python = [moment.astimezone(LONDON).replace(tzinfo=None) for moment in moments]
    series = pl.Series(moments, dtype=UTC_DATETIME).dt.convert_time_zone(LONDON.key).dt.replace_time_zone(None)
    return python == series.to_list()


@lru_cache(maxsize=1)
def uk_clock_checked() -> bool:
    """uk_clock_agrees, once a process, on midwinter and midsummer of every year from 1847 (the railways' GMT) to
    2099, and either side of every change of the clocks under the EU's rule (the last Sundays of March since 1981
    and of October since 1996, 01:00 UTC): time-zone data that Python and Polars each carry could one day differ
    (a new rule for the UK clock, in one of them only). When they do, every timestamp is a candidate."""
    instants = [datetime(year, month, 1, 12, tzinfo=UTC) for year in range(1847, 2100) for month in (1, 7)]
    for year in range(1981, 2100):
        for month in (3, 10) if year >= 1996 else (3,):
            last = date(year, month, 31)
            change = datetime.combine(last - timedelta(days=(last.weekday() + 1) % 7), time(1), UTC)
            instants += [change - timedelta(seconds=1), change]
    return uk_clock_agrees(instants)


@lru_cache(maxsize=256)  # a Datetime literal costs Polars ~0.7 ms to make: ~60 ms of each check's set-up
def utc_literal(moment: datetime) -> pl.Expr:
    """An aware datetime as a literal comparable with Stamp.utc."""
    return pl.lit(moment.astimezone(UTC), dtype=UTC_DATETIME)


@lru_cache(maxsize=256)
def date_literal(day: date) -> pl.Expr:
    return pl.lit(day, dtype=pl.Date)


def any_of(conditions: list[pl.Expr]) -> pl.Expr:
    """True where any condition is true (a null counts as false)."""
    return pl.any_horizontal(*(c.fill_null(False) for c in conditions))


# ----- look-ups: Python once per distinct value ---------------------------------------------------------------


def per_distinct(look: Callable[..., bool], values: list[pl.Expr]) -> pl.Expr:
    """`look(*row_values)` for each distinct combination of `values` (remembered across batches, up to
    Remembered.LIMIT combinations), as a Boolean column: for reference data, looked up in Python, where a column
    expression cannot know the answer. A date among `values` reaches `look` as a date, or None (null, or a day
    Python's dates cannot hold: a reading's doubt holds those rows). Make it the only reference to the look-up in
    a rule's expression: Polars runs a Python function wherever it is named."""
    names = [f"k{n}" for n in range(len(values))]
    dates: list[int] = []  # the positions of the date keys, known at the first batch

    def answer(key: tuple[object, ...]) -> tuple[object, ...]:
        args = list(key)
        for n in dates:
            args[n] = _python_date(args[n])  # type: ignore[arg-type]
        return (look(*args),)

    remembered = Remembered(names, answer, {"_answer": pl.Boolean}, nulls_equal=True)

    def batch(column: pl.Series) -> pl.Series:
        frame = column.struct.unnest()
        frame.columns = names
        dates[:] = [n for n, dtype in enumerate(frame.dtypes) if dtype == pl.Date]
        frame = frame.with_columns(pl.col(names[n]).cast(pl.Int32) for n in dates)  # days since 1970-01-01
        return remembered.of(frame, [pl.col("_answer")]).get_column("_answer")

    keys = pl.struct(*(v.alias(n) for v, n in zip(values, names, strict=True)))
    return keys.map_batches(batch, return_dtype=pl.Boolean, is_elementwise=True)


def by_its_own_function(rule_id: str, make: Callable[[Setup], RuleFn]) -> NativeFactory:
    """A native factory for a rule that reads one item alone (its catalogued item), judged by the rule's own
    function `make(setup)` once per distinct value (per_distinct), on a row that holds that value alone: for a rule
    whose reading is not worth restating as an expression (the pack's referrer patterns, Python regular expressions
    an override may change; a look-up in the reference data). Exact by construction, as a rule reads only its
    catalogued items (tests/test_rule_items.py); a value on which the function raises is a candidate, so that it
    raises in both engines. Unlike the engine's per-distinct groups, it does not build each distinct value's whole
    record (~12 µs a value)."""

    def factory(s: Setup, c: Columns) -> pl.Expr:
        from conformance.check._rows import Row

        (item,) = s.pack.rule(rule_id).items
        rule, position, width = make(s), s.pos(item), len(s.pack.items)

        def breaks(value: str | None) -> bool:
            values = [""] * width
            values[position] = value or ""
            try:
                return rule(Row(0, 0, (), None, values)) is not None
            except Exception:
                return True

        return per_distinct(breaks, [c.v(item)])

    return factory


_EPOCH = date(1970, 1, 1).toordinal()


def _python_date(days: int | None) -> date | None:
    if days is None or not date.min.toordinal() <= days + _EPOCH <= date.max.toordinal():
        return None
    return date.fromordinal(days + _EPOCH)
