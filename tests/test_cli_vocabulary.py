"""One vocabulary of flags (`--layout`, `--format`, `--dids-version`), the old spellings kept for one release
with a deprecation line, shell completion generated from the parser, and progress bars only on a terminal."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from conformance.cli import run
from generators.generate import generate

SUBMITTED = "2026-06-10T09:00"


def dids(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return run(list(argv), out, err), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def v1_month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("v1") / "v1.csv"
    generate(path, profile="v1-dsp", records=40, seed=1, period=date(2026, 5, 1))
    return path


def deprecation_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "is deprecated" in line]


OLD_AND_NEW = {
    "generate --format xml": (["generate", "--records", "5", "--format", "xml"], "--layout xml"),
    "upgrade --format xml": (["upgrade", "{v1}", "--no-check", "--format", "xml"], "--layout xml"),
    "upgrade --summary json": (["upgrade", "{v1}", "--no-check", "--summary", "json"], "--format json"),
    "convert --to xml": (["convert", "{v1}", "--to", "xml"], "--layout xml"),
    "convert --format xml": (["convert", "{v1}", "--format", "xml"], "--layout xml"),
    "inspect --version v1": (["inspect", "{v1}", "--version", "v1"], "--dids-version v1"),
    "check --input-format csv": (["check", "{v1}", "--input-format", "csv", "--submitted", SUBMITTED], None),
}


@pytest.mark.parametrize("case", list(OLD_AND_NEW))
def test_old_spellings_work_with_one_deprecation_line(case: str, v1_month: Path, tmp_path: Path) -> None:
    argv, new = OLD_AND_NEW[case]
    out_file = tmp_path / "out"
    words = [w.replace("{v1}", str(v1_month)) for w in argv]
    if words[0] in ("generate", "upgrade", "convert"):
        words += ["-o", str(out_file)]
    code, out, err = dids(*words)
    assert code in (0, 1), err
    [line] = deprecation_lines(err)
    old = case.split(" ", 1)[1]
    assert f"'{old}'" in line and (new is None or f"'{new}'" in line)
    if new == "--layout xml":
        assert out_file.read_bytes().lstrip().startswith(b"<?xml")
    if new == "--format json":
        assert out.lstrip().startswith("{")


def test_new_spellings_say_nothing_and_mean_the_same(v1_month: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "old.xml", tmp_path / "new.xml"
    dids("generate", "--records", "7", "--seed", "3", "--format", "xml", "-o", str(old))
    code, _, err = dids("generate", "--records", "7", "--seed", "3", "--layout", "xml", "-o", str(new))
    assert code == 0 and err == "" and old.read_bytes() == new.read_bytes()
    code, out, err = dids("upgrade", str(v1_month), "-o", str(tmp_path / "u.csv"), "--no-check", "--format", "json")
    assert code == 0 and err == "" and out.lstrip().startswith("{")
    code, _, err = dids("inspect", str(v1_month), "--dids-version", "v1", "--input-layout", "csv")
    assert code == 0 and err == ""
    code, out, _ = dids("--version")
    assert code == 0 and out.startswith("dids ")  # --version is the tool's own


def test_help_shows_only_the_new_spellings() -> None:
    _, generate_help, _ = dids("generate", "--help")
    assert "--layout" in generate_help and "--format" not in generate_help
    _, convert_help, _ = dids("convert", "--help")
    assert "--layout" in convert_help and "--to " not in convert_help and "--version" not in convert_help
    _, inspect_help, _ = dids("inspect", "--help")
    assert "--dids-version" in inspect_help and "--version" not in inspect_help
    assert "--input-layout" in inspect_help and "--input-format" not in inspect_help


# ----- shell completion ---------------------------------------------------------------------------------------


def complete(script: str, line: str) -> list[str]:
    """What the generated bash completion offers for `line` (the last word being completed)."""
    words = line.split(" ")
    program = (
        f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
        '_dids_complete; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is needed to run a bash completion script")
def test_bash_completion_is_generated_from_the_parser() -> None:
    code, script, _ = dids("completion", "bash")
    assert code == 0
    assert complete(script, "dids check --format ") == ["text", "json", "junit", "html"]
    assert complete(script, "dids upgrade --format ") == ["text", "json"]
    assert complete(script, "dids generate --layout ") == ["csv", "xml"]
    assert "check" in complete(script, "dids ch")
    offered = complete(script, "dids convert --")
    assert "--layout" in offered and "--to" not in offered and "--version" not in offered
    assert "--dids-version" in offered
    assert complete(script, "dids fixtures ") == ["build", "universe"]
    code, zsh, _ = dids("completion", "zsh")
    assert zsh.startswith("#compdef dids\n") and "bashcompinit" in zsh and script in zsh


# ----- progress -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "month.csv"
    generate(path, profile="v2", records=3_000, seed=1)
    return path


def commands(month: Path, out: Path) -> dict[str, list[str]]:
    return {
        "check": ["check", str(month), "--submitted", SUBMITTED],
        "stats": ["stats", str(month)],
        "generate": ["generate", "--records", "3000", "-o", str(out / "g.csv")],
        "upgrade": ["upgrade", str(month), "-o", str(out / "u.csv"), "--no-check"],
        "certify": [
            "certify",
            "--profile",
            "v2",
            "--adapter",
            "json",
            "--case",
            "break-V2P-ETHNIC-CATEGORY-*",
            "--validator",
            f"{sys.executable} -m conformance check {{file}} --profile v2 --submitted {{submitted}} "
            "--period {period} --reference {reference} --format json",
        ],
    }


def dids_process(argv: list[str], stderr: int) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key != "CI"}  # CI jobs get no bar: not this test's
    env["COLUMNS"] = "100"
    return subprocess.Popen(
        [sys.executable, "-m", "conformance", *argv], stdout=subprocess.PIPE, stderr=stderr, env=env
    )


@pytest.mark.parametrize("command", ["check", "stats", "generate", "upgrade", "certify"])
def test_no_progress_bar_when_standard_error_is_not_a_terminal(
    command: str, big_month: Path, v1_month: Path, tmp_path: Path
) -> None:
    source = v1_month if command == "upgrade" else big_month
    argv = commands(source, tmp_path)[command]
    done = dids_process(argv, subprocess.PIPE)
    out, err = done.communicate(timeout=300)
    assert done.returncode in (0, 1), err
    assert err == b"" and b"\r" not in out and b"\x1b[" not in out


def on_a_terminal(argv: list[str]) -> bytes:
    """Run `dids argv` with standard error on a pseudo-terminal; return what the terminal received."""
    leader, follower = pty.openpty()
    process = dids_process(argv, follower)
    os.close(follower)
    received = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process has gone
            break
        if not chunk:
            break
        received += chunk
    process.communicate(timeout=300)
    os.close(leader)
    return received


def test_a_terminal_shows_a_progress_bar_with_a_rate_and_quiet_shows_none(big_month: Path, tmp_path: Path) -> None:
    shown = on_a_terminal(commands(big_month, tmp_path)["check"])
    assert b"check" in shown and b"B/s" in shown  # tqdm's bar over the bytes read, with its rate
    generated = on_a_terminal(commands(big_month, tmp_path)["generate"])
    assert b"generate" in generated and b"/3000 [" in generated and b"records/s" in generated
    # elapsed < ETA (tqdm shows "?" until its first update, which a fast machine may finish before)
    assert re.search(rb"\[\d\d:\d\d<(\d\d:\d\d|\?)", generated)
    assert on_a_terminal([*commands(big_month, tmp_path)["check"], "--quiet"]) == b""
