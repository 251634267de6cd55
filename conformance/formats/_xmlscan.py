"""The values of plainly written DIDSRecords read straight from the text, beside lxml's parse.

Most XML submissions are written the way our writer writes them: one DIDSRecord after another, each holding the
layout's elements in the layout's order, unprefixed, with each value in one attribute or as plain text. For such a
record the values need no Python object per element (lxml makes one for every element it is asked about, at some
thousands of instructions each): a regular expression reads the record's values in C.

The scanner is a second reading of the bytes the pull parser is fed, kept in step with it: the reader asks for a
record only once lxml has parsed its end tag, so the text the scanner reads is well-formed, and the n-th record it
reads is the n-th DIDSRecord element. It is narrow, and exact for what it accepts; at the first record it does not
accept (a comment, prefix, CDATA section or reference in it; a line end or tab in a value; a stray element before
it; an encoding other than UTF-8) it stops for the rest of the file and the reader flattens lxml's elements as
ever. Why its values are those the flattening would read:

- The root start tag declares the layout's namespace as the default namespace, and nothing the scanner accepts
  after it declares another (no element it accepts has an attribute but its carrier), so every unprefixed name it
  reads is in the layout's namespace, as the reader's tags are.
- Between the root start tag and the end of record n there is no markup but that of the records it read (text
  between records, which the reader reports from lxml's tree, holds no "<"), so the n-th DIDSRecord lxml reports is
  the n-th it read; the reader also checks that both count as many child elements.
- In a record it accepts the header groups, each once, then the activities, and in each group the layout's items in
  order, each at most once, each element empty but for its carrier attribute or holding only text: what the
  flattening reads with no problem. Its end tags are read as any end tag: in well-formed text an end tag closes the
  element opened last, whose name the expression has just matched.
- A value is taken only when it holds no character that XML reads otherwise than as written (a reference starts
  with "&"; line ends are normalised, and tabs and line ends in attributes become spaces).

It also says when the schema must accept the record, so that lxml need not validate it: when the record is as the
schema's content models have it (required elements there, only white space between elements, nothing in an
element whose value is in an attribute), there are as many activities as the schema allows, and every value meets
its item's facets (formats/_xsd.py translates them into Python's regular expressions, or the scanner never says so).

Lines are never counted here (libxml2's line numbers are not a count of line feeds: past line 65,535 they are one
more, and a lone carriage return is no line end to it); the reader takes every line from lxml's elements.
"""

from __future__ import annotations

import codecs
import operator
import re
from collections.abc import Callable
from functools import cached_property

from conformance.formats._xsd import facet_pattern
from conformance.spec import Pack, XmlGroup

_T = r"[ \t\r\n]*+"  # XML white space inside a tag (possessive: it never has to give any back)
_T1 = r"[ \t\r\n]++"
_GAP = r"[^<]*+"  # text between elements, which the reader's flattening never reads
# Text between elements where the schema allows only white space: the usual line feed and spaces first, each
# counted in C without a class lookup, then any other white space.
_WHITE = r"\n?+ *+[ \t\r\n]*+"
# An end tag. The text the scanner reads was parsed by libxml2 to the record's end (the reader asks only then), so
# it is well-formed: each end tag closes the element opened last, whose name the expression has just matched.
_END = r"</[^>]*+>"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")

# Before the first record: an optional XML declaration, white space and comments, and the root start tag (any
# prefix; its attributes are checked for the default namespace after the match).
_PROLOG = (
    r"\ufeff?(?:<\?xml([ \t\r\n][^?<>]*+)\?>)?(?:[ \t\r\n]++|<!--(?:[^-]|-[^-])*+-->)*+"
    r"<(?:[A-Za-z_][\w.\-]*+:)?{root}((?:[ \t\r\n]++[^\s=/<>]++[ \t\r\n]*+=[ \t\r\n]*+(?:\"[^\"<]*+\"|'[^'<]*+'))*+)"
    r"[ \t\r\n]*+>"
)
# One piece of well-formed XML content, for passing over what the expressions do not read.
_TOKEN = re.compile(
    r"""(?P<text>[^<]+)
    |(?P<comment><!--.*?-->)
    |(?P<cdata><!\[CDATA\[.*?\]\]>)
    |(?P<pi><\?.*?\?>)
    |(?P<end></[^\s>]+[ \t\r\n]*>)
    |(?P<start><(?P<name>[^\s/>]+)(?P<attributes>(?:[ \t\r\n]+[^\s=/>]+[ \t\r\n]*=[ \t\r\n]*
        (?:"[^"]*"|'[^']*'))*[ \t\r\n]*)(?P<empty>/?)>)""",
    re.S | re.X,
)
_PSEUDO_ATTRIBUTE = re.compile(r"""([^\s=]+)[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')""")


def _body(pack: Pack, item_id: str, strict: bool) -> str:
    """One item's element, its value captured. `strict`: only as the schema accepts it (no content in an element
    that carries its value in an attribute; only white space around a wrapper's inner element)."""
    x = pack.item(item_id).xml
    outer, _, inner = x.element.partition("/")
    o = re.escape(outer)
    gap = _WHITE if strict else _GAP
    if x.carrier != "text":
        content = "" if strict else _GAP
        return f'<{o}{_T1}{re.escape(x.carrier)}{_T}={_T}"([^"]*+)"{_T}(?:/>|>{content}{_END})'
    if inner:
        i = re.escape(inner)
        return f"<{o}{_T}>{gap}<{i}{_T}(?:/>|>([^<]*+){_END}){gap}{_END}"
    return f"<{o}{_T}(?:/>|>([^<]*+){_END})"


def _items(pack: Pack, group: XmlGroup, strict: bool) -> str | None:
    """A group's items in order. Loose: each may be there or not. Strict: as the schema's sequence for the group
    has them (conformance/formats/_xsd.py, _group_type): required items required, and the one-or-both pair as its
    choice; None when the scanner cannot say it so."""
    gap = _WHITE if strict else _GAP
    if not strict:
        return "".join(f"(?:{_body(pack, i, False)}{gap})?+" for i in group.items)
    out = []
    ids = list(group.items)
    i = 0
    while i < len(ids):
        if group.one_or_both and ids[i] == group.one_or_both[0]:
            first, second = group.one_or_both
            if ids[i + 1 : i + 2] != [second]:
                return None
            # One of the two, or both in order; the look-ahead asks for one of them, without naming a group twice.
            names = "|".join(re.escape(pack.item(k).xml.element.partition("/")[0]) for k in (first, second))
            out.append(
                rf"(?=<(?:{names})[ \t\r\n/>])"
                f"(?:{_body(pack, first, True)}{gap})?+(?:{_body(pack, second, True)}{gap})?+"
            )
            i += 2
            continue
        body = f"{_body(pack, ids[i], True)}{gap}"
        out.append(body if pack.item(ids[i]).xml.min_occurs else f"(?:{body})?+")
        i += 1
    return "".join(out)


def _group(pack: Pack, group: XmlGroup, strict: bool) -> str | None:
    items = _items(pack, group, strict)
    if items is None:
        return None
    element, gap = re.escape(group.element), (_WHITE if strict else _GAP)
    return f"<{element}{_T}>{gap}{items}{_END}{gap}"


class _Expressions:
    """A record's head (its start tag and header groups) and one ImagingActivity, each with its values captured in
    the layout's order: loose (what the reader's flattening reads alike) or strict (only what the schema also
    accepts, less the facets of the values, checked apart)."""

    def __init__(self, pack: Pack, strict: bool) -> None:
        layout = pack.xml
        activity_group = next(g for g in layout.groups if g.id == layout.activity_group)
        parts = []  # every header group, once (the reader counts on it; a record without one is flattened)
        for group in layout.groups:
            if group is not activity_group:
                part = _group(pack, group, strict)
                if part is None:
                    raise ValueError("a group the scanner cannot check against the schema")
                parts.append(part)
        activity = _group(pack, activity_group, strict)
        if activity is None:
            raise ValueError("a group the scanner cannot check against the schema")
        record = re.escape(layout.record)
        self._head = f"{_GAP}<{record}{_T}>{_WHITE if strict else _GAP}" + "".join(parts)
        self._activity = activity
        self.header_width = sum(len(g.items) for g in layout.groups if g is not activity_group)
        self.tail = re.compile(f"</{record}{_T}>").match

    # Compiled when first needed (compiling is pure Python, tens of milliseconds for a whole record): the loose
    # expressions only once a record is not as the schema has it, the head alone for a record with no activity.

    @cached_property
    def first(self) -> Callable[[str, int], re.Match[str] | None]:
        """The head and the first activity."""
        return re.compile(self._head + self._activity).match

    @cached_property
    def head(self) -> Callable[[str, int], re.Match[str] | None]:
        return re.compile(self._head).match

    @cached_property
    def activity(self) -> Callable[[str, int], re.Match[str] | None]:
        return re.compile(self._activity).match


class _Patterns:
    """What the scanner reads a pack's records with."""

    def __init__(self, pack: Pack) -> None:
        layout = pack.xml
        activity_group = next(g for g in layout.groups if g.id == layout.activity_group)
        order = [i for g in layout.groups if g is not activity_group for i in g.items] + list(activity_group.items)
        self.loose = _Expressions(pack, strict=False)
        self.strict: _Expressions | None = None
        self.facets: Callable[[str], object] | None = None
        try:
            self.strict = _Expressions(pack, strict=True)
            facets = [(pack.index[item.id], facet_pattern(item)) for item in pack.items]
        except ValueError:  # the schema is checked by lxml for every record
            self.strict = None
        else:
            faceted = [(position, pattern) for position, pattern in facets if pattern is not None]
            if faceted:
                self.faceted = _getter([position for position, _ in faceted])
                self.facets = re.compile("\x00".join(pattern for _, pattern in faceted)).fullmatch
        self.activities = (activity_group.min_occurs, activity_group.max_occurs)
        self.prolog = re.compile(_PROLOG.replace("{root}", re.escape(layout.root))).match
        self.namespace = layout.namespace
        self.record = layout.record
        # Record values are in the pack's column order: each position takes one captured group, or "" (the
        # captures end with one "") for an item the XML layout does not carry.
        # None when the groups are captured in the pack's column order already (as in v2).
        captured = {item_id: n for n, item_id in enumerate(order)}
        self.values: Callable[[tuple[str, ...]], tuple[str, ...]] | None = None
        if order != [item.id for item in pack.items]:
            self.values = _getter([captured.get(item.id, len(order)) for item in pack.items])


def _getter(positions: list[int]) -> Callable[[tuple[str, ...]], tuple[str, ...]]:
    """A picker of values by position that always gives a tuple (operator.itemgetter gives a bare one for one)."""
    if len(positions) == 1:
        (position,) = positions
        return lambda values: (values[position],)
    if not positions:
        return lambda values: ()
    return operator.itemgetter(*positions)


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
        self._special = 0

    def feed(self, chunk: bytes) -> bool:
        try:
            decoded = self._decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            return False
        text = self._text = self._text[self._pos :] + decoded
        self._pos = 0
        # Where the first character that XML may read otherwise than as written is (a reference starts with "&";
        # a carriage return is a line end, a tab in an attribute a space): records before it need no look for them.
        self._special = min((i for i in map(text.find, "&\r\t") if i >= 0), default=len(text))
        return len(text) <= self._limit

    def take(self) -> tuple[list[tuple[str, ...]] | None, bool] | None:
        """The values of the next record, one tuple per ImagingActivity in the pack's column order (none for a
        record with none: the reader reports that), and whether the schema is known to accept the record. The
        values are None for a record the scanner passes over unread (the reader flattens it); the whole answer
        is None when the scanner cannot go on."""
        p, text, pos = self._patterns, self._text, self._pos
        if not self._started:
            start = self._prolog()
            if start is None:
                return None
            pos, self._started = start, True
        records, end = self._match(p.strict, text, pos) if p.strict is not None else (None, 0)
        valid = records is not None
        if records is None:
            records, end = self._match(p.loose, text, pos)
            if records is None:
                skipped = self._skip(text, pos)
                if skipped is None:
                    return None
                self._pos = skipped
                return None, False
        self._pos = end
        special = end > self._special
        if special and text.find("&", pos, end) >= 0:  # a reference: the value may not be its text
            return None, False
        for record in records:
            # XML reads a line end in a value as a line feed, and a tab or line end in an attribute as a space:
            # the scanner takes no value with any of them (rare: the flattening reads those).
            joined = "".join(record)
            if "\n" in joined or (special and ("\r" in joined or "\t" in joined)):
                return None, False
        values = p.values
        if values is not None:
            records = [values((*record, "")) for record in records]
        if valid:
            low, high = p.activities
            valid = low <= len(records) and (high is None or len(records) <= high)
            facets = p.facets
            if valid and facets is not None:
                faceted = p.faceted
                valid = all(facets("\x00".join(faceted(record))) for record in records)
        return records, valid

    @staticmethod
    def _match(expressions: _Expressions, text: str, pos: int) -> tuple[list[tuple[str, ...]] | None, int]:
        """The groups of each activity of a record, after those of its head, and where the record ends; None when
        the expressions do not read it. Most records have one activity: one expression reads head and activity."""
        first = expressions.first(text, pos)
        if first is not None:
            record = first.groups("")
            found, at = [record], first.end()
            tail = expressions.tail(text, at)
            if tail is not None:
                return found, tail.end()
            base = record[: expressions.header_width]
        else:
            head = expressions.head(text, pos)
            if head is None:
                return None, 0
            base, found, at = head.groups(""), [], head.end()
        activity = expressions.activity
        while (match := activity(text, at)) is not None:
            found.append(base + match.groups(""))
            at = match.end()
        tail = expressions.tail(text, at)
        return (found, tail.end()) if tail is not None else (None, 0)

    def _skip(self, text: str, pos: int) -> int | None:
        """Where the next record ends, for one the expressions do not read: past what is before it under the root
        (text, comments, processing instructions, other elements), then through its start tag to its end tag.
        None (the scanner stops) unless the record's start tag has no attribute, so that its namespace is the
        layout's, and no element named as a record (with any prefix) is within what is passed over: lxml then
        reports no record there but this one, and the scanner stays in step."""
        record = self._patterns.record
        depth, inside, at = 0, False, pos
        while True:
            token = _TOKEN.match(text, at)
            if token is None:
                return None
            at = token.end()
            kind = token.lastgroup
            if kind == "start":
                name = token["name"]
                if name.rpartition(":")[2] == record:
                    if inside or depth or name != record or token["attributes"].strip(" \t\r\n"):
                        return None
                    if token["empty"]:
                        return at
                    inside, depth = True, 1
                elif not token["empty"]:
                    depth += 1
            elif kind == "end":
                depth -= 1
                if depth < 0:
                    return None
                if inside and depth == 0:
                    return at

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
