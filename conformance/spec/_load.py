"""Load a spec pack from TOML, apply user overrides, check it, and build the typed view."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import marshal
import re
from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import cache as user_cache
from conformance.errors import DidsError
from conformance.files import InputError, require_file
from conformance.spec._model import (
    CodeList,
    CodeValue,
    CsvLayout,
    Item,
    MandationGroup,
    Pack,
    Provenance,
    ReferrerFormats,
    ReferrerPattern,
    RuleSpec,
    TimePolicy,
    Uniqueness,
    UpgradeDecision,
    UpgradePolicy,
    WindowPolicy,
    XmlBinding,
    XmlGroup,
    XmlLayout,
)
from conformance.spec._versions import PROFILES, VERSIONS

if TYPE_CHECKING:
    import jsonschema

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
# The bundled packs and their schema sit beside this module (not read through importlib.resources, whose import
# and first use cost a `dids check` ~15 ms; the package is always installed as files).
_HERE = Path(__file__).parent


class PackError(DidsError):
    """A spec pack or override file is malformed; the message says where and why."""


def raw_pack(version: str) -> dict[str, Any]:
    """The bundled pack for `version` as plain data, before overrides (a copy the caller may change)."""
    if version not in VERSIONS:
        raise PackError(f"unknown spec version {version!r}; choose one of {', '.join(VERSIONS)}")
    return copy.deepcopy(_bundled_data(version))


@cache
def _bundled_data(version: str) -> dict[str, Any]:
    # The bundled files do not change while the process runs: read once (callers get copies from raw_pack).
    folder = _HERE / "packs" / version
    data = _parsed_toml(folder.joinpath("pack.toml").read_text("utf-8"))
    rules = folder / "rules.toml"
    if rules.is_file():  # the rule catalogue sits beside the pack; it merges and overrides like the rest
        data["rules"] = _parsed_toml(rules.read_text("utf-8"))["rules"]
    return data


def _parsed_toml(text: str) -> dict[str, Any]:
    """`tomllib.loads(text)`, kept across runs in the user's cache (conformance.cache) under the text's digest:
    parsing costs ~20 ms a file, unmarshalling the result well under 1 ms. The data of record stays the TOML."""
    key = user_cache.key(b"toml", text.encode("utf-8"))
    stored = user_cache.read("toml", key)
    if stored is not None:
        try:
            data = marshal.loads(stored)
        except (EOFError, ValueError, TypeError):
            data = None
        if isinstance(data, dict):
            return data
    import tomllib  # only when the cache has no answer

    data = tomllib.loads(text)
    with contextlib.suppress(ValueError):  # a value marshal cannot hold (a TOML date): parsed again next time
        user_cache.write("toml", key, marshal.dumps(data))
    return data


@cache
def _bundled_pack(version: str) -> Pack:
    # Bytes already checked against the schema (the recorded digest) need no second pass: the pass costs more
    # than the rest of a small `dids check`. Any change to the pack or the schema makes the check run again.
    # build_pack leaves its input as it found it (tests/test_cache.py), so the bundled data needs no copy.
    checked = _recorded_checks().get(version) == bundled_digest(version)
    return build_pack(_bundled_data(version), (), check_shape=not checked)


_CHECKED_FILE = "packs/shape-checked.json"


def bundled_digest(version: str) -> str:
    """SHA-256 of a bundled pack's files and of the schema they are checked against."""
    digest = hashlib.sha256()
    for name in (f"packs/{version}/pack.toml", f"packs/{version}/rules.toml", "pack.schema.json"):
        entry = _HERE / name
        digest.update(name.encode() + b"\0" + (entry.read_bytes() if entry.is_file() else b"") + b"\0")
    return digest.hexdigest()


@cache
def _recorded_checks() -> dict[str, str]:
    entry = _HERE / _CHECKED_FILE
    try:
        recorded = json.loads(entry.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def record_shape_checks() -> Path:
    """Check every bundled pack against the schema and record the digests of the bytes that passed (for
    maintainers, after changing a pack: tests/test_startup.py says when it is due)."""
    recorded = {}
    for version in VERSIONS:
        build_pack(raw_pack(version), ())  # raises PackError if the shape is wrong: nothing is recorded then
        recorded[version] = bundled_digest(version)
    target = _HERE / _CHECKED_FILE
    target.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _recorded_checks.cache_clear()
    return target


def read_override(path: str | Path) -> dict[str, Any]:
    """Read an override file (TOML, or JSON by its .json suffix)."""
    import tomllib

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


# --------------------------------------------------------------------------------------------------------------
# Building and checking
# --------------------------------------------------------------------------------------------------------------


@cache
def _schema() -> jsonschema.Draft202012Validator:
    import jsonschema  # imported when a pack is checked, not by every command that loads one

    text = (_HERE / "pack.schema.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def _check_shape(data: dict[str, Any]) -> None:
    """The data's shape against pack.schema.json; PackError naming where the first problem is."""
    errors = sorted(_schema().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    from jsonschema.exceptions import best_match

    error = best_match(errors) or errors[0]
    version = data.get("pack", {}).get("version", "?") if isinstance(data.get("pack"), dict) else "?"
    where, entry = "", data
    for step in error.absolute_path:
        where += f"[{step}]" if isinstance(step, int) else (f".{step}" if where else str(step))
        entry = entry[step] if isinstance(entry, dict | list) else entry
        if isinstance(entry, dict) and "id" in entry and isinstance(step, int):
            where += f" (id {entry['id']!r})"
    raise PackError(f"{version} pack: {where or '(top)'}: {error.message}")


def _provenance(entry: dict[str, Any], inherited: Provenance | None = None) -> Provenance:
    """An entry's provenance, or its parent's when it gives none (the schema has checked the pair)."""
    if "provenance" not in entry:
        assert inherited is not None  # the schema requires provenance wherever nothing is inherited
        return Provenance(inherited.status, inherited.source, entry.get("overridden_by") or inherited.overridden_by)
    return Provenance(entry["provenance"], entry["source"], entry.get("overridden_by"))


def _month(text: str) -> date:
    return date.fromisoformat(f"{text}-01")


def build_pack(data: dict[str, Any], overrides: tuple[str, ...] = (), *, check_shape: bool = True) -> Pack:
    """Check merged pack data (its shape against pack.schema.json, then the references between entries) and
    build the typed view; raise PackError naming the first problem. `check_shape=False` skips the schema pass
    (only for bundled bytes that have passed it before)."""
    if check_shape:
        _check_shape(data)
    meta = data["pack"]
    where = f"{meta['version']} pack"
    profiles = tuple(meta["profiles"])
    if meta["default_profile"] not in profiles:
        raise PackError(f"{where}: default_profile {meta['default_profile']!r} is not one of its profiles")
    codelists = _codelists(data["codelists"], where)
    items = _items(data["items"], codelists, where)
    index = {item.id: i for i, item in enumerate(items)}
    if len(index) != len(items):
        raise PackError(f"{where}: item ids are not unique")
    if len({i.column for i in items}) != len(items):
        raise PackError(f"{where}: CSV column names are not unique")
    layouts = data["layouts"]
    semantics = _semantics(data.get("semantics", {}), profiles, where)
    return Pack(
        rules=_rules(data.get("rules", []), index, profiles, where),
        version=meta["version"],
        title=meta["title"],
        profiles=profiles,
        default_profile=meta["default_profile"],
        items=items,
        codelists=codelists,
        csv=CsvLayout(
            header=layouts["csv"]["header"],
            tolerate_header=layouts["csv"].get("tolerate_header", True),
            delimiter=layouts["csv"].get("delimiter", ","),
            encoding=layouts["csv"].get("encoding", "utf-8"),
            line_terminator=layouts["csv"].get("line_terminator", "\n"),
            provenance=_provenance(layouts["csv"]),
        ),
        xml=_xml_layout(layouts["xml"], items, index, where),
        mandation_groups=_mandation_groups(data.get("mandation_groups", []), index, where),
        provenance=_provenance(meta),
        index=index,
        referrer_formats=_referrer_formats(data["referrer_code_formats"], semantics),
        uniqueness=_uniqueness(data["uniqueness"], index, where),
        windows=_windows(data["windows"], profiles, where),
        activity_from=date.fromisoformat(meta["activity_from"]) if "activity_from" in meta else None,
        upgrade=_upgrade(data["upgrade"], index, where) if "upgrade" in data else None,
        overrides=overrides,
        semantics=semantics,
    )


def _codelists(data: dict[str, Any], where: str) -> dict[str, CodeList]:
    codelists: dict[str, CodeList] = {}
    for list_id, entry in data.items():
        list_prov = _provenance(entry)
        codes = [str(value["code"]) for value in entry["values"]]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise PackError(f"{where}: code list {list_id} lists {twice[0]!r} twice")
        values = tuple(
            CodeValue(
                code=str(value["code"]),
                meaning=value.get("meaning"),
                provenance=_provenance(value, list_prov),
                profiles=tuple(value.get("profiles", ())),
                tags=tuple(value.get("tags", ())),
            )
            for value in entry["values"]
        )
        codelists[list_id] = CodeList(list_id, entry["name"], values, list_prov)
    return codelists


def _items(data: list[dict[str, Any]], codelists: dict[str, CodeList], where: str) -> tuple[Item, ...]:
    items = []
    for entry in data:
        codelist = entry.get("codelist")
        if codelist is not None and codelist not in codelists:
            raise PackError(f"{where}: item {entry['id']}: refers to code list {codelist!r}, which it does not define")
        xml = entry["xml"]
        items.append(
            Item(
                id=entry["id"],
                name=entry["name"],
                column=entry["column"],
                group=entry["group"],
                format=entry["format"],
                mandation=entry["mandation"],
                xml=XmlBinding(
                    element=xml["element"],
                    carrier=xml["carrier"],
                    min_occurs=xml.get("min_occurs", 0),
                    min_length=xml.get("min_length"),
                    max_length=xml.get("max_length"),
                    pattern=xml.get("pattern"),
                    enumeration=tuple(xml["enumeration"]) if "enumeration" in xml else None,
                ),
                provenance=_provenance(entry),
                label=entry.get("label"),
                min_length=entry.get("min_length"),
                max_length=entry.get("max_length"),
                pattern=entry.get("pattern"),
                codelist=codelist,
                from_v1=entry.get("from_v1"),
                condition=entry.get("condition"),
            )
        )
    return tuple(items)


def _xml_layout(entry: dict[str, Any], items: tuple[Item, ...], index: dict[str, int], where: str) -> XmlLayout:
    groups = []
    placed: list[str] = []
    for g in entry["groups"]:
        gw = f"{where}: XML group {g['id']}"
        group_items = tuple(g["items"])
        for item_id in group_items:
            if item_id not in index:
                raise PackError(f"{gw}: lists unknown item {item_id!r}")
            if items[index[item_id]].group != g["id"]:
                raise PackError(f"{gw}: lists {item_id!r}, whose group is {items[index[item_id]].group!r}")
        placed.extend(group_items)
        pair = tuple(g.get("one_or_both", ()))
        if pair and not set(pair) <= set(group_items):
            raise PackError(f"{gw}: one_or_both must name two of the group's items")
        max_occurs = g.get("max_occurs", 1)
        groups.append(
            XmlGroup(
                id=g["id"],
                element=g["element"],
                min_occurs=g.get("min_occurs", 1),
                max_occurs=None if max_occurs == "unbounded" else max_occurs,
                items=group_items,
                provenance=_provenance(g),
                one_or_both=pair,
            )
        )
    if sorted(placed) != sorted(index):
        missing = sorted(set(index) - set(placed))
        twice = sorted({i for i in placed if placed.count(i) > 1})
        raise PackError(f"{where}: every item must sit in exactly one XML group (missing {missing}, twice {twice})")
    if entry["activity_group"] not in {g.id for g in groups}:
        raise PackError(f"{where}: layouts.xml activity_group {entry['activity_group']!r} is not a group")
    return XmlLayout(
        namespace=entry["namespace"],
        root=entry["root"],
        record=entry["record"],
        activity_group=entry["activity_group"],
        groups=tuple(groups),
        provenance=_provenance(entry),
    )


def _mandation_groups(data: list[dict[str, Any]], index: dict[str, int], where: str) -> tuple[MandationGroup, ...]:
    groups = []
    for m in data:
        unknown = [i for i in m["items"] if i not in index]
        if unknown:
            raise PackError(f"{where}: mandation group {m['id']} lists unknown items {unknown}")
        groups.append(
            MandationGroup(
                id=m["id"],
                label=m.get("label", m["id"]),
                items=tuple(m["items"]),
                min_present=m.get("min_present", 1),
                provenance=_provenance(m),
            )
        )
    return tuple(groups)


def _rules(
    data: list[dict[str, Any]], index: dict[str, int], profiles: tuple[str, ...], where: str
) -> tuple[RuleSpec, ...]:
    rules = []
    for r in data:
        rw = f"{where}: rule {r['id']}"
        unknown = [i for i in r.get("items", []) if i not in index]
        if unknown:
            raise PackError(f"{rw}: names unknown items {unknown}")
        bad_profiles = [p for p in r["profiles"] if p not in profiles]
        if bad_profiles:
            raise PackError(f"{rw}: profiles must be some of {', '.join(profiles)}")
        rules.append(
            RuleSpec(
                id=r["id"],
                code=r.get("code") or None,
                severity=r["severity"],
                kind=r.get("kind", "record"),
                items=tuple(r.get("items", ())),
                message=r["message"],
                profiles=tuple(r["profiles"]),
                provenance=_provenance(r),
                needs=tuple(r.get("needs", ())),
                layout=r.get("layout"),
                dsp_behaviour=r.get("dsp_behaviour"),
                evidence=r.get("evidence"),
            )
        )
    if len({r.id for r in rules}) != len(rules):
        raise PackError(f"{where}: rule ids are not unique")
    return tuple(rules)


def _referrer_formats(entry: dict[str, Any], semantics: dict[str, str]) -> ReferrerFormats:
    provenance = _provenance(entry)
    case = re.IGNORECASE if entry.get("case_insensitive", False) else 0
    dsp = {profile for profile, follows in semantics.items() if follows == "dsp"}
    for k, p in enumerate(entry["patterns"]):
        # compiled as each profile it serves compiles it (rules_v1.referrer_format; with re.ASCII, the DSP's): an
        # override's pattern that Python cannot read is the override's error, said here, not a failure mid-check
        ascii_too = bool(dsp) if not p.get("profiles") else bool(dsp & set(p["profiles"]))
        try:
            re.compile(p["pattern"], case)
            if ascii_too:
                re.compile(p["pattern"], case | re.ASCII)
        except (re.error, ValueError, OverflowError, RecursionError) as exc:
            raise PackError(
                f"referrer_code_formats.patterns[{k}].pattern: {p['pattern']!r} is not a regular expression Python "
                f"can use ({exc})"
            ) from None
    return ReferrerFormats(
        substitute=entry["substitute"],
        case_insensitive=entry.get("case_insensitive", False),
        patterns=tuple(
            ReferrerPattern(p["pattern"], p["meaning"], tuple(p.get("profiles", ())), _provenance(p, provenance))
            for p in entry["patterns"]
        ),
        provenance=provenance,
    )


def _uniqueness(entry: dict[str, Any], index: dict[str, int], where: str) -> Uniqueness:
    fallback = tuple((item, other) for item, other in entry.get("fallback", {}).items())
    instants = tuple(entry.get("instants", ()))
    named = [*entry["key"], *(i for pair in fallback for i in pair), *instants]
    unknown = [i for i in named if i not in index]
    if unknown:
        raise PackError(f"{where}: uniqueness names unknown items {unknown}")
    outside = [i for i in (*(item for item, _ in fallback), *instants) if i not in entry["key"]]
    if outside:
        raise PackError(f"{where}: uniqueness fallback and instants must name key items, not {outside}")
    return Uniqueness(tuple(entry["key"]), _provenance(entry), fallback, instants)


def _semantics(entry: dict[str, Any], profiles: tuple[str, ...], where: str) -> dict[str, str]:
    chosen = {name: value["follows"] for name, value in entry.items() if isinstance(value, dict)}
    unknown = sorted(set(chosen) - set(profiles))
    if unknown:
        raise PackError(f"{where}: [semantics] names profiles the pack does not have: {unknown}")
    return chosen


def _windows(entry: dict[str, Any], profiles: tuple[str, ...], where: str) -> dict[str, WindowPolicy]:
    provenance = _provenance(entry)
    windows = {}
    for profile, policy in entry.items():
        if not isinstance(policy, dict):
            continue  # provenance, source, overridden_by
        if profile not in profiles:
            raise PackError(f"{where}: [windows.{profile}] names a profile the pack does not have")
        closes = sorted(
            ((_month(c["from_month"]) if "from_month" in c else date.min), c["months"])
            for c in policy["close_after_months"]
        )
        windows[profile] = WindowPolicy(
            profile=profile,
            close_after_months=tuple(closes),
            warn_after_months=policy.get("warn_after_months"),
            opens_after_month=policy.get("opens_after_month", False),
            provenance=_provenance(policy, provenance),
        )
    return windows


def _upgrade(entry: dict[str, Any], index: dict[str, int], where: str) -> UpgradePolicy:
    for item_id in entry["items"]:
        if item_id not in index:
            raise PackError(f"{where}: [upgrade.items] names unknown item {item_id!r}")
    if entry["default_time_policy"] not in entry["time_policies"]:
        raise PackError(f"{where}: [upgrade] default_time_policy names no time policy")
    return UpgradePolicy(
        default_time_policy=entry["default_time_policy"],
        time_policies={name: TimePolicy(p["time"], p["why"]) for name, p in entry["time_policies"].items()},
        items={
            item_id: UpgradeDecision(
                how=d["how"],
                why=d["why"],
                provenance=_provenance(d),
                values=dict(d.get("values", {})),
                normalise=d.get("normalise"),
            )
            for item_id, d in entry["items"].items()
        },
        provenance=_provenance(entry),
    )
