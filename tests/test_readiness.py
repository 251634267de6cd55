"""dids readiness: what stands between a v1 extract and a clean v2.0 submission, by topic and level."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

from conformance.cli import run
from conformance.formats import write_records
from conformance.spec import load_pack
from generators.breaks import V1_BASE
from generators.generate import generate
from v1_to_v2 import readiness

V1 = load_pack("v1")


def topics(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f.topic: f.level for f in result.findings}


def test_a_2026_extract_with_local_codes(tmp_path: Path) -> None:
    path, table = tmp_path / "may.csv", tmp_path / "map.csv"
    generate(path, profile="v1-dsp", records=2_000, seed=3, period=date(2026, 5, 1), local_codes=table)
    without = readiness(path, reference="synthetic", today=date(2026, 6, 10))
    assert topics(without)["v1-after-april-2026"] == "blocking"
    assert topics(without)["unmapped-local-codes"] == "blocking"
    assert topics(without)["items-v1-cannot-supply"] == "action"
    assert without.blocking
    assert without.months == {
        "2026-05": {"records": 2_000, "status": "v2.0; submit by 2026-11-30 (window of 6 months)"}
    }
    mapped = readiness(path, reference="synthetic", local_codes=table, submitter="X9T", today=date(2026, 6, 10))
    assert "unmapped-local-codes" not in topics(mapped) and topics(mapped)["mapped-local-codes"] == "action"
    unmapped = next(f for f in without.findings if f.topic == "unmapped-local-codes")
    local = next(f for f in mapped.findings if f.topic == "mapped-local-codes")
    assert unmapped.count == local.count and unmapped.count is not None and 400 < unmapped.count < 800


def test_an_older_extract_windows_and_collapse_signals(tmp_path: Path) -> None:
    def row(**changes: str) -> list[str]:
        values = {**V1_BASE, **changes}
        return [values[item.id] for item in V1.items]

    rows = [
        row(),
        row(accession_number="ACC0002", imaging_code_nicip="MDYHNC", imaging_code_snomed=""),  # same patient, day, site
        row(accession_number="ACC0003", site_code="X9T02"),  # another site: not the same examination day there
        row(accession_number="ACC0004", test_date="2018-05-02", report_issue_date="2018-05-03"),
    ]
    path = tmp_path / "old.xml"
    write_records(rows, path, pack=V1, format="xml")
    result = readiness(path, reference="synthetic", today=date(2018, 9, 10))
    found = {f.topic: f for f in result.findings}
    assert found["most-complex-code-collapse"].count == 1
    assert found["multi-part-codes"].count == 1 and "MDYHNC" in found["multi-part-codes"].examples[0]
    assert "v1-after-april-2026" not in found and not result.blocking
    assert result.months["2018-08"]["status"] == "v1; accepted without warning until 2018-11-30"
    assert result.months["2018-05"]["status"] == "v1; accepted with a warning until 2018-11-30 (DIDS049)"


def test_cli_text_json_and_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "may.csv"
    generate(path, profile="v1-dsp", records=300, seed=3, period=date(2026, 5, 1))
    out = io.StringIO()
    assert run(["readiness", str(path), "--today", "2026-06-10"], out, io.StringIO()) == 1
    assert "NOT READY" in out.getvalue() and "v2.0 items the v1 extract cannot supply" in out.getvalue()
    out = io.StringIO()
    assert run(["readiness", str(path), "--today", "2026-06-10", "--format", "json"], out, io.StringIO()) == 1
    data = json.loads(out.getvalue())
    assert data["ready"] is False and data["records"] == 300
    old = tmp_path / "old.csv"
    generate(old, profile="v1-dsp", records=300, seed=3, period=date(2018, 8, 1))
    assert run(["readiness", str(old), "--today", "2018-09-10"], io.StringIO(), io.StringIO()) == 0
    err = io.StringIO()
    (tmp_path / "v2.csv").write_text("")
    assert run(["readiness", str(tmp_path / "v2.csv")], io.StringIO(), err) == 2
    assert run(["readiness", str(old), "--local-codes", str(path)], io.StringIO(), err) == 2
