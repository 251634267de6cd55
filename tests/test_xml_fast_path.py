"""The XML reader's fast path (values read from the text by conformance/formats/_xmlscan.py) against its
reference, the flattening of lxml's elements: identical records (number, line, values, path, activity), identical
file problems (every field, in order), identical counts and ledgers, for every file. Files: the whole corpus, NHS
England's example XML, generated months of both versions with every XML mutation, and Hypothesis-mutated files
(cut at any offset; comments, processing instructions, CDATA, references, stray elements and text, prefixes,
other quotes, carriage returns and tabs put anywhere; elements repeated), read with and without the XML schema,
from a file and from standard input, and with a record size cap small enough to stop reading."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.files import open_input
from conformance.formats import ProblemLog, Record, _xml, open_submission
from conformance.formats._xml import _read_xml_flattening, _XmlReader
from conformance.formats._xmlscan import RecordScanner
from conformance.formats._xsd import xml_schema
from conformance.spec import load_pack
from generators.generate import generate
from generators.mutations import every_mutable_rule

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "fixtures" / "corpus"
PEER_XML = sorted((REPO / "fixtures" / "peer").rglob("*.xml"))
V2_PERIOD = date(2026, 5, 1)
V1_PERIOD = date(2018, 8, 1)


def read(source: str | Path, *, flatten: bool, validate: bool, cap: int | None = None, data: bytes = b"") -> Any:
    """Everything one reading gives: the records, then the problems, their counts and the ledger. `source` "-"
    reads `data` from standard input."""
    options: dict[str, Any] = {"validate_xml": validate, "max_examples": 5}
    if cap is not None:
        options["max_record_bytes"] = cap
    if str(source) == "-":
        options["stdin"] = io.BytesIO(data)
    # The submission imports the reader from its module when it opens an XML file: swapped there.
    reader = _read_xml_flattening if flatten else _xml.read_xml
    with patch.object(_xml, "read_xml", reader):
        submission = open_submission(source, **options)
        records = list(submission.records())
    log = submission.problems
    return records, list(log), dict(log.counts), dict(log.lost), log.fatal, submission.ledger()


def assert_same(source: str | Path, *, cap: int | None = None, data: bytes = b"") -> list[Record]:
    """Both readings agree, with the schema and without; returns the records (read with the schema)."""
    found = []
    for validate in (True, False):
        fast = read(source, flatten=False, validate=validate, cap=cap, data=data)
        reference = read(source, flatten=True, validate=validate, cap=cap, data=data)
        assert fast[0] == reference[0], "records differ"
        assert fast[1:] == reference[1:], "problems or ledger differ"
        found.append(fast[0])
    return found[0]


def corpus_xml() -> list[Path]:
    return sorted(CORPUS.glob("*/*.xml"))


def test_the_corpus_and_nhs_englands_examples_read_alike() -> None:
    files = corpus_xml()
    assert len(files) > 50, "run `dids fixtures build` first"
    assert PEER_XML
    for path in files + PEER_XML:
        assert_same(path)


@pytest.mark.parametrize(("profile", "period"), [("v2", V2_PERIOD), ("v1-dsp", V1_PERIOD), ("v1-portal", V1_PERIOD)])
def test_a_generated_month_with_every_xml_mutation_reads_alike(tmp_path: Path, profile: str, period: date) -> None:
    path = tmp_path / "month.xml"
    generate(
        path, profile=profile, format="xml", records=300, seed=23, period=period, workers=1,
        mutate=every_mutable_rule(profile, "xml", period), scenarios=["duplicated-activity"],
    )  # fmt: skip
    records = assert_same(path)
    assert len(records) >= 290
    assert_same("-", data=path.read_bytes())


def test_the_fast_path_is_taken_for_a_plain_file_to_its_end(tmp_path: Path) -> None:
    """The comparison above proves nothing if the scanner stops at once: for a file as our writer writes it, it
    reads every record."""
    path = tmp_path / "month.xml"
    generate(path, profile="v2", format="xml", records=500, seed=3, period=V2_PERIOD, workers=1)
    pack = load_pack("v2")
    reader = _XmlReader(pack, ProblemLog(), xml_schema(pack), scan=True)
    records = list(reader.read(open_input(path), 4 * 1024 * 1024))
    assert len(records) == 500
    assert reader.scanner is not None


@pytest.mark.parametrize(("profile", "period"), [("v2", V2_PERIOD), ("v1-dsp", V1_PERIOD), ("v1-portal", V1_PERIOD)])
def test_every_record_the_scanner_finds_valid_lxml_finds_valid(tmp_path: Path, profile: str, period: date) -> None:
    """The reader skips lxml's validation of a record the scanner says the schema accepts: never one it refuses.
    Both verdicts occur in a month with every mutation (so both ways are taken)."""
    path = tmp_path / "month.xml"
    generate(
        path, profile=profile, format="xml", records=300, seed=29, period=period, workers=1,
        mutate=every_mutable_rule(profile, "xml", period), scenarios=["duplicated-activity"],
    )  # fmt: skip
    pack = load_pack("v2" if profile == "v2" else "v1")
    schema = xml_schema(pack)
    scanner = RecordScanner(pack, 1 << 30)
    assert scanner.feed(path.read_bytes()) and scanner.feed(b"")
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    verdicts = []
    for element in tree.getroot():
        taken = scanner.take()
        assert taken is not None, "the scanner passes over what it does not read, and goes on"
        verdicts.append((taken[1], schema.validate(element)))
        if taken[0] is None:
            assert not taken[1]
    assert (True, False) not in verdicts
    assert (True, True) in verdicts
    if profile != "v2":  # the v2 schema checks structure only: no mutation of a value breaks it
        assert (False, False) in verdicts


# A record of NHS England's v1 layout changed in the ways the schema turns on (each checked by lxml in the
# reference reading, and by the scanner's verdict or lxml in the fast one).
V1_EDITS = [
    ('<ImagingCodeNICIP code="ULLVB" />', ""),  # neither coded procedure
    ('<ImagingCodeNICIP code="ULLVB" />', '<ImagingCodeSNOMEDCT code="1" />'),  # the other one alone
    ('<ImagingCodeNICIP code="ULLVB" />', '<ImagingCodeNICIP code="ULLVB" /><ImagingCodeSNOMEDCT code="2" />'),
    ('<ImagingCodeNICIP code="ULLVB" />', '<ImagingCodeSNOMEDCT code="2" /><ImagingCodeNICIP code="ULLVB" />'),
    ('<ImagingCodeNICIP code="ULLVB" />', '<ImagingCodeNICIP code="ULLVB"></ImagingCodeNICIP>'),
    ('<ImagingCodeNICIP code="ULLVB" />', '<ImagingCodeNICIP code="ULLVB"> </ImagingCodeNICIP>'),
    ('<ImagingCodeNICIP code="ULLVB" />', '<ImagingCodeNICIP code="ULLVBXX" />'),
    ('<ImagingCodeNICIP code="ULLVB" />', '<ImagingCodeNICIP code="" />'),
    ('<PatientSourceSetting code="03" />', ""),  # a required item
    ('<ReferrerCode extension="C5801832" />', '<ReferrerCode extension="" />'),
    ("<postalCode>NE1 5GA</postalCode>", "<postalCode>NE1 5CA</postalCode>"),
    ("<postalCode>NE1 5GA</postalCode>", "<postalCode>ne1 5ga</postalCode>"),
    ("<postalCode>NE1 5GA</postalCode>", "<postalCode>  </postalCode>"),
    ("<postalCode>NE1 5GA</postalCode>", "<postalCode/>"),
    ("<Address>\n        <postalCode>NE1 5GA</postalCode>\n      </Address>", "<Address></Address>"),
    ('<NHSNumberStatus code="01" />', '<NHSNumberStatus code="06" />'),
    ('<NHSNumberStatus code="01" />', '<NHSNumberStatus code="" />'),
    ('<EthnicCategory code="C" />', '<EthnicCategory code="CCC" />'),
    ('<GPCodeRegistration extension="X99019" />', '<GPCodeRegistration extension="X9" />'),
    ('<GPCodeRegistration extension="X99019" />', '<GPCodeRegistration extension="X99019X99019X" />'),
    ("<PersonBirthDate>1986-02-19</PersonBirthDate>", "<PersonBirthDate>1986-02-19</PersonBirthDate> x"),
    ("<PersonBirthDate>1986-02-19</PersonBirthDate>", "<PersonBirthDate>1986-02-19</PersonBirthDate>\u00a0"),
    ("    <ImagingActivity>", "    <ImagingActivity/>\n    <ImagingActivity>"),
    ("</ImagingActivity>\n  </DIDSRecord>", "</ImagingActivity>\n  <Referrals/></DIDSRecord>"),
]


@pytest.mark.parametrize(("old", "new"), V1_EDITS)
def test_a_v1_record_the_schema_turns_on_reads_alike(tmp_path: Path, old: str, new: str) -> None:
    path = tmp_path / "v1.xml"
    generate(path, profile="v1-dsp", format="xml", records=9, seed=4, period=V1_PERIOD, workers=1)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert_same(path)


# What the scanner must pass over without losing step with lxml: put between the first two records, or into the
# second. A record lxml does not report as one (another namespace), records inside other elements, and markup
# inside comments and CDATA sections.
PASSED_OVER = [
    "<!-- </DIDSRecord> -->",
    "<?pi </DIDSRecord>?>",
    "<Stray><DIDSRecord><ImagingActivity/></DIDSRecord></Stray>",
    '<Stray xmlns:x="urn:x"><x:DIDSRecord><x:ImagingActivity/></x:DIDSRecord></Stray>',
    '<DIDSRecord xmlns="urn:other"><ImagingActivity/></DIDSRecord>',
    '<x:DIDSRecord xmlns:x="urn:other"><x:ImagingActivity/></x:DIDSRecord>',
    "<DIDSRecord/>",
    "<DIDSRecord></DIDSRecord>",
    "<DIDSRecord><Referrals/></DIDSRecord>",
    '<DIDSRecord a="1"><ImagingActivity/></DIDSRecord>',
    "<Stray>text</Stray>",
    "<Stray/>",
    "loose text",
]
INSIDE = [
    "<!-- </DIDSRecord> <DIDSRecord> -->",
    "<![CDATA[</DIDSRecord><DIDSRecord>]]>",
    "<Stray><DIDSRecord><ImagingActivity/></DIDSRecord></Stray>",
    '<DIDSRecord xmlns="urn:other"><ImagingActivity/></DIDSRecord>',
    "<DIDSRecord><ImagingActivity/></DIDSRecord>",
    "<ImagingActivity><DIDSRecord/></ImagingActivity>",
    '<ImagingActivity xmlns="urn:other"/>',
    "<Stray/>",
    "&amp;",
]


@pytest.mark.parametrize("snippet", PASSED_OVER)
def test_what_is_passed_over_between_records_keeps_the_scanner_in_step(
    tmp_path: Path, plain_files: dict[str, bytes], snippet: str
) -> None:
    base = plain_files["v2"]
    at = base.index(b"</DIDSRecord>") + len(b"</DIDSRecord>")
    path = tmp_path / "mutant.xml"
    path.write_bytes(base[:at] + snippet.encode() + base[at:])
    assert_same(path)


@pytest.mark.parametrize(
    "namespace", ["urn:other", "http://www.datadictionary.nhs.uk/data_dictionary/messages/DIDS-v2-0/"]
)
def test_a_prefixed_record_is_passed_over_only_in_step(
    tmp_path: Path, plain_files: dict[str, bytes], namespace: str
) -> None:
    """A prefix declared on the root: o:DIDSRecord is a record to lxml in the layout's namespace, none in another."""
    base = plain_files["v2"].replace(b"<DIDS ", f'<DIDS xmlns:o="{namespace}" '.encode(), 1)
    at = base.index(b"</DIDSRecord>") + len(b"</DIDSRecord>")
    path = tmp_path / "mutant.xml"
    path.write_bytes(base[:at] + b"<o:DIDSRecord><o:ImagingActivity/></o:DIDSRecord>" + base[at:])
    assert_same(path)


@pytest.mark.parametrize("snippet", INSIDE)
@pytest.mark.parametrize("place", [b"<PersonalAndDemographics>", b"<ImagingActivity>", b"</ImagingActivity>"])
def test_what_is_passed_over_inside_a_record_keeps_the_scanner_in_step(
    tmp_path: Path, plain_files: dict[str, bytes], snippet: str, place: bytes
) -> None:
    base = plain_files["v2"]
    at = base.index(place, base.index(b"</DIDSRecord>"))  # in the second record
    path = tmp_path / "mutant.xml"
    path.write_bytes(base[:at] + snippet.encode() + base[at:])
    assert_same(path)


# ----- Hypothesis: mutated files ------------------------------------------------------------------------------

# Put anywhere (most often at a tag boundary): what a plain record must not hold, and what it may.
SNIPPETS = [
    "<!-- a comment -->", "<!---->", "<?pi data?>", "<![CDATA[x]]>", "<![CDATA[<a>]]>", "&amp;", "&lt;", "&#10;",
    "&#x9;", "&#13;", "&bogus;", "&", "<", ">", '"', "'", "\r", "\r\n", "\n", "\t", " ", "\u00a0", "\u2028",
    "\x85", "\ufeff", "é", "x", "text", "<Stray/>", "<Stray>t</Stray>", '<x:NHSNumber xmlns:x="urn:x"/>',
    ' xmlns="urn:other"', ' xmlns:p="urn:p"', ' code="1"', ' extension="2"', " a='1'", "</Referrals>", "<Referrals>",
    "<ImagingActivity>", "</ImagingActivity>", "<ImagingActivity/>", "</DIDSRecord>", "<DIDSRecord>",
    "<PersonBirthDate/>", "<PersonBirthDate>1970-01-01</PersonBirthDate>", '<NHSNumber extension="9990000026"/>',
    "\x00", "\x0c", "\udcff",
]  # fmt: skip


@pytest.fixture(scope="module")
def plain_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("plain")
    files = {}
    for profile, period in (("v2", V2_PERIOD), ("v1-dsp", V1_PERIOD)):
        path = folder / f"{profile}.xml"
        generate(
            path, profile=profile, format="xml", records=9, seed=4, period=period, workers=1,
            scenarios=["duplicated-activity"],
        )  # fmt: skip
        files[profile] = path.read_bytes()
    return files


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = base
    for _ in range(draw(st.integers(1, 3))):
        # Where markup and values meet: just inside and outside each tag and each quoted value.
        boundaries = [i for i in range(len(data) + 1) if data[i - 1 : i] in b'>"' or data[i : i + 1] in b'<"'] or [0]
        where = draw(st.one_of(st.sampled_from(boundaries), st.integers(0, len(data))))
        kind = draw(st.sampled_from(["insert", "insert", "cut", "repeat", "delete", "quotes", "crlf"]))
        if kind == "insert":
            snippet = draw(st.sampled_from(SNIPPETS)).encode("utf-8", "surrogateescape")
            data = data[:where] + snippet + data[where:]
        elif kind == "cut":
            data = data[:where]
        elif kind == "repeat":
            end = draw(st.sampled_from([i + 1 for i in boundaries if i >= where] or [len(data)]))
            data = data[:end] + data[where:end] + data[end:]
        elif kind == "delete":
            data = data[:where] + data[where + draw(st.integers(1, 40)) :]
        elif kind == "quotes":
            end = where + draw(st.integers(1, 400))
            data = data[:where] + data[where:end].replace(b'"', b"'") + data[end:]
        else:
            data = data.replace(b"\n", b"\r\n")
    return data


# Just inside a text value, just inside an attribute value, between two elements, inside a start tag.
PLACES = [b"<PersonBirthDate>", b'<NHSNumber extension="', b"<Referrals>", b"<ImagingActivity"]


@pytest.mark.parametrize("place", PLACES, ids=lambda p: p.decode())
def test_anything_put_at_a_value_or_between_elements_reads_alike(
    tmp_path: Path, plain_files: dict[str, bytes], place: bytes
) -> None:
    base = plain_files["v2"]
    at = base.index(place, base.index(place) + 1) + len(place)  # in the second record
    path = tmp_path / "mutant.xml"
    for snippet in SNIPPETS:
        content = base[:at] + snippet.encode("utf-8", "surrogateescape") + base[at:]
        path.write_bytes(content)
        assert_same(path)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_file_reads_alike(tmp_path: Path, plain_files: dict[str, bytes], data: st.DataObject) -> None:
    base = plain_files[data.draw(st.sampled_from(sorted(plain_files)), label="version")]
    content = data.draw(mutated(base), label="content")
    cap = data.draw(st.sampled_from([None, None, None, 600, 2000]), label="cap")
    path = tmp_path / "mutant.xml"
    path.write_bytes(content)
    assert_same(path, cap=cap)
    if data.draw(st.booleans(), label="stdin"):
        assert_same("-", cap=cap, data=content)
