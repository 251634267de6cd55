"""Candidate expressions for the v2 rules (see check/_columnar_rules.py).

Each entry mirrors one rule of rules_v2.RULES_V2 (or the factory it is made with) and must be true on every row
that rule breaks; it may be true on rows the rule passes. First, the rules that read items whose values hardly
repeat (timestamps, dates of birth, request dates and times, NHS and accession numbers), which the
per-distinct-value path would run in Python about once per record; with them the reference-data rules keyed by a
day (an organisation open, a code valid, a map entry active: Python once per distinct code and day). Then the
code-list, blank and format rules whose expression is a line. The look-ups of a code alone (postcode, organisation
and site known), the referrer's case-blind patterns and the SNOMED CT check digit are judged by the rule's own
function once per distinct value (`by_its_own_function`), without building a record for each.
tests/test_engines.py holds every entry to "no row the rule breaks is left out", rule by rule.

Moments (rules_v2.Moment): a timestamp is an instant; a request or received date with a valid time is one on the
UK clock, and without a time only its day is known. `a.after(b)` then compares instants when both are known, days
otherwise. Since a UK-clock day's instants all precede the next day's, `a` can only be after `b` when a's day is
after b's, or the days are equal and a's wall-clock time is later than b's; that wider test is the candidate (on
the day the clocks go back, a wall-clock time in the repeated hour has no instant, and compares days only: the
candidate then picks a row the rule passes, never the reverse).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import polars as pl

from conformance.calendar import LONDON, month_end
from conformance.check import rules_v1 as v1
from conformance.check._columnar_exprs import (
    any_of,
    by_its_own_function,
    date_doubt,
    date_literal,
    date_of,
    nhs_number_ok,
    per_distinct,
    seconds_of_time,
    utc_literal,
)
from conformance.check._factories import codes, defaults, is_timestamp_item
from conformance.check._rows import Setup
from conformance.check._spark import NHS_NUMBER_CLEANSE
from conformance.check.rules_v2 import (
    GP_REFERRER,
    GRACE_DAYS,
    NICIP_FORMAT,
    RULES_V2,
    TIMESTAMPS,
    TREATMENT_FUNCTION_FORMAT,
    activity_from,
)

if TYPE_CHECKING:
    from conformance.check._columnar import Columns, NativeFactory

Slack = Callable[[pl.Expr], pl.Expr]


# ----- readings -----------------------------------------------------------------------------------------------


def _date(cols: Columns, item: str) -> pl.Expr:
    """date_of the item's value, a column made once per batch."""
    return cols.shared(f"date {item}", lambda: date_of(cols.v(item)))


def _seconds(cols: Columns, item: str) -> pl.Expr:
    """seconds_of_time of the item's value, a column made once per batch."""
    return cols.shared(f"seconds {item}", lambda: seconds_of_time(cols.v(item)))


def _day(cols: Columns, item: str) -> tuple[pl.Expr, pl.Expr]:
    """_factories.day_reader: the item's day (a date as written, a timestamp's day on the UK clock) and its
    doubt."""
    if is_timestamp_item(item):
        stamp = cols.stamp(item)
        return stamp.day, stamp.doubt
    day = _date(cols, item)
    return day, date_doubt(day)


def _moment(cols: Columns, item: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """rules_v2.moments: (UK day, UK wall-clock seconds or null, doubt) for a timestamp or a dated item."""
    if is_timestamp_item(item):
        stamp = cols.stamp(item)
        return stamp.day, stamp.clock, stamp.doubt
    times = {"request_date": "request_time", "request_received_date": "request_received_time"}
    day = _date(cols, item)
    return day, _seconds(cols, times[item]), date_doubt(day)


def _after(other: tuple[pl.Expr, pl.Expr], mine: tuple[pl.Expr, pl.Expr]) -> pl.Expr:
    """Candidates for Moment.after (see the module's docstring)."""
    (day, clock), (my_day, my_clock) = other, mine
    return (day > my_day) | ((day == my_day) & (clock > my_clock))


# ----- factories mirroring _factories ---------------------------------------------------------------------------


def python_match(pattern: re.Pattern[str]) -> str:
    """A pattern of the rule modules (`^...$`, ASCII classes) as Rust reads re.match with it: Python's `$` also
    matches before a final line feed, and re.ASCII's `\\s` is six characters (Rust's is Unicode's)."""
    text = pattern.pattern
    assert text.startswith("^") and text.endswith("$") and not pattern.flags & re.IGNORECASE, text
    if "\\s" in text:
        assert pattern.flags & re.ASCII, text
        text = text.replace("\\s", "[ \\t\\n\\r\\f\\v]")
    return text[:-1] + "\\n?$"


def well_formed(item: str, pattern: re.Pattern[str]) -> NativeFactory:
    """A present value that does not match `pattern`."""

    def factory(s: Setup, cols: Columns) -> pl.Expr:
        value = cols.v(item)
        return (value != "") & ~value.str.contains(python_match(pattern))

    return factory


def blank(item: str) -> NativeFactory:
    return lambda s, cols: cols.v(item) == ""


def in_codes(item: str) -> NativeFactory:
    def factory(s: Setup, cols: Columns) -> pl.Expr:
        value = cols.v(item)
        return (value != "") & ~value.is_in(sorted(codes(s, item)))

    return factory


def date_format(item: str) -> NativeFactory:
    def factory(s: Setup, cols: Columns) -> pl.Expr:
        return (cols.v(item) != "") & _date(cols, item).is_null()

    return factory


def not_before(item: str, floor: date) -> NativeFactory:
    def factory(s: Setup, cols: Columns) -> pl.Expr:
        day, doubt = _day(cols, item)
        return any_of([day < date_literal(floor), doubt])

    return factory


def six_months_on(day: pl.Expr) -> pl.Expr:
    """v1.six_months_on."""
    return day.dt.month_start().dt.offset_by("6mo").dt.month_end()


def one_calendar_month_on(day: pl.Expr) -> pl.Expr:
    """v1.one_calendar_month_on: Polars keeps the day of the month, or takes the month's last."""
    return day.dt.offset_by("1mo")


def a_year_on(day: pl.Expr) -> pl.Expr:
    """v1.a_year_on."""
    return day + pl.duration(days=365)


def order(earlier: str, later: str, slack: Slack | None = None) -> NativeFactory:
    """_factories.order: `earlier`'s day after `later`'s (after slack(later's))."""

    def factory(s: Setup, cols: Columns) -> pl.Expr:
        (first, first_doubt), (second, second_doubt) = _day(cols, earlier), _day(cols, later)
        limit = second if slack is None else slack(second)
        return any_of([first > limit, first_doubt, second_doubt])

    return factory


def active(item: str, role: str, default_list: str, on: tuple[str, ...]) -> NativeFactory:
    """_factories.active: a known organisation of the role, not a default, and not open on the first valid day of
    `on`; judged in Python once per distinct code and day."""

    def factory(s: Setup, cols: Columns) -> pl.Expr:
        orgs = s.reference.organisations or {}
        allowed = defaults(s, default_list)

        def closed(value: str, day: date | None) -> bool:
            code = value.upper()
            org = orgs.get(code)
            if org is None or code in allowed or role not in org.roles or day is None:
                return False
            return not org.period.active(day)

        days = [_day(cols, d) for d in on]
        day = pl.coalesce(*(d for d, _ in days))
        return any_of([per_distinct(closed, [cols.v(item), day]), *(doubt for _, doubt in days)])

    return factory


# ----- rules_v2 -------------------------------------------------------------------------------------------------


def before_v2(s: Setup, cols: Columns) -> pl.Expr:
    start = cols.stamp("procedure_start_timestamp")
    return any_of([start.day < date_literal(activity_from(s)), start.doubt])


def outside_period(s: Setup, cols: Columns) -> pl.Expr:
    period = s.context.period
    if period is None:
        return pl.lit(True)  # never planned without a period; a candidate on every row is right anyway
    start = cols.stamp("procedure_start_timestamp")
    day = start.day
    outside = (day < date_literal(period)) | (day > date_literal(month_end(period)))
    return any_of([(day >= date_literal(activity_from(s))) & outside, start.doubt])


def _nhs_digits(cols: Columns) -> pl.Expr:
    """rules_v2.nhs_digits (Rust's regular expressions read the DSP's cleanse pattern as Python does), a column
    made once per batch."""
    return cols.shared("nhs digits", lambda: cols.v("nhs_number").str.replace_all(NHS_NUMBER_CLEANSE.pattern, ""))


TEN_DIGITS = r"^[0-9]{10}$"


def nhs_number_format(s: Setup, cols: Columns) -> pl.Expr:
    # str.isdigit also admits digits beyond ASCII: such a value is a candidate the rule passes
    return (cols.v("nhs_number") != "") & ~_nhs_digits(cols).str.contains(TEN_DIGITS)


def nhs_number_check_digit(s: Setup, cols: Columns) -> pl.Expr:
    """identifiers.is_valid_nhs_number on the cleansed digits (nhs_number_ok: ten ASCII digits, the modulus-11
    check digit)."""
    digits = _nhs_digits(cols)
    return (digits.str.len_chars() == 10) & ~nhs_number_ok(digits)


def demographics_missing(s: Setup, cols: Columns) -> pl.Expr:
    group = next(g for g in s.pack.mandation_groups if g.id == "personal_and_demographic")
    return pl.all_horizontal(*(cols.v(item) == "" for item in group.items))


def demographics_pseudo_postcode(s: Setup, cols: Columns) -> pl.Expr:
    """Every M* item but the postcode blank (the postcode's ZZ99 prefix left to the rule)."""
    group = next(g for g in s.pack.mandation_groups if g.id == "personal_and_demographic")
    return pl.all_horizontal(*(cols.v(item) == "" for item in group.items if item != "postcode"))


def time_format(item: str) -> NativeFactory:
    def factory(s: Setup, cols: Columns) -> pl.Expr:
        return (cols.v(item) != "") & _seconds(cols, item).is_null()

    return factory


def time_blank(time_item: str, date_item: str) -> NativeFactory:
    return lambda s, cols: (cols.v(date_item) != "") & (cols.v(time_item) == "")


def time_without_date(s: Setup, cols: Columns) -> pl.Expr:
    pairs = (("request_time", "request_date"), ("request_received_time", "request_received_date"))
    return pl.any_horizontal(*((cols.v(t) != "") & (cols.v(d) == "") for t, d in pairs))


def timestamp_format(item: str) -> NativeFactory:
    def factory(s: Setup, cols: Columns) -> pl.Expr:
        value, stamp = cols.v(item), cols.stamp(item)
        return (value != "") & (stamp.utc.is_null() | stamp.doubt)

    return factory


def offset_in_force(s: Setup, cols: Columns) -> pl.Expr:
    conditions = []
    for item in TIMESTAMPS:
        stamp = cols.stamp(item)
        unknown = cols.v(item).str.ends_with("-00:00")
        conditions += [~unknown & (stamp.uk_offset != stamp.written_offset), stamp.doubt]
    return any_of(conditions)


def not_before_nearest(later: str, *earlier: str) -> NativeFactory:
    """rules_v2.not_before_nearest: the first of `earlier` with a valid day, after `later`."""

    def factory(s: Setup, cols: Columns) -> pl.Expr:
        day, clock, doubt = _moment(cols, later)
        others = [_moment(cols, item) for item in earlier]
        doubts = [doubt, *(d for _, _, d in others)]
        if all(is_timestamp_item(i) for i in (later, *earlier)):
            # instants on both sides: compare them
            instants = [cols.stamp(item).utc for item in earlier]
            return any_of([pl.coalesce(*instants) > cols.stamp(later).utc, *doubts])
        # the nearest given: the first whose day is valid
        other_day, other_clock = others[-1][:2]
        for d, c, _ in reversed(others[:-1]):
            given = d.is_not_null()
            other_day = pl.when(given).then(d).otherwise(other_day)
            other_clock = pl.when(given).then(c).otherwise(other_clock)
        return any_of([_after((other_day, other_clock), (day, clock)), *doubts])

    return factory


def after_submission(s: Setup, cols: Columns) -> pl.Expr:
    submitted = utc_literal(s.context.submitted)
    conditions = []
    for item in TIMESTAMPS:
        stamp = cols.stamp(item)
        conditions += [stamp.utc > submitted, stamp.doubt]
    return any_of(conditions)


def after_period(item: str) -> NativeFactory:
    def factory(s: Setup, cols: Columns) -> pl.Expr:
        period = s.context.period
        if period is None:
            return pl.lit(True)
        ends = datetime.combine(month_end(period) + timedelta(days=1), time(0), LONDON)
        stamp = cols.stamp(item)
        return any_of([stamp.utc >= utc_literal(ends), stamp.doubt])

    return factory


def _reference_day(cols: Columns) -> tuple[pl.Expr, pl.Expr]:
    """rules_v2.reference_day: the end timestamp's UK day, else the start's."""
    end, start = cols.stamp("procedure_end_timestamp"), cols.stamp("procedure_start_timestamp")
    return pl.coalesce(end.day, start.day), end.doubt | start.doubt


def invalid_code(item: str, table: str) -> NativeFactory:
    """rules_v2.code_validity_v2: a code not in the table, or one the reference day is before the start of, or
    more than GRACE_DAYS after the end of; judged in Python once per distinct code and day."""

    def factory(s: Setup, cols: Columns) -> pl.Expr:
        table_codes = getattr(s.reference, table) or {}

        def invalid(value: str, day: date | None) -> bool:
            if not value:
                return False
            period = table_codes.get(v1.code_key(table, value))
            if period is None:
                return True
            if day is None:
                return False
            return (period.start is not None and day < period.start) or (
                period.end is not None and (day - period.end).days > GRACE_DAYS
            )

        day, doubt = _reference_day(cols)
        return any_of([per_distinct(invalid, [cols.v(item), day]), doubt])

    return factory


def nicip_maps_to_snomed(s: Setup, cols: Columns) -> pl.Expr:
    """rules_v2.nicip_maps_to_snomed_v2: both codes given, and no entry of the map from the NICIP code to the
    SNOMED CT code active on the reference day (with no day, no entry at all); judged in Python once per distinct
    pair and day. Whether each code is valid, which the rule also asks, is left to the rule."""
    mapping = s.reference.nicip_snomed

    def unmapped(nicip: str, snomed: str, day: date | None) -> bool:
        code = nicip.upper()
        if not code or not snomed:
            return False
        periods = [period for concept, period in mapping.get(code, []) if concept == snomed]
        return not any(day is None or period.active(day) for period in periods)

    day, doubt = _reference_day(cols)
    pair = [cols.v("coded_procedure_nicip"), cols.v("coded_procedure_snomed"), day]
    return any_of([per_distinct(unmapped, pair), doubt])


def treatment_function_code(s: Setup, cols: Columns) -> pl.Expr:
    value = cols.v("treatment_function_code")
    known = sorted(s.pack.codelists["treatment_function"].codes(s.profile))
    return value.str.contains(python_match(TREATMENT_FUNCTION_FORMAT)) & ~value.is_in(known)


def treatment_function_blank(s: Setup, cols: Columns) -> pl.Expr:
    referrer = cols.v("referrer_code")
    return (cols.v("treatment_function_code") == "") & ~referrer.str.contains(python_match(GP_REFERRER))


def _waiting(s: Setup, cols: Columns) -> tuple[pl.Expr, pl.Expr]:
    """Whether the activity category is one of a waiting list, and the clock start date."""
    waiting = sorted(v.code for v in s.pack.codelists["activity_category"].tagged("waiting-list"))
    return cols.v("activity_category").is_in(waiting), cols.v("waiting_list_clock_start_date")


def waiting_list_start_missing(s: Setup, cols: Columns) -> pl.Expr:
    waiting, start = _waiting(s, cols)
    return waiting & (start == "")


def waiting_list_start_unexpected(s: Setup, cols: Columns) -> pl.Expr:
    waiting, start = _waiting(s, cols)
    return (start != "") & ~waiting


def coded_procedure_missing(s: Setup, cols: Columns) -> pl.Expr:
    return (cols.v("coded_procedure_nicip") == "") & (cols.v("coded_procedure_snomed") == "")


def accession_length(s: Setup, cols: Columns) -> pl.Expr:
    return cols.v("accession_number").str.len_chars() > 20


NATIVE_V2: dict[str, NativeFactory] = {
    "V2P-BEFORE-V2": before_v2,
    "V2P-OUTSIDE-PERIOD": outside_period,
    "V2P-NHS-NUMBER-FORMAT": nhs_number_format,
    "V2P-NHS-NUMBER-CHECK-DIGIT": nhs_number_check_digit,
    "V2P-NHS-NUMBER-STATUS": in_codes("nhs_number_status"),
    "V2P-BIRTH-DATE-FORMAT": date_format("person_birth_date"),
    "V2P-BIRTH-DATE-FLOOR": not_before("person_birth_date", v1.FLOOR_1900),
    "V2P-BIRTH-AFTER-PROCEDURE": order("person_birth_date", "procedure_start_timestamp"),
    "V2P-BIRTH-AFTER-REPORT": order("person_birth_date", "report_issue_timestamp"),
    "V2P-BIRTH-AFTER-REQUEST": order("person_birth_date", "request_date", six_months_on),
    "V2P-ETHNIC-CATEGORY": in_codes("ethnic_category"),
    "V2P-STATED-GENDER": in_codes("person_stated_gender_code"),
    "V2P-POSTCODE-FORMAT": well_formed("postcode", v1.DSP_POSTCODE),
    "V2P-GP-PRACTICE-ACTIVE": active(
        "gp_practice_code", "gp_practice", "gp_practice_defaults", ("procedure_start_timestamp",)
    ),
    "V2P-DEMOGRAPHICS-MISSING": demographics_missing,
    "V2P-DEMOGRAPHICS-PSEUDO-POSTCODE": demographics_pseudo_postcode,
    "V2P-SOURCE-SETTING-MISSING": blank("patient_source_setting"),
    "V2P-SOURCE-SETTING-CODE": in_codes("patient_source_setting"),
    "V2P-REFERRING-ORG-ACTIVE": active(
        "referring_org_code", "referring", "referring_org_defaults", ("request_date", "procedure_start_timestamp")
    ),
    "V2P-TREATMENT-FUNCTION-FORMAT": well_formed("treatment_function_code", TREATMENT_FUNCTION_FORMAT),
    "V2P-TREATMENT-FUNCTION-CODE": treatment_function_code,
    "V2P-TREATMENT-FUNCTION-BLANK": treatment_function_blank,
    "V2P-REQUEST-DATE-FORMAT": date_format("request_date"),
    "V2P-REQUEST-DATE-FLOOR": not_before("request_date", v1.FLOOR_1970),
    "V2P-REQUEST-TIME-FORMAT": time_format("request_time"),
    "V2P-REQUEST-TIME-BLANK": time_blank("request_time", "request_date"),
    "V2P-RECEIVED-DATE-FORMAT": date_format("request_received_date"),
    "V2P-RECEIVED-DATE-FLOOR": not_before("request_received_date", v1.FLOOR_1970),
    "V2P-RECEIVED-TIME-FORMAT": time_format("request_received_time"),
    "V2P-RECEIVED-TIME-BLANK": time_blank("request_received_time", "request_received_date"),
    "V2P-TIME-WITHOUT-DATE": time_without_date,
    "V2P-RECEIVED-BEFORE-BIRTH": order("person_birth_date", "request_received_date", six_months_on),
    "V2P-REQUEST-LONG-BEFORE": order("procedure_start_timestamp", "request_date", a_year_on),
    "V2P-RECEIVED-LONG-BEFORE": order("procedure_start_timestamp", "request_received_date", a_year_on),
    "V2P-ACTIVITY-CATEGORY": in_codes("activity_category"),
    "V2P-WAITING-LIST-START-MISSING": waiting_list_start_missing,
    "V2P-WAITING-LIST-START-UNEXPECTED": waiting_list_start_unexpected,
    "V2P-WAITING-LIST-START-FORMAT": date_format("waiting_list_clock_start_date"),
    "V2P-WAITING-LIST-START-AFTER-PROCEDURE": order("waiting_list_clock_start_date", "procedure_start_timestamp"),
    "V2P-CODED-PROCEDURE-MISSING": coded_procedure_missing,
    "V2P-NICIP-FORMAT": well_formed("coded_procedure_nicip", NICIP_FORMAT),
    "DIDS00300302": invalid_code("coded_procedure_nicip", "nicip"),
    "DIDS00300402": invalid_code("coded_procedure_snomed", "snomed"),
    "DIDSREJ012": nicip_maps_to_snomed,
    "V2P-START-MISSING": blank("procedure_start_timestamp"),
    "V2P-START-TIMESTAMP-FORMAT": timestamp_format("procedure_start_timestamp"),
    "V2P-END-TIMESTAMP-FORMAT": timestamp_format("procedure_end_timestamp"),
    "V2P-END-TIMESTAMP-BLANK": blank("procedure_end_timestamp"),
    "V2P-REPORT-TIMESTAMP-FORMAT": timestamp_format("report_issue_timestamp"),
    "V2P-OFFSET-NOT-IN-FORCE": offset_in_force,
    "V2P-RECEIVED-BEFORE-REQUEST": not_before_nearest("request_received_date", "request_date"),
    "V2P-START-BEFORE-RECEIVED": not_before_nearest(
        "procedure_start_timestamp", "request_received_date", "request_date"
    ),
    "V2P-END-BEFORE-START": not_before_nearest("procedure_end_timestamp", "procedure_start_timestamp"),
    "V2P-REPORT-BEFORE-END": not_before_nearest(
        "report_issue_timestamp", "procedure_end_timestamp", "procedure_start_timestamp"
    ),
    "V2P-REPORT-LATE": order("report_issue_timestamp", "procedure_start_timestamp", one_calendar_month_on),
    "V2P-AFTER-SUBMISSION": after_submission,
    "V2P-END-AFTER-PERIOD": after_period("procedure_end_timestamp"),
    "V2P-REPORT-AFTER-PERIOD": after_period("report_issue_timestamp"),
    "V2P-EVALUATION-INDICATOR": in_codes("evaluation_indicator"),
    "V2P-EVALUATION-INDICATOR-BLANK": blank("evaluation_indicator"),
    "V2P-SITE-MISSING": blank("site_code"),
    "V2P-SITE-FORMAT": well_formed("site_code", v1.SITE_CODE),
    "V2P-SITE-ACTIVE": active("site_code", "site", "site_defaults", ("procedure_start_timestamp",)),
    "V2P-ACCESSION-MISSING": blank("accession_number"),
    "V2P-ACCESSION-LENGTH": accession_length,
    # Rules of one code alone, judged by their own function once per distinct value
    **{
        rule: by_its_own_function(rule, RULES_V2[rule])
        for rule in (
            "V2P-REFERRER-FORMAT",
            "V2P-POSTCODE-KNOWN",
            "V2P-GP-PRACTICE-KNOWN",
            "V2P-REFERRING-ORG-KNOWN",
            "V2P-SITE-KNOWN",
            "V2P-SNOMED-FORMAT",
        )
    },
}
