"""DIDS v2.0 rules (profile v2): the logic, then one explicit table, RULES_V2, starting from the v1 rules v2.0
carries over (`v1.<rule>`), and SUBMISSION_RULES_V2 for the rules judged once per file from the submission
context. The catalogue is data in packs/v2/rules.toml.

Most rules are reconstructions (ids "V2P-...", no official code): v1 logic carried onto the v2 items, plus what
v2.0 changes (times, timestamps with offsets, treatment function, evaluation indicator, reporting periods and
submission windows). Only DIDS00300302, DIDS00300402 and DIDSREJ012 are published (dids-v2.md §4.1).

Times: a v2 timestamp carries its offset and is compared as an instant. A request or received date with its time
(HH:MM:SS, no offset) is an instant on the UK clock; without a time only its day is known, and a comparison with
anything then falls back to days on the UK clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from conformance.calendar import LONDON, local_day, month_end, parse_date, parse_timestamp, valid_time
from conformance.check import rules_v1 as v1
from conformance.check._factories import (
    Factory,
    active,
    blank,
    date_format,
    day_reader,
    in_codes,
    not_before,
    order,
    organisation,
    well_formed,
)
from conformance.check._rows import Hit, Row, RuleFn, Setup, SubmissionRule
from conformance.check._spark import NHS_NUMBER_CLEANSE  # DIDS002's stripping, which v2 carries over
from conformance.identifiers import is_valid_nhs_number, is_well_formed_concept_id

# NICIP and SNOMED CT: valid up to 183 days after inactivation, never before the validity starts (dids-v2.md §4.1;
# v1's grace ran either side of the test date).
GRACE_DAYS = v1.GRACE_DAYS_V1
NICIP_FORMAT = re.compile(r"^[A-Za-z0-9]{1,6}$")
TREATMENT_FUNCTION_FORMAT = re.compile(r"^[0-9]{3}$")
GP_REFERRER = re.compile(r"^G[0-9]{7}$")  # a General Medical Practitioner's code, G9999998 (not known) included
# The timestamp shape with any offset, to tell "wrong offset" from "not a timestamp" in messages.
ANY_OFFSET = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([+-][0-9]{2}:[0-9]{2}|Z)$")
TIMESTAMPS = ("procedure_start_timestamp", "procedure_end_timestamp", "report_issue_timestamp")


def activity_from(s: Setup) -> date:
    first = s.pack.activity_from
    assert first is not None  # the v2 pack says when v2.0 activity starts
    return first


# ----- moments: a day, and the instant when it is known -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment:
    day: date  # on the UK clock
    instant: datetime | None  # aware, when the time is known
    shown: str = ""  # the values as submitted, so that a finding can quote both sides of a comparison

    def after(self, other: Moment) -> bool:
        if self.instant is not None and other.instant is not None:
            return self.instant > other.instant
        return self.day > other.day


MomentReader = Callable[[Row], "Moment | None"]


def timestamp_moment(s: Setup, item: str) -> MomentReader:
    i = s.pos(item)

    def read(r: Row) -> Moment | None:
        moment = parse_timestamp(r.v[i])
        return None if moment is None else Moment(local_day(moment), moment, r.v[i])

    return read


def dated_moment(s: Setup, date_item: str, time_item: str) -> MomentReader:
    d, t = s.pos(date_item), s.pos(time_item)

    def read(r: Row) -> Moment | None:
        day = parse_date(r.v[d])
        if day is None:
            return None
        clock = r.v[t]
        if not valid_time(clock):
            return Moment(day, None, r.v[d])
        wall = datetime.combine(day, time.fromisoformat(clock), LONDON)
        if wall.utcoffset() != wall.replace(fold=1).utcoffset():
            # The repeated hour when BST ends: with no offset the instant is ambiguous, so compare days only
            # rather than report an order that the other reading of the clock would make right.
            return Moment(day, None, f"{r.v[d]} {clock}")
        return Moment(day, wall, f"{r.v[d]} {clock}")

    return read


def moments(s: Setup) -> dict[str, MomentReader]:
    return {
        "request_date": dated_moment(s, "request_date", "request_time"),
        "request_received_date": dated_moment(s, "request_received_date", "request_received_time"),
        **{item: timestamp_moment(s, item) for item in TIMESTAMPS},
    }


def not_before_nearest(later: str, *earlier: str) -> Factory:
    """`later` must not be before the first of `earlier` that is given (the nearest earlier step of
    request <= received <= start <= end <= report issue)."""

    def factory(s: Setup) -> RuleFn:
        read = moments(s)
        this, before = read[later], [read[e] for e in earlier]
        i = s.pos(later)

        def check(r: Row) -> Hit | None:
            mine = this(r)
            if mine is None:
                return None
            for reader in before:
                other = reader(r)
                if other is not None:
                    if not other.after(mine):
                        return None
                    return Hit(later, r.v[i], f"{mine.shown} is before {other.shown}")
            return None

        return check

    return factory


def after_submission_v2(s: Setup) -> RuleFn:
    readers = [(s.pos(item), item, timestamp_moment(s, item)) for item in TIMESTAMPS]
    submitted = s.context.submitted

    def check(r: Row) -> Hit | None:
        for i, item, read in readers:
            moment = read(r)
            if moment is not None and moment.instant is not None and moment.instant > submitted:
                return Hit(item, r.v[i])
        return None

    return check


# ----- timestamps and times -----------------------------------------------------------------------------------


def timestamp_format(item: str) -> Factory:
    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)

        def check(r: Row) -> Hit | None:
            value = r.v[i]
            if not value or parse_timestamp(value) is not None:
                return None
            if ANY_OFFSET.match(value) and not value.endswith(("+01:00", "+00:00", "-00:00", "Z")):
                return Hit(item, value, f"offset {value[19:]} is not one DIDS allows")
            return Hit(item, value)

        return check

    return factory


def offset_in_force(s: Setup) -> RuleFn:
    """+01:00 when the UK clock was on GMT, or +00:00 / Z when it was on BST, at the instant written. Works at the
    clock changes too: 01:30+01:00 and 01:30+00:00 on the October change day are both right; 01:30+00:00 on the
    March change day names an instant when the UK clock said 02:30 BST."""
    positions = [(s.pos(item), item) for item in TIMESTAMPS]

    def check(r: Row) -> Hit | None:
        for i, item in positions:
            value = r.v[i]
            if value.endswith("-00:00"):
                continue  # "offset unknown": nothing to compare
            moment = parse_timestamp(value)
            if moment is None:
                continue
            in_force = moment.astimezone(LONDON).utcoffset()
            if in_force != moment.utcoffset():
                expected = "+01:00" if in_force == timedelta(hours=1) else "+00:00"
                return Hit(item, value, f"the UK clock was on {expected} then")
        return None

    return check


def time_format(item: str) -> Factory:
    return well_formed(item, valid_time)


def time_without_date(s: Setup) -> RuleFn:
    pairs = [
        (s.pos(t), t, s.pos(d))
        for t, d in (("request_time", "request_date"), ("request_received_time", "request_received_date"))
    ]

    def check(r: Row) -> Hit | None:
        for t, item, d in pairs:
            if r.v[t] and not r.v[d]:
                return Hit(item, r.v[t])
        return None

    return check


# ----- patient ---------------------------------------------------------------------------------------------------


def nhs_digits(value: str) -> str:
    """The NHS number as v1's DIDS002 judges it: spaces and hyphens removed (dids-v2.md §4.5; the DSP's cleanse
    removes ASCII whitespace and hyphens)."""
    return NHS_NUMBER_CLEANSE.sub("", value)


def nhs_number_format(s: Setup) -> RuleFn:
    i = s.pos("nhs_number")

    def check(r: Row) -> Hit | None:
        digits = nhs_digits(r.v[i])
        return Hit("nhs_number", r.v[i]) if r.v[i] and not (len(digits) == 10 and digits.isdigit()) else None

    return check


def nhs_number_check_digit(s: Setup) -> RuleFn:
    i = s.pos("nhs_number")

    def check(r: Row) -> Hit | None:
        digits = nhs_digits(r.v[i])
        if len(digits) == 10 and digits.isdigit() and not is_valid_nhs_number(digits):
            return Hit("nhs_number", r.v[i])
        return None

    return check


# ----- referral --------------------------------------------------------------------------------------------------


def treatment_function_format(s: Setup) -> RuleFn:
    i = s.pos("treatment_function_code")
    item = "treatment_function_code"
    return lambda r: Hit(item, r.v[i]) if r.v[i] and not TREATMENT_FUNCTION_FORMAT.match(r.v[i]) else None


def treatment_function_code(s: Setup) -> RuleFn:
    i = s.pos("treatment_function_code")
    known = s.pack.codelists["treatment_function"].codes(s.profile)

    def check(r: Row) -> Hit | None:
        value = r.v[i]
        if TREATMENT_FUNCTION_FORMAT.match(value) and value not in known:
            return Hit("treatment_function_code", value)
        return None  # blank, or badly formed (the format rule says so)

    return check


def treatment_function_blank(s: Setup) -> RuleFn:
    """Completeness: the item is R, but a general practitioner's referral comes from no hospital treatment
    function, so its blank is not a gap (assumed; the generator models GP referrals so)."""
    i, referrer = s.pos("treatment_function_code"), s.pos("referrer_code")
    item = "treatment_function_code"
    return lambda r: Hit(item, r.v[i]) if not r.v[i] and not GP_REFERRER.match(r.v[referrer]) else None


def time_blank(time_item: str, date_item: str) -> Factory:
    """Completeness: the time is R, and missing when its date is given (with no date there is nothing to time)."""

    def factory(s: Setup) -> RuleFn:
        t, d = s.pos(time_item), s.pos(date_item)
        return lambda r: Hit(time_item, r.v[t]) if r.v[d] and not r.v[t] else None

    return factory


def waiting_list_start_unexpected(s: Setup) -> RuleFn:
    category, start = s.pos("activity_category"), s.pos("waiting_list_clock_start_date")
    waiting = {v.code for v in s.pack.codelists["activity_category"].tagged("waiting-list")}
    item = "waiting_list_clock_start_date"
    return lambda r: Hit(item, r.v[start]) if r.v[start] and r.v[category] not in waiting else None


def waiting_list_start_missing(s: Setup) -> RuleFn:
    category, start = s.pos("activity_category"), s.pos("waiting_list_clock_start_date")
    waiting = {v.code for v in s.pack.codelists["activity_category"].tagged("waiting-list")}
    item = "waiting_list_clock_start_date"
    return lambda r: Hit(item, r.v[start]) if r.v[category] in waiting and not r.v[start] else None


# ----- activity: coded procedures ---------------------------------------------------------------------------------


def coded_procedure_missing(s: Setup) -> RuleFn:
    n, m = s.pos("coded_procedure_nicip"), s.pos("coded_procedure_snomed")
    return lambda r: Hit("coded_procedure_nicip", r.v[n]) if not r.v[n] and not r.v[m] else None


def nicip_format(s: Setup) -> RuleFn:
    i = s.pos("coded_procedure_nicip")
    return lambda r: Hit("coded_procedure_nicip", r.v[i]) if r.v[i] and not NICIP_FORMAT.match(r.v[i]) else None


def snomed_format(s: Setup) -> RuleFn:
    i = s.pos("coded_procedure_snomed")
    item = "coded_procedure_snomed"
    return lambda r: Hit(item, r.v[i]) if r.v[i] and not is_well_formed_concept_id(r.v[i]) else None


def reference_day(s: Setup) -> Callable[[Row], date | None]:
    """The day code validity is judged on: the date of CODED PROCEDURE END TIMESTAMP (dids-v2.md §4.1), or of the
    start timestamp when no end is given (our assumption; the ETOS text does not say)."""
    end, start = day_reader(s, "procedure_end_timestamp"), day_reader(s, "procedure_start_timestamp")

    def read(r: Row) -> date | None:
        day = end(r)
        return day if day is not None else start(r)

    return read


def code_validity_v2(s: Setup, item: str, table: str) -> Callable[[Row], str | None]:
    """None when the item's code is valid (known and active on the reference day, or retired at most GRACE_DAYS
    before it), else why not. A blank item gives None: missing codes are another rule's business."""
    i = s.pos(item)
    codes = getattr(s.reference, table) or {}
    on = reference_day(s)

    def why(r: Row) -> str | None:
        value = r.v[i]
        if not value:
            return None
        period = codes.get(v1.code_key(table, value))
        if period is None:
            return "not in the reference data (a local code?)"
        day = on(r)
        if day is None:
            return None
        if period.start is not None and day < period.start:
            return f"not valid until {period.start.isoformat()}, after {day.isoformat()}"
        if period.end is not None and (day - period.end).days > GRACE_DAYS:
            return f"retired on {period.end.isoformat()}, more than {GRACE_DAYS} days before {day.isoformat()}"
        return None

    return why


def invalid_code(item: str, table: str) -> Factory:
    def factory(s: Setup) -> RuleFn:
        why_invalid = code_validity_v2(s, item, table)
        i = s.pos(item)

        def check(r: Row) -> Hit | None:
            why = why_invalid(r)
            return None if why is None else Hit(item, r.v[i], why)

        return check

    return factory


def nicip_maps_to_snomed_v2(s: Setup) -> RuleFn:
    """Both codes valid (per the two rules above) yet the NICIP code does not map to the SNOMED CT code."""
    n, m = s.pos("coded_procedure_nicip"), s.pos("coded_procedure_snomed")
    nicip_invalid = code_validity_v2(s, "coded_procedure_nicip", "nicip")
    snomed_invalid = code_validity_v2(s, "coded_procedure_snomed", "snomed")
    on = reference_day(s)
    mapping = s.reference.nicip_snomed

    def check(r: Row) -> Hit | None:
        code, concept = r.v[n].upper(), r.v[m]
        if not code or not concept or nicip_invalid(r) or snomed_invalid(r):
            return None
        day = on(r)
        targets = {c for c, period in mapping.get(code, []) if day is None or period.active(day)}
        return (
            None if concept in targets else Hit("coded_procedure_snomed", concept, f"{code} maps to {sorted(targets)}")
        )

    return check


# ----- activity: evaluation, site, accession ----------------------------------------------------------------------

# ----- reporting period and submission window ---------------------------------------------------------------------


def before_v2(s: Setup) -> RuleFn:
    i, first = s.pos("procedure_start_timestamp"), activity_from(s)
    read = day_reader(s, "procedure_start_timestamp")

    def check(r: Row) -> Hit | None:
        day = read(r)
        return Hit("procedure_start_timestamp", r.v[i]) if day is not None and day < first else None

    return check


def outside_period(s: Setup) -> RuleFn:
    """The start's day on the UK clock must fall in the reporting month; activity before v2 is V2P-BEFORE-V2's."""
    i, first = s.pos("procedure_start_timestamp"), activity_from(s)
    read = day_reader(s, "procedure_start_timestamp")
    period = s.context.period
    assert period is not None  # the catalogue says the rule needs the period; the engine sees to it
    last = month_end(period)

    def check(r: Row) -> Hit | None:
        day = read(r)
        if day is None or day < first or period <= day <= last:
            return None
        return Hit("procedure_start_timestamp", r.v[i], f"reporting period is {period:%Y-%m}")

    return check


def after_period(item: str) -> Factory:
    """The timestamp, offset applied, is at or after midnight that ends the reporting period on the UK clock
    (dids-v2.md §4.3)."""

    def factory(s: Setup) -> RuleFn:
        i, read = s.pos(item), timestamp_moment(s, item)
        period = s.context.period
        assert period is not None  # the catalogue says the rule needs the period; the engine sees to it
        ends = datetime.combine(month_end(period) + timedelta(days=1), time(0), LONDON)

        def check(r: Row) -> Hit | None:
            moment = read(r)
            if moment is None or moment.instant is None or moment.instant < ends:
                return None
            return Hit(item, r.v[i], f"the {period:%Y-%m} period ended at {ends.isoformat()}")

        return check

    return factory


def period_before_v2(s: Setup) -> str | None:
    period = s.context.period
    first = activity_from(s).replace(day=1)
    return f"period {period:%Y-%m} is before {first:%Y-%m}" if period is not None and period < first else None


def window_not_open(s: Setup) -> str | None:
    period, today = s.context.period, s.context.submitted_local.date()
    opens = None if period is None else s.pack.window(s.profile, period).opens
    if period is None or opens is None or today >= opens:
        return None
    return f"period {period:%Y-%m} ends {month_end(period).isoformat()}; submitted {today.isoformat()}"


def window_closed(s: Setup) -> str | None:
    period, today = s.context.period, s.context.submitted_local.date()
    close = None if period is None else s.pack.window(s.profile, period).closes
    if period is None or close is None or today <= close:
        return None
    return f"the window for {period:%Y-%m} closed at the end of {close.isoformat()}; submitted {today.isoformat()}"


# ----- the tables -------------------------------------------------------------------------------------------------
# Every record rule of packs/v2/rules.toml, in catalogue order (the file rules are the readers' file problems and
# V2P-DUPLICATE-ACTIVITY is the engine's cross-record index); `v1.` marks logic carried over from v1 unchanged.

RULES_V2: dict[str, Factory] = {
    "V2P-BEFORE-V2": before_v2,
    "V2P-OUTSIDE-PERIOD": outside_period,
    "V2P-NHS-NUMBER-FORMAT": nhs_number_format,
    "V2P-NHS-NUMBER-CHECK-DIGIT": nhs_number_check_digit,
    "V2P-NHS-NUMBER-STATUS": in_codes("nhs_number_status"),
    "V2P-BIRTH-DATE-FORMAT": date_format("person_birth_date"),
    "V2P-BIRTH-DATE-FLOOR": not_before("person_birth_date", v1.FLOOR_1900),
    "V2P-BIRTH-AFTER-PROCEDURE": order("person_birth_date", "procedure_start_timestamp"),
    "V2P-BIRTH-AFTER-REPORT": order("person_birth_date", "report_issue_timestamp"),
    "V2P-BIRTH-AFTER-REQUEST": order("person_birth_date", "request_date", v1.six_months_on),
    "V2P-ETHNIC-CATEGORY": in_codes("ethnic_category"),
    "V2P-STATED-GENDER": in_codes("person_stated_gender_code"),
    "V2P-POSTCODE-FORMAT": v1.postcode_format,
    "V2P-POSTCODE-KNOWN": v1.postcode_exists,
    "V2P-GP-PRACTICE-KNOWN": organisation("gp_practice_code", "gp_practice", "gp_practice_defaults"),
    "V2P-GP-PRACTICE-ACTIVE": active(
        "gp_practice_code", "gp_practice", "gp_practice_defaults", ("procedure_start_timestamp",)
    ),
    "V2P-DEMOGRAPHICS-MISSING": v1.m_star_present,
    "V2P-DEMOGRAPHICS-PSEUDO-POSTCODE": v1.m_star_present_without_pseudo_postcode,
    "V2P-SOURCE-SETTING-MISSING": blank("patient_source_setting"),
    "V2P-SOURCE-SETTING-CODE": in_codes("patient_source_setting"),
    "V2P-REFERRER-FORMAT": v1.referrer_format,
    "V2P-REFERRING-ORG-KNOWN": organisation("referring_org_code", "referring", "referring_org_defaults"),
    "V2P-REFERRING-ORG-ACTIVE": active(
        "referring_org_code", "referring", "referring_org_defaults", ("request_date", "procedure_start_timestamp")
    ),
    "V2P-TREATMENT-FUNCTION-FORMAT": treatment_function_format,
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
    "V2P-RECEIVED-BEFORE-BIRTH": order(
        "person_birth_date", "request_received_date", v1.six_months_on, field="request_received_date"
    ),
    "V2P-REQUEST-LONG-BEFORE": order("procedure_start_timestamp", "request_date", v1.a_year_on, field="request_date"),
    "V2P-RECEIVED-LONG-BEFORE": order(
        "procedure_start_timestamp", "request_received_date", v1.a_year_on, field="request_received_date"
    ),
    "V2P-ACTIVITY-CATEGORY": in_codes("activity_category"),
    "V2P-WAITING-LIST-START-MISSING": waiting_list_start_missing,
    "V2P-WAITING-LIST-START-UNEXPECTED": waiting_list_start_unexpected,
    "V2P-WAITING-LIST-START-FORMAT": date_format("waiting_list_clock_start_date"),
    "V2P-WAITING-LIST-START-AFTER-PROCEDURE": order("waiting_list_clock_start_date", "procedure_start_timestamp"),
    "V2P-CODED-PROCEDURE-MISSING": coded_procedure_missing,
    "V2P-NICIP-FORMAT": nicip_format,
    "V2P-SNOMED-FORMAT": snomed_format,
    "DIDS00300302": invalid_code("coded_procedure_nicip", "nicip"),
    "DIDS00300402": invalid_code("coded_procedure_snomed", "snomed"),
    "DIDSREJ012": nicip_maps_to_snomed_v2,
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
    "V2P-REPORT-LATE": order("report_issue_timestamp", "procedure_start_timestamp", v1.one_calendar_month_on),
    "V2P-AFTER-SUBMISSION": after_submission_v2,
    "V2P-END-AFTER-PERIOD": after_period("procedure_end_timestamp"),
    "V2P-REPORT-AFTER-PERIOD": after_period("report_issue_timestamp"),
    "V2P-EVALUATION-INDICATOR": in_codes("evaluation_indicator"),
    "V2P-EVALUATION-INDICATOR-BLANK": blank("evaluation_indicator"),
    "V2P-SITE-MISSING": blank("site_code"),
    "V2P-SITE-FORMAT": v1.site_code_format,
    "V2P-SITE-KNOWN": v1.site_known,
    "V2P-SITE-ACTIVE": active("site_code", "site", "site_defaults", ("procedure_start_timestamp",)),
    "V2P-ACCESSION-MISSING": blank("accession_number"),
    "V2P-ACCESSION-LENGTH": v1.accession_length,
}

SUBMISSION_RULES_V2: dict[str, SubmissionRule] = {
    "V2P-PERIOD-BEFORE-V2": period_before_v2,
    "V2P-WINDOW-NOT-OPEN": window_not_open,
    "V2P-WINDOW-CLOSED": window_closed,
}
