"""Writers: reading then writing gives an equivalent file; CSV and XML of the same records read back the same;
the bytes depend only on the records."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.formats import Record, open_submission, write_csv, write_records, write_xml
from conformance.spec import Pack, load_pack

PEER = Path(__file__).resolve().parents[1] / "fixtures" / "peer" / "nhse-dsp-dids-v1"
PACKS = {v: load_pack(v) for v in ("v1", "v2")}


# Any text XML 1.0 can carry: letters of every script, punctuation that CSV and XML must escape, tabs and (for XML)
# line breaks. Left out: C0 controls and U+FEFF/U+FFFE/U+FFFF (not XML, or a byte-order mark), and surrogates; for
# CSV also line breaks, which no DIDS value holds (the CSV reader takes a quoted value over several lines for rows
# swallowed by a stray quote, and the writer refuses one: tested below).
def hostile_text(line_breaks: bool) -> st.SearchStrategy[str]:
    return st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff\ufffe\uffff")
        | st.sampled_from(",\"<>&'\t " + ("\n\r" if line_breaks else "")),
        max_size=12,
    )


@st.composite
def value_rows(draw: st.DrawFn, pack: Pack, line_breaks: bool = False) -> list[tuple[str, ...]]:
    """Rows of values for `pack`; some rows repeat the person and referral of the previous one, as XML groups."""
    width = len(pack.items)
    text = hostile_text(line_breaks)
    # A value that could open a file: a file starting with "<" is XML to the detector (documented in README).
    first = text.filter(lambda v: not v.lstrip().startswith("<"))
    rows: list[tuple[str, ...]] = []
    for _ in range(draw(st.integers(1, 6))):
        values = [draw(first if i == 0 else text) for i in range(width)]
        if rows and draw(st.booleans()):
            activity = set(next(g.items for g in pack.xml.groups if g.id == pack.xml.activity_group))
            values = [v if pack.items[i].id in activity else rows[-1][i] for i, v in enumerate(values)]
        rows.append(tuple(values))
    return rows


def read_back(path: Path, version: str, format: str) -> list[tuple[str, ...]]:
    submission = open_submission(path, version=version, format=format)
    values = [r.values for r in submission.records()]
    assert submission.problems.fatal is None, list(submission.problems)
    assert [p.kind for p in submission.problems] == []
    return values


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("format", ["csv", "xml"])
@given(data=st.data())
def test_write_then_read_gives_the_same_values(
    tmp_path_factory: pytest.TempPathFactory, version: str, format: str, data: st.DataObject
) -> None:
    pack = PACKS[version]
    rows = data.draw(value_rows(pack, line_breaks=format == "xml"))
    path = tmp_path_factory.mktemp("rt") / f"file.{format}"
    assert write_records(rows, path, pack=pack, format=format) == len(rows)
    assert read_back(path, version, format) == rows


@pytest.mark.parametrize("version", ["v1", "v2"])
@given(data=st.data())
def test_csv_and_xml_encodings_read_back_to_the_same_records(
    tmp_path_factory: pytest.TempPathFactory, version: str, data: st.DataObject
) -> None:
    pack = PACKS[version]
    rows = data.draw(value_rows(pack))
    folder = tmp_path_factory.mktemp("same")
    write_records(rows, folder / "a.csv", pack=pack, format="csv")
    write_records(rows, folder / "a.xml", pack=pack, format="xml", group_activities=data.draw(st.booleans()))
    from_csv = list(open_submission(folder / "a.csv", version=version, format="csv").records())
    from_xml = list(open_submission(folder / "a.xml", version=version, format="xml").records())
    assert [(r.number, r.values) for r in from_csv] == [(r.number, r.values) for r in from_xml]


def render(rows: Sequence[Sequence[str]], pack: Pack, format: str) -> bytes:
    out = io.StringIO(newline="" if format == "csv" else "\n")
    (write_csv if format == "csv" else write_xml)(rows, out, pack)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("format", ["csv", "xml"])
@given(data=st.data())
def test_writing_is_byte_deterministic_and_a_fixpoint(
    tmp_path_factory: pytest.TempPathFactory, version: str, format: str, data: st.DataObject
) -> None:
    pack = PACKS[version]
    rows = data.draw(value_rows(pack, line_breaks=format == "xml"))
    first = render(rows, pack, format)
    assert render([tuple(r) for r in rows], pack, format) == first
    path = tmp_path_factory.mktemp("fix") / f"file.{format}"
    path.write_bytes(first)
    # Read it back and write again: the same bytes (the file written is the writer's own canonical form).
    assert render(read_back(path, version, format), pack, format) == first


def test_writing_to_a_file_matches_writing_to_a_stream(tmp_path: Path) -> None:
    rows = list(open_submission(PEER / "csv/00005_clinical/input.csv").records())
    for format in ("csv", "xml"):
        write_records(rows, tmp_path / f"out.{format}", pack=PACKS["v1"], format=format)
        assert (tmp_path / f"out.{format}").read_bytes() == render([r.values for r in rows], PACKS["v1"], format)


VALID_PEER = [
    "csv/00001_example_500/input.csv",
    "csv/00005_clinical/input.csv",
    "csv/00006_dids_dq_scenarios/input.csv",
    "csv/00014_various_dq_passes/whitespace_in_input_fields.csv",
    "xml/00001_example/input.xml",
    "xml/00003_age_band/input.xml",
    "xml/00012_derivations/input.xml",
]


@pytest.mark.parametrize("name", VALID_PEER)
@pytest.mark.parametrize("to", ["csv", "xml"])
def test_peer_files_survive_read_write_read(tmp_path: Path, name: str, to: str) -> None:
    original = list(open_submission(PEER / name).records())
    assert original
    out = tmp_path / f"copy.{to}"
    write_records(original, out, pack=PACKS["v1"], format=to)
    again = list(open_submission(out).records())
    assert [r.values for r in again] == [r.values for r in original]


def test_xml_writer_groups_activities_of_one_person_and_referral(tmp_path: Path) -> None:
    original = list(open_submission(PEER / "xml/00001_example/input.xml").records())
    out = tmp_path / "grouped.xml"
    write_records(original, out, pack=PACKS["v1"], format="xml")
    again = list(open_submission(out).records())
    assert [(r.path, r.activity) for r in again] == [(r.path, r.activity) for r in original]


def test_writers_refuse_a_record_of_the_wrong_width() -> None:
    for format in ("csv", "xml"):
        with pytest.raises(ValueError, match="has 17 values"):
            render([("x",) * 17], PACKS["v1"], format)


def test_xml_writer_refuses_characters_xml_cannot_carry() -> None:
    with pytest.raises(ValueError, match=r"XML 1\.0 cannot carry"):
        render([("\x01",) + ("",) * 17], PACKS["v1"], "xml")


def test_csv_writer_refuses_a_line_break_or_reports_it() -> None:
    with pytest.raises(ValueError, match="line break"):
        render([("",) * 17 + ("ACC\nNUMBER",)], PACKS["v1"], "csv")
    refused: list[tuple[int, int, str]] = []
    out = io.StringIO(newline="")
    written = write_csv(
        [("1",) * 18, ("",) * 17 + ("A\rB",)], out, PACKS["v1"], on_refused=lambda *r: refused.append(r)
    )
    assert written == 1 and refused == [(2, 17, "line-break")]


def test_records_keep_their_location() -> None:
    record = next(iter(open_submission(PEER / "csv/00003_simple/input.csv").records()))
    assert isinstance(record, Record)
    assert (record.number, record.line, record.path, record.activity) == (1, 1, None, None)
