"""A record as rules see it: values trimmed as NHS England trims them; what a rule returns and receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.check._context import SubmissionContext
    from conformance.check.reference import ReferenceData
    from conformance.spec import Pack


class Row:
    """One record's values as its profile's rules see them: trimmed of surrounding white space, or, for a profile
    that follows the DSP, as the DSP's cleansing leaves them (check/_spark.py). `raw` keeps the values as read."""

    __slots__ = ("line", "number", "path", "raw", "submitted", "v")

    def __init__(
        self, number: int, line: int, raw: tuple[str, ...], path: str | None, values: list[str] | None = None
    ) -> None:
        self.number = number
        self.line = line
        self.raw = raw
        self.path = path
        # `values` when the profile sees values otherwise (v1-dsp: the DSP's trimming, see check/_spark.py)
        self.v = list(map(str.strip, raw)) if values is None else values
        # item -> the value as submitted, where the engine changed it before the rules ran (a mapped local code)
        self.submitted: dict[str, str] | None = None


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
