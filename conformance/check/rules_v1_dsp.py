"""DIDS v1 rules as NHS England's DSP runs them, for a profile whose pack says it follows the DSP (`v1-dsp`).

Each factory here replaces its rule-text twin in rules_v1 where the DSP's code decides a value differently; the
values it sees are the DSP's (check/_spark.py: spaces-only trimming, the NHS-number cleanse, null versus empty).
The DSP's expressions are cited by rule id from `nhs_dq_rules_library/business_rules/dids/__init__.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from functools import lru_cache

from conformance.check._factories import Factory, codes, defaults, well_formed
from conformance.check._rows import Hit, Row, RuleFn, Setup
from conformance.check._spark import (
    SparkDate,
    add_months,
    cast_date,
    day_number,
    dsp_nhs_number_valid,
    from_day_number,
    is_null,
    last_day,
    months_between,
    pattern_date,
    pattern_matches,
)
from conformance.check.reference import normalise_postcode

# The ASCII white space of Java's \s, which the DSP's referrer pattern allows around a code.
JAVA_SPACE = " \t\n\x0b\f\r"
Slack = Callable[[SparkDate], SparkDate]


def nhs_number_valid(s: Setup) -> RuleFn:
    """DIDS001: allow_empty(NHSNumber) on the cleansed number; the UDF also bans palindromes."""
    i = s.pos("nhs_number")
    return lambda r: Hit("nhs_number", r.raw[i]) if r.v[i] and not dsp_nhs_number_valid(r.v[i]) else None


def nhs_number_length(s: Setup) -> RuleFn:
    """DIDS002: allow_empty(length 10) on the cleansed number."""
    i = s.pos("nhs_number")
    return lambda r: Hit("nhs_number", r.raw[i]) if r.v[i] and len(r.v[i]) != 10 else None


def gender_code(s: Setup) -> RuleFn:
    """DIDS014: `isNull | isin(0, 1, 2, 9)`: only a null (an empty field) passes; spaces are not null."""
    i = s.pos("person_gender_code")
    allowed = codes(s, "person_gender_code")

    def check(r: Row) -> Hit | None:
        if is_null(r.raw[i]) or r.v[i] in allowed:
            return None
        return Hit("person_gender_code", r.raw[i])

    return check


def date_format(item: str) -> Factory:
    """DIDS005/026/036/045/061: allow_empty(rlike YYYY_MM_DD_PATTERN), which lets day 00 of February through."""
    return well_formed(item, pattern_matches)


def plus_days(days: int) -> Slack:
    def slack(day: SparkDate) -> SparkDate:
        return from_day_number(day_number(day) + days)

    return slack


def plus_months(months: int) -> Slack:
    return lambda day: add_months(day, months)


def order(earlier: str, later: str, slack: Slack | None = None, field: str | None = None) -> Factory:
    """The pattern-guarded date comparisons (`date_comparison` with `date_comparision_expr_with_pattern`): both
    values must match the date pattern and cast to a date, or the rule passes."""

    def factory(s: Setup) -> RuleFn:
        a, b = s.pos(earlier), s.pos(later)
        at = field or earlier
        k = s.pos(at)

        def check(r: Row) -> Hit | None:
            first, second = pattern_date(r.v[a]), pattern_date(r.v[b])
            if first is None or second is None:
                return None
            return Hit(at, r.v[k]) if first > (slack(second) if slack else second) else None

        return check

    return factory


def not_before(item: str, floor: SparkDate) -> Factory:
    """DIDS009/031/041: a pattern-guarded comparison with a fixed date."""

    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)

        def check(r: Row) -> Hit | None:
            day = pattern_date(r.v[i])
            return Hit(item, r.v[i]) if day is not None and day < floor else None

        return check

    return factory


def months_after(later: str, earlier: str, field: str) -> Factory:
    """DIDS010 and DIDS040, which have no pattern guard: `months_between(last_day(later), last_day(earlier)) <= 6`
    on Spark's casts (partial dates included); null casts pass, as does a null `field`."""

    def factory(s: Setup) -> RuleFn:
        a, b, k = s.pos(later), s.pos(earlier), s.pos(field)

        def check(r: Row) -> Hit | None:
            first, second = cast_date(r.v[a]), cast_date(r.v[b])
            if is_null(r.raw[k]) or first is None or second is None:
                return None
            # months_between of two month ends is the whole number of months between their months
            months = (first[0] - second[0]) * 12 + first[1] - second[1]
            return Hit(field, r.v[k]) if months > 6 else None

        return check

    return factory


def request_within_a_year(s: Setup) -> RuleFn:
    """DIDS028 (no pattern guard): `datediff(test_date, request_date) <= 365` on Spark's casts."""
    request, test = s.pos("request_date"), s.pos("test_date")

    def check(r: Row) -> Hit | None:
        asked, done = cast_date(r.v[request]), cast_date(r.v[test])
        if asked is None or done is None:
            return None
        return Hit("request_date", r.v[request]) if day_number(done) - day_number(asked) > 365 else None

    return check


def after_submission(item: str) -> Factory:
    """DIDS051/066: `value <= EVENT_RECEIVED_TS`: the date, as midnight UTC (the DSP's session time zone), must
    not be after the submission instant."""

    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)
        received = s.context.submitted.astimezone(UTC)
        today = (received.year, received.month, received.day)

        def check(r: Row) -> Hit | None:
            day = pattern_date(r.v[i])
            return Hit(item, r.v[i]) if day is not None and day > today else None

        return check

    return factory


def late(band: str) -> Factory:
    """DIDS055 (`closed`: months_between(last_day(received), test_date) >= 7) and DIDS049 (`warning`: from 4 up
    to 7), Spark's fractional months on a 31-day basis included; a test date off the pattern passes."""

    def factory(s: Setup) -> RuleFn:
        i = s.pos("test_date")
        received = s.context.submitted.astimezone(UTC)
        month_end = last_day((received.year, received.month, received.day))

        @lru_cache(maxsize=4096)
        def months(day: SparkDate) -> float:
            return months_between(month_end, day)

        def check(r: Row) -> Hit | None:
            day = pattern_date(r.v[i])
            if day is None:
                return None
            gone = months(day)
            broken = gone >= 7 if band == "closed" else 4 <= gone < 7
            return (
                Hit("test_date", r.v[i], f"{gone:g} months before the end of the submission month") if broken else None
            )

        return check

    return factory


def referrer_format(s: Setup) -> RuleFn:
    """DIDS023: RefererCodeValidityRegex, case-insensitive (ASCII), each form allowing Java white space around it,
    and white space alone allowed."""
    spec = s.pack.referrer_formats
    flags = re.ASCII | (re.IGNORECASE if spec.case_insensitive else 0)
    patterns = [re.compile(p.pattern, flags) for p in spec.for_profile(s.profile)]
    allowed = defaults(s, "referrer_defaults")
    i = s.pos("referrer_code")

    def check(r: Row) -> Hit | None:
        code = r.v[i].strip(JAVA_SPACE)
        if not code or code.upper() in allowed or any(p.match(code) for p in patterns):
            return None
        return Hit("referrer_code", r.v[i], f"reported as {spec.substitute}")

    return check


def postcode_known(s: Setup) -> RuleFn:
    """DIDS016: `isNull | rlike('^[zZ]{2}99') | blank | PostcodeInReferenceData` has no format guard: a malformed
    postcode is looked up too (spaces optional, as the DSP's provider says) and fails when unknown."""
    i = s.pos("postcode")
    known = s.reference.postcodes or set()

    def check(r: Row) -> Hit | None:
        value = r.v[i]
        if not value or value[:4].upper() == "ZZ99":
            return None
        return None if normalise_postcode(value) in known else Hit("postcode", value)

    return check


def nicip_maps_to_snomed(rule_text: Factory) -> Factory:
    """DIDS082: the DSP's mapping function fails outright when both codes are given and the test date is blank
    (`if not (nicip_id and snomed_id and point_in_time): return False`); otherwise as the rule text reads."""

    def factory(s: Setup) -> RuleFn:
        n, m, t = s.pos("imaging_code_nicip"), s.pos("imaging_code_snomed"), s.pos("test_date")
        inner = rule_text(s)

        def check(r: Row) -> Hit | None:
            if r.v[n] and r.v[m] and not r.v[t]:
                return Hit("imaging_code_snomed", r.v[m], "no test date to map on")
            return inner(r)

        return check

    return factory


def code_valid(rule_text: Factory) -> Factory:
    """DIDS057/059/077/078 (`is_active_with_condition` with an offset): the code is judged only when the test date
    is given and matches the date pattern; otherwise the rule passes, however unknown the code."""

    def factory(s: Setup) -> RuleFn:
        t = s.pos("test_date")
        inner = rule_text(s)
        return lambda r: inner(r) if r.v[t] and pattern_matches(r.v[t]) else None

    return factory
