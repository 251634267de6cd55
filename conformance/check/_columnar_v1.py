"""Candidate expressions for the v1 rules (see check/_columnar_rules.py), as profile v1-dsp (the DSP's code,
rules_v1_dsp) or v1-portal (the rule text, rules_v1) reads each rule: true on every row whose values may break it.

Each factory stands for the rule function of the same name in rules_v1 (and, where it has one, its DSP twin in
rules_v1_dsp) and reads the same items. Dates are compared as their CCYY-MM-DD text (`date_key`), which both
readings share; where the DSP's reading is hard to restate (Spark's casts, its date pattern, months_between) the
candidate is deliberately wider than the rule: it picks every value that is not a plain CCYY-MM-DD date, or leaves
a month of slack. A date item's readings (its key, day, month count) are columns made once per batch before the
rules' query (Columns.shared), as the rules of a batch share them. Reference-data rules judge each distinct code
once per batch (`judged`) and compare dates only with the window in which that code cannot break the rule.

tests/test_columnar_v1.py holds every entry to no false negative, rule by rule, on both profiles; the differential
test (tests/test_engines.py) holds the two engines to identical reports. The referrer formats (the pack's Python
patterns) and the postcode and organisation look-ups are judged by the rule's own function once per distinct code
(`by_its_own_function`). Rules without an entry here run once per distinct value combination: the low-cardinality
code lists and site-code rules.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import TYPE_CHECKING

import polars as pl

from conformance.check._columnar_exprs import (
    Verdict,
    by_its_own_function,
    date_key,
    date_of,
    judged,
    key_day,
    key_month,
    may_cast,
    nhs_number_ok,
)
from conformance.check._factories import defaults
from conformance.check.rules_v1 import FLOOR_1900, FLOOR_1970, GRACE_DAYS_V1, RULES_V1, code_key

if TYPE_CHECKING:
    from conformance.check._columnar import Columns, NativeFactory
    from conformance.check._rows import Setup
    from conformance.check.reference import Period


def _dsp(s: Setup) -> bool:
    return s.pack.follows(s.profile) == "dsp"


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _shifted(day: date | None, days: int) -> str | None:
    """`day` moved by `days`, as ISO text; None (an open side) for no day, or past the ends of Python's calendar
    (no date the rules read lies beyond them)."""
    if day is None:
        return None
    try:
        return (day + timedelta(days=days)).isoformat()
    except OverflowError:
        return None


# The readings of a date item that many rules share, each a column made once per batch (Columns.shared)


def _key(c: Columns, item: str) -> pl.Expr:
    """date_key of the item's value."""
    return c.shared(f"key {item}", lambda: date_key(c.v(item)))


def _day(c: Columns, item: str) -> pl.Expr:
    """key_day of the item's date key."""
    return c.shared(f"day {item}", lambda: key_day(_key(c, item)))


def _plain(c: Columns, item: str) -> pl.Expr:
    """The day a value that is exactly CCYY-MM-DD names (null for any other value, or no such day): the values on
    which Python's parse, the DSP's pattern and Spark's string-to-date cast all read the same day."""
    # (a value whose date key is its whole text: a key is ten ASCII characters, and a length costs a tenth of
    # matching the value against ^CCYY-MM-DD$)
    return c.shared(
        f"plain {item}",
        lambda: pl.when(_key(c, item).is_not_null() & (c.v(item).str.len_bytes() == 10)).then(_day(c, item)),
    )


def _month(c: Columns, item: str) -> pl.Expr:
    """key_month of the item's date key."""
    return c.shared(f"month {item}", lambda: key_month(_key(c, item)))


def _may_cast(c: Columns, item: str) -> pl.Expr:
    """may_cast of the item's value."""
    return c.shared(f"cast {item}", lambda: may_cast(c.v(item)))


def _before(key: pl.Expr, limit: str) -> pl.Expr:
    return (key < limit).fill_null(False)


def _after(key: pl.Expr, limit: str | pl.Expr) -> pl.Expr:
    return (key > limit).fill_null(False)


# ----- NHS number -------------------------------------------------------------------------------------------------


def nhs_number_valid(s: Setup, c: Columns) -> pl.Expr:
    """DIDS001. DSP: the cleansed number must be ten digits, the check digit right and no palindrome (non-ASCII
    digits, which the DSP's UDF may read, are all picked). Rule text: the number less its spaces and hyphens."""
    v = c.v("nhs_number")
    if _dsp(s):
        return (v != "") & ~nhs_number_ok(v, palindrome_ok=False)
    stripped = v.str.replace_all("[ -]", "")
    return (stripped != "") & ~nhs_number_ok(stripped)


def nhs_number_length(s: Setup, c: Columns) -> pl.Expr:
    """DIDS002: ten characters once cleansed (DSP) or once spaces and hyphens are gone (rule text)."""
    v = c.v("nhs_number")
    if _dsp(s):
        return (v != "") & (v.str.len_chars() != 10)
    return ~v.str.replace_all("[ -]", "").str.len_chars().is_in([0, 10])


def portal_nhs_number(s: Setup, c: Columns) -> pl.Expr:
    v = c.v("nhs_number")
    return (v != "") & ~nhs_number_ok(v)


def portal_banned_nhs_numbers(s: Setup, c: Columns) -> pl.Expr:
    """The rule's pattern, less its back-reference (the first and last digits may differ here: wider); Python's
    `$` also matches before a final line feed."""
    return c.v("nhs_number").str.contains(r"^(?:1234567890|0123456789|[1-9]00000000[1-9])\n?\z")


# ----- accession number, the M* group, blanks ---------------------------------------------------------------------


def blank(item: str) -> NativeFactory:
    return lambda s, c: c.v(item) == ""


def accession_length(s: Setup, c: Columns) -> pl.Expr:
    return c.v("accession_number").str.len_chars() > 20


def portal_accession_format(s: Setup, c: Columns) -> pl.Expr:
    v = c.v("accession_number")
    return (v != "") & ~v.str.contains(r"^[A-Za-z0-9]{1,20}\z")


def _m_star(s: Setup) -> tuple[str, ...]:
    return next(g for g in s.pack.mandation_groups if g.id == "personal_and_demographic").items


def m_star_present(s: Setup, c: Columns) -> pl.Expr:
    """DIDS073: every M* item blank."""
    return pl.all_horizontal([c.v(item) == "" for item in _m_star(s)])


def m_star_present_without_pseudo_postcode(s: Setup, c: Columns) -> pl.Expr:
    """DIDS074: every M* item but the postcode blank (whatever the postcode: wider)."""
    return pl.all_horizontal([c.v(item) == "" for item in _m_star(s) if item != "postcode"])


# ----- postcode -------------------------------------------------------------------------------------------------


def postcode_format(s: Setup, c: Columns) -> pl.Expr:
    """DIDS017: rules_v1.DSP_POSTCODE (ASCII white space between the halves); without the final line feed Python's
    `$` allows (wider)."""
    v = c.v("postcode")
    return (v != "") & ~v.str.contains(r"^[a-zA-Z]{1,2}[0-9][a-zA-Z0-9]?[ \t\n\r\x0B\x0C]+[0-9][a-zA-Z]{2}\z")


def portal_postcode_format(s: Setup, c: Columns) -> pl.Expr:
    """V1P-POSTCODE-FORMAT: rules_v1.PORTAL_POSTCODE, likewise."""
    v = c.v("postcode")
    return (v != "") & ~v.str.contains(r"^[A-Z]{1,2}[0-9R][0-9A-Z]? [0-9][ABD-HJLNP-UW-Z]{2}\z")


# ----- one date: format, floor, future, lateness ------------------------------------------------------------------


def date_format(item: str) -> NativeFactory:
    """DIDS005/026/036/045/061. Rule text: calendar.parse_date, restated by date_of. DSP: YYYY_MM_DD_PATTERN,
    which a plain real day matches; every 29 February (the pattern's leap years are not the calendar's) and every
    value with more or less than CCYY-MM-DD is picked."""

    def factory(s: Setup, c: Columns) -> pl.Expr:
        v = c.v(item)
        if _dsp(s):
            plain = _plain(c, item).is_not_null() & (v.str.slice(5, 5) != "02-29")
            return (v != "") & ~plain
        return (v != "") & date_of(v).is_null()

    return factory


def not_before(item: str, floor: date) -> NativeFactory:
    """DIDS009/031/041, both readings: the day is before the floor."""
    return lambda s, c: _before(_key(c, item), floor.isoformat())


def _submission_day(s: Setup) -> str:
    """The earlier of the submission's UK day (the rule text's today) and its UTC day (the DSP's)."""
    return min(s.context.submitted_local.date(), s.context.submitted.astimezone(UTC).date()).isoformat()


def after_submission(item: str) -> NativeFactory:
    """DIDS051/066: the day is after the submission day (UK clock for the rule text, UTC for the DSP: the earlier
    of the two, so both are covered)."""
    return lambda s, c: _after(_key(c, item), _submission_day(s))


def portal_birth_date_future(s: Setup, c: Columns) -> pl.Expr:
    """V1P-DOB-FUTURE: the birth date is on or after the submission day (UK clock)."""
    return (_key(c, "person_birth_date") >= s.context.submitted_local.date().isoformat()).fill_null(False)


def late(band: str, follow: bool = True) -> NativeFactory:
    """DIDS049 ("warning") / DIDS055 ("closed"), and with `follow` False (the rule text on every profile)
    V1P-TEST-DATE-WINDOW, by whole months from the test date's month to the submission's. DSP: months_between from
    the last day of the submission month (UTC) is whole months plus a fraction in (-1, 1), so >= 7 needs 7 whole
    months and 4..7 needs 4 to 7: picked from 6, and from 3 to 8. Rule text: past the window, which closes at the
    end of the n-th month after the test month (the least n of the profile's windows) and warns from
    warn_after_months + 1 months; a test date in 9999 is picked (its window's end overflows there)."""

    def factory(s: Setup, c: Columns) -> pl.Expr:
        key = _key(c, "test_date")
        if follow and _dsp(s):
            received = s.context.submitted.astimezone(UTC).date()
            behind = received.year * 12 + received.month - _month(c, "test_date")
            picked = behind >= 6 if band == "closed" else behind.is_between(3, 8)
            return picked.fill_null(False)
        today = s.context.submitted_local.date()
        behind = today.year * 12 + today.month - _month(c, "test_date")
        overflow = key.str.starts_with("9999").fill_null(False)
        policy = s.pack.windows.get(s.profile)
        if policy is None:
            return key.is_not_null()  # the rule's window look-up fails on every dated row: let it, alike
        if band == "closed":
            months = [n for _, n in policy.close_after_months]
            return (behind >= min(months)).fill_null(False) | overflow if months else overflow
        if policy.warn_after_months is None:
            return overflow
        return (behind > policy.warn_after_months).fill_null(False) | overflow

    return factory


# ----- two dates ------------------------------------------------------------------------------------------------


def order(earlier: str, later: str) -> NativeFactory:
    """DIDS006/008/027/034/035/043/044/048, both readings: `earlier`'s day is after `later`'s."""
    return lambda s, c: _after(_key(c, earlier), _key(c, later))


def order_with_slack(earlier: str, later: str, shift: str) -> NativeFactory:
    """DIDS038 (365 days) and DIDS062 (one calendar month), both readings: both values are dates and `earlier`'s
    day is after `later`'s moved by `shift` (Polars' `offset_by`: a month on is the same day, or the month's last);
    a key that names no day is picked, and so is a later date in 9999 (the rule text's slack overflows there)."""

    def factory(s: Setup, c: Columns) -> pl.Expr:
        first, second = _key(c, earlier), _key(c, later)
        a, b = _day(c, earlier), _day(c, later)
        beyond = (a > b.dt.offset_by(shift)).fill_null(True)  # null: a day the keys do not name
        return first.is_not_null() & second.is_not_null() & (beyond | second.str.starts_with("9999"))

    return factory


def months_after(later: str, earlier: str) -> NativeFactory:
    """DIDS010/040: `later`'s month more than six after `earlier`'s. DSP: on Spark's casts, which read many shapes
    (`2017`, `2019-06`, `2017-1-1T…`): picked unless both are plain CCYY-MM-DD days within six months, or either
    value has no four digits together (no cast reads it). Rule text: after the end of the sixth month on (the same
    condition on real days); an `earlier` in 9999 is picked, where its slack overflows."""

    def factory(s: Setup, c: Columns) -> pl.Expr:
        plain = _plain(c, later).is_not_null() & _plain(c, earlier).is_not_null()
        within = (plain & (_month(c, later) - _month(c, earlier) <= 6)).fill_null(False)
        return _may_cast(c, later) & _may_cast(c, earlier) & (~within | c.v(earlier).str.starts_with("9999"))

    return factory


def request_within_a_year(s: Setup, c: Columns) -> pl.Expr:
    """DIDS028: the test more than 365 days after the request. DSP: on Spark's casts, picked as DIDS010 is; rule
    text: a year on from the request (a request in 9999 is picked: its slack overflows)."""
    days = _plain(c, "test_date").cast(pl.Int32) - _plain(c, "request_date").cast(pl.Int32)
    within = (days <= 365).fill_null(False)
    casts = _may_cast(c, "request_date") & _may_cast(c, "test_date")
    return casts & (~within | c.v("request_date").str.starts_with("9999"))


# ----- reference data -------------------------------------------------------------------------------------------


def code_validity(item: str, table: str, warn: bool) -> NativeFactory:
    """DIDS057/059 (error: unknown, or more than the grace outside the code's period) and DIDS077/078 (warning:
    known but not active), judged per distinct code: an unknown code is picked on every row for the error (the DSP
    judges it on a dated row only: wider); a known one only with a test date outside the days on which it cannot
    break the rule."""

    def factory(s: Setup, c: Columns) -> pl.Expr:
        codes = getattr(s.reference, table) or {}

        def judge(value: str) -> Verdict:
            if not value:
                return False
            period = codes.get(code_key(table, value))
            if period is None:
                return not warn
            if warn:
                return _iso(period.start), _iso(period.end)
            return _shifted(period.start, -GRACE_DAYS_V1), _shifted(period.end, GRACE_DAYS_V1)

        return judged([c.v(item)], judge, [_key(c, "test_date")])

    return factory


def active(item: str, role: str, default_list: str, on: tuple[str, ...]) -> NativeFactory:
    """DIDS079/080/081: a known organisation with the role and not a default, whose period does not cover the
    first day among `on`: picked when any of those days lies outside its period."""

    def factory(s: Setup, c: Columns) -> pl.Expr:
        orgs = s.reference.organisations or {}
        allowed = defaults(s, default_list)

        def judge(value: str) -> Verdict:
            code = value.upper()
            org = orgs.get(code)
            if org is None or code in allowed or role not in org.roles:
                return False
            return _iso(org.period.start), _iso(org.period.end)

        return judged([c.v(item)], judge, [_key(c, d) for d in on])

    return factory


def _one_window(periods: list[Period]) -> tuple[str | None, str | None] | None:
    """The days in any of the periods as one window, or None when there are none or they have gaps."""
    spans = sorted(
        (p for p in periods if p.start is None or p.end is None or p.start <= p.end), key=lambda p: p.start or date.min
    )
    if not spans:
        return None
    start, end = spans[0].start, spans[0].end
    for p in spans[1:]:
        if end is None:
            break
        if p.start is not None and (p.start - end).days > 1:
            return None
        end = None if p.end is None else max(end, p.end)
    return _iso(start), _iso(end)


def nicip_maps_to_snomed(s: Setup, c: Columns) -> pl.Expr:
    """DIDS082, judged per distinct pair of codes: both known and the SNOMED CT code never a target of the NICIP
    code, picked always; a target, picked with a test date outside the days it is one (always, when those days have
    gaps). DSP: also both codes given and no test date."""
    n, m, t = c.v("imaging_code_nicip"), c.v("imaging_code_snomed"), c.v("test_date")
    mapping = s.reference.nicip_snomed
    nicip, snomed = s.reference.nicip or {}, s.reference.snomed or {}

    def judge(code_value: str, concept: str) -> Verdict:
        code = code_value.upper()
        if not code or not concept or code not in nicip or concept not in snomed:
            return False
        periods = [period for target, period in mapping.get(code, []) if target == concept]
        window = _one_window(periods) if periods else None
        return True if window is None else window

    picked = judged([n, m], judge, [_key(c, "test_date")])
    if _dsp(s):
        picked = picked | ((n != "") & (m != "") & (t == ""))
    return picked


# ----- the table ------------------------------------------------------------------------------------------------


def _never_null(factory: NativeFactory) -> NativeFactory:
    """A null left in a candidate (an unforeseen null operand) picks the row: never a lost finding."""
    return lambda s, c: factory(s, c).fill_null(True)


_NATIVE_V1: dict[str, NativeFactory] = {
    "DIDS001": nhs_number_valid,
    "DIDS002": nhs_number_length,
    "DIDS005": date_format("person_birth_date"),
    "DIDS006": order("person_birth_date", "test_date"),
    "DIDS008": order("person_birth_date", "report_issue_date"),
    "DIDS009": not_before("person_birth_date", FLOOR_1900),
    "DIDS010": months_after("person_birth_date", "request_date"),
    "DIDS017": postcode_format,
    "DIDS026": date_format("request_date"),
    "DIDS027": order("request_date", "request_received_date"),
    "DIDS028": request_within_a_year,
    "DIDS031": not_before("request_date", FLOOR_1970),
    "DIDS034": order("request_date", "test_date"),
    "DIDS035": order("request_date", "report_issue_date"),
    "DIDS036": date_format("request_received_date"),
    "DIDS038": order_with_slack("test_date", "request_received_date", "365d"),
    "DIDS040": months_after("person_birth_date", "request_received_date"),
    "DIDS041": not_before("request_received_date", FLOOR_1970),
    "DIDS043": order("request_received_date", "test_date"),
    "DIDS044": order("request_received_date", "report_issue_date"),
    "DIDS045": date_format("test_date"),
    "DIDS048": order("test_date", "report_issue_date"),
    "DIDS049": late("warning"),
    "DIDS050": blank("test_date"),
    "DIDS051": after_submission("test_date"),
    "DIDS055": late("closed"),
    "DIDS057": code_validity("imaging_code_nicip", "nicip", warn=False),
    "DIDS059": code_validity("imaging_code_snomed", "snomed", warn=False),
    "DIDS061": date_format("report_issue_date"),
    "DIDS062": order_with_slack("report_issue_date", "test_date", "1mo"),
    "DIDS066": after_submission("report_issue_date"),
    "DIDS070": blank("accession_number"),
    "DIDS072": accession_length,
    "DIDS073": m_star_present,
    "DIDS074": m_star_present_without_pseudo_postcode,
    "DIDS077": code_validity("imaging_code_nicip", "nicip", warn=True),
    "DIDS078": code_validity("imaging_code_snomed", "snomed", warn=True),
    "DIDS079": active("referring_org_code", "referring", "referring_org_defaults", ("request_date", "test_date")),
    "DIDS080": active("gp_practice_code", "gp_practice", "gp_practice_defaults", ("test_date",)),
    "DIDS081": active("site_code", "site", "site_defaults", ("test_date",)),
    "DIDS082": nicip_maps_to_snomed,
    "V1P-NHS-NUMBER": portal_nhs_number,
    "V1P-NHS-NUMBER-BANNED": portal_banned_nhs_numbers,
    "V1P-POSTCODE-FORMAT": portal_postcode_format,
    "V1P-ACCESSION-FORMAT": portal_accession_format,
    "V1P-TEST-DATE-WINDOW": late("closed", follow=False),
    "V1P-DOB-FUTURE": portal_birth_date_future,
    # Rules of one code alone, judged by their own function once per distinct value
    **{rule: by_its_own_function(rule, RULES_V1[rule]) for rule in ("DIDS016", "DIDS018", "DIDS023", "DIDS024")},
}

NATIVE_V1: dict[str, NativeFactory] = {rule: _never_null(factory) for rule, factory in _NATIVE_V1.items()}
