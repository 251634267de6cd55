"""The `dids` command: exit codes, JSON shapes, one-line errors."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import run
from conformance.formats import open_submission

REPO = Path(__file__).resolve().parents[1]
PEER = REPO / "fixtures" / "peer" / "nhse-dsp-dids-v1"


def dids(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_spec_show_v2_json_lists_every_item_with_provenance() -> None:
    code, out, _ = dids("spec", "show", "v2", "--format", "json")
    assert code == 0
    pack = json.loads(out)
    ids = [item["id"] for item in pack["items"]]
    assert {
        "treatment_function_code",
        "request_time",
        "request_received_time",
        "procedure_end_timestamp",
        "evaluation_indicator",
        "coded_procedure_nicip",
    } <= set(ids)
    for item in pack["items"]:
        assert item["provenance"]["status"] in ("verified", "inferred", "assumed"), item["id"]
        assert item["provenance"]["source"], item["id"]
    for codelist in pack["codelists"].values():
        assert codelist["provenance"]["status"] in ("verified", "inferred", "assumed")


def test_spec_show_text_tags_each_item_with_its_provenance() -> None:
    code, out, _ = dids("spec", "show", "v1")
    assert code == 0
    assert "NHS NUMBER" in out and "[verified" in out


def test_spec_diff_text_names_the_v2_changes() -> None:
    code, out, _ = dids("spec", "diff", "v1", "v2")
    assert code == 0
    for phrase in (
        "TREATMENT FUNCTION CODE",
        "DIAGNOSTIC TEST REQUEST TIME",
        "DIAGNOSTIC TEST REQUEST RECEIVED TIME",
        "CODED PROCEDURE START TIMESTAMP",
        "SERVICE REPORT ISSUE TIMESTAMP",
        "IMAGING CODE (NICIP) -> CODED PROCEDURE (NICIP)",
        "08 Screening programme",
        "+X",
    ):
        assert phrase in out, phrase


def test_spec_diff_json_is_machine_readable() -> None:
    code, out, _ = dids("spec", "diff", "v1", "v2", "--format", "json")
    assert code == 0
    diff = json.loads(out)
    kinds = {c["kind"] for c in diff["changes"]}
    assert {"added", "renamed", "recoded", "reformatted", "layout"} <= kinds


def test_spec_with_an_override_shows_the_override(tmp_path: Path) -> None:
    override = tmp_path / "o.toml"
    override.write_text(
        '[codelists.patient_source_setting]\nvalues = [{ code = "08", meaning = "Screening (ETOS)",'
        ' provenance = "verified", source = "ETOS v2.0" }]\n'
    )
    code, out, _ = dids("spec", "show", "v2", "--format", "json", "--override", str(override))
    assert code == 0
    values = json.loads(out)["codelists"]["patient_source_setting"]["values"]
    screening = next(v for v in values if v["code"] == "08")
    assert screening["provenance"] == {
        "status": "verified",
        "source": "ETOS v2.0",
        "overridden_by": str(override),
    }


def test_spec_xsd_prints_the_committed_schema() -> None:
    code, out, _ = dids("spec", "xsd", "v1")
    assert code == 0
    assert out == (REPO / "conformance/spec/xsd/dids-v1.xsd").read_text("utf-8")


def test_inspect_json_reports_records_and_problems() -> None:
    code, out, _ = dids(
        "inspect", str(PEER / "xml/00014_invalid_file_format/input.xml"), "--validate-xml", "--format", "json"
    )
    assert code == 2  # the file stops being XML part way: it cannot be read to the end
    [report] = json.loads(out)
    assert (report["version"], report["format"], report["records"], report["readable"]) == (
        "v1",
        "xml",
        7,
        False,
    )
    assert [(p["kind"], p["line"]) for p in report["problems"]] == [
        ("xsd", 146),
        ("xsd", 174),
        ("xml-syntax", 200),
    ]


def test_inspect_exit_codes(tmp_path: Path) -> None:
    assert dids("inspect", str(PEER / "csv/00003_simple/input.csv"))[0] == 0
    assert dids("inspect", str(PEER / "csv/00016_invalid_file_format/input.csv"))[0] == 1
    (tmp_path / "empty.csv").write_bytes(b"")
    code, _, _ = dids("inspect", str(tmp_path / "empty.csv"))
    assert code == 2


def test_inspect_caps_examples_but_counts_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("".join(",".join(["x"] * 17) + "\n" for _ in range(30)))
    code, out, _ = dids("inspect", str(path), "--format", "json", "--max-examples", "5")
    assert code == 1
    [report] = json.loads(out)
    assert report["problem_counts"] == {"column-count": 30}
    assert len(report["problems"]) == 5
    assert report["examples_omitted"] == {"column-count": 25}


@pytest.mark.parametrize(
    ("source", "to"), [("csv/00005_clinical/input.csv", "xml"), ("xml/00003_age_band/input.xml", "csv")]
)
def test_convert_round_trips(tmp_path: Path, source: str, to: str) -> None:
    out = tmp_path / f"out.{to}"
    code, text, _ = dids("convert", str(PEER / source), "-o", str(out))
    assert code == 0, text
    original = [r.values for r in open_submission(PEER / source).records()]
    converted = open_submission(out)
    assert converted.format == to
    assert [r.values for r in converted.records()] == original


def test_convert_refuses_an_unreadable_file_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "junk.csv").write_bytes(b"\x00\x01\x02")
    code, _, err = dids("convert", str(tmp_path / "junk.csv"), "-o", str(tmp_path / "x.xml"))
    assert code == 2
    assert err.startswith("dids: error:") and err.count("\n") == 1


def test_bad_arguments_exit_2() -> None:
    assert dids("spec", "show", "v9")[0] == 2
    assert dids("no-such-command")[0] == 2


def test_demo_runs_the_main_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = dids("demo")
    assert code == 0
    assert "What DIDS v2.0 changes" in out
    assert "values identical after the round trip: True" in out
    assert "verdict accepted, 0 finding(s)" in out  # the generated month
    assert "0 missed, 0 unexpected" in out  # the mutant against its answer key
    assert "local exam codes mapped" in out and "verdict ACCEPTED" in out  # the upgraded May 2026 extract
    assert out.count("RESULT: CERTIFIED") == 2  # our checker over the v2 corpus: in-process, then as a command


def test_demo_without_peer_data_says_how_to_fix_it(tmp_path: Path) -> None:
    code, _, err = dids("demo", "--peer", str(tmp_path / "nowhere"))
    assert code == 2
    assert "--peer" in err


def test_installed_entry_point_runs_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "inspect", str(tmp_path / "absent.xml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("dids: error:")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(dict(a.choices) for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_the_command_table_names_what_each_module_registers() -> None:
    """conformance/cli/_main.py builds only the module of the command a command line names: its table must say
    which commands each module registers, in the order `dids --help` lists them."""
    from conformance.cli._main import COMMANDS, build_parser

    assert list(_subcommands(build_parser())) == [c for commands in COMMANDS.values() for c in commands]
    for commands in COMMANDS.values():
        for command in commands:
            assert list(_subcommands(build_parser([command]))) == list(commands)


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "check", "a.csv", "--profile", "v2", "--period", "2026-05", "--reference", "synthetic"],
        ["check", "a.csv", "b.xml", "--format", "junit", "-o", "out.xml", "--fail-on", "warning"],
        ["certify", "--profile", "v2", "--own-checker", "--jobs", "2"],
        ["spec", "diff", "v1", "v2", "--format", "json"],
    ],
)
def test_a_command_parses_the_same_with_its_own_parser_or_all(argv: list[str]) -> None:
    from conformance.cli._main import build_parser

    own, whole = build_parser(argv).parse_args(argv), build_parser().parse_args(argv)
    assert {k: v for k, v in vars(own).items() if k != "handler"} == {
        k: v for k, v in vars(whole).items() if k != "handler"
    }
    assert own.handler is whole.handler
