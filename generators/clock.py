"""The UK clock for the generator's instants (whole seconds since 1970-01-01 UTC, as ints).

A generated month holds a few million instants; converting each through zoneinfo and strftime was most of the
generator's time. The offset in force changes only on the hour, so it is looked up once per hour, dates are
rendered once per day, and the rest is integer arithmetic. Same answers as `astimezone(LONDON)`, whatever the
machine's own time zone (tests/test_generate.py pins that)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from conformance.calendar import LONDON, offset_text

HOUR = 3600
DAY = 86_400
_EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=8192)
def _offset_of_hour(hour: int) -> int:
    offset = datetime.fromtimestamp(hour * HOUR, LONDON).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


@lru_cache(maxsize=8192)
def _hour(hour: int) -> tuple[str, str, str]:
    """For one UTC hour: the UK date, the UK clock's hour ("HH") and the offset text ("+01:00"). Whole-hour
    offsets only (the UK's since 1847); minutes and seconds then carry over unchanged."""
    offset = _offset_of_hour(hour)
    if offset % HOUR:
        raise ValueError(f"UTC offset {offset} s is not a whole number of hours")
    local = hour + offset // HOUR
    day, clock_hour = divmod(local, 24)
    return (_EPOCH + timedelta(days=day)).isoformat(), f"{clock_hour:02d}", offset_text(offset)


def uk_date_text(instant: int) -> str:
    return _hour(instant // HOUR)[0]


def uk_date(instant: int) -> date:
    return date.fromisoformat(uk_date_text(instant))


def uk_time_text(instant: int) -> str:
    hour, seconds = divmod(instant, HOUR)
    return f"{_hour(hour)[1]}:{seconds // 60:02d}:{seconds % 60:02d}"


def timestamp(instant: int) -> str:
    """Wall-clock time on the UK clock with the offset then in force (dids-v2.md §4.3): 2026-10-25T01:30:00+00:00."""
    hour, seconds = divmod(instant, HOUR)
    day, clock_hour, offset = _hour(hour)
    return f"{day}T{clock_hour}:{seconds // 60:02d}:{seconds % 60:02d}{offset}"


@lru_cache(maxsize=4096)
def uk_instant(day: date, hour: int) -> int:
    """The instant the UK clock first shows `hour`:00 on `day` (hour 24 is the next midnight). In the skipped
    spring hour zoneinfo moves forward, so the day's instants stay increasing."""
    if hour == 24:
        day, hour = day + timedelta(days=1), 0
    return int(datetime.combine(day, time(hour), LONDON).timestamp())
