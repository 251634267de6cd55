"""The user cache (conformance/cache.py) and what start-up keeps in it: the bundled packs' parsed TOML and the
synthetic reference store. A changed input is a new key, never a stale hit; a damaged or unwritable cache is no
cache; and what comes out of it is what the slow path builds."""

from __future__ import annotations

import ast
import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import cache
from conformance.spec import build_pack, raw_pack

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("DIDS_CACHE_DIR", str(where))
    monkeypatch.delenv("DIDS_NO_CACHE", raising=False)
    return where


def test_an_entry_comes_back_whole_and_a_damaged_one_is_absent(folder: Path) -> None:
    key = cache.key(b"input")
    assert cache.read("test", key) is None
    cache.write("test", key, b"body")
    assert cache.read("test", key) == b"body"
    [entry] = folder.iterdir()
    whole = entry.read_bytes()
    entry.write_bytes(whole[:-1])  # cut short
    assert cache.read("test", key) is None
    entry.write_bytes(whole[:-4] + b"BODY")  # same length, other bytes: the digest says no
    assert cache.read("test", key) is None


def test_keys_differ_with_any_input_and_its_boundaries() -> None:
    assert cache.key(b"a") != cache.key(b"b")
    assert cache.key(b"ab", b"c") != cache.key(b"a", b"bc")


def test_no_cache_when_turned_off_or_unwritable(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIDS_NO_CACHE", "1")
    cache.write("test", cache.key(b"x"), b"body")
    assert not folder.exists()
    monkeypatch.setenv("DIDS_NO_CACHE", "0")  # "0" and empty mean on
    folder.parent.joinpath("file").write_text("")
    monkeypatch.setenv("DIDS_CACHE_DIR", str(folder.parent / "file" / "below"))  # a folder that cannot exist
    cache.write("test", cache.key(b"x"), b"body")  # quietly nothing
    assert cache.read("test", cache.key(b"x")) is None


def test_a_kind_keeps_its_newest_entries(folder: Path) -> None:
    for n in range(cache.KEEP + 3):
        cache.write("test", cache.key(str(n).encode()), b"body")
        os.utime(folder / f"test-{cache.key(str(n).encode())}", ns=(n * 10**9, n * 10**9))
    cache.write("other", cache.key(b"x"), b"body")
    names = sorted(p.name for p in folder.iterdir())
    assert len([n for n in names if n.startswith("test-")]) == cache.KEEP
    assert f"test-{cache.key(str(cache.KEEP + 2).encode())}" in names
    assert "other-" + cache.key(b"x") in names


def test_parsed_toml_follows_the_text_never_a_stale_entry(folder: Path) -> None:
    from conformance.spec._load import _parsed_toml

    first = 'title = "one"\n[pack]\nversion = "v2"\n'
    assert _parsed_toml(first) == {"title": "one", "pack": {"version": "v2"}}
    assert len(list(folder.iterdir())) == 1
    assert _parsed_toml(first) == {"title": "one", "pack": {"version": "v2"}}  # from the cache
    changed = first.replace("one", "two")
    assert _parsed_toml(changed) == {"title": "two", "pack": {"version": "v2"}}
    assert len(list(folder.iterdir())) == 2
    [entry] = [p for p in folder.iterdir() if b"two" in p.read_bytes()]
    entry.write_bytes(entry.read_bytes().replace(b"two", b"ten"))  # damaged: parsed again
    assert _parsed_toml(changed) == {"title": "two", "pack": {"version": "v2"}}


def test_build_pack_leaves_its_input_as_it_found_it() -> None:
    """The bundled data is built without a copy (spec/_load.py), so building must not change it."""
    for version in ("v1", "v2"):
        data = raw_pack(version)
        before = copy.deepcopy(data)
        build_pack(data, ())
        assert data == before


def _in_fresh_process(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_packs_and_the_synthetic_store_from_the_cache_are_what_the_slow_path_builds(tmp_path: Path) -> None:
    code = (
        "from conformance.spec import load_pack\n"
        "from conformance.check import load_reference\n"
        "from conformance.check.reference import reference_store\n"
        "print(repr(load_pack('v1')), repr(load_pack('v2')))\n"
        "reference = load_reference('synthetic')\n"
        "print(reference.release.sha256, reference.release.name)\n"
        "connection = reference_store('synthetic').connection\n"
        "for table in ('organisations', 'postcodes', 'nicip', 'snomed', 'nicip_snomed', 'loaded'):\n"
        "    print(table, connection.execute(f'SELECT * FROM {table} ORDER BY 1, 2').fetchall())\n"
    )
    slow = _in_fresh_process(code, {"DIDS_NO_CACHE": "1"})
    where = {"DIDS_CACHE_DIR": str(tmp_path / "cache"), "DIDS_NO_CACHE": ""}
    assert _in_fresh_process(code, where) == slow  # a cold cache, written as it goes
    kinds = sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir())
    assert kinds == ["store", "toml", "toml", "toml", "toml"]
    assert _in_fresh_process(code, where) == slow  # a warm one


def test_the_store_key_follows_the_folder_and_the_code_that_imports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conformance.check import reference

    key = reference.store_key(("folder", "abc", "synthetic"))
    assert key is not None
    assert reference.store_key(("folder", "abd", "synthetic")) != key
    copies = []
    for path in reference.BUILDERS:
        copies.append(tmp_path / path.name)
        copies[-1].write_bytes(path.read_bytes())
    monkeypatch.setattr(reference, "BUILDERS", tuple(copies))
    assert reference.store_key(("folder", "abc", "synthetic")) == key
    copies[0].write_bytes(copies[0].read_bytes() + b"\n# changed\n")
    assert reference.store_key(("folder", "abc", "synthetic")) != key


def test_the_store_builders_name_every_module_the_import_reads() -> None:
    """importing.py and published.py, and the modules of ours they import, are in reference.BUILDERS."""
    import conformance
    from conformance.check import reference

    # By path within the package: under tox the package runs from the installed wheel, not from ROOT.
    installed = Path(conformance.__file__).resolve().parent.parent
    named = {path.resolve().relative_to(installed) for path in reference.BUILDERS}
    for path in (ROOT / "conformance/check/importing.py", ROOT / "conformance/check/published.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("conformance"):
                parts = node.module.split(".")
                module = ROOT.joinpath(*parts).with_suffix(".py")
                module = module if module.is_file() else ROOT.joinpath(*parts, "__init__.py")
                assert module.resolve().relative_to(ROOT.resolve()) in named, f"{path.name} imports {node.module}"
