"""Upgrading DIDS v1 files to v2.0 (`upgrade`) and telling a trust what stands between its v1 extract and a clean
v2.0 submission (`readiness`)."""

from v1_to_v2._readiness import Finding, Readiness, readiness, readiness_json
from v1_to_v2._upgrade import OUTCOMES, Step, Summary, UpgradeError, Upgrader, lenient_date, plan, upgrade

__all__ = [
    "OUTCOMES",
    "Finding",
    "Readiness",
    "Step",
    "Summary",
    "UpgradeError",
    "Upgrader",
    "lenient_date",
    "plan",
    "readiness",
    "readiness_json",
    "upgrade",
]
