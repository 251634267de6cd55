"""The canonical valid records of each version and, for every record-level rule, the change that breaks it.

This is data, shared by the checker's own tests (tests/test_check_v1.py, tests/test_check_v2.py) and by the
mutation operators (generators/mutations.py), so that what the tests prove about a breaking change is what a
mutant file's answer key promises.

Each canonical record is valid on its own for its version's base period, submitted on the 10th of the following
month at 09:00 UK time (`mutations.submission_context`): August 2018 for v1, May 2026 for v2. Each entry names
the changes to it, the item the finding points at and, where one change cannot break a rule alone (a report
before the birth date is also a report before the procedure), the other rules it necessarily breaks.
"""

from __future__ import annotations

# A record every v1 rule accepts, drawn from the synthetic reference universe.
V1_BASE = {
    "nhs_number": "9990000018",
    "nhs_number_status": "01",
    "person_birth_date": "1961-03-14",
    "ethnic_category": "A",
    "person_gender_code": "2",
    "postcode": "LS1 4AP",
    "gp_practice_code": "X99001",
    "patient_source_setting": "02",
    "referrer_code": "C1234567",
    "referring_org_code": "X9T",
    "request_date": "2018-08-01",
    "request_received_date": "2018-08-02",
    "test_date": "2018-08-09",
    "imaging_code_nicip": "XCHES",
    "imaging_code_snomed": "399208008",
    "report_issue_date": "2018-08-10",
    "site_code": "X9T01",
    "accession_number": "ACC0001",
}
V1_M_STAR_BLANK = {
    "nhs_number": "",
    "person_birth_date": "",
    "ethnic_category": "",
    "person_gender_code": "",
    "gp_practice_code": "",
}

# rule -> (changes to BASE, field the finding points at)
V1_BREAKS: dict[str, tuple[dict[str, str], str]] = {
    "DIDS001": ({"nhs_number": "9990000017"}, "nhs_number"),
    "DIDS002": ({"nhs_number": "999000001"}, "nhs_number"),
    "DIDS003": ({"nhs_number_status": "09"}, "nhs_number_status"),
    "DIDS005": ({"person_birth_date": "1961-02-30"}, "person_birth_date"),
    "DIDS006": ({"person_birth_date": "2018-08-10", "report_issue_date": "2018-08-11"}, "person_birth_date"),
    "DIDS008": (
        {"person_birth_date": "2018-08-09", "test_date": "2018-08-09", "report_issue_date": "2018-08-08"},
        "person_birth_date",
    ),
    "DIDS009": ({"person_birth_date": "1900-01-01"}, "person_birth_date"),
    "DIDS010": (
        {"request_date": "2018-01-31", "request_received_date": "2018-08-02", "person_birth_date": "2018-08-01"},
        "person_birth_date",
    ),
    "DIDS012": ({"ethnic_category": "AA"}, "ethnic_category"),
    "DIDS014": ({"person_gender_code": "X"}, "person_gender_code"),
    "DIDS016": ({"postcode": "LS1 9ZZ"}, "postcode"),
    "DIDS017": ({"postcode": "LS14AP"}, "postcode"),  # no space: malformed, but a known postcode (so not DIDS016)
    "DIDS018": ({"gp_practice_code": "X9T01"}, "gp_practice_code"),
    "DIDS020": ({"patient_source_setting": " "}, "patient_source_setting"),
    "DIDS021": ({"patient_source_setting": "08"}, "patient_source_setting"),
    "DIDS023": ({"referrer_code": "H123456"}, "referrer_code"),
    "DIDS024": ({"referring_org_code": "X9T01"}, "referring_org_code"),
    "DIDS026": ({"request_date": "01-08-2018"}, "request_date"),
    "DIDS027": ({"request_date": "2018-08-03"}, "request_date"),
    "DIDS028": ({"request_date": "2017-08-01"}, "request_date"),
    "DIDS031": ({"request_date": "1969-12-31"}, "request_date"),
    "DIDS034": (
        {
            "request_date": "2018-08-01",
            "request_received_date": "",
            "test_date": "2018-07-31",
            "report_issue_date": "2018-08-12",
        },
        "request_date",
    ),
    "DIDS035": (
        {"request_date": "2018-08-01", "request_received_date": "", "report_issue_date": "2018-07-31"},
        "request_date",
    ),
    "DIDS036": ({"request_received_date": "2018/08/02"}, "request_received_date"),
    "DIDS038": ({"request_date": "", "request_received_date": "2017-08-08"}, "request_received_date"),
    "DIDS040": (
        {"request_date": "", "request_received_date": "2018-01-31", "person_birth_date": "2018-08-01"},
        "request_received_date",
    ),
    "DIDS041": ({"request_date": "", "request_received_date": "1969-12-31"}, "request_received_date"),
    "DIDS043": ({"request_received_date": "2018-08-10"}, "request_received_date"),
    "DIDS044": ({"request_received_date": "2018-08-02", "report_issue_date": "2018-08-01"}, "request_received_date"),
    "DIDS045": ({"test_date": "2018-8-9"}, "test_date"),
    "DIDS048": ({"report_issue_date": "2018-08-08"}, "test_date"),
    "DIDS049": (
        {
            "request_date": "2018-04-01",
            "request_received_date": "2018-04-02",
            "test_date": "2018-04-30",
            "report_issue_date": "2018-05-01",
        },
        "test_date",
    ),
    # The NICIP code alone: with both codes and no test date the DSP's mapping rule (DIDS082) fails too.
    "DIDS050": ({"test_date": "", "imaging_code_nicip": "XCHES", "imaging_code_snomed": ""}, "test_date"),
    "DIDS051": ({"test_date": "2018-09-11", "report_issue_date": ""}, "test_date"),
    "DIDS055": (
        {
            "request_date": "2018-02-01",
            "request_received_date": "2018-02-01",
            "test_date": "2018-02-01",
            "report_issue_date": "2018-02-02",
        },
        "test_date",
    ),
    "DIDS056": ({"imaging_code_nicip": "", "imaging_code_snomed": ""}, "imaging_code_nicip"),
    "DIDS057": ({"imaging_code_nicip": "LOCAL1", "imaging_code_snomed": ""}, "imaging_code_nicip"),
    "DIDS059": ({"imaging_code_snomed": "123456789", "imaging_code_nicip": ""}, "imaging_code_snomed"),
    "DIDS061": ({"report_issue_date": "2018-08-32"}, "report_issue_date"),
    "DIDS062": (
        {"request_date": "2018-07-01", "request_received_date": "2018-07-01", "test_date": "2018-07-02"},
        "report_issue_date",
    ),
    "DIDS066": ({"test_date": "2018-08-30", "report_issue_date": "2018-09-11"}, "report_issue_date"),
    "DIDS067": ({"site_code": ""}, "site_code"),
    "DIDS068": ({"site_code": "X9T05"}, "site_code"),
    "DIDS069": ({"site_code": "X9T"}, "site_code"),
    "DIDS070": ({"accession_number": " "}, "accession_number"),
    "DIDS072": ({"accession_number": "A" * 21}, "accession_number"),
    "DIDS073": ({**V1_M_STAR_BLANK, "postcode": ""}, "nhs_number"),
    "DIDS074": ({**V1_M_STAR_BLANK, "postcode": "ZZ99 3WZ"}, "postcode"),
    "DIDS077": ({"imaging_code_nicip": "XOLDX", "imaging_code_snomed": ""}, "imaging_code_nicip"),
    "DIDS078": ({"imaging_code_snomed": "418891003", "imaging_code_nicip": ""}, "imaging_code_snomed"),
    "DIDS079": ({"referring_org_code": "X9R"}, "referring_org_code"),
    "DIDS080": ({"gp_practice_code": "X99009"}, "gp_practice_code"),
    "DIDS081": ({"site_code": "X9T09"}, "site_code"),
    "DIDS082": ({"imaging_code_nicip": "XCHES", "imaging_code_snomed": "303686006"}, "imaging_code_snomed"),
    "V1P-NHS-NUMBER": ({"nhs_number": "999 000 0018"}, "nhs_number"),
    "V1P-NHS-NUMBER-BANNED": ({"nhs_number": "0123456789"}, "nhs_number"),
    "V1P-POSTCODE-FORMAT": ({"postcode": "LS1  4AP"}, "postcode"),
    "V1P-ACCESSION-FORMAT": ({"accession_number": "ACC-0001"}, "accession_number"),
    "V1P-TEST-DATE-WINDOW": (
        {
            "request_date": "2018-05-01",
            "request_received_date": "2018-05-01",
            "test_date": "2018-05-31",
            "report_issue_date": "2018-06-01",
        },
        "test_date",
    ),
    "V1P-DOB-FUTURE": (
        {
            "person_birth_date": "2018-09-10",
            "test_date": "2018-09-10",
            "request_date": "2018-08-01",
            "report_issue_date": "2018-09-10",
        },
        "person_birth_date",
    ),
    "V1P-SITE-CODE": ({"site_code": "X9"}, "site_code"),
}
# DIDS077/078: codes the synthetic tables retired shortly before the test date (inside the 183-day grace).
V1_BREAKS["DIDS078"] = ({"imaging_code_snomed": "363680008", "imaging_code_nicip": ""}, "imaging_code_snomed")

# Where one change cannot break a v1 rule alone, the other rules it necessarily breaks: a report before the test
# date follows from a report before the request, the receipt or the birth; a request or receipt before 1970 is
# long before the test and before the referring organisation existed.
V1_ALSO: dict[str, set[str]] = {
    "DIDS008": {"DIDS048"},
    "DIDS002": {"DIDS001"},  # nine digits cannot carry a valid check digit either
    "DIDS031": {"DIDS028", "DIDS079"},
    "DIDS035": {"DIDS048"},
    "DIDS041": {"DIDS038"},
    "DIDS044": {"DIDS048"},
}


# A record every v2 rule accepts, from the synthetic reference universe, reporting period May 2026.
UNKNOWN_CONCEPT = "12345009"  # well formed (concept partition, Verhoeff check digit) but in no reference table

V2_BASE = {
    "nhs_number": "9990000018",
    "nhs_number_status": "01",
    "person_birth_date": "1961-03-14",
    "ethnic_category": "A",
    "person_stated_gender_code": "2",
    "postcode": "LS1 4AP",
    "gp_practice_code": "X99001",
    "patient_source_setting": "02",
    "referrer_code": "C1234567",
    "referring_org_code": "X9T",
    "treatment_function_code": "340",
    "request_date": "2026-05-01",
    "request_time": "09:15:00",
    "request_received_date": "2026-05-01",
    "request_received_time": "10:00:00",
    "activity_category": "",
    "waiting_list_clock_start_date": "",
    "coded_procedure_nicip": "XCHES",
    "coded_procedure_snomed": "399208008",
    "procedure_start_timestamp": "2026-05-09T10:30:00+01:00",
    "procedure_end_timestamp": "2026-05-09T10:35:00+01:00",
    "report_issue_timestamp": "2026-05-10T14:00:00+01:00",
    "evaluation_indicator": "N",
    "site_code": "X9T01",
    "accession_number": "ACC0001",
}
V2_M_STAR_BLANK = {
    "nhs_number": "",
    "person_birth_date": "",
    "ethnic_category": "",
    "person_stated_gender_code": "",
    "gp_practice_code": "",
}
NO_REQUEST = {"request_date": "", "request_time": ""}


def timeline(start: str, end: str, report: str, on: str = "2026-05-01") -> dict[str, str]:
    return {
        "request_date": on,
        "request_received_date": on,
        "procedure_start_timestamp": start,
        "procedure_end_timestamp": end,
        "report_issue_timestamp": report,
    }


# rule -> (changes to BASE, field the finding points at, other rules the change necessarily breaks)
V2_BREAKS: dict[str, tuple[dict[str, str], str, set[str]]] = {
    "V2P-NHS-NUMBER-FORMAT": ({"nhs_number": "999000001"}, "nhs_number", set()),
    "V2P-NHS-NUMBER-CHECK-DIGIT": ({"nhs_number": "9990000017"}, "nhs_number", set()),
    "V2P-NHS-NUMBER-STATUS": ({"nhs_number_status": "09"}, "nhs_number_status", set()),
    "V2P-BIRTH-DATE-FORMAT": ({"person_birth_date": "1961-02-30"}, "person_birth_date", set()),
    "V2P-BIRTH-DATE-FLOOR": ({"person_birth_date": "1900-01-01"}, "person_birth_date", set()),
    "V2P-BIRTH-AFTER-PROCEDURE": ({"person_birth_date": "2026-05-10"}, "person_birth_date", set()),
    "V2P-BIRTH-AFTER-REPORT": (
        {"person_birth_date": "2026-05-09", "report_issue_timestamp": "2026-05-08T14:00:00+01:00"},
        "person_birth_date",
        {"V2P-REPORT-BEFORE-END"},
    ),
    "V2P-BIRTH-AFTER-REQUEST": (
        {"request_date": "2025-10-01", "person_birth_date": "2026-05-01"},
        "person_birth_date",
        set(),
    ),
    "V2P-ETHNIC-CATEGORY": ({"ethnic_category": "AA"}, "ethnic_category", set()),
    # 0 was v1's "not known"; v2's stated gender uses X.
    "V2P-STATED-GENDER": ({"person_stated_gender_code": "0"}, "person_stated_gender_code", set()),
    "V2P-POSTCODE-FORMAT": ({"postcode": "LS14AP9"}, "postcode", set()),
    "V2P-POSTCODE-KNOWN": ({"postcode": "LS1 9ZZ"}, "postcode", set()),
    "V2P-GP-PRACTICE-KNOWN": ({"gp_practice_code": "X9T01"}, "gp_practice_code", set()),
    "V2P-GP-PRACTICE-ACTIVE": ({"gp_practice_code": "X99009"}, "gp_practice_code", set()),
    "V2P-DEMOGRAPHICS-MISSING": ({**V2_M_STAR_BLANK, "postcode": ""}, "nhs_number", set()),
    "V2P-DEMOGRAPHICS-PSEUDO-POSTCODE": ({**V2_M_STAR_BLANK, "postcode": "ZZ99 3WZ"}, "postcode", set()),
    "V2P-SOURCE-SETTING-MISSING": ({"patient_source_setting": " "}, "patient_source_setting", set()),
    "V2P-SOURCE-SETTING-CODE": ({"patient_source_setting": "09"}, "patient_source_setting", set()),
    # A treatment function with it: a referral by a GP (G...) may leave it blank, one by anyone else may not.
    "V2P-REFERRER-FORMAT": ({"referrer_code": "H123456", "treatment_function_code": "340"}, "referrer_code", set()),
    "V2P-REFERRING-ORG-KNOWN": ({"referring_org_code": "X9T01"}, "referring_org_code", set()),
    "V2P-REFERRING-ORG-ACTIVE": ({"referring_org_code": "X9R"}, "referring_org_code", set()),
    "V2P-TREATMENT-FUNCTION-FORMAT": ({"treatment_function_code": "34"}, "treatment_function_code", set()),
    "V2P-TREATMENT-FUNCTION-CODE": ({"treatment_function_code": "999"}, "treatment_function_code", set()),
    "V2P-REQUEST-DATE-FORMAT": ({"request_date": "01-05-2026"}, "request_date", set()),
    "V2P-REQUEST-DATE-FLOOR": (
        {"request_date": "1969-12-31"},
        "request_date",
        {"V2P-REQUEST-LONG-BEFORE", "V2P-REFERRING-ORG-ACTIVE"},  # X9T did not exist in 1969
    ),
    "V2P-REQUEST-TIME-FORMAT": ({"request_time": "24:00:00"}, "request_time", set()),
    "V2P-RECEIVED-DATE-FORMAT": ({"request_received_date": "2026/05/01"}, "request_received_date", set()),
    "V2P-RECEIVED-DATE-FLOOR": (
        {**NO_REQUEST, "request_received_date": "1969-12-31"},
        "request_received_date",
        {"V2P-RECEIVED-LONG-BEFORE"},
    ),
    "V2P-RECEIVED-TIME-FORMAT": ({"request_received_time": "10:00"}, "request_received_time", set()),
    "V2P-TIME-WITHOUT-DATE": ({"request_date": ""}, "request_time", set()),
    "V2P-RECEIVED-BEFORE-BIRTH": (
        {**NO_REQUEST, "request_received_date": "1971-01-01", "person_birth_date": "1971-08-01"},
        "request_received_date",
        {"V2P-RECEIVED-LONG-BEFORE"},
    ),
    "V2P-REQUEST-LONG-BEFORE": ({"request_date": "2025-05-01"}, "request_date", set()),
    "V2P-RECEIVED-LONG-BEFORE": (
        {**NO_REQUEST, "request_received_date": "2025-05-02"},
        "request_received_date",
        set(),
    ),
    "V2P-ACTIVITY-CATEGORY": ({"activity_category": "04"}, "activity_category", set()),
    "V2P-WAITING-LIST-START-MISSING": ({"activity_category": "01"}, "waiting_list_clock_start_date", set()),
    "V2P-WAITING-LIST-START-FORMAT": (
        {"activity_category": "01", "waiting_list_clock_start_date": "2026-13-01"},
        "waiting_list_clock_start_date",
        set(),
    ),
    "V2P-WAITING-LIST-START-AFTER-PROCEDURE": (
        {"activity_category": "01", "waiting_list_clock_start_date": "2026-05-10"},
        "waiting_list_clock_start_date",
        set(),
    ),
    "V2P-CODED-PROCEDURE-MISSING": (
        {"coded_procedure_nicip": "", "coded_procedure_snomed": ""},
        "coded_procedure_nicip",
        set(),
    ),
    "V2P-NICIP-FORMAT": ({"coded_procedure_nicip": "LOCAL-1"}, "coded_procedure_nicip", {"DIDS00300302"}),
    "V2P-SNOMED-FORMAT": ({"coded_procedure_snomed": "399208009"}, "coded_procedure_snomed", {"DIDS00300402"}),
    # A local code in the NICIP field (well formed, unknown), with a valid SNOMED CT code: only 00300302.
    "DIDS00300302": ({"coded_procedure_nicip": "LOCAL1"}, "coded_procedure_nicip", set()),
    "DIDS00300402": ({"coded_procedure_snomed": UNKNOWN_CONCEPT}, "coded_procedure_snomed", set()),
    # Both valid, but XCHES (chest X-ray) does not map to 303686006 (CT of shoulder).
    "DIDSREJ012": (
        {"coded_procedure_nicip": "XCHES", "coded_procedure_snomed": "303686006"},
        "coded_procedure_snomed",
        set(),
    ),
    "V2P-START-MISSING": ({"procedure_start_timestamp": ""}, "procedure_start_timestamp", set()),
    "V2P-START-TIMESTAMP-FORMAT": (
        {"procedure_start_timestamp": "2026-05-09T10:30:00+02:00"},
        "procedure_start_timestamp",
        set(),
    ),
    "V2P-END-TIMESTAMP-FORMAT": (
        {"procedure_end_timestamp": "2026-05-09 10:35:00"},
        "procedure_end_timestamp",
        set(),
    ),
    "V2P-REPORT-TIMESTAMP-FORMAT": (
        {"report_issue_timestamp": "2026-05-10T14:00:00.000+01:00"},
        "report_issue_timestamp",
        set(),
    ),
    # 09:30 GMT in May is 10:30 on the UK clock: the right instant written with the wrong offset.
    "V2P-OFFSET-NOT-IN-FORCE": (
        {"procedure_start_timestamp": "2026-05-09T09:30:00+00:00"},
        "procedure_start_timestamp",
        set(),
    ),
    "V2P-RECEIVED-BEFORE-REQUEST": ({"request_received_time": "09:00:00"}, "request_received_date", set()),
    "V2P-START-BEFORE-RECEIVED": (
        {
            "request_date": "2026-05-09",
            "request_time": "10:00:00",
            "request_received_date": "2026-05-09",
            "request_received_time": "11:00:00",
        },
        "procedure_start_timestamp",
        set(),
    ),
    "V2P-END-BEFORE-START": (
        {"procedure_end_timestamp": "2026-05-09T10:25:00+01:00"},
        "procedure_end_timestamp",
        set(),
    ),
    "V2P-REPORT-BEFORE-END": (
        {"report_issue_timestamp": "2026-05-09T10:32:00+01:00"},
        "report_issue_timestamp",
        set(),
    ),
    "V2P-REPORT-LATE": (
        {"report_issue_timestamp": "2026-06-10T08:00:00+01:00"},
        "report_issue_timestamp",
        {"V2P-REPORT-AFTER-PERIOD"},
    ),
    "V2P-AFTER-SUBMISSION": (
        timeline("2026-05-31T10:30:00+01:00", "2026-05-31T10:35:00+01:00", "2026-06-10T09:30:00+01:00"),
        "report_issue_timestamp",
        {"V2P-REPORT-AFTER-PERIOD"},
    ),
    "V2P-EVALUATION-INDICATOR": ({"evaluation_indicator": "X"}, "evaluation_indicator", set()),
    "V2P-SITE-MISSING": ({"site_code": ""}, "site_code", set()),
    "V2P-SITE-FORMAT": ({"site_code": "X9T"}, "site_code", set()),
    "V2P-SITE-KNOWN": ({"site_code": "X9T05"}, "site_code", set()),
    "V2P-SITE-ACTIVE": ({"site_code": "X9T09"}, "site_code", set()),
    "V2P-ACCESSION-MISSING": ({"accession_number": " "}, "accession_number", set()),
    "V2P-ACCESSION-LENGTH": ({"accession_number": "A" * 21}, "accession_number", set()),
    "V2P-BEFORE-V2": (
        timeline(
            "2026-03-31T10:30:00+01:00", "2026-03-31T10:35:00+01:00", "2026-04-01T14:00:00+01:00", on="2026-03-30"
        ),
        "procedure_start_timestamp",
        set(),
    ),
    "V2P-OUTSIDE-PERIOD": (
        timeline("2026-06-01T00:30:00+01:00", "2026-06-01T00:40:00+01:00", "2026-06-01T14:00:00+01:00"),
        "procedure_start_timestamp",
        {"V2P-END-AFTER-PERIOD", "V2P-REPORT-AFTER-PERIOD"},
    ),
    # A procedure late on the period's last day that ends after midnight (tests/test_check_v2.py shows the offset
    # applied at the period's end, dids-v2.md §4.3).
    "V2P-END-AFTER-PERIOD": (
        timeline("2026-05-31T23:40:00+01:00", "2026-06-01T00:10:00+01:00", "2026-06-01T09:00:00+01:00"),
        "procedure_end_timestamp",
        {"V2P-REPORT-AFTER-PERIOD"},
    ),
    "V2P-REPORT-AFTER-PERIOD": (
        {"report_issue_timestamp": "2026-06-01T09:00:00+01:00"},
        "report_issue_timestamp",
        set(),
    ),
    "V2P-WAITING-LIST-START-UNEXPECTED": (
        {"activity_category": "02", "waiting_list_clock_start_date": "2026-04-20"},
        "waiting_list_clock_start_date",
        set(),
    ),
    # Completeness: a Required (R) item new in v2.0 left blank (an upgraded v1 file has none of them).
    "V2P-TREATMENT-FUNCTION-BLANK": (
        {"treatment_function_code": "", "referrer_code": "C1234567"},  # a GP's referral (G...) is exempt
        "treatment_function_code",
        set(),
    ),
    "V2P-REQUEST-TIME-BLANK": ({"request_time": ""}, "request_time", set()),
    "V2P-RECEIVED-TIME-BLANK": ({"request_received_time": ""}, "request_received_time", set()),
    "V2P-END-TIMESTAMP-BLANK": ({"procedure_end_timestamp": ""}, "procedure_end_timestamp", set()),
    "V2P-EVALUATION-INDICATOR-BLANK": ({"evaluation_indicator": ""}, "evaluation_indicator", set()),
}


# Valid v2 variations of the canonical record, each a readiness point a v2.0 exporter must get right: (name,
# changes, what it shows). Each is accepted as the second record of a file whose first is the canonical one.
V2_VALID_VARIATIONS: list[tuple[str, dict[str, str], str]] = [
    ("screening-referral", {"patient_source_setting": "08"}, "source setting 08, screening programme (new in v2.0)"),
    ("stated-gender-x", {"person_stated_gender_code": "X"}, "stated gender X, not known (v1 used 0)"),
    (
        "gp-referral-no-treatment-function",
        {"patient_source_setting": "04", "referrer_code": "G1234567", "treatment_function_code": ""},
        "a general practitioner's referral has no hospital treatment function: blank without a warning (assumed)",
    ),
    (
        "evaluated-by-referrer",
        {"report_issue_timestamp": "", "evaluation_indicator": "Y"},
        "evaluation indicator Y and no report",
    ),
    ("snomed-alone", {"coded_procedure_nicip": ""}, "SNOMED CT without NICIP"),
    ("nicip-alone", {"coded_procedure_snomed": ""}, "NICIP without SNOMED CT"),
    (
        "offset-unknown",
        {"procedure_end_timestamp": "2026-05-09T10:35:00-00:00"},
        "-00:00, offset unknown, read as UTC (11:35 BST)",
    ),
    (
        "waiting-list",
        {"activity_category": "01", "waiting_list_clock_start_date": "2026-04-20"},
        "activity category 01 with its waiting-list clock start",
    ),
    (
        "received-at-start",
        {"request_received_date": "2026-05-09", "request_received_time": "10:30:00"},
        "request received at the procedure's start: allowed",
    ),
    (
        "second-activity-same-accession",
        {
            "nhs_number": "9990000026",
            "accession_number": "ACC0001",
            "procedure_start_timestamp": "2026-05-09T10:36:00+01:00",
            "procedure_end_timestamp": "2026-05-09T10:40:00+01:00",
        },
        "a second activity under the same accession, same procedure, later start: not a duplicate",
    ),
    (
        "chest-and-abdomen-same-accession",
        {"accession_number": "ACC0001", "coded_procedure_nicip": "", "coded_procedure_snomed": "418891003"},
        "another coded procedure under the same accession and start: every activity, not the most complex",
    ),
]


# Faults a hand-written v2 file may carry, each judged by the same record rule in CSV and XML (layout parity: the
# XML schema checks structure only, so no value makes it reject the whole file). (name, changes to the canonical
# record, the (rule, field) findings expected on it, what it shows).
V2_LAYOUT_FAULTS: list[tuple[str, dict[str, str], set[tuple[str, str]], str]] = [
    (
        "no-referrer-code",
        {"referrer_code": ""},
        set(),
        "REFERRER CODE is R: blank, or its element left out, is accepted",
    ),
    (
        "no-referring-org",
        {"referring_org_code": ""},
        set(),
        "REFERRING ORGANISATION CODE is R: blank, or its element left out, is accepted",
    ),
    (
        "local-code-seven-characters",
        {"coded_procedure_nicip": "LOCAL12"},
        {("V2P-NICIP-FORMAT", "coded_procedure_nicip"), ("DIDS00300302", "coded_procedure_nicip")},
        "a local code longer than six characters is a bad NICIP code, not a bad file",
    ),
    (
        "no-coded-procedure",
        {"coded_procedure_nicip": "", "coded_procedure_snomed": ""},
        {("V2P-CODED-PROCEDURE-MISSING", "coded_procedure_nicip")},
        "a procedure with no code rejects the record, not the file",
    ),
    ("ethnic-three-characters", {"ethnic_category": "AAA"}, {("V2P-ETHNIC-CATEGORY", "ethnic_category")}, "too long"),
    ("site-three-characters", {"site_code": "X9T"}, {("V2P-SITE-FORMAT", "site_code")}, "site code too short"),
    (
        "gp-practice-two-characters",
        {"gp_practice_code": "X9"},
        {("V2P-GP-PRACTICE-KNOWN", "gp_practice_code")},
        "GP practice code too short",
    ),
    (
        "report-with-milliseconds",
        {"report_issue_timestamp": "2026-05-10T14:00:00.000+01:00"},
        {("V2P-REPORT-TIMESTAMP-FORMAT", "report_issue_timestamp")},
        "a timestamp longer than 25 characters",
    ),
    (
        "no-source-setting",
        {"patient_source_setting": ""},
        {("V2P-SOURCE-SETTING-MISSING", "patient_source_setting")},
        "a mandatory item left out",
    ),
    (
        "no-start",
        {"procedure_start_timestamp": ""},
        {("V2P-START-MISSING", "procedure_start_timestamp")},
        "a mandatory item left out",
    ),
    ("no-site", {"site_code": ""}, {("V2P-SITE-MISSING", "site_code")}, "a mandatory item left out"),
    (
        "no-accession",
        {"accession_number": ""},
        {("V2P-ACCESSION-MISSING", "accession_number")},
        "a mandatory item left out",
    ),
]


Expected = list[tuple[str, int, str]]
# v2 cases written from the v2.0 sources (issue 15), each the second record of a file whose first is the canonical
# one: (name, changes, expected (rule, record, field) findings, what it shows). The accession is ACC0002 unless the
# changes say otherwise. tests/test_check_v2.py and the corpus (v2-sources cases) both run them.
DUPLICATE = [("V2P-DUPLICATE-ACTIVITY", 1, "accession_number"), ("V2P-DUPLICATE-ACTIVITY", 2, "accession_number")]
V2_SOURCE_CASES: list[tuple[str, dict[str, str], Expected, str]] = [
    (
        "code-not-yet-valid-nicip",
        {"coded_procedure_nicip": "XNEWA", "coded_procedure_snomed": ""},
        [("DIDS00300302", 2, "coded_procedure_nicip")],
        "a NICIP code valid from 1 August 2026 (synthetic) for a May procedure: the grace follows retirement only",
    ),
    (
        "code-not-yet-valid-snomed",
        {"coded_procedure_nicip": "", "coded_procedure_snomed": "9999001000102"},
        [("DIDS00300402", 2, "coded_procedure_snomed")],
        "a SNOMED CT refset member from 1 August 2026 (synthetic) for a May procedure: not yet valid",
    ),
    (
        "duplicate-start-written-in-utc",
        {"accession_number": "ACC0001", "procedure_start_timestamp": "2026-05-09T09:30:00Z"},
        [*DUPLICATE, ("V2P-OFFSET-NOT-IN-FORCE", 2, "procedure_start_timestamp")],
        "the canonical start (10:30 BST) written as 09:30Z: one instant, so one key (and Z in summer warns)",
    ),
    (
        "duplicate-nicip-alone",
        {"accession_number": "ACC0001", "coded_procedure_snomed": ""},
        DUPLICATE,
        "the same procedure coded as NICIP alone and as NICIP + SNOMED CT: one key",
    ),
    ("nhs-number-with-spaces", {"nhs_number": "999 000 0018"}, [], "spaces in the NHS number are removed, as DIDS002"),
    (
        "report-after-period-offset-applied",
        {"report_issue_timestamp": "2026-05-31T23:30:00-00:00"},
        [("V2P-REPORT-AFTER-PERIOD", 2, "report_issue_timestamp")],
        "23:30 UTC on 31 May is 00:30 BST on 1 June: after the May period once the offset is applied",
    ),
    (
        "upgraded-without-new-items",
        {
            "treatment_function_code": "",
            "request_time": "",
            "request_received_time": "",
            "procedure_end_timestamp": "",
            "evaluation_indicator": "",
        },
        [
            ("V2P-REQUEST-TIME-BLANK", 2, "request_time"),
            ("V2P-RECEIVED-TIME-BLANK", 2, "request_received_time"),
            ("V2P-TREATMENT-FUNCTION-BLANK", 2, "treatment_function_code"),
            ("V2P-END-TIMESTAMP-BLANK", 2, "procedure_end_timestamp"),
            ("V2P-EVALUATION-INDICATOR-BLANK", 2, "evaluation_indicator"),
        ],
        "a record with none of the Required items new in v2.0 is accepted with a warning for each, not silently",
    ),
    (
        "waiting-list-start-not-waiting-list",
        {"activity_category": "02", "waiting_list_clock_start_date": "2026-04-20"},
        [("V2P-WAITING-LIST-START-UNEXPECTED", 2, "waiting_list_clock_start_date")],
        "a waiting-list clock start for planned activity (codes assumed: a warning)",
    ),
]
