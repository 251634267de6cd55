"""Events written with each version's semantics, as rows in the pack's column order.

v1: one record per event (examination) carrying the most complex procedure's codes (dids-v1.md §4.1; the order is
service.complexity), dates only, PERSON GENDER CODE (0 for "not known").
v2: one record per coded procedure (dids-v2.md §5 "capture all activity"), timestamps with the UK offset in force,
request and received times, treatment function, evaluation indicator, PERSON STATED GENDER CODE (X).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from conformance.check._context import LONDON
from conformance.spec import Pack
from generators.service import Activity, Event, complexity

V1_GENDER = {"1": "1", "2": "2", "9": "9", "X": "0"}  # PERSON GENDER CODE: 0 = not known


def timestamp(moment: datetime) -> str:
    """Wall-clock time on the UK clock with the offset then in force (dids-v2.md §4.3)."""
    local = moment.astimezone(LONDON)
    zone = local.strftime("%z")  # +0100 or +0000
    return f"{local:%Y-%m-%dT%H:%M:%S}{zone[:3]}:{zone[3:]}"


def local_date(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(LONDON).date().isoformat()


def local_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(LONDON).strftime("%H:%M:%S")


def _patient_values(event: Event, version: str) -> dict[str, str]:
    p, gone = event.patient, event.missing
    gender = V1_GENDER[p.sex] if version == "v1" else p.sex
    return {
        "nhs_number": "" if "nhs_number" in gone else p.nhs_number,
        "nhs_number_status": "" if "nhs_number_status" in gone else p.nhs_number_status,
        "person_birth_date": "" if "person_birth_date" in gone else p.birth_date.isoformat(),
        "ethnic_category": "" if "ethnic_category" in gone else p.ethnic_category,
        ("person_gender_code" if version == "v1" else "person_stated_gender_code"): "" if "gender" in gone else gender,
        "postcode": "" if "postcode" in gone else p.postcode,
        "gp_practice_code": "" if "gp_practice_code" in gone else p.gp_practice,
    }


def most_complex(event: Event) -> Activity:
    return max(event.activities, key=lambda a: complexity(a.procedure))


def v1_row(event: Event, pack: Pack) -> list[str]:
    activity = most_complex(event)
    values = {
        **_patient_values(event, "v1"),
        "patient_source_setting": event.source_setting,
        "referrer_code": event.referrer,
        "referring_org_code": event.referring_org,
        "request_date": local_date(event.request),
        "request_received_date": local_date(event.received),
        "test_date": local_date(activity.start),
        "imaging_code_nicip": activity.nicip,
        "imaging_code_snomed": activity.snomed,
        "report_issue_date": local_date(event.report),
        "site_code": event.site,
        "accession_number": event.accession,
    }
    return [values[item.id] for item in pack.items]


def v2_rows(event: Event, pack: Pack) -> Iterator[list[str]]:
    shared = {
        **_patient_values(event, "v2"),
        "patient_source_setting": event.source_setting,
        "referrer_code": event.referrer,
        "referring_org_code": event.referring_org,
        "treatment_function_code": event.treatment_function,
        "request_date": local_date(event.request),
        "request_time": local_time(event.request),
        "request_received_date": local_date(event.received),
        "request_received_time": local_time(event.received),
        "activity_category": "01" if event.waiting_list_start else "",
        "waiting_list_clock_start_date": event.waiting_list_start.isoformat() if event.waiting_list_start else "",
        "report_issue_timestamp": timestamp(event.report) if event.report else "",
        "evaluation_indicator": event.evaluation_indicator,
        "site_code": event.site,
        "accession_number": event.accession,
    }
    for activity in event.activities:
        values = {
            **shared,
            "coded_procedure_nicip": activity.nicip,
            "coded_procedure_snomed": activity.snomed,
            "procedure_start_timestamp": timestamp(activity.start),
            "procedure_end_timestamp": timestamp(activity.end),
        }
        yield [values[item.id] for item in pack.items]
