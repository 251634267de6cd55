"""v2 rules (profile v2): every rule has a record that passes it and one that breaks it, expected as
(rule, record, field) data; window arithmetic at month boundaries, across BST changes and on leap days.

Where one change cannot break a rule alone (a report before the birth date is also a report before the procedure),
the entry lists the other rules it necessarily breaks, so "exactly these findings" is asserted, not "at least".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.check import check, load_reference, make_context, rule_tables
from conformance.formats import write_records
from conformance.spec import load_pack
from generators.breaks import (
    V2_BASE,
    V2_BREAKS,
    V2_LAYOUT_FAULTS,
    V2_M_STAR_BLANK,
    V2_SOURCE_CASES,
    V2_VALID_VARIATIONS,
    timeline,
)

V2 = load_pack("v2")
CONTEXT = make_context("2026-06-10T09:00", period="2026-05")
SYNTHETIC = load_reference("synthetic")
BASE, BREAKS, M_STAR_BLANK = V2_BASE, V2_BREAKS, V2_M_STAR_BLANK


# Judged across records, on the file, or on the submission context alone (the catalogue's kinds); tested below.
NOT_RECORD = {r.id for r in V2.rules if r.kind != "record"}


def row(changes: dict[str, str] | None = None) -> list[str]:
    values = {**BASE, **(changes or {})}
    return [values[item.id] for item in V2.items]


def run(tmp_path: Path, rows: list[list[str]], fmt: str = "csv", context=CONTEXT, reference=SYNTHETIC):  # type: ignore[no-untyped-def]
    path = tmp_path / f"case.{fmt}"
    write_records(rows, path, pack=V2, format=fmt)
    report = check(path, profile="v2", context=context, reference=reference)
    return report, {(f.rule, f.record, f.field) for f in report.findings}


def test_every_catalogued_rule_has_an_implementation_and_a_case() -> None:
    ids = {r.id for r in V2.rules_for("v2")}
    record_rules, submission_rules = rule_tables("v2")
    assert ids - NOT_RECORD == set(BREAKS)
    assert ids - NOT_RECORD <= set(record_rules)
    assert {r.id for r in V2.rules if r.kind == "submission"} == set(submission_rules)


def test_only_published_codes_are_official_and_provisional_ids_cannot_pass_for_them() -> None:
    official = {r.id for r in V2.rules if r.official}
    assert official == {"DIDS00300302", "DIDS00300402", "DIDSREJ012"}
    assert all(r.code == r.id for r in V2.rules if r.official)
    assert all(r.id.startswith("V2P-") and r.code is None for r in V2.rules if not r.official)


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_the_base_record_passes_every_rule(tmp_path: Path, fmt: str) -> None:
    report, found = run(tmp_path, [row()], fmt)
    assert found == set()
    assert report.not_evaluated == []
    assert report.verdict == "accepted"
    assert report.records == 1


@pytest.mark.parametrize("rule_id", sorted(BREAKS))
def test_the_breaking_record_breaks_the_rule(tmp_path: Path, rule_id: str) -> None:
    changes, field, also = BREAKS[rule_id]
    broken = row({**changes, "accession_number": changes.get("accession_number", "ACC0002")})
    report, found = run(tmp_path, [row(), broken])
    assert ("V2P-DUPLICATE-ACTIVITY", 2, "accession_number") not in found
    assert {f for f in found if f[0] == rule_id} == {(rule_id, 2, field)}
    assert {f[0] for f in found} == {rule_id} | also, "exactly the rule (and those it necessarily breaks)"
    assert not any(f[1] == 1 for f in found), "the untouched first record stays clean"
    severe = any(V2.rule(r).severity != "warning" for r in {rule_id} | also)
    assert report.verdict == ("rejected" if severe else "accepted")


@pytest.mark.parametrize("rule_id", ["V2P-OFFSET-NOT-IN-FORCE", "DIDS00300302", "V2P-TREATMENT-FUNCTION-CODE"])
def test_breaking_records_break_the_same_rule_in_xml(tmp_path: Path, rule_id: str) -> None:
    changes, field, _ = BREAKS[rule_id]
    _, found = run(tmp_path, [row(), row({**changes, "accession_number": "ACC0002"})], "xml")
    assert {f for f in found if f[0] == rule_id} == {(rule_id, 2, field)}


@pytest.mark.parametrize(("name", "changes", "why"), V2_VALID_VARIATIONS, ids=[v[0] for v in V2_VALID_VARIATIONS])
def test_valid_variations_pass(tmp_path: Path, name: str, changes: dict[str, str], why: str) -> None:
    _, found = run(tmp_path, [row(), row({"accession_number": "ACC0002", **changes})])
    assert found == set(), why


def test_several_records_per_accession_and_the_v2_uniqueness_key(tmp_path: Path) -> None:
    chest_and_abdomen = {"coded_procedure_nicip": "", "coded_procedure_snomed": "418891003"}
    rows = [
        row(),
        row(chest_and_abdomen),  # same accession, another coded procedure: a second activity, not a duplicate
        row({"accession_number": " acc0001 "}),  # same key once trimmed and case-folded: both flagged
        row({"site_code": "X9T02"}),  # same accession at another site: a different key
    ]
    _, found = run(tmp_path, rows)
    assert found == {
        ("V2P-DUPLICATE-ACTIVITY", 1, "accession_number"),
        ("V2P-DUPLICATE-ACTIVITY", 3, "accession_number"),
    }


def test_xml_keeps_every_activity_of_a_record(tmp_path: Path) -> None:
    rows = [row(), row({"coded_procedure_nicip": "", "coded_procedure_snomed": "418891003"}), row()]
    report, found = run(tmp_path, rows, "xml")
    assert report.records == 3
    assert found == {
        ("V2P-DUPLICATE-ACTIVITY", 1, "accession_number"),
        ("V2P-DUPLICATE-ACTIVITY", 3, "accession_number"),
    }


def test_wrong_column_count_and_broken_xml_are_file_rejects(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    header = ",".join(i.column for i in V2.items)
    path.write_text(header + "\n" + ",".join(row()) + "\n" + ",".join(row()[:-1]) + "\n")
    report = check(path, profile="v2", context=CONTEXT, reference=SYNTHETIC)
    assert [(f.rule, f.record, f.line) for f in report.findings] == [("V2P-CSV-LAYOUT", None, 3)]
    xml = tmp_path / "bad.xml"
    write_records([row()], xml, pack=V2, format="xml")
    text = xml.read_text("utf-8")
    assert "<RadiologicalAccessionNumber " in text
    xml.write_text(text.replace("<RadiologicalAccessionNumber ", "<RadiologicalAccession "), "utf-8")
    report = check(xml, profile="v2", context=CONTEXT, reference=SYNTHETIC)
    assert {f.rule for f in report.findings if f.record is None} == {"V2P-XML-STRUCTURE"}
    assert report.verdict == "rejected"


def test_without_reference_data_and_period_those_rules_are_not_evaluated(tmp_path: Path) -> None:
    report, found = run(
        tmp_path,
        [row(BREAKS["DIDS00300302"][0])],
        context=make_context("2026-06-10T09:00"),
        reference=load_reference(None),
    )
    reasons = {n.rule: n.reason for n in report.not_evaluated}
    needing = {r.id for r in V2.rules_for("v2") if r.needs}
    assert set(reasons) == needing
    assert "period" in reasons["V2P-WINDOW-CLOSED"] and "reference" in reasons["DIDS00300302"]
    assert found == set()  # the local code is not judged without the NICIP table, and not passed silently either
    assert report.verdict == "accepted"


def _dated(start: str) -> dict[str, str]:
    """A record whose whole timeline sits at `start` (request and received on the same UK day)."""
    from conformance.calendar import local_day, parse_timestamp

    moment = parse_timestamp(start)
    assert moment is not None
    day = local_day(moment).isoformat()
    return {
        "request_date": day,
        "request_time": "00:00:00",
        "request_received_date": day,
        "request_received_time": "00:00:00",
        "procedure_start_timestamp": start,
        "procedure_end_timestamp": start,
        "report_issue_timestamp": start,
    }


AFTER_PERIOD = ("V2P-END-AFTER-PERIOD", "V2P-REPORT-AFTER-PERIOD")  # the whole timeline sits at the start


@pytest.mark.parametrize(
    ("period", "start", "expected"),
    [
        ("2026-05", "2026-05-01T00:00:00+01:00", set()),
        ("2026-05", "2026-05-31T23:59:59+01:00", set()),
        # 23:30 UTC on 31 May is 00:30 BST on 1 June: outside May on the UK clock.
        ("2026-05", "2026-05-31T23:30:00Z", {"V2P-OUTSIDE-PERIOD", "V2P-OFFSET-NOT-IN-FORCE", *AFTER_PERIOD}),
        # 23:30 UTC on 30 April is 00:30 BST on 1 May: inside May.
        ("2026-05", "2026-04-30T23:30:00Z", {"V2P-OFFSET-NOT-IN-FORCE"}),
        ("2026-04", "2026-03-31T23:59:59+01:00", {"V2P-BEFORE-V2"}),
        ("2026-04", "2026-04-01T00:00:00+01:00", set()),
        # 1 April 2026 00:30 BST written as UTC: still April on the UK clock, so not before v2 (but a Z in BST).
        ("2026-04", "2026-03-31T23:30:00Z", {"V2P-OFFSET-NOT-IN-FORCE"}),
        ("2028-02", "2028-02-29T23:30:00+00:00", set()),  # leap day
        ("2028-02", "2028-03-01T00:00:00+00:00", {"V2P-OUTSIDE-PERIOD", *AFTER_PERIOD}),
        ("2027-02", "2027-02-28T23:59:59+00:00", set()),
    ],
)
def test_activity_inside_the_reporting_period(tmp_path: Path, period: str, start: str, expected: set[str]) -> None:
    context = make_context("2028-06-01T09:00", period=period)
    _, found = run(tmp_path, [row(_dated(start))], context=context)
    window = {"V2P-WINDOW-CLOSED"}  # some periods here are long closed by 2028-06; that is tested below
    assert {f[0] for f in found} - window == expected


@pytest.mark.parametrize(
    ("start", "warns"),
    [
        ("2026-03-29T00:30:00+00:00", False),  # before the spring change (01:00 UTC)
        ("2026-03-29T01:30:00+00:00", True),  # 01:30 UTC is 02:30 BST: the clock had gone forward
        ("2026-03-29T02:30:00+01:00", False),
        ("2026-10-25T01:30:00+01:00", False),  # the autumn hour that happens twice: both offsets are right
        ("2026-10-25T01:30:00+00:00", False),
        ("2026-10-25T02:30:00+01:00", True),  # 01:30 UTC, after the change: GMT
        ("2026-12-01T12:00:00+01:00", True),
        ("2026-07-01T12:00:00Z", True),
        ("2026-07-01T12:00:00-00:00", False),  # "offset unknown": nothing to compare
        ("2026-12-01T12:00:00Z", False),
    ],
)
def test_offset_in_force_across_bst_changes(tmp_path: Path, start: str, warns: bool) -> None:
    period = start[:7]
    _, found = run(tmp_path, [row(_dated(start))], context=make_context("2027-01-15T09:00", period=period))
    assert {f for f in found if f[0] == "V2P-OFFSET-NOT-IN-FORCE"} == (
        {("V2P-OFFSET-NOT-IN-FORCE", 1, "procedure_start_timestamp")} if warns else set()
    )


SUBMISSION_RULES = {r.id for r in V2.rules if r.kind == "submission"}


@pytest.mark.parametrize(
    ("period", "submitted", "expected"),
    [
        # The window opens on the first day after the period, on the UK clock.
        ("2026-05", "2026-05-31T23:59", {"V2P-WINDOW-NOT-OPEN"}),
        ("2026-05", "2026-05-31T23:30Z", set()),  # 00:30 BST on 1 June
        ("2026-05", "2026-06-01T00:00", set()),
        # First year: six months after the period. May 2026 closes at the end of November 2026.
        ("2026-05", "2026-11-30T23:59", set()),
        ("2026-05", "2026-12-01T00:00", {"V2P-WINDOW-CLOSED"}),
        ("2026-04", "2026-10-31T23:59", set()),
        ("2026-04", "2026-11-01T00:00", {"V2P-WINDOW-CLOSED"}),
        # March 2027 is the last six-month period; April 2027 the first three-month one.
        ("2027-03", "2027-09-30T23:59", set()),
        ("2027-03", "2027-10-01T00:00", {"V2P-WINDOW-CLOSED"}),
        ("2027-04", "2027-07-31T23:59", set()),
        ("2027-04", "2027-08-01T00:00", {"V2P-WINDOW-CLOSED"}),
        # Leap day: November 2027 closes on 29 February 2028.
        ("2027-11", "2028-02-29T23:59", set()),
        ("2027-11", "2028-03-01T00:00", {"V2P-WINDOW-CLOSED"}),
        # BST ends at 01:00 UTC on 31 October 2027: 23:30 UTC that day is 23:30 GMT, still 31 October.
        ("2027-07", "2027-10-31T23:30Z", set()),
        ("2027-07", "2027-11-01T00:00:00+00:00", {"V2P-WINDOW-CLOSED"}),
        # BST starts on 28 March 2027: 23:30 UTC on 31 March is 00:30 BST on 1 April, after September 2026's close.
        ("2026-09", "2027-03-31T22:30Z", set()),
        ("2026-09", "2027-03-31T23:30Z", {"V2P-WINDOW-CLOSED"}),
        # No v2 period before April 2026.
        ("2026-03", "2026-04-10T09:00", {"V2P-PERIOD-BEFORE-V2"}),
    ],
)
def test_submission_window(tmp_path: Path, period: str, submitted: str, expected: set[str]) -> None:
    report, _ = run(tmp_path, [row()], context=make_context(submitted, period=period))
    file_level = {(f.rule, f.record) for f in report.findings if f.rule in SUBMISSION_RULES}
    assert file_level == {(rule_id, None) for rule_id in expected}
    if expected:
        assert report.verdict == "rejected"


def test_code_validity_uses_the_end_date_with_183_days_grace(tmp_path: Path) -> None:
    """XOLDY (synthetic) is inactive from 1 December 2025: valid to 183 days later (1 June 2026) at the end date."""
    in_grace = {"coded_procedure_nicip": "XOLDY", "coded_procedure_snomed": ""}
    _, found = run(tmp_path, [row(in_grace)])
    assert found == set()
    late = {
        **in_grace,
        **timeline("2026-06-01T23:30:00+01:00", "2026-06-02T00:10:00+01:00", "2026-06-02T09:00:00+01:00"),
    }
    context = make_context("2026-07-10T09:00", period="2026-06")
    _, found = run(tmp_path, [row(late)], context=context)
    assert found == {("DIDS00300302", 1, "coded_procedure_nicip")}
    late["procedure_end_timestamp"] = "2026-06-01T23:59:00+01:00"  # end on the last day of grace
    _, found = run(tmp_path, [row(late)], context=context)
    assert found == set()


def test_times_in_the_repeated_autumn_hour_are_not_ordered_by_a_guess(tmp_path: Path) -> None:
    """01:09 then 01:03 on 25 October 2026 may be 01:09 BST then 01:03 GMT (received after the request): with no
    offset the checker compares the days only. Outside that hour the same times are out of order."""
    ambiguous = {
        **timeline("2026-10-25T03:25:00+00:00", "2026-10-25T03:30:00+00:00", "2026-10-25T09:00:00+00:00"),
        "request_date": "2026-10-25",
        "request_time": "01:09:48",
        "request_received_date": "2026-10-25",
        "request_received_time": "01:03:48",
    }
    context = make_context("2026-11-10T09:00", period="2026-10")
    _, found = run(tmp_path, [row(ambiguous)], context=context)
    assert found == set()
    _, found = run(
        tmp_path, [row({**ambiguous, "request_time": "02:09:48", "request_received_time": "02:03:48"})], context=context
    )
    assert found == {("V2P-RECEIVED-BEFORE-REQUEST", 1, "request_received_date")}


# ----- issue 15: v2 rules as the sources say (each test was written first and seen to fail) --------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"coded_procedure_nicip": "XNEWA", "coded_procedure_snomed": ""},
            ("DIDS00300302", 2, "coded_procedure_nicip"),
        ),
        (
            {"coded_procedure_nicip": "", "coded_procedure_snomed": "9999001000102"},
            ("DIDS00300402", 2, "coded_procedure_snomed"),
        ),
    ],
    ids=["nicip", "snomed"],
)
def test_a_code_whose_validity_starts_after_the_procedure_is_invalid(
    tmp_path: Path, changes: dict[str, str], expected: tuple[str, int, str]
) -> None:
    """The 183-day grace follows retirement only (dids-v2.md §4.1): a code first active on 1 August 2026 (synthetic)
    is invalid for a May procedure, 84 days before, and valid for one on its first day."""
    _, found = run(tmp_path, [row(), row({**changes, "accession_number": "ACC0002"})])
    assert found == {expected}
    august = timeline("2026-08-01T00:10:00+01:00", "2026-08-01T00:20:00+01:00", "2026-08-01T09:00:00+01:00")
    context = make_context("2026-09-10T09:00", period="2026-08")
    _, found = run(tmp_path, [row({**changes, **august})], context=context)
    assert found == set()


@pytest.mark.parametrize(
    "second",
    [
        {"procedure_start_timestamp": "2026-05-09T09:30:00Z"},  # 10:30 BST written in UTC
        {"procedure_start_timestamp": "2026-05-09T09:30:00+00:00"},
        {"coded_procedure_snomed": ""},  # the same procedure coded as NICIP alone
    ],
    ids=["z", "plus-zero", "nicip-alone"],
)
def test_the_duplicate_key_is_the_start_instant_and_the_nicip_code_when_given(
    tmp_path: Path, second: dict[str, str]
) -> None:
    """design.md §5.4: the start compared as an instant; the procedure is the NICIP code when present, else the
    SNOMED CT code. (The offset warning is not the point here: it fires for the UTC-written BST start.)"""
    _, found = run(tmp_path, [row(), row(second)])
    assert {f for f in found if f[0] == "V2P-DUPLICATE-ACTIVITY"} == {
        ("V2P-DUPLICATE-ACTIVITY", 1, "accession_number"),
        ("V2P-DUPLICATE-ACTIVITY", 2, "accession_number"),
    }


def test_snomed_alone_is_its_own_procedure_in_the_duplicate_key(tmp_path: Path) -> None:
    """Without a NICIP code the SNOMED CT code is the procedure: two SNOMED-only records of one start are one key,
    and a SNOMED-only record beside a NICIP-coded one is another key (no reference data in the key)."""
    snomed_only = {"coded_procedure_nicip": "", "coded_procedure_snomed": "418891003"}
    _, found = run(tmp_path, [row(), row(snomed_only), row(snomed_only)])
    assert found == {
        ("V2P-DUPLICATE-ACTIVITY", 2, "accession_number"),
        ("V2P-DUPLICATE-ACTIVITY", 3, "accession_number"),
    }


def test_provenance_claims_no_more_than_the_source_tags() -> None:
    """dids-v2.md §1 tags 'activity before 1 April 2026 stays v1' [I]; §4.4 tags the three-month window after March
    2027 [B] and the closing day [I]: none of them is verified."""
    for rule_id in ("V2P-BEFORE-V2", "V2P-PERIOD-BEFORE-V2", "V2P-WINDOW-CLOSED"):
        assert V2.rule(rule_id).provenance.status == "inferred", rule_id
    assert V2.windows["v2"].provenance.status == "inferred"
    assert (
        "B: three months" in V2.windows["v2"].provenance.source
        and "I: the window" in V2.windows["v2"].provenance.source
    )


@pytest.mark.parametrize(
    ("nhs_number", "expected"),
    [
        ("999 000 0018", set()),
        ("999-000-0018", set()),
        ("999 000 0017", {("V2P-NHS-NUMBER-CHECK-DIGIT", 2, "nhs_number")}),
        ("999 000 001", {("V2P-NHS-NUMBER-FORMAT", 2, "nhs_number")}),
    ],
)
def test_the_nhs_number_format_strips_spaces_and_hyphens_as_dids002_does(
    tmp_path: Path, nhs_number: str, expected: set[tuple[str, int, str]]
) -> None:
    """V2P-NHS-NUMBER-FORMAT carries DIDS002 over: 10 characters after removing spaces and hyphens (dids-v2.md §4.5)."""
    _, found = run(tmp_path, [row(), row({"nhs_number": nhs_number, "accession_number": "ACC0002"})])
    assert found == expected


@pytest.mark.parametrize(
    ("name", "changes", "expected", "why"), V2_LAYOUT_FAULTS, ids=[fault[0] for fault in V2_LAYOUT_FAULTS]
)
def test_a_fault_gets_the_same_verdict_rule_and_record_in_csv_and_xml(
    tmp_path: Path, name: str, changes: dict[str, str], expected: set[tuple[str, str]], why: str
) -> None:
    """Layout parity: the XML schema must not reject the whole file for what CSV judges record by record."""
    rows = [row(), row({"accession_number": "ACC0002", **changes}), row({"accession_number": "ACC0003"})]
    outcomes = {}
    for fmt in ("csv", "xml"):
        report, found = run(tmp_path, rows, fmt)
        outcomes[fmt] = (report.verdict, report.records, found)
    wanted = {(rule, 2, field) for rule, field in expected}
    written = (tmp_path / "case.xml").read_text("utf-8")
    for item in (k for k, v in changes.items() if not v):  # hand-written XML leaves a blank item's element out
        element = V2.item(item).xml.element.split("/")[0]
        assert written.count(f"<{element}") == 2, f"{element} is left out of the second record"
    assert outcomes["csv"] == outcomes["xml"], why
    assert outcomes["csv"][1:] == (3, wanted), why


def test_a_record_with_none_of_the_new_v2_items_is_not_silently_clean(tmp_path: Path) -> None:
    """An upgraded v1 record (dates without times, no treatment function, end timestamp or evaluation indicator)
    is accepted with one completeness warning per Required item it leaves blank."""
    upgraded = {
        "treatment_function_code": "",
        "request_time": "",
        "request_received_time": "",
        "procedure_end_timestamp": "",
        "evaluation_indicator": "",
    }
    report, found = run(tmp_path, [row(upgraded)])
    assert found == {
        ("V2P-TREATMENT-FUNCTION-BLANK", 1, "treatment_function_code"),
        ("V2P-REQUEST-TIME-BLANK", 1, "request_time"),
        ("V2P-RECEIVED-TIME-BLANK", 1, "request_received_time"),
        ("V2P-END-TIMESTAMP-BLANK", 1, "procedure_end_timestamp"),
        ("V2P-EVALUATION-INDICATOR-BLANK", 1, "evaluation_indicator"),
    }
    assert report.verdict == "accepted"
    # A time is only missing when its date is given: no date, no time, no completeness warning for the time.
    _, found = run(tmp_path, [row({"request_date": "", "request_time": ""})])
    assert found == set()


@pytest.mark.parametrize(
    ("report_issue", "late"),
    [
        ("2026-05-31T23:59:59+01:00", False),
        ("2026-05-31T22:59:59-00:00", False),  # the same instant in UTC (offset unknown)
        ("2026-05-31T23:00:00-00:00", True),  # 00:00 BST on 1 June
        ("2026-06-01T00:00:00+01:00", True),
    ],
)
def test_timestamps_after_the_reporting_period_are_judged_with_their_offset(
    tmp_path: Path, report_issue: str, late: bool
) -> None:
    """dids-v2.md §4.3: 'take the offset into account ... when testing whether a timestamp falls after the end of the
    reporting period'. The May 2026 period ends at midnight on the UK clock (23:00 UTC, in BST)."""
    _, found = run(tmp_path, [row({"report_issue_timestamp": report_issue})])
    assert found == ({("V2P-REPORT-AFTER-PERIOD", 1, "report_issue_timestamp")} if late else set())


@pytest.mark.parametrize(
    ("category", "start", "expected"),
    [
        ("01", "2026-04-20", set()),
        ("01", "", {("V2P-WAITING-LIST-START-MISSING", 1, "waiting_list_clock_start_date")}),
        ("02", "2026-04-20", {("V2P-WAITING-LIST-START-UNEXPECTED", 1, "waiting_list_clock_start_date")}),
        ("", "2026-04-20", {("V2P-WAITING-LIST-START-UNEXPECTED", 1, "waiting_list_clock_start_date")}),
        ("02", "", set()),
    ],
)
def test_the_waiting_list_clock_start_is_given_if_and_only_if_the_activity_is_waiting_list(
    tmp_path: Path, category: str, start: str, expected: set[tuple[str, int, str]]
) -> None:
    """dids-v2.md §4.6 item 3: 'waiting-list clock start required iff category = Diagnostic Waiting List'."""
    _, found = run(tmp_path, [row({"activity_category": category, "waiting_list_clock_start_date": start})])
    assert found == expected


# Rules whose only basis is a code list the project assumed: a warning by default (issue 15).
WEAK_EVIDENCE = {
    "V2P-SOURCE-SETTING-CODE",  # 08 = screening programme is a provisional value: the real code may be another
    "V2P-ACTIVITY-CATEGORY",  # only the description "Diagnostic Waiting List" is known, no code value
    "V2P-TREATMENT-FUNCTION-CODE",  # a 2020 snapshot: codes added since are missing from it
    "V2P-WAITING-LIST-START-MISSING",  # which category code means waiting-list is assumed
    "V2P-WAITING-LIST-START-UNEXPECTED",
}


def test_rules_on_an_assumed_code_list_say_so_and_only_warn_by_default() -> None:
    labelled = {r.id for r in V2.rules if r.evidence == "assumed-code-list"}
    assert labelled == WEAK_EVIDENCE
    assert {V2.rule(r).severity for r in WEAK_EVIDENCE} == {"warning"}


def test_an_override_file_makes_a_weak_evidence_rule_reject_again(tmp_path: Path) -> None:
    override = tmp_path / "etos.toml"
    override.write_text('[[rules]]\nid = "V2P-TREATMENT-FUNCTION-CODE"\nseverity = "record-reject"\n', "utf-8")
    strict = load_pack("v2", [override])
    assert strict.rule("V2P-TREATMENT-FUNCTION-CODE").severity == "record-reject"
    assert strict.rule("V2P-TREATMENT-FUNCTION-CODE").evidence == "assumed-code-list"  # still labelled
    path = tmp_path / "case.csv"
    write_records([row(BREAKS["V2P-TREATMENT-FUNCTION-CODE"][0])], path, pack=V2, format="csv")
    default = check(path, profile="v2", context=CONTEXT, reference=SYNTHETIC)
    overridden = check(path, profile="v2", context=CONTEXT, reference=SYNTHETIC, overrides=[override])
    assert [(f.rule, f.severity) for f in default.findings] == [("V2P-TREATMENT-FUNCTION-CODE", "warning")]
    assert [(f.rule, f.severity) for f in overridden.findings] == [("V2P-TREATMENT-FUNCTION-CODE", "record-reject")]
    assert (default.verdict, overridden.verdict) == ("accepted", "rejected")


@pytest.mark.parametrize(
    ("name", "changes", "expected", "why"), V2_SOURCE_CASES, ids=[case[0] for case in V2_SOURCE_CASES]
)
@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_cases_written_from_the_v2_sources(
    tmp_path: Path, fmt: str, name: str, changes: dict[str, str], expected: list[tuple[str, int, str]], why: str
) -> None:
    _, found = run(tmp_path, [row(), row({"accession_number": "ACC0002", **changes})], fmt)
    assert found == set(expected), why


@pytest.mark.parametrize("moment", ["0001-01-01T00:30:00+01:00", "0001-01-01T00:00:30Z"])
def test_a_timestamp_no_clock_can_show_is_malformed_not_a_crash(tmp_path: Path, moment: str) -> None:
    # These once raised OverflowError (converting to UTC or to the UK clock) and ended the check with an internal
    # error.
    _, found = run(tmp_path, [row({"procedure_start_timestamp": moment})])
    assert ("V2P-START-TIMESTAMP-FORMAT", 1, "procedure_start_timestamp") in found


@pytest.mark.parametrize(
    ("item", "value"),
    [
        ("procedure_start_timestamp", "9999-12-31T23:59:59Z"),
        ("report_issue_timestamp", "9999-12-31T23:59:59Z"),
        ("request_date", "9999-12-31"),
        ("person_birth_date", "9999-12-31"),
    ],
)
def test_a_value_at_the_end_of_the_calendar_is_judged_not_a_crash(tmp_path: Path, item: str, value: str) -> None:
    # A slack ("a year on", "a calendar month on") from a day in December 9999 once raised ValueError.
    report, _ = run(tmp_path, [row({item: value})])
    assert report.verdict == "rejected"


@pytest.mark.parametrize("engine", ["record", "columnar"])
@pytest.mark.parametrize("code", ["7\u00b9651007", "\u0667\u0661\u0666\u0665\u0661\u0660\u0660\u0667", "\uff17" * 8])
def test_a_snomed_code_of_digits_beyond_ascii_is_a_finding_not_a_failure(
    tmp_path: Path, engine: str, code: str
) -> None:
    # A superscript one is isdigit() but int() refuses it: the check digit once raised, and the file could not be
    # checked at all (found by a hostile review)
    path = tmp_path / "case.csv"
    rows = [row(), row({"accession_number": "ACC0002", "coded_procedure_snomed": code})]
    write_records(rows, path, pack=V2, format="csv")
    report = check(path, profile="v2", context=CONTEXT, reference=SYNTHETIC, engine=engine)
    found = {(f.rule, f.record, f.field) for f in report.findings}
    assert ("V2P-SNOMED-FORMAT", 2, "coded_procedure_snomed") in found
