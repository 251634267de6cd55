"""The engine's caching (rule groups answered by their items' values, regrouped after a trial) gives exactly the
findings of running every rule on every record. The files are longer than the trial, so the regrouped plan runs
too, and breaking records repeat, so cached answers that carry findings are reused for other records."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import test_check_v1
import test_check_v2

from conformance.check import check, load_reference, make_context, rule_tables
from conformance.check._engine import RuleGroup
from conformance.check._rows import Row, Setup
from conformance.check._spark import dsp_values
from conformance.formats import open_submission, write_records
from conformance.spec import load_pack

SYNTHETIC = load_reference("synthetic")
CASES = {
    "v1-dsp": (test_check_v1, make_context("2018-09-01T00:00")),
    "v1-portal": (test_check_v1, make_context("2018-09-01T00:00")),
    "v2": (test_check_v2, test_check_v2.CONTEXT),
}


def _rows(profile: str, count: int) -> list[list[str]]:
    module, _ = CASES[profile]
    rng = random.Random(7)
    breaks = sorted(module.BREAKS)
    rows = []
    for n in range(count):
        changes = {} if rng.random() < 0.6 else dict(module.BREAKS[rng.choice(breaks)][0])
        if profile == "v1-dsp" and rng.random() < 0.05:
            changes["person_gender_code"] = "  "  # spaces, which the DSP tells from an empty field: not cached
        rows.append(module.row({**changes, "accession_number": f"ACC{n:07d}"}))
    return rows


def _every_rule_on_every_record(path: Path, profile: str) -> set[tuple[str, int, str, str]]:
    pack = load_pack(profile)
    setup = Setup(pack, profile, CASES[profile][1], SYNTHETIC)
    factories = rule_tables(pack.version)[0]
    rules = [(spec.id, factories[spec.id](setup)) for spec in pack.rules_for(profile) if spec.kind == "record"]
    found = set()
    dsp = pack.follows(profile) == "dsp"
    for record in open_submission(path, version=pack.version).records():
        values = dsp_values(record.values, pack.index["nhs_number"]) if dsp else None
        row = Row(record.number, record.line, record.values, record.path, values)
        for rule_id, fn in rules:
            hit = fn(row)
            if hit is not None:
                found.add((rule_id, record.number, hit.field, hit.value))
    return found


@pytest.mark.parametrize("profile", sorted(CASES))
def test_cached_engine_finds_what_every_rule_on_every_record_finds(tmp_path: Path, profile: str) -> None:
    count = RuleGroup.TRIAL + 1500
    pack = load_pack(profile)
    path = tmp_path / "long.csv"
    write_records(_rows(profile, count), path, pack=pack, format="csv")
    report = check(path, profile=profile, context=CASES[profile][1], reference=SYNTHETIC, max_examples=10**9)
    record_rules = {spec.id for spec in pack.rules_for(profile) if spec.kind == "record"}
    engine = {(f.rule, f.record, f.field, f.value) for f in report.findings if f.rule in record_rules}
    naive = _every_rule_on_every_record(path, profile)
    assert report.records == count
    assert len(naive) > count // 5, "the file breaks many rules many times"
    assert engine == naive
    rejecting = {n for rule_id, n, _, _ in naive if pack.rule(rule_id).severity == "record-reject"}
    others = {f.record for f in report.findings if f.rule not in record_rules and f.record is not None}
    assert report.records_rejected == len(rejecting | others)
    assert max(f.record for f in report.findings if f.record) > RuleGroup.TRIAL, "findings after the regrouping"
