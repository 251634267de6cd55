"""The reference store: one SQLite database per reference release, looked up lazily.

`dids reference import` writes a store (see `importers.py`); `open_store` opens one read-only. The lookup tables
behave as read-only mappings keyed as the rules look values up, so the rules need not know where the data lives:
each distinct value is fetched once by its index and kept in a bounded cache, and nothing is read at start-up but
the table list and the release line. The manifest names every source file with its SHA-256.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Generic, TypeVar

from conformance.errors import DidsError

SCHEMA_VERSION = "1"
# Every lookup key is a primary key (WITHOUT ROWID: the row lives in the key's B-tree, one seek per lookup).
SCHEMA = """
CREATE TABLE release (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE manifest (
  kind TEXT NOT NULL, file_name TEXT NOT NULL, release_date TEXT, rows INTEGER NOT NULL, sha256 TEXT NOT NULL,
  imported_at TEXT NOT NULL, tool_version TEXT NOT NULL
);
CREATE TABLE loaded (name TEXT PRIMARY KEY, rows INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE organisations (
  code TEXT PRIMARY KEY, roles TEXT NOT NULL, active_from TEXT, active_to TEXT, name TEXT, postcode TEXT,
  ods_types TEXT
) WITHOUT ROWID;
CREATE TABLE postcodes (postcode TEXT PRIMARY KEY, terminated TEXT) WITHOUT ROWID;
CREATE TABLE nicip (code TEXT PRIMARY KEY, active_from TEXT, active_to TEXT, description TEXT, modality TEXT)
  WITHOUT ROWID;
CREATE TABLE snomed (concept_id TEXT PRIMARY KEY, active_from TEXT, active_to TEXT, description TEXT) WITHOUT ROWID;
CREATE TABLE nicip_snomed (nicip TEXT NOT NULL, snomed TEXT NOT NULL, active_from TEXT, active_to TEXT);
CREATE INDEX nicip_snomed_by_nicip ON nicip_snomed (nicip);
"""
CSV_FILES = {  # the CSV-folder form (conformance/check/reference_synthetic/README.md): file -> key columns
    "organisations.csv": ("code", "roles", "active_from", "active_to"),
    "postcodes.csv": ("postcode",),
    "nicip.csv": ("code", "active_from", "active_to"),
    "snomed.csv": ("concept_id", "active_from", "active_to"),
    "nicip_snomed_map.csv": ("nicip", "snomed", "active_from", "active_to"),
}
TABLES = ("organisations", "postcodes", "nicip", "snomed", "nicip_snomed")
_KEY_COLUMNS = {"organisations": "code", "postcodes": "postcode", "nicip": "code", "snomed": "concept_id"}
_KEY_COLUMNS["nicip_snomed"] = "nicip"
CACHE_LIMIT = 65_536  # distinct values kept per table; the cache starts again when full (memory stays bounded)


def normalise_postcode(value: str) -> str:
    """A postcode as the store keys it: no spaces, upper case."""
    return "".join(value.split()).upper()


class StoreError(DidsError):
    """A reference store that cannot be opened or read; the message names the file."""


@dataclass(frozen=True, slots=True)
class Period:
    """When something is active: from `start` to `end` inclusive (None = open-ended)."""

    start: date | None
    end: date | None

    def active(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def days_outside(self, day: date) -> int:
        """0 when active on `day`, else how many days `day` lies before the start or after the end."""
        if self.start is not None and day < self.start:
            return (self.start - day).days
        if self.end is not None and day > self.end:
            return (day - self.end).days
        return 0


@dataclass(frozen=True, slots=True)
class Organisation:
    code: str
    roles: frozenset[str]
    period: Period


@dataclass(frozen=True, slots=True)
class Release:
    """Which reference release a result was judged against: enough to reproduce it."""

    name: str
    date: str | None
    sha256: str

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "release_date": self.date, "sha256": self.sha256}

    def line(self) -> str:
        return f"{self.name} (release {self.date or 'undated'}, sha256 {self.sha256})"


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _period(start: str | None, end: str | None) -> Period:
    return Period(_day(start), _day(end))


class Store:
    """An open store: one connection shared by every table view (SQLite serialises its use across threads)."""

    def __init__(self, connection: sqlite3.Connection, label: str) -> None:
        self.connection, self.label = connection, label
        self.lock = threading.Lock()
        try:
            self.loaded = dict(connection.execute("SELECT name, rows FROM loaded").fetchall())
            self.info = dict(connection.execute("SELECT key, value FROM release").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{label} is not a DIDS reference store ({exc})") from None
        if self.info.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(
                f"{label}: reference store schema {self.info.get('schema_version')!r}, this tool reads "
                f"{SCHEMA_VERSION!r}; import the release again"
            )

    def release(self) -> Release:
        return Release(self.info.get("name") or self.label, self.info.get("release_date"), self.info["sha256"])

    def query(self, sql: str, key: str) -> list[tuple[Any, ...]]:
        try:
            with self.lock:
                return self.connection.execute(sql, (key,)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.label}: cannot be read ({exc})") from None

    def manifest(self) -> list[dict[str, Any]]:
        cursor = self.connection.execute(
            "SELECT kind, file_name, release_date, rows, sha256, imported_at, tool_version FROM manifest ORDER BY rowid"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]


V = TypeVar("V")


class Lookup(Mapping[str, V], Generic[V]):
    """A read-only mapping over one store table: each key is fetched once through its index, then cached."""

    def __init__(self, store: Store, table: str, sql: str, convert: Callable[[list[tuple[Any, ...]]], V | None]):
        self.store, self.table, self.sql, self.convert = store, table, sql, convert
        self.cache: dict[str, V | None] = {}

    def _find(self, key: str) -> V | None:
        try:
            return self.cache[key]
        except KeyError:
            pass
        if len(self.cache) >= CACHE_LIMIT:
            self.cache.clear()
        found = self.cache[key] = self.convert(self.store.query(self.sql, key))
        return found

    def __getitem__(self, key: str) -> V:
        found = self._find(key) if isinstance(key, str) else None
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def __iter__(self) -> Iterator[str]:
        """Every key, in order, streamed from the index (never needed by the rules; for tools and tests)."""
        column = _KEY_COLUMNS.get(self.table)
        if column is None:
            raise TypeError(f"the {self.table} lookup cannot be listed")
        yield from (
            v for (v,) in self.store.connection.execute(f"SELECT DISTINCT {column} FROM {self.table} ORDER BY 1")
        )

    def __len__(self) -> int:
        return int(self.store.loaded.get(self.table, 0))

    def __bool__(self) -> bool:
        return True  # a loaded table, even an empty one: "or {}" in the rules means "not loaded"


def _one_period(rows: list[tuple[Any, ...]]) -> Period | None:
    return _period(rows[0][0], rows[0][1]) if rows else None


def _organisation(rows: list[tuple[Any, ...]]) -> Organisation | None:
    if not rows:
        return None
    code, roles, start, end = rows[0]
    return Organisation(code, frozenset(roles.split()), _period(start, end))


def _map_targets(rows: list[tuple[Any, ...]]) -> list[tuple[str, Period]] | None:
    return [(snomed, _period(start, end)) for snomed, start, end in rows] if rows else None


def _present(rows: list[tuple[Any, ...]]) -> bool | None:
    return True if rows else None


def _text(rows: list[tuple[Any, ...]]) -> str | None:
    return next((r[0] for r in rows if r[0]), None)


@dataclass(slots=True)
class StoreTables:
    """The lookup views of one store; a table the release did not load is None."""

    store: Store
    organisations: Lookup[Organisation] | None
    postcodes: Lookup[bool] | None
    nicip: Lookup[Period] | None
    snomed: Lookup[Period] | None
    nicip_snomed: Lookup[list[tuple[str, Period]]] | None
    descriptions: Lookup[str]


def tables_of(store: Store) -> StoreTables:
    def view(table: str, sql: str, convert: Callable[[list[tuple[Any, ...]]], Any]) -> Any:
        return Lookup(store, table, sql, convert) if table in store.loaded else None

    return StoreTables(
        store,
        view(
            "organisations",
            "SELECT code, roles, active_from, active_to FROM organisations WHERE code = ?",
            _organisation,
        ),
        view("postcodes", "SELECT 1 FROM postcodes WHERE postcode = ?", _present),
        view("nicip", "SELECT active_from, active_to FROM nicip WHERE code = ?", _one_period),
        view("snomed", "SELECT active_from, active_to FROM snomed WHERE concept_id = ?", _one_period),
        view(
            "nicip_snomed",
            "SELECT snomed, active_from, active_to FROM nicip_snomed WHERE nicip = ? ORDER BY rowid",
            _map_targets,
        ),
        Lookup(
            store,
            "descriptions",
            "SELECT description FROM nicip WHERE code = ?1 UNION ALL SELECT description FROM snomed "
            "WHERE concept_id = ?1",
            _text,
        ),
    )


def open_store(path: str | Path) -> Store:
    """Open a store file read-only; StoreError when it is missing or not a store."""
    source = Path(path)
    if not source.is_file():
        raise StoreError(f"reference store {source} is not a file")
    try:
        connection = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"reference store {source} cannot be opened ({exc})") from None
    return Store(connection, str(source))


def is_store(path: str | Path) -> bool:
    """True when `path` is a file that starts like an SQLite database."""
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False
