"""Streaming XML reading and writing for both DIDS versions.

Reading parses one DIDSRecord at a time with lxml `iterparse` and frees it before the next, so memory does not
grow with the file. The parser never touches the network, loads no DTD and expands no entities; detection has
already refused any file with a DOCTYPE, and libxml2's own depth and size limits stay on (no huge_tree).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO, cast

from lxml import etree

from conformance.formats._model import FileProblem, ProblemLog, Record
from conformance.spec import Pack

# One value slot: (position in the values tuple, carrier attribute or None for text, inner tag for wrappers).
_Slot = tuple[int, str | None, str | None]


def _slots(pack: Pack, group_id: str) -> dict[str, _Slot]:
    ns = pack.xml.namespace
    group = next(g for g in pack.xml.groups if g.id == group_id)
    slots: dict[str, _Slot] = {}
    for item_id in group.items:
        item = pack.item(item_id)
        outer, _, inner = item.xml.element.partition("/")
        carrier = None if item.xml.carrier == "text" else item.xml.carrier
        slots[f"{{{ns}}}{outer}"] = (pack.index[item_id], carrier, f"{{{ns}}}{inner}" if inner else None)
    return slots


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2] if isinstance(tag, str) else "(comment or instruction)"


def read_xml(
    path: str | Path,
    pack: Pack,
    problems: ProblemLog,
    *,
    schema: etree.XMLSchema | None = None,
) -> Iterator[Record]:
    """Yield one Record per ImagingActivity, carrying its DIDSRecord's person and referral values."""
    ns = pack.xml.namespace
    root_tag = f"{{{ns}}}{pack.xml.root}"
    record_tag = f"{{{ns}}}{pack.xml.record}"
    activity_group = next(g for g in pack.xml.groups if g.id == pack.xml.activity_group)
    activity_tag = f"{{{ns}}}{activity_group.element}"
    header_slots = {
        f"{{{ns}}}{g.element}": _slots(pack, g.id) for g in pack.xml.groups if g.id != pack.xml.activity_group
    }
    activity_slots = _slots(pack, activity_group.id)
    width = len(pack.items)
    root_name = pack.xml.root

    def report(kind: str, message: str, child: etree._Element, where: str) -> None:
        problems.add(FileProblem(kind, message, line=_line(child), path=where))

    def fill(element: etree._Element, slots: dict[str, _Slot], values: list[str | None], where: str) -> None:
        # The hot loop of XML reading: one dict lookup and one attribute read per element; problems are rare.
        get_slot = slots.get
        for child in element:
            tag = child.tag
            slot = get_slot(tag)
            if slot is None:
                report("xml-structure", f"unexpected element <{_local(tag)}> in <{_local(element.tag)}>", child, where)
                continue
            position, carrier, inner = slot
            if values[position] is not None:
                report(
                    "xml-repeated-element",
                    f"<{_local(tag)}> appears more than once in <{_local(element.tag)}>",
                    child,
                    where,
                )
                continue
            if carrier is not None:
                values[position] = child.get(carrier) or ""
            elif inner is None:
                values[position] = child.text or ""
            else:
                found = child.find(inner)
                values[position] = (found.text if found is not None else None) or ""

    number = 0
    record_no = 0
    context = etree.iterparse(
        str(path),
        events=("end",),
        tag=record_tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    root: etree._Element | None = None
    try:
        for _event, element in context:
            record_no += 1
            where = f"/{root_name}/{pack.xml.record}[{record_no}]"
            parent = element.getparent()
            if root is None:
                root = parent
                if parent is None or parent.tag != root_tag or parent.getparent() is not None:
                    problems.add(
                        FileProblem(
                            "xml-structure",
                            f"<{pack.xml.record}> is not a child of the root <{root_name}>",
                            line=_line(element),
                            path=where,
                        )
                    )
            if schema is not None and not schema.validate(element):
                for error in cast(Iterable[Any], schema.error_log):
                    problems.add(FileProblem("xsd", error.message, line=error.line, record=number + 1, path=where))
            base: list[str | None] = [None] * width
            activities = []
            for child in element:
                tag = child.tag
                if tag == activity_tag:
                    activities.append(child)
                    continue
                slots = header_slots.get(tag)
                if slots is None:
                    report("xml-structure", f"unexpected element <{_local(tag)}> in <{pack.xml.record}>", child, where)
                    continue
                fill(child, slots, base, where)
            if not activities:
                problems.add(
                    FileProblem(
                        "xml-structure",
                        f"<{pack.xml.record}> has no <{activity_group.element}>; it yields no record",
                        line=_line(element),
                        path=where,
                    )
                )
            for k, activity in enumerate(activities, 1):
                values = base.copy()
                activity_where = f"{where}/{activity_group.element}[{k}]"
                fill(activity, activity_slots, values, activity_where)
                number += 1
                yield Record(number, activity.sourceline or 0, tuple([v or "" for v in values]), activity_where, k)
            # Free what has been read: this record's subtree, and anything before it under the root.
            element.clear(keep_tail=True)
            while (previous := element.getprevious()) is not None:
                if previous.tag != record_tag:
                    problems.add(
                        FileProblem(
                            "xml-structure",
                            f"unexpected element <{_local(previous.tag)}> in <{root_name}>",
                            line=_line(previous),
                        )
                    )
                parent.remove(previous)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        message = f"XML is not well-formed: {exc.msg}"
        if line is None:
            # With entity resolution off (for safety) libxml2 reports an undefined &name; only as a lost document.
            message += " (an undefined entity reference such as &name;, or the file ends early)"
        problems.add(FileProblem("xml-syntax", message, line=line, record=None, fatal=True))
        return
    remaining = context.root
    if remaining is not None:
        for child in remaining:
            if child.tag != record_tag:
                problems.add(
                    FileProblem(
                        "xml-structure",
                        f"unexpected element <{_local(child.tag)}> in <{root_name}>",
                        line=_line(child),
                    )
                )
        if remaining.tag != root_tag:
            problems.add(
                FileProblem(
                    "xml-structure",
                    f"the root element is <{_local(remaining.tag)}>, not <{root_name}>",
                    line=_line(remaining),
                )
            )
    if number == 0:
        problems.add(FileProblem("no-records", f"the file holds no <{activity_group.element}> records"))


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Characters that need escaping: in attributes also quote and the white space that attribute normalisation eats.
_ATTR_SPECIAL = re.compile('[&<>"\n\r\t]')
_TEXT_SPECIAL = re.compile("[&<>\r]")
_ATTR_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\n": "&#10;",
    "\r": "&#13;",
    "\t": "&#9;",
}
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}


def _escape_attr(value: str) -> str:
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return _ATTR_SPECIAL.sub(lambda m: _ATTR_ESCAPES[m.group()], value)


def _escape_text(value: str) -> str:
    if _TEXT_SPECIAL.search(value) is None:
        return value
    return _TEXT_SPECIAL.sub(lambda m: _TEXT_ESCAPES[m.group()], value)


def _line(element: etree._Element) -> int | None:
    # lxml-stubs types sourceline loosely; it is an int, or None for nodes built in memory.
    return cast("int | None", element.sourceline)


def _renderers(pack: Pack, group_id: str, indent: str) -> list[tuple[int, int, str, str | None, str | None]]:
    group = next(g for g in pack.xml.groups if g.id == group_id)
    out: list[tuple[int, int, str, str | None, str | None]] = []
    for item_id in group.items:
        item = pack.item(item_id)
        outer, _, inner = item.xml.element.partition("/")
        carrier = None if item.xml.carrier == "text" else item.xml.carrier
        out.append((pack.index[item_id], item.xml.min_occurs, outer, carrier, inner or None))
    return out


def _render(values: Sequence[str], renderers: list[tuple[int, int, str, str | None, str | None]], indent: str) -> str:
    parts = []
    for position, min_occurs, element, carrier, inner in renderers:
        value = values[position]
        if not value and not min_occurs:
            continue  # an optional item with no value is left out
        if inner is not None:
            parts.append(
                f"{indent}<{element}>\n{indent}  <{inner}>{_escape_text(value)}</{inner}>\n{indent}</{element}>\n"
            )
        elif carrier is None:
            parts.append(f"{indent}<{element}>{_escape_text(value)}</{element}>\n")
        else:
            parts.append(f'{indent}<{element} {carrier}="{_escape_attr(value)}" />\n')
    return "".join(parts)


def write_xml(records: Iterable[Record | Sequence[str]], out: TextIO, pack: Pack, *, group: bool = True) -> int:
    """Write records as DIDS XML; consecutive records with the same person and referral share one DIDSRecord.

    `out` is a text stream opened with encoding="utf-8" and newline="\\n". Returns the record count.
    """
    layout = pack.xml
    header_groups = [g for g in layout.groups if g.id != layout.activity_group]
    activity_group = next(g for g in layout.groups if g.id == layout.activity_group)
    header_renderers = [(g.element, _renderers(pack, g.id, "      ")) for g in header_groups]
    activity_renderers = _renderers(pack, activity_group.id, "      ")
    header_positions = [pack.index[i] for g in header_groups for i in g.items]
    width = len(pack.items)
    record_tag = layout.record

    out.write('<?xml version="1.0" encoding="utf-8"?>\n')
    out.write(f'<{layout.root} xmlns="{layout.namespace}">\n')
    open_key: tuple[str, ...] | None = None
    count = 0
    for record in records:
        values = record.values if isinstance(record, Record) else record
        count += 1
        if len(values) != width:
            raise ValueError(f"record {count} has {len(values)} values; DIDS {pack.version} has {width} items")
        if _NOT_XML.search("".join(values)):
            raise ValueError(f"record {count} holds a character that XML 1.0 cannot carry")
        key = tuple(values[i] for i in header_positions)
        if key != open_key or not group:
            if open_key is not None:
                out.write(f"  </{record_tag}>\n")
            out.write(f"  <{record_tag}>\n")
            for element, renderers in header_renderers:
                out.write(f"    <{element}>\n{_render(values, renderers, '      ')}    </{element}>\n")
            open_key = key
        out.write(
            f"    <{activity_group.element}>\n{_render(values, activity_renderers, '      ')}"
            f"    </{activity_group.element}>\n"
        )
    if open_key is not None:
        out.write(f"  </{record_tag}>\n")
    out.write(f"</{layout.root}>\n")
    return count
