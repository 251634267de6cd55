"""A validator's own codes mapped onto the corpus's meaning, so that a vendor is scored on what it found.

A rule map is CSV or TOML. Each of the validator's codes maps to one of our rule ids, or to a (record, field)
match: "whatever the corpus expects on this record in this field".

CSV, with a header row:      TOML:
    code,rule,field              [codes]
    E-NICIP,DIDS00300302,        "E-NICIP" = "DIDS00300302"
    E-DATE,,request_date         "E-DATE" = { field = "request_date" }

A finding whose code the map does not name and which is not one of our rule ids maps to nothing: it is reported
as unmapped, never scored as wrong (except at --level exact, where every id must match).
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.certify._corpus import Case
from conformance.certify._validators import CertifyError
from conformance.files import InputError, require_file

Pair = tuple[str, int | None]


@dataclass(frozen=True)
class RuleMap:
    rules: Mapping[str, str] = field(default_factory=dict)  # the validator's code -> our rule id
    fields: Mapping[str, str] = field(default_factory=dict)  # the validator's code -> a field on the same record

    def translate(self, case: Case, said: Iterable[Pair], known: Iterable[str]) -> tuple[set[Pair], set[Pair]]:
        """(mapped findings as our (rule, record) pairs, findings that map to nothing as they were said)."""
        ours = set(known)
        mapped: set[Pair] = set()
        unmapped: set[Pair] = set()
        for code, record in said:
            if code in self.rules:
                mapped.add((self.rules[code], record))
            elif code in self.fields:
                place = self.fields[code]
                hits = {(f.rule, f.record) for f in case.findings if f.record == record and f.field == place}
                # A field match where the corpus expects nothing is a claim of a fault that is not there.
                mapped |= hits or {(f"{code}[{place}]", record)}
            elif code in ours:
                mapped.add((code, record))
            else:
                unmapped.add((code, record))
        return mapped, unmapped


def load_rule_map(path: str | Path, known: Iterable[str]) -> RuleMap:
    """Read a CSV or TOML rule map; every rule it names must be one of `known` (the profiles' rule ids)."""
    try:
        text = require_file(path, what="rule map", max_bytes=16 << 20).read_text("utf-8")
    except InputError as exc:
        raise CertifyError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CertifyError(f"cannot read the rule map {path}: {exc}") from None
    entries = _toml_entries(path, text) if str(path).lower().endswith(".toml") else _csv_entries(path, text)
    return build_rule_map(path, entries, known)


def build_rule_map(path: str | Path, entries: list[tuple[str, str, str]], known: Iterable[str]) -> RuleMap:
    """A rule map from (code, rule, field) entries, each with exactly one of rule or field."""
    rules: dict[str, str] = {}
    fields: dict[str, str] = {}
    ours = set(known)
    for code, rule, place in entries:
        if not code or (not rule) == (not place):
            raise CertifyError(f"{path}: code {code!r} needs exactly one of a rule or a field")
        if code in rules or code in fields:
            raise CertifyError(f"{path}: code {code!r} is mapped twice")
        if rule and rule not in ours:
            raise CertifyError(f"{path}: code {code!r} maps to {rule!r}, which is no rule of the corpus")
        (rules if rule else fields)[code] = rule or place
    return RuleMap(rules, fields)


def _csv_entries(path: str | Path, text: str) -> list[tuple[str, str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or ())
    if "code" not in header or not header & {"rule", "field"}:
        raise CertifyError(f"{path}: a CSV rule map needs a header row with code and rule and/or field")
    try:
        return [
            ((row.get("code") or "").strip(), (row.get("rule") or "").strip(), (row.get("field") or "").strip())
            for row in reader
        ]
    except csv.Error as exc:
        raise CertifyError(f"{path}: {exc}") from None


def _toml_entries(path: str | Path, text: str) -> list[tuple[str, str, str]]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CertifyError(f"cannot read the rule map {path}: {exc}") from None
    return toml_table_entries(path, data.get("codes", {}))


def toml_table_entries(path: str | Path, codes: Any) -> list[tuple[str, str, str]]:
    """The [codes] table of a rule map (or of a validator file's [rule-map])."""
    if not isinstance(codes, dict):
        raise CertifyError(f"{path}: [codes] must be a table of code = rule or code = {{ field = ... }}")
    out = []
    for code, target in codes.items():
        if isinstance(target, str):
            out.append((code, target, ""))
        elif isinstance(target, dict) and set(target) == {"field"} and isinstance(target["field"], str):
            out.append((code, "", target["field"]))
        else:
            raise CertifyError(f"{path}: code {code!r} must map to a rule id or to {{ field = ... }}")
    return out
