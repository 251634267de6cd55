"""A seeded model of one radiology service's months: patients, referrers, sites and imaging events.

Everything here is drawn from one `random.Random(seed)`, in a fixed order, and from the synthetic reference
universe (conformance/check/reference_synthetic): organisations, postcodes, and the procedure catalogue in
generators/data/procedures.csv. No clock, no time zone of the machine: the same seed gives the same events.

An event is one patient's imaging encounter: a referral (request and receipt), one or more coded procedures at
one site under one accession number, and a report. v1 writes one record per event (the most complex procedure);
v2 writes one record per procedure (generators/records.py).

Figures and their sources:
- field completeness: Table C of the DID 2024/25 Technical Report (SEED in docs/sources/README.md), column 2024/25.
- modality mix, source settings and intervals: ASSUMED shapes (plain radiography the most common modality, then
  ultrasound, CT and MRI, as DID statistics describe them), not national figures; override with `Mix`.
"""

from __future__ import annotations

import csv
import math
import random
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from hashlib import blake2b
from importlib import resources
from itertools import accumulate

from conformance.check.reference import reference_folder
from conformance.identifiers import SYNTHETIC_CAPACITY, synthetic_nhs_number
from generators.clock import DAY, HOUR, uk_date, uk_instant

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
    birth_date: str  # ISO date
    ethnic_category: str
    sex: str  # "1" male, "2" female, "9" indeterminate, "X" not known: written per version's code list
    postcode: str
    gp_practice: str


# Instants are whole seconds since 1970-01-01 UTC (ints, not datetimes: the generator makes millions of them and
# formats each once; see `clock.py` for the UK-clock rendering).
@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs twice as much
class Activity:
    procedure: Procedure
    start: int
    end: int
    nicip: str  # the codes this record carries: NICIP used for Table C's share, SNOMED CT alongside or alone
    snomed: str


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs twice as much
class Event:
    patient: Patient
    source_setting: str
    referrer: str
    referring_org: str
    treatment_function: str
    request: int | None  # None when not recorded
    received: int | None
    activities: tuple[Activity, ...]
    report: int | None
    evaluation_indicator: str
    site: str
    accession: str
    waiting_list_start: date | None = None
    missing: frozenset[str] = frozenset()  # patient items not recorded for this event (Table C completeness)


# The synthetic universe, read from the bundled reference data (conformance/check/reference_synthetic, built by
# generators/universe.py): the generator draws only practices, sites, postcodes and referrers that the reference
# knows, so a generated month checks with every rule evaluated.
PROVIDER = "X9T"


def _table(name: str) -> list[dict[str, str]]:
    with open(reference_folder("synthetic") / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _open_organisations(role: str) -> tuple[str, ...]:
    return tuple(o["code"] for o in _table("organisations.csv") if role in o["roles"].split() and not o["active_to"])


SITES = tuple(code for code in _open_organisations("site") if code.startswith(PROVIDER))
GP_PRACTICES = _open_organisations("gp_practice")
POSTCODES = tuple(row["postcode"] for row in _table("postcodes.csv"))
REFERRERS = {
    kind: tuple(r["code"] for r in _table("referrers.csv") if r["kind"] == kind)
    for kind in ("consultant", "gp", "nurse")
}
ETHNIC = "ABCDEFGHJKLMNPRS"  # known codes; Z (not stated) and 99 (not known) drawn separately
NOT_STATED_ETHNICITY = ("Z", "99")
STATUS_WEIGHTS = {"01": 63.3, "02": 16.6, "03": 0.3, "04": 1.2, "05": 0.1, "06": 0.5, "07": 1.7}  # Table C
# Consultant specialties that refer for imaging, with their treatment function codes (NHS DD list in the pack).
SPECIALTIES = ("100", "101", "110", "120", "300", "301", "320", "340", "400", "502", "800")
EMERGENCY_MEDICINE = "180"
# Assumed shapes: minutes a procedure typically takes, by modality; days from request to procedure, by source setting.
TYPICAL_MINUTES = {"XR": 5, "US": 20, "CT": 15, "MR": 35, "FL": 25, "NM": 45, "IR": 60, "PH": 10}
LEAD_DAYS = {"05": (0, 0), "01": (0, 3), "02": (0, 14), "08": (7, 42)}  # others: 1-42
# Referrers whose own code is not known, sent as their kind's default code (DD default codes): assumed share.
DEFAULT_REFERRER_SHARE = 0.02
DEFAULT_REFERRERS = {"C": "C9999998", "G": "G9999998"}  # a nurse's default is N9999998
EVALUATED_BY_REFERRER = 0.03  # share of events whose referrer evaluates the images (no report): assumed


def month_start(period: date) -> date:
    return period.replace(day=1)


def month_days(period: date) -> int:
    nxt = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    return (nxt - month_start(period)).days


class Weighted:
    """A weighted choice from one uniform draw: cumulative weights and a bisection, no lists built per draw."""

    __slots__ = ("cumulative", "keys", "total")

    def __init__(self, weights: dict[str, float]) -> None:
        self.keys = list(weights)
        self.cumulative = list(accumulate(weights.values()))
        self.total = self.cumulative[-1]

    def pick(self, u: float) -> str:
        return self.keys[bisect_right(self.cumulative, u * self.total)]


# A month's events draw patients from a registered list; past this size a bigger file means more events per
# patient, not more patients, so memory stays flat (a large trust's radiology service sees ~20,000 a month).
MAX_PATIENTS = 20_000
NOTHING_MISSING: frozenset[str] = frozenset()
PATIENT_ITEMS = ("nhs_number", "person_birth_date", "ethnic_category", "gender", "postcode", "gp_practice_code")
_SEX = Weighted({"1": 47.0, "2": 52.8, "9": 0.1, "X": 0.1})
_STATUS = Weighted(STATUS_WEIGHTS)


def _units(seed: int, index: int) -> list[float]:
    """Eight uniform draws in [0, 1) that depend only on (seed, index): patient `index` is the same patient
    whenever and however often the month meets them."""
    digest = blake2b(f"{seed}:{index}".encode(), digest_size=32).digest()
    return [int.from_bytes(digest[i : i + 4], "big") / 4_294_967_296 for i in range(0, 32, 4)]


def _triangular(u: float, low: float, high: float, mode: float) -> float:
    """The inverse of the triangular distribution's CDF (what random.triangular draws)."""
    c = (mode - low) / (high - low)
    if u > c:
        return high + (low - high) * math.sqrt((1.0 - u) * (1.0 - c))
    return low + (high - low) * math.sqrt(u * c)


# Records per block: the unit of generation (its own random stream), of parallel work and of memory.
BLOCK_RECORDS = 5_000


@dataclass(frozen=True)
class Block:
    day: date
    index: int  # within the day
    records: int
    first_record: int  # 1-based number of its first record in the file


def blocks(period: date, records: int) -> list[Block]:
    """The month's records spread evenly over its days, each day cut into blocks of at most BLOCK_RECORDS."""
    first = month_start(period)
    days = month_days(period)
    out: list[Block] = []
    number = 1
    for offset in range(days):
        quota = records // days + (1 if offset < records % days else 0)
        for index in range(-(-quota // BLOCK_RECORDS)):
            size = min(BLOCK_RECORDS, quota - index * BLOCK_RECORDS)
            out.append(Block(first + timedelta(days=offset), index, size, number))
            number += size
    return out


class Service:
    """A radiology service: `block_events(block)` yields one block of a month's events, deterministically
    (the month's blocks are `blocks(period, records)`)."""

    def __init__(self, seed: int, mix: Mix | None = None, patients: int = MAX_PATIENTS, profile: str = "v2") -> None:
        """`profile` keeps every value one its rules accept: no screening code (08) outside v2; in v1, NHS number
        statuses the v1 XSD enumerates (01-05; 06 and 07 are recorded as 02); for v1-portal, no ethnic 99 (Z
        instead) and no nurse referrer codes (the portal's patterns lack them)."""
        self.seed = seed
        self.profile = profile
        self.mix = mix or Mix()
        self.rng = random.Random(seed)
        self.patients = max(1, min(patients, MAX_PATIENTS, SYNTHETIC_CAPACITY))
        self._patients: dict[int, Patient] = {}
        self.first_serial = self.rng.randrange(SYNTHETIC_CAPACITY)
        self.consultants, self.gps, self.nurses = REFERRERS["consultant"], REFERRERS["gp"], REFERRERS["nurse"]
        self.by_modality: dict[str, list[Procedure]] = {}
        for p in PROCEDURES:
            if p.provenance != "synthetic":
                self.by_modality.setdefault(p.modality, []).append(p)
        self.screening = next(p for p in PROCEDURES if p.nicip == "CCHES")
        completeness = self.mix.completeness
        self._completeness = {item: completeness.get(item, 100.0) / 100 for item in TABLE_C_2024_25}
        self._modality = Weighted(self.mix.modality)
        self._setting = Weighted(self.mix.source_setting)
        self._per_event = Weighted(self.mix.procedures_per_event)
        # Per modality and coding (NICIP used or SNOMED CT alone): the procedures that can be coded that way.
        self._pools = {
            (modality, nicip_used): [p for p in procedures if (p.nicip if nicip_used else p.snomed)]
            for modality, procedures in self.by_modality.items()
            for nicip_used in (True, False)
        }
        # Reports overall present as often as Table C says although referrer-evaluated events have none.
        self._report_share = self._completeness["report_issue_date"] / (1 - EVALUATED_BY_REFERRER)

    # ----- draws ---------------------------------------------------------------------------------------------

    def patient(self, index: int, on: date) -> Patient:
        """Patient `index` of the registered list, aged as of `on` (the first month generated)."""
        known = self._patients.get(index)
        if known is not None:
            return known
        u = _units(self.seed, index)
        age_days = int(_triangular(u[0], 90, 100 * 365.25, 62 * 365.25))  # at least 90 days before any request
        if u[1] < 0.818 / 0.972:
            ethnic = ETHNIC[int(u[2] * len(ETHNIC))]
        else:
            ethnic = NOT_STATED_ETHNICITY[int(u[2] * len(NOT_STATED_ETHNICITY))]
        status = _STATUS.pick(u[3])
        if self.profile != "v2" and status in ("06", "07"):
            status = "02"
        if self.profile == "v1-portal" and ethnic == "99":
            ethnic = "Z"
        patient = Patient(
            nhs_number=synthetic_nhs_number(self.first_serial + index),
            nhs_number_status=status,
            birth_date=(on - timedelta(days=age_days)).isoformat(),
            ethnic_category=ethnic,
            sex=_SEX.pick(u[4]),
            postcode=POSTCODES[int(u[5] * len(POSTCODES))],
            gp_practice=GP_PRACTICES[int(u[6] * len(GP_PRACTICES))],
        )
        self._patients[index] = patient
        return patient

    def block_events(self, block: Block, per_event: int | None = None) -> Iterator[Event]:
        """The events of one block: exactly `block.records` records, the last event cut short if it must be.

        Each block draws from its own generator seeded by (seed, day, block), so blocks can be made in any order
        or in parallel and still give the same events; memory is one event at a time.
        """
        self.rng = random.Random(f"{self.seed}:{block.day.isoformat()}:{block.index}")
        first = month_start(block.day)
        period_end = uk_instant(first + timedelta(days=month_days(first)), 0)
        # Unique within the month: the day, then the block's share of serial numbers.
        prefix = f"{PROVIDER}{first:%y%m}{block.day.day:02d}"
        serial = block.index * BLOCK_RECORDS
        day = block.day
        # The day's spans on the UK clock: all day for A&E, 08:00-20:00 for the rest (right across BST changes).
        spans = (uk_instant(day, 0), uk_instant(day, 24)), (uk_instant(day, 8), uk_instant(day, 20))
        quota = block.records
        while quota > 0:
            serial += 1
            event = self._event(f"{prefix}{serial:08d}", spans, first, period_end)
            size = 1 if per_event == 1 else len(event.activities)
            if size > quota:
                event = replace(event, activities=event.activities[:quota])
                size = quota
            quota -= size
            yield event

    def _event(self, accession: str, spans: tuple[tuple[int, int], ...], first: date, period_end: int) -> Event:
        random_ = self.rng.random
        present = self._completeness
        # Ages as of 1 January: a patient keeps one birth date across the months of a year (`--months`).
        patient = self.patient(int(random_() * self.patients), first.replace(month=1))
        screening = self.profile == "v2" and random_() < self.mix.screening_share
        setting = "08" if screening else self._setting.pick(random_())
        emergency = setting == "05"
        low, high = spans[0] if emergency else spans[1]
        start = low + int(random_() * (high - low))
        procedures, nicip_used = self._procedures(screening)
        activities = self._activities(procedures, start, period_end, nicip_used)
        last_end = activities[-1].end
        # Request and receipt before the start: minutes in A&E, days for inpatients, weeks otherwise.
        low_days, high_days = LEAD_DAYS.get(setting, (1, 42))
        lead = low_days + int(random_() * (high_days - low_days + 1))
        request = start - lead * DAY - 60 * (10 + int(random_() * 231))
        received = min(request + 60 * int(random_() * 121), start)
        # Report: same day for A&E, within days otherwise; none when the referrer evaluates (indicator Y).
        evaluation = "Y" if random_() < EVALUATED_BY_REFERRER else "N"
        report = None
        if evaluation == "N" and random_() < self._report_share:
            report = last_end + HOUR * (int(random_() * 9) if emergency else 1 + int(random_() * 120))
            if self.profile == "v2" and report >= period_end:
                # A month's v2 file is clean: a report due after the period is folded back inside it (v2 warns
                # on timestamps after the reporting period, V2P-REPORT-AFTER-PERIOD).
                report = last_end + (report - last_end) % (period_end - last_end)
        referrer, referring_org, tfc = self._referral(setting, patient, emergency)
        waiting = None
        if setting in ("03", "04") and random_() < 0.3:
            waiting = uk_date(request)
        gone = [item for item in PATIENT_ITEMS if random_() >= present[item]]
        if len(gone) == 6:  # at least one personal item must be given (DIDS073): keep the NHS number
            gone.remove("nhs_number")
        if random_() >= present["nhs_number_status"]:
            gone.append("nhs_number_status")
        missing = frozenset(gone) if gone else NOTHING_MISSING
        return Event(
            missing=missing,
            patient=patient,
            source_setting=setting,
            referrer=referrer,
            referring_org=referring_org,
            treatment_function=tfc,
            request=request if random_() < present["request_date"] else None,
            received=received if random_() < present["request_received_date"] else None,
            activities=tuple(activities),
            report=report,
            evaluation_indicator=evaluation,
            site=SITES[int(random_() * len(SITES))],
            accession=accession,
            waiting_list_start=waiting,
        )

    def _procedures(self, screening: bool) -> tuple[list[Procedure], bool]:
        """The event's procedures, and whether they are coded with NICIP. Table C counts "NICIP code used" per
        record: decide that first, then draw from the procedures that can be coded that way (NICIP, or SNOMED CT
        alone)."""
        random_ = self.rng.random
        nicip_used = random_() < self._completeness["imaging_code_nicip"]
        if screening:
            return [self.screening], True
        modality = self._modality.pick(random_())
        k = int(self._per_event.pick(random_()))
        pool = self._pools[modality, nicip_used]
        if not pool:  # a modality with no SNOMED-CT-only code: use its NICIP codes after all
            pool, nicip_used = self._pools[modality, True], True
        procedures = self.rng.sample(pool, k) if k > 1 and k <= len(pool) else [pool[int(random_() * len(pool))]]
        return procedures, nicip_used

    def _activities(self, procedures: list[Procedure], start: int, period_end: int, nicip_used: bool) -> list[Activity]:
        """One activity per procedure, one after another from `start`."""
        random_ = self.rng.random
        activities = []
        at = start
        for procedure in procedures:
            if at >= period_end:
                # An evening event running past midnight on the month's last day: activities that start after
                # the month belong to the next reporting period's file.
                break
            end = at + 60 * (1 + int(random_() * 2 * TYPICAL_MINUTES[procedure.modality]))
            if self.profile == "v2":
                end = min(end, period_end - 1)  # ends inside the reporting period (V2P-END-AFTER-PERIOD)
            if nicip_used:  # with the mapped SNOMED CT code too, half the time (assumed)
                activities.append(
                    Activity(procedure, at, end, procedure.nicip, procedure.snomed if random_() < 0.5 else "")
                )
            else:
                activities.append(Activity(procedure, at, end, "", procedure.snomed))
            at = end + 60 * int(random_() * 11)
        return activities

    def _referral(self, setting: str, patient: Patient, emergency: bool) -> tuple[str, str, str]:
        """Referrer, referring organisation and treatment function, by source setting."""
        random_ = self.rng.random
        if setting == "04":
            referrer, referring_org, tfc = self.gps[int(random_() * len(self.gps))], patient.gp_practice, ""
        elif setting in ("06", "07") and self.profile != "v1-portal":
            referrer, referring_org = self.nurses[int(random_() * len(self.nurses))], PROVIDER
            tfc = SPECIALTIES[int(random_() * len(SPECIALTIES))]
        elif emergency:
            consultant = self.consultants[int(random_() * len(self.consultants))]
            referrer, referring_org, tfc = consultant, PROVIDER, EMERGENCY_MEDICINE
        else:
            referrer, referring_org = self.consultants[int(random_() * len(self.consultants))], PROVIDER
            tfc = SPECIALTIES[int(random_() * len(SPECIALTIES))]
        if random_() < DEFAULT_REFERRER_SHARE:  # the referrer's own code not known: the kind's default code
            referrer = DEFAULT_REFERRERS.get(referrer[0], "N9999998")
        return referrer, referring_org, tfc
