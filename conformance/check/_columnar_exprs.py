"""Column expressions the columnar rules share: a value read as the record engine reads it, once per batch.

Each mirrors a function of conformance.calendar exactly where it matters to a rule's candidates: a value that
function rejects must come out null here too (a candidate expression may pick a row that passes, never miss one
that breaks). Where mirroring Python exactly is not worth it, a reading says so with its `doubt`: an expression
true on the rows it may read otherwise than Python does (or where Python's date arithmetic overflows and the rule
raises), which every candidate expression using the reading adds to its candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

# conformance.calendar._DATE: CCYY-MM-DD, digits only. Python's `$` also matches before a final line feed (and
# int() then ignores it), Rust's only at the end: hence the `\n?`.
DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\n?$"
# calendar._TIMESTAMP and calendar._TIME, with the same `\n?`.
TIMESTAMP_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\+01:00|\+00:00|-00:00|Z)\n?$"
TIME_SHAPE = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\n?$"
LONDON = "Europe/London"
UTC_DATETIME = pl.Datetime("us", "UTC")
# Python's dates run from year 1 to 9999: near either end, a UK-clock day (0001-01-01T00:00Z is 31 December of
# year 0 on London's mean time) or a day plus a year or a month (calendar.add_months) overflows and the rule
# raises. The rows whose readings come that near are candidates, so that both engines raise on them.
EDGE_YEARS = (1, 9998)


def _number(value: pl.Expr, start: int, length: int) -> pl.Expr:
    return value.str.slice(start, length).cast(pl.Int64, strict=False)


def date_of(value: pl.Expr) -> pl.Expr:
    """calendar.parse_date: the date a CCYY-MM-DD value names, null for a blank, another shape or no such day
    (year 0000 included: Python's date has no year 0)."""
    shaped = value.str.contains(DATE_SHAPE) & (value.str.slice(0, 4) != "0000")
    return pl.when(shaped).then(value.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False))


def utc_text(value: pl.Expr) -> pl.Expr:
    """check._engine._instant_text for the years 1001-9998: a valid timestamp as the UTC instant it names
    (YYYY-MM-DDTHH:MM:SSZ); a value that is not a timestamp as written. Null for a value of the timestamp's shape
    outside those years, which the caller hands to _instant_text itself (Python writes year 999 as "999", and
    the first and last hours of the calendar are where conversions overflow)."""
    shaped = value.str.contains(TIMESTAMP_SHAPE)
    year = value.str.slice(0, 4).cast(pl.Int32, strict=False)
    hour, minute, second = (value.str.slice(at, 2).cast(pl.Int32, strict=False) for at in (11, 14, 17))
    day = date_of(value.str.slice(0, 10))
    valid = day.is_not_null() & (hour <= 23) & (minute <= 59) & (second <= 59)
    ahead = pl.when(value.str.contains(r"\+01:00\n?$")).then(1).otherwise(0)
    instant = day.cast(pl.Datetime("us")) + pl.duration(hours=hour - ahead, minutes=minute, seconds=second)
    return (
        pl.when(~shaped)
        .then(value)
        .when(~year.is_between(1001, 9998))
        .then(None)
        .when(valid)
        .then(instant.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        .otherwise(value)
    )


# ----- v1 candidates (check/_columnar_v1.py): date keys, NHS numbers, verdicts per distinct value -------------

# The start every date a v1 rule compares has: calendar.parse_date and the DSP's pattern_date both read a value that
# begins CCYY-MM-DD (ASCII digits), whatever follows (a final line feed, the DSP's line terminators).
DATE_PREFIX = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
# Exactly CCYY-MM-DD, nothing after it (Rust's `\z`: the very end).
PLAIN_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\z"


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


def plain_day(value: pl.Expr) -> pl.Expr:
    """The day a value that is exactly CCYY-MM-DD names (null for any other value, or no such day): the values on
    which Python's parse, the DSP's pattern and Spark's string-to-date cast all read the same day."""
    return pl.when(value.str.contains(PLAIN_DATE)).then(key_day(date_key(value)))  # one strptime per column


def may_cast(value: pl.Expr) -> pl.Expr:
    """False only for a value Spark's string-to-date cast (_spark.cast_date) cannot read as a date: every date it
    reads has a year of four to seven ASCII digits."""
    return value.str.contains("[0-9]{4}")


NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_number_ok(value: pl.Expr, *, palindrome_ok: bool = True) -> pl.Expr:
    """identifiers.is_valid_nhs_number as a column, never null: ten ASCII digits whose last is the modulus-11
    check digit of the first nine (a remainder that asks for check digit 10 matches no digit). With `palindrome_ok`
    False, also not a palindrome of its first and last five digits (identifiers.is_palindromic; the DSP's UDF)."""
    ten = value.str.contains(r"^[0-9]{10}\z")
    number = value.str.to_integer(strict=False)  # (no when/then guard: it would cost five times as much)
    d = [number // 10 ** (9 - k) % 10 for k in range(10)]
    total = pl.sum_horizontal([w * digit for w, digit in zip(NHS_WEIGHTS, d, strict=False)])
    ok: pl.Expr = ten & ((11 - total % 11) % 11 == d[9])
    if not palindrome_ok:
        ok = ok & ~((d[0] == d[9]) & (d[1] == d[8]) & (d[2] == d[7]) & (d[3] == d[6]) & (d[4] == d[5]))
    return ok.fill_null(False)


# A verdict on one distinct combination of values: True, the rule may break on any row that has it; False, on none;
# (lo, hi), only on a row whose date key lies outside lo..hi (ISO dates; None leaves that side open).
Verdict = bool | tuple[str | None, str | None]
VERDICT_MEMO = 65_536  # distinct combinations a judged expression remembers across batches (then it starts again)


def judged(values: Sequence[pl.Expr], judge: Callable[..., Verdict], days: Sequence[pl.Expr] = ()) -> pl.Expr:
    """Candidates from a Python judgement made once per distinct combination of `values` in a batch (remembered
    across batches): for reference-data look-ups, whose answers cannot be written as columns. `judge(*values)`
    returns a Verdict; a window verdict picks a row when any of the `days` (date keys) lies outside it. Never null."""
    memo: dict[tuple[str, ...], Verdict] = {}
    keys = [f"k{j}" for j in range(len(values))]

    def verdicts(rows: list[tuple[str, ...]]) -> tuple[list[bool], list[str | None], list[str | None]]:
        if len(memo) + len(rows) > VERDICT_MEMO:
            memo.clear()
        always, lows, highs = [], [], []
        for row in rows:
            verdict = memo.get(row)
            if verdict is None:
                verdict = memo[row] = judge(*row)
            if isinstance(verdict, tuple):
                always.append(False)
                lows.append(verdict[0])
                highs.append(verdict[1])
            else:
                always.append(verdict)
                lows.append(None)
                highs.append(None)
        return always, lows, highs

    def pick(columns: Sequence[pl.Series]) -> pl.Series:
        frame = pl.DataFrame(dict(zip(keys, columns[: len(keys)], strict=True)))
        distinct = frame.unique()
        always, lows, highs = verdicts(distinct.rows())
        table = distinct.with_columns(
            pl.Series("always", always, dtype=pl.Boolean),
            pl.Series("lo", lows, dtype=pl.String),
            pl.Series("hi", highs, dtype=pl.String),
        )
        joined = frame.join(table, on=keys, how="left", maintain_order="left")
        picked = joined.get_column("always").fill_null(True)
        low, high = joined.get_column("lo"), joined.get_column("hi")
        for day in columns[len(keys) :]:
            picked = picked | (day < low).fill_null(False) | (day > high).fill_null(False)
        return picked

    return pl.map_batches([*values, *days], pick, return_dtype=pl.Boolean)


def date_doubt(day: pl.Expr) -> pl.Expr:
    """A date whose day arithmetic (a month, six months or a year on) may overflow Python's dates."""
    return day.dt.year().is_in(EDGE_YEARS) | (day.dt.year() > EDGE_YEARS[1])


def seconds_of_time(value: pl.Expr) -> pl.Expr:
    """calendar.valid_time's HH:MM:SS as seconds since midnight, null where it is not valid."""
    clock = _number(value, 0, 2) * 3600 + _number(value, 3, 2) * 60 + _number(value, 6, 2)
    return pl.when(value.str.contains(TIME_SHAPE)).then(clock)


@dataclass(frozen=True)
class Stamp:
    """A v2 timestamp column as calendar.parse_timestamp reads it: `utc`, the instant (a UTC Datetime, null
    where parse_timestamp gives None); `doubt`, the rows whose reading may not be Python's: the pattern matches
    yet the value does not parse here (24:00:00, a 60th second, 30 February: Python rejects them too, but a
    candidate costs nothing next to a lost finding), or the instant lies in the first or last years Python can
    hold (see EDGE_YEARS)."""

    value: pl.Expr
    utc: pl.Expr
    doubt: pl.Expr

    @property
    def uk(self) -> pl.Expr:
        """The instant on the UK clock (Europe/London: GMT, BST, and London mean time before 1847)."""
        return self.utc.dt.convert_time_zone(LONDON)

    @property
    def day(self) -> pl.Expr:
        """calendar.local_day: the calendar day the instant falls on in England."""
        return self.uk.dt.date()

    @property
    def clock(self) -> pl.Expr:
        """The UK wall-clock time of the instant, as seconds since midnight (whole seconds: London mean time's
        offset is -00:01:15)."""
        uk = self.uk
        return uk.dt.hour().cast(pl.Int64) * 3600 + uk.dt.minute().cast(pl.Int64) * 60 + uk.dt.second()

    @property
    def uk_offset(self) -> pl.Expr:
        """The UTC offset in force in England at the instant, in seconds."""
        naive = self.utc.dt.replace_time_zone(None)
        return (self.uk.dt.replace_time_zone(None) - naive).dt.total_seconds()

    @property
    def written_offset(self) -> pl.Expr:
        """The offset the value writes, in seconds (+01:00 is 3600; +00:00, -00:00 and Z are 0)."""
        return pl.when(self.value.str.slice(19, 6) == "+01:00").then(3600).otherwise(0)


def timestamp_of(value: pl.Expr) -> Stamp:
    """calendar.parse_timestamp: the value's pattern, then datetime.fromisoformat's ranges (hour 00-23, minute and
    second 00-59, a real day of a year 0001-9999), the offset applied."""
    shaped = value.str.contains(TIMESTAMP_SHAPE)
    hour, minute, second = _number(value, 11, 2), _number(value, 14, 2), _number(value, 17, 2)
    in_range = (hour <= 23) & (minute <= 59) & (second <= 59)
    wall = date_of(value.str.slice(0, 10)).cast(pl.Datetime("us")) + pl.duration(
        hours=hour, minutes=minute, seconds=second
    )
    offset = pl.when(value.str.slice(19, 6) == "+01:00").then(pl.duration(hours=1)).otherwise(pl.duration(hours=0))
    utc = pl.when(shaped & in_range).then((wall - offset).dt.replace_time_zone("UTC"))
    year = utc.dt.year()
    doubt = (shaped & utc.is_null()) | (year <= EDGE_YEARS[0]) | (year >= EDGE_YEARS[1])
    return Stamp(value, utc, doubt)


def utc_literal(moment: datetime) -> pl.Expr:
    """An aware datetime as a literal comparable with Stamp.utc."""
    return pl.lit(moment.astimezone(UTC), dtype=UTC_DATETIME)


def date_literal(day: date) -> pl.Expr:
    return pl.lit(day, dtype=pl.Date)


def any_of(conditions: list[pl.Expr]) -> pl.Expr:
    """True where any condition is true (a null counts as false)."""
    return pl.any_horizontal(*(c.fill_null(False) for c in conditions))


# ----- look-ups: Python once per distinct value ---------------------------------------------------------------

CACHE_LIMIT = 65_536


def per_distinct(
    look: Callable[..., Any], values: list[pl.Expr], return_dtype: pl.DataType | type[pl.DataType]
) -> pl.Expr:
    """`look(*row_values)` for each distinct combination of `values` in a batch (remembered across batches, up to
    CACHE_LIMIT combinations): reference data looked up in Python, where the answer is a property of the value and
    a column expression cannot know it. `return_dtype` is what `look` returns (a Struct for a dict)."""
    cache: dict[Hashable, Any] = {}
    names = [f"k{n}" for n in range(len(values))]

    def batch(column: pl.Series) -> pl.Series:
        frame = column.struct.unnest()
        frame.columns = names
        distinct = frame.unique()
        answers = []
        for key in distinct.iter_rows():
            try:
                answers.append(cache[key])
            except KeyError:
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                answer = cache[key] = look(*key)
                answers.append(answer)
        table = distinct.with_columns(pl.Series("_answer", answers, dtype=return_dtype))
        return frame.join(table, on=names, how="left", maintain_order="left", nulls_equal=True).to_series(len(names))

    keys = pl.struct(*(v.alias(n) for v, n in zip(values, names, strict=True)))
    return keys.map_batches(batch, return_dtype=return_dtype, is_elementwise=True)
