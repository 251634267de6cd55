"""Streaming XML reading and writing for both DIDS versions.

Reading feeds the file to lxml's pull parser in chunks and frees each DIDSRecord (and anything else under the
root) once passed, so memory is bounded by the largest record, not the file. The parser never touches the
network, loads no DTD and expands no entities; detection has already refused any file with a DOCTYPE, and
libxml2's own depth and size limits stay on (no huge_tree).

lxml's parse is the reading: it says where each record is, what is not well-formed, and every file problem. The
values of a record written plainly are read from the same text by formats/_xmlscan.py, which also says when the
schema must accept the record (lxml then need not validate it); any other record is flattened from lxml's
elements and validated by lxml, as `_read_xml_flattening` reads every record. Both give the same records and
problems (tests/test_xml_fast_path.py); the scanner is only faster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Any, TextIO, cast

from lxml import etree

from conformance.files import Source
from conformance.formats._constants import DEFAULT_MAX_RECORD_BYTES
from conformance.formats._model import FileProblem, ProblemLog, Record, Refused
from conformance.formats._xmlscan import RecordScanner, scannable
from conformance.formats._xsd import explain
from conformance.markup import NOT_XML
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


_CHUNK = 64 * 1024
_clear = cast(Any, etree._Element).clear  # element.clear(keep_tail=True): lxml-stubs lacks keep_tail
_new_record = cast(Callable[[tuple[int, int, tuple[str, ...], str, int]], Record], partial(tuple.__new__, Record))


def read_xml(
    source: Source,
    pack: Pack,
    problems: ProblemLog,
    *,
    schema: etree.XMLSchema | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Iterator[Record]:
    """Yield one Record per ImagingActivity, carrying its DIDSRecord's person and referral values.

    The file is fed to a pull parser in chunks. After each record its subtree is freed; between records, anything
    else that has piled up under the root (elements DIDS does not have) is freed as soon as it is complete, so
    memory is bounded by the largest record. A record that runs over `max_record_bytes` stops reading with a
    file problem instead of exhausting memory; libxml2's own limits (no huge_tree) bound text and depth.
    """
    return _XmlReader(pack, problems, schema, scan=True).read(source, max_record_bytes)


def _read_xml_flattening(
    source: Source,
    pack: Pack,
    problems: ProblemLog,
    *,
    schema: etree.XMLSchema | None = None,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Iterator[Record]:
    """`read_xml` without the scanner: every record flattened from lxml's elements (what the scanner must equal)."""
    return _XmlReader(pack, problems, schema, scan=False).read(source, max_record_bytes)


class _XmlReader:
    """The state of one XML read: the pack's tags and value slots, where the reader is, and what it has found."""

    def __init__(self, pack: Pack, problems: ProblemLog, schema: etree.XMLSchema | None, *, scan: bool) -> None:
        ns = pack.xml.namespace
        self.pack, self.problems, self.schema = pack, problems, schema
        self.root_name, self.record_name = pack.xml.root, pack.xml.record
        self.root_tag, self.record_tag = f"{{{ns}}}{pack.xml.root}", f"{{{ns}}}{pack.xml.record}"
        activity_group = next(g for g in pack.xml.groups if g.id == pack.xml.activity_group)
        self.activity_name = activity_group.element
        self.activity_tag = f"{{{ns}}}{activity_group.element}"
        self.header_slots = {
            f"{{{ns}}}{g.element}": _slots(pack, g.id) for g in pack.xml.groups if g.id != pack.xml.activity_group
        }
        self.activity_slots = _slots(pack, activity_group.id)
        self.headers = len(self.header_slots)
        self.width = len(pack.items)
        self.number = 0  # flattened records yielded
        self.record_no = 0  # DIDSRecord elements read
        self.root: etree._Element | None = None
        self.pruned_activities = 0  # activities freed inside a stray element not yet reported
        self.scan = scan and scannable(pack)
        self.scanner: RecordScanner | None = None  # reads plainly written records' values from the text

    def read(self, source: Source, max_record_bytes: int) -> Iterator[Record]:
        parser = etree.XMLPullParser(
            events=("start", "end"),
            tag=(self.root_tag, self.record_tag),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        fed = 0
        open_record: etree._Element | None = None  # a DIDSRecord whose start has been read and its end not yet
        record_from = 0  # bytes fed before the chunk in which it started
        if self.scan:
            # It holds the text of at most one record (and what is between records), with a chunk's slack.
            self.scanner = RecordScanner(self.pack, max_record_bytes + 2 * _CHUNK)
        with source.open() as stream:
            while True:
                chunk = stream.read(_CHUNK)
                if self.scanner is not None and not self.scanner.feed(chunk):
                    self.scanner = None
                error: etree.XMLSyntaxError | None = None
                try:
                    if chunk:
                        parser.feed(chunk)
                    else:
                        parser.close()
                except etree.XMLSyntaxError as exc:
                    error = exc
                for event, element in cast(Iterator[tuple[str, Any]], parser.read_events()):
                    if event == "start":
                        if element.tag == self.record_tag:
                            open_record, record_from = element, fed
                        elif self.root is None:
                            self.root = element
                    elif element.tag == self.record_tag:
                        open_record = None
                        yield from self._record(element)
                if error is not None:
                    _stopped(error, open_record, self.activity_tag, self.problems)
                    return
                if not chunk:
                    break
                fed += len(chunk)
                if open_record is not None and fed - record_from > max_record_bytes:
                    self._too_large(open_record, max_record_bytes)
                    return
                if open_record is None and self.root is not None:
                    _prune(self.root, self.record_tag, self._stray, self._pruned)
        self._finish()

    def _record(self, element: etree._Element) -> Iterable[Record]:
        """The flattened records of one DIDSRecord; it and anything before it under its parent are freed once
        they are made (a list when the scanner read them, else as they are yielded)."""
        self.record_no += 1
        where = f"/{self.root_name}/{self.record_name}[{self.record_no}]"
        parent = element.getparent()
        if self.record_no == 1:
            if parent is None or parent.tag != self.root_tag or parent.getparent() is not None:
                message = f"<{self.record_name}> is not a child of the root <{self.root_name}>"
                self._problem("xml-structure", message, element, where)
            if parent is not None:
                self._loose_text(parent.text, parent)
        scanner = self.scanner
        found, valid = None, False
        if scanner is not None:
            taken = scanner.take()
            if taken is None:
                self.scanner = None
            else:
                found, valid = taken
        # What the scanner read is the header groups and then the activities, and nothing else (no comment is
        # left in the tree, and it reads none); a count that differs is a scanner out of step: never expected,
        # never trusted.
        if found and len(element) != self.headers + len(found):
            found, valid, self.scanner = None, False, None
        if self.schema is not None and not valid and not self.schema.validate(element):
            self._schema_problems(element, where)
        if not found:  # the scanner has stopped, or passed over this record, or it has no activity
            return self._flattened(element, where, parent)
        # Each record's line is its ImagingActivity element's. Built as Record(...) builds it, without the call of
        # its Python-level __new__ (a hot loop); most DIDSRecords hold one activity.
        name, children = self.activity_name, cast(Any, element)  # lxml-stubs: no slices, sourceline not an int
        if len(found) == 1:
            number = self.number = self.number + 1
            line = children[self.headers].sourceline or 0
            records = [_new_record((number, line, found[0], f"{where}/{name}[1]", 1))]
        else:
            records = []
            number, activities = self.number, children[self.headers :]
            for k, (activity, values) in enumerate(zip(activities, found, strict=True), 1):
                number += 1
                records.append(_new_record((number, activity.sourceline or 0, values, f"{where}/{name}[{k}]", k)))
            self.number = number
        self._free(element, parent)
        return records

    def _flattened(self, element: etree._Element, where: str, parent: etree._Element | None) -> Iterator[Record]:
        yield from self._flatten(element, where)
        self._free(element, parent)

    def _free(self, element: etree._Element, parent: etree._Element | None) -> None:
        """After a record: text after it, then free it and anything before it under its parent."""
        tail = element.tail
        if tail is not None and tail.strip():
            self._loose_text(tail, element)
        _clear(element, keep_tail=True)
        if parent is not None:
            while (previous := element.getprevious()) is not None:
                if previous.tag != self.record_tag:
                    self._stray(previous)
                parent.remove(previous)

    def _flatten(self, element: etree._Element, where: str) -> Iterator[Record]:
        """The records of one DIDSRecord from its elements, reporting whatever the layout does not have."""
        base: list[str | None] = [None] * self.width
        activities = []
        for child in element:
            if child.tag == self.activity_tag:
                activities.append(child)
                continue
            slots = self.header_slots.get(child.tag)
            if slots is None:
                self._problem(
                    "xml-structure", f"unexpected element <{_local(child.tag)}> in <{self.record_name}>", child, where
                )
                continue
            self._fill(child, slots, base, where)
        if not activities:
            self._problem(
                "xml-structure",
                f"<{self.record_name}> has no <{self.activity_name}>; it yields no record",
                element,
                where,
            )
        for k, activity in enumerate(activities, 1):
            values = base.copy()
            activity_where = f"{where}/{self.activity_name}[{k}]"
            self._fill(activity, self.activity_slots, values, activity_where)
            self.number += 1
            line = _line(activity) or 0
            yield Record(self.number, line, tuple([v or "" for v in values]), activity_where, k)

    def _schema_problems(self, element: etree._Element, where: str) -> None:
        """One problem per error lxml's schema check found; while examples are still kept, each says (from
        xmlschema) which element it is in and every facet the value missed."""
        assert self.schema is not None
        errors = list(cast(Iterable[Any], self.schema.error_log))
        explained = explain(self.pack, element) if self.problems.counts["xsd"] < self.problems.max_examples else {}
        for entry in errors:
            reasons = explained.get(entry.line, [])
            path, message = reasons.pop(0) if reasons else (None, entry.message)
            at = f"{where}/{path}" if path else where
            text = f"{path}: {message}" if path else message
            self.problems.add(FileProblem("xsd", text, line=entry.line, record=self.number + 1, path=at))

    def _fill(self, element: etree._Element, slots: dict[str, _Slot], values: list[str | None], where: str) -> None:
        # The hot loop of XML reading: one dict lookup and one attribute read per element; problems are rare.
        get_slot = slots.get
        for child in element:
            tag = child.tag
            slot = get_slot(tag)
            if slot is None:
                self._problem(
                    "xml-structure", f"unexpected element <{_local(tag)}> in <{_local(element.tag)}>", child, where
                )
                continue
            position, carrier, inner = slot
            if values[position] is not None:
                message = f"<{_local(tag)}> appears more than once in <{_local(element.tag)}>"
                self._problem("xml-repeated-element", message, child, where)
                continue
            if carrier is not None:
                values[position] = child.get(carrier) or ""
            elif inner is None:
                values[position] = child.text or ""
            else:
                found = child.find(inner)
                values[position] = (found.text if found is not None else None) or ""

    def _problem(self, kind: str, message: str, element: etree._Element, where: str | None = None) -> None:
        self.problems.add(FileProblem(kind, message, line=_line(element), path=where))

    def _stray(self, element: etree._Element) -> None:
        """An element under the root that is not a record: reported, with any activities it holds (a DIDSRecord in
        another namespace, say) counted as records not read."""
        lost = sum(1 for _ in element.iter(f"{{*}}{self.activity_name}")) + self.pruned_activities
        self.pruned_activities = 0
        message = f"unexpected element <{_local(element.tag)}> in <{self.root_name}>"
        if lost:
            message += f"; the {lost} <{self.activity_name}> in it are not read"
        self.problems.add(FileProblem("xml-structure", message, line=_line(element), lost=lost))
        self._loose_text(element.tail, element)

    def _pruned(self, element: etree._Element) -> None:
        """A complete element freed deep inside a stray element: its activities count when the stray is reported."""
        self.pruned_activities += sum(1 for _ in element.iter(f"{{*}}{self.activity_name}"))

    def _loose_text(self, text: str | None, near: etree._Element) -> None:
        """Text directly under the root, outside every record: DIDS has none, so it is a file problem."""
        if text is not None and text.strip():
            shown = text.strip()[:40]
            message = f"text outside any record under <{self.root_name}> ({shown!r}...): it is not read"
            self.problems.add(FileProblem("xml-structure", message, line=_line(near)))

    def _too_large(self, record: etree._Element, cap: int) -> None:
        message = f"a <{self.record_name}> runs over {cap:,} bytes (the record size cap); reading stops here"
        lost = len(record.findall(self.activity_tag))
        self.problems.add(FileProblem("record-too-large", message, line=_line(record), fatal=True, lost=lost))

    def _finish(self) -> None:
        """What is left under the root at the end; a file with no records."""
        root = self.root
        if root is not None:
            if self.record_no == 0:
                self._loose_text(root.text, root)
            for child in root:
                if child.tag != self.record_tag:
                    self._stray(child)
            if root.tag != self.root_tag:
                self._problem(
                    "xml-structure", f"the root element is <{_local(root.tag)}>, not <{self.root_name}>", root
                )
        if self.number == 0:
            self.problems.add(FileProblem("no-records", f"the file holds no <{self.activity_name}> records"))


def _prune(
    root: etree._Element,
    record_tag: str,
    stray: Callable[[etree._Element], None],
    pruned: Callable[[etree._Element], None],
) -> None:
    """Between records: free every element under the root that is complete. Only the last child on each level
    can still be open (the parser adds to the last open element), so everything before it goes; elements at the
    root's level that are not records are reported as they go, deeper ones counted into their ancestor's report."""
    node = root
    while len(node):
        for child in list(node)[:-1]:
            if node is root:
                if child.tag != record_tag:
                    stray(child)
            else:
                pruned(child)
            node.remove(child)
        node = node[-1]
        if node.tag == record_tag:
            return


def _stopped(
    exc: etree.XMLSyntaxError, open_record: etree._Element | None, activity_tag: str, problems: ProblemLog
) -> None:
    """The XML stops being well-formed: reading stops. The activities of a record cut short are not read."""
    line = exc.lineno if exc.lineno else None
    message = f"XML is not well-formed: {exc.msg}"
    if line is None:
        # With entity resolution off (for safety) libxml2 reports an undefined &name; only as a lost document.
        message += " (an undefined entity reference such as &name;, or the file ends early)"
    lost = len(open_record.findall(activity_tag)) if open_record is not None else 0
    if lost:
        message += f"; the {lost} <{_local(activity_tag)}> of the record open here are not read"
    problems.add(FileProblem("xml-syntax", message, line=line, record=None, fatal=True, lost=lost))


# --------------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------------

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


# One item's XML: (position in the record, required?, text before the value, text after it, escaper).
_Renderer = tuple[int, bool, str, str, Callable[[str], str]]


def _renderers(pack: Pack, group_id: str, indent: str) -> list[_Renderer]:
    group = next(g for g in pack.xml.groups if g.id == group_id)
    out: list[_Renderer] = []
    for item_id in group.items:
        item = pack.item(item_id)
        element, _, inner = item.xml.element.partition("/")
        carrier = None if item.xml.carrier == "text" else item.xml.carrier
        if inner:
            before, after = f"{indent}<{element}>\n{indent}  <{inner}>", f"</{inner}>\n{indent}</{element}>\n"
        elif carrier is None:
            before, after = f"{indent}<{element}>", f"</{element}>\n"
        else:
            before, after = f'{indent}<{element} {carrier}="', '" />\n'
        escape = _escape_attr if carrier is not None else _escape_text
        out.append((pack.index[item_id], bool(item.xml.min_occurs), before, after, escape))
    return out


def _render(values: Sequence[str], renderers: list[_Renderer], plain: bool) -> str:
    """One group's elements; an optional item with no value is left out. `plain`: nothing needs escaping."""
    if plain:
        return "".join(
            before + values[position] + after
            for position, required, before, after, _ in renderers
            if required or values[position]
        )
    return "".join(
        before + escape(values[position]) + after
        for position, required, before, after, escape in renderers
        if required or values[position]
    )


class XmlRecords:
    """DIDS XML for a pack: `head()`, then `write(records, out)` any number of times, then `tail()`.

    Consecutive records with the same person and referral share one DIDSRecord within one `write` call; each
    call closes its last DIDSRecord, so a file written in several calls is the same bytes as one call whenever
    the calls split between referrals (the generator writes its blocks this way).
    """

    def __init__(self, pack: Pack, *, group: bool = True) -> None:
        layout = pack.xml
        self.pack = pack
        self.group = group
        self.layout = layout
        header_groups = [g for g in layout.groups if g.id != layout.activity_group]
        activity_group = next(g for g in layout.groups if g.id == layout.activity_group)
        self.headers = [
            (f"    <{g.element}>\n", _renderers(pack, g.id, "      "), f"    </{g.element}>\n") for g in header_groups
        ]
        self.activity = (
            f"    <{activity_group.element}>\n",
            _renderers(pack, activity_group.id, "      "),
            f"    </{activity_group.element}>\n",
        )
        self.header_positions = [pack.index[i] for g in header_groups for i in g.items]
        self.width = len(pack.items)
        self.open_record, self.close_record = f"  <{layout.record}>\n", f"  </{layout.record}>\n"

    def head(self) -> str:
        return f'<?xml version="1.0" encoding="utf-8"?>\n<{self.layout.root} xmlns="{self.layout.namespace}">\n'

    def tail(self) -> str:
        return f"</{self.layout.root}>\n"

    def write(
        self,
        records: Iterable[Record | Sequence[str]],
        out: TextIO,
        *,
        counted: int = 0,
        on_refused: Refused | None = None,
    ) -> int:
        """Write the records' DIDSRecord elements; returns how many were written. `counted`: records already
        written (for messages). A record holding a character XML cannot carry raises ValueError, or, with
        `on_refused(record number, value position, "control-character")`, is reported there and left out."""
        open_key: list[str] | None = None
        count = 0
        seen = 0
        width, positions, group = self.width, self.header_positions, self.group
        activity_open, activity_renderers, activity_close = self.activity
        for record in records:
            values = record.values if isinstance(record, Record) else record
            seen += 1
            number = record.number if isinstance(record, Record) else counted + seen
            if len(values) != width:
                raise ValueError(
                    f"record {number} has {len(values)} values; DIDS {self.pack.version} has {width} items"
                )
            joined = "".join(values)
            if NOT_XML.search(joined):
                position = next(i for i, v in enumerate(values) if NOT_XML.search(v))
                if on_refused is None:
                    item = self.pack.items[position].id
                    raise ValueError(f"record {number}: {item} holds a character that XML 1.0 cannot carry")
                on_refused(number, position, "control-character")
                continue
            count += 1
            plain = _ATTR_SPECIAL.search(joined) is None
            key = [values[i] for i in positions]
            parts = []
            if key != open_key or not group:
                if open_key is not None:
                    parts.append(self.close_record)
                parts.append(self.open_record)
                for opening, renderers, closing in self.headers:
                    parts += (opening, _render(values, renderers, plain), closing)
                open_key = key
            parts += (activity_open, _render(values, activity_renderers, plain), activity_close)
            out.write("".join(parts))
        if open_key is not None:
            out.write(self.close_record)
        return count


def write_xml(
    records: Iterable[Record | Sequence[str]],
    out: TextIO,
    pack: Pack,
    *,
    group: bool = True,
    on_refused: Refused | None = None,
) -> int:
    """Write records as DIDS XML; consecutive records with the same person and referral share one DIDSRecord.

    `out` is a text stream opened with encoding="utf-8" and newline="\\n". Returns the record count written;
    `on_refused` as for XmlRecords.write.
    """
    writer = XmlRecords(pack, group=group)
    out.write(writer.head())
    count = writer.write(records, out, on_refused=on_refused)
    out.write(writer.tail())
    return count
