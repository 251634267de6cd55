"""What changed between two spec packs: added, retired, renamed, recoded, reformatted and remandated items."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.spec._model import CodeList, Item, Pack, Provenance

CHANGE_KINDS = ("added", "retired", "renamed", "recoded", "reformatted", "remandated", "layout")


@dataclass(frozen=True, slots=True)
class Change:
    """One change between versions, with the provenance of the newer entry that makes it."""

    kind: str
    item: str | None
    name: str
    summary: str
    provenance: Provenance
    old_item: str | None = None
    old_name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PackDiff:
    old: str
    new: str
    changes: tuple[Change, ...]
    carried_over: tuple[str, ...]

    def of_kind(self, kind: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == kind)


def _codes(pack: Pack, codelist: CodeList | None) -> dict[str, str | None]:
    # Each version is compared under its default profile (v1: the current DSP rules).
    if codelist is None:
        return {}
    return {v.code: v.meaning for v in codelist.values if v.holds_for(pack.default_profile)}


def _format_of(item: Item) -> tuple[Any, ...]:
    return (item.format, item.min_length, item.max_length, item.pattern)


def diff_packs(old: Pack, new: Pack) -> PackDiff:
    """Derive the change list from `new`'s `from_v1` links (an item without one is new unless its id is in `old`)."""
    changes: list[Change] = []
    carried: list[str] = []
    referenced: set[str] = set()
    for item in new.items:
        source_id = item.from_v1 or (item.id if item.id in old.index else None)
        if source_id is None:
            changes.append(_added(new, item))
            continue
        if source_id not in old.index:
            raise ValueError(f"{new.version} item {item.id} says it comes from {source_id!r}, not in {old.version}")
        referenced.add(source_id)
        found = _item_changes(old, new, old.item(source_id), item)
        changes += found
        if not found:
            carried.append(item.id)
    for before in old.items:
        if before.id not in referenced:
            changes.append(
                Change("retired", None, before.name, "no successor item", new.provenance, before.id, before.name)
            )
    changes += _layout_changes(old, new)
    order = {k: i for i, k in enumerate(CHANGE_KINDS)}
    changes.sort(key=lambda c: order[c.kind])
    return PackDiff(old.version, new.version, tuple(changes), tuple(carried))


def _added(pack: Pack, item: Item) -> Change:
    codelist = pack.codelist_for(item.id)
    extra = f", code list {codelist.id} ({len(codelist.values)} codes)" if codelist else ""
    summary = f"new item, {item.format}{extra}, mandation {item.mandation}"
    return Change("added", item.id, item.name, summary, item.provenance)


def _item_changes(old: Pack, new: Pack, before: Item, item: Item) -> list[Change]:
    """What changed between an old item and the new item that replaces it: name, codes, format, mandation."""
    was = (before.id, before.name)  # old_item, old_name
    changes = []
    if before.name != item.name:
        changes.append(Change("renamed", item.id, item.name, f"{before.name} -> {item.name}", item.provenance, *was))
    recoded = _recoded(old, new, before, item)
    if recoded is not None:
        changes.append(recoded)
    if _format_of(before) != _format_of(item):
        details = {"from": before.format, "to": item.format, "pattern": item.pattern}
        summary = f"{before.format} -> {item.format}"
        changes.append(Change("reformatted", item.id, item.name, summary, item.provenance, *was, details=details))
    if before.mandation != item.mandation:
        summary = f"{before.mandation} -> {item.mandation}"
        changes.append(Change("remandated", item.id, item.name, summary, item.provenance, *was))
    return changes


def _recoded(old: Pack, new: Pack, before: Item, item: Item) -> Change | None:
    """The code list change between two items, or None when their codes and meanings are the same."""
    old_codes, new_codes = _codes(old, old.codelist_for(before.id)), _codes(new, new.codelist_for(item.id))
    if old_codes == new_codes:
        return None
    added = sorted(set(new_codes) - set(old_codes))
    removed = sorted(set(old_codes) - set(new_codes))
    relabelled = sorted(c for c in set(old_codes) & set(new_codes) if old_codes[c] != new_codes[c])
    new_list = new.codelist_for(item.id)
    value_provenance = {v.code: v.provenance for v in new_list.values} if new_list else {}
    parts = [f"+{c} {new_codes[c] or ''}".rstrip() for c in added]
    parts += [f"-{c} {old_codes[c] or ''}".rstrip() for c in removed]
    parts += [f"{c} relabelled '{new_codes[c]}'" for c in relabelled]
    # The change is only as certain as the least certain value it adds.
    statuses = [value_provenance[c] for c in added if c in value_provenance]
    weakest = min([*statuses, item.provenance], key=lambda p: _CERTAINTY[p.status])
    details = {
        "added": {c: new_codes[c] for c in added},
        "removed": {c: old_codes[c] for c in removed},
        "relabelled": {c: [old_codes[c], new_codes[c]] for c in relabelled},
    }
    return Change("recoded", item.id, item.name, "; ".join(parts), weakest, before.id, before.name, details=details)


def _layout_changes(old: Pack, new: Pack) -> list[Change]:
    changes = []
    if old.csv.header != new.csv.header:
        before = "header row" if old.csv.header else "no header row"
        after = "header row of the column names" if new.csv.header else "no header row"
        changes.append(Change("layout", None, "CSV header row", f"{before} -> {after}", new.csv.provenance))
    if old.xml.namespace != new.xml.namespace:
        summary = f"{old.xml.namespace} -> {new.xml.namespace}"
        changes.append(Change("layout", None, "XML namespace", summary, new.xml.provenance))
    return changes


_CERTAINTY = {"assumed": 0, "inferred": 1, "verified": 2}
