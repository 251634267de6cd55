"""`dids check`: exit codes, the three report formats, capped examples announced, one-line refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

from lxml import etree

from conformance.cli import run

PEER = Path(__file__).resolve().parents[1] / "fixtures" / "peer" / "nhse-dsp-dids-v1"
ERRORS = str(PEER / "csv/00004_dq_errors/input.csv")
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "v1-dsp"
# A generated clean month, and one whose only finding is a warning (the referrer code); both submitted as the
# corpus manifest says. (The peer's "pass" files carry a palindromic NHS number, which the DSP rejects.)
PASSES = str(CORPUS / "clean-csv.csv")
WARNS = str(CORPUS / "break-DIDS023-csv.csv")


def dids(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return run(list(argv), out, err), out.getvalue(), err.getvalue()


def test_exit_codes_accepted_rejected_and_cannot_check(tmp_path: Path) -> None:
    assert dids("check", PASSES, "--submitted", "2018-09-10T09:00")[0] == 0
    assert dids("check", ERRORS, "--submitted", "2018-09-10T09:00")[0] == 1
    (tmp_path / "x.bin").write_bytes(b"\x00\x01")
    code, _, err = dids("check", str(tmp_path / "x.bin"))
    assert code == 2 and err.startswith("dids: error:") and err.count("\n") == 1


def test_fail_on_warning_rejects_a_file_with_only_warnings() -> None:
    warnings_only = WARNS
    assert dids("check", warnings_only, "--submitted", "2018-09-10T09:00")[0] == 0
    assert dids("check", warnings_only, "--submitted", "2018-09-10T09:00", "--fail-on", "warning")[0] == 1


def test_bad_context_values_are_one_line_errors() -> None:
    for option, value in (("--submitted", "yesterday"), ("--period", "2026-13")):
        code, _, err = dids("check", PASSES, option, value)
        assert code == 2 and option in err and err.count("\n") == 1


def test_text_report_states_verdict_counts_and_what_was_not_evaluated() -> None:
    _, out, _ = dids("check", ERRORS, "--submitted", "2018-09-10T09:00")
    assert "VERDICT: REJECTED" in out
    assert "DIDS071" in out and "record 4, line 4" in out
    assert "Not evaluated (12 rule(s))" in out and "DIDS016" in out


def test_max_examples_caps_examples_not_counts(tmp_path: Path) -> None:
    _, out, _ = dids("check", ERRORS, "--submitted", "2018-09-10T09:00", "--format", "json", "--max-examples", "1")
    report = json.loads(out)
    assert report["examples_capped_at"] == 1
    counts = {r["rule"]: r["count"] for r in report["rules"]}
    assert counts["DIDS055"] == 4
    assert [f["rule"] for f in report["findings"]].count("DIDS055") == 1
    assert report["examples_omitted"]["DIDS055"] == 3
    _, text, _ = dids("check", ERRORS, "--submitted", "2018-09-10T09:00", "--max-examples", "1")
    assert "Examples are capped at 1 per rule" in text


def test_json_report_carries_schema_version_profile_and_context(tmp_path: Path) -> None:
    out_file = tmp_path / "report.json"
    code, out, _ = dids("check", PASSES, "--submitted", "2018-09-10T09:00", "--format", "json", "-o", str(out_file))
    assert code == 0 and "report written" in out
    report = json.loads(out_file.read_text())
    assert report["schema_version"] == "1.0"
    records = len(Path(PASSES).read_text(encoding="utf-8").splitlines())
    assert (report["verdict"], report["profile"], report["records"]) == ("accepted", "v1-dsp", records)
    assert report["context"]["submitted"] == "2018-09-10T09:00:00+01:00"
    assert {n["rule"] for n in report["not_evaluated"]} >= {"DIDS016", "DIDS057"}


def test_junit_report_is_xml_with_a_failing_case_per_broken_error_rule() -> None:
    code, out, _ = dids("check", ERRORS, "--submitted", "2018-09-10T09:00", "--format", "junit")
    assert code == 1
    suites = etree.fromstring(out.encode())
    cases = {c.get("name").split()[0]: c for c in suites.iter("testcase")}
    assert cases["DIDS071"].find("failure") is not None
    assert cases["DIDS016"].find("skipped") is not None
    assert cases["DIDS023"].find("failure") is None  # a warning, reported in system-out
    assert int(suites.get("failures")) == sum(1 for c in cases.values() if c.find("failure") is not None)


def test_synthetic_reference_evaluates_every_rule() -> None:
    _, out, _ = dids("check", PASSES, "--submitted", "2018-09-10T09:00", "--reference", "synthetic", "--format", "json")
    assert json.loads(out)["not_evaluated"] == []


def test_profile_of_the_wrong_version_cannot_check() -> None:
    code, _, err = dids("check", PASSES, "--profile", "v2")
    assert code == 2 and "cannot be checked" in err


def test_json_report_is_the_same_bytes_in_any_time_zone(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    outputs = []
    for zone in ("UTC", "America/New_York", "Asia/Kolkata"):
        env = {**os.environ, "TZ": zone, "PYTHONHASHSEED": "random", "PYTHONWARNINGS": "ignore"}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance",
                "check",
                ERRORS,
                "--submitted",
                "2018-09-10T09:00",
                "--format",
                "json",
            ],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]


def test_v2_reports_say_which_rules_are_official(tmp_path: Path) -> None:
    from test_check_v2 import row

    from conformance.formats import write_records
    from conformance.spec import load_pack

    path = tmp_path / "v2.csv"
    local_code = row({"coded_procedure_nicip": "LOCAL1", "treatment_function_code": "999"})
    write_records([local_code], path, pack=load_pack("v2"), format="csv")
    context = ("--submitted", "2026-06-10T09:00", "--period", "2026-05", "--reference", "synthetic")
    code, out, _ = dids("check", str(path), *context, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["profile"] == "v2" and report["not_evaluated"] == []
    assert {(f["rule"], f["code"], f["official"], f["record"], f["field"]) for f in report["findings"]} == {
        ("DIDS00300302", "DIDS00300302", True, 1, "coded_procedure_nicip"),
        ("V2P-TREATMENT-FUNCTION-CODE", None, False, 1, "treatment_function_code"),
    }
    _, text, _ = dids("check", str(path), *context)
    assert "V2P-TREATMENT-FUNCTION-CODE [reconstructed]" in text
    assert "DIDS00300302 [" not in text


def test_v2_without_a_period_lists_the_window_rules_as_not_evaluated(tmp_path: Path) -> None:
    from test_check_v2 import row

    from conformance.formats import write_records
    from conformance.spec import load_pack

    path = tmp_path / "v2.xml"
    write_records([row()], path, pack=load_pack("v2"), format="xml")
    code, out, _ = dids(
        "check", str(path), "--submitted", "2026-06-10T09:00", "--reference", "synthetic", "--format", "json"
    )
    assert code == 0
    assert {n["rule"] for n in json.loads(out)["not_evaluated"]} == {
        "V2P-OUTSIDE-PERIOD",
        "V2P-END-AFTER-PERIOD",
        "V2P-REPORT-AFTER-PERIOD",
        "V2P-PERIOD-BEFORE-V2",
        "V2P-WINDOW-NOT-OPEN",
        "V2P-WINDOW-CLOSED",
    }
