"""The calendar DIDS runs on: the UK clock, calendar months, reporting periods, and the date, time and timestamp
shapes the two versions write.

A floor every other package stands on: it imports nothing of the project's but the error type. The UK clock comes
from the IANA database (`Europe/London`), from the system or from the `tzdata` package where the system has none.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from conformance.errors import DidsError

LONDON = ZoneInfo("Europe/London")

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# v2 timestamps: wall-clock time with one of the four offsets DIDS allows (dids-v2.md §4.3).
_TIMESTAMP = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(\+01:00|\+00:00|-00:00|Z)$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$")
ALLOWED_OFFSETS = ("+01:00", "+00:00", "-00:00", "Z")


class CalendarError(DidsError):
    """A month, date or timestamp given as an option that cannot be understood."""


# ----- months -------------------------------------------------------------------------------------------------


def parse_period(text: str) -> date:
    """A reporting month written YYYY-MM, as its first day."""
    match = _PERIOD.match(text.strip())
    if match is None:
        raise CalendarError(f"--period {text!r} is not a month as YYYY-MM (e.g. 2026-04)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    if (day.year, day.month) == (9999, 12):
        return date.max  # the next month's first day, from which the others count back, is past the calendar
    return add_months(day, 1) - timedelta(days=1)


def months_between(later: date, earlier: date) -> int:
    """Whole calendar months from `earlier`'s month to `later`'s month (days ignored)."""
    return (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month)


# ----- the values DIDS writes ---------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def parse_date(text: str) -> date | None:
    """A CCYY-MM-DD calendar date, or None (blank, wrong shape, or no such day). Cached: dates repeat a lot."""
    if not _DATE.match(text):
        return None
    try:
        return date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def parse_timestamp(text: str) -> datetime | None:
    """A DIDS v2 timestamp as an aware instant, or None when the pattern or the offset is not one DIDS allows.
    `-00:00` ("offset unknown") and `Z` are read as UTC."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    offset = "+00:00" if match.group(3) in ("Z", "-00:00") else match.group(3)
    try:
        moment = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}{offset}")
        # An instant that UTC or the UK clock cannot show (the first minutes of year 1, the last of 9999) is no
        # timestamp DIDS can hold: every rule converts it, and the conversion would overflow.
        moment.astimezone(UTC)
        moment.astimezone(LONDON)
    except (ValueError, OverflowError):
        return None
    return moment


def valid_time(text: str) -> bool:
    """HH:MM:SS on a 24-hour clock."""
    return _TIME.match(text) is not None


# ----- the UK clock -------------------------------------------------------------------------------------------


def local_day(moment: datetime) -> date:
    """The calendar day an instant falls on in England (23:30Z in summer is 00:30 the next day)."""
    return moment.astimezone(LONDON).date()


def offset_text(seconds: int) -> str:
    """A UTC offset as DIDS v2 writes it: +01:00, +00:00."""
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"
