"""Generated files: deterministic, valid by construction for every profile and format, Table C completeness,
999-range NHS numbers, and the v2.0 semantics (several activities per accession, screening, BST offsets)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from conformance.check import check, load_reference, make_context
from conformance.cli import run
from conformance.identifiers import is_valid_nhs_number
from conformance.spec import PROFILES
from generators.generate import generate
from generators.mutations import submission_context
from generators.service import TABLE_C_2024_25
from generators.stats import completeness

SYNTHETIC = load_reference("synthetic")
PERIODS = {"v1-dsp": date(2018, 8, 1), "v1-portal": date(2018, 8, 1), "v2": date(2026, 4, 1)}


def context_for(profile: str, period: date):  # type: ignore[no-untyped-def]
    """The context a generated month is meant for (the 10th of the next month, 09:00), as its answer key says."""
    context = submission_context(PROFILES[profile], period)
    return make_context(context["submitted"], period=context.get("period"))


@pytest.mark.parametrize("profile", sorted(PERIODS))
@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_generated_files_are_accepted_with_no_findings_at_all(tmp_path: Path, profile: str, fmt: str) -> None:
    """The issue's acceptance size: 100,000 records of every profile and format."""
    path = tmp_path / f"month.{fmt}"
    assert generate(path, profile=profile, format=fmt, records=100_000, seed=11, period=PERIODS[profile]) == 100_000
    report = check(path, profile=profile, context=context_for(profile, PERIODS[profile]), reference=SYNTHETIC)
    assert report.records == 100_000
    assert dict(report.counts) == {}
    assert report.not_evaluated == []
    assert report.verdict == "accepted"


@pytest.mark.parametrize(("profile", "fmt"), [("v2", "xml"), ("v1-dsp", "csv")])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, profile: str, fmt: str) -> None:
    paths = [tmp_path / f"{name}.{fmt}" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (5, 5, 6), strict=True):
        generate(path, profile=profile, format=fmt, records=2_000, seed=seed, period=PERIODS[profile])
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b
    assert a != c


def test_same_bytes_in_any_time_zone(tmp_path: Path) -> None:
    here = tmp_path / "here.csv"
    generate(here, profile="v2", format="csv", records=1_500, seed=9, period=date(2026, 10, 1))
    for zone in ("America/New_York", "Asia/Kolkata"):
        there = tmp_path / f"{zone.replace('/', '_')}.csv"
        env = {**os.environ, "TZ": zone}
        code = "import sys; from conformance.cli import main; sys.exit(main())"
        argv = ["generate", "--records", "1500", "--seed", "9", "--period", "2026-10", "-o", str(there)]
        subprocess.run([sys.executable, "-c", code, *argv], env=env, check=True, capture_output=True)
        assert there.read_bytes() == here.read_bytes()


@pytest.mark.parametrize("profile", ["v1-dsp", "v2"])
def test_completeness_is_within_one_point_of_table_c(tmp_path: Path, profile: str) -> None:
    path = tmp_path / "month.csv"
    generate(path, profile=profile, format="csv", records=20_000, seed=2, period=PERIODS[profile])
    stats = completeness(path)
    assert set(stats.present) == set(TABLE_C_2024_25)
    for field, pct in stats.present.items():
        assert abs(pct - TABLE_C_2024_25[field]) <= 1.0, (field, pct)


def test_every_nhs_number_is_a_valid_999_number(tmp_path: Path) -> None:
    path = tmp_path / "month.csv"
    generate(path, profile="v2", format="csv", records=5_000, seed=4)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    numbers = {r["NHS_NUMBER"] for r in rows if r["NHS_NUMBER"]}
    assert len(numbers) > 1_000
    assert all(n.startswith("999") and is_valid_nhs_number(n) for n in numbers)


def test_v2_records_every_activity_screening_and_the_offset_in_force(tmp_path: Path) -> None:
    """October 2026: BST ends on the 25th, so both offsets appear; events with several procedures share an
    accession number; lung-screening referrals carry source setting 08."""
    path = tmp_path / "october.csv"
    generate(path, profile="v2", format="csv", records=8_000, seed=8, period=date(2026, 10, 1))
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_accession: dict[str, int] = {}
    for r in rows:
        by_accession[r["RADIOLOGICAL_ACCESSION_NUMBER"]] = by_accession.get(r["RADIOLOGICAL_ACCESSION_NUMBER"], 0) + 1
    assert max(by_accession.values()) >= 2
    starts = [r["CODED_PROCEDURE_START_TIMESTAMP"] for r in rows]
    assert any(s.startswith("2026-10-2") and s.endswith("+01:00") for s in starts)
    assert any(s.startswith("2026-10-3") and s.endswith("+00:00") for s in starts)
    assert any(r["PATIENT_SOURCE_SETTING_TYPE"] == "08" for r in rows)
    report = check(path, profile="v2", context=context_for("v2", date(2026, 10, 1)), reference=SYNTHETIC)
    assert dict(report.counts) == {}


def test_cli_generate_and_stats(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "g.xml"
    argv = ["generate", "--profile", "v1-dsp", "--layout", "xml", "--records", "300", "--seed", "1", "-o", str(path)]
    assert run(argv, out, err) == 0
    assert "300 v1-dsp records (xml) for 2018-08" in out.getvalue()
    out = io.StringIO()
    assert run(["stats", str(path)], out, err) == 0
    assert "300 record(s), DIDS v1" in out.getvalue() and "Table C 2024/25" in out.getvalue()
    assert run(["generate", "--period", "2026-13", "-o", str(path)], io.StringIO(), err) == 2


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_worker_processes_write_the_same_bytes_as_one_process(tmp_path: Path, fmt: str) -> None:
    paths = [tmp_path / f"w{workers}.{fmt}" for workers in (1, 2)]
    for path, workers in zip(paths, (1, 2), strict=True):
        generate(path, profile="v2", format=fmt, records=12_000, seed=3, period=date(2026, 10, 1), workers=workers)
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_blocks_cover_the_month_exactly_and_in_order() -> None:
    from generators.service import BLOCK_RECORDS, blocks

    month = blocks(date(2026, 2, 1), 300_000)
    assert sum(b.records for b in month) == 300_000
    assert {b.day.day for b in month} == set(range(1, 29))
    assert all(0 < b.records <= BLOCK_RECORDS for b in month)
    assert [b.first_record for b in month] == [1 + sum(b.records for b in month[:i]) for i in range(len(month))]
