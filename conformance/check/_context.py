"""The submission context a file is checked against: when it was submitted, for which month, by whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from conformance.calendar import LONDON, CalendarError, parse_period


class ContextError(CalendarError):
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
    try:
        month = parse_period(period) if isinstance(period, str) else period
    except CalendarError as exc:
        raise ContextError(str(exc)) from None
    if month is not None:
        month = month.replace(day=1)
    return SubmissionContext(moment, month, submitter.strip().upper() if submitter else None)
