"""The XSDs derived from the packs: committed copies do not drift, and lxml and xmlschema agree on them."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.formats import xml_schema, xsd_text
from conformance.formats._xsd import facet_pattern
from conformance.spec import load_pack

REPO = Path(__file__).resolve().parents[1]
PEER = REPO / "fixtures" / "peer" / "nhse-dsp-dids-v1"
XSD_DIR = REPO / "conformance" / "spec" / "xsd"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_committed_xsd_matches_the_pack(version: str) -> None:
    committed = (XSD_DIR / f"dids-{version}.xsd").read_text("utf-8")
    assert committed == xsd_text(load_pack(version)), f"regenerate with: dids spec xsd {version} > {XSD_DIR.name}/..."


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_xsd_is_deterministic_and_targets_the_pack_namespace(version: str) -> None:
    pack = load_pack(version)
    assert xsd_text(pack) == xsd_text(load_pack(version))
    tree = etree.fromstring(xsd_text(pack).encode())
    assert tree.get("targetNamespace") == pack.xml.namespace
    assert "reconstructed" in xsd_text(pack) if version == "v2" else "published" not in xsd_text(pack)


def _documents() -> list[tuple[str, bytes]]:
    """Whole peer XML documents plus variants that break the structure in different ways."""
    docs = [
        (p.parent.name, p.read_bytes())
        for p in sorted(PEER.glob("xml/*/input.xml"))
        if p.parent.name != "00014_invalid_file_format"
    ]  # not well-formed: neither validator gets a tree
    example = (PEER / "xml/00001_example/input.xml").read_bytes()
    docs += [
        (
            "groups out of order",
            example.replace(b"<PersonalAndDemographics>", b"<Tmp>", 1).replace(
                b"</PersonalAndDemographics>", b"</Tmp>", 1
            ),
        ),
        ("unknown element", example.replace(b"<Referrals>", b"<Referrals><Surprise/>", 1)),
        ("no activity", example.split(b"<ImagingActivity>")[0] + b"</DIDSRecord></DIDS>"),
        ("over-long code", example.replace(b'<EthnicCategory code="A"', b'<EthnicCategory code="AAA"', 1)),
    ]
    return docs


@pytest.mark.parametrize("version", ["v1"])
def test_lxml_and_xmlschema_agree_on_every_document(version: str) -> None:
    text = xsd_text(load_pack(version))
    lxml_schema = xml_schema(load_pack(version))
    other = xmlschema.XMLSchema10(text)
    verdicts = []
    for name, document in _documents():
        tree = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
        by_lxml = lxml_schema.validate(tree)
        by_xmlschema = other.is_valid(document.decode("utf-8"))
        assert by_lxml == by_xmlschema, name
        verdicts.append((name, by_lxml))
    # The peer's well-formed inputs are valid; each broken variant is not. Both validators, both ways.
    assert [n for n, ok in verdicts if not ok] == [
        "groups out of order",
        "unknown element",
        "no activity",
        "over-long code",
    ]


def test_v2_schema_validates_what_the_v2_writer_writes(tmp_path: Path) -> None:
    from conformance.formats import write_records

    pack = load_pack("v2")
    values = [""] * len(pack.items)
    values[pack.index["nhs_number"]] = "9990000018"
    values[pack.index["procedure_start_timestamp"]] = "2026-04-01T09:30:00+01:00"
    values[pack.index["coded_procedure_nicip"]] = "CCHAPC"
    path = tmp_path / "one.xml"
    write_records([values], path, pack=pack, format="xml")
    document = path.read_bytes()
    assert xml_schema(pack).validate(etree.fromstring(document))
    assert xmlschema.XMLSchema10(xsd_text(pack)).is_valid(document.decode())
    # Without a coded procedure the schema still accepts it, in both validators: V2P-CODED-PROCEDURE-MISSING judges
    # the record, as in CSV (layout parity). An element no DIDS schema has still breaks the structure in both.
    values[pack.index["coded_procedure_nicip"]] = ""
    write_records([values], path, pack=pack, format="xml")
    assert xml_schema(pack).validate(etree.parse(str(path)))
    assert xmlschema.XMLSchema10(xsd_text(pack)).is_valid(path.read_text())
    text = path.read_text().replace("</ImagingActivity>", "<NotADidsElement/></ImagingActivity>")
    assert not xml_schema(pack).validate(etree.fromstring(text.encode()))
    assert not xmlschema.XMLSchema10(xsd_text(pack)).is_valid(text)


def test_the_v2_schema_checks_structure_only() -> None:
    """Layout parity: no v2 item element is required and none carries a facet, so a value fault is never a
    whole-file XML reject where CSV judges it record by record (tests/test_check_v2.py has the fault table)."""
    schema = xsd_text(load_pack("v2"))
    for facet in ("minLength", "maxLength", "pattern", "enumeration", "xs:choice"):
        assert facet not in schema, facet
    assert all(item.xml.min_occurs == 0 for item in load_pack("v2").items)


def test_the_schema_is_compiled_once_however_many_threads_ask_at_once() -> None:
    """certify runs in-process checks in parallel threads; libxml2 once failed with XMLSchemaParseError when two
    of them compiled the schema at the same moment. One compiles; the rest get its result."""
    import threading

    from conformance.formats import _xsd

    pack = load_pack("v2")
    _xsd._compiled_once.cache_clear()
    start = threading.Barrier(8)
    got: list[object] = []

    def ask() -> None:
        start.wait()
        got.append(_xsd.xml_schema(pack))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 8 and len({id(schema) for schema in got}) == 1


@given(st.text())
def test_markup_escapes_and_quotes_as_the_standard_library_does(text: str) -> None:
    """conformance.markup stands in for xml.sax.saxutils (whose import costs every XML check ~30 ms)."""
    from xml.sax.saxutils import escape, quoteattr

    from conformance.markup import xml_escape, xml_quoted

    assert xml_escape(text) == escape(text)
    assert xml_quoted(text) == quoteattr(text)
    assert xml_quoted(text + "'\"") == quoteattr(text + "'\"")


# ----- the facets as Python regular expressions (formats/_xsd.py facet_pattern, for the XML scanner) ----------


def _faceted() -> list[tuple[str, str]]:
    return [
        (version, item.id)
        for version in ("v1", "v2")
        for item in load_pack(version).items
        if facet_pattern(item) is not None
    ]


@pytest.fixture(scope="module")
def valid_v1_record(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from datetime import date

    from generators.generate import generate

    path = tmp_path_factory.mktemp("xsd") / "v1.xml"
    generate(path, profile="v1-dsp", format="xml", records=3, seed=2, period=date(2018, 8, 1), workers=1)
    return path.read_bytes()


# The characters the facets turn on, and others they must not be fooled by (other scripts' letters and digits,
# white space that XSD's \s is not). No value the scanner reads holds "&", "<", '"', a carriage return or a tab.
FACET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcz0123456789 -\n\u00e9\u00c9\u0661\u00a0\u2003\u212a\u0130."


@pytest.mark.parametrize(("version", "item_id"), _faceted())
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.one_of(
        st.text(FACET_ALPHABET, max_size=14),
        st.sampled_from(["", " ", "  ", "01", "05", "06", "1", "LS1 4AP", "LS1  4AP", "LS14AP", "EC1A 1BB", "W1 1AA",
                         "AB12 3CD", "M1 1AE", "ls1 4ap", "LS1 4AC", "LS1 4CA", "LS1 4AP ", " LS1 4AP", "ABC",
                         "AB", "A", "X" * 12, "X" * 13, "XCHES", "XCHEST", "XCHESTS", "B86001", "\n\n\n", "a\nb"]),
    )
)  # fmt: skip
def test_a_facet_pattern_accepts_exactly_the_values_the_schema_accepts(
    valid_v1_record: bytes, version: str, item_id: str, value: str
) -> None:
    import re

    pack = load_pack(version)
    item = pack.item(item_id)
    pattern = facet_pattern(item)
    assert pattern is not None
    ns = pack.xml.namespace
    record = etree.fromstring(valid_v1_record).find(f"{{{ns}}}DIDSRecord")
    assert record is not None and version == "v1", "only v1 items carry facets"
    outer, _, inner = item.xml.element.partition("/")
    group = next(g for g in pack.xml.groups if item_id in g.items)
    parent = record.find(f"{{{ns}}}{group.element}")
    assert parent is not None
    element = parent.find(f"{{{ns}}}{outer}")
    if element is None:  # an optional item the generated record left out
        element = etree.SubElement(parent, f"{{{ns}}}{outer}")
        successors = list(group.items)[list(group.items).index(item_id) + 1 :]
        for later in parent:
            if any(later.tag == f"{{{ns}}}{pack.item(i).xml.element.partition('/')[0]}" for i in successors):
                later.addprevious(element)
                break
        if inner:
            etree.SubElement(element, f"{{{ns}}}{inner}")
    if item.xml.carrier != "text":
        element.set(item.xml.carrier, value)
    else:
        target = element.find(f"{{{ns}}}{inner}") if inner else element
        assert target is not None
        target.text = value
    assert bool(re.fullmatch(pattern, value)) == xml_schema(pack).validate(record), (value, pattern[:120])


def _lxml_accepts(xsd_pattern: str, value: str) -> bool:
    """lxml's verdict on `value` for a string type with this one pattern facet."""
    from xml.sax.saxutils import quoteattr

    schema = etree.XMLSchema(
        etree.fromstring(
            '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="v"><xs:simpleType>'
            f'<xs:restriction base="xs:string"><xs:pattern value={quoteattr(xsd_pattern)}/></xs:restriction>'
            "</xs:simpleType></xs:element></xs:schema>"
        )
    )
    element = etree.Element("v")
    element.text = value
    return schema.validate(element)


@pytest.mark.parametrize(
    ("xsd", "probes"),
    [
        ("[A-Z-[CIKMOV]]{2}", ["AB", "ZZ", "AC", "VA", "ab", "A", "ABC"]),
        ("[^A-Z-[Q]]", ["Q", "a", "1", "A", "\n", " "]),
        (".{3,}", ["abc", "a c", "\u00e9\u00e9\u00e9", "ab", "a\nb", "ab\r", "\t\t\t"]),
        (r"\s*", ["", " \t\n\r", "\u00a0", "x", "\u2003"]),
        (r"a\.b|\(c\)", ["a.b", "(c)", "axb", "c", "a.b(c)"]),
        ("^$", ["^$", "", "^"]),
        ("[a-c-]+", ["a-c", "-", "d", ""]),
        ("[-a]", ["-", "a", "b"]),
        (r"[\s]x", [" x", "\nx", "x"]),
    ],
)
def test_xsd_patterns_translate_to_python_with_xsd_meaning(xsd: str, probes: list[str]) -> None:
    import re

    from conformance.formats._xsd import _python_regex

    pattern = _python_regex(xsd)
    assert {v: bool(re.fullmatch(pattern, v)) for v in probes} == {v: _lxml_accepts(xsd, v) for v in probes}


@pytest.mark.parametrize(
    "xsd", [r"\d+", r"\p{Lu}", r"\i\c*", "[]", "[a-[b]", "a{,3}", "(a", "[\\S]", "*a", r"[\--/]", "[a-c-e]"]
)
def test_an_xsd_pattern_beyond_the_translator_is_refused_not_guessed(xsd: str) -> None:
    from conformance.formats._xsd import _python_regex

    with pytest.raises(ValueError):
        _python_regex(xsd)
