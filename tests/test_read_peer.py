"""NHS England's own v1 test files (fixtures/peer, BSD-3) read without a crash: records, or file problems with lines."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conformance.formats import open_submission

PEER = Path(__file__).resolve().parents[1] / "fixtures" / "peer" / "nhse-dsp-dids-v1"

# (file, records, [(problem kind, line)]) for every input file the peer suite holds. Record counts for CSV are
# cross-checked below against the csv module; the XML ones were counted by hand from the files' ImagingActivity
# elements (xml/00001_example: 2 activities in 1 DIDSRecord).
PEER_FILES: list[tuple[str, int, list[tuple[str, int]]]] = [
    ("csv/00001_example_500/input.csv", 495, [("header-row", 1)]),
    ("csv/00002_example_500_4_dq_issues/input.csv", 8, []),
    ("csv/00003_simple/input.csv", 3, []),
    ("csv/00004_dq_errors/input.csv", 12, []),
    ("csv/00005_clinical/input.csv", 21, []),
    ("csv/00006_dids_dq_scenarios/input.csv", 58, []),
    ("csv/00007_uniqueness_and_dq_failure/input.csv", 2, []),
    ("csv/00011_derived_dates_op/input.csv", 5, []),
    ("csv/00012_derivations/input.csv", 13, []),
    ("csv/00013_simple_mv_1/input.csv", 2, []),
    ("csv/00014_various_dq_passes/valid_scenarios_with_warnings.csv", 2, []),
    ("csv/00014_various_dq_passes/whitespace_in_input_fields.csv", 8, []),
    ("csv/00015_smoke_test_ok/input.csv", 1, [("header-row", 1)]),
    (
        "csv/00016_invalid_file_format/input.csv",
        0,
        [("column-count", 1), ("column-count", 2), ("column-count", 3)],
    ),
    ("csv/00017_mps_scenarios/input.csv", 6, []),
    ("csv/00018_mps_scenarios/input.csv", 5, []),
    ("csv/00019_mps_contents_wrong/input.csv", 1, []),
    ("csv/00024_restricted_code_scenarios/input.csv", 10, []),
    ("csv/00025_deid_scenarios/input.csv", 6, []),
    ("csv/00026_local_to_nicip_mappings/input.csv", 4, []),
    ("csv/00027_withdrawn_consent/input.csv", 4, []),
    ("csv/dev_test_walkthrough/input.csv", 1, []),
    ("xml/00001_example/input.xml", 2, []),
    ("xml/00002_simple/input.xml", 1, []),
    ("xml/00003_age_band/input.xml", 5, []),
    ("xml/00004_clinical/input.xml", 1, []),
    ("xml/00011_derived_dates_op/input.xml", 5, []),
    ("xml/00012_derivations/input.xml", 5, []),
    ("xml/00013_age_band_mv/input.xml", 1, []),
    # Two activities break the XSD (kept and reported), then the file stops being well-formed at line 200.
    ("xml/00014_invalid_file_format/input.xml", 7, [("xsd", 146), ("xsd", 174), ("xml-syntax", 200)]),
]


def test_the_table_covers_every_peer_input_file() -> None:
    inputs = {
        p.relative_to(PEER).as_posix()
        for p in PEER.rglob("*")
        if p.suffix in (".csv", ".xml") and (p.name.startswith("input.") or p.parent.name == "00014_various_dq_passes")
    }
    assert inputs == {name for name, _, _ in PEER_FILES}


@pytest.mark.parametrize(("name", "records", "problems"), PEER_FILES, ids=[n for n, _, _ in PEER_FILES])
def test_peer_file_reads_to_records_or_located_problems(
    name: str, records: int, problems: list[tuple[str, int]]
) -> None:
    submission = open_submission(PEER / name, validate_xml=True)
    read = list(submission.records())
    assert submission.version == "v1"
    assert submission.format == name[:3]
    assert len(read) == records
    # Most peer CSV files end without a line end; that is a note (nothing lost), checked on its own below.
    found = [(p.kind, p.line) for p in submission.problems if p.kind != "no-final-newline"]
    assert found == problems
    assert all(p.message for p in submission.problems)
    # (when the last row was read as a record; a last row that was not read is counted as lost instead)
    unterminated = not (PEER / name).read_bytes().endswith(b"\n") and name.endswith(".csv") and records > 0
    assert submission.ledger().notes.get("no-final-newline", 0) == int(unterminated)
    assert submission.ledger().records_read == records
    assert [r.number for r in read] == list(range(1, records + 1))
    assert all(len(r.values) == 18 for r in read)


@pytest.mark.parametrize("name", [n for n, _, _ in PEER_FILES if n.endswith(".csv")])
def test_csv_records_match_the_csv_module_row_for_row(name: str) -> None:
    with open(PEER / name, newline="", encoding="utf-8") as handle:
        rows = [
            (number, row)
            for number, row in enumerate(csv.reader(handle), start=1)
            if len(row) == 18 and row[0] != "NHS_NUMBER"
        ]
    read = list(open_submission(PEER / name).records())
    assert [(r.line, list(r.values)) for r in read] == rows


def test_xml_example_gives_two_records_from_two_activities() -> None:
    read = list(open_submission(PEER / "xml/00001_example/input.xml").records())
    assert [(r.number, r.path, r.activity) for r in read] == [
        (1, "/DIDS/DIDSRecord[1]/ImagingActivity[1]", 1),
        (2, "/DIDS/DIDSRecord[1]/ImagingActivity[2]", 2),
    ]
    first = dict(
        zip(
            open_submission(PEER / "xml/00001_example/input.xml").pack.columns,  # type: ignore[union-attr]
            read[0].values,
            strict=True,
        )
    )
    assert first["NHS_NUMBER"].isdigit() and len(first["NHS_NUMBER"]) == 10
    assert first["DIAGNOSTIC_TEST_DATE"][:2] in ("19", "20")


def test_several_activities_in_one_record_share_the_person_values() -> None:
    read = list(open_submission(PEER / "xml/00001_example/input.xml").records())
    by_record: dict[str, list[tuple[str, ...]]] = {}
    for r in read:
        assert r.path is not None
        by_record.setdefault(r.path.rsplit("/", 1)[0], []).append(r.values)
    [(_, activities)] = by_record.items()
    assert len(activities) == 2
    assert activities[0][:12] == activities[1][:12]  # person and referral values repeat on each activity
    assert activities[0][12:] != activities[1][12:]  # the activities themselves differ


def test_invalid_csv_names_the_reason_and_line() -> None:
    submission = open_submission(PEER / "csv/00016_invalid_file_format/input.csv")
    list(submission.records())
    first = next(iter(submission.problems))
    assert first.line == 1
    assert "18" in first.message  # the expected field count is named
