"""DIDS v1 rules (profiles v1-dsp and v1-portal): the logic, then one explicit table, RULES_V1, from rule id to
factory. A factory is given the pack, profile, submission context and reference data once and returns a function
from a Row to a Hit or None.

The catalogue (codes, severities, items, sources) is data in packs/v1/rules.toml; this module holds only logic.
Cross-field date rules pass when either date is blank or malformed: the format rules report those (dids-v1.md §3.2).
Rules that v2.0 carries over are reused by rules_v2 from here; a rule whose logic differs between the versions
carries a _v1 / _v2 suffix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from operator import itemgetter

from conformance.calendar import add_months, month_end, months_between, parse_date
from conformance.check import rules_v1_dsp as dsp
from conformance.check._factories import (
    Factory,
    active,
    blank,
    date_format,
    day_reader,
    defaults,
    in_codes,
    not_before,
    order,
    organisation,
)
from conformance.check._rows import Hit, Row, RuleFn, Setup
from conformance.check.reference import normalise_postcode
from conformance.identifiers import is_valid_nhs_number

# DSP POSTCODE_PATTERN; ASCII, as Java reads \s (the DSP matches with Java's regular expressions).
DSP_POSTCODE = re.compile(r"^[a-zA-Z]{1,2}[0-9][a-zA-Z0-9]?\s+[0-9][a-zA-Z]{2}$", re.ASCII)
# The portal's format: upper case, one space, and the XSD AddressType1 inward letters (no C, I, K, M, O, V).
PORTAL_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9R][0-9A-Z]? [0-9][ABD-HJLNP-UW-Z]{2}$")
SITE_CODE = re.compile(r"^[A-Za-z0-9]{5,12}$")
PORTAL_SITE_CODE = re.compile(r"^[A-Za-z0-9]{3,12}$")
ALPHANUMERIC_20 = re.compile(r"^[A-Za-z0-9]{1,20}$")
FLOOR_1900 = date(1900, 1, 2)
FLOOR_1970 = date(1970, 1, 1)


# ----- value-level rules ---------------------------------------------------------------------------------------


def _strip_nhs(value: str) -> str:
    return value.replace(" ", "").replace("-", "")


def nhs_number_valid(s: Setup) -> RuleFn:
    i = s.pos("nhs_number")

    def check(r: Row) -> Hit | None:
        raw = r.v[i]
        value = raw if raw.isdigit() else _strip_nhs(raw)
        return Hit("nhs_number", raw) if value and not is_valid_nhs_number(value) else None

    return check


def nhs_number_length(s: Setup) -> RuleFn:
    i = s.pos("nhs_number")

    def check(r: Row) -> Hit | None:
        raw = r.v[i]
        if len(raw) == 10 and raw.isdigit():
            return None
        return Hit("nhs_number", raw) if len(_strip_nhs(raw)) not in (0, 10) else None

    return check


def portal_nhs_number(s: Setup) -> RuleFn:
    i = s.pos("nhs_number")
    return lambda r: Hit("nhs_number", r.v[i]) if r.v[i] and not is_valid_nhs_number(r.v[i]) else None


def portal_banned_nhs_numbers(s: Setup) -> RuleFn:
    i = s.pos("nhs_number")
    banned = re.compile(r"^(1234567890|0123456789|([1-9])00000000\2)$")
    return lambda r: Hit("nhs_number", r.v[i]) if banned.match(r.v[i]) else None


@lru_cache(maxsize=65536)
# The slacks below end the calendar at date.max: a limit past year 9999 is one no date can pass (they once raised
# ValueError and OverflowError on dates in 9999, ending the check with an internal error).


def six_months_on(day: date) -> date:
    """The last day of the sixth month after `day`'s month: DSP's month-end tolerance for fetal imaging."""
    try:
        return month_end(add_months(day, 6))
    except ValueError:
        return date.max


@lru_cache(maxsize=65536)
def one_calendar_month_on(day: date) -> date:
    try:
        month = add_months(day, 1)
        return min(month.replace(day=1) + timedelta(days=day.day - 1), month_end(month))
    except (ValueError, OverflowError):
        return date.max


def a_year_on(day: date) -> date:
    try:
        return day + timedelta(days=365)
    except OverflowError:
        return date.max


def after_submission_v1(item: str) -> Factory:
    """The item's day is after the submission day (UK clock)."""

    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)
        read = day_reader(s, item)
        today = s.context.submitted_local.date()

        def check(r: Row) -> Hit | None:
            day = read(r)
            return Hit(item, r.v[i]) if day is not None and day > today else None

        return check

    return factory


def portal_birth_date_future(s: Setup) -> RuleFn:
    i = s.pos("person_birth_date")
    today = s.context.submitted_local.date()

    def check(r: Row) -> Hit | None:
        day = parse_date(r.v[i])
        return Hit("person_birth_date", r.v[i]) if day is not None and day >= today else None

    return check


def late(band: str) -> Factory:
    """The test date's month is past its submission window: "warning" when the submission falls in the window's
    warning band (DSP DIDS049), "closed" when it falls after the window closes (DSP DIDS055, the portal's cut-off).
    The window is the pack's, for this profile."""

    def factory(s: Setup) -> RuleFn:
        i = s.pos("test_date")
        today = s.context.submitted_local.date()
        month = today.replace(day=1)

        @lru_cache(maxsize=4096)
        def past(day: date) -> bool:
            try:
                window = s.pack.window(s.profile, day)
            except ValueError:  # a window that would run past year 9999 has not closed on any real day
                return False
            if window.closes is None:
                return False
            if band == "closed":
                return today > window.closes
            return window.warns_from is not None and window.warns_from <= today <= window.closes

        def check(r: Row) -> Hit | None:
            day = parse_date(r.v[i])
            if day is None or not past(day.replace(day=1)):
                return None
            return Hit("test_date", r.v[i], f"{months_between(month, day)} months before the submission month")

        return check

    return factory


def postcode_format(s: Setup) -> RuleFn:
    i = s.pos("postcode")
    return lambda r: Hit("postcode", r.v[i]) if r.v[i] and not DSP_POSTCODE.match(r.v[i]) else None


def portal_postcode_format(s: Setup) -> RuleFn:
    i = s.pos("postcode")
    return lambda r: Hit("postcode", r.v[i]) if r.v[i] and not PORTAL_POSTCODE.match(r.v[i]) else None


def postcode_exists(s: Setup) -> RuleFn:
    i = s.pos("postcode")
    known = s.reference.postcodes or set()

    def check(r: Row) -> Hit | None:
        value = r.v[i]
        if not value or value.upper().startswith("ZZ99") or not DSP_POSTCODE.match(value):
            return None  # blank, a pseudo-postcode, or badly formed (DIDS017 says so)
        return None if normalise_postcode(value) in known else Hit("postcode", value)

    return check


def referrer_format(s: Setup) -> RuleFn:
    i = s.pos("referrer_code")
    spec = s.pack.referrer_formats
    flags = re.IGNORECASE if spec.case_insensitive else 0
    patterns = [re.compile(p.pattern, flags) for p in spec.for_profile(s.profile)]
    allowed = defaults(s, "referrer_defaults")

    def check(r: Row) -> Hit | None:
        value = r.v[i]
        if not value or value.upper() in allowed or any(p.match(value) for p in patterns):
            return None
        return Hit("referrer_code", value, f"reported as {spec.substitute}")

    return check


def imaging_code_present(s: Setup) -> RuleFn:
    n, m = s.pos("imaging_code_nicip"), s.pos("imaging_code_snomed")
    return lambda r: Hit("imaging_code_nicip", r.v[n]) if not r.v[n] and not r.v[m] else None


def site_code_format(s: Setup) -> RuleFn:
    i = s.pos("site_code")
    return lambda r: Hit("site_code", r.v[i]) if r.v[i] and not SITE_CODE.match(r.v[i]) else None


def portal_site_code_format(s: Setup) -> RuleFn:
    i = s.pos("site_code")
    return lambda r: Hit("site_code", r.v[i]) if r.v[i] and not PORTAL_SITE_CODE.match(r.v[i]) else None


def accession_length(s: Setup) -> RuleFn:
    i = s.pos("accession_number")
    return lambda r: Hit("accession_number", r.v[i]) if len(r.v[i]) > 20 else None


def portal_accession_format(s: Setup) -> RuleFn:
    i = s.pos("accession_number")
    return lambda r: Hit("accession_number", r.v[i]) if r.v[i] and not ALPHANUMERIC_20.match(r.v[i]) else None


def _m_star(s: Setup) -> tuple[Callable[[list[str]], tuple[str, ...]], Callable[[list[str]], tuple[str, ...]], int]:
    """Getters for the M* group's values and for those other than the postcode, and the postcode's position."""
    group = next(g for g in s.pack.mandation_groups if g.id == "personal_and_demographic")
    postcode = s.pos("postcode")
    others = [s.pos(i) for i in group.items if s.pos(i) != postcode]
    return itemgetter(*[s.pos(i) for i in group.items]), itemgetter(*others), postcode


def m_star_present(s: Setup) -> RuleFn:
    every, _, _ = _m_star(s)
    return lambda r: Hit("nhs_number", "") if not any(every(r.v)) else None


def m_star_present_without_pseudo_postcode(s: Setup) -> RuleFn:
    _, others, postcode = _m_star(s)

    def check(r: Row) -> Hit | None:
        value = r.v[postcode]
        if value[:4].upper() == "ZZ99" and not any(others(r.v)):
            return Hit("postcode", value, "a ZZ99 pseudo-postcode is the only M* item")
        return None

    return check


# ----- rules that need national reference data ------------------------------------------------------------------


def site_known(s: Setup) -> RuleFn:
    inner = organisation("site_code", "site", "site_defaults")(s)
    i = s.pos("site_code")
    # Only a well-formed site code is looked up (DIDS069 reports the rest).
    return lambda r: inner(r) if SITE_CODE.match(r.v[i]) else None


GRACE_DAYS_V1 = 183  # "6 months" either side of the test date (dids-v1.md §3.2); 183 days as in v2.0 (S3b)


def code_key(table: str, value: str) -> str:
    """How a code is looked up in its reference table: NICIP codes in upper case, SNOMED CT identifiers as sent."""
    return value.upper() if table == "nicip" else value


def code_valid_v1(item: str, table: str, warn: bool) -> Factory:
    """Error (DIDS057/059): unknown, or outside its active period by more than the grace. Warning (077/078):
    known and inside the grace but not active on the test date."""

    def factory(s: Setup) -> RuleFn:
        i, t = s.pos(item), s.pos("test_date")
        codes = getattr(s.reference, table) or {}

        def check(r: Row) -> Hit | None:
            value = r.v[i]
            if not value:
                return None
            period = codes.get(code_key(table, value))
            day = parse_date(r.v[t])
            if period is None:
                return None if warn else Hit(item, value, "not in the reference data")
            if day is None:
                return None
            outside = period.days_outside(day)
            if warn:
                return Hit(item, value) if 0 < outside <= GRACE_DAYS_V1 else None
            return Hit(item, value, "inactive at the test date") if outside > GRACE_DAYS_V1 else None

        return check

    return factory


def nicip_maps_to_snomed_v1(s: Setup) -> RuleFn:
    n, m, t = s.pos("imaging_code_nicip"), s.pos("imaging_code_snomed"), s.pos("test_date")
    mapping = s.reference.nicip_snomed
    nicip, snomed = s.reference.nicip or {}, s.reference.snomed or {}

    def check(r: Row) -> Hit | None:
        code, concept = r.v[n].upper(), r.v[m]
        if not code or not concept or code not in nicip or concept not in snomed:
            return None  # only when both are supplied and both known
        day = parse_date(r.v[t])
        targets = {c for c, period in mapping.get(code, []) if day is None or period.active(day)}
        return None if concept in targets else Hit("imaging_code_snomed", concept, f"{code} maps to {sorted(targets)}")

    return check


def by_semantics(rule_text: Factory, dsp_code: Factory) -> Factory:
    """One rule read two ways: as its text says, or as the DSP's code runs it (for a profile whose pack says it
    follows the DSP; the pack's [semantics] table)."""

    def factory(s: Setup) -> RuleFn:
        return (dsp_code if s.pack.follows(s.profile) == "dsp" else rule_text)(s)

    return factory


def code_validity(item: str, table: str, warn: bool) -> Factory:
    """DIDS057/059/077/078: the rule text's code validity, which the DSP judges only on a well-formed test date."""
    rule_text = code_valid_v1(item, table, warn)
    return by_semantics(rule_text, dsp.code_valid(rule_text))


# ----- the table ---------------------------------------------------------------------------------------------------
# Every rule of packs/v1/rules.toml but the file rules (DIDS075/076: the readers' file problems) and the
# uniqueness rule (DIDS071: the engine's cross-record index), in catalogue order.

RULES_V1: dict[str, Factory] = {
    "DIDS001": by_semantics(nhs_number_valid, dsp.nhs_number_valid),
    "DIDS002": by_semantics(nhs_number_length, dsp.nhs_number_length),
    "DIDS003": in_codes("nhs_number_status"),
    "DIDS005": by_semantics(date_format("person_birth_date"), dsp.date_format("person_birth_date")),
    "DIDS006": by_semantics(order("person_birth_date", "test_date"), dsp.order("person_birth_date", "test_date")),
    "DIDS008": by_semantics(
        order("person_birth_date", "report_issue_date"), dsp.order("person_birth_date", "report_issue_date")
    ),
    "DIDS009": by_semantics(
        not_before("person_birth_date", FLOOR_1900), dsp.not_before("person_birth_date", (1900, 1, 2))
    ),
    "DIDS010": by_semantics(
        order("person_birth_date", "request_date", six_months_on),
        dsp.months_after("person_birth_date", "request_date", field="person_birth_date"),
    ),
    "DIDS012": in_codes("ethnic_category"),
    "DIDS014": by_semantics(in_codes("person_gender_code"), dsp.gender_code),
    "DIDS016": by_semantics(postcode_exists, dsp.postcode_known),
    "DIDS017": postcode_format,
    "DIDS018": organisation("gp_practice_code", "gp_practice", "gp_practice_defaults"),
    "DIDS020": blank("patient_source_setting"),
    "DIDS021": in_codes("patient_source_setting"),
    "DIDS023": by_semantics(referrer_format, dsp.referrer_format),
    "DIDS024": organisation("referring_org_code", "referring", "referring_org_defaults"),
    "DIDS026": by_semantics(date_format("request_date"), dsp.date_format("request_date")),
    "DIDS027": by_semantics(
        order("request_date", "request_received_date"), dsp.order("request_date", "request_received_date")
    ),
    "DIDS028": by_semantics(
        order("test_date", "request_date", a_year_on, field="request_date"), dsp.request_within_a_year
    ),
    "DIDS031": by_semantics(not_before("request_date", FLOOR_1970), dsp.not_before("request_date", (1970, 1, 1))),
    "DIDS034": by_semantics(order("request_date", "test_date"), dsp.order("request_date", "test_date")),
    "DIDS035": by_semantics(order("request_date", "report_issue_date"), dsp.order("request_date", "report_issue_date")),
    "DIDS036": by_semantics(date_format("request_received_date"), dsp.date_format("request_received_date")),
    "DIDS038": by_semantics(
        order("test_date", "request_received_date", a_year_on, field="request_received_date"),
        dsp.order("test_date", "request_received_date", dsp.plus_days(365), field="request_received_date"),
    ),
    "DIDS040": by_semantics(
        order("person_birth_date", "request_received_date", six_months_on, field="request_received_date"),
        dsp.months_after("person_birth_date", "request_received_date", field="request_received_date"),
    ),
    "DIDS041": by_semantics(
        not_before("request_received_date", FLOOR_1970), dsp.not_before("request_received_date", (1970, 1, 1))
    ),
    "DIDS043": by_semantics(
        order("request_received_date", "test_date"), dsp.order("request_received_date", "test_date")
    ),
    "DIDS044": by_semantics(
        order("request_received_date", "report_issue_date"),
        dsp.order("request_received_date", "report_issue_date"),
    ),
    "DIDS045": by_semantics(date_format("test_date"), dsp.date_format("test_date")),
    "DIDS048": by_semantics(order("test_date", "report_issue_date"), dsp.order("test_date", "report_issue_date")),
    "DIDS049": by_semantics(late("warning"), dsp.late("warning")),
    "DIDS050": blank("test_date"),
    "DIDS051": by_semantics(after_submission_v1("test_date"), dsp.after_submission("test_date")),
    "DIDS055": by_semantics(late("closed"), dsp.late("closed")),
    "DIDS056": imaging_code_present,
    "DIDS057": code_validity("imaging_code_nicip", "nicip", warn=False),
    "DIDS059": code_validity("imaging_code_snomed", "snomed", warn=False),
    "DIDS061": by_semantics(date_format("report_issue_date"), dsp.date_format("report_issue_date")),
    "DIDS062": by_semantics(
        order("report_issue_date", "test_date", one_calendar_month_on),
        dsp.order("report_issue_date", "test_date", dsp.plus_months(1)),
    ),
    "DIDS066": by_semantics(after_submission_v1("report_issue_date"), dsp.after_submission("report_issue_date")),
    "DIDS067": blank("site_code"),
    "DIDS068": site_known,
    "DIDS069": site_code_format,
    "DIDS070": blank("accession_number"),
    "DIDS072": accession_length,
    "DIDS073": m_star_present,
    "DIDS074": m_star_present_without_pseudo_postcode,
    "DIDS077": code_validity("imaging_code_nicip", "nicip", warn=True),
    "DIDS078": code_validity("imaging_code_snomed", "snomed", warn=True),
    "DIDS079": active("referring_org_code", "referring", "referring_org_defaults", ("request_date", "test_date")),
    "DIDS080": active("gp_practice_code", "gp_practice", "gp_practice_defaults", ("test_date",)),
    "DIDS081": active("site_code", "site", "site_defaults", ("test_date",)),
    "DIDS082": by_semantics(nicip_maps_to_snomed_v1, dsp.nicip_maps_to_snomed(nicip_maps_to_snomed_v1)),
    "V1P-NHS-NUMBER": portal_nhs_number,
    "V1P-NHS-NUMBER-BANNED": portal_banned_nhs_numbers,
    "V1P-POSTCODE-FORMAT": portal_postcode_format,
    "V1P-ACCESSION-FORMAT": portal_accession_format,
    "V1P-TEST-DATE-WINDOW": late("closed"),
    "V1P-DOB-FUTURE": portal_birth_date_future,
    "V1P-SITE-CODE": portal_site_code_format,
}
