"""v1 rules (profiles v1-dsp and v1-portal): every rule has a record that passes it and one that breaks it,
expected as (rule, record, field) data."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.check import check, load_reference, make_context, rule_tables
from conformance.formats import write_records
from conformance.spec import load_pack
from generators.breaks import V1_BASE, V1_BREAKS, V1_M_STAR_BLANK

V1 = load_pack("v1")
SUBMITTED = make_context("2018-09-10T09:00")  # the base period's submission (generators/breaks.py)
SYNTHETIC = load_reference("synthetic")

BASE, BREAKS, M_STAR_BLANK = V1_BASE, V1_BREAKS, V1_M_STAR_BLANK
# Rules judged on two records or on the file rather than on one record's values (the catalogue's kinds).
CROSS_AND_FILE = {r.id for r in V1.rules if r.kind != "record"}


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
        assert ids - CROSS_AND_FILE <= set(rule_tables("v1")[0]), profile


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


def test_duplicate_accession_and_site_flags_every_record_of_the_pair_whatever_the_case_on_the_portal(
    tmp_path: Path,
) -> None:
    rows = [
        row(),
        row({"accession_number": "ACC0002"}),
        row({"accession_number": " acc0001 "}),
        row({"accession_number": "ACC0001", "site_code": "X9T02"}),
    ]
    _, found = findings(tmp_path, rows, "v1-portal")
    assert {f for f in found if f[0] == "DIDS071"} == {
        ("DIDS071", 1, "accession_number"),
        ("DIDS071", 3, "accession_number"),
    }


def test_the_dsp_compares_accession_numbers_exactly_and_skips_only_empty_fields(tmp_path: Path) -> None:
    """DSP uniqueness_dq partitions by the trimmed values as they are (letter case counts) and leaves out only
    records with a null key value: spaces are trimmed to an empty string, which still takes part."""
    rows = [
        row(),
        row({"accession_number": " ACC0001 "}),  # the same once trimmed of spaces
        row({"accession_number": "acc0001"}),  # another key to the DSP
        row({"accession_number": "  ", "site_code": "X9T02"}),
        row({"accession_number": " ", "site_code": "X9T02"}),  # both "" once trimmed, and not null
        row({"accession_number": "", "site_code": "X9T02"}),  # null: left out
    ]
    _, found = findings(tmp_path, rows, "v1-dsp")
    assert {f for f in found if f[0] == "DIDS071"} == {
        ("DIDS071", 1, "accession_number"),
        ("DIDS071", 2, "accession_number"),
        ("DIDS071", 4, "accession_number"),
        ("DIDS071", 5, "accession_number"),
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
        # The DSP: months_between(last_day(submission instant, UTC), test date); DIDS049 warns from 4, DIDS055
        # rejects from 7. Whole months when both dates are month ends or share the day of the month, otherwise
        # the day difference over 31 is added.
        ("2018-09-01T09:00", "2018-06-01", set()),  # 3 + 29/31
        ("2018-09-01T09:00", "2018-05-31", {"DIDS049"}),  # 4: both month ends
        ("2018-09-15T12:00", "2018-03-01", {"DIDS049"}),  # 6 + 29/31
        ("2018-09-15T12:00", "2018-02-28", {"DIDS055"}),  # 7
        ("2018-09-15T12:00", "2018-02-27", {"DIDS055"}),  # 7 + 3/31
        # February submissions, where the 31-day basis shows: a July test is rejected on the 28th and the 31st,
        # only warned on the 29th and 30th.
        ("2019-02-10T09:00", "2018-07-31", {"DIDS055"}),  # 7: both month ends
        ("2019-02-10T09:00", "2018-07-30", {"DIDS049"}),  # 7 - 2/31
        ("2019-02-10T09:00", "2018-07-29", {"DIDS049"}),  # 7 - 1/31
        ("2019-02-10T09:00", "2018-07-28", {"DIDS055"}),  # 7: the same day of the month
        ("2019-02-10T09:00", "2018-10-29", set()),  # 4 - 1/31
        ("2019-02-10T09:00", "2018-10-28", {"DIDS049"}),  # 4
        # The DSP reads the submission instant in UTC: midnight UK summer time is still the previous day.
        ("2018-09-01T00:00", "2018-05-31", set()),  # 2018-08-31T23:00Z: 3
        ("2019-04-01T00:30+01:00", "2018-12-15", set()),  # 2019-03-31T23:30Z: 3 + 16/31
        ("2019-04-01T01:30+01:00", "2018-12-15", {"DIDS049"}),  # 2019-04-01T00:30Z: 4 + 15/31
        # Leap day: 29 February 2020 is a test date like any other.
        ("2020-03-10T09:00", "2020-02-29", set()),
        ("2020-09-01T09:00", "2020-02-29", {"DIDS055"}),  # 7: both month ends
        # Day 00 of February matches the DSP's date pattern but is no date to Spark: never compared.
        ("2019-02-10T09:00", "2018-02-00", set()),
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
    assert {f[0] for f in found} & {"DIDS049", "DIDS055", "DIDS051", "DIDS045"} == expected


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal"])
@pytest.mark.parametrize("item", ["test_date", "request_date", "request_received_date", "report_issue_date"])
def test_a_date_at_the_end_of_the_calendar_is_judged_not_a_crash(tmp_path: Path, profile: str, item: str) -> None:
    # The v1-portal window of a test date in December 9999 once raised ValueError (year 10000) mid-check.
    pack = load_pack(profile)
    path = tmp_path / "edge.csv"
    write_records([row({item: "9999-12-31"})], path, pack=pack, format="csv")
    report = check(
        path, profile=profile, context=make_context("2018-09-10T09:00"), reference=load_reference("synthetic")
    )
    assert report.verdict == "rejected"
