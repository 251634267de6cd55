"""The Hypothesis strategies vendors use: valid by construction (checked with our checker and the synthetic
reference), `breaks=RULE` breaks exactly what its operator says, arguments checked when the strategy is made."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import InvalidArgument

from conformance.check import check, load_reference, make_context
from conformance.formats import write_records
from conformance.identifiers import is_valid_nhs_number
from conformance.spec import PROFILES, load_pack
from generators.mutations import operators, submission_context
from generators.strategies import nhs_numbers, records, submissions

SYNTHETIC = load_reference("synthetic")
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def findings(rows: list[list[str]], profile: str, period: date, fmt: str = "csv") -> set[tuple[str, int | None]]:
    version = PROFILES[profile]
    context = submission_context(version, period)
    with TemporaryDirectory() as tmp:
        path = Path(tmp, f"f.{fmt}")
        write_records(rows, path, pack=load_pack(version), format=fmt)
        report = check(
            path,
            profile=profile,
            context=make_context(context["submitted"], period=context.get("period")),
            reference=SYNTHETIC,
        )
    return {(f.rule, f.record) for f in report.findings}


@given(nhs_numbers())
def test_nhs_numbers_are_valid_999_numbers(number: str) -> None:
    assert number.startswith("999") and len(number) == 10 and is_valid_nhs_number(number)


@given(nhs_numbers(valid=False))
def test_invalid_nhs_numbers_are_999_numbers_that_fail_the_check(number: str) -> None:
    assert number.startswith("999") and len(number) == 10 and not is_valid_nhs_number(number)


@pytest.mark.parametrize(("profile", "period"), [("v1-dsp", date(2018, 8, 1)), ("v2", date(2026, 10, 1))])
def test_records_are_valid_for_their_profile(profile: str, period: date) -> None:
    @FAST
    @given(records(profile=profile, period=period))
    def inner(row: list[str]) -> None:
        assert findings([row], profile, period) == set()

    inner()


RECORD_RULES = [
    (profile, period, rule)
    for profile, period in (("v1-dsp", date(2018, 8, 1)), ("v1-portal", date(2018, 8, 1)), ("v2", date(2026, 5, 1)))
    for rule, op in sorted(operators(PROFILES[profile]).items())
    if op.kind == "record"
    and rule in {r.id for r in load_pack(PROFILES[profile]).rules_for(profile)}
    and (profile != "v1-portal" or rule.startswith("V1P-"))  # the rest are v1-dsp's too, tested there
]


@pytest.mark.parametrize(("profile", "period", "rule"), RECORD_RULES)
def test_records_that_break_a_rule_break_exactly_it(profile: str, period: date, rule: str) -> None:
    """Every record operator, on records Hypothesis picks (not just the file tests' targets)."""
    also = operators(PROFILES[profile])[rule].also

    @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(records(profile=profile, period=period, breaks=rule))
    def inner(row: list[str]) -> None:
        assert {r for r, _ in findings([row], profile, period)} == {rule} | also

    inner()


@FAST
@given(submissions(profile="v1-portal", format="xml", max_records=20))
def test_submissions_are_accepted_whole(submission) -> None:  # type: ignore[no-untyped-def]
    assert 1 <= len(submission.rows) <= 20
    with TemporaryDirectory() as tmp:
        path = Path(tmp, "s.xml")
        path.write_text(submission.text(), encoding="utf-8")
        report = check(
            path, profile="v1-portal", context=make_context(submission.context["submitted"]), reference=SYNTHETIC
        )
    assert report.records == len(submission.rows)
    assert report.findings == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: records(profile="v3"), "profile"),
        (lambda: records(profile="v2", period=date(2026, 3, 1)), "before DIDS v2.0"),
        (lambda: records(profile="v2", breaks="DIDS001"), "not a record-level rule"),
        (lambda: records(profile="v2", breaks="V2P-DUPLICATE-ACTIVITY"), "not a record-level rule"),
        (lambda: records(profile="v1-dsp", breaks="DIDS077", period=date(2020, 1, 1)), "needs a period"),
        (lambda: submissions(min_records=5, max_records=2), "min_records"),
        (lambda: submissions(format="json"), "format"),
        (lambda: nhs_numbers(valid="yes"), "valid"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_fail_when_the_strategy_is_made(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument, match=message):
        make()
