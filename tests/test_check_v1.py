"""v1 rules (profiles v1-dsp and v1-portal): every rule has a record that passes it and one that breaks it,
expected as (rule, record, field) data."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.check import check, load_reference, make_context
from conformance.check._engine import registry
from conformance.formats import write_records
from conformance.spec import load_pack

V1 = load_pack("v1")
SUBMITTED = make_context("2018-09-01T00:00")
SYNTHETIC = load_reference("synthetic")

# A record every v1 rule accepts, drawn from the synthetic reference universe.
BASE = {
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
M_STAR_BLANK = {
    "nhs_number": "",
    "person_birth_date": "",
    "ethnic_category": "",
    "person_gender_code": "",
    "gp_practice_code": "",
}

# rule -> (changes to BASE, field the finding points at)
BREAKS: dict[str, tuple[dict[str, str], str]] = {
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
        {"request_date": "2017-01-31", "request_received_date": "2018-08-02", "person_birth_date": "2017-08-01"},
        "person_birth_date",
    ),
    "DIDS012": ({"ethnic_category": "AA"}, "ethnic_category"),
    "DIDS014": ({"person_gender_code": "X"}, "person_gender_code"),
    "DIDS016": ({"postcode": "LS1 9ZZ"}, "postcode"),
    "DIDS017": ({"postcode": "LS14AP9"}, "postcode"),
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
            "request_received_date": "2018-08-12",
            "test_date": "2018-07-31",
            "report_issue_date": "2018-08-12",
        },
        "request_date",
    ),
    "DIDS035": ({"request_date": "2018-08-01", "report_issue_date": "2018-07-31"}, "request_date"),
    "DIDS036": ({"request_received_date": "2018/08/02"}, "request_received_date"),
    "DIDS038": ({"request_date": "2017-08-01", "request_received_date": "2017-08-08"}, "request_received_date"),
    "DIDS040": (
        {"request_received_date": "1961-01-01", "request_date": "1961-01-01", "person_birth_date": "1961-08-01"},
        "request_received_date",
    ),
    "DIDS041": ({"request_received_date": "1969-12-31"}, "request_received_date"),
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
    "DIDS050": ({"test_date": ""}, "test_date"),
    "DIDS051": ({"test_date": "2018-09-02", "report_issue_date": "2018-08-30"}, "test_date"),
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
    "DIDS066": ({"test_date": "2018-08-30", "report_issue_date": "2018-09-02"}, "report_issue_date"),
    "DIDS067": ({"site_code": ""}, "site_code"),
    "DIDS068": ({"site_code": "X9T05"}, "site_code"),
    "DIDS069": ({"site_code": "X9T"}, "site_code"),
    "DIDS070": ({"accession_number": " "}, "accession_number"),
    "DIDS072": ({"accession_number": "A" * 21}, "accession_number"),
    "DIDS073": ({**M_STAR_BLANK, "postcode": ""}, "nhs_number"),
    "DIDS074": ({**M_STAR_BLANK, "postcode": "ZZ99 3WZ"}, "postcode"),
    "DIDS077": ({"imaging_code_nicip": "XOLDX", "imaging_code_snomed": ""}, "imaging_code_nicip"),
    "DIDS078": ({"imaging_code_snomed": "418891003", "imaging_code_nicip": ""}, "imaging_code_snomed"),
    "DIDS079": ({"referring_org_code": "X9R"}, "referring_org_code"),
    "DIDS080": ({"gp_practice_code": "X99009"}, "gp_practice_code"),
    "DIDS081": ({"site_code": "X9T09"}, "site_code"),
    "DIDS082": ({"imaging_code_snomed": "303686006"}, "imaging_code_snomed"),
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
            "person_birth_date": "2018-09-01",
            "test_date": "2018-09-01",
            "request_date": "2018-08-01",
            "report_issue_date": "2018-09-01",
        },
        "person_birth_date",
    ),
    "V1P-SITE-CODE": ({"site_code": "X9"}, "site_code"),
}
# Rules judged on two records or on the file rather than on one record's values; tested below.
CROSS_AND_FILE = {"DIDS071", "DIDS075", "DIDS076"}
# DIDS077/078: codes the synthetic tables retired shortly before the test date (inside the 183-day grace).
BREAKS["DIDS078"] = ({"imaging_code_snomed": "363680008", "imaging_code_nicip": ""}, "imaging_code_snomed")


def row(changes: dict[str, str] | None = None) -> list[str]:
    values = {**BASE, **(changes or {})}
    return [values[item.id] for item in V1.items]


def findings(tmp_path: Path, rows: list[list[str]], profile: str, fmt: str = "csv", submitted=SUBMITTED):  # type: ignore[no-untyped-def]
    path = tmp_path / f"case.{fmt}"
    write_records(rows, path, pack=V1, format=fmt)
    report = check(path, profile=profile, context=submitted, reference=SYNTHETIC)
    return report, {(f.rule, f.record, f.field) for f in report.findings}


def test_every_catalogued_rule_has_an_implementation_and_a_breaking_case() -> None:
    for profile in ("v1-dsp", "v1-portal"):
        ids = {r.id for r in V1.rules_for(profile)}
        assert ids - CROSS_AND_FILE <= set(BREAKS), profile
        assert ids - CROSS_AND_FILE <= set(registry("v1")[0]), profile


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal"])
@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_the_base_record_passes_every_rule(tmp_path: Path, profile: str, fmt: str) -> None:
    report, found = findings(tmp_path, [row()], profile, fmt)
    assert found == set()
    assert report.not_evaluated == []
    assert report.verdict == "accepted"


CASES = [
    (profile, rule_id)
    for profile in ("v1-dsp", "v1-portal")
    for rule_id in sorted(BREAKS)
    if rule_id in {r.id for r in V1.rules_for(profile)}
]


@pytest.mark.parametrize(("profile", "rule_id"), CASES)
def test_the_breaking_record_breaks_the_rule(tmp_path: Path, profile: str, rule_id: str) -> None:
    changes, field = BREAKS[rule_id]
    report, found = findings(
        tmp_path, [row(), row({**changes, "accession_number": changes.get("accession_number", "ACC0002")})], profile
    )
    assert {f for f in found if f[0] == rule_id} == {(rule_id, 2, field)}
    assert not any(f[1] == 1 for f in found), "the untouched first record stays clean"
    spec = V1.rule(rule_id)
    assert report.verdict == ("accepted" if spec.severity == "warning" else "rejected")
    assert report.counts[rule_id] == 1


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal"])
def test_duplicate_accession_and_site_flags_every_record_of_the_pair(tmp_path: Path, profile: str) -> None:
    rows = [
        row(),
        row({"accession_number": "ACC0002"}),
        row({"accession_number": " acc0001 "}),
        row({"accession_number": "ACC0001", "site_code": "X9T02"}),
    ]
    _, found = findings(tmp_path, rows, profile)
    assert {f for f in found if f[0] == "DIDS071"} == {
        ("DIDS071", 1, "accession_number"),
        ("DIDS071", 3, "accession_number"),
    }


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal"])
def test_wrong_column_count_is_dids075_with_its_line(tmp_path: Path, profile: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(",".join(row()) + "\n" + ",".join(row()[:17]) + "\n")
    report = check(path, profile=profile, context=SUBMITTED, reference=SYNTHETIC)
    assert [(f.rule, f.record, f.line) for f in report.findings] == [("DIDS075", None, 2)]
    assert report.verdict == "rejected"


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal"])
def test_xml_that_breaks_the_xsd_is_dids076_with_its_line(tmp_path: Path, profile: str) -> None:
    path = tmp_path / "case.xml"
    write_records([row()], path, pack=V1, format="xml")
    path.write_text(path.read_text().replace('<EthnicCategory code="A" />', '<EthnicCategory code="AAA" />'))
    report = check(path, profile=profile, context=SUBMITTED, reference=SYNTHETIC)
    assert {(f.rule, f.record) for f in report.findings} == {("DIDS076", None), ("DIDS012", 1)}


def test_rules_needing_reference_data_are_not_evaluated_without_it(tmp_path: Path) -> None:
    path = tmp_path / "case.csv"
    write_records([row(BREAKS["DIDS016"][0])], path, pack=V1, format="csv")
    report = check(path, profile="v1-dsp", context=SUBMITTED)
    not_evaluated = {n.rule for n in report.not_evaluated}
    assert not_evaluated == {r.id for r in V1.rules_for("v1-dsp") if r.needs}
    assert all("reference" in n.reason for n in report.not_evaluated)
    assert "DIDS016" not in report.counts


@pytest.mark.parametrize(
    ("submitted", "test_date", "expected"),
    [
        # DIDS049 warns from the 4th calendar month before the submission month, DIDS055 rejects from the 7th.
        ("2018-09-01T00:00", "2018-06-01", set()),
        ("2018-09-01T00:00", "2018-05-31", {"DIDS049"}),
        ("2018-09-30T23:59", "2018-05-01", {"DIDS049"}),
        ("2018-09-15T12:00", "2018-03-01", {"DIDS049"}),
        ("2018-09-15T12:00", "2018-02-28", {"DIDS055"}),
        # Month boundary on the UK clock: 23:30 UTC on 31 March 2019 is 00:30 BST on 1 April, so April is the
        # submission month and December its 4th month back; an hour earlier it is still March.
        ("2019-03-31T23:30Z", "2018-12-15", {"DIDS049"}),
        ("2019-03-31T22:30Z", "2018-12-15", set()),
        # Leap day: 29 February 2020 is a test date like any other.
        ("2020-03-10T09:00", "2020-02-29", set()),
        ("2020-09-01T09:00", "2020-02-29", {"DIDS055"}),
    ],
)
def test_v1_dsp_window_at_month_boundaries(tmp_path: Path, submitted: str, test_date: str, expected: set[str]) -> None:
    changes = {
        "request_date": test_date,
        "request_received_date": test_date,
        "test_date": test_date,
        "report_issue_date": test_date,
        "person_birth_date": "1961-03-14",
    }
    _, found = findings(tmp_path, [row(changes)], "v1-dsp", submitted=make_context(submitted))
    assert {f[0] for f in found} & {"DIDS049", "DIDS055", "DIDS051"} == expected
