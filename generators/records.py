"""Events written with each version's semantics, as rows in the pack's column order.

v1: one record per event (examination) carrying the most complex procedure's codes (dids-v1.md §4.1; the order is
service.complexity), dates only, PERSON GENDER CODE (0 for "not known").
v2: one record per coded procedure (dids-v2.md §5 "capture all activity"), timestamps with the UK offset in force,
request and received times, treatment function, evaluation indicator, PERSON STATED GENDER CODE (X).

Rows are filled by column position (looked up once per pack), not through a dict per record: this is the
generator's innermost loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from conformance.spec import Pack
from generators.clock import timestamp, uk_date_text, uk_time_text
from generators.service import Activity, Event, complexity

V1_GENDER = {"1": "1", "2": "2", "9": "9", "X": "0"}  # PERSON GENDER CODE: 0 = not known


def most_complex(event: Event) -> Activity:
    return max(event.activities, key=lambda a: complexity(a.procedure))


def _date(instant: int | None) -> str:
    return "" if instant is None else uk_date_text(instant)


def _time(instant: int | None) -> str:
    return "" if instant is None else uk_time_text(instant)


def _patient_setter(pack: Pack, version: str) -> Callable[[list[str], Event], None]:
    """Fill the patient items of a row, leaving blank those the event did not record."""
    gender_item = "person_gender_code" if version == "v1" else "person_stated_gender_code"
    at = pack.index
    nhs, status, birth, ethnic = (
        at["nhs_number"],
        at["nhs_number_status"],
        at["person_birth_date"],
        at["ethnic_category"],
    )
    gender, postcode, gp = at[gender_item], at["postcode"], at["gp_practice_code"]
    v1 = version == "v1"

    def fill(row: list[str], event: Event) -> None:
        p, gone = event.patient, event.missing
        if not gone:
            row[nhs], row[status], row[birth], row[ethnic] = (
                p.nhs_number,
                p.nhs_number_status,
                p.birth_date,
                p.ethnic_category,
            )
            row[gender], row[postcode], row[gp] = V1_GENDER[p.sex] if v1 else p.sex, p.postcode, p.gp_practice
            return
        row[nhs] = "" if "nhs_number" in gone else p.nhs_number
        row[status] = "" if "nhs_number_status" in gone else p.nhs_number_status
        row[birth] = "" if "person_birth_date" in gone else p.birth_date
        row[ethnic] = "" if "ethnic_category" in gone else p.ethnic_category
        row[gender] = "" if "gender" in gone else (V1_GENDER[p.sex] if v1 else p.sex)
        row[postcode] = "" if "postcode" in gone else p.postcode
        row[gp] = "" if "gp_practice_code" in gone else p.gp_practice

    return fill


def v1_writer(pack: Pack) -> Callable[[Event], list[str]]:
    """A function from an event to its one v1 row."""
    at = pack.index
    width = len(pack.items)
    patient = _patient_setter(pack, "v1")
    setting, referrer, org = at["patient_source_setting"], at["referrer_code"], at["referring_org_code"]
    request, received, test = at["request_date"], at["request_received_date"], at["test_date"]
    nicip, snomed, report = at["imaging_code_nicip"], at["imaging_code_snomed"], at["report_issue_date"]
    site, accession = at["site_code"], at["accession_number"]

    def write(event: Event) -> list[str]:
        activity = most_complex(event) if len(event.activities) > 1 else event.activities[0]
        row = [""] * width
        patient(row, event)
        row[setting], row[referrer], row[org] = event.source_setting, event.referrer, event.referring_org
        row[request], row[received] = _date(event.request), _date(event.received)
        row[test], row[nicip], row[snomed] = uk_date_text(activity.start), activity.nicip, activity.snomed
        row[report], row[site], row[accession] = _date(event.report), event.site, event.accession
        return row

    return write


def v2_writer(pack: Pack) -> Callable[[Event], Iterator[list[str]]]:
    """A function from an event to its v2 rows, one per activity."""
    at = pack.index
    width = len(pack.items)
    patient = _patient_setter(pack, "v2")
    setting, referrer, org, tfc = (
        at["patient_source_setting"],
        at["referrer_code"],
        at["referring_org_code"],
        at["treatment_function_code"],
    )
    request, request_time = at["request_date"], at["request_time"]
    received, received_time = at["request_received_date"], at["request_received_time"]
    category, waiting = at["activity_category"], at["waiting_list_clock_start_date"]
    report, evaluation, site, accession = (
        at["report_issue_timestamp"],
        at["evaluation_indicator"],
        at["site_code"],
        at["accession_number"],
    )
    nicip, snomed = at["coded_procedure_nicip"], at["coded_procedure_snomed"]
    start, end = at["procedure_start_timestamp"], at["procedure_end_timestamp"]

    def write(event: Event) -> Iterator[list[str]]:
        shared = [""] * width
        patient(shared, event)
        shared[setting], shared[referrer], shared[org] = event.source_setting, event.referrer, event.referring_org
        shared[tfc] = event.treatment_function
        shared[request], shared[request_time] = _date(event.request), _time(event.request)
        shared[received], shared[received_time] = _date(event.received), _time(event.received)
        if event.waiting_list_start is not None:
            shared[category], shared[waiting] = "01", event.waiting_list_start.isoformat()
        shared[report] = "" if event.report is None else timestamp(event.report)
        shared[evaluation], shared[site], shared[accession] = event.evaluation_indicator, event.site, event.accession
        for activity in event.activities:
            row = shared.copy()
            row[nicip], row[snomed] = activity.nicip, activity.snomed
            row[start], row[end] = timestamp(activity.start), timestamp(activity.end)
            yield row

    return write
