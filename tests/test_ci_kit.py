"""The CI kit: `dids check FILE...` (one report, the worst exit code), the pre-commit hook run as pre-commit runs
it, and the GitHub Actions example's shape.

pre-commit's `try-repo` installs a `language: python` hook into a new virtualenv from the package index, which
tests may not reach; so the hook definition is loaded and checked with pre-commit's own manifest loader, and its
entry and arguments are run on the files pre-commit would pass them (those its `files` pattern selects)."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lxml import etree
from pre_commit.clientlib import load_manifest

from conformance.cli import run

ROOT = Path(__file__).resolve().parents[1]
V2 = ROOT / "fixtures" / "corpus" / "v2"
WHEN = ["--submitted", "2026-06-10T09:00", "--period", "2026-05", "--reference", "synthetic"]


def test_check_takes_several_files_and_exits_with_the_worst() -> None:
    files = [V2 / "clean-csv.csv", V2 / "break-DIDSREJ012-csv.csv", V2 / "unreadable-empty.csv"]
    out = io.StringIO()
    assert run(["check", *map(str, files[:2]), *WHEN], out, io.StringIO()) == 1
    assert run(["check", str(files[0]), str(V2 / "clean-xml.xml"), *WHEN], io.StringIO(), io.StringIO()) == 0
    out = io.StringIO()
    assert run(["check", *map(str, files), *WHEN, "--format", "json"], out, io.StringIO()) == 2
    report = json.loads(out.getvalue())
    assert (report["verdict"], report["exit_code"]) == ("could not check", 2)
    assert [f.get("verdict", "error" if "error" in f else None) for f in report["files"]] == [
        "accepted",
        "rejected",
        "error",
    ]
    rejected = report["files"][1]
    assert {(f["rule"], f["record"]) for f in rejected["findings"]} == {("DIDSREJ012", 1)}
    out = io.StringIO()
    assert run(["check", *map(str, files), *WHEN, "--format", "junit"], out, io.StringIO()) == 2
    junit = etree.fromstring(out.getvalue().encode())
    suites = junit.findall("testsuite")
    assert len(suites) == 3 and int(junit.get("errors", "0")) == 1
    assert int(junit.get("tests", "0")) == sum(int(s.get("tests", "0")) for s in suites)


def _hook() -> dict[str, object]:
    (hook,) = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))  # pre-commit's own schema check
    assert hook["id"] == "dids-check" and hook["language"] == "python"
    return hook  # type: ignore[no-any-return]


def test_the_pre_commit_hook_runs_as_pre_commit_would(tmp_path: Path) -> None:
    hook = _hook()
    staged = {
        "submissions/good.csv": V2 / "clean-csv.csv",
        "submissions/bad.xml": V2 / "break-DIDSREJ012-xml.xml",
        "README.md": ROOT / "README.md",
    }
    for name, source in staged.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tmp_path / name)
    pattern = re.compile(str(hook["files"]))
    chosen = sorted(name for name in staged if pattern.search(name))
    assert chosen == ["submissions/bad.xml", "submissions/good.csv"]
    dids = Path(sys.executable).with_name("dids")
    entry = shlex.split(str(hook["entry"]))
    assert entry[0] == "dids"
    argv = [str(dids), *entry[1:], *WHEN, *chosen]  # the user's args (here WHEN) come before the file names
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stderr  # the bad file fails the commit
    assert "OVERALL: REJECTED" in result.stdout and "DIDSREJ012" in result.stdout
    clean = subprocess.run(
        [str(dids), *entry[1:], *WHEN, "submissions/good.csv"], cwd=tmp_path, capture_output=True, text=True
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_the_github_actions_example_names_its_steps_and_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = ROOT / "examples" / "github-actions"
    workflow = yaml.safe_load((folder / "dids-certify.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["certify"]["steps"]
    commands = " ".join(str(step.get("run", "")) for step in steps)
    assert "pip install dids-harness" in commands and "dids certify" in commands
    assert "--report junit=" in commands and "--report html=" in commands
    assert any(str(step.get("uses", "")).startswith("actions/upload-artifact") for step in steps)
    assert "--validator-file examples/github-actions/validator.toml" in commands
    script = (folder / "run-locally.sh").read_text(encoding="utf-8")
    assert "dids certify" in script and "--validator-file" in script
    # Its validator file runs `dids` from PATH, as the workflow does once the harness is installed.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    out = io.StringIO()
    argv = ["certify", "--profile", "v1-dsp", "--validator-file", str(folder / "validator.toml"), "--case", "clean-csv"]
    assert run([*argv, "--date", "2026-11-23"], out, io.StringIO()) == 0, out.getvalue()
