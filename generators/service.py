"""A seeded model of one radiology service's months: patients, referrers, sites and imaging events.

Everything here is drawn from one `random.Random(seed)`, in a fixed order, and from the synthetic reference
universe (conformance/check/reference_synthetic): organisations, postcodes, and the procedure catalogue in
generators/data/procedures.csv. No clock, no time zone of the machine: the same seed gives the same events.

An event is one patient's imaging encounter: a referral (request and receipt), one or more coded procedures at
one site under one accession number, and a report. v1 writes one record per event (the most complex procedure);
v2 writes one record per procedure (generators/records.py).

Figures and their sources:
- field completeness: Table C of the DID 2024/25 Technical Report (../shared/seeds), column 2024/25.
- modality mix, source settings and intervals: ASSUMED shapes (plain radiography the most common modality, then
  ultrasound, CT and MRI, as DID statistics describe them), not national figures; override with `Mix`.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources

from conformance.check._context import LONDON
from generators.identifiers import SYNTHETIC_CAPACITY, synthetic_nhs_number

# Table C, DID Technical Report 2024/25: percentage of records with the field present.
TABLE_C_2024_25 = {
    "nhs_number": 99.4,
    "nhs_number_status": 83.7,
    "person_birth_date": 99.9,
    "ethnic_category": 97.2,
    "gender": 100.0,
    "postcode": 99.7,
    "gp_practice_code": 96.0,
    "patient_source_setting": 100.0,
    "request_date": 95.3,
    "request_received_date": 95.6,
    "test_date": 100.0,
    "imaging_code": 100.0,
    "imaging_code_nicip": 97.6,
    "report_issue_date": 96.5,
    "site_code": 100.0,
}


@dataclass(frozen=True, slots=True)
class Procedure:
    modality: str
    nicip: str
    snomed: str
    description: str
    rank: int  # complexity within the catalogue: v1 keeps the highest-ranked procedure of an event
    provenance: str


def load_procedures() -> tuple[Procedure, ...]:
    text = resources.files("generators").joinpath("data/procedures.csv").read_text("utf-8")
    return tuple(
        Procedure(r["modality"], r["nicip"], r["snomed"], r["description"], int(r["rank"]), r["provenance"])
        for r in csv.DictReader(text.splitlines())
    )


PROCEDURES = load_procedures()
# The order v1 uses to pick "the most complex" code of an examination (dids-v1.md §4.1 gives no ordering; ours):
# interventional, then nuclear medicine, MRI, CT, fluoroscopy, ultrasound, photography, plain radiography; within
# a modality the catalogue's rank.
MODALITY_COMPLEXITY = {"IR": 7, "NM": 6, "MR": 5, "CT": 4, "FL": 3, "US": 2, "PH": 1, "XR": 0}


def complexity(procedure: Procedure) -> tuple[int, int]:
    return (MODALITY_COMPLEXITY[procedure.modality], procedure.rank)


@dataclass(frozen=True)
class Mix:
    """The shape of a month. Weights are relative; every default is an assumption (see the module docstring)."""

    modality: dict[str, float] = field(
        default_factory=lambda: {"XR": 48, "US": 22, "CT": 17, "MR": 9, "FL": 1.5, "NM": 1, "IR": 1, "PH": 0.5}
    )
    # patient source setting (v1 and v2 codes 01-07); 08 (screening, v2 only) is added by `screening_share`.
    source_setting: dict[str, float] = field(
        default_factory=lambda: {"01": 12, "02": 2, "03": 30, "04": 27, "05": 25, "06": 2, "07": 2}
    )
    screening_share: float = 0.01  # v2: share of events that are lung-screening CT referrals (code 08)
    procedures_per_event: dict[str, float] = field(default_factory=lambda: {"1": 85, "2": 12, "3": 3})
    completeness: dict[str, float] = field(default_factory=lambda: dict(TABLE_C_2024_25))


@dataclass(frozen=True, slots=True)
class Patient:
    nhs_number: str
    nhs_number_status: str
    birth_date: date
    ethnic_category: str
    sex: str  # "1" male, "2" female, "9" indeterminate, "X" not known: written per version's code list
    postcode: str
    gp_practice: str


@dataclass(frozen=True, slots=True)
class Activity:
    procedure: Procedure
    start: datetime  # aware, UTC
    end: datetime
    nicip: str  # the codes this record carries: NICIP used for Table C's share, SNOMED CT alongside or alone
    snomed: str


@dataclass(frozen=True, slots=True)
class Event:
    number: int
    patient: Patient
    source_setting: str
    referrer: str
    referring_org: str
    treatment_function: str
    request: datetime | None  # aware, UTC; None when not recorded
    received: datetime | None
    activities: tuple[Activity, ...]
    report: datetime | None
    evaluation_indicator: str
    site: str
    accession: str
    waiting_list_start: date | None = None
    missing: frozenset[str] = frozenset()  # patient items not recorded for this event (Table C completeness)


# The synthetic universe (conformance/check/reference_synthetic): open organisations and known postcodes.
PROVIDER = "X9T"
SITES = ("X9T01", "X9T02")
GP_PRACTICES = ("X99001", "X99002", "X99003")
POSTCODES = ("LS1 4AP", "LS2 9JT", "LS6 2QA", "LS11 5DL", "BD1 1HY", "HX1 1UJ", "WF1 2EB", "YO1 7HH", "M1 1AE")
ETHNIC = "ABCDEFGHJKLMNPRS"  # known codes; Z (not stated) and 99 (not known) drawn separately
NOT_STATED_ETHNICITY = ("Z", "99")
STATUS_WEIGHTS = {"01": 63.3, "02": 16.6, "03": 0.3, "04": 1.2, "05": 0.1, "06": 0.5, "07": 1.7}  # Table C
# Consultant specialties that refer for imaging, with their treatment function codes (NHS DD list in the pack).
SPECIALTIES = ("100", "101", "110", "120", "300", "301", "320", "340", "400", "502", "800")
EMERGENCY_MEDICINE = "180"
# Assumed shapes: minutes a procedure typically takes, by modality; days from request to procedure, by source setting.
TYPICAL_MINUTES = {"XR": 5, "US": 20, "CT": 15, "MR": 35, "FL": 25, "NM": 45, "IR": 60, "PH": 10}
LEAD_DAYS = {"05": (0, 0), "01": (0, 3), "02": (0, 14), "08": (7, 42)}  # others: 1-42
EVALUATED_BY_REFERRER = 0.03  # share of events whose referrer evaluates the images (no report): assumed


def month_start(period: date) -> date:
    return period.replace(day=1)


def month_days(period: date) -> int:
    nxt = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    return (nxt - month_start(period)).days


class Service:
    """A radiology service: `events(period)` yields the month's events in start order, deterministically."""

    def __init__(self, seed: int, mix: Mix | None = None, patients: int = 20_000, profile: str = "v2") -> None:
        """`profile` keeps every value one its rules accept: no screening code (08) outside v2; in v1, NHS number
        statuses the v1 XSD enumerates (01-05; 06 and 07 are recorded as 02); for v1-portal, no ethnic 99 (Z
        instead) and no nurse referrer codes (the portal's patterns lack them)."""
        self.seed = seed
        self.profile = profile
        self.mix = mix or Mix()
        self.rng = random.Random(seed)
        self.patients = max(1, min(patients, SYNTHETIC_CAPACITY))
        self.first_serial = self.rng.randrange(SYNTHETIC_CAPACITY)
        self.consultants = [f"C{self.rng.randrange(1_000_000, 9_999_999)}" for _ in range(300)]
        self.gps = [f"G{self.rng.randrange(1_000_000, 9_999_999)}" for _ in range(120)]
        self.nurses = [
            f"{self.rng.randrange(10, 99)}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWY')}"
            f"{self.rng.randrange(1000, 9999)}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWY')}"
            for _ in range(40)
        ]
        self.by_modality: dict[str, list[Procedure]] = {}
        for p in PROCEDURES:
            if p.provenance != "synthetic":
                self.by_modality.setdefault(p.modality, []).append(p)
        self.screening = next(p for p in PROCEDURES if p.nicip == "CCHES")

    # ----- draws ---------------------------------------------------------------------------------------------

    def _weighted(self, weights: dict[str, float]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _present(self, item: str) -> bool:
        return self.rng.random() * 100 < self.mix.completeness.get(item, 100.0)

    def patient(self, index: int, on: date) -> Patient:
        """Patient `index` of the registered list: the same index gives the same patient (its own RNG)."""
        rng = random.Random(self.seed * 1_000_003 + index)
        age_days = int(rng.triangular(30, 100 * 365.25, 62 * 365.25))
        sex = rng.choices(("1", "2", "9", "X"), weights=(47.0, 52.8, 0.1, 0.1))[0]
        ethnic = rng.choice(ETHNIC) if rng.random() < 0.818 / 0.972 else rng.choice(NOT_STATED_ETHNICITY)
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        if self.profile != "v2" and status in ("06", "07"):
            status = "02"
        if self.profile == "v1-portal" and ethnic == "99":
            ethnic = "Z"
        return Patient(
            nhs_number=synthetic_nhs_number(self.first_serial + index),
            nhs_number_status=status,
            birth_date=on - timedelta(days=age_days),
            ethnic_category=ethnic,
            sex=sex,
            postcode=rng.choice(POSTCODES),
            gp_practice=rng.choice(GP_PRACTICES),
        )

    def _local(self, day: date, earliest: int, latest: int) -> datetime:
        """An instant on `day` between `earliest` and `latest` o'clock on the UK clock (valid across BST)."""
        seconds = self.rng.randrange(earliest * 3600, latest * 3600)
        wall = datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60), LONDON)
        return wall.astimezone(UTC)

    def events(self, period: date, records: int, per_event: int | None = None) -> Iterator[Event]:
        """Events starting in `period` (a month) that make exactly `records` records: one per event when
        `per_event` is 1 (v1), one per activity otherwise (v2; the month's last event may be cut short).

        The records are spread evenly over the month's days and each day's events are made as they are written,
        so memory does not grow with the count (the file is in day order, not time order within a day).
        """
        first = month_start(period)
        days = month_days(period)
        number = 0
        for offset in range(days):
            quota = records // days + (1 if offset < records % days else 0)
            while quota > 0:
                number += 1
                event = self._event(number, first + timedelta(days=offset), period)
                size = 1 if per_event == 1 else len(event.activities)
                if size > quota:
                    event = replace(event, activities=event.activities[:quota])
                    size = quota
                quota -= size
                yield event

    def _event(self, number: int, day: date, period: date) -> Event:
        rng = self.rng
        patient = self.patient(rng.randrange(self.patients), month_start(period))
        screening = self.profile == "v2" and rng.random() < self.mix.screening_share
        setting = "08" if screening else self._weighted(self.mix.source_setting)
        emergency = setting == "05"
        start = self._local(day, 0, 24) if emergency else self._local(day, 8, 20)
        # Table C counts "NICIP code used" per record: decide that first, then draw from the procedures that can
        # be coded that way (NICIP, or SNOMED CT alone).
        nicip_used = self._present("imaging_code_nicip")
        if screening:
            procedures = [self.screening]
            nicip_used = True
        else:
            modality = self._weighted(self.mix.modality)
            k = int(self._weighted(self.mix.procedures_per_event))
            pool = [p for p in self.by_modality[modality] if (p.nicip if nicip_used else p.snomed)]
            if not pool:  # a modality with no SNOMED-CT-only code: use its NICIP codes after all
                pool, nicip_used = [p for p in self.by_modality[modality] if p.nicip], True
            procedures = rng.sample(pool, min(k, len(pool)))
        activities = []
        at = start
        for procedure in procedures:
            end = at + timedelta(minutes=rng.randint(1, 2 * TYPICAL_MINUTES[procedure.modality]))
            if nicip_used:  # with the mapped SNOMED CT code too, half the time (assumed)
                codes = (procedure.nicip, procedure.snomed if rng.random() < 0.5 else "")
            else:
                codes = ("", procedure.snomed)
            activities.append(Activity(procedure, at, end, *codes))
            at = end + timedelta(minutes=rng.randint(0, 10))
        # Activities that start after the month (an evening event running past midnight on its last day) belong
        # to the next reporting period's file: this month's file keeps those that start inside it.
        period_end = datetime.combine(month_start(period) + timedelta(days=month_days(period)), time(), LONDON)
        activities = [a for a in activities if a.start < period_end]
        last_end = activities[-1].end
        # Request and receipt before the start: minutes in A&E, days for inpatients, weeks otherwise.
        low, high = LEAD_DAYS.get(setting, (1, 42))
        lead = rng.randint(low, high)
        request = start - timedelta(days=lead, minutes=rng.randint(10, 240))
        received = request + timedelta(minutes=rng.randint(0, 120))
        received = min(received, start)
        # Report: same day for A&E, within days otherwise; none when the referrer evaluates (indicator Y).
        evaluation = "Y" if rng.random() < EVALUATED_BY_REFERRER else "N"
        report: datetime | None = None
        if evaluation == "N" and rng.random() * 100 < self.mix.completeness["report_issue_date"] / (
            1 - EVALUATED_BY_REFERRER
        ):  # so that reports overall are present as often as Table C says
            report = last_end + timedelta(hours=rng.randint(0, 8) if emergency else rng.randint(1, 120))
        if setting == "04":
            referrer, referring_org, tfc = rng.choice(self.gps), patient.gp_practice, ""
        elif setting in ("06", "07") and self.profile != "v1-portal":
            referrer, referring_org, tfc = rng.choice(self.nurses), PROVIDER, rng.choice(SPECIALTIES)
        elif emergency:
            referrer, referring_org, tfc = rng.choice(self.consultants), PROVIDER, EMERGENCY_MEDICINE
        else:
            referrer, referring_org, tfc = rng.choice(self.consultants), PROVIDER, rng.choice(SPECIALTIES)
        waiting = None
        if setting in ("03", "04") and rng.random() < 0.3:
            waiting = request.astimezone(LONDON).date()
        missing = frozenset(
            item
            for item in ("nhs_number", "person_birth_date", "ethnic_category", "gender", "postcode", "gp_practice_code")
            if not self._present(item)
        )
        if len(missing) == 6:  # at least one personal item must be given (DIDS073): keep the NHS number
            missing -= {"nhs_number"}
        if not self._present("nhs_number_status"):
            missing |= {"nhs_number_status"}
        return Event(
            missing=missing,
            number=number,
            patient=patient,
            source_setting=setting,
            referrer=referrer,
            referring_org=referring_org,
            treatment_function=tfc,
            request=request if self._present("request_date") else None,
            received=received if self._present("request_received_date") else None,
            activities=tuple(activities),
            report=report,
            evaluation_indicator=evaluation,
            site=rng.choice(SITES),
            accession=f"X9T{period:%y%m}{number:08d}",
            waiting_list_start=waiting,
        )
