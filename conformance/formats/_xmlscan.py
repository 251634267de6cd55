"""The values of plainly written DIDSRecords read straight from the text, beside lxml's parse.

Most XML submissions are written the way our writer writes them: one DIDSRecord after another, each holding the
layout's elements in the layout's order, unprefixed, with each value in one attribute or as plain text. For such a
record the values need no Python object per element: one regular expression per group reads them all, in C.

The scanner is a second reading of the same bytes the pull parser is fed, kept in step with it record by record.
It is deliberately narrow, and exact for what it accepts: it accepts only text that libxml2 must read as the same
elements and the same values, and at the first thing it does not accept (a comment or a prefix inside a record, an
entity or character reference, a carriage return or tab inside a value, a stray element between records, an
encoding other than UTF-8) it stops for the rest of the file and the reader flattens lxml's elements as ever.
Why its values are lxml's for what it accepts:

- The root start tag declares the layout's namespace as the default one, and nothing the scanner accepts after it
  declares another (no attribute but the carrier is allowed on an element), so every unprefixed name it accepts
  is in the layout's namespace, as the reader's tags are.
- Between the root start tag and the end of record n there is nothing but records it accepted and white space, so
  the n-th DIDSRecord lxml reports is the n-th the scanner read; the reader checks that both found as many
  ImagingActivity elements, and stops the scanner if not.
- Inside a record it accepts each group's items in the layout's order, each at most once, each element empty but
  for its carrier attribute or holding only text: what the reader's flattening finds there, with no problem.
- A value is taken only when it holds none of the characters XML would rewrite (a reference starts with "&";
  line ends are normalised; tabs and line ends in an attribute become spaces), so its text is its value.

Lines are never counted here (libxml2's line numbers are not a count of line feeds: past line 65,535 they are one
more, and a lone carriage return is no line end to it); the reader takes every line from lxml's elements.
"""

from __future__ import annotations

import codecs
import operator
import re
from collections.abc import Callable

from conformance.spec import Pack, XmlGroup

_S = r"[ \t\r\n]*+"  # XML white space (possessive: it never has to give any back)
_S1 = r"[ \t\r\n]++"
_ATTRIBUTE_VALUE = r'"([^"<&\t\n\r]*+)"'
_TEXT_VALUE = r"([^<&\r]*+)"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")

# Before the first record: an optional XML declaration, white space and comments, and the root start tag (any
# prefix; its attributes are checked for the default namespace after the match).
_PROLOG = (
    r"\ufeff?(?:<\?xml([ \t\r\n][^?<>]*+)\?>)?(?:[ \t\r\n]++|<!--(?:[^-]|-[^-])*+-->)*+"
    r"<(?:[A-Za-z_][\w.\-]*+:)?{root}((?:[ \t\r\n]++[^\s=/<>]++[ \t\r\n]*+=[ \t\r\n]*+(?:\"[^\"<]*+\"|'[^'<]*+'))*+)"
    r"[ \t\r\n]*+>"
)
_PSEUDO_ATTRIBUTE = re.compile(r"""([^\s=]+)[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')""")


class _Patterns:
    """The compiled expressions for one pack's XML layout, and how their groups map onto the record's values."""

    def __init__(self, pack: Pack) -> None:
        layout = pack.xml
        activity_group = next(g for g in layout.groups if g.id == layout.activity_group)
        headers = [g for g in layout.groups if g is not activity_group]
        order: list[str] = []  # item ids in the order their values are captured
        for group in headers:
            order += group.items
        head = f"{_S}<{re.escape(layout.record)}{_S}>{_S}" + "".join(_group(pack, g) for g in headers)
        self.head = re.compile(head).match
        self.header_width = len(order)
        order += activity_group.items
        self.activity = re.compile(_group(pack, activity_group)).match
        self.tail = re.compile(f"</{re.escape(layout.record)}{_S}>").match
        self.prolog = re.compile(_PROLOG.replace("{root}", re.escape(layout.root))).match
        self.namespace = layout.namespace
        # Record values are in the pack's column order: each position takes one captured group, or "" (the
        # captures end with one "") for an item the XML layout does not carry.
        captured = {item_id: n for n, item_id in enumerate(order)}
        missing = len(order)
        self.values: Callable[[tuple[str, ...]], tuple[str, ...]] = operator.itemgetter(
            *(captured.get(item.id, missing) for item in pack.items)
        )


def _item(pack: Pack, item_id: str) -> str:
    x = pack.item(item_id).xml
    outer, _, inner = x.element.partition("/")
    o = re.escape(outer)
    if x.carrier != "text":
        carrier = re.escape(x.carrier)
        body = f"<{o}{_S1}{carrier}{_S}={_S}{_ATTRIBUTE_VALUE}{_S}(?:/>|>{_S}</{o}{_S}>)"
    elif inner:
        i = re.escape(inner)
        body = f"<{o}{_S}>{_S}<{i}{_S}(?:/>|>{_TEXT_VALUE}</{i}{_S}>){_S}</{o}{_S}>"
    else:
        body = f"<{o}{_S}(?:/>|>{_TEXT_VALUE}</{o}{_S}>)"
    # Atomic: an element once read is never un-read to try the next item in its place.
    return f"(?>{body}{_S}|)"


def _group(pack: Pack, group: XmlGroup) -> str:
    element = re.escape(group.element)
    return f"<{element}{_S}>{_S}" + "".join(_item(pack, i) for i in group.items) + f"</{element}{_S}>{_S}"


def scannable(pack: Pack) -> bool:
    """Whether the pack's XML layout is one the scanner reads exactly as the reader's flattening does: plain
    names, one header group of each name, the activity group last, each item in its own element (the reader
    keeps one value per element name in a group) at most one level deep."""
    layout = pack.xml
    groups = list(layout.groups)
    if not groups or groups[-1].id != layout.activity_group:
        return False
    names = [layout.root, layout.record] + [g.element for g in groups]
    if len(set(names)) != len(names) or any(g.max_occurs != 1 for g in groups[:-1]):
        return False
    for group in groups:
        outers = []
        for item_id in group.items:
            x = pack.item(item_id).xml
            parts = x.element.split("/")
            if len(parts) > 2 or not all(_NAME.fullmatch(p) for p in parts):
                return False
            if x.carrier != "text" and (len(parts) > 1 or not _NAME.fullmatch(x.carrier)):
                return False
            outers.append(parts[0])
        if len(set(outers)) != len(outers):
            return False
    return len(pack.items) > 1 and all(_NAME.fullmatch(n) for n in names)


class RecordScanner:
    """Reads the values of each DIDSRecord from the text fed so far, in step with the reader.

    `feed(chunk)` before the parser gets the same bytes; `take()` once per DIDSRecord the parser reports, in
    order. Either returns False or None once the scanner has stopped: from then on the reader flattens lxml's
    elements. Holds the text from the end of the last record taken only, and stops rather than hold more than
    `limit` characters of it (a stray element, say, which the scanner would stop at anyway)."""

    def __init__(self, pack: Pack, limit: int) -> None:
        self._patterns = _Patterns(pack)  # re caches the compiled expressions
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._pos = 0
        self._started = False
        self._limit = limit

    def feed(self, chunk: bytes) -> bool:
        try:
            decoded = self._decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            return False
        self._text = self._text[self._pos :] + decoded
        self._pos = 0
        return len(self._text) <= self._limit

    def take(self) -> list[tuple[str, ...]] | None:
        """The values of the next record, one tuple per ImagingActivity in the pack's column order (an empty
        list for a record with none: the reader reports that), or None when the scanner cannot read it."""
        p, text = self._patterns, self._text
        pos = self._pos
        if not self._started:
            start = self._prolog()
            if start is None:
                return None
            pos, self._started = start, True
        head = p.head(text, pos)
        if head is None:
            return None
        base = head.groups("")
        pos = head.end()
        values, activity, found = p.values, p.activity, []
        while (match := activity(text, pos)) is not None:
            found.append(values((*base, *match.groups(""), "")))
            pos = match.end()
        tail = p.tail(text, pos)
        if tail is None:
            return None
        self._pos = tail.end()
        return found

    def _prolog(self) -> int | None:
        """Where the first record may start, if the document opens as the scanner requires: UTF-8, XML 1.0, and
        the root start tag declaring the layout's namespace as the default namespace."""
        match = self._patterns.prolog(self._text)
        if match is None:
            return None
        declaration, attributes = match.group(1), match.group(2)
        if declaration is not None:
            pseudo = {m[1]: m[2] if m[2] is not None else m[3] for m in _PSEUDO_ATTRIBUTE.finditer(declaration)}
            if pseudo.get("version") != "1.0" or pseudo.get("encoding", "utf-8").lower() != "utf-8":
                return None
        names = {m[1]: m[2] if m[2] is not None else m[3] for m in _PSEUDO_ATTRIBUTE.finditer(attributes)}
        if names.get("xmlns") != self._patterns.namespace:
            return None
        return match.end()
