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
