"""Derive an XML Schema from a spec pack, and load it for lxml.

The schema checks structure, element order, cardinality and the few facets the published v1 material fixes (code
lengths, the postcode pattern, the XML NHS number status enumeration), each for supplied (non-blank) values. Code
lists stay out of it on purpose: a big enumeration makes validation several times slower, and the rules check codes
with better messages.

`DIDSRecord` is a global element so each record can be validated on its own while streaming.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from lxml import etree

from conformance.markup import xml_quoted
from conformance.spec import Item, Pack, XmlGroup

_XS = "http://www.w3.org/2001/XMLSchema"


def _type_name(item: Item) -> str:
    return "".join(part.capitalize() for part in item.id.split("_")) + "Type"


def _element_type_name(item: Item) -> str:
    return _type_name(item).removesuffix("Type") + "ElementType"


def _patterns(item: Item) -> list[str]:
    """The item's pattern facets (XSD regular expressions; a value must match one of them whole)."""
    x = item.xml
    patterns = []
    if x.pattern is not None:
        patterns.append(x.pattern)
    elif x.min_length is not None and x.min_length > 1:
        patterns.append(f".{{{x.min_length},}}")
    if patterns:
        patterns.append(r"\s*")
    return patterns


def _enumeration(item: Item) -> tuple[str, ...]:
    return ("", *item.xml.enumeration) if item.xml.enumeration else ()


def _simple_type(item: Item) -> str:
    x = item.xml
    facets = []
    if x.max_length is not None:
        facets.append(f'<xs:maxLength value="{x.max_length}"/>')
    # Facets hold for supplied values only: NHS England's own passing v1 XML cases carry blank values
    # (xml/00004_clinical NICIP code="", 00012 and 00013 blank postcodes), which the rules then judge.
    facets.extend(f"<xs:pattern value={xml_quoted(p)}/>" for p in _patterns(item))
    facets.extend(f"<xs:enumeration value={xml_quoted(v)}/>" for v in _enumeration(item))
    restriction = (
        '<xs:restriction base="xs:string">' + "".join(f"\n      {f}" for f in facets) + "\n    </xs:restriction>"
        if facets
        else '<xs:restriction base="xs:string"/>'
    )
    simple = f'  <xs:simpleType name="{_type_name(item)}">\n    {restriction}\n  </xs:simpleType>\n'
    if x.carrier == "text":
        return simple
    # Named, so that an element declared twice (the NICIP/SNOMED CT choice) has one consistent type.
    return simple + (
        f'  <xs:complexType name="{_element_type_name(item)}">\n'
        f'    <xs:attribute name="{x.carrier}" type="{_type_name(item)}" use="required"/>\n  </xs:complexType>\n'
    )


def _element(item: Item, min_occurs: int | None = None) -> str:
    x = item.xml
    occurs = x.min_occurs if min_occurs is None else min_occurs
    min_attr = ' minOccurs="0"' if occurs == 0 else ""
    type_name = _type_name(item)
    if "/" in x.element:  # e.g. Address/postalCode: a wrapper element holding one text child
        outer, inner = x.element.split("/", 1)
        return (
            f'<xs:element name="{outer}"{min_attr}><xs:complexType><xs:sequence>'
            f'<xs:element name="{inner}" type="{type_name}"/>'
            f"</xs:sequence></xs:complexType></xs:element>"
        )
    if x.carrier == "text":
        return f'<xs:element name="{x.element}" type="{type_name}"{min_attr}/>'
    return f'<xs:element name="{x.element}" type="{_element_type_name(item)}"{min_attr}/>'


def _group_type(pack: Pack, group: XmlGroup) -> str:
    lines = []
    ids = list(group.items)
    i = 0
    while i < len(ids):
        item = pack.item(ids[i])
        if group.one_or_both and ids[i] == group.one_or_both[0]:
            first, second = (pack.item(k) for k in group.one_or_both)
            # One of the two, or both in order: the v1 XSD choice carried over.
            lines.append(
                "<xs:choice>"
                f"<xs:sequence>{_element(first, 1)}{_element(second, 0)}</xs:sequence>"
                f"{_element(second, 1)}"
                "</xs:choice>"
            )
            i += 2 if ids[i + 1 : i + 2] == [group.one_or_both[1]] else 1
            continue
        lines.append(_element(item))
        i += 1
    body = "".join(f"\n      {line}" for line in lines)
    return (
        f'  <xs:complexType name="{group.element}Type">\n'
        f"    <xs:sequence>{body}\n    </xs:sequence>\n  </xs:complexType>\n"
    )


def xsd_text(pack: Pack) -> str:
    """The XML Schema for `pack`'s XML layout, as text (deterministic)."""
    layout = pack.xml
    groups = "".join(
        f'\n        <xs:element name="{g.element}" type="{g.element}Type"'
        + ("" if g.min_occurs == 1 else f' minOccurs="{g.min_occurs}"')
        + (
            ""
            if g.max_occurs == 1
            else ' maxOccurs="unbounded"'
            if g.max_occurs is None
            else f' maxOccurs="{g.max_occurs}"'
        )
        + "/>"
        for g in layout.groups
    )
    provenance = f"layout provenance: {layout.provenance.status} ({layout.provenance.source})"
    overrides = f"; overrides: {', '.join(pack.overrides)}" if pack.overrides else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!-- {pack.title}: XML Schema generated from the {pack.version} spec pack by `dids spec xsd "
        f"{pack.version}`; do not edit by hand.\n     {provenance.replace('--', '-')}{overrides} -->\n"
        f'<xs:schema xmlns:xs="{_XS}" targetNamespace="{layout.namespace}" xmlns="{layout.namespace}"\n'
        '           elementFormDefault="qualified">\n'
        f'  <xs:element name="{layout.root}">\n'
        "    <xs:complexType>\n      <xs:sequence>\n"
        f'        <xs:element ref="{layout.record}" maxOccurs="unbounded"/>\n'
        "      </xs:sequence>\n    </xs:complexType>\n  </xs:element>\n"
        f'  <xs:element name="{layout.record}">\n'
        f"    <xs:complexType>\n      <xs:sequence>{groups}\n      </xs:sequence>\n    </xs:complexType>\n"
        "  </xs:element>\n"
        + "".join(_group_type(pack, g) for g in layout.groups)
        + "".join(_simple_type(item) for item in pack.items)
        + "</xs:schema>\n"
    )


# Compiling a schema is not safe from two threads at once (certify runs in-process checks in parallel threads, and
# two compilations at once failed with XMLSchemaParseError): one thread compiles, the others wait for its result.
_COMPILING = threading.Lock()


@lru_cache(maxsize=8)
def _compiled_once(text: str) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.fromstring(text.encode("utf-8"), parser))


def _compiled(text: str) -> etree.XMLSchema:
    with _COMPILING:
        return _compiled_once(text)


def xml_schema(pack: Pack) -> etree.XMLSchema:
    """The compiled lxml schema for `pack` (cached per schema text, so overrides get their own)."""
    return _compiled(xsd_text(pack))


def _explainer(text: str) -> Any:
    with _COMPILING:
        return _explainer_once(text)


@lru_cache(maxsize=8)
def _explainer_once(text: str) -> Any:
    import xmlschema  # imported only when a record fails: it takes ~0.3 s to import

    # xmlschema is pure Python (compiling takes ~1 s, validating ~100 times lxml's time), so it only explains
    # what lxml has already found: it names the element's path and every facet the value missed, where libxml2
    # quotes only the last pattern of a choice.
    return xmlschema.XMLSchema(text)


_NAMESPACE = re.compile(r"\{[^}]*\}")


def explain(pack: Pack, element: etree._Element) -> dict[int, list[tuple[str, str]]]:
    """Readable reasons why `element` (a DIDSRecord) breaks the pack's schema, by source line: (path below the
    record, e.g. "PersonalAndDemographics/Address/postalCode", reason)."""
    found: dict[int, list[tuple[str, str]]] = {}
    for error in _explainer(xsd_text(pack)).iter_errors(element):
        line = getattr(error.elem, "sourceline", None)
        if not isinstance(line, int):
            continue
        path = _NAMESPACE.sub("", error.path or "").removeprefix(f"/{pack.xml.record}").lstrip("/")
        found.setdefault(line, []).append((path, error.reason or "does not validate"))
    return found


# --------------------------------------------------------------------------------------------------------------
# The facets as a Python regular expression (for the XML scanner: conformance/formats/_xmlscan.py)
# --------------------------------------------------------------------------------------------------------------


def facet_pattern(item: Item) -> str | None:
    """A Python regular expression that matches a value of `item` whole exactly when the item's simple type in the
    XSD accepts it (its maxLength, pattern and enumeration facets, as `_simple_type` writes them), or None when the
    type has no facet. It never matches a NUL (no XML value holds one), so several can be joined by NUL and matched
    at once. Raises ValueError for a pattern outside the part of XSD's regular expressions it translates."""
    x = item.xml
    patterns, enumeration = _patterns(item), _enumeration(item)
    if x.max_length is None and not patterns and not enumeration:
        return None
    end = r"(?![^\x00])"  # the value ends here
    checks = []
    if x.max_length is not None:
        checks.append(f"(?=[^\\x00]{{0,{x.max_length}}}{end})")
    if patterns:
        checks.append("(?=" + "|".join(f"(?:{_python_regex(p)}){end}" for p in patterns) + ")")
    if enumeration:
        checks.append("(?=(?:" + "|".join(re.escape(v) for v in enumeration) + f"){end})")
    return "".join(checks) + "[^\\x00]*+"


_SINGLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", **{c: c for c in "\\|.-^?*+{}()[]"}}
_SPACE = frozenset(map(ord, " \t\n\r"))
_CLASS_LIMIT = 4096  # characters a translated class may list


def _char(c: int) -> str:
    return f"\\U{c:08x}"


class _XsdRegex:
    """A translator of XSD regular expressions (XML Schema Part 2, appendix F) into Python's, for the part of the
    language DIDS uses: characters, ".", the escapes \\s \\S and single-character escapes, classes with ranges,
    negation and subtraction, groups, alternatives and quantifiers. Anything else raises ValueError."""

    def __init__(self, pattern: str) -> None:
        self.text, self.at = pattern, 0

    def peek(self) -> str | None:
        return self.text[self.at] if self.at < len(self.text) else None

    def take(self) -> str:
        c = self.peek()
        if c is None:
            raise ValueError(f"XSD pattern {self.text!r} ends early")
        self.at += 1
        return c

    def translate(self) -> str:
        out = self.branches()
        if self.peek() is not None:
            raise ValueError(f"XSD pattern {self.text!r}: unexpected {self.peek()!r}")
        return out

    def branches(self) -> str:
        out = [self.branch()]
        while self.peek() == "|":
            self.take()
            out.append(self.branch())
        return "|".join(out)

    def branch(self) -> str:
        out = []
        while self.peek() not in (None, "|", ")"):
            out.append(self.atom() + self.quantifier())
        return "".join(out)

    def quantifier(self) -> str:
        c = self.peek()
        if c in ("?", "*", "+"):
            return self.take()
        if c != "{":
            return ""
        self.take()
        body = ""
        while self.peek() != "}":
            body += self.take()
        self.take()
        if not re.fullmatch(r"\d+(,\d*)?", body):
            raise ValueError(f"XSD pattern {self.text!r}: quantifier {{{body}}}")
        return f"{{{body}}}"

    def atom(self) -> str:
        c = self.take()
        if c == "(":
            inner = self.branches()
            if self.take() != ")":
                raise ValueError(f"XSD pattern {self.text!r}: unclosed group")
            return f"(?:{inner})"
        if c == ".":
            return "[^\\n\\r\\x00]"
        if c == "[":
            return self.emit(*self.char_class())
        if c == "\\":
            negated, chars = self.escape()
            return self.emit(negated, chars)
        if c in "?*+{}|)]":
            raise ValueError(f"XSD pattern {self.text!r}: unexpected {c!r}")
        return _char(ord(c))

    def escape(self) -> tuple[bool, frozenset[int]]:
        c = self.take()
        if c in _SINGLE_ESCAPES:
            return False, frozenset({ord(_SINGLE_ESCAPES[c])})
        if c == "s":
            return False, _SPACE
        if c == "S":
            return True, _SPACE
        raise ValueError(f"XSD pattern {self.text!r}: escape \\{c} is not translated")

    def char_class(self) -> tuple[bool, frozenset[int]]:
        """After "[": (negated, characters), through the closing "]"."""
        negated = self.peek() == "^"
        if negated:
            self.take()
        chars: set[int] = set()
        first = True
        while True:
            c = self.take()
            if c == "]":
                if first:
                    raise ValueError(f"XSD pattern {self.text!r}: an empty class")
                break
            if c == "-" and self.peek() == "[":  # subtraction: always last in the class
                self.take()
                sub_negated, sub = self.char_class()
                if self.take() != "]":
                    raise ValueError(f"XSD pattern {self.text!r}: subtraction not last in its class")
                return _subtract(negated, frozenset(chars), sub_negated, sub)
            if c == "[":
                raise ValueError(f"XSD pattern {self.text!r}: unescaped [ in a class")
            if c == "-" and not first and self.peek() != "]":
                raise ValueError(f"XSD pattern {self.text!r}: a - neither first nor last in its class")
            escaped = c == "\\"
            if escaped:
                escaped_negated, escapes = self.escape()
                if escaped_negated:
                    raise ValueError(f"XSD pattern {self.text!r}: \\S inside a class is not translated")
                if len(escapes) > 1:
                    chars |= escapes
                    first = False
                    continue
                low = next(iter(escapes))
            else:
                low = ord(c)
            first = False
            if self.peek() == "-" and self.text[self.at + 1 : self.at + 2] not in ("[", "]", ""):
                self.take()
                high_c = self.take()
                # libxml2 does not read an escaped character as a range's end (as [\--/] in XSD's grammar):
                # such a range is not translated rather than guessed.
                if escaped or high_c == "\\":
                    raise ValueError(f"XSD pattern {self.text!r}: a range with an escaped end")
                high = ord(high_c)
                if high < low or high - low > _CLASS_LIMIT:
                    raise ValueError(f"XSD pattern {self.text!r}: range {chr(low)}-{chr(high)}")
                chars.update(range(low, high + 1))
            else:
                chars.add(low)
        return negated, frozenset(chars)

    @staticmethod
    def emit(negated: bool, chars: frozenset[int]) -> str:
        listed = "".join(_char(c) for c in sorted(chars - {0}))
        if negated:
            return f"[^{listed}\\x00]"
        return f"[{listed}]" if listed else "(?!)"


def _subtract(
    negated: bool, chars: frozenset[int], sub_negated: bool, sub: frozenset[int]
) -> tuple[bool, frozenset[int]]:
    """The class (negated, chars) less the class (sub_negated, sub)."""
    if not negated and not sub_negated:
        return False, chars - sub
    if not negated:  # chars less everything outside sub
        return False, chars & sub
    if not sub_negated:  # everything outside chars, and outside sub
        return True, chars | sub
    return False, sub - chars  # outside chars, inside sub


def _python_regex(pattern: str) -> str:
    return _XsdRegex(pattern).translate()
