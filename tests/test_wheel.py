"""The corpus travels with the package: a wheel built from this checkout, installed alone in a fresh environment
(its dependencies borrowed from the running one, so nothing reaches the network), finds its corpus with no flag
in `dids corpus path`, `dids certify` and the pytest plugin."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "fixtures" / "corpus" / "v2" / "manifest.json").read_text(encoding="utf-8"))
WINDOW_CASES = sum("window" in case["tags"] for case in MANIFEST["cases"])


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel (its dependencies come from this interpreter's site-packages)."""
    base = tmp_path_factory.mktemp("wheel")
    wheels, venv = base / "wheels", base / "venv"
    build = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        base,
    )
    assert build.returncode == 0, build.stderr
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base).returncode == 0
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base)
    # Dependencies (lxml, jsonschema, pytest, ...) from the running environment; .pth files there are not run, so
    # an editable install of this checkout stays invisible.
    Path(purelib.stdout.strip(), "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    (wheel,) = wheels.glob("dids_harness-*.whl")
    # --ignore-installed: under tox the running environment holds this package as a wheel, which deps.pth makes
    # visible; pip would call it "already satisfied" and install nothing into the fresh venv.
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
    pip.append("--ignore-installed")
    install = _run([*pip, str(wheel)], base)
    assert install.returncode == 0, install.stderr
    return venv


def test_the_installed_wheel_carries_its_corpus(installed: Path, tmp_path: Path) -> None:
    assert (installed / "bin" / "dids").exists(), "the wheel's console script is installed in the fresh venv"
    where = _run([str(installed / "bin" / "dids"), "corpus", "path"], tmp_path)
    assert where.returncode == 0, where.stderr
    corpus = Path(where.stdout.strip())
    assert corpus.is_relative_to(installed) and corpus.name == "corpus_data"
    assert (corpus / "VERSION").read_text() == (ROOT / "fixtures" / "corpus" / "VERSION").read_text()
    out = tmp_path / "cert.json"
    argv = [str(installed / "bin" / "dids"), "certify", "--profile", "v2", "--own-checker", "--tag", "window"]
    certified = _run([*argv, "--date", "2026-11-23", "--format", "json", "-o", str(out)], tmp_path)
    assert certified.returncode == 0, certified.stdout + certified.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["certified"] and len(report["cases"]) == WINDOW_CASES


def test_the_installed_plugin_runs_on_the_bundled_corpus(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "test_vendor.py").write_text(
        "def test_vendor(dids_case):\n    dids_case.expect(dids_case.case.verdict, None)\n", encoding="utf-8"
    )
    argv = [str(installed / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--dids-tag=window"]
    result = _run([*argv, "--dids-profile=v2"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{WINDOW_CASES} passed" in result.stdout
