"""Load a spec pack from TOML, apply user overrides, check it, and build the typed view."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.errors import DidsError
from conformance.files import InputError, require_file
from conformance.spec._model import (
    CONTEXT_NEEDS,
    PROVENANCE_STATUSES,
    REFERENCE_TABLES,
    RULE_KINDS,
    RULE_SEVERITIES,
    CodeList,
    CodeValue,
    CsvLayout,
    Item,
    MandationGroup,
    Pack,
    Provenance,
    RuleSpec,
    XmlBinding,
    XmlGroup,
    XmlLayout,
)

VERSIONS = ("v1", "v2")
PROFILES = {"v1-dsp": "v1", "v1-portal": "v1", "v2": "v2"}

# Lists of tables that an override merges entry by entry, by the key named here; other lists are replaced whole.
_MERGE_KEYS = {
    "items": "id",
    "values": "code",
    "groups": "id",
    "mandation_groups": "id",
    "patterns": "pattern",
    "rules": "id",
}


_MAX_OVERRIDE_BYTES = 16 * 1024 * 1024


class PackError(DidsError):
    """A spec pack or override file is malformed; the message says where and why."""


def raw_pack(version: str) -> dict[str, Any]:
    """The bundled pack for `version` as plain data, before overrides (a copy the caller may change)."""
    if version not in VERSIONS:
        raise PackError(f"unknown spec version {version!r}; choose one of {', '.join(VERSIONS)}")
    return copy.deepcopy(_bundled_data(version))


@cache
def _bundled_data(version: str) -> dict[str, Any]:
    # Parsing the TOML costs ~40 ms a version; the bundled files do not change while the process runs.
    folder = resources.files("conformance.spec").joinpath(f"packs/{version}")
    data = tomllib.loads(folder.joinpath("pack.toml").read_text("utf-8"))
    rules = folder.joinpath("rules.toml")
    if rules.is_file():  # the rule catalogue sits beside the pack; it merges and overrides like the rest
        data["rules"] = tomllib.loads(rules.read_text("utf-8"))["rules"]
    return data


@cache
def _bundled_pack(version: str) -> Pack:
    return build_pack(raw_pack(version), ())


def read_override(path: str | Path) -> dict[str, Any]:
    """Read an override file (TOML, or JSON by its .json suffix)."""
    p = Path(path)
    try:
        text = require_file(p, what="override file", max_bytes=_MAX_OVERRIDE_BYTES).read_text("utf-8")
    except InputError as exc:
        raise PackError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"cannot read override file {p}: {exc}") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PackError(f"override file {p} is not valid {'JSON' if p.suffix == '.json' else 'TOML'}: {exc}") from None
    if not isinstance(data, dict):
        raise PackError(f"override file {p} must hold a table at the top level")
    return data


def merge_override(base: dict[str, Any], override: dict[str, Any], origin: str) -> None:
    """Merge `override` into `base` in place, marking every entry it touches with `overridden_by`.

    Tables merge key by key; lists of items, code values, XML groups, mandation groups and referrer patterns merge
    entry by entry on their key (an entry with `remove = true` deletes it); anything else is replaced.
    """
    for key, value in override.items():
        current = base.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merge_override(current, value, origin)
            if "provenance" in current:
                current["overridden_by"] = origin
        elif key in _MERGE_KEYS and isinstance(value, list) and isinstance(current, list):
            _merge_entries(current, value, _MERGE_KEYS[key], origin, key)
        else:
            base[key] = copy.deepcopy(value)


def _merge_entries(current: list[Any], changes: list[Any], key: str, origin: str, where: str) -> None:
    for change in changes:
        if not isinstance(change, dict) or key not in change:
            raise PackError(f"{origin}: each entry of {where!r} needs a {key!r} key to say which entry it changes")
        position = next((i for i, e in enumerate(current) if isinstance(e, dict) and e.get(key) == change[key]), None)
        if change.get("remove"):
            if position is None:
                raise PackError(f"{origin}: cannot remove {where} entry {change[key]!r}: there is none")
            del current[position]
            continue
        if position is None:
            # A new entry inherits nothing from the bundled pack: it must say where it comes from.
            if "provenance" not in change or not str(change.get("source", "")).strip():
                raise PackError(f"{origin}: new {where} entry {change[key]!r} needs provenance and a source")
            entry = copy.deepcopy(change)
            entry["overridden_by"] = origin
            current.append(entry)
        else:
            merge_override(current[position], change, origin)
            current[position]["overridden_by"] = origin


def load_pack(version_or_profile: str, overrides: Sequence[str | Path] = ()) -> Pack:
    """Load the bundled pack for a version (`v1`, `v2`) or a profile (`v1-dsp`, ...), with override files applied."""
    version = PROFILES.get(version_or_profile, version_or_profile)
    if not overrides and version in VERSIONS:
        return _bundled_pack(version)  # immutable, so one copy serves every caller
    data = raw_pack(version)
    for path in overrides:
        merge_override(data, read_override(path), str(path))
    return build_pack(data, tuple(str(p) for p in overrides))


# --------------------------------------------------------------------------------------------------------------
# Building and checking
# --------------------------------------------------------------------------------------------------------------


def _provenance(entry: dict[str, Any], where: str, inherited: Provenance | None = None) -> Provenance:
    status = entry.get("provenance")
    if status is None:
        if inherited is None:
            raise PackError(f"{where}: has no provenance (one of {', '.join(PROVENANCE_STATUSES)}) and source")
        return Provenance(inherited.status, inherited.source, entry.get("overridden_by") or inherited.overridden_by)
    if status not in PROVENANCE_STATUSES:
        raise PackError(f"{where}: provenance {status!r} is not one of {', '.join(PROVENANCE_STATUSES)}")
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise PackError(f"{where}: provenance {status!r} needs a non-empty source")
    return Provenance(status, source, entry.get("overridden_by"))


def _need(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry:
        raise PackError(f"{where}: missing {key!r}")
    return entry[key]


def _optional_int(entry: dict[str, Any], key: str) -> int | None:
    value = entry.get(key)
    return int(value) if value is not None else None


def _occurs(value: Any) -> int | None:
    return None if value == "unbounded" else int(value)


def _tuple(value: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(value or ())


def build_pack(data: dict[str, Any], overrides: tuple[str, ...] = ()) -> Pack:
    """Check merged pack data and build the typed view; raise PackError naming the first problem."""
    meta = _need(data, "pack", "pack")
    version = _need(meta, "version", "[pack]")
    where = f"{version} pack"

    codelists: dict[str, CodeList] = {}
    for list_id, entry in _need(data, "codelists", where).items():
        list_prov = _provenance(entry, f"{where}: code list {list_id}")
        values = []
        seen: set[str] = set()
        for value in _need(entry, "values", f"{where}: code list {list_id}"):
            code = str(_need(value, "code", f"{where}: a value of code list {list_id}"))
            if code in seen:
                raise PackError(f"{where}: code list {list_id} lists {code!r} twice")
            seen.add(code)
            values.append(
                CodeValue(
                    code=code,
                    meaning=value.get("meaning"),
                    provenance=_provenance(value, f"{where}: code {code} of {list_id}", list_prov),
                    profiles=_tuple(value.get("profiles")),
                    tags=_tuple(value.get("tags")),
                )
            )
        codelists[list_id] = CodeList(list_id, _need(entry, "name", f"{where}: {list_id}"), tuple(values), list_prov)

    items: list[Item] = []
    for entry in _need(data, "items", where):
        item_id = _need(entry, "id", f"{where}: an item")
        iw = f"{where}: item {item_id}"
        xml = _need(entry, "xml", iw)
        carrier = _need(xml, "carrier", f"{iw} xml")
        if carrier not in ("code", "extension", "text"):
            raise PackError(f"{iw}: xml carrier {carrier!r} is not code, extension or text")
        codelist = entry.get("codelist")
        if codelist is not None and codelist not in codelists:
            raise PackError(f"{iw}: refers to code list {codelist!r}, which the pack does not define")
        items.append(
            Item(
                id=item_id,
                name=_need(entry, "name", iw),
                column=_need(entry, "column", iw),
                group=_need(entry, "group", iw),
                format=_need(entry, "format", iw),
                mandation=_need(entry, "mandation", iw),
                xml=XmlBinding(
                    element=_need(xml, "element", f"{iw} xml"),
                    carrier=carrier,
                    min_occurs=int(xml.get("min_occurs", 0)),
                    min_length=_optional_int(xml, "min_length"),
                    max_length=_optional_int(xml, "max_length"),
                    pattern=xml.get("pattern"),
                    enumeration=tuple(xml["enumeration"]) if "enumeration" in xml else None,
                ),
                provenance=_provenance(entry, iw),
                label=entry.get("label"),
                min_length=_optional_int(entry, "min_length"),
                max_length=_optional_int(entry, "max_length"),
                pattern=entry.get("pattern"),
                codelist=codelist,
                from_v1=entry.get("from_v1"),
                condition=entry.get("condition"),
            )
        )
    index = {item.id: i for i, item in enumerate(items)}
    if len(index) != len(items):
        raise PackError(f"{where}: item ids are not unique")
    if len({i.column for i in items}) != len(items):
        raise PackError(f"{where}: CSV column names are not unique")

    layouts = _need(data, "layouts", where)
    csv_entry = _need(layouts, "csv", f"{where}: layouts")
    csv_layout = CsvLayout(
        header=bool(_need(csv_entry, "header", f"{where}: layouts.csv")),
        tolerate_header=bool(csv_entry.get("tolerate_header", True)),
        delimiter=csv_entry.get("delimiter", ","),
        encoding=csv_entry.get("encoding", "utf-8"),
        line_terminator=csv_entry.get("line_terminator", "\n"),
        provenance=_provenance(csv_entry, f"{where}: layouts.csv"),
    )
    xml_entry = _need(layouts, "xml", f"{where}: layouts")
    groups = []
    placed: list[str] = []
    for g in _need(xml_entry, "groups", f"{where}: layouts.xml"):
        gid = _need(g, "id", f"{where}: an XML group")
        gw = f"{where}: XML group {gid}"
        group_items = _tuple(_need(g, "items", gw))
        for item_id in group_items:
            if item_id not in index:
                raise PackError(f"{gw}: lists unknown item {item_id!r}")
            if items[index[item_id]].group != gid:
                raise PackError(f"{gw}: lists {item_id!r}, whose group is {items[index[item_id]].group!r}")
        placed.extend(group_items)
        pair = _tuple(g.get("one_or_both"))
        if pair and (len(pair) != 2 or not set(pair) <= set(group_items)):
            raise PackError(f"{gw}: one_or_both must name two of the group's items")
        groups.append(
            XmlGroup(
                id=gid,
                element=_need(g, "element", gw),
                min_occurs=int(g.get("min_occurs", 1)),
                max_occurs=_occurs(g.get("max_occurs", 1)),
                items=group_items,
                provenance=_provenance(g, gw),
                one_or_both=pair,
            )
        )
    if sorted(placed) != sorted(index):
        missing = sorted(set(index) - set(placed))
        twice = sorted({i for i in placed if placed.count(i) > 1})
        raise PackError(f"{where}: every item must sit in exactly one XML group (missing {missing}, twice {twice})")
    xml_layout = XmlLayout(
        namespace=_need(xml_entry, "namespace", f"{where}: layouts.xml"),
        root=_need(xml_entry, "root", f"{where}: layouts.xml"),
        record=_need(xml_entry, "record", f"{where}: layouts.xml"),
        activity_group=_need(xml_entry, "activity_group", f"{where}: layouts.xml"),
        groups=tuple(groups),
        provenance=_provenance(xml_entry, f"{where}: layouts.xml"),
    )
    if xml_layout.activity_group not in {g.id for g in groups}:
        raise PackError(f"{where}: layouts.xml activity_group {xml_layout.activity_group!r} is not a group")

    mandation_groups = []
    for m in data.get("mandation_groups", []):
        mid = _need(m, "id", f"{where}: a mandation group")
        unknown = [i for i in m.get("items", []) if i not in index]
        if unknown:
            raise PackError(f"{where}: mandation group {mid} lists unknown items {unknown}")
        mandation_groups.append(
            MandationGroup(
                id=mid,
                label=m.get("label", mid),
                items=_tuple(m.get("items")),
                min_present=int(m.get("min_present", 1)),
                provenance=_provenance(m, f"{where}: mandation group {mid}"),
            )
        )

    extras: dict[str, Any] = {}
    for key in ("referrer_code_formats", "windows", "uniqueness", "upgrade"):
        if key in data:
            _provenance(data[key], f"{where}: [{key}]")
            extras[key] = data[key]
    if "activity_from" in meta:  # the first day of activity the version covers (v2: 2026-04-01)
        extras["activity_from"] = str(meta["activity_from"])
    for item_id, entry in extras.get("upgrade", {}).get("items", {}).items():
        if item_id not in index:
            raise PackError(f"{where}: [upgrade.items] names unknown item {item_id!r}")
        _provenance(entry, f"{where}: [upgrade.items.{item_id}]")
        if entry.get("how") not in ("copy", "recode", "date-to-timestamp", "nicip", "none"):
            raise PackError(
                f"{where}: [upgrade.items.{item_id}] how must be copy, recode, date-to-timestamp, nicip or none"
            )
    for key_item in extras.get("uniqueness", {}).get("key", []):
        if key_item not in index:
            raise PackError(f"{where}: uniqueness key names unknown item {key_item!r}")

    profiles = _tuple(_need(meta, "profiles", "[pack]"))
    rules = []
    for r in data.get("rules", []):
        rid = _need(r, "id", f"{where}: a rule")
        rw = f"{where}: rule {rid}"
        severity, kind = r.get("severity"), r.get("kind", "record")
        if severity not in RULE_SEVERITIES:
            raise PackError(f"{rw}: severity {severity!r} is not one of {', '.join(RULE_SEVERITIES)}")
        if kind not in RULE_KINDS:
            raise PackError(f"{rw}: kind {kind!r} is not one of {', '.join(RULE_KINDS)}")
        unknown = [i for i in r.get("items", []) if i not in index]
        if unknown:
            raise PackError(f"{rw}: names unknown items {unknown}")
        if kind == "file" and r.get("layout") not in ("csv", "xml"):
            raise PackError(f'{rw}: a file rule needs layout = "csv" or "xml"')
        bad_needs = [n for n in r.get("needs", []) if n not in REFERENCE_TABLES + CONTEXT_NEEDS]
        if bad_needs:
            raise PackError(f"{rw}: needs unknown reference tables or context {bad_needs}")
        bad_profiles = [p for p in r.get("profiles", []) if p not in profiles]
        if bad_profiles or not r.get("profiles"):
            raise PackError(f"{rw}: profiles must be some of {', '.join(profiles)}")
        rules.append(
            RuleSpec(
                id=rid,
                code=r.get("code") or None,
                severity=severity,
                kind=kind,
                items=_tuple(r.get("items")),
                message=_need(r, "message", rw),
                profiles=_tuple(r.get("profiles")),
                provenance=_provenance(r, rw),
                needs=_tuple(r.get("needs")),
                layout=r.get("layout"),
            )
        )
    if len({r.id for r in rules}) != len(rules):
        raise PackError(f"{where}: rule ids are not unique")

    return Pack(
        rules=tuple(rules),
        version=version,
        title=_need(meta, "title", "[pack]"),
        profiles=profiles,
        default_profile=_need(meta, "default_profile", "[pack]"),
        items=tuple(items),
        codelists=codelists,
        csv=csv_layout,
        xml=xml_layout,
        mandation_groups=tuple(mandation_groups),
        provenance=_provenance(meta, "[pack]"),
        index=index,
        extras=extras,
        overrides=overrides,
    )
