"""Mutants and answer keys: every rule of every profile has an operator, and a file carrying every operator gets
exactly the findings its answer key lists, as (rule, record, field), in CSV and XML, in the base period and
others; submission mutations, data-quality scenarios, and clear refusals of what cannot be made."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest

from conformance.check import check, load_reference, make_context
from conformance.cli import run
from conformance.spec import PROFILES, load_pack
from generators.generate import generate
from generators.mutations import FIXED_PERIODS, MutationError, every_mutable_rule, operators, shift_value
from generators.scenarios import SCENARIOS
from generators.stats import completeness

SYNTHETIC = load_reference("synthetic")
Found = set[tuple[str, int | None, str | None]]


def checked(path: Path, key: dict) -> Found:  # type: ignore[type-arg]
    context = make_context(key["check_with"]["submitted"], period=key["check_with"].get("period"))
    report = check(path, profile=key["profile"], context=context, reference=SYNTHETIC, max_examples=1_000_000)
    # Nothing is left unevaluated for want of data; a file the DSP's loader rejects reports that alone (v1-dsp).
    assert all("loader rejects" in n.reason for n in report.not_evaluated)
    return {(f.rule, f.record, f.field) for f in report.findings}


def expected(key: dict) -> Found:  # type: ignore[type-arg]
    return {(e["rule"], e["record"], e["field"]) for e in key["expected_findings"]}


def make(tmp_path: Path, profile: str, fmt: str, period: date, records: int = 600, **options):  # type: ignore[no-untyped-def]
    path, key_path = tmp_path / f"mutant.{fmt}", tmp_path / "key.json"
    generate(path, profile=profile, format=fmt, records=records, seed=3, period=period, answer_key=key_path, **options)
    return path, json.loads(key_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_rule_of_every_profile_has_an_operator(profile: str) -> None:
    pack = load_pack(PROFILES[profile])
    ops = operators(pack.version)
    assert {r.id for r in pack.rules_for(profile)} <= set(ops)
    # ... and every rule can be broken in some format and period by the generator
    mutable = {
        rule
        for fmt in ("csv", "xml")
        for period in (date(2018, 8, 1), date(2026, 5, 1))
        if PROFILES[profile] == ("v1" if period.year == 2018 else "v2")
        for rule in every_mutable_rule(profile, fmt, period)
    }
    submission = {r for r, op in ops.items() if op.kind == "submission"}
    assert {r.id for r in pack.rules_for(profile)} == mutable | (submission & {r.id for r in pack.rules_for(profile)})


CASES = [
    ("v1-dsp", date(2018, 8, 1)),
    ("v1-portal", date(2018, 8, 1)),
    ("v2", date(2026, 5, 1)),
    ("v1-dsp", date(2019, 2, 1)),  # another period: the canonical timeline moves with it
    ("v2", date(2026, 10, 1)),  # BST ends in the month: offsets are recomputed for the new days
]


@pytest.mark.parametrize(("profile", "period"), CASES)
@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_every_operator_gets_exactly_the_findings_its_key_lists(
    tmp_path: Path, profile: str, fmt: str, period: date
) -> None:
    rules = every_mutable_rule(profile, fmt, period)
    path, key = make(tmp_path, profile, fmt, period, mutate=rules)
    assert [m["rule"] for m in key["mutations"]] == rules
    assert checked(path, key) == expected(key)
    # v1-dsp, CSV: the DSP's loader rejects a file with a malformed row and reports nothing else.
    loader_reject = profile == "v1-dsp" and fmt == "csv" and any(m["kind"] == "layout" for m in key["mutations"])
    for mutation in key["mutations"]:
        found = any(e["rule"] == mutation["rule"] for e in key["expected_findings"])
        assert found or (loader_reject and mutation["kind"] != "layout"), mutation["rule"]
        assert mutation["changes"], mutation["rule"]
        assert all(c["before"] != c["after"] for c in mutation["changes"]), mutation["rule"]


def test_a_single_mutation_breaks_only_its_rule_and_names_before_and_after(tmp_path: Path) -> None:
    path, key = make(tmp_path, "v2", "csv", date(2026, 5, 1), mutate=["V2P-TREATMENT-FUNCTION-CODE"])
    (mutation,) = key["mutations"]
    change = next(c for c in mutation["changes"] if c["field"] == "treatment_function_code")
    assert change["after"] == "999" and change["before"] != "999"
    assert checked(path, key) == {("V2P-TREATMENT-FUNCTION-CODE", mutation["record"], "treatment_function_code")}


@pytest.mark.parametrize(
    ("rule", "period", "also"),
    [
        ("V2P-WINDOW-CLOSED", date(2026, 5, 1), set()),
        ("V2P-WINDOW-CLOSED", date(2027, 4, 1), set()),  # three months from April 2027
        # A v2 month keeps every timestamp inside its period (V2P-REPORT-AFTER-PERIOD): nothing is after a
        # submission at 23:59 on its last day (tests/test_check_v2.py breaks V2P-AFTER-SUBMISSION itself).
        ("V2P-WINDOW-NOT-OPEN", date(2026, 5, 1), set()),
        ("V2P-PERIOD-BEFORE-V2", date(2026, 3, 1), {"V2P-BEFORE-V2"}),
    ],
)
def test_submission_mutations_change_the_check_context(tmp_path: Path, rule: str, period: date, also: set[str]) -> None:
    path, key = make(tmp_path, "v2", "csv", period, records=300, mutate=[rule])
    assert checked(path, key) == expected(key)
    assert {e["rule"] for e in key["expected_findings"]} == {rule} | also
    assert (rule, None, None) in expected(key)


def test_what_cannot_be_made_is_refused_with_a_reason(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    refusals = [
        ({"profile": "v2", "format": "xml", "mutate": ["V2P-CSV-LAYOUT"]}, "cannot be broken in xml"),
        ({"profile": "v1-portal", "mutate": ["DIDS003"], "period": date(2018, 8, 1)}, None),  # fine: control
        ({"profile": "v2", "mutate": ["DIDS075"]}, "not a rule of profile v2"),
        ({"profile": "v1-dsp", "mutate": ["DIDS077"], "period": date(2020, 1, 1)}, "needs a period"),
        ({"profile": "v2", "mutate": ["V2P-WINDOW-CLOSED", "V2P-SITE-KNOWN"]}, "make it alone"),
        ({"profile": "v2", "mutate": ["V2P-SITE-KNOWN"], "records": 1}, "need at least 2 records"),
    ]
    for options, reason in refusals:
        options = {"records": 100, **options}
        if reason is None:
            generate(out, **options)
            continue
        with pytest.raises(MutationError, match=reason):
            generate(out, **options)
    err = io.StringIO()
    assert run(["generate", "--mutate", "NOPE", "-o", str(out)], io.StringIO(), err) == 2
    assert "NOPE is not a rule of profile v2" in err.getvalue()


def test_shifting_keeps_month_ends_offsets_and_deliberate_errors() -> None:
    assert shift_value("2018-05-31", 1) == "2018-06-30"
    assert shift_value("2018-04-30", 1) == "2018-05-31"  # the last day stays the last day
    assert shift_value("1961-03-14", 7) == "1961-03-14"  # before 2000: a birth date or a floor, not moved
    assert shift_value("2018-08-32", 3) == "2018-08-32"
    assert shift_value("2026-05-09T10:30:00+01:00", 6) == "2026-11-09T10:30:00+00:00"
    assert shift_value("2026-05-09T09:30:00+00:00", 6) == "2026-11-09T09:30:00+01:00"  # wrong on purpose, still
    assert shift_value("2026-05-09T10:30:00+02:00", 6) == "2026-11-09T10:30:00+02:00"


@pytest.mark.parametrize("profile", ["v1-dsp", "v2"])
def test_scenarios_get_the_findings_their_key_lists_and_show_in_stats(tmp_path: Path, profile: str) -> None:
    period = date(2018, 8, 1) if profile == "v1-dsp" else date(2026, 5, 1)
    names = [s for s in SCENARIOS if s != "missing-month"]
    path, key = make(tmp_path, profile, "csv", period, records=3_000, scenarios=names)
    assert [s["scenario"] for s in key["scenarios"]] == names
    duplicates = next(s for s in key["scenarios"] if s["scenario"] == "duplicated-activity")["records"]
    assert len(duplicates) >= 5
    assert checked(path, key) == expected(key)
    assert {e["rule"] for e in key["expected_findings"]} == (
        {"DIDS071"}
        if profile == "v1-dsp"
        else {"V2P-DUPLICATE-ACTIVITY", "V2P-REQUEST-TIME-BLANK", "V2P-RECEIVED-TIME-BLANK"}  # times left blank
    )
    stats = completeness(path)
    assert stats.present["report_issue_date"] == 0.0
    assert stats.distributions["patient_source_setting"] == {"07": 3_000}


def test_missing_month_leaves_one_month_out_and_says_which(tmp_path: Path) -> None:
    out = io.StringIO()
    folder, key_path = tmp_path / "months", tmp_path / "key.json"
    argv = ["generate", "--months", "3", "--records", "200", "--scenario", "missing-month"]
    assert run([*argv, "--answer-key", str(key_path), "-o", str(folder)], out, io.StringIO()) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["v2-2026-04.csv", "v2-2026-06.csv"]
    key = json.loads(key_path.read_text(encoding="utf-8"))
    assert key["missing_month"] == "2026-05"
    assert [m["period"] for m in key["months"]] == ["2026-04", "2026-06"]
    err = io.StringIO()
    assert run(["generate", "--scenario", "missing-month", "-o", str(tmp_path / "one.csv")], out, err) == 2
    assert "needs several months" in err.getvalue()


def test_fixed_period_rules_are_declared_for_the_codes_the_reference_retires() -> None:
    for rule, (first, last) in FIXED_PERIODS.items():
        assert first <= "2018-08" <= last, rule
