"""A record as rules see it: values trimmed as NHS England trims them, dates parsed once and shared."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.check._context import SubmissionContext
    from conformance.check.reference import ReferenceData
    from conformance.spec import Pack

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# v2 timestamps: wall-clock time with one of the four offsets DIDS allows (dids-v2.md §4.3).
_TIMESTAMP = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(\+01:00|\+00:00|-00:00|Z)$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$")


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
    """A DIDS v2 timestamp as an aware instant, or None when the pattern or the offset is not one DIDS allows."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    offset = "+00:00" if match.group(3) in ("Z", "-00:00") else match.group(3)
    try:
        return datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}{offset}")
    except ValueError:
        return None


def valid_time(text: str) -> bool:
    return _TIME.match(text) is not None


class Row:
    """One record's values, trimmed of surrounding white space (DSP trims before every rule, dids-v1.md §3.2)."""

    __slots__ = ("line", "number", "path", "raw", "v")

    def __init__(self, number: int, line: int, raw: tuple[str, ...], path: str | None) -> None:
        self.number = number
        self.line = line
        self.raw = raw
        self.path = path
        self.v = list(map(str.strip, raw))


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule's failure: the field it points at, the value there, and an optional detail for the message."""

    field: str
    value: str
    detail: str | None = None


RuleFn = Callable[[Row], "Hit | None"]
# A rule of kind "submission": judged once per file from the context; returns a detail when broken.
SubmissionRule = Callable[["Setup"], "str | None"]


@dataclass(frozen=True, slots=True)
class Setup:
    """What a rule factory may look at once, before the records stream past."""

    pack: Pack
    profile: str
    context: SubmissionContext
    reference: ReferenceData

    def pos(self, item: str) -> int:
        return self.pack.index[item]
