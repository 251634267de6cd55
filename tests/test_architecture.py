"""The floors of the code base (README "Architecture"): each package imports only from its own floor or below,
and never reaches into another package's private (`_name`) modules. Read from the source with `ast`, so lazy
imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A module belongs to the longest package prefix listed; the ground floor is single modules.
FLOORS: list[tuple[str, ...]] = [
    (
        "conformance",  # the package itself: its version
        "conformance.errors",
        "conformance.files",
        "conformance.cache",
        "conformance.lazy",
        "conformance.markup",
        "conformance.calendar",
        "conformance.identifiers",
        "conformance.junit",
        "conformance.charts",
        "conformance.signals",
    ),
    ("conformance.spec",),
    ("conformance.formats",),
    ("conformance.check",),
    ("conformance.certify", "generators", "v1_to_v2"),
    ("conformance.cli", "conformance.pytest_plugin", "conformance.__main__"),
]
# Within a floor, who may import whom (besides itself): the generators check their own output and build the
# corpus with the checker; v1_to_v2 checks what it writes. Neither imports the other, nor certify.
SAME_FLOOR: dict[str, set[str]] = {"conformance.__main__": {"conformance.cli"}}
PACKAGES = [name for floor in FLOORS for name in floor]


def package_of(module: str) -> str | None:
    """The listed package (or ground module) a module belongs to."""
    matches = [p for p in PACKAGES if module == p or module.startswith(p + ".")]
    return max(matches, key=len) if matches else None


def floor_of(package: str) -> int:
    return next(i for i, floor in enumerate(FLOORS) if package in floor)


def modules() -> list[tuple[str, Path]]:
    found = []
    for top in ("conformance", "generators", "v1_to_v2"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append((".".join(parts), path))
    return found


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    """Every module `path` imports, absolute, with its line."""
    out = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*"]
    return out


def _private(name: str) -> bool:
    """`_name` is private; `__version__` and friends are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations() -> list[str]:
    found = []
    for module, path in modules():
        mine = package_of(module)
        if mine is None:
            found.append(f"{module}: belongs to no floor; add it to FLOORS")
            continue
        for line, target in imports(path, module):
            theirs = package_of(target)
            if theirs is None or theirs == mine:
                continue  # the standard library, a third-party package, or a module of its own package
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if floor_of(theirs) > floor_of(mine):
                found.append(f"{where}: a higher floor ({theirs} over {mine})")
            elif (
                floor_of(theirs) == floor_of(mine) and floor_of(mine) > 0 and theirs not in SAME_FLOOR.get(mine, set())
            ):
                found.append(f"{where}: a package on its own floor ({theirs})")
            private = [part for part in target[len(theirs) :].split(".") if _private(part)]
            if private and not target.startswith(mine + "."):
                found.append(f"{where}: a private module of {theirs}")
    return found


def test_every_import_goes_down_the_floors_and_through_public_modules() -> None:
    assert violations() == []


def test_the_check_imports_nothing_from_the_generators() -> None:
    for module, path in modules():
        if module.startswith("conformance.check"):
            assert not [t for _, t in imports(path, module) if t.startswith("generators")], module


@pytest.mark.parametrize(
    ("source", "module", "problem"),
    [
        ("from generators.mutations import operators\n", "conformance.check.fake", "a higher floor"),
        ("from conformance.check._engine import check\n", "generators.fake", "a private module"),
        ("import v1_to_v2\n", "generators.fake", "its own floor"),
    ],
)
def test_the_check_itself_can_fail(tmp_path: Path, source: str, module: str, problem: str) -> None:
    """The same rules, on made-up modules: each breaks one of them."""
    path = tmp_path / "fake.py"
    path.write_text(source)
    mine = package_of(module)
    assert mine is not None
    [(line, target)] = [(n, t) for n, t in imports(path, module) if "." in t or t == "v1_to_v2"][:1]
    theirs = package_of(target)
    assert theirs is not None
    broken = {
        "a higher floor": floor_of(theirs) > floor_of(mine),
        "a private module": any(_private(p) for p in target[len(theirs) :].split(".")),
        "its own floor": floor_of(theirs) == floor_of(mine) and theirs not in SAME_FLOOR.get(mine, set()),
    }
    assert broken[problem], (line, target)


def test_the_cli_loads_without_the_system_time_zone_database() -> None:
    """tzdata is a dependency: with no system zoneinfo (Windows, slim containers) the UK clock still loads."""
    import subprocess
    import sys

    code = "import conformance.cli._main, conformance.calendar as c; print(c.LONDON.key)"
    done = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONTZPATH": "", "PATH": ""}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "Europe/London", done.stderr
