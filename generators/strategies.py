"""Hypothesis strategies for vendors to property-test their own DIDS exporters and validators.

    from hypothesis import given
    from generators.strategies import nhs_numbers, records, submissions

    @given(records(profile="v2"))
    def test_my_exporter_round_trips(row): ...

House style (after Hypothesis's own API guide): plural names, keyword-only options with named
bounds, arguments checked when the strategy is made (InvalidArgument), the whole valid space by default with the
spec's edge cases boosted (first and last day of the month, the days the UK clock changes, the last record
of a day's block). Every value comes from the seeded service model (generators/service.py), so each example is
valid by construction for its profile; `records(breaks=RULE)` applies that rule's mutation operator.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from conformance.calendar import months_between
from conformance.formats import XmlRecords, write_csv
from conformance.identifiers import SYNTHETIC_CAPACITY, is_valid_nhs_number, synthetic_nhs_number
from conformance.spec import PROFILES, load_pack
from generators.mutations import ABSOLUTE, BASE_PERIODS, FIXED_PERIODS, mutant_row, operators, submission_context
from generators.records import v1_writer, v2_writer
from generators.service import Block, Service, month_days


def _v2_start() -> date:
    first = load_pack("v2").activity_from
    assert first is not None  # the v2 pack says when v2.0 activity starts
    return first


V2_START = _v2_start()
DEFAULT_PERIODS = {"v1": date(2018, 8, 1), "v2": V2_START}


def _check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise InvalidArgument(f"profile={profile!r} must be one of {sorted(PROFILES)}")
    return PROFILES[profile]


def _check_period(period: date | None, version: str) -> date:
    if period is None:
        return DEFAULT_PERIODS[version]
    if not isinstance(period, date):
        raise InvalidArgument(f"period={period!r} must be a date (its day is ignored)")
    if version == "v2" and period < V2_START:
        raise InvalidArgument(f"period={period:%Y-%m} is before DIDS v2.0 ({V2_START:%B %Y})")
    return period.replace(day=1)


def nhs_numbers(*, valid: bool = True) -> st.SearchStrategy[str]:
    """Synthetic NHS numbers from the 999 test range. `valid=False`: 999 numbers whose check digit is wrong or
    that no check digit can make valid (the deliberate negative case)."""
    if not isinstance(valid, bool):
        raise InvalidArgument(f"valid={valid!r} must be True or False")
    serials = st.one_of(st.sampled_from([0, 1, SYNTHETIC_CAPACITY - 1]), st.integers(0, SYNTHETIC_CAPACITY - 1))
    good = serials.map(synthetic_nhs_number)
    if valid:
        return good
    return (
        st.tuples(good, st.integers(1, 9))
        .map(lambda p: p[0][:9] + str((int(p[0][9]) + p[1]) % 10))
        .filter(lambda n: not is_valid_nhs_number(n))
    )


def _days(period: date) -> st.SearchStrategy[date]:
    """Any day of the month, with its edges boosted: the first, the last and any day the UK clock changes."""
    last = period + timedelta(days=month_days(period) - 1)
    edges = [period, last]
    for month in (3, 10):  # the last Sunday of March and of October
        if period.month == month:
            sunday = last - timedelta(days=(last.weekday() - 6) % 7)
            edges.append(sunday)
    return st.one_of(
        st.sampled_from(edges), st.integers(0, month_days(period) - 1).map(lambda d: period + timedelta(d))
    )


@st.composite
def _rows(draw: st.DrawFn, profile: str, version: str, period: date) -> list[list[str]]:
    """The rows of one generated event (one for v1; one per coded procedure for v2)."""
    seed = draw(st.integers(0, 2**32 - 1))
    day = draw(_days(period))
    pack = load_pack(version)
    service = Service(seed, patients=1_000, profile=profile)
    event = next(service.block_events(Block(day, 0, 3, 1), per_event=1 if version == "v1" else None))
    if version == "v1":
        return [v1_writer(pack)(event)]
    return list(v2_writer(pack)(event))


def records(
    *, profile: str = "v2", period: date | None = None, breaks: str | None = None
) -> st.SearchStrategy[list[str]]:
    """One DIDS record (values in the pack's column order) valid for `profile` in `period` (a month; default
    2026-04 for v2, 2018-08 for v1), checked with the synthetic reference and the context
    `mutations.submission_context` gives. `breaks=RULE`: a record that breaks that record-level rule, and only
    the rules its operator lists (generators/mutations.py)."""
    version = _check_profile(profile)
    month = _check_period(period, version)
    if breaks is not None:
        op = operators(version).get(breaks)
        if op is None or op.kind != "record" or breaks not in {r.id for r in load_pack(version).rules_for(profile)}:
            raise InvalidArgument(f"breaks={breaks!r} is not a record-level rule of profile {profile}")
        window = FIXED_PERIODS.get(breaks)
        if window and not window[0] <= f"{month:%Y-%m}" <= window[1]:
            raise InvalidArgument(f"breaks={breaks!r} needs a period from {window[0]} to {window[1]}")
    one = _rows(profile, version, month).flatmap(st.sampled_from)
    if breaks is None:
        return one
    pack = load_pack(version)
    base = BASE_PERIODS[version]
    months = months_between(month, base)
    operator = operators(version)[breaks]
    return one.map(lambda row: mutant_row(version, pack, row, operator, 0 if breaks in ABSOLUTE else months))


@dataclass(frozen=True)
class SyntheticSubmission:
    """A small generated file: its rows, how to check it (`context`), and its text in `format`."""

    profile: str
    format: str
    period: date
    rows: tuple[tuple[str, ...], ...]
    context: dict[str, str]

    def text(self) -> str:
        pack = load_pack(PROFILES[self.profile])
        buffer = io.StringIO()
        if self.format == "csv":
            write_csv([list(r) for r in self.rows], buffer, pack)
        else:
            writer = XmlRecords(pack)
            buffer.write(writer.head())
            writer.write([list(r) for r in self.rows], buffer)
            buffer.write(writer.tail())
        return buffer.getvalue()


def submissions(
    *,
    profile: str = "v2",
    format: str = "csv",
    period: date | None = None,
    min_records: int = 1,
    max_records: int = 50,
) -> st.SearchStrategy[SyntheticSubmission]:
    """A valid submission of `min_records` to `max_records` records (whole events, cut to size), with its
    check context; `.text()` is the file in `format`."""
    version = _check_profile(profile)
    month = _check_period(period, version)
    if format not in ("csv", "xml"):
        raise InvalidArgument(f"format={format!r} must be 'csv' or 'xml'")
    if not 1 <= min_records <= max_records:
        raise InvalidArgument(f"need 1 <= min_records ({min_records}) <= max_records ({max_records})")

    @st.composite
    def build(draw: st.DrawFn) -> SyntheticSubmission:
        size = draw(st.integers(min_records, max_records))
        seed = draw(st.integers(0, 2**32 - 1))
        day = draw(_days(month))
        pack = load_pack(version)
        service = Service(seed, patients=max(size // 3, 1), profile=profile)
        block = Block(day, 0, size, 1)
        if version == "v1":
            write = v1_writer(pack)
            rows = [write(e) for e in service.block_events(block, per_event=1)]
        else:
            rows = [r for e in service.block_events(block) for r in v2_writer(pack)(e)]
        return SyntheticSubmission(
            profile, format, month, tuple(tuple(r) for r in rows), submission_context(version, month)
        )

    return build()
