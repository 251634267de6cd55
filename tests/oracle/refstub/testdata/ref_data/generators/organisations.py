"""`normalize_date`, imported by `dsp.udfs.clinical` (not called on the DIDS validation path)."""

from __future__ import annotations

from datetime import date, datetime


def normalize_date(value: str | int | date | datetime | None) -> int | None:
    """A date as the integer CCYYMMDD, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return int(value.strftime("%Y%m%d"))
    return int(str(value).replace("-", "")[:8])
