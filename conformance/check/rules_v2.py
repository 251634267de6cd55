"""DIDS v2.0 rules (profile v2), registered by id; the catalogue is data in packs/v2/rules.toml.

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

from conformance.check._context import LONDON, add_months, month_end
from conformance.check._factories import (
    Factory,
    active,
    blank,
    date_format,
    day_reader,
    in_codes,
    local_day,
    not_before,
    order,
    organisation,
    registry,
)
from conformance.check._rows import Hit, Row, RuleFn, Setup, SubmissionRule, parse_date, parse_timestamp, valid_time
from conformance.check.rules_v1 import (
    FLOOR_1900,
    FLOOR_1970,
    GRACE_DAYS_V1,
    accession_length,
    m_star_present,
    m_star_present_without_pseudo_postcode,
    one_calendar_month_on,
    postcode_exists,
    postcode_format,
    referrer_format,
    site_code_format,
    site_known,
    six_months_on,
)
from conformance.spec import Pack
from generators.identifiers import is_valid_nhs_number, is_well_formed_concept_id

RULES, rule = registry()
SUBMISSION_RULES: dict[str, SubmissionRule] = {}

GRACE_DAYS = GRACE_DAYS_V1  # NICIP and SNOMED CT: valid up to 183 days after inactivation (dids-v2.md §4.1)
NICIP_FORMAT = re.compile(r"^[A-Za-z0-9]{1,6}$")
TREATMENT_FUNCTION_FORMAT = re.compile(r"^[0-9]{3}$")
# The timestamp shape with any offset, to tell "wrong offset" from "not a timestamp" in messages.
ANY_OFFSET = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([+-][0-9]{2}:[0-9]{2}|Z)$")
TIMESTAMPS = ("procedure_start_timestamp", "procedure_end_timestamp", "report_issue_timestamp")


def activity_from(s: Setup) -> date:
    return date.fromisoformat(s.pack.extras["activity_from"])


# ----- moments: a day, and the instant when it is known -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment:
    day: date  # on the UK clock
    instant: datetime | None  # aware, when the time is known

    def after(self, other: Moment) -> bool:
        if self.instant is not None and other.instant is not None:
            return self.instant > other.instant
        return self.day > other.day


MomentReader = Callable[[Row], "Moment | None"]


def timestamp_moment(s: Setup, item: str) -> MomentReader:
    i = s.pos(item)

    def read(r: Row) -> Moment | None:
        moment = parse_timestamp(r.v[i])
        return None if moment is None else Moment(local_day(moment), moment)

    return read


def dated_moment(s: Setup, date_item: str, time_item: str) -> MomentReader:
    d, t = s.pos(date_item), s.pos(time_item)

    def read(r: Row) -> Moment | None:
        day = parse_date(r.v[d])
        if day is None:
            return None
        clock = r.v[t]
        if not valid_time(clock):
            return Moment(day, None)
        wall = datetime.combine(day, time.fromisoformat(clock), LONDON)
        if wall.utcoffset() != wall.replace(fold=1).utcoffset():
            # The repeated hour when BST ends: with no offset the instant is ambiguous, so compare days only
            # rather than report an order that the other reading of the clock would make right.
            return Moment(day, None)
        return Moment(day, wall)

    return read


def moments(s: Setup) -> dict[str, MomentReader]:
    return {
        "request_date": dated_moment(s, "request_date", "request_time"),
        "request_received_date": dated_moment(s, "request_received_date", "request_received_time"),
        **{item: timestamp_moment(s, item) for item in TIMESTAMPS},
    }


def _not_before_nearest(later: str, *earlier: str) -> Factory:
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
                    return Hit(later, r.v[i]) if other.after(mine) else None
            return None

        return check

    return factory


RULES["V2P-RECEIVED-BEFORE-REQUEST"] = _not_before_nearest("request_received_date", "request_date")
RULES["V2P-START-BEFORE-RECEIVED"] = _not_before_nearest(
    "procedure_start_timestamp", "request_received_date", "request_date"
)
RULES["V2P-END-BEFORE-START"] = _not_before_nearest("procedure_end_timestamp", "procedure_start_timestamp")
RULES["V2P-REPORT-BEFORE-END"] = _not_before_nearest(
    "report_issue_timestamp", "procedure_end_timestamp", "procedure_start_timestamp"
)


@rule("V2P-AFTER-SUBMISSION")
def after_submission(s: Setup) -> RuleFn:
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


def _timestamp_format(item: str) -> Factory:
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


RULES["V2P-START-TIMESTAMP-FORMAT"] = _timestamp_format("procedure_start_timestamp")
RULES["V2P-END-TIMESTAMP-FORMAT"] = _timestamp_format("procedure_end_timestamp")
RULES["V2P-REPORT-TIMESTAMP-FORMAT"] = _timestamp_format("report_issue_timestamp")
RULES["V2P-START-MISSING"] = blank("procedure_start_timestamp")


@rule("V2P-OFFSET-NOT-IN-FORCE")
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


def _time_format(item: str) -> Factory:
    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)
        return lambda r: Hit(item, r.v[i]) if r.v[i] and not valid_time(r.v[i]) else None

    return factory


RULES["V2P-REQUEST-TIME-FORMAT"] = _time_format("request_time")
RULES["V2P-RECEIVED-TIME-FORMAT"] = _time_format("request_received_time")


@rule("V2P-TIME-WITHOUT-DATE")
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


@rule("V2P-NHS-NUMBER-FORMAT")
def nhs_number_format(s: Setup) -> RuleFn:
    i = s.pos("nhs_number")
    return lambda r: Hit("nhs_number", r.v[i]) if r.v[i] and not (len(r.v[i]) == 10 and r.v[i].isdigit()) else None


@rule("V2P-NHS-NUMBER-CHECK-DIGIT")
def nhs_number_check_digit(s: Setup) -> RuleFn:
    i = s.pos("nhs_number")

    def check(r: Row) -> Hit | None:
        value = r.v[i]
        if len(value) == 10 and value.isdigit() and not is_valid_nhs_number(value):
            return Hit("nhs_number", value)
        return None

    return check


RULES["V2P-NHS-NUMBER-STATUS"] = in_codes("nhs_number_status")
RULES["V2P-BIRTH-DATE-FORMAT"] = date_format("person_birth_date")
RULES["V2P-BIRTH-DATE-FLOOR"] = not_before("person_birth_date", FLOOR_1900)
RULES["V2P-BIRTH-AFTER-PROCEDURE"] = order("person_birth_date", "procedure_start_timestamp")
RULES["V2P-BIRTH-AFTER-REPORT"] = order("person_birth_date", "report_issue_timestamp")
RULES["V2P-BIRTH-AFTER-REQUEST"] = order("person_birth_date", "request_date", six_months_on)
RULES["V2P-ETHNIC-CATEGORY"] = in_codes("ethnic_category")
RULES["V2P-STATED-GENDER"] = in_codes("person_stated_gender_code")
RULES["V2P-POSTCODE-FORMAT"] = postcode_format
RULES["V2P-POSTCODE-KNOWN"] = postcode_exists
RULES["V2P-GP-PRACTICE-KNOWN"] = organisation("gp_practice_code", "gp_practice", "gp_practice_defaults")
RULES["V2P-GP-PRACTICE-ACTIVE"] = active(
    "gp_practice_code", "gp_practice", "gp_practice_defaults", ("procedure_start_timestamp",)
)
RULES["V2P-DEMOGRAPHICS-MISSING"] = m_star_present
RULES["V2P-DEMOGRAPHICS-PSEUDO-POSTCODE"] = m_star_present_without_pseudo_postcode

# ----- referral --------------------------------------------------------------------------------------------------

RULES["V2P-SOURCE-SETTING-MISSING"] = blank("patient_source_setting")
RULES["V2P-SOURCE-SETTING-CODE"] = in_codes("patient_source_setting")
RULES["V2P-REFERRER-FORMAT"] = referrer_format
RULES["V2P-REFERRING-ORG-KNOWN"] = organisation("referring_org_code", "referring", "referring_org_defaults")
RULES["V2P-REFERRING-ORG-ACTIVE"] = active(
    "referring_org_code", "referring", "referring_org_defaults", ("request_date", "procedure_start_timestamp")
)


@rule("V2P-TREATMENT-FUNCTION-FORMAT")
def treatment_function_format(s: Setup) -> RuleFn:
    i = s.pos("treatment_function_code")
    item = "treatment_function_code"
    return lambda r: Hit(item, r.v[i]) if r.v[i] and not TREATMENT_FUNCTION_FORMAT.match(r.v[i]) else None


@rule("V2P-TREATMENT-FUNCTION-CODE")
def treatment_function_code(s: Setup) -> RuleFn:
    i = s.pos("treatment_function_code")
    known = s.pack.codelists["treatment_function"].codes(s.profile)

    def check(r: Row) -> Hit | None:
        value = r.v[i]
        if TREATMENT_FUNCTION_FORMAT.match(value) and value not in known:
            return Hit("treatment_function_code", value)
        return None  # blank, or badly formed (the format rule says so)

    return check


RULES["V2P-REQUEST-DATE-FORMAT"] = date_format("request_date")
RULES["V2P-REQUEST-DATE-FLOOR"] = not_before("request_date", FLOOR_1970)
RULES["V2P-RECEIVED-DATE-FORMAT"] = date_format("request_received_date")
RULES["V2P-RECEIVED-DATE-FLOOR"] = not_before("request_received_date", FLOOR_1970)
RULES["V2P-RECEIVED-BEFORE-BIRTH"] = order(
    "person_birth_date", "request_received_date", six_months_on, field="request_received_date"
)
RULES["V2P-REQUEST-LONG-BEFORE"] = order(
    "procedure_start_timestamp", "request_date", lambda d: d + timedelta(days=365), field="request_date"
)
RULES["V2P-RECEIVED-LONG-BEFORE"] = order(
    "procedure_start_timestamp",
    "request_received_date",
    lambda d: d + timedelta(days=365),
    field="request_received_date",
)
RULES["V2P-ACTIVITY-CATEGORY"] = in_codes("activity_category")
RULES["V2P-WAITING-LIST-START-FORMAT"] = date_format("waiting_list_clock_start_date")
RULES["V2P-WAITING-LIST-START-AFTER-PROCEDURE"] = order("waiting_list_clock_start_date", "procedure_start_timestamp")


@rule("V2P-WAITING-LIST-START-MISSING")
def waiting_list_start_missing(s: Setup) -> RuleFn:
    category, start = s.pos("activity_category"), s.pos("waiting_list_clock_start_date")
    waiting = {v.code for v in s.pack.codelists["activity_category"].tagged("waiting-list")}
    item = "waiting_list_clock_start_date"
    return lambda r: Hit(item, r.v[start]) if r.v[category] in waiting and not r.v[start] else None


# ----- activity: coded procedures ---------------------------------------------------------------------------------


@rule("V2P-CODED-PROCEDURE-MISSING")
def coded_procedure_missing(s: Setup) -> RuleFn:
    n, m = s.pos("coded_procedure_nicip"), s.pos("coded_procedure_snomed")
    return lambda r: Hit("coded_procedure_nicip", r.v[n]) if not r.v[n] and not r.v[m] else None


@rule("V2P-NICIP-FORMAT")
def nicip_format(s: Setup) -> RuleFn:
    i = s.pos("coded_procedure_nicip")
    return lambda r: Hit("coded_procedure_nicip", r.v[i]) if r.v[i] and not NICIP_FORMAT.match(r.v[i]) else None


@rule("V2P-SNOMED-FORMAT")
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


def code_validity(s: Setup, item: str, table: str) -> Callable[[Row], str | None]:
    """None when the item's code is valid (known and active, or inactive for at most GRACE_DAYS on the reference
    day), else why not. A blank item gives None: missing codes are another rule's business."""
    i = s.pos(item)
    codes = getattr(s.reference, table) or {}
    on = reference_day(s)
    upper = table == "nicip"

    def why(r: Row) -> str | None:
        value = r.v[i]
        if not value:
            return None
        period = codes.get(value.upper() if upper else value)
        if period is None:
            return "not in the reference data (a local code?)"
        day = on(r)
        if day is not None and period.days_outside(day) > GRACE_DAYS:
            return f"not active on {day.isoformat()} (nor within {GRACE_DAYS} days)"
        return None

    return why


def _invalid_code(item: str, table: str) -> Factory:
    def factory(s: Setup) -> RuleFn:
        why_invalid = code_validity(s, item, table)
        i = s.pos(item)

        def check(r: Row) -> Hit | None:
            why = why_invalid(r)
            return None if why is None else Hit(item, r.v[i], why)

        return check

    return factory


RULES["DIDS00300302"] = _invalid_code("coded_procedure_nicip", "nicip")
RULES["DIDS00300402"] = _invalid_code("coded_procedure_snomed", "snomed")


@rule("DIDSREJ012")
def nicip_maps_to_snomed(s: Setup) -> RuleFn:
    """Both codes valid (per the two rules above) yet the NICIP code does not map to the SNOMED CT code."""
    n, m = s.pos("coded_procedure_nicip"), s.pos("coded_procedure_snomed")
    nicip_invalid = code_validity(s, "coded_procedure_nicip", "nicip")
    snomed_invalid = code_validity(s, "coded_procedure_snomed", "snomed")
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

RULES["V2P-EVALUATION-INDICATOR"] = in_codes("evaluation_indicator")
RULES["V2P-REPORT-LATE"] = order("report_issue_timestamp", "procedure_start_timestamp", one_calendar_month_on)
RULES["V2P-SITE-MISSING"] = blank("site_code")
RULES["V2P-SITE-FORMAT"] = site_code_format
RULES["V2P-SITE-KNOWN"] = site_known
RULES["V2P-SITE-ACTIVE"] = active("site_code", "site", "site_defaults", ("procedure_start_timestamp",))
RULES["V2P-ACCESSION-MISSING"] = blank("accession_number")
RULES["V2P-ACCESSION-LENGTH"] = accession_length

# ----- reporting period and submission window ---------------------------------------------------------------------


@rule("V2P-BEFORE-V2")
def before_v2(s: Setup) -> RuleFn:
    i, first = s.pos("procedure_start_timestamp"), activity_from(s)
    read = day_reader(s, "procedure_start_timestamp")

    def check(r: Row) -> Hit | None:
        day = read(r)
        return Hit("procedure_start_timestamp", r.v[i]) if day is not None and day < first else None

    return check


@rule("V2P-OUTSIDE-PERIOD")
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


def submission_months(pack: Pack, period: date) -> int | None:
    """How many months after `period` it may be submitted: the pack's windows, by the first period they cover."""
    months = None
    for entry in sorted(pack.extras["windows"]["submission_months"], key=lambda e: e["from_period"]):
        if f"{period:%Y-%m}" >= entry["from_period"]:
            months = int(entry["months"])
    return months


def window_close(pack: Pack, period: date) -> date | None:
    """The last day (UK clock) a period may be submitted: the end of the Nth month after it."""
    months = submission_months(pack, period)
    return None if months is None else month_end(add_months(period, months))


def _submission(rule_id: str) -> Callable[[SubmissionRule], SubmissionRule]:
    def register(fn: SubmissionRule) -> SubmissionRule:
        SUBMISSION_RULES[rule_id] = fn
        return fn

    return register


@_submission("V2P-PERIOD-BEFORE-V2")
def period_before_v2(s: Setup) -> str | None:
    period = s.context.period
    first = activity_from(s).replace(day=1)
    return f"period {period:%Y-%m} is before {first:%Y-%m}" if period is not None and period < first else None


@_submission("V2P-WINDOW-NOT-OPEN")
def window_not_open(s: Setup) -> str | None:
    period, today = s.context.period, s.context.submitted_local.date()
    if period is None or today > month_end(period):
        return None
    return f"period {period:%Y-%m} ends {month_end(period).isoformat()}; submitted {today.isoformat()}"


@_submission("V2P-WINDOW-CLOSED")
def window_closed(s: Setup) -> str | None:
    period, today = s.context.period, s.context.submitted_local.date()
    close = None if period is None else window_close(s.pack, period)
    if period is None or close is None or today <= close:
        return None
    return f"the window for {period:%Y-%m} closed at the end of {close.isoformat()}; submitted {today.isoformat()}"
