"""The spec packs for people and machines: a pack as text or JSON, and the v1 -> v2.0 change list."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from conformance.spec._diff import PackDiff
from conformance.spec._model import Pack


def pack_json(pack: Pack) -> dict[str, Any]:
    """The pack as plain JSON data (dates as ISO text)."""
    data: dict[str, Any] = _plain(asdict(pack))
    data.pop("index")
    return data


def _provenance_tag(status: str, overridden: str | None) -> str:
    return f"[{status}{', overridden' if overridden else ''}]"


def render_pack_text(pack: Pack) -> str:
    lines = [f"{pack.title}  (profiles: {', '.join(pack.profiles)}; pack provenance {pack.provenance.status})"]
    if pack.overrides:
        lines.append(f"overrides applied: {', '.join(pack.overrides)}")
    lines.append("")
    lines.append(f"{'#':>2}  {'column':<50} {'NHS Data Dictionary data element':<58} {'format':<34} mand  provenance")
    for n, item in enumerate(pack.items, 1):
        lines.append(
            f"{n:>2}  {item.column:<50} {item.name:<58} {item.format:<34} {item.mandation:<5} "
            f"{_provenance_tag(item.provenance.status, item.provenance.overridden_by)}"
        )
    lines.append("")
    lines.append("code lists:")
    for codelist in pack.codelists.values():
        codes = ", ".join(v.code for v in codelist.values[:12]) + (" ..." if len(codelist.values) > 12 else "")
        lines.append(
            f"  {codelist.id} ({len(codelist.values)}): {codes} "
            f"{_provenance_tag(codelist.provenance.status, codelist.provenance.overridden_by)}"
        )
        for value in codelist.values:
            if value.provenance.status != codelist.provenance.status or value.provenance.overridden_by:
                lines.append(
                    f"      {value.code} {value.meaning or ''} "
                    f"{_provenance_tag(value.provenance.status, value.provenance.overridden_by)}"
                )
    csv_layout, xml_layout = pack.csv, pack.xml
    lines.append("")
    lines.append(
        f"CSV: {'header row' if csv_layout.header else 'no header row'}, {len(pack.items)} columns, "
        f"{csv_layout.encoding} {_provenance_tag(csv_layout.provenance.status, None)}"
    )
    lines.append(
        f"XML: <{xml_layout.root}> in {xml_layout.namespace}, <{xml_layout.record}> with "
        + ", ".join(g.element for g in xml_layout.groups)
        + f" {_provenance_tag(xml_layout.provenance.status, None)}"
    )
    return "\n".join(lines) + "\n"


def render_diff_text(diff: PackDiff, old: Pack, new: Pack) -> str:
    titles = {
        "added": "New items",
        "retired": "Retired items",
        "renamed": "Renamed items",
        "recoded": "Changed code lists",
        "reformatted": "Changed formats",
        "remandated": "Changed mandation",
        "layout": "File layout",
    }
    lines = [
        f"What changes from {old.title} to {new.title}",
        f"{len(diff.changes)} changes; {len(diff.carried_over)} items carried over unchanged. "
        "Each change carries the provenance of the v2 entry behind it: [verified] from a public source, "
        "[inferred] or [assumed] where the TOS/ETOS is not public.",
    ]
    for kind, title in titles.items():
        changes = diff.of_kind(kind)
        if not changes:
            continue
        lines.append("")
        lines.append(f"{title} ({len(changes)}):")
        for change in changes:
            lines.append(f"  - {change.name}: {change.summary} {_provenance_tag(change.provenance.status, None)}")
    if diff.carried_over:
        lines.append("")
        lines.append("Carried over unchanged: " + ", ".join(new.item(i).name for i in diff.carried_over))
    return "\n".join(lines) + "\n"


def diff_json(diff: PackDiff) -> dict[str, Any]:
    return {
        "old": diff.old,
        "new": diff.new,
        "changes": [asdict(c) for c in diff.changes],
        "carried_over": list(diff.carried_over),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
