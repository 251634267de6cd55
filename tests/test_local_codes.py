"""v1 local exam codes: the generator sends some, with the trust's mapping table (nicip_local_mappings shape);
the checker maps them before the rules run when given the table and the submitter, as the DSP does."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

from conformance.check import check, load_reference, make_context
from conformance.check.reference import load_local_mappings
from conformance.cli import run
from conformance.spec import load_pack
from generators.generate import generate
from generators.local_codes import LOCAL_CODES

SYNTHETIC = load_reference("synthetic")
PEER_MAPPINGS = Path(__file__).parent.parent / "fixtures/peer/nhse-dsp-dids-v1/json/dids/dids.nicip_local_mappings.json"


def test_local_codes_are_rejected_without_the_table_and_accepted_with_it(tmp_path: Path) -> None:
    path, table, key_path = tmp_path / "month.csv", tmp_path / "map.csv", tmp_path / "key.json"
    generate(
        path, profile="v1-dsp", records=1_500, seed=5, period=date(2018, 8, 1), local_codes=table, answer_key=key_path
    )
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))  # the v1 DSP layout has no header row
    at = load_pack("v1").index["imaging_code_nicip"]
    local = {n for n, r in enumerate(rows, 1) if r[at] in set(LOCAL_CODES.values())}
    assert 0.2 * len(rows) < len(local) < 0.4 * len(rows)
    without = check(
        path, profile="v1-dsp", context=make_context("2018-09-10T09:00"), reference=SYNTHETIC, max_examples=10_000
    )
    assert {(f.rule, f.record) for f in without.findings} == {("DIDS057", n) for n in local}
    key = json.loads(key_path.read_text(encoding="utf-8"))
    assert key["check_with"]["local_mappings"] == str(table) and key["check_with"]["submitter"] == "X9T"
    mapped = load_local_mappings(table)
    reference = replace(SYNTHETIC, local_nicip=mapped)
    context = make_context("2018-09-10T09:00", submitter="X9T")
    assert check(path, profile="v1-dsp", context=context, reference=reference).findings == []
    # another submitter's file is not mapped with X9T's table
    other = make_context("2018-09-10T09:00", submitter="X9Z")
    assert check(path, profile="v1-dsp", context=other, reference=reference).counts["DIDS057"] == len(local)


def test_the_peer_mapping_table_loads_in_its_own_shape() -> None:
    mapped = load_local_mappings(PEER_MAPPINGS)
    assert mapped[("RK5", "FJDPMJ")] == "FJSTJ"
    assert len(mapped) >= 5


def test_local_code_options_refuse_what_cannot_work(tmp_path: Path) -> None:
    err = io.StringIO()
    argv = ["generate", "--profile", "v2", "--local-codes", str(tmp_path / "m.csv"), "-o", str(tmp_path / "x.csv")]
    assert run(argv, io.StringIO(), err) == 2
    assert "v1 only" in err.getvalue()
    generate(tmp_path / "v1.csv", profile="v1-dsp", records=10, period=date(2018, 8, 1))
    argv = ["check", str(tmp_path / "v1.csv"), "--local-mappings", str(tmp_path / "nowhere.csv"), "--submitter", "X9T"]
    assert run(argv, io.StringIO(), err) == 2
    assert run(["check", str(tmp_path / "v1.csv"), "--local-mappings", str(PEER_MAPPINGS)], io.StringIO(), err) == 2
    assert "needs --submitter" in err.getvalue()
