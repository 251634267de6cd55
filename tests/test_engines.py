"""The columnar engine against the record engine, its reference: identical reports, byte for byte, on the whole
corpus, on generated months with every mutation, and on files built from edge values (BST changes, month ends, leap
days, blanks, padding, spaces-only values). Batches are made small here so that batch boundaries fall inside the
files; duplicates then straddle batches."""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.calendar import LONDON, parse_timestamp
from conformance.check import _columnar as columnar
from conformance.check import check, load_reference, make_context
from conformance.check import rules_v1 as v1_rules
from conformance.check._engine import key_text
from conformance.check.report import to_json
from conformance.formats import write_records
from conformance.spec import load_pack
from generators.breaks import V1_BASE, V2_BASE
from generators.generate import generate
from generators.mutations import every_mutable_rule

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
SYNTHETIC = load_reference("synthetic")
CONTEXTS = {
    "v2": make_context("2026-06-10T09:00", period="2026-05"),
    "v1-dsp": make_context("2018-09-10T09:00"),
    "v1-portal": make_context("2018-09-10T09:00"),
}


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columnar, "BATCH_ROWS", 7)
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 700)  # a few CSV rows a block: keys straddle blocks too


def both(path: Path, **options: object) -> tuple[str, str]:
    record = to_json(check(path, engine="record", **options))  # type: ignore[arg-type]
    column = to_json(check(path, engine="columnar", **options))  # type: ignore[arg-type]
    return record, column


def corpus_cases(profile: str) -> list[dict[str, object]]:
    manifest = CORPUS / profile / "manifest.json"
    if not manifest.exists():
        return []
    return json.loads(manifest.read_text(encoding="utf-8"))["cases"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal", "v2"])
def test_the_whole_corpus_gives_identical_reports(profile: str) -> None:
    from conformance.check._engine import CannotCheck

    cases = corpus_cases(profile)
    assert len(cases) > 50, "run `dids fixtures build` first"
    differ = []
    for case in cases:
        context = {
            k: str(CORPUS / v) if k in ("reference", "local_mappings") else v for k, v in case["context"].items()
        }  # type: ignore[attr-defined]
        try:
            record, column = both(CORPUS / str(case["file"]), profile=profile, context=context)
        except CannotCheck:
            continue  # the engines share the opening of a file: both refuse it alike
        if record != column:
            differ.append(case["id"])
    assert differ == []


@pytest.mark.parametrize(("profile", "layout"), [("v2", "csv"), ("v2", "xml"), ("v1-dsp", "csv"), ("v1-portal", "csv")])
def test_a_generated_month_with_every_mutation_gives_identical_reports(
    tmp_path: Path, profile: str, layout: str
) -> None:
    period = date(2026, 5, 1) if profile == "v2" else date(2018, 8, 1)
    path = tmp_path / f"month.{layout}"
    generate(
        path, profile=profile, format=layout, records=400, seed=11, period=period, workers=1,
        mutate=every_mutable_rule(profile, layout, period),
        scenarios=["duplicated-activity"],
    )  # fmt: skip
    for reference in (SYNTHETIC, None):
        record, column = both(path, profile=profile, context=CONTEXTS[profile], reference=reference)
        assert json.loads(record)["findings"], "the mutants break rules: an empty report would prove nothing"
        assert record == column


# ----- edge values ------------------------------------------------------------------------------------------------

V2_TIMESTAMPS = [
    "2026-03-29T00:59:59+00:00", "2026-03-29T01:00:00+00:00", "2026-03-29T02:30:00+01:00", "2026-03-29T01:30:00+01:00",
    "2026-10-25T01:30:00+01:00", "2026-10-25T01:30:00+00:00", "2026-10-25T00:30:00Z", "2026-05-31T23:30:00+01:00",
    "2026-05-31T23:30:00+00:00", "2026-04-30T23:30:00Z", "2026-05-01T00:00:00+01:00", "2026-06-01T00:00:00+01:00",
    "2026-05-15T12:00:00-00:00", "2026-05-15T12:00:00+02:00", "2026-05-15T24:00:00+01:00", "2026-02-29T10:00:00Z",
    "2028-02-29T10:00:00Z", "2026-06-10T09:00:01+01:00", "2026-06-10T08:00:00Z", "2025-12-31T23:59:59Z", "",
    " 2026-05-10T10:00:00+01:00", "2026-05-10 10:00:00+01:00", "2026-5-10T10:00:00+01:00",
    "0001-01-01T00:30:00+01:00", "0001-01-01T00:00:30Z", "9999-12-31T23:59:59Z", "0999-05-01T10:00:00+01:00",
    "2026-05-10T10:00:60+01:00", "2026-05-10T10:00:00+01:00\n",
    # offsets, fields out of range, year 0000, the October change's repeated hour, London mean time, a line end
    "2026-05-15T12:00:00Z", "2026-05-15T12:00:00-01:00", "2026-05-15T23:59:60+01:00", "0000-05-15T12:00:00Z",
    "2026-10-25T01:00:00+00:00", "2026-10-25T01:59:59+01:00", "2026-10-25T02:00:00+00:00", "1800-01-01T00:00:30Z",
    "2026-05-10T10:00:00+01:00\n", "2100-07-01T12:00:00Z",
]  # fmt: skip
V2_DATES = [
    "2026-05-01", "2026-04-30", "2026-05-31", "2026-02-29", "2028-02-29", "2024-02-29", "1900-01-01", "1899-12-31",
    "1970-01-01", "1969-12-31", "2026-13-01", "2026-00-10", "", " ", "2026/05/01", "2025-05-10", "2026-06-11",
    "2026-10-25", "2026-03-29", "0000-01-01", "2026-05-09\n",
]  # fmt: skip
V2_TIMES = [
    "00:00:00", "23:59:59", "24:00:00", "01:30:00", "12:60:00", "", "9:00:00", " 10:00:00 ", "02:30:00", "01:00:00",
    "23:59:60", "10:30:00", "10:30:01",
]  # fmt: skip
V2_EDGES = {
    "procedure_start_timestamp": V2_TIMESTAMPS,
    "procedure_end_timestamp": V2_TIMESTAMPS,
    "report_issue_timestamp": V2_TIMESTAMPS,
    "request_date": V2_DATES,
    "request_received_date": V2_DATES,
    "person_birth_date": V2_DATES,
    "waiting_list_clock_start_date": V2_DATES,
    "request_time": V2_TIMES,
    "request_received_time": V2_TIMES,
    "nhs_number": ["9990000026", "999 000 0026", "999-000-0026", "9990000025", "", "99900000261", "ABCDEFGHIJ"],
    "accession_number": ["A1", "", "X" * 21, "X" * 20, " A1 ", "a1"],
    "coded_procedure_nicip": ["", "XCHES", "xches", "ZZZZZZ", "UOBRT", "XCHES!"],
    "coded_procedure_snomed": ["", "399208008", "71651007", "1", "12345678901234567890"],
    "site_code": ["", "X9T01", "x9t01", "ZZZ99", "X9T"],
    "activity_category": ["", "01", "02", "03", "99"],
    "treatment_function_code": ["", "101", "1O1", "999"],
    "referrer_code": ["", "G9999998", "C1234567", "R"],
}
V1_DATES = [
    "2018-08-01", "2018-07-31", "2018-08-31", "2018-09-01", "2018-02-29", "2016-02-29", "1900-01-01", "1900-01-02",
    "1899-12-31", "1970-01-01", "2018-13-01", "2018-08-00", "2018-02-00", "", " ", "  ", "2018/08/01", "2017-08-01",
    "2018-09-11", " 2018-08-10", "2018-08-10 ",
    # the columnar candidates' edges: the DSP's pattern and Spark's casts, month and year slacks, windows, periods
    # (not 9999: the rule text's window for a test month from 9999-10 ends in year 10000, and the portal's check fails;
    # not a line end: the row would span lines, the DSP's loader reject the file, and its record findings go unseen)
    "1600-02-29", "0000-01-01", "0000-02-29", "9999-01-31", "2018-8-1", "2018-08", "2018", "+2018-08-01",
    "2018-08-01T10:00", "\t2018-08-10", "\u00a02018-08-10",
    "\u0662\u0660\u0661\u0668-\u0660\u0668-\u0660\u0661",
    "2018-02-28", "2018-03-01", "2018-03-31", "2018-04-30", "2018-05-31", "2017-12-31", "2019-08-10", "2007-06-01",
]  # fmt: skip
V1_EDGES = {
    "test_date": V1_DATES,
    "request_date": V1_DATES,
    "request_received_date": V1_DATES,
    "report_issue_date": V1_DATES,
    "person_birth_date": V1_DATES,
    "nhs_number": [
        "9990000026", "999 000 0026", "999-000-0026", "9990000025", "", " ", "99900000261", "9999999999", "9345665439",
        "999\t000\t0026", " 9990000026", "1000000001", "0000000000", "999-000-00", "999000002\u00b2",
        "\u0669\u0669\u0669\u0660\u0660\u0660\u0660\u0660\u0662\u0666",
    ],
    "accession_number": ["A1", "", " ", "X" * 21, "X" * 20, " A1 ", "a1", "\u00e91", "A1\t", "X" * 20 + " "],
    "person_gender_code": ["", " ", "1", "2", "9", "X"],
    "ethnic_category": ["", " ", "A"],
    "postcode": ["", " ", "ZZ99 3VZ", "zz99 3vz", "LS1 4AP"],
    "gp_practice_code": ["", " ", "X99001", "x99001"],
    "referring_org_code": ["", "X9T", "X99001", "x99001"],
    "imaging_code_nicip": ["", "XCHES", "xches", "ZZZZZZ", "L0001", "l0003", "L0001 "],
    "imaging_code_snomed": ["", "399208008", "71651007", "1"],
    "site_code": ["", "X9T01", "ZZZ99"],
}  # fmt: skip
# Local exam codes (mapped to NICIP before the rules run) for the edge files' submitter.
V1_EDGE_REFERENCE = replace(SYNTHETIC, local_nicip={("X9T", "L0001"): "CABDO", ("X9T", "L0003"): "CCHES"})


def edge_rows(base: dict[str, str], edges: dict[str, list[str]]) -> st.SearchStrategy[list[dict[str, str]]]:
    change = st.fixed_dictionaries({}, optional={item: st.sampled_from(values) for item, values in edges.items()})
    return st.lists(change.map(lambda c: {**base, **c}), min_size=1, max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=edge_rows(V2_BASE, V2_EDGES), layout=st.sampled_from(["csv", "xml"]))
def test_v2_edge_values_give_identical_reports(tmp_path: Path, records: list[dict[str, str]], layout: str) -> None:
    pack = load_pack("v2")
    path = tmp_path / f"edge.{layout}"
    if layout == "csv":  # a value's final line end is XML's edge: CSV cannot carry it
        records = [{item: value.rstrip("\n") for item, value in r.items()} for r in records]
    write_records([[r[i.id] for i in pack.items] for r in records], path, pack=pack, format=layout)
    record, column = both(path, profile="v2", context=CONTEXTS["v2"], reference=SYNTHETIC)
    assert record == column


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=edge_rows(V1_BASE, V1_EDGES), profile=st.sampled_from(["v1-dsp", "v1-portal"]))
def test_v1_edge_values_give_identical_reports(tmp_path: Path, records: list[dict[str, str]], profile: str) -> None:
    pack = load_pack(profile)
    path = tmp_path / "edge.csv"
    write_records([[r[i.id] for i in pack.items] for r in records], path, pack=pack, format="csv")
    context = make_context("2018-09-10T09:00", submitter="X9T")
    record, column = both(path, profile=profile, context=context, reference=V1_EDGE_REFERENCE)
    assert record == column


def test_an_unknown_engine_is_refused(tmp_path: Path) -> None:
    from conformance.check._engine import CannotCheck

    path = tmp_path / "month.csv"
    generate(path, profile="v2", records=5, seed=1, period=date(2026, 5, 1), workers=1)
    with pytest.raises(CannotCheck, match="unknown engine"):
        check(path, engine="turbo")


def test_the_columnar_trim_strips_what_python_strips() -> None:
    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == columnar.PYTHON_WHITESPACE


# What a value in a plain CSV block may be padded with: every white space character but the control characters
# (which keep a block from the plain path), and characters that look like white space but are not (Python keeps
# them, and so must Polars)
PLAIN_PADDING = [c for c in columnar.PYTHON_WHITESPACE if c == "\t" or ord(c) >= 0x20]
NOT_WHITE_SPACE = ["\u200b", "\u180e", "\u2060", "\u00ad", "_"]


@pytest.mark.parametrize("profile", ["v1-portal", "v2"])
def test_a_plain_block_strips_what_python_strips(tmp_path: Path, profile: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # ColumnarRun._seen_as strips a plain block's values as Rust reads white space, cheaper than Python's set. Too
    # little stripped and a duplicate key is missed; too much and a code's finding is (stripping too little only
    # makes a code's row a candidate the rule then passes)
    from conformance.formats import PlainRows, open_submission

    monkeypatch.setattr(columnar, "BLOCK_BYTES", 4096)  # a v2 header is longer than the 700 bytes of small_batches
    pack = load_pack(profile)
    base = V2_BASE if profile == "v2" else V1_BASE
    code = "person_stated_gender_code" if profile == "v2" else "person_gender_code"
    pads = [*PLAIN_PADDING, *NOT_WHITE_SPACE]
    shapes = [p for pad in pads for p in (f"{pad}#", f"#{pad}", f"{pad}{pad}#{pad}")]
    rows = [{**base, code: shape.replace("#", "2"), "accession_number": shape.replace("#", "ACC1")} for shape in shapes]
    path = tmp_path / "padded.csv"
    write_records([[r[i.id] for i in pack.items] for r in rows], path, pack=pack, format="csv")
    blocks = list(open_submission(path, pack=pack).blocks(columnar.BLOCK_BYTES))
    # every row on the plain path (but a headerless file's first row, which joins the first block)
    assert sum(len(b) for b in blocks if isinstance(b, PlainRows)) >= len(rows) - 1
    record, column = both(path, profile=profile, context=CONTEXTS[profile], reference=SYNTHETIC)
    assert record == column
    findings = json.loads(record)["findings"]
    padded_otherwise = {n + 1 for n, shape in enumerate(shapes) if shape.strip() != "#"}
    assert len(padded_otherwise) == 3 * len(NOT_WHITE_SPACE)
    assert {f["record"] for f in findings if f["field"] == code} == padded_otherwise
    duplicate = "V2P-DUPLICATE-ACTIVITY" if profile == "v2" else "DIDS071"
    assert {f["record"] for f in findings if f["rule"] == duplicate} == set(range(1, len(rows) + 1)) - padded_otherwise


# ----- candidate expressions, rule by rule ------------------------------------------------------------------------
# Every row a rule breaks must be one of its expression's candidates (a row the rule raises on, too: the record
# engine then raises, and so must the columnar). Values are raw, as read: rows strip them as the engines do.


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


FN_TIMESTAMPS = _distinct([
    *V2_TIMESTAMPS,
    # offsets and fields out of range
    "2026-05-15T12:00:00Z", "2026-05-15T12:00:00+00:00", "2026-05-15T12:00:00-01:00", "2026-05-15T12:00:00+0100",
    "2026-05-15T12:00:00", "2026-05-15T23:59:60+01:00", "2026-05-15T12:00:60Z", "2026-05-15T25:00:00Z",
    "2026-02-30T10:00:00Z", "2026-05-15T12:00:00.5Z", "2026-05-10T10:00:00+01:00\n", "\t2026-05-10T10:00:00Z  ",
    "２026-05-10T10:00:00Z",
    # Python's first and last years
    "0000-05-15T12:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:01:15Z", "0001-01-01T00:30:00+01:00",
    "0001-01-02T00:00:00Z", "9998-12-31T12:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59+01:00",
    # the October change (01:00-02:00 twice) and the March one (no 01:00-02:00)
    "2026-10-25T00:00:00+01:00", "2026-10-25T00:59:59+01:00", "2026-10-25T01:00:00+01:00", "2026-10-25T01:59:59+01:00",
    "2026-10-25T01:00:00+00:00", "2026-10-25T01:59:59+00:00", "2026-10-25T02:00:00+00:00", "2026-10-25T02:00:00+01:00",
    "2026-10-24T23:30:00Z", "2026-10-25T23:30:00Z", "2026-03-29T00:30:00+00:00", "2026-03-29T01:30:00+00:00",
    "2026-03-29T02:30:00+00:00", "2026-03-29T03:00:00+01:00", "2026-03-28T23:30:00Z",
    # London mean time, double summer time, British Standard Time all year
    "1800-01-01T00:00:30Z", "1847-12-01T00:00:30Z", "1944-06-01T23:30:00Z", "1970-01-15T23:30:00Z",
    "1971-10-31T02:30:00Z",
    # reporting periods, submission, a month and a year on, code and organisation validity
    "2026-05-31T23:59:59+01:00", "2026-05-31T23:00:00Z", "2026-05-31T22:59:59Z", "2026-04-30T23:00:00Z",
    "2026-04-30T22:59:59Z", "2026-06-10T08:00:01Z", "2026-06-10T09:00:00+01:00", "2026-10-31T23:59:59+00:00",
    "2026-11-01T00:00:00Z", "2026-03-31T23:00:00Z", "2026-03-31T22:59:59Z", "2026-11-01T01:30:00Z",
    "2026-11-01T01:30:01Z", "2026-01-01T00:00:00Z", "2026-05-10T00:30:00+01:00", "2026-05-10T23:30:00Z",
    "2026-05-11T00:00:00+01:00", "2026-01-31T12:00:00Z", "2026-02-28T23:30:00Z", "2026-03-01T00:00:00Z",
    "2026-06-01T12:00:00+01:00", "2026-06-02T00:00:00+01:00", "2026-07-31T23:30:00Z", "2026-08-01T00:30:00+01:00",
    "2018-09-30T12:00:00Z", "2018-10-01T12:00:00Z", "2014-12-31T23:30:00Z", "2015-01-01T00:00:00Z",
    "2004-12-31T23:59:59Z", "2016-06-30T23:30:00Z", "2015-03-31T23:30:00Z", "2007-12-31T23:30:00Z",
    "1961-03-14T12:00:00Z", "1961-03-13T23:30:00Z",
    # beyond the summer times Polars knows
    "2099-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "2100-07-01T12:00:00Z", "2150-06-01T12:00:00+01:00",
])  # fmt: skip
FN_DATES = _distinct([
    *V2_DATES,
    "2026-10-25", "2026-10-24", "2026-03-29", "2026-03-28", "2026-06-01", "2026-06-10", "2026-11-30", "2026-12-01",
    "2025-05-10", "2025-05-11", "2025-05-09", "0000-01-01", "0001-01-01", "9998-12-31", "9999-06-30", "9999-07-01",
    "9999-12-31", "1799-12-31", "1800-01-01", "1944-06-02", "1970-01-16", "1961-03-14", "2026-05-31\n",
    " 2026-05-10 ", "2026-5-1", "20260501", "2026-05-01T00:00:00", "２026-05-01",
])  # fmt: skip
FN_TIMES = _distinct([
    *V2_TIMES,
    "00:59:59", "01:00:00", "01:59:59", "02:00:00", "02:30:00", "23:30:00", "23:59:60", "10:00:00", "10:00:01",
    "09:59:59", "00:00:01", "10:00:00\n", "1:00:00", "10:00", "10:00:00Z",
])  # fmt: skip


def _nhs_numbers() -> list[str]:
    from conformance.identifiers import nhs_number_check_digit, synthetic_nhs_number

    valid = [synthetic_nhs_number(k) for k in range(5)] + ["0000000000"]
    wrong = [v[:9] + str((int(v[9]) + 1) % 10) for v in valid]
    no_digit = next(f"{n:09d}" for n in range(10**8, 10**9) if nhs_number_check_digit(f"{n:09d}") is None)
    return [
        *V2_EDGES["nhs_number"], *valid, *wrong, *(no_digit + str(d) for d in range(10)), "999 000\t0026",
        "999\x0b000\x0c0026", " 9990000026 ", "999000002\u00b2", "\u0669" * 10, "999-000-002", "9990000026-",
    ]  # fmt: skip


FN_EDGES: dict[str, list[str]] = {
    **V2_EDGES,
    "procedure_start_timestamp": FN_TIMESTAMPS,
    "procedure_end_timestamp": FN_TIMESTAMPS,
    "report_issue_timestamp": FN_TIMESTAMPS,
    "request_date": FN_DATES,
    "request_received_date": FN_DATES,
    "person_birth_date": FN_DATES,
    "waiting_list_clock_start_date": FN_DATES,
    "request_time": FN_TIMES,
    "request_received_time": FN_TIMES,
    "nhs_number": _nhs_numbers(),
    "accession_number": [*V2_EDGES["accession_number"], "A" * 20, "A" * 21, f" {'A' * 20} ", "é" * 21, "é" * 20],
    "coded_procedure_nicip": [
        "", "XCHES", "xches", "XOLDX", "XOLDY", "XNEWA", "ZZZZZZ", "CCHES", "UOBRT", "ABCDEFG", "XCHÉS",
    ],
    "coded_procedure_snomed": ["", "399208008", "363680008", "9999001000102", "418891003", "1", " 399208008"],
    "site_code": ["", "X9T01", "X9T02", "X9T09", "x9t09", "ZZZ99", "X9T", "R9998"],
    "gp_practice_code": ["", "X99001", "X99009", "x99009", "V81997", "X9T", "X9T09"],
    "referring_org_code": ["", "X9R", "x9r", "X9T", "X99009", "X99998", "X9T01"],
    "postcode": [
        "", "LS1 4AP", "ZZ99 3VZ", "zz99 3vz", " ZZ99", "ls1 4ap", "LS14AP", "LS1  4AP", "LS1\t4AP", "LS1\x0b4AP",
        "LS1\u00a04AP", "LS1\u20034AP", "\uff2cS1 4AP", "EC1A 1BB", "W1 1AA\n", "LS1\n4AP", "LS1 4AP!",
    ],
    "ethnic_category": ["", "A", "a", "99"],
    "person_stated_gender_code": ["", "2", "x"],
    "nhs_number_status": ["", "01", "1", "09"],
    "patient_source_setting": ["", "01", "08", "09", "1"],
    "evaluation_indicator": ["", "N", "Y", "n", "X"],
    "treatment_function_code": [*V2_EDGES["treatment_function_code"], "\uff11\uff10\uff11", "1010", "10", "340"],
    "referrer_code": [
        *V2_EDGES["referrer_code"], "G1234567", "g1234567", "G123456", "G12345678", "CD123456", "ZE123456", "ZX123456",
        "12a3456b", "G9999998", "g9999998", "G1234567\n", "\u212a1234567", "\u017f1234567", "G123456\u0661",
        "G1234567X",
    ],
}  # fmt: skip
FN_CONTEXTS = [
    make_context("2026-06-10T09:00", period="2026-05"),
    make_context("2026-11-01T01:30:00+00:00", period="2026-10"),
    make_context("2026-04-01", period="2026-03"),
]
FN_ROWS = 10_000  # rows of edge values per rule and context (every combination, when there are fewer)
FN_RELATED = 20_000  # and rows of related values
# Related values: instants and days a step away from one anchor instant, so that the comparisons rules make are
# close calls (the same day, a second or an hour apart, a month, six months or a year on, either side of midnight).
FN_ANCHORS = [
    moment
    for moment in (parse_timestamp(value.strip()) for value in FN_TIMESTAMPS)
    if moment is not None and 1800 <= moment.year <= 2200
]
FN_STEPS = [timedelta(seconds=s) for s in (0, 1, -1, 3600, -3600, 82800, -82800)] + [
    timedelta(days=d) for d in (1, -1, 28, 29, 30, 31, 32, 183, 184, 365, 366, -365, -366)
]
FN_DAY_STEPS = (0, 0, 0, 1, -1, 2, -2, 30, 31, -30, -31, 182, 183, 184, -183, -184, 365, 366, -365, -366)


def _written(moment: datetime, pick: random.Random) -> str:
    """An instant as a v2 timestamp, with the offset in force in England or one of the others."""
    in_force = moment.astimezone(LONDON).utcoffset()
    offset = pick.choice(["+01:00", "+00:00", "Z", "-00:00", "in force", "in force"])
    if offset == "in force":
        offset = "+01:00" if in_force == timedelta(hours=1) else "+00:00"
    shift = timedelta(hours=1) if offset == "+01:00" else timedelta(0)
    return (moment.astimezone(UTC) + shift).strftime("%Y-%m-%dT%H:%M:%S") + offset


def _related(item: str, anchor: datetime, pick: random.Random) -> str:
    """A value of `item` near `anchor`: mostly a step from it, else an edge value, the base value or a blank."""
    roll = pick.random()
    if roll < 0.1:
        return ""
    if roll < 0.2:
        return V2_BASE[item]
    if roll < 0.35 or item not in FN_KINDS:
        return pick.choice(FN_EDGES.get(item, [V2_BASE[item]]))
    uk = anchor.astimezone(LONDON)
    kind = FN_KINDS[item]
    if kind == "timestamp":
        return _written(anchor + pick.choice(FN_STEPS), pick)
    if kind == "time":
        return (uk + pick.choice(FN_STEPS[:5])).strftime("%H:%M:%S")
    day = uk.date()
    step = pick.choice(["days", "days", "six months", "a month"])
    if step == "six months":
        day = v1_rules.six_months_on(day)
    elif step == "a month":
        day = v1_rules.one_calendar_month_on(day)
    return (day + timedelta(days=pick.choice(FN_DAY_STEPS))).isoformat()


FN_KINDS = {
    **dict.fromkeys(("procedure_start_timestamp", "procedure_end_timestamp", "report_issue_timestamp"), "timestamp"),
    **dict.fromkeys(("request_time", "request_received_time"), "time"),
    **dict.fromkeys(("request_date", "request_received_date", "person_birth_date"), "date"),
    "waiting_list_clock_start_date": "date",
}


def fn_rows(items: tuple[str, ...], order: list[str], seed: str) -> list[tuple[str, ...]]:
    """Rows of the V2 base with the rule's items from FN_EDGES (every combination, or FN_ROWS of them) and, for
    a rule reading a date, time or timestamp, FN_RELATED rows of related values."""
    pick = random.Random(seed)
    choices = [FN_EDGES.get(item, [V2_BASE[item]]) for item in items]
    if math.prod(map(len, choices)) <= FN_ROWS:
        combos = list(itertools.product(*choices))
    else:
        # a quarter blanks, so that rows with several items blank at once are not rare
        combos = [tuple(pick.choice(c) if pick.random() < 0.75 else "" for c in choices) for _ in range(FN_ROWS)]
    if any(item in FN_KINDS for item in items):
        for _ in range(FN_RELATED):
            anchor = pick.choice(FN_ANCHORS)
            combos.append(tuple(_related(item, anchor, pick) for item in items))
    rows = []
    for combo in combos:
        values = {**V2_BASE, **dict(zip(items, combo, strict=True))}
        rows.append(tuple(values[item] for item in order))
    return rows


@pytest.mark.parametrize("context", FN_CONTEXTS, ids=lambda c: c.period.strftime("%Y-%m"))
def test_v2_candidate_expressions_miss_no_row_a_rule_breaks(context: object) -> None:
    import polars as pl

    from conformance.check._columnar import Columns
    from conformance.check._columnar_v2 import NATIVE_V2
    from conformance.check._rows import Row, Setup
    from conformance.check.rules_v2 import RULES_V2

    pack = load_pack("v2")
    setup = Setup(pack, "v2", context, SYNTHETIC)  # type: ignore[arg-type]
    specs = {spec.id: spec for spec in pack.rules_for("v2")}
    assert set(NATIVE_V2) <= set(RULES_V2)
    order = [item.id for item in pack.items]
    missed: dict[str, list[dict[str, str]]] = {}
    for rule_id, native in NATIVE_V2.items():
        spec = specs[rule_id]
        if context is not FN_CONTEXTS[0] and "period" not in spec.needs and rule_id != "V2P-AFTER-SUBMISSION":
            continue  # the other contexts move the reporting period and the submission instant only
        rows = [Row(n, n, raw, None) for n, raw in enumerate(fn_rows(spec.items, order, rule_id))]
        columns = Columns(setup)
        expression = native(setup, columns)
        frame = pl.DataFrame(
            {f"v{p}": pl.Series([r.v[p] for r in rows], dtype=pl.String) for p in sorted(columns.positions)},
            height=len(rows),
        )
        batch = columns.with_shared(frame.lazy())
        picked = batch.select(expression.fill_null(False)).collect().to_series().to_list()
        fn = RULES_V2[rule_id](setup)
        for row, candidate in zip(rows, picked, strict=True):
            if candidate:
                continue
            try:
                broken = fn(row) is not None
            except (ValueError, OverflowError):
                broken = True  # the record engine raises here
            if broken:
                missed.setdefault(rule_id, []).append({item: row.raw[pack.index[item]] for item in spec.items})
    assert {rule: found[:3] for rule, found in missed.items()} == {}


def test_polars_keeps_the_uk_clock_as_python_does_from_1847_to_2099() -> None:
    """Every day at 00:30, 01:30 and 02:30 UTC (the UK clock has changed at 01:00, 02:00 or 03:00 local time), and
    not from 2100 (hence _columnar_exprs.UK_CLOCK_BEFORE: when Polars learns summer times past 2099, the bound
    can go)."""
    from conformance.check._columnar_exprs import UK_CLOCK_BEFORE, uk_clock_agrees, uk_clock_checked

    first, last = date(1847, 1, 1), UK_CLOCK_BEFORE.date()
    days = (first + timedelta(days=n) for n in range((last - first).days))
    assert uk_clock_agrees(
        datetime.combine(day, datetime.min.time(), UTC) + timedelta(minutes=minutes)
        for day in days
        for minutes in (30, 90, 150)
    )
    assert not uk_clock_agrees([datetime(2100, 7, 1, 12, tzinfo=UTC)])
    assert uk_clock_checked()


def test_when_the_uk_clocks_differ_every_timestamp_is_a_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    import polars as pl

    from conformance.check import _columnar_exprs as exprs

    monkeypatch.setattr(exprs, "uk_clock_checked", lambda: False)
    values = pl.Series(["2026-05-10T10:00:00+01:00", "", "x", "2026-05-10T10:00:00Z"])
    doubt = pl.DataFrame({"t": values}).select(exprs.timestamp_of(pl.col("t")).doubt).to_series()
    assert doubt.to_list() == [True, False, True, True]


@pytest.mark.parametrize("answer", [None, True], ids=["null", "literal-true"])
def test_a_candidate_expression_that_cannot_tell_still_gets_its_rows_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: bool | None
) -> None:
    # A null mask once counted as "passes" (fill_null(False)), and a bare literal gave a one-row mask frame: either
    # would let the columnar engine drop findings the record engine reports.
    import polars as pl

    from conformance.check import _columnar_rules

    path = tmp_path / "month.csv"
    generate(path, profile="v2", records=40, seed=3, period=date(2026, 5, 1), workers=1,
             mutate=["V2P-NHS-NUMBER-CHECK-DIGIT", "V2P-END-BEFORE-START"])  # fmt: skip
    rigged = {rule: (lambda s, cols: pl.lit(answer, dtype=pl.Boolean)) for rule in _columnar_rules.NATIVE_RULES}
    monkeypatch.setattr(_columnar_rules, "NATIVE_RULES", rigged)
    record, column = both(path, profile="v2", context=CONTEXTS["v2"], reference=SYNTHETIC)
    found = {(f["rule"], f["record"]) for f in json.loads(record)["findings"]}
    assert {r for r, _ in found} >= {"V2P-NHS-NUMBER-CHECK-DIGIT", "V2P-END-BEFORE-START"}
    assert record == column


# Accession numbers that are one key to a case-blind comparison, in ASCII and beyond it (Python's upper(): "ß" is
# "SS", "ǆ" is "Ǆ", the dotless "ı" is "I"), and ones that are not (the DSP compares letter case).
CASED_ACCESSIONS = ["abc1", "ABC1", "straße", "STRASSE", "ǆ7", "Ǆ7", "ı9", "I9", "é2", "É2", " ABC1", "abc1 "]


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal", "v2"])
@pytest.mark.parametrize("layout", ["csv", "xml"])
def test_duplicate_keys_in_any_letter_case_give_identical_reports(tmp_path: Path, profile: str, layout: str) -> None:
    pack = load_pack(profile)
    base = V2_BASE if profile == "v2" else V1_BASE
    rows = [{**base, "accession_number": a} for a in CASED_ACCESSIONS * 2]
    path = tmp_path / f"cased.{layout}"
    write_records([[r[i.id] for i in pack.items] for r in rows], path, pack=pack, format=layout)
    context = CONTEXTS[profile]
    record, column = both(path, profile=profile, context=context, reference=SYNTHETIC)
    assert record == column
    found = {(f["rule"], f["record"]) for f in json.loads(record)["findings"]}
    duplicate = "V2P-DUPLICATE-ACTIVITY" if profile == "v2" else "DIDS071"
    # each value's second writing (records 13-24) is a duplicate under any profile
    assert {(duplicate, n) for n in range(13, 25)} <= found


# Start timestamps of one activity (same site, accession and procedure): the same instant written four ways, another
# instant, an invalid value twice (compared as written), and an instant in year 999 twice (written by Python).
STARTS = [
    "2026-05-10T10:00:00+01:00", "2026-05-10T09:00:00Z", "2026-05-10T09:00:00+00:00", "2026-05-10T09:00:00-00:00",
    "2026-05-10T10:00:00Z", "2026-05-10T24:00:00Z", "2026-05-10T24:00:00Z", "0999-05-01T10:00:00+01:00",
    "0999-05-01T09:00:00Z",
]  # fmt: skip


@pytest.mark.parametrize("layout", ["csv", "xml"])
def test_duplicate_starts_compared_as_instants_give_identical_reports(tmp_path: Path, layout: str) -> None:
    # the columnar engine writes a start's instant from the reading the rules share (Columns.stamp), Python beyond
    # the years 1001-9998
    pack = load_pack("v2")
    rows = [{**V2_BASE, "procedure_start_timestamp": start} for start in STARTS]
    path = tmp_path / f"starts.{layout}"
    write_records([[r[i.id] for i in pack.items] for r in rows], path, pack=pack, format=layout)
    record, column = both(path, profile="v2", context=CONTEXTS["v2"], reference=SYNTHETIC)
    assert record == column
    found = {f["record"] for f in json.loads(record)["findings"] if f["rule"] == "V2P-DUPLICATE-ACTIVITY"}
    assert found == {1, 2, 3, 4, 6, 7, 8, 9}  # every record of the three groups; the other instant (5) in none


def test_values_holding_the_batch_separators_give_identical_reports(tmp_path: Path) -> None:
    # ColumnarRun.frame joins a batch's values with \x1f and \x1e for Polars to split: a CSV value holding either
    # must be built another way (XML 1.0 cannot hold them)
    pack, layout = load_pack("v2"), "csv"
    accessions = ["A\x1fB", "C\x1eD", "E\x1f\x1eF", "G"] * 3
    rows = [{**V2_BASE, "accession_number": a} for a in accessions]
    path = tmp_path / f"separators.{layout}"
    write_records([[r[i.id] for i in pack.items] for r in rows], path, pack=pack, format=layout)
    record, column = both(path, profile="v2", context=CONTEXTS["v2"], reference=SYNTHETIC)
    assert record == column
    found = json.loads(record)
    assert found["records"] == 12
    values = {f["value"] for f in found["findings"] if f["rule"] == "V2P-DUPLICATE-ACTIVITY"}
    assert {"A\x1fB", "C\x1eD"} <= values


# Keys whose values, joined with the key separator (\x1f) as they were before the seventh session, read alike: each
# pair differs in where one value ends, so none is a duplicate. Found by a differential probe of the two engines,
# which agreed on the false duplicate; the separator and its escape (\x1e) are now escaped in a value. Inside the
# values, as Python's strip() takes both from a value's ends.
SPLIT_KEYS = [("A", "B\x1fC"), ("A\x1fB", "C"), ("D\x1eE\x1fF", "G"), ("D\x1eE", "F\x1fG")]


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal", "v2"])
def test_values_holding_the_key_separator_are_not_duplicates_of_other_splits(tmp_path: Path, profile: str) -> None:
    pack = load_pack(profile)
    base = V2_BASE if profile == "v2" else V1_BASE
    first, second = ("accession_number", "site_code") if profile != "v2" else ("site_code", "accession_number")
    assert list(pack.uniqueness.key[:2]) == [first, second]  # the two values are next to each other in the key
    # after plain rows (a file that starts with control bytes is not taken for text), and one true duplicate
    keys = [*((f"Z{n}", "S") for n in range(40)), *SPLIT_KEYS, ("A", "B\x1fC")]
    rows = [{**base, first: a, second: b} for a, b in keys]
    path = tmp_path / "split.csv"
    write_records([[r[i.id] for i in pack.items] for r in rows], path, pack=pack, format="csv")
    record, column = both(path, profile=profile, context=CONTEXTS[profile], reference=SYNTHETIC)
    assert record == column
    report = json.loads(record)
    assert report["records"] == len(keys)
    duplicate = "V2P-DUPLICATE-ACTIVITY" if profile == "v2" else "DIDS071"
    assert {(f["rule"], f["record"]) for f in report["findings"] if f["rule"] == duplicate} == {
        (duplicate, 41),
        (duplicate, 45),
    }


_KEY_VALUES = st.lists(st.text(alphabet="a\x1e\x1f", max_size=4), min_size=1, max_size=3)


@given(_KEY_VALUES, _KEY_VALUES)
def test_two_keys_share_a_text_only_when_their_values_are_the_same(first: list[str], second: list[str]) -> None:
    # the escape makes the text readable back into its values, so no two lists of values share one
    assert (key_text(first) == key_text(second)) == (first == second)


@pytest.mark.parametrize("layout", ["csv", "xml"])
def test_an_upgraded_month_whose_every_record_breaks_rules_gives_identical_reports(tmp_path: Path, layout: str) -> None:
    # dids upgrade leaves the items v1 cannot know blank: every record breaks several rules, so each batch's rows
    # are looked at rule after rule (ColumnarRun.breaking puts them in file order without holding their findings)
    from v1_to_v2 import upgrade

    source = tmp_path / f"v1.{layout}"
    generate(source, profile="v1-dsp", format=layout, records=90, seed=11, period=date(2026, 5, 1))
    upgraded = tmp_path / f"v2.{layout}"
    upgrade(source, upgraded, check_output=False)
    record, column = both(upgraded, profile="v2", context=CONTEXTS["v2"], reference=SYNTHETIC)
    assert record == column
    report = json.loads(record)
    broken: dict[int, set[str]] = {}
    for finding in report["findings"]:
        broken.setdefault(finding["record"], set()).add(finding["rule"])
    assert report["records"] == 90 and sum(report["counts"].values()) >= 3 * 90
    assert "V2P-EVALUATION-INDICATOR-BLANK" in broken.get(90, set())  # the last record too, after many batches


@pytest.mark.parametrize("block_bytes", [700, 8 << 20])
def test_a_headerless_files_first_row_joins_the_first_block_with_identical_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    # A v1 CSV file has no header: its first row is read on its own, then joins the first block of plain rows
    # (run_columnar). The first row and a row of the block break a rule; the first row's key comes again in the
    # block and in a later one.
    monkeypatch.setattr(columnar, "BLOCK_BYTES", block_bytes)
    pack = load_pack("v1-dsp")
    rows = [{**V1_BASE, "accession_number": f"ACC{n}"} for n in range(1, 41)]
    for broken in (0, 2):  # a wrong check digit: DIDS001 on record 1 and on the block's second row
        rows[broken] = {**rows[broken], "nhs_number": "9999999990"}
    rows[4] = {**rows[4], "accession_number": "ACC1"}
    rows[35] = {**rows[35], "accession_number": "ACC1"}
    path = tmp_path / "headerless.csv"
    write_records([[r[i.id] for i in pack.items] for r in rows], path, pack=pack, format="csv")
    assert not path.read_bytes().startswith(b"nhs_number")
    record, column = both(path, profile="v1-dsp", context=CONTEXTS["v1-dsp"], reference=SYNTHETIC)
    assert record == column
    found = {(f["rule"], f["record"], f["line"]) for f in json.loads(record)["findings"]}
    assert {("DIDS001", 1, 1), ("DIDS001", 3, 3), ("DIDS071", 5, 5), ("DIDS071", 36, 36)} <= found


@pytest.mark.parametrize("preset", [None, "narenas:2"])
def test_a_columnar_check_gives_polars_one_allocator_arena_unless_the_user_chose(
    tmp_path: Path, preset: str | None
) -> None:
    # _engine._one_allocator_arena: set before Polars is imported, which appends it to its own settings
    import os
    import subprocess
    import sys

    path = tmp_path / "month.csv"
    generate(path, profile="v1-dsp", format="csv", records=20, seed=3, period=date(2018, 8, 1))
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if preset is not None:
        env["_RJEM_MALLOC_CONF"] = preset
    script = (
        "import os, sys\n"
        "from conformance.check import check\n"
        "report = check(sys.argv[1], profile='v1-dsp', engine='columnar')\n"
        "print(report.records, 'polars' in sys.modules, os.environ.get('_RJEM_MALLOC_CONF'))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], env=env, capture_output=True, text=True, check=True)
    records, imported, setting = out.stdout.split()
    assert (records, imported) == ("20", "True")
    assert setting.split(",")[-1] == (preset or "narenas:1")  # Polars puts its own first


@pytest.mark.parametrize("engine", ["record", "columnar"])
@pytest.mark.parametrize(
    ("item", "rule", "values"),
    [
        ("nhs_number", "DIDS001", ["-0", "0", "-999156550", "999156550"]),  # one number once cleansed
        ("person_gender_code", "DIDS014", [" 3", "3", "3 ", " 3"]),  # one code once trimmed
    ],
)
def test_a_finding_shows_its_own_records_value_where_the_dsp_reads_two_values_alike(
    tmp_path: Path, engine: str, item: str, rule: str, values: list[str]
) -> None:
    # The record engine caches a rule's answer by the values as read, not as the DSP's cleansing leaves them: a
    # cached finding would show the first record's value (found by a hostile review: "-0" shown for "0")
    pack = load_pack("v1-dsp")
    rows = [{**V1_BASE, "accession_number": f"ACC{n}", item: value} for n, value in enumerate(values, 1)]
    path = tmp_path / "alike.csv"
    write_records([[r[i.id] for i in pack.items] for r in rows], path, pack=pack, format="csv")
    report = json.loads(to_json(check(path, profile="v1-dsp", context=CONTEXTS["v1-dsp"], engine=engine)))
    shown = {f["record"]: f["value"] for f in report["findings"] if f["rule"] == rule}
    assert shown == dict(enumerate(values, 1))
