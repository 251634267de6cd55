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


def _simple_type(item: Item) -> str:
    x = item.xml
    facets = []
    if x.max_length is not None:
        facets.append(f'<xs:maxLength value="{x.max_length}"/>')
    # Facets hold for supplied values only: NHS England's own passing v1 XML cases carry blank values
    # (xml/00004_clinical NICIP code="", 00012 and 00013 blank postcodes), which the rules then judge.
    patterns = []
    if x.pattern is not None:
        patterns.append(x.pattern)
    elif x.min_length is not None and x.min_length > 1:
        patterns.append(f".{{{x.min_length},}}")
    if patterns:
        patterns.append(r"\s*")
    facets.extend(f"<xs:pattern value={xml_quoted(p)}/>" for p in patterns)
    if x.enumeration:
        facets.extend(f"<xs:enumeration value={xml_quoted(v)}/>" for v in ("", *x.enumeration))
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
