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
            codelist = new.codelist_for(item.id)
            extra = f", code list {codelist.id} ({len(codelist.values)} codes)" if codelist else ""
            changes.append(
                Change(
                    "added",
                    item.id,
                    item.name,
                    f"new item, {item.format}{extra}, mandation {item.mandation}",
                    item.provenance,
                )
            )
            continue
        if source_id not in old.index:
            raise ValueError(f"{new.version} item {item.id} says it comes from {source_id!r}, not in {old.version}")
        referenced.add(source_id)
        before = old.item(source_id)
        changed = False
        if before.name != item.name:
            changes.append(
                Change(
                    "renamed",
                    item.id,
                    item.name,
                    f"{before.name} -> {item.name}",
                    item.provenance,
                    old_item=before.id,
                    old_name=before.name,
                )
            )
            changed = True
        old_codes, new_codes = (
            _codes(old, old.codelist_for(before.id)),
            _codes(new, new.codelist_for(item.id)),
        )
        if old_codes != new_codes:
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
            changes.append(
                Change(
                    "recoded",
                    item.id,
                    item.name,
                    "; ".join(parts),
                    weakest,
                    old_item=before.id,
                    old_name=before.name,
                    details={
                        "added": {c: new_codes[c] for c in added},
                        "removed": {c: old_codes[c] for c in removed},
                        "relabelled": {c: [old_codes[c], new_codes[c]] for c in relabelled},
                    },
                )
            )
            changed = True
        if _format_of(before) != _format_of(item):
            changes.append(
                Change(
                    "reformatted",
                    item.id,
                    item.name,
                    f"{before.format} -> {item.format}",
                    item.provenance,
                    old_item=before.id,
                    old_name=before.name,
                    details={"from": before.format, "to": item.format, "pattern": item.pattern},
                )
            )
            changed = True
        if before.mandation != item.mandation:
            changes.append(
                Change(
                    "remandated",
                    item.id,
                    item.name,
                    f"{before.mandation} -> {item.mandation}",
                    item.provenance,
                    old_item=before.id,
                    old_name=before.name,
                )
            )
            changed = True
        if not changed:
            carried.append(item.id)
    for before in old.items:
        if before.id not in referenced:
            changes.append(
                Change(
                    "retired",
                    None,
                    before.name,
                    "no successor item",
                    new.provenance,
                    old_item=before.id,
                    old_name=before.name,
                )
            )
    if old.csv.header != new.csv.header:
        changes.append(
            Change(
                "layout",
                None,
                "CSV header row",
                f"{'header row' if old.csv.header else 'no header row'} -> "
                f"{'header row of the column names' if new.csv.header else 'no header row'}",
                new.csv.provenance,
            )
        )
    if old.xml.namespace != new.xml.namespace:
        changes.append(
            Change(
                "layout",
                None,
                "XML namespace",
                f"{old.xml.namespace} -> {new.xml.namespace}",
                new.xml.provenance,
            )
        )
    order = {k: i for i, k in enumerate(CHANGE_KINDS)}
    changes.sort(key=lambda c: order[c.kind])
    return PackDiff(old.version, new.version, tuple(changes), tuple(carried))


_CERTAINTY = {"assumed": 0, "inferred": 1, "verified": 2}
