"""Stand-in for the DSP's `testdata.ref_data`, which `dsp.udfs` imports and NHS England did not publish.

It serves the harness's synthetic reference tables (the CSV folder named by DIDS_ORACLE_REFERENCE, default
`conformance/check/reference_synthetic`) through the same provider calls the DIDS rules make, building the DSP's
own record models (`dsp.model.*`) from them, so the DSP's reference rules judge the same universe our checker
does. Only what the DIDS validation path calls is provided; anything else raises, so a gap cannot pass silently.
"""

from __future__ import annotations

from datetime import date, datetime

from testdata.ref_data import providers

DEFAULT_MAX_END_DATE = 99991231  # the DSP's "still active" end date, as in dsp.model.pds_record

__all__ = ["DEFAULT_MAX_END_DATE", "as_point_in_time", "providers"]


def as_point_in_time(point_in_time: str | int | date | datetime | None) -> int:
    """A date as the DSP's reference models compare it: the integer CCYYMMDD."""
    if point_in_time is None:
        return DEFAULT_MAX_END_DATE
    if isinstance(point_in_time, int):
        return point_in_time
    if isinstance(point_in_time, datetime | date):
        return int(point_in_time.strftime("%Y%m%d"))
    return int(str(point_in_time).replace("-", "")[:8])
