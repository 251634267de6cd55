"""The `dids` program's way out (conformance.cli.entry): main()'s exit code, an exit as orderly as any (exit
handlers run, output flushed), with what is alive frozen so that Python's collections at shutdown skip it; and
main() called from Python freezes nothing (a caller's process lives on)."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", ["conformance", "conformance.cli"])
def test_the_program_exits_with_mains_code(module: str, tmp_path: Path) -> None:
    missing = subprocess.run(
        [sys.executable, "-m", module, "check", str(tmp_path / "absent.csv"), "--profile", "v2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr.count("\n") == 1 and "does not exist" in missing.stderr
    shown = subprocess.run(
        [sys.executable, "-m", module, "spec", "show", "v2"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert shown.returncode == 0 and "DIDS" in shown.stdout and shown.stderr == ""


def test_the_program_freezes_what_is_alive_then_exits_in_order(tmp_path: Path) -> None:
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "from conformance.cli import entry\n"
        "sys.argv = ['dids', 'spec', 'show', 'v2']\n"
        "entry()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DIDS" in done.stdout  # the command's output, flushed
    assert done.stdout.rstrip().endswith("frozen at exit: True")  # and the exit handlers ran after it


def test_main_called_from_python_freezes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    before = gc.get_freeze_count()
    assert main(["spec", "show", "v2"]) == 0
    assert "DIDS" in capsys.readouterr().out
    assert gc.get_freeze_count() == before
