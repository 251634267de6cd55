"""Validators that crash, hang, cannot start, lie or flood: each scores error, and no selection of cases, however
narrow, lets such a validator be CERTIFIED. Bad options fail before the first case; manifests cannot point outside
the corpus; the pytest plugin takes the manifest's verdict words and refuses an empty selection."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from conformance.certify import CommandValidator, load_corpus
from conformance.cli import run

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "corpus"
PY = sys.executable

# Each validator script gets the case file as its only argument.
SCRIPTS = {
    "segfault": "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
    "hang": "import time; time.sleep(600)",
    "maybe": 'import json; print(json.dumps({"verdict": "maybe", "findings": []}))',
    "contradicts": 'import json, sys; print(json.dumps({"verdict": "rejected", "findings": []})); sys.exit(0)',
    "flood": "import sys\nwhile True: sys.stdout.write('y' * 65536)",
    "deep-json": "print('[' * 200000 + ']' * 200000)",
    "garbage": "print('<<<not a report>>>')",
    "exit-3": "import sys; sys.exit(3)",
}
SELECTIONS = {
    "unreadable only": ["--tag", "unreadable"],
    "one unreadable case": ["--case", "unreadable-empty"],
    "window cases": ["--tag", "window"],
}


def certify_with(command: str, adapter: str, selection: list[str], *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["certify", "--profile", "v2", "--corpus", str(CORPUS), "--validator", command, "--adapter", adapter]
    code = run([*argv, *selection, "--timeout", "3", "--date", "2026-11-23", *extra], out, err)
    return code, out.getvalue(), err.getvalue()


def script(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(SCRIPTS[name])
    return f"{PY} {path} {{file}}"


@pytest.mark.parametrize("name", sorted(SCRIPTS))
@pytest.mark.parametrize("selection", sorted(SELECTIONS))
def test_a_broken_validator_is_never_certified(tmp_path: Path, name: str, selection: str) -> None:
    adapter = "exit" if name in ("segfault", "hang", "exit-3") else "json"
    code, out, err = certify_with(script(tmp_path, name), adapter, SELECTIONS[selection])
    assert code == 1, (out, err)
    assert "NOT CERTIFIED" in out and "RESULT: CERTIFIED" not in out
    assert "error:" in out  # the per-category counts name the errors


@pytest.mark.parametrize("selection", sorted(SELECTIONS))
def test_a_validator_that_cannot_start_is_never_certified(tmp_path: Path, selection: str) -> None:
    not_executable = tmp_path / "validator.sh"
    not_executable.write_text("#!/bin/sh\nexit 0\n")  # no execute permission
    for command in ("/no/such/validator {file}", f"{not_executable} {{file}}", f"{PY} -c 'import sys; sys.exit(127)'"):
        code, out, _ = certify_with(command, "exit", SELECTIONS[selection])
        assert code == 1 and "NOT CERTIFIED" in out, (command, out)


def test_a_validator_that_refuses_everything_is_caught_by_a_control_case(tmp_path: Path) -> None:
    """`exit 2` (unreadable) is the right answer to every unreadable case; a validator that says it to every file
    would pass a selection of them, so certify adds an accepted case as a control."""
    code, out, _ = certify_with(f"{PY} -c 'import sys; sys.exit(2)' {{file}}", "exit", ["--tag", "unreadable"])
    assert code == 1 and "control case added" in out and "false-reject" in out


def test_a_timeout_kills_the_validator_and_everything_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    body = (
        "import os, subprocess, sys, time\n"
        f"child = subprocess.Popen([{PY!r}, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pids)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    path = tmp_path / "spawner.py"
    path.write_text(body)
    corpus = load_corpus(CORPUS, "v2")
    case = next(c for c in corpus.cases if c.id == "clean-csv")
    started = time.monotonic()
    outcome = CommandValidator(f"{PY} {path} {{file}}", "exit", timeout=2)(case, "v2")
    assert outcome.verdict == "error" and "timed out" in outcome.detail
    assert time.monotonic() - started < 30
    child = int(pids.read_text())
    time.sleep(0.5)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


def test_a_validator_leaving_a_child_holding_its_output_does_not_hang_certify(tmp_path: Path) -> None:
    path = tmp_path / "orphan.py"
    path.write_text(f"import subprocess\nsubprocess.Popen([{PY!r}, '-c', 'import time; time.sleep(600)'])\n")
    corpus = load_corpus(CORPUS, "v2")
    case = next(c for c in corpus.cases if c.id == "clean-csv")
    started = time.monotonic()
    outcome = CommandValidator(f"{PY} {path} {{file}}", "exit", timeout=3)(case, "v2")
    assert time.monotonic() - started < 30
    assert outcome.verdict == "error" and "kept its output open" in outcome.detail


def test_output_is_captured_up_to_a_cap(tmp_path: Path) -> None:
    corpus = load_corpus(CORPUS, "v2")
    case = next(c for c in corpus.cases if c.id == "clean-csv")
    yes = shutil.which("yes")
    assert yes is not None
    outcome = CommandValidator(f"{yes} {{file}}", "json", timeout=60)(case, "v2")
    assert outcome.verdict == "error" and "more on standard output than certify captures" in outcome.detail


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--timeout", "-1"], "positive number of seconds"),
        (["--timeout", "0"], "positive number of seconds"),
        (["--timeout", "nan"], "positive number of seconds"),
        (["--jobs", "0"], "1 or more"),
    ],
)
def test_bad_option_values_fail_before_any_case(argv: list[str], message: str) -> None:
    err = io.StringIO()
    code = run(["certify", "--profile", "v2", "--validator", "true {file}", *argv], io.StringIO(), err)
    assert code == 2 and message in err.getvalue()


def test_an_unwritable_report_fails_before_the_first_case(tmp_path: Path) -> None:
    started = time.monotonic()
    code, _, err = certify_with(
        f"{PY} -c 'import time; time.sleep(5)' {{file}}", "exit", [], "-o", str(tmp_path / "no" / "such" / "r.html")
    )
    assert code == 2 and "does not exist" in err and err.count("\n") == 1
    assert time.monotonic() - started < 4  # not one 5-second case ran


def test_an_interrupted_certify_leaves_no_report(tmp_path: Path) -> None:
    import signal
    import subprocess

    report = tmp_path / "report.html"
    process = subprocess.Popen(
        [PY, "-m", "conformance.cli", "certify", "--profile", "v2", "--corpus", str(CORPUS), "--validator",
         f"{PY} -c 'import time; time.sleep(30)' {{file}}", "--timeout", "60", "-o", str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)  # the running validators are killed, not waited for
    assert process.returncode == 143 and "Traceback" not in stderr, stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["../outside.csv", "/etc/hostname"])
def test_a_manifest_cannot_name_a_file_outside_the_corpus(tmp_path: Path, where: str) -> None:
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy)
    manifest = json.loads((copy / "v2" / "manifest.json").read_text())
    manifest["cases"][0]["file"] = where
    (copy / "v2" / "manifest.json").write_text(json.dumps(manifest))
    err = io.StringIO()
    code = run(["certify", "--profile", "v2", "--corpus", str(copy), "--validator", "true {file}"], io.StringIO(), err)
    assert code == 2 and "outside the corpus folder" in err.getvalue()


def test_a_link_out_of_the_corpus_is_refused_too(tmp_path: Path) -> None:
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy)
    manifest = json.loads((copy / "v2" / "manifest.json").read_text())
    target = copy / manifest["cases"][0]["file"]
    target.unlink()
    os.symlink("/etc/hostname", target)
    err = io.StringIO()
    code = run(["certify", "--profile", "v2", "--corpus", str(copy), "--validator", "true {file}"], io.StringIO(), err)
    assert code == 2 and "outside the corpus folder" in err.getvalue()


pytest_plugins = ["pytester"]


def test_the_plugin_takes_every_verdict_word_the_manifest_uses(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_vendor(dids_case):
            dids_case.expect(dids_case.case.verdict, None)
        """
    )
    result = pytester.runpytest(f"--dids-corpus={CORPUS}", "--dids-profile=v2", "--dids-tag=unreadable", "-q")
    unreadable = [c for c in load_corpus(CORPUS, "v2").cases if "unreadable" in c.tags]
    result.assert_outcomes(passed=len(unreadable))


def test_the_plugin_fails_an_unknown_verdict_word(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_vendor(dids_case):\n    dids_case.expect('maybe', None)\n")
    result = pytester.runpytest(f"--dids-corpus={CORPUS}", "--dids-profile=v2", "--dids-case=clean-csv", "-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown verdict 'maybe'*"])


@pytest.mark.parametrize("option", ["--dids-tag=no-such-tag", "--dids-case=no-such-case"])
def test_a_plugin_selection_that_matches_nothing_is_a_usage_error(pytester: pytest.Pytester, option: str) -> None:
    pytester.makepyfile("def test_vendor(dids_case):\n    pass\n")
    result = pytester.runpytest(f"--dids-corpus={CORPUS}", "--dids-profile=v2", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no DIDS corpus case matches*"])


def test_the_control_case_cannot_be_waived(tmp_path: Path) -> None:
    waivers = tmp_path / "waive.toml"
    waivers.write_text('[[expected-failure]]\ncase = "clean-csv"\nreason = "x"\nexpires = 2099-01-01\n')
    code, out, _ = certify_with(
        f"{PY} -c 'import sys; sys.exit(2)' {{file}}",
        "exit",
        ["--tag", "unreadable"],
        "--expected-failures",
        str(waivers),
    )
    assert code == 1 and "NOT CERTIFIED" in out


@pytest.mark.parametrize(
    ("adapter", "printed"),
    [
        ("junit", "<html><body><h1>500 Internal Server Error</h1></body></html>"),
        ("junit", "<testsuites/>"),
        ("dq-xml", "<oops/>"),
        ("dq-xml", "<ROWS><ROW><ROW_INDEX>0</ROW_INDEX><CODE>DIDS001</CODE></ROW></ROWS>"),
        ("json", '{"verdict": "accepted", "findings": [{"rule": "DIDS001", "record": true}]}'),
    ],
)
def test_an_answer_the_adapter_cannot_really_read_is_an_error(adapter: str, printed: str) -> None:
    from conformance.certify import read_output

    assert read_output(adapter, 0, printed.encode(), b"").verdict == "error"


def test_a_timeout_beyond_what_timers_take_is_refused() -> None:
    err = io.StringIO()
    assert (
        run(["certify", "--profile", "v2", "--validator", "true {file}", "--timeout", "1e308"], io.StringIO(), err) == 2
    )
    assert "at most" in err.getvalue()


def test_the_report_cannot_replace_the_validator_or_its_waivers(tmp_path: Path) -> None:
    script_path = tmp_path / "validator.py"
    script_path.write_text("import sys; sys.exit(0)")
    waivers = tmp_path / "w.toml"
    waivers.write_text("")
    for target in (script_path, waivers):
        code, _, err = certify_with(
            f"{PY} {script_path} {{file}}", "exit", ["--case", "clean-csv"], "--expected-failures", str(waivers),
            "-o", str(target),
        )  # fmt: skip
        assert code == 2 and "same file" in err, err


def test_the_plugin_fails_a_test_that_never_calls_expect(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_vendor(dids_case):\n    pass\n")
    result = pytester.runpytest(f"--dids-corpus={CORPUS}", "--dids-profile=v2", "--dids-case=clean-csv", "-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*never called dids_case.expect*"])


def test_the_plugin_takes_findings_as_any_pairs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "def test_vendor(dids_case):\n"
        "    dids_case.expect(dids_case.case.verdict, [[f.rule, f.record] for f in dids_case.case.findings])\n"
    )
    result = pytester.runpytest(f"--dids-corpus={CORPUS}", "--dids-profile=v2", "--dids-case=break-V2P-SITE-*", "-q")
    sites = [c for c in load_corpus(CORPUS, "v2").cases if c.id.startswith("break-V2P-SITE-")]
    assert len(sites) > 2
    result.assert_outcomes(passed=len(sites))


def test_a_corpus_without_a_manifest_is_a_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    broken = tmp_path / "corpus"
    broken.mkdir()
    (broken / "VERSION").write_text("1.0.0\n")
    pytester.makepyfile("def test_vendor(dids_case):\n    pass\n")
    result = pytester.runpytest(f"--dids-corpus={broken}", "--dids-profile=v2", "--dids-tag=clean")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
