"""The reference-data providers the DSP's DIDS rules call, serving the harness's synthetic CSV tables.

Each provider returns the DSP's own record model (`dsp.model.ods_record.ODSRecord`,
`dsp.model.clinical_records.ClinicalRecordModel`), so the DSP's date and role logic is what runs. Tables are read
once per process (Spark's Python workers each read them). Role mapping of the synthetic `roles` column: the DSP
tests GP practices against ODS role RO76 and referring organisations against its referring role list, in which
RO197 (NHS trust) is; a site needs only to exist (DIDS068) and be active (DIDS081), so RO198 (NHS trust site).
"""

from __future__ import annotations

import csv
import functools
import os
from pathlib import Path
from typing import Any

ROLE_CODES = {"gp_practice": "RO76", "referring": "RO197", "site": "RO198"}
_DEFAULT = Path(__file__).resolve().parents[4].parent / "conformance" / "check" / "reference_synthetic"


def reference_dir() -> Path:
    return Path(os.environ.get("DIDS_ORACLE_REFERENCE") or _DEFAULT)


def _ymd(text: str) -> int | None:
    return int(text.replace("-", "")) if text.strip() else None


@functools.cache
def _table(name: str) -> tuple[dict[str, str], ...]:
    with open(reference_dir() / name, encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def _dated(start: str, end: str) -> dict[str, int]:
    span = {"from": _ymd(start) or 0}
    if (stop := _ymd(end)) is not None:
        span["to"] = stop
    return span


@functools.cache
def _organisations() -> dict[str, Any]:
    from dsp.model.ods_record import ODSRecord

    found = {}
    for row in _table("organisations.csv"):
        span = _dated(row["active_from"], row["active_to"])
        roles = [{"type": ROLE_CODES[r], **span} for r in row["roles"].split()]
        code = row["code"].strip().upper()
        found[code] = ODSRecord({"org_code": code, "name": row["name"], "roles": roles, **span})
    return found


class ODSProvider:
    def get_org(self, code: str, point_in_time: Any = None, follow_successions: bool = True) -> Any:
        return _organisations().get((code or "").strip().upper())

    def get(self, code: str) -> Any:
        return self.get_org(code)


@functools.cache
def _postcodes() -> frozenset[str]:
    return frozenset(row["postcode"].replace(" ", "").upper() for row in _table("postcodes.csv"))


class ONSProvider:
    def active_at(self, postcode: str, point_in_time: Any = None) -> bool:
        return (postcode or "").replace(" ", "").upper() in _postcodes()


def _clinical(code_column: str, table: str, describe: str) -> dict[str, Any]:
    from dsp.model.clinical_records import ClinicalRecordModel

    maps: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for row in _table("nicip_snomed_map.csv"):
        key = row["nicip"] if code_column == "code" else row["snomed"]
        maps.setdefault(key.strip().upper(), []).append(
            (_ymd(row["active_from"]) or 0, {"snomedct_id": int(row["snomed"]), "nicip_id": row["nicip"]})
        )
    found = {}
    for row in _table(table):
        code = row[code_column].strip().upper()
        entries = [(start, {**entry, describe: row["description"]}) for start, entry in maps.get(code, [])]
        if not entries:  # an unmapped code: the DSP reads the code's own entry (and finds no counterpart)
            own = {"snomedct_id": int(code) if code_column == "concept_id" else None, describe: row["description"]}
            entries = [(_ymd(row["active_from"]) or 0, own)]
        entries.sort(key=lambda pair: pair[0], reverse=True)  # the DSP takes the first entry on or before a date
        found[code] = ClinicalRecordModel(
            {"eff_from": _ymd(row["active_from"]) or 0, "eff_to": _ymd(row["active_to"]), "clinical_map": entries}
        )
    return found


@functools.cache
def _nicip() -> dict[str, Any]:
    return _clinical("code", "nicip.csv", "nicip_description")


@functools.cache
def _snomed() -> dict[str, Any]:
    return _clinical("concept_id", "snomed.csv", "snomedct_description")


class NicipMappingTableProvider:
    def get(self, code: str) -> Any:
        return _nicip().get(str(code or "").strip().upper())


class SnomedMappingTableProvider:
    def get(self, code: str) -> Any:
        return _snomed().get(str(code or "").strip().upper())


class _Unserved:
    """A provider the DIDS validation path does not call: any use is an error, never an empty answer."""

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"the oracle's reference stub does not serve {type(self).__name__}.{name}")


class SchoolsProvider(_Unserved):
    pass


class SnomedTermProvider(_Unserved):
    pass


class ICD10CodeProvider(_Unserved):
    pass


class IMDProvider(_Unserved):
    pass
