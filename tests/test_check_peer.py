"""Parity with NHS England's own DSP test suite (fixtures/peer): its expected DQ findings are ours."""

from __future__ import annotations

import json
import sys
from io import StringIO
from pathlib import Path

import pytest
from lxml import etree

from conformance.check import check, make_context
from conformance.cli import run
from conformance.spec import load_pack

PEER = Path(__file__).resolve().parents[1] / "fixtures" / "peer" / "nhse-dsp-dids-v1"
CASE = PEER / "csv/00004_dq_errors"
# The submission timestamp the peer's dq.xml was produced with: run in the DSP itself, 2018-08-01 reproduces every
# non-reference (row, code) pair of the case (../shared/peer/nhse-dsp-source/README.md; fixtures/peer/ORIGIN.md).
SUBMITTED = "2018-08-01T09:00"  # UK time; the same day in UTC, the clock the DSP compares on


def expected_pairs() -> set[tuple[int, str]]:
    tree = etree.parse(str(CASE / "dq.xml"), etree.XMLParser(resolve_entities=False, no_network=True))
    return {(int(row.findtext("ROW_INDEX")) + 1, row.findtext("CODE")) for row in tree.iter("ROW")}


def test_00004_dq_errors_matches_the_peer_for_every_rule_without_reference_data() -> None:
    report = check(CASE / "input.csv", profile="v1-dsp", context=make_context(SUBMITTED))
    not_evaluated = {n.rule for n in report.not_evaluated}
    pack = load_pack("v1")
    assert not_evaluated == {r.id for r in pack.rules_for("v1-dsp") if r.needs}
    expected = {pair for pair in expected_pairs() if pair[1] not in not_evaluated}
    got = {(f.record, f.rule) for f in report.findings if f.record is not None}
    assert got == expected  # exact: no deliberate differences
    assert len(expected) > 60  # the case exercises nearly every DIDS code
    assert report.verdict == "rejected"


def test_the_peer_only_reports_rules_we_implement() -> None:
    implemented = {r.id for r in load_pack("v1").rules_for("v1-dsp")}
    assert {code for _, code in expected_pairs()} <= implemented


def test_cli_json_reports_every_pair_with_record_equal_to_row_index_plus_one() -> None:
    out = StringIO()
    code = run(
        ["check", str(CASE / "input.csv"), "--profile", "v1-dsp", "--submitted", SUBMITTED, "--format", "json"],
        out,
        sys.stderr,
    )
    assert code == 1
    report = json.loads(out.getvalue())
    pairs = {(f["record"], f["rule"]) for f in report["findings"]}
    assert (1, "DIDS066") in pairs and (4, "DIDS071") in pairs and (1, "DIDS071") in pairs
    for finding in report["findings"]:
        assert set(finding) >= {"rule", "code", "official", "severity", "record", "field", "line", "value", "message"}
        assert finding["official"] is True and finding["code"] == finding["rule"]


@pytest.mark.parametrize("name", ["valid_scenarios_with_warnings.csv", "whitespace_in_input_fields.csv"])
def test_peer_pass_cases_pass_but_for_the_palindrome_ban(name: str) -> None:
    """The peer's "passes" predate the palindrome ban in the DSP's NHS-number function: every record uses
    9345665439, whose first five digits are its last five reversed. The DSP as its code runs (HEAD 4009bd5) rejects
    it, and so does v1-dsp; every other finding is a warning."""
    report = check(PEER / "csv/00014_various_dq_passes" / name, profile="v1-dsp", context=make_context(SUBMITTED))
    errors = {(f.rule, f.field, f.value) for f in report.findings if f.severity != "warning"}
    assert errors == {("DIDS001", "nhs_number", "9345665439")}
    column = [line.split(",")[0] for line in (PEER / "csv/00014_various_dq_passes" / name).read_text().splitlines()]
    assert report.counts["DIDS001"] == column.count("9345665439")


def test_peer_invalid_csv_gets_dids075_per_line() -> None:
    report = check(PEER / "csv/00016_invalid_file_format/input.csv", profile="v1-dsp", context=make_context(SUBMITTED))
    assert [(f.rule, f.record, f.line) for f in report.findings] == [
        ("DIDS075", None, 1),
        ("DIDS075", None, 2),
        ("DIDS075", None, 3),
    ]
    assert report.verdict == "rejected"


def test_peer_invalid_xml_gets_dids076_and_its_readable_records_are_still_checked() -> None:
    report = check(PEER / "xml/00014_invalid_file_format/input.xml", profile="v1-dsp", context=make_context(SUBMITTED))
    assert [(f.rule, f.line) for f in report.findings if f.rule == "DIDS076"] == [
        ("DIDS076", 146),
        ("DIDS076", 174),
        ("DIDS076", 200),
    ]
    assert report.records == 7
    assert report.verdict == "rejected"
