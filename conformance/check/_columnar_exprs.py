"""Column expressions the columnar rules share: a value read as the record engine reads it, once per batch.

Each mirrors a function of conformance.calendar exactly where it matters to a rule's candidates: a value that
function rejects must come out null here too (a candidate expression may pick a row that passes, never miss one
that breaks)."""

from __future__ import annotations

import polars as pl

# conformance.calendar._DATE: CCYY-MM-DD, digits only. Python's `$` also matches before a final line feed (and
# int() then ignores it), Rust's only at the end: hence the `\n?`.
DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\n?$"


def date_of(value: pl.Expr) -> pl.Expr:
    """calendar.parse_date: the date a CCYY-MM-DD value names, null for a blank, another shape or no such day
    (year 0000 included: Python's date has no year 0)."""
    shaped = value.str.contains(DATE_SHAPE) & (value.str.slice(0, 4) != "0000")
    return pl.when(shaped).then(value.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False))


# calendar._TIMESTAMP's shape (with Python's `$` quirk): a value of this shape may be a timestamp.
TIMESTAMP_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\+01:00|\+00:00|-00:00|Z)\n?$"


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
