"""`dids reference import`: build one reference store from published files (or the CSV-folder form).

The store is written to a temporary file beside the output and renamed into place only when every source was read
in full (conformance.files.OutputSet); a source of the wrong shape stops the import with one line. The release
hash is the SHA-256 of the sources (kind and file hash, sorted), so the same files give the same release id
whenever they are imported; the manifest also records when and by which tool version.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.calendar import parse_date
from conformance.check.published import (
    DIDS_REFSET,
    FormatError,
    Membership,
    Reading,
    file_sha256,
    nicip_rows,
    ods_rows,
    ods_types,
    postcode_rows,
    reading,
    rf2_kind,
)
from conformance.check.store import CSV_FILES, SCHEMA, SCHEMA_VERSION, StoreError, normalise_postcode
from conformance.files import OutputSet

KINDS = ("ods", "postcodes", "nicip", "snomed", "csv")
_RELEASE_IN_NAME = re.compile(r"_(\d{8})\.txt$")  # RF2 file names end in the release date


@dataclass(frozen=True)
class Source:
    """One input of an import: its kind (one of KINDS), path, and for an ODS file its download type."""

    kind: str
    path: Path
    ods_type: str | None = None


def import_release(sources: Sequence[Source], output: str | Path, *, name: str, release_date: str | None) -> str:
    """Write the store for `sources` to `output` (whole or absent); returns the release hash."""
    if not sources:
        raise StoreError("nothing to import: give at least one source file (see dids reference import --help)")
    with OutputSet() as outputs:
        temp = outputs.path(output)
        try:
            connection = sqlite3.connect(temp)
            try:
                digest = write_release(connection, sources, name=name, release_date=release_date)
            finally:
                connection.close()
        except sqlite3.Error as exc:  # a full disk, say: one line, and OutputSet removes the partial store
            raise StoreError(f"cannot write the reference store {output}: {exc}") from None
    return digest


def write_release(
    connection: sqlite3.Connection, sources: Sequence[Source], *, name: str, release_date: str | None
) -> str:
    """Create the schema in an empty database and fill it from `sources`; returns the release hash."""
    # No journal (a failed import leaves no store at all) and a page cache that holds a national table's index,
    # so that inserting in the file's order does not thrash the disk.
    connection.executescript(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -98304;" + SCHEMA
    )
    writer = _Writer(connection, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), release_date)
    for source in sources:
        if source.kind not in KINDS:
            raise StoreError(f"unknown source kind {source.kind!r}; one of {', '.join(KINDS)}")
        if source.kind != "snomed":
            getattr(writer, source.kind)(source)
    rf2 = [s.path for s in sources if s.kind == "snomed"]
    if rf2:
        writer.snomed(rf2)
    digest = writer.finish(name)
    connection.commit()
    return digest


class _Writer:
    def __init__(self, connection: sqlite3.Connection, now: str, release_date: str | None) -> None:
        self.db, self.now, self.release_date = connection, now, release_date
        self.tables: set[str] = set()
        self.hashes: list[str] = []

    def _manifest(self, kind: str, path: Path, rows: int, sha256: str, release: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO manifest VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, path.name, release or self.release_date, rows, sha256, self.now, __version__),
        )
        self.hashes.append(f"{kind}\t{sha256}")

    def _insert(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> int:
        before = self.db.total_changes
        self.db.executemany(sql, rows)
        return self.db.total_changes - before

    def ods(self, source: Source) -> None:
        types = ods_types()
        name = (source.ods_type or source.path.name.split(".")[0]).lower()
        if name not in types:
            raise StoreError(
                f"{source.path}: which ODS file is this? Name it as published ({', '.join(sorted(types))}) or give "
                "--ods TYPE=FILE"
            )
        with reading(source.path) as file:
            count = _counted(ods_rows(file, types[name]), lambda n: self._insert(_UPSERT_ORGANISATION, n))
            self._manifest(f"ods:{name}", source.path, count, file.sha256())
        self.tables.add("organisations")

    def postcodes(self, source: Source) -> None:
        with reading(source.path) as file:
            count = _counted(postcode_rows(file), lambda n: self._insert(_UPSERT_POSTCODE, n))
            self._manifest("postcodes", source.path, count, file.sha256())
        self.tables.add("postcodes")

    def nicip(self, source: Source) -> None:
        if source.path.suffix.lower() in (".xlsx", ".xlsm"):
            rows = list(nicip_rows(source.path, None))
            self._nicip(rows)
            self._manifest("nicip", source.path, len(rows), file_sha256(source.path))
        else:
            with reading(source.path) as file:
                rows = list(nicip_rows(source.path, file))  # a NICIP release is some thousand rows
                self._nicip(rows)
                self._manifest("nicip", source.path, len(rows), file.sha256())
        self.tables.update(("nicip", "nicip_snomed"))

    def _nicip(self, rows: list[Any]) -> None:
        self._insert(
            "INSERT OR IGNORE INTO nicip VALUES (?, ?, ?, ?, ?)",
            ((r.code, r.active_from, r.active_to, r.description, r.modality) for r in rows),
        )
        self._insert(
            "INSERT INTO nicip_snomed VALUES (?, ?, ?, ?)",
            ((r.code, r.snomed, r.active_from, r.active_to) for r in rows if r.snomed),
        )

    def snomed(self, paths: list[Path]) -> None:
        """Refset files first (they say which concepts matter), then concept and description files."""
        kinds = {path: rf2_kind(path) for path in paths}
        members = Membership()
        read = {
            "refset": members.read_refset,
            "concept": members.read_concepts,
            "description": members.read_descriptions,
        }
        for kind in ("refset", "concept", "description"):
            for path in (p for p in paths if kinds[p] == kind):
                with reading(path) as file:
                    count = read[kind](file)
                    found = _RELEASE_IN_NAME.search(path.name)
                    release = f"{found[1][:4]}-{found[1][4:6]}-{found[1][6:]}" if found else None
                    self._manifest(f"snomed:{kind}", path, count, file.sha256(), release)
        if not members.history:
            raise FormatError(
                f"no member of the DIDS refset {DIDS_REFSET} in {', '.join(str(p) for p in paths)} "
                "(give the simple refset file, der2_Refset_Simple...)"
            )
        self._insert("INSERT INTO snomed VALUES (?, ?, ?, ?)", members.periods())
        self.tables.add("snomed")

    def csv(self, source: Source) -> None:
        folder = source.path
        if not folder.is_dir():
            raise StoreError(f"reference data {folder} is not a directory")
        for file_name, columns in CSV_FILES.items():
            path = folder / file_name
            if path.is_file():
                with reading(path) as file:
                    count = self._csv_table(file_name, _csv_rows(file, columns))
                    self._manifest(f"csv:{file_name}", path, count, file.sha256())

    def _csv_table(self, file_name: str, rows: Iterator[tuple[int, dict[str, str]]]) -> int:
        def period(n: int, row: dict[str, str]) -> tuple[str | None, str | None]:
            return _csv_date(row, "active_from", file_name, n), _csv_date(row, "active_to", file_name, n)

        if file_name == "organisations.csv":
            self.tables.add("organisations")
            return self._insert(
                _UPSERT_ORGANISATION,
                ((r["code"].strip().upper(), " ".join(r["roles"].split()), *period(n, r),
                  r.get("name", ""), r.get("postcode", ""), "csv") for n, r in rows),
            )  # fmt: skip
        if file_name == "postcodes.csv":
            self.tables.add("postcodes")
            return self._insert(_UPSERT_POSTCODE, ((normalise_postcode(r["postcode"]), None) for _n, r in rows))
        if file_name == "nicip.csv":
            self.tables.update(("nicip", "nicip_snomed"))
            return self._insert(
                "INSERT OR REPLACE INTO nicip VALUES (?, ?, ?, ?, '')",
                ((r["code"].strip().upper(), *period(n, r), r.get("description", "")) for n, r in rows),
            )
        if file_name == "snomed.csv":
            self.tables.add("snomed")
            return self._insert(
                "INSERT OR REPLACE INTO snomed VALUES (?, ?, ?, ?)",
                ((r["concept_id"].strip(), *period(n, r), r.get("description", "")) for n, r in rows),
            )
        self.tables.add("nicip_snomed")
        return self._insert(
            "INSERT INTO nicip_snomed VALUES (?, ?, ?, ?)",
            ((r["nicip"].strip().upper(), r["snomed"].strip(), *period(n, r)) for n, r in rows),
        )

    def finish(self, name: str) -> str:
        for table in sorted(self.tables):
            self.db.execute(f"INSERT INTO loaded SELECT ?, count(*) FROM {table}", (table,))
        digest = hashlib.sha256("\n".join([f"schema\t{SCHEMA_VERSION}", *sorted(self.hashes)]).encode()).hexdigest()
        info = {
            "schema_version": SCHEMA_VERSION,
            "name": name,
            "release_date": self.release_date,
            "sha256": digest,
            "imported_at": self.now,
            "tool_version": __version__,
        }
        self.db.executemany("INSERT INTO release VALUES (?, ?)", info.items())
        return digest


_UPSERT_ORGANISATION = (
    "INSERT INTO organisations VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET "
    "roles = roles || ' ' || excluded.roles, ods_types = ods_types || ' ' || excluded.ods_types"
)  # an organisation in several ODS files holds every role they give
_UPSERT_POSTCODE = (
    "INSERT INTO postcodes VALUES (?, ?) ON CONFLICT (postcode) DO UPDATE SET terminated = NULL "
    "WHERE excluded.terminated IS NULL"
)  # listed twice: live wins


def _counted(rows: Iterator[tuple[Any, ...]], insert: Callable[[Iterator[tuple[Any, ...]]], int]) -> int:
    """Insert `rows` and return how many were read (an upsert that merges a row still counts it as read)."""
    count = 0

    def counting() -> Iterator[tuple[Any, ...]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    insert(counting())
    return count


def _csv_rows(file: Reading, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(file.text)
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise FormatError(f"{file.path}: missing column(s) {', '.join(missing)}")
    for number, row in enumerate(reader, 2):
        yield number, {k: v or "" for k, v in row.items() if isinstance(k, str)}


def _csv_date(row: dict[str, str], key: str, file_name: str, number: int) -> str | None:
    text = row.get(key, "").strip()
    if not text:
        return None
    parsed = parse_date(text)
    if parsed is None:
        raise FormatError(f"{file_name} row {number}: {key} {text!r} is not CCYY-MM-DD")
    return parsed.isoformat()
