"""National reference data: organisations, postcodes, NICIP and SNOMED CT with effective dates, and the map.

Rules that need a table run only when it is loaded; otherwise the report lists them as not evaluated, with the
reason. `load_reference("synthetic")` loads the bundled synthetic pack (the universe the generators draw from);
`load_reference(DIR)` loads a directory of CSV files laid out as `reference_synthetic/README.md` documents.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path

from conformance.calendar import parse_date
from conformance.errors import DidsError
from conformance.files import DEFAULT_MAX_SMALL_FILE, InputError, bounded_lines, require_file

TABLE_FILES = {
    "organisations": "organisations.csv",
    "postcodes": "postcodes.csv",
    "nicip": "nicip.csv",
    "snomed": "snomed.csv",
}
MAP_FILE = "nicip_snomed_map.csv"


class ReferenceError_(DidsError):
    """A reference file that cannot be read; the message names the file and line."""


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


@dataclass(slots=True)
class ReferenceData:
    """Loaded tables; an absent table is None, and its rules are not evaluated."""

    name: str
    organisations: dict[str, Organisation] | None = None
    postcodes: set[str] | None = None
    nicip: dict[str, Period] | None = None
    snomed: dict[str, Period] | None = None
    nicip_snomed: dict[str, list[tuple[str, Period]]] = field(default_factory=dict)
    # A trust's local exam codes and the NICIP codes they stand for, by (submitter, local code), both upper case.
    local_nicip: dict[tuple[str, str], str] = field(default_factory=dict)

    def has(self, table: str) -> bool:
        return getattr(self, table) is not None

    def missing(self, tables: tuple[str, ...]) -> list[str]:
        return [t for t in tables if not self.has(t)]


NO_REFERENCE = ReferenceData(name="none")


def normalise_postcode(value: str) -> str:
    return "".join(value.split()).upper()


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """The rows of one reference CSV file, streamed (a national table never sits in memory as text)."""
    try:
        require_file(path, what="reference file")
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise ReferenceError_(f"{path}: missing column(s) {', '.join(missing)}")
            yield from reader
    except InputError as exc:
        raise ReferenceError_(str(exc)) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReferenceError_(f"{path}: cannot be read ({exc})") from None


def _period(row: dict[str, str], path: Path, number: int) -> Period:
    def one(key: str) -> date | None:
        text = (row.get(key) or "").strip()
        if not text:
            return None
        parsed = parse_date(text)
        if parsed is None:
            raise ReferenceError_(f"{path} row {number}: {key} {text!r} is not CCYY-MM-DD")
        return parsed

    return Period(one("active_from"), one("active_to"))


def load_reference_dir(folder: str | Path, name: str | None = None) -> ReferenceData:
    """Load whichever documented CSV files `folder` holds; tables without a file stay unloaded."""
    root = Path(folder)
    if not root.is_dir():
        raise ReferenceError_(f"reference data {root} is not a directory")
    data = ReferenceData(name=name or str(root))
    path = root / TABLE_FILES["organisations"]
    if path.is_file():
        data.organisations = {}
        for n, row in enumerate(_rows(path, ("code", "roles", "active_from", "active_to")), 2):
            code = row["code"].strip().upper()
            data.organisations[code] = Organisation(code, frozenset(row["roles"].split()), _period(row, path, n))
    path = root / TABLE_FILES["postcodes"]
    if path.is_file():
        data.postcodes = {normalise_postcode(r["postcode"]) for r in _rows(path, ("postcode",))}
    for table, key in (("nicip", "code"), ("snomed", "concept_id")):
        path = root / TABLE_FILES[table]
        if path.is_file():
            setattr(
                data,
                table,
                {
                    r[key].strip(): _period(r, path, n)
                    for n, r in enumerate(_rows(path, (key, "active_from", "active_to")), 2)
                },
            )
    path = root / MAP_FILE
    if path.is_file():
        for n, row in enumerate(_rows(path, ("nicip", "snomed", "active_from", "active_to")), 2):
            data.nicip_snomed.setdefault(row["nicip"].strip(), []).append(
                (row["snomed"].strip(), _period(row, path, n))
            )
    return data


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
        return Path(str(resources.files("conformance.check").joinpath("reference_synthetic")))
    return Path(spec)


def load_reference(spec: str | None) -> ReferenceData:
    """None or "none": no reference data; "synthetic": the bundled synthetic pack; otherwise a directory."""
    if spec is None or spec == "none":
        return NO_REFERENCE
    return load_reference_dir(reference_folder(spec), name="synthetic" if spec == "synthetic" else None)
