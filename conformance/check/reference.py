"""National reference data: organisations, postcodes, NICIP and SNOMED CT with effective dates, and the map.

Rules that need a table run only when it is loaded; otherwise the report lists them as not evaluated, with the
reason. Every form is read through the same SQLite store (`store.py`): `load_reference(STORE)` opens a store that
`dids reference import` built from the published files; `load_reference("synthetic")` and `load_reference(DIR)`
build one in memory from the CSV-folder form (`reference_synthetic/README.md`). A store is opened once per
process and looked up lazily, so start-up does not grow with the size of the reference data.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import sqlite3
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from conformance import cache as user_cache
from conformance.check.store import (
    CSV_FILES,
    Organisation,
    Period,
    Release,
    Store,
    StoreError,
    is_store,
    normalise_postcode,
    open_store,
    tables_of,
)
from conformance.errors import DidsError
from conformance.files import DEFAULT_MAX_SMALL_FILE, InputError, bounded_lines, require_file

__all__ = ["NO_REFERENCE", "Organisation", "Period", "ReferenceData", "load_reference", "normalise_postcode"]


class ReferenceError_(DidsError):
    """A reference file that cannot be read; the message names the file and line."""


@dataclass(slots=True)
class ReferenceData:
    """Loaded tables (read-only mappings, usually store lookups); an absent table is None, and its rules are not
    evaluated. `release` says which reference release it is, for reports."""

    name: str
    organisations: Mapping[str, Organisation] | None = None
    postcodes: Collection[str] | None = None
    nicip: Mapping[str, Period] | None = None
    snomed: Mapping[str, Period] | None = None
    nicip_snomed: Mapping[str, list[tuple[str, Period]]] = field(default_factory=dict)
    # A trust's local exam codes and the NICIP codes they stand for, by (submitter, local code), both upper case.
    local_nicip: dict[tuple[str, str], str] = field(default_factory=dict)
    release: Release | None = None
    descriptions: Mapping[str, str] = field(default_factory=dict)  # code -> description, where the release has one
    # What load_reference was given ("synthetic", or a store's or folder's absolute path), so that another process
    # can open the same data (a parallel check's workers); None for data built otherwise.
    origin: str | None = None

    def has(self, table: str) -> bool:
        return getattr(self, table) is not None

    def missing(self, tables: tuple[str, ...]) -> list[str]:
        return [t for t in tables if not self.has(t)]


NO_REFERENCE = ReferenceData(name="none", origin="none")


def from_store(store: Store) -> ReferenceData:
    """The lookup views of an open store, as the rules read them."""
    tables = tables_of(store)
    release = store.release()
    return ReferenceData(
        name=release.name,
        organisations=tables.organisations,
        postcodes=tables.postcodes,
        nicip=tables.nicip,
        snomed=tables.snomed,
        nicip_snomed=tables.nicip_snomed if tables.nicip_snomed is not None else {},
        release=release,
        descriptions=tables.descriptions,
    )


_OPEN: dict[tuple[str, ...], Store] = {}  # stores opened in this process, by file identity or folder content
_OPEN_LOCK = threading.Lock()


def _folder_key(root: Path) -> tuple[str, ...]:
    """A CSV folder's identity: the hash of the files an import reads (so an edited file builds a new store)."""
    digest = hashlib.sha256()
    for name in CSV_FILES:
        path = root / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return ("folder", digest.hexdigest())


def load_reference_dir(folder: str | Path, name: str | None = None) -> ReferenceData:
    """The CSV-folder form, imported into an in-memory store (once per content); absent files stay unloaded."""
    return replace(from_store(_folder_store(folder, name)), origin=str(Path(folder).resolve()))


def _folder_store(folder: str | Path, name: str | None, *, keep: bool = False) -> Store:
    root = Path(folder)
    if not root.is_dir():
        raise ReferenceError_(f"reference data {root} is not a directory")
    label = name or str(root)
    key = (*_folder_key(root), label)
    with _OPEN_LOCK:
        store = _OPEN.get(key)
        if store is None:
            store = _OPEN[key] = Store(_imported(root, label, store_key(key) if keep else None), label)
    return store


_HERE = Path(__file__).parent
# The code that builds a store from a CSV folder (tests/test_cache.py holds the list to what importing.py and
# published.py import): a store that other code built is not this code's store.
BUILDERS = (
    _HERE / "importing.py",
    _HERE / "published.py",
    _HERE / "store.py",
    _HERE.parent / "calendar.py",
    _HERE.parent / "files.py",
    _HERE.parent / "__init__.py",
)


def store_key(folder_key: tuple[str, ...]) -> str | None:
    """The user-cache key of the store built from a folder (its `_folder_key` and label): the digest of the
    folder, of the code that imports it and of SQLite's version; None when that code cannot be read."""
    try:
        code = [path.read_bytes() for path in BUILDERS]
    except OSError:
        return None
    return user_cache.key(
        b"reference-store", *(part.encode() for part in folder_key), *code, sqlite3.sqlite_version.encode()
    )


def _imported(root: Path, label: str, key: str | None) -> sqlite3.Connection:
    """The CSV folder imported into an in-memory database. With a `key` (the bundled synthetic folder), a copy of
    the database is kept in the user's cache (conformance.cache): importing costs a `dids check` ~20 ms with the
    importers' own start-up, reading the copy well under 1 ms. The copy's manifest keeps its own import time."""
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    stored = user_cache.read("store", key) if key is not None else None
    if stored is not None:
        try:
            connection.deserialize(stored)
            return connection
        except (sqlite3.Error, AttributeError):  # AttributeError: an SQLite built without serialisation
            connection.close()
            connection = sqlite3.connect(":memory:", check_same_thread=False)
    from conformance.check.importing import Source, write_release  # the importers: only when a store is built

    try:
        write_release(connection, [Source("csv", root)], name=label, release_date=None)
    except StoreError as exc:
        connection.close()
        raise ReferenceError_(str(exc)) from None
    if key is not None and hasattr(connection, "serialize"):
        user_cache.write("store", key, connection.serialize())
    return connection


def load_store(path: str | Path) -> ReferenceData:
    """A store file written by `dids reference import`, opened once per process (and per file version)."""
    return replace(from_store(_file_store(path)), origin=str(Path(path).resolve()))


def _file_store(path: str | Path) -> Store:
    source = Path(path)
    try:
        stat = source.stat()
        key = ("store", str(source.resolve()), str(stat.st_mtime_ns), str(stat.st_size))
        with _OPEN_LOCK:
            store = _OPEN.get(key)
            if store is None:
                store = _OPEN[key] = open_store(source)
    except OSError as exc:
        raise ReferenceError_(f"reference store {source} cannot be read ({exc.strerror or exc})") from None
    except StoreError as exc:
        raise ReferenceError_(str(exc)) from None
    return store


LOCAL_MAPPING_COLUMNS = ("SUBMITTER_ORGANISATION", "LOCAL_IMAGING_CODE", "IMAGING_CODE_NICIP")


def load_local_mappings(path: str | Path) -> dict[tuple[str, str], str]:
    """A trust's local-code mapping table, shaped like NHS England's `nicip_local_mappings`: CSV with the columns
    SUBMITTER_ORGANISATION, LOCAL_IMAGING_CODE, IMAGING_CODE_NICIP, or JSON lines with those keys. Read as a
    stream from a regular file of at most 256 MiB, each line at most 64 KiB."""
    try:
        source = require_file(path, what="local mappings", max_bytes=DEFAULT_MAX_SMALL_FILE)
    except InputError as exc:
        raise ReferenceError_(str(exc)) from None
    out: dict[tuple[str, str], str] = {}
    try:
        with open(source, encoding="utf-8-sig", newline="") as handle:
            lines = bounded_lines(handle, limit=_MAX_MAPPING_LINE, what=f"local mappings {source}")
            first = next((line for line in lines if line.strip()), "")
            rows = (
                _json_rows(source, itertools.chain([first], lines))
                if first.lstrip().startswith("{")
                else _csv_rows(itertools.chain([first], lines))
            )
            for n, row in enumerate(rows, 1):
                missing = [c for c in LOCAL_MAPPING_COLUMNS if c not in row]
                if missing:
                    raise ReferenceError_(f"{source} entry {n}: no {', '.join(missing)}")
                submitter, local, nicip = (row[c].strip().upper() for c in LOCAL_MAPPING_COLUMNS)
                if submitter and local and nicip:
                    out[submitter, local] = nicip
    except InputError as exc:
        raise ReferenceError_(str(exc)) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReferenceError_(f"cannot read local mappings {source}: {exc}") from None
    return out


_MAX_MAPPING_LINE = 64 * 1024


def _json_rows(source: Path, lines: Iterator[str]) -> Iterator[dict[str, str]]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ReferenceError_(f"{source} line {n}: not JSON ({getattr(exc, 'msg', exc)})") from None
        if not isinstance(row, dict):
            raise ReferenceError_(f"{source} line {n}: expected an object")
        yield {str(k): str(v or "") for k, v in row.items()}


def _csv_rows(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    for r in csv.DictReader(lines):
        yield {k.strip().upper(): (v or "") for k, v in r.items() if isinstance(k, str) and k}


def reference_folder(spec: str) -> Path:
    """The folder a --reference value names: "synthetic" is the bundled synthetic pack."""
    if spec == "synthetic":
        return Path(__file__).with_name("reference_synthetic")  # not importlib.resources: ~15 ms of start-up
    return Path(spec)


def reference_store(spec: str) -> Store:
    """The store a --reference value names: "synthetic" (the bundled pack, built in memory), a store file from
    `dids reference import`, or a folder of CSV files in the synthetic pack's shape (built in memory)."""
    if spec == "synthetic":
        return _folder_store(reference_folder(spec), "synthetic", keep=True)
    path = Path(spec)
    if path.is_dir():
        return _folder_store(path, None)
    if path.is_file() and is_store(path):
        return _file_store(path)
    if path.exists():
        raise ReferenceError_(f"reference data {path} is neither a store (dids reference import) nor a folder")
    raise ReferenceError_(f"reference data {path} does not exist")


def load_reference(spec: str | None) -> ReferenceData:
    """None or "none": no reference data; otherwise the store `spec` names (see reference_store)."""
    if spec is None or spec == "none":
        return NO_REFERENCE
    origin = spec if spec == "synthetic" else str(Path(spec).resolve())
    return replace(from_store(reference_store(spec)), origin=origin)
