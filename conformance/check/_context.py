"""The submission context a file is checked against: when it was submitted, for which month, by whom."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from conformance.errors import DidsError

LONDON = ZoneInfo("Europe/London")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ContextError(DidsError):
    """A submission context value that cannot be understood."""


@dataclass(frozen=True, slots=True)
class SubmissionContext:
    """`submitted` is an aware instant; `period` the reporting month (first day) for v2; `submitter` an org code."""

    submitted: datetime
    period: date | None = None
    submitter: str | None = None

    @property
    def submitted_local(self) -> datetime:
        """The submission instant on the UK clock, which decides the submission month and day."""
        return self.submitted.astimezone(LONDON)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "submitted": self.submitted.isoformat(),
            "period": self.period.strftime("%Y-%m") if self.period else None,
            "submitter": self.submitter,
        }


def parse_submitted(text: str) -> datetime:
    """`2018-09-01T00:00`, `2018-09-01`, or with an offset; a time without an offset is UK local time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ContextError(
            f"--submitted {text!r} is not an ISO 8601 date or timestamp (e.g. 2026-05-10T09:00)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LONDON)
    return value


def parse_period(text: str) -> date:
    match = _PERIOD.match(text.strip())
    if match is None:
        raise ContextError(f"--period {text!r} is not a month as YYYY-MM (e.g. 2026-04)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def make_context(
    submitted: str | datetime | None = None, period: str | date | None = None, submitter: str | None = None
) -> SubmissionContext:
    """Build a context. Without `submitted` the clock's current instant is used (reports always state it)."""
    if submitted is None:
        moment = datetime.now(UTC)
    elif isinstance(submitted, datetime):
        moment = submitted if submitted.tzinfo else submitted.replace(tzinfo=LONDON)
    else:
        moment = parse_submitted(submitted)
    month = parse_period(period) if isinstance(period, str) else period
    if month is not None:
        month = month.replace(day=1)
    return SubmissionContext(moment, month, submitter.strip().upper() if submitter else None)


def offset_text(seconds: int) -> str:
    """A UTC offset as DIDS v2 writes it: +01:00, +00:00."""
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def months_between(later: date, earlier: date) -> int:
    """Whole calendar months from `earlier`'s month to `later`'s month (days ignored)."""
    return (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return add_months(day, 1) - timedelta(days=1)
