"""The DSP oracle's Spark-free parts (tests/oracle): the comparison and its deliberate-differences table, the DQ
XML the validator prints as certify's dq-xml adapter reads it, the validator's answers and refusals, and the
default test run staying clear of Spark. The oracle itself runs with `tox -e oracle`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from oracle import validator
from oracle.compare import Difference, Judged, compare, load_differences, render
from oracle.dqxml import render as render_dq

from conformance.certify._validators import read_output

ROOT = Path(__file__).resolve().parents[1]


def judged(key: str, dsp: set[tuple[str, int | None]], ours: set[tuple[str, int | None]]) -> Judged:
    return Judged(key, 3, frozenset(dsp), frozenset(ours), bool(dsp), bool(ours))


def test_pairs_agree_or_disagree_on_one_side() -> None:
    files = [judged("corpus:a", {("DIDS001", 1), ("DIDS014", 2)}, {("DIDS001", 1), ("DIDS049", 3)})]
    matrix = compare(files, [])
    assert matrix.rules["DIDS001"].agreements == 1
    assert [(d.rule, d.record, d.side) for d in matrix.unexplained] == [("DIDS014", 2, "dsp"), ("DIDS049", 3, "ours")]
    assert (matrix.files, matrix.records, matrix.verdicts_agree) == (1, 3, 1)


def test_a_difference_explains_only_its_rule_side_and_files() -> None:
    entry = Difference("DIDS057", "dsp", ("corpus:local-*",), "local codes", "mapped upstream")
    files = [
        judged("corpus:local-codes", {("DIDS057", 1)}, set()),
        judged("corpus:other", {("DIDS057", 1)}, set()),
        judged("corpus:local-codes-2", set(), {("DIDS057", 2)}),
    ]
    matrix = compare(files, [entry])
    assert [(d.key, d.side) for d in matrix.unexplained] == [("corpus:other", "dsp"), ("corpus:local-codes-2", "ours")]
    assert matrix.used == {entry}


def test_verdict_differences_name_the_worse_side() -> None:
    matrix = compare([judged("hypothesis:001", {("DIDS014", 1)}, set())], [])
    assert matrix.verdict_differences == [("hypothesis:001", "the DSP rejects, we accept")]
    text = render(matrix, [])
    assert "DIDS014 hypothesis:001 record 1: only the DSP reports it" in text
    assert text.endswith("unexplained disagreements: 1")


def test_the_table_is_complete_and_reasoned() -> None:
    entries = load_differences()
    for entry in entries:
        assert entry.rule and entry.condition.strip() and len(entry.reason) > 40


def test_a_table_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('[[difference]]\nrule = "DIDS001"\nside = "dsp"\ncondition = "x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="entry 1"):
        load_differences(bad)


def test_the_dq_xml_reads_back_through_certifys_adapter() -> None:
    findings = [("DIDS075", None, "error"), ("DIDS049", 3, "warning"), ("DIDS001", 1, "error")]
    outcome = read_output("dq-xml", 1, render_dq(findings), b"")
    assert outcome.verdict == "rejected"
    assert outcome.findings == {("DIDS075", None), ("DIDS049", 3), ("DIDS001", 1)}
    warned = read_output("dq-xml", 0, render_dq([("DIDS049", 2, "warning")]), b"")
    assert (warned.verdict, warned.findings) == ("accepted", {("DIDS049", 2)})


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    source = tmp_path / "dsp" / "src" / "nhs_dq_rules_library" / "business_rules" / "dids"
    source.mkdir(parents=True)
    (source / "__init__.py").write_text("# the rule table\n", encoding="utf-8")
    monkeypatch.setenv("DIDS_DSP_SOURCE", str(tmp_path / "dsp"))
    monkeypatch.setenv("DIDS_ORACLE_CACHE", str(tmp_path / "cache.json"))
    return tmp_path


def test_a_stored_answer_is_served_by_sha_and_time(cache: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    data = cache / "month.csv"
    data.write_bytes(b"a,b\r\n")
    key = validator.cache_key(data, "2018-09-10T09:00", validator.engine_identity())
    validator.store({key: validator.as_entry(1, [("DIDS014", 1, "error")])})
    assert validator.main([str(data), "2018-09-10T09:00"]) == 1
    outcome = read_output("dq-xml", 1, capsysbinary.readouterr().out, b"")
    assert (outcome.verdict, outcome.findings) == ("rejected", {("DIDS014", 1)})
    stored = json.loads((cache / "cache.json").read_text(encoding="utf-8"))
    assert list(stored) == [key]


def test_another_time_or_content_is_another_key(cache: Path) -> None:
    data = cache / "month.csv"
    data.write_bytes(b"a,b\r\n")
    identity = validator.engine_identity()
    first = validator.cache_key(data, "2018-09-10T09:00", identity)
    assert first != validator.cache_key(data, "2018-09-11T09:00", identity)
    data.write_bytes(b"a,c\r\n")
    assert first != validator.cache_key(data, "2018-09-10T09:00", identity)


def test_xml_is_an_error_for_certify_never_an_answer(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = cache / "month.xml"
    data.write_bytes(b'<?xml version="1.0"?><DIDS/>')
    code = validator.main([str(data), "2018-09-10T09:00"])
    said = capsys.readouterr()
    assert code == validator.CANNOT_JUDGE and said.out == ""
    assert read_output("dq-xml", code, b"", said.err.encode()).verdict == "error"


def test_the_default_run_never_imports_spark() -> None:
    """The oracle's Spark-free modules import without pyspark, and the default collection skips tests/oracle."""
    code = (
        "import sys; import oracle.compare, oracle.dqxml, oracle.validator, oracle.inputs, oracle.ours;"
        " assert not [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'dsp')], 'spark'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT / "tests", check=True)
    conftest = (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    assert 'collect_ignore = ["oracle"]' in conftest
    assert not list((ROOT / "tests" / "oracle").glob("test_*.py")), "oracle tests would need Spark"
