"""Readers of the published national reference files, each in its own format, streamed row by row.

Each reader checks the file's shape on its first lines and refuses the wrong one with a line naming the file, the
line and what was expected; the layouts followed are written down in `tests/reference_samples/README.md`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import IO, Any

from conformance.check.store import StoreError

DIDS_REFSET = "999001111000000105"  # United Kingdom diagnostic imaging procedure simple reference set
FSN_TYPE = "900000000000003001"  # |Fully specified name|
ODS_MIN_COLUMNS = 12  # code, name, grouping, geography, 5 address lines, postcode, open date, close date
ODS_CODE = re.compile(r"[A-Z0-9]{3,12}")
POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")
SCTID = re.compile(r"[1-9][0-9]{5,17}")
NICIP_CODE = re.compile(r"[A-Z0-9]{3,12}")


class FormatError(StoreError):
    """A file that is not in the published layout the importer was told it is in."""


class _Hashing(io.RawIOBase):
    """A binary file that feeds every byte read through SHA-256, so a file is hashed in the same pass."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.digest = raw, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        return len(data)


@dataclass
class Reading:
    """One source file being read: its text, and its SHA-256 once read to the end."""

    path: Path
    text: IO[str]
    hashing: _Hashing

    def sha256(self) -> str:
        while self.hashing.read(1 << 20):
            pass  # a reader that stopped early still hashes the whole file
        return self.hashing.digest.hexdigest()


@contextmanager
def reading(path: Path) -> Iterator[Reading]:
    try:
        with open(path, "rb") as raw:
            hashing = _Hashing(raw)
            text = io.TextIOWrapper(io.BufferedReader(hashing, 1 << 20), encoding="utf-8-sig", newline="")
            yield Reading(path, text, hashing)
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise FormatError(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def compact_date(text: str, where: str) -> str | None:
    """CCYYMMDD (ODS, RF2) as CCYY-MM-DD; blank is None."""
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError
        return date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    except ValueError:
        raise FormatError(f"{where}: {text!r} is not a CCYYMMDD date") from None


# ----- ODS organisation files (etr.csv, ets.csv, epraccur.csv, ...) ---------------------------------------------


@dataclass(frozen=True)
class OdsType:
    name: str
    description: str
    roles: tuple[str, ...]
    provenance: str


def ods_types() -> dict[str, OdsType]:
    """The ODS download types and the DIDS roles each gives (`ods_roles.toml`, with its provenance)."""
    text = resources.files("conformance.check").joinpath("ods_roles.toml").read_text(encoding="utf-8")
    return {
        name: OdsType(name, entry["description"], tuple(entry["roles"]), entry["provenance"])
        for name, entry in tomllib.loads(text)["types"].items()
    }


OdsRow = tuple[str, str, str | None, str | None, str, str, str]


def ods_rows(source: Reading, kind: OdsType) -> Iterator[OdsRow]:
    """(code, roles, open, close, name, postcode, type) per organisation of an ODS CSV download."""
    roles = " ".join(kind.roles)
    for number, row in enumerate(csv.reader(source.text), 1):
        if not any(v.strip() for v in row):
            continue
        where = f"{source.path} line {number}"
        if len(row) < ODS_MIN_COLUMNS:
            raise FormatError(
                f"{where}: {len(row)} column(s); an ODS organisation file has no header and at least "
                f"{ODS_MIN_COLUMNS} columns (code, name, ..., postcode, open date, close date)"
            )
        code = row[0].strip().upper()
        if not ODS_CODE.fullmatch(code):
            raise FormatError(f"{where}: column 1 {row[0]!r} is not an ODS organisation code (a header row?)")
        hint = " (ODS downloads have no header row)" if number == 1 else ""
        opened = compact_date(row[10], f"{where} column 11 (open date){hint}")
        closed = compact_date(row[11], f"{where} column 12 (close date){hint}")
        yield code, roles, opened, closed, row[1].strip(), row[9].strip().upper(), kind.name


# ----- the postcode directory (ONSPD / NHSPD CSV with a header) ------------------------------------------------


def _header_index(header: list[str]) -> dict[str, int]:
    return {re.sub(r"[^a-z0-9]", "", name.lower()): i for i, name in enumerate(header)}


def postcode_rows(source: Reading) -> Iterator[tuple[str, str | None]]:
    """(postcode without spaces, termination month CCYY-MM or None) per row of a postcode directory CSV."""
    rows = csv.reader(source.text)
    header = next(rows, [])
    index = _header_index(header)
    column = next((index[c] for c in ("pcds", "pcd", "pcd2") if c in index), None)
    if column is None or "doterm" not in index:
        raise FormatError(
            f"{source.path} line 1: no header naming the postcode (pcds) and termination date (doterm) columns; "
            "expected the ONS Postcode Directory CSV layout"
        )
    term = index["doterm"]
    width = max(column, term)
    match = POSTCODE.fullmatch
    for number, row in enumerate(rows, 2):  # the national file has millions of rows: nothing spare per row
        if len(row) <= width:
            if not row:
                continue
            raise FormatError(f"{source.path} line {number}: {len(row)} column(s), the header names {len(header)}")
        postcode = row[column].replace(" ", "").upper()
        if not match(postcode):
            raise FormatError(f"{source.path} line {number}: {row[column]!r} is not a postcode")
        ended = row[term]
        if not ended:
            yield postcode, None
        elif len(ended) == 6 and ended.isascii() and ended.isdigit() and 1 <= int(ended[4:]) <= 12:
            yield postcode, f"{ended[:4]}-{ended[4:]}"
        else:
            raise FormatError(f"{source.path} line {number}: doterm {ended!r} is not CCYYMM")


# ----- the NICIP release (TRUD): a spreadsheet, or the same table as tab- or comma-separated text ---------------

NICIP_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("nicipcode", "nicipshortcode", "code", "nicip"),
    "description": ("nicipdescription", "nicipshortname", "shortname", "description", "name"),
    "modality": ("modality",),
    "status": ("status", "active", "activestatus"),
    "active_from": ("effectivefrom", "activefrom", "startdate", "validfrom", "datefrom"),
    "active_to": ("effectiveto", "activeto", "enddate", "validto", "dateto", "inactivationdate", "inactivedate"),
    "snomed": ("snomedctconceptid", "snomedctcode", "snomedctid", "snomedct", "snomed", "sctid", "conceptid"),
}
ACTIVE = {"active", "a", "1", "y", "yes", "true"}
INACTIVE = {"inactive", "retired", "i", "0", "n", "no", "false"}


@dataclass
class NicipRow:
    code: str
    active_from: str | None
    active_to: str | None
    description: str
    modality: str
    snomed: str | None


def _table_rows(path: Path, source: Reading | None) -> Iterator[list[Any]]:
    """The rows of the NICIP table: the first sheet with a NICIP code column of a workbook, else delimited text."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _sheet_rows(path)
        return
    assert source is not None
    first = source.text.readline()
    delimiter = "\t" if "\t" in first else ","
    yield from csv.reader(io.StringIO(first), delimiter=delimiter)
    yield from csv.reader(source.text, delimiter=delimiter)


def _sheet_rows(path: Path) -> Iterator[list[Any]]:
    import openpyxl  # only for a spreadsheet release: read-only mode streams the rows
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise FormatError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = [str(v or "") for v in next(rows, ())]
            if any(c in _header_index(header) for c in NICIP_COLUMNS["code"]):
                yield header
                yield from ([("" if v is None else v) for v in row] for row in rows)
                return
        yield []  # no sheet with a code column: the header check below says so
    finally:
        book.close()


def _nicip_date(value: Any, where: str) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return None
    for shape in ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, shape).date().isoformat()
        except ValueError:
            continue
    raise FormatError(f"{where}: {text!r} is not a date (CCYY-MM-DD, CCYYMMDD or DD/MM/CCYY)")


def nicip_rows(path: Path, source: Reading | None) -> Iterator[NicipRow]:
    """One NicipRow per row of the NICIP table; a row per SNOMED CT map target repeats the code."""
    rows = _table_rows(path, source)
    header = [str(v) for v in next(rows, [])]
    index = _header_index(header)
    at = {key: next((index[a] for a in names if a in index), None) for key, names in NICIP_COLUMNS.items()}
    if at["code"] is None or (at["status"] is None and at["active_from"] is None and at["active_to"] is None):
        raise FormatError(
            f"{path} line 1: no header naming the NICIP code and its status or effective dates; expected the NICIP "
            "release table (see tests/reference_samples/README.md)"
        )
    for number, row in enumerate(rows, 2):
        values = {k: (row[i] if i is not None and i < len(row) else "") for k, i in at.items()}
        if not any(str(v).strip() for v in row):
            continue
        yield _nicip_row(values, f"{path} line {number}")


def _nicip_row(values: dict[str, Any], where: str) -> NicipRow:
    code = str(values["code"]).strip().upper()
    if not NICIP_CODE.fullmatch(code):
        raise FormatError(f"{where}: {values['code']!r} is not a NICIP code")
    start = _nicip_date(values["active_from"], f"{where} (effective from)")
    end = _nicip_date(values["active_to"], f"{where} (effective to)")
    status = str(values["status"]).strip().lower()
    if status and status not in ACTIVE | INACTIVE:
        raise FormatError(f"{where}: status {values['status']!r} is neither active nor inactive")
    if status in INACTIVE and end is None:
        raise FormatError(f"{where}: {code} is inactive but has no end date, so its 183 days' grace cannot be judged")
    snomed = str(values["snomed"]).strip()
    if snomed.endswith(".0"):  # a spreadsheet cell typed as a number
        snomed = snomed[:-2]
    if snomed and not SCTID.fullmatch(snomed):
        raise FormatError(f"{where}: SNOMED CT {values['snomed']!r} is not a concept identifier")
    return NicipRow(
        code, start, end, str(values["description"]).strip(), str(values["modality"]).strip(), snomed or None
    )


# ----- SNOMED CT RF2 (concept, description and simple refset files; Snapshot or Full) ---------------------------

RF2_HEADERS = {
    "refset": ["id", "effectiveTime", "active", "moduleId", "refsetId", "referencedComponentId"],
    "concept": ["id", "effectiveTime", "active", "moduleId", "definitionStatusId"],
    "description": [
        "id", "effectiveTime", "active", "moduleId", "conceptId", "languageCode", "typeId", "term",
        "caseSignificanceId",
    ],
}  # fmt: skip


def rf2_kind(path: Path) -> str:
    """Which RF2 file `path` is, from its header line; FormatError when none."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header = handle.readline().rstrip("\r\n").split("\t")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: cannot be read ({exc})") from None
    for kind, columns in RF2_HEADERS.items():
        if header == columns:
            return kind
    raise FormatError(
        f"{path} line 1: not an RF2 concept, description or simple refset file (header {'|'.join(header[:6])!r}; "
        "expected tab-separated id, effectiveTime, active, moduleId, ...)"
    )


def _rf2_rows(source: Reading, width: int) -> Iterator[tuple[str, list[str]]]:
    next(source.text, None)
    for number, line in enumerate(source.text, 2):
        if not line.strip():
            continue
        row = line.rstrip("\r\n").split("\t")
        where = f"{source.path} line {number}"
        if len(row) != width:
            raise FormatError(f"{where}: {len(row)} field(s), an RF2 row of this file has {width}")
        if row[2] not in ("0", "1"):
            raise FormatError(f"{where}: active {row[2]!r} is not 0 or 1")
        yield where, row


@dataclass
class Membership:
    """The history of the DIDS refset: every (effective day, active) of each member row, by concept."""

    history: dict[str, list[tuple[str, bool, str]]] = field(default_factory=dict)  # concept -> (day, active, id)
    retired: dict[str, str] = field(default_factory=dict)  # concept -> day it became inactive, from concept files
    names: dict[str, str] = field(default_factory=dict)

    def read_refset(self, source: Reading) -> int:
        count = 0
        for where, row in _rf2_rows(source, 6):
            count += 1
            if row[4] == DIDS_REFSET:
                day = compact_date(row[1], f"{where} effectiveTime")
                assert day is not None
                self.history.setdefault(row[5], []).append((day, row[2] == "1", row[0]))
        return count

    def read_concepts(self, source: Reading) -> int:
        latest: dict[str, tuple[str, bool]] = {}
        count = 0
        for where, row in _rf2_rows(source, 5):
            count += 1
            if row[0] in self.history:
                day = compact_date(row[1], f"{where} effectiveTime")
                assert day is not None
                if row[0] not in latest or latest[row[0]][0] <= day:
                    latest[row[0]] = (day, row[2] == "1")
        self.retired.update({c: day for c, (day, active) in latest.items() if not active})
        return count

    def read_descriptions(self, source: Reading) -> int:
        count = 0
        for _where, row in _rf2_rows(source, 9):
            count += 1
            if row[2] == "1" and row[6] == FSN_TYPE and row[4] in self.history:
                self.names[row[4]] = row[7]
        return count

    def periods(self) -> Iterator[tuple[str, str | None, str | None, str]]:
        """(concept, first active day, last active day or None, name) per refset member."""
        for concept, rows in sorted(self.history.items()):
            start, end = _member_period(rows)
            retired = self.retired.get(concept)
            if retired is not None:
                last = (date.fromisoformat(retired) - timedelta(days=1)).isoformat()
                end = last if end is None or last < end else end
            yield concept, start, end, self.names.get(concept, "")


def _member_period(rows: list[tuple[str, bool, str]]) -> tuple[str | None, str | None]:
    """From the first activation to the day before the last inactivation (None: still a member). An effective
    time is the first day of the new state (RF2), so a member inactivated on day T was last active on T - 1."""
    start: str | None = None
    end: str | None = None
    state: dict[str, bool] = {}
    for day, active, member in sorted(rows):
        state[member] = active
        if active and start is None:
            start = day
        if any(state.values()):
            end = None
        elif not active:
            end = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    if start is None and end is not None:
        return None, end  # only the inactivation is known (a Snapshot of a retired member)
    return start, end
