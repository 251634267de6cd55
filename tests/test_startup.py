"""Start-up: `dids --help` and `dids check` import only what they use (a certify run starts one `dids check` per
case), the lazy package namespaces resolve every public name, and the bundled packs' recorded schema checks are
current, so no command pays for the schema pass."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from conformance.spec import VERSIONS, bundled_digest

ROOT = Path(__file__).resolve().parents[1]
# Heavy modules no command here needs: the certify machinery, the generators and translator, the schema validator
# (bundled packs are already checked), and what xml.sax.saxutils drags in (urllib.request, http, email).
NOT_NEEDED = (
    "jsonschema",
    "conformance.certify",
    "generators",
    "v1_to_v2",
    "faker",
    "hypothesis",
    "xmlschema",
    "xml.sax",
    "urllib.request",
    "http.client",
    "email.parser",
)
# What a check of a CSV file with a warm cache never uses: the XML reader and lxml, the spec diff and renderers,
# TOML parsing and the reference importers (the parsed packs and the synthetic store come from the cache),
# importlib.resources, the JUnit and HTML writers (and html's entity table), and the temporary-file machinery of
# commands that write files.
NOT_NEEDED_BY_CSV_CHECK = (
    "lxml",
    "conformance.formats._xml",
    "conformance.formats._xsd",
    "conformance.formats._inspect",
    "conformance.spec._diff",
    "conformance.spec._render",
    "tomllib",
    "conformance.check.importing",
    "conformance.check.published",
    "importlib.resources",
    "conformance.charts",
    "conformance.junit",
    "html",
    "tempfile",
)
# `dids --help` loads no pack, reader or rule: nothing but the command line itself.
NOT_NEEDED_BY_HELP = (
    "dataclasses",
    "conformance.spec._load",
    "conformance.spec._model",
    "conformance.formats._model",
    "conformance.formats._submission",
    "conformance.check",
    "sqlite3",
    "lxml",
    "html",
    "copy",
)
CHECK_CSV = [
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
]


def _imported(argv: list[str], tmp_path: Path) -> set[str]:
    """The modules `dids argv` has imported when it ends, run twice with one cache folder: the second run's."""
    listing = tmp_path / "modules.txt"
    code = (
        "import sys\n"
        "from conformance.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        f"    open({str(listing)!r}, 'w').write('\\n'.join(sys.modules))\n"
    )
    env = {**os.environ, "DIDS_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("DIDS_NO_CACHE", None)
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
        )
        assert done.returncode in (0, 1), done.stderr[-2000:]
    return set(listing.read_text().split("\n"))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_help_imports_only_the_command_line(tmp_path: Path) -> None:
    imported = _imported(["--help"], tmp_path)
    assert "conformance.cli.check" in imported  # the measurement saw the parser built
    assert _loaded(imported, NOT_NEEDED + NOT_NEEDED_BY_HELP) == []


def test_a_csv_check_imports_only_what_it_uses(tmp_path: Path) -> None:
    imported = _imported(CHECK_CSV, tmp_path)
    assert "conformance.check.rules_v2" in imported  # the measurement saw the check run
    assert _loaded(imported, NOT_NEEDED + NOT_NEEDED_BY_CSV_CHECK) == []
    # and only its own subcommand's module: the others' options are never built
    assert sorted(m for m in imported if m.startswith("conformance.cli.") and m[16:17] != "_") == [
        "conformance.cli.check"
    ]


def test_an_xml_check_imports_no_more_than_it_needs(tmp_path: Path) -> None:
    imported = _imported([*CHECK_CSV[:1], "fixtures/corpus/v2/clean-xml.xml", *CHECK_CSV[2:]], tmp_path)
    assert "lxml.etree" in imported
    assert _loaded(imported, NOT_NEEDED) == []


def _type_checking_names(package: str) -> dict[str, str]:
    """Name -> defining module, as the package's `if TYPE_CHECKING:` block imports them (what mypy reads)."""
    source = Path(importlib.import_module(package).__file__ or "").read_text(encoding="utf-8")
    names = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module
                names.update({alias.name: statement.module for alias in statement.names})
    return names


@pytest.mark.parametrize("package", ["conformance.spec", "conformance.formats", "conformance.check"])
def test_every_public_name_of_a_lazy_package_resolves_to_its_module(package: str) -> None:
    """The table conformance/lazy.py reads and the import block mypy reads say the same."""
    module = importlib.import_module(package)
    declared = _type_checking_names(package)
    assert sorted(declared) == sorted(module.__all__)
    for name, where in declared.items():
        assert getattr(module, name) is getattr(importlib.import_module(where), name), name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError):
        _ = module.no_such_name


def test_the_recorded_pack_checks_are_current() -> None:
    recorded = json.loads(resources.files("conformance.spec").joinpath("packs/shape-checked.json").read_text("utf-8"))
    stale = [v for v in VERSIONS if recorded.get(v) != bundled_digest(v)]
    assert stale == [], (
        f"pack(s) {stale} changed since their schema check was recorded: run "
        "`python -c 'from conformance.spec import record_shape_checks; record_shape_checks()'` and commit "
        "conformance/spec/packs/shape-checked.json"
    )
