"""Start-up: `dids --help` and `dids check` import only what they use (a certify run starts one `dids check` per
case), and the bundled packs' recorded schema checks are current, so no command pays for the schema pass."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from conformance.spec import VERSIONS, bundled_digest

ROOT = Path(__file__).resolve().parents[1]
# Heavy modules a check never needs: the certify machinery, the generators and translator, the schema validator
# (bundled packs are already checked), and what xml.sax.saxutils drags in (urllib.request, http, email).
NOT_NEEDED = (
    "jsonschema",
    "conformance.certify",
    "generators",
    "v1_to_v2",
    "faker",
    "hypothesis",
    "xmlschema",
    "urllib.request",
    "http.client",
    "email.parser",
)


def _imported(argv: list[str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "conformance.cli", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        [
            "check",
            "fixtures/corpus/v2/clean-csv.csv",
            "--submitted",
            "2026-06-10T09:00",
            "--period",
            "2026-05",
            "--reference",
            "synthetic",
            "--format",
            "json",
        ],
    ],
    ids=["help", "check"],
)
def test_commands_import_only_what_they_use(argv: list[str]) -> None:
    imported = _imported(argv)
    assert "conformance.cli" in imported  # the measurement saw the command start
    assert sorted(m for m in NOT_NEEDED if m in imported) == []


def test_the_recorded_pack_checks_are_current() -> None:
    recorded = json.loads(resources.files("conformance.spec").joinpath("packs/shape-checked.json").read_text("utf-8"))
    stale = [v for v in VERSIONS if recorded.get(v) != bundled_digest(v)]
    assert stale == [], (
        f"pack(s) {stale} changed since their schema check was recorded: run "
        "`python -c 'from conformance.spec import record_shape_checks; record_shape_checks()'` and commit "
        "conformance/spec/packs/shape-checked.json"
    )
