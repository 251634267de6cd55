"""Profile v1-dsp behaves as NHS England's DSP runs, value by value (conformance/check/_spark.py says how and
cites the DSP's code); v1-portal keeps the rule text. Each case here is one the DSP was seen to decide otherwise
than the rule text (../shared/peer/nhse-dsp-source/README.md), written as raw CSV so nothing tidies it first."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_check_v1 import V1, row

from conformance.check import check, load_reference, make_context
from conformance.check._spark import (
    add_months,
    cast_date,
    day_number,
    dsp_nhs_number_valid,
    from_day_number,
    months_between,
    pattern_date,
    pattern_matches,
)

SUBMITTED = make_context("2018-09-10T09:00")
SYNTHETIC = load_reference("synthetic")
PALINDROME = "9345665439"  # 93456 / 65439 reversed, with a valid check digit (the peer's own test number)


def run(tmp_path: Path, text: str, profile: str = "v1-dsp") -> set[tuple[str, int | None, str | None]]:
    path = tmp_path / "case.csv"
    path.write_bytes(text.encode("utf-8"))
    report = check(path, profile=profile, context=SUBMITTED, reference=SYNTHETIC)
    return {(f.rule, f.record, f.field) for f in report.findings}


def line(changes: dict[str, str] | None = None) -> str:
    return ",".join(row(changes)) + "\n"


def test_the_base_line_is_clean_on_both_profiles(tmp_path: Path) -> None:
    assert run(tmp_path, line()) == set()
    assert run(tmp_path, line(), "v1-portal") == set()


def test_a_header_row_is_a_record_to_the_dsp(tmp_path: Path) -> None:
    header = ",".join(V1.columns) + "\n"
    found = run(tmp_path, header + line())
    assert ("DIDS001", 1, "nhs_number") in found  # the header's NHS_NUMBER is a bad NHS number
    assert ("DIDS045", 1, "test_date") in found
    assert not any(f[1] == 2 for f in found)  # the data row is record 2 and clean
    assert run(tmp_path, header + line(), "v1-portal") == set()  # the portal profile skips a header


def test_a_byte_order_mark_is_dropped_as_spark_drops_it(tmp_path: Path) -> None:
    # Seen in the DSP differential oracle: the DSP accepts a file that starts with a UTF-8 BOM.
    assert run(tmp_path, "\ufeff" + line()) == set()
    assert run(tmp_path, "\ufeff" + line(), "v1-portal") == set()


def test_code_validity_is_judged_only_on_a_test_date_that_matches_the_pattern(tmp_path: Path) -> None:
    unknown = {"imaging_code_nicip": "ZZZZZ", "imaging_code_snomed": ""}
    found = run(tmp_path, line(unknown))
    assert ("DIDS057", 1, "imaging_code_nicip") in found
    not_a_date = run(tmp_path, line({**unknown, "test_date": "09/08/2018"}))
    assert not {f for f in not_a_date if f[0] in {"DIDS057", "DIDS077"}}
    assert ("DIDS045", 1, "test_date") in not_a_date


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Spark's trim removes spaces only: a TAB or a no-break space stays, and the code is then not in the list.
        ({"person_gender_code": "\t1"}, {("DIDS014", 1, "person_gender_code")}),
        ({"person_gender_code": "1\u00a0"}, {("DIDS014", 1, "person_gender_code")}),
        ({"ethnic_category": " A\t"}, {("DIDS012", 1, "ethnic_category")}),
        ({"person_gender_code": "  1  "}, set()),
        # A gender of spaces is not null: `isNull | isin(...)` fails it; an empty field passes.
        ({"person_gender_code": "   "}, {("DIDS014", 1, "person_gender_code")}),
        ({"person_gender_code": ""}, set()),
        # Other code lists test blankness after trimming, so spaces pass there.
        ({"ethnic_category": "   "}, set()),
        # The NHS number loses every Java white-space character and hyphen, TAB included.
        ({"nhs_number": "\t999-000 0018\t"}, set()),
        ({"nhs_number": "999\u00a00000018"}, {("DIDS001", 1, "nhs_number"), ("DIDS002", 1, "nhs_number")}),
        # The referrer pattern allows Java white space around a code (after the spaces are trimmed).
        ({"referrer_code": "\tC1234567\t"}, set()),
        ({"referrer_code": "C1234567\u00a0"}, {("DIDS023", 1, "referrer_code")}),
        # Java's \\s in the postcode pattern is ASCII: a TAB separates, a no-break space does not.
        ({"postcode": "LS1\t4AP"}, set()),
        ({"postcode": "LS1\u00a04AP"}, {("DIDS017", 1, "postcode")}),
        # The palindrome ban.
        ({"nhs_number": PALINDROME}, {("DIDS001", 1, "nhs_number")}),
        # Day 00 of February passes the DSP's date pattern and is compared with nothing (the DSP's bug, followed).
        ({"person_birth_date": "1961-02-00"}, set()),
    ],
)
def test_values_as_the_dsp_sees_them(tmp_path: Path, changes: dict[str, str], expected: set[object]) -> None:
    found = run(tmp_path, line(changes))
    # reference look-ups are not what these cases are about
    assert {f for f in found if f[0] not in {"DIDS016", "DIDS024", "DIDS018"}} == expected


@pytest.mark.parametrize(
    ("changes", "expected_portal"),
    [
        ({"person_gender_code": "\t1"}, set()),  # trimmed of all white space
        ({"nhs_number": PALINDROME}, set()),  # no palindrome ban
        ({"person_birth_date": "1961-02-00"}, {("DIDS005", 1, "person_birth_date")}),  # not a date
    ],
)
def test_the_portal_profile_keeps_the_rule_text(
    tmp_path: Path, changes: dict[str, str], expected_portal: set[object]
) -> None:
    found = run(tmp_path, line(changes), "v1-portal")
    assert {f for f in found if not f[0].startswith("V1P-")} == expected_portal


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # DIDS010: no pattern guard; Spark casts "2019-06" to 1 June 2019; months_between of the month ends.
        # (The date format rule DIDS005 reports the partial date too; DIDS040 reads it against the receipt.)
        (
            {"person_birth_date": "2019-06", "request_date": "2018-08-20"},
            {
                ("DIDS005", 1, "person_birth_date"),
                ("DIDS010", 1, "person_birth_date"),
                ("DIDS040", 1, "request_received_date"),
            },
        ),
        ({"person_birth_date": "2019-02", "request_date": "2018-08-20"}, {("DIDS005", 1, "person_birth_date")}),
        # DIDS028: datediff on Spark's casts: "2017" is 1 January 2017, more than 365 days before the test date.
        ({"request_date": "2017"}, {("DIDS028", 1, "request_date"), ("DIDS026", 1, "request_date")}),
        # DIDS040: "2019-6-1" is a date to Spark's cast; the birth is over 6 months after the receipt.
        (
            {"person_birth_date": "2019-6-1", "request_received_date": "2018-08-21"},
            {
                ("DIDS040", 1, "request_received_date"),
                ("DIDS010", 1, "person_birth_date"),
                ("DIDS005", 1, "person_birth_date"),
            },
        ),
    ],
)
def test_partial_dates_in_rules_without_a_pattern_guard(
    tmp_path: Path, changes: dict[str, str], expected: set[object]
) -> None:
    found = run(tmp_path, line(changes))
    assert {f for f in found if f[0] in {"DIDS005", "DIDS010", "DIDS026", "DIDS028", "DIDS040"}} == expected


def test_a_file_the_loader_rejects_gets_the_file_reject_alone(tmp_path: Path) -> None:
    bad = line({"nhs_number": "123"})  # a record finding the DSP never gets to
    quoted = ",".join(row({"accession_number": '"ACC\n0009"'})) + "\n"
    path = tmp_path / "case.csv"
    path.write_text(bad + quoted + line({"accession_number": "ACC0003"}))
    report = check(path, profile="v1-dsp", context=SUBMITTED, reference=SYNTHETIC)
    assert {f.rule for f in report.findings} == {"DIDS075"}
    assert "DIDS001" in {n.rule for n in report.not_evaluated}
    assert report.verdict == "rejected"
    portal = check(path, profile="v1-portal", context=SUBMITTED, reference=SYNTHETIC)
    assert {"DIDS075", "V1P-NHS-NUMBER"} <= {f.rule for f in portal.findings}  # the portal profile checks what it read


def test_a_submission_is_compared_in_utc(tmp_path: Path) -> None:
    """DIDS051: `test_date <= EVENT_RECEIVED_TS` in the DSP's UTC session: just after midnight UK summer time on
    1 August is still 31 July in UTC, so a test dated 1 August is after the submission."""
    text = line({"test_date": "2018-08-01", "report_issue_date": "2018-08-01"})
    path = tmp_path / "case.csv"
    path.write_text(text)
    early = check(path, profile="v1-dsp", context=make_context("2018-08-01T00:30"), reference=SYNTHETIC)
    late = check(path, profile="v1-dsp", context=make_context("2018-08-01T01:30"), reference=SYNTHETIC)
    assert {(f.rule, f.record) for f in early.findings} >= {("DIDS051", 1), ("DIDS066", 1)}
    assert not {f.rule for f in late.findings} & {"DIDS051", "DIDS066"}


# ----- the Spark semantics themselves --------------------------------------------------------------------------


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_day_numbers_match_the_calendar(day: date) -> None:
    n = day_number((day.year, day.month, day.day))
    assert n == (day - date(1970, 1, 1)).days
    assert from_day_number(n) == (day.year, day.month, day.day)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_the_pattern_accepts_exactly_real_dates_and_february_00(day: date) -> None:
    text = day.isoformat()
    assert pattern_date(text) == (day.year, day.month, day.day)
    assert pattern_matches(f"{day.year:04d}-02-00")
    assert pattern_date(f"{day.year:04d}-02-00") is None
    assert not pattern_matches(f"{day.year:04d}-{day.month:02d}-32")


def test_spark_casts_and_months() -> None:
    assert cast_date("2017") == (2017, 1, 1)
    assert cast_date("2019-6") == (2019, 6, 1)
    assert cast_date(" 2017-1-1 ") == (2017, 1, 1)
    assert cast_date("2017-01-01T10:00") == (2017, 1, 1)
    assert cast_date("2017-02-30") is None
    assert cast_date("17-01-01") is None
    assert add_months((2018, 1, 31), 1) == (2018, 2, 28)
    assert add_months((2018, 2, 28), 1) == (2018, 3, 28)
    assert months_between((2019, 2, 28), (2018, 7, 28)) == 7.0
    assert months_between((2019, 2, 28), (2018, 7, 30)) == round(7 - 2 / 31, 8)
    assert months_between((2018, 8, 31), (2018, 2, 28)) == 6.0


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(-400, 400))
def test_add_months_keeps_the_day_or_takes_the_month_end(day: date, months: int) -> None:
    y, m, d = add_months((day.year, day.month, day.day), months)
    assert (y * 12 + m) - (day.year * 12 + day.month) == months
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    assert d == min(day.day, last)


def test_the_nhs_number_function() -> None:
    assert dsp_nhs_number_valid("9990000018")
    assert not dsp_nhs_number_valid(PALINDROME)
    assert not dsp_nhs_number_valid("999000001")
    # Digits int() cannot read (a superscript two is isdigit but not decimal) would fail the DSP's Python UDF.
    assert not dsp_nhs_number_valid("999000001\u00b2")


def test_the_catalogue_says_which_profile_follows_what_and_labels_the_day_00_choice() -> None:
    assert (V1.follows("v1-dsp"), V1.follows("v1-portal")) == ("dsp", "rule-text")
    for rule_id in ("DIDS005", "DIDS026", "DIDS036", "DIDS045", "DIDS061"):
        assert "day 00" in (V1.rule(rule_id).dsp_behaviour or ""), rule_id
    described = {r.id for r in V1.rules if r.dsp_behaviour}
    assert {"DIDS001", "DIDS014", "DIDS049", "DIDS055", "DIDS071", "DIDS075"} <= described
