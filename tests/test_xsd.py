"""The XSDs derived from the packs: committed copies do not drift, and lxml and xmlschema agree on them."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from conformance.formats import xml_schema, xsd_text
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
