"""Hostile, broken and not-DIDS input: each yields a structured file problem with a reason, never an exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import run
from conformance.formats import PROBLEM_KINDS, open_submission

PEER = Path(__file__).resolve().parents[1] / "fixtures" / "peer" / "nhse-dsp-dids-v1"
GOOD_CSV = (PEER / "csv/00003_simple/input.csv").read_bytes() + b"\n"  # the peer file has no final newline
GOOD_XML = (PEER / "xml/00001_example/input.xml").read_bytes()
V1_NS = b"http://www.datadictionary.nhs.uk/data_dictionary/messages/DIDS-v1-0/"
XML_BODY = GOOD_XML.split(b"?>", 1)[1]

# (case, bytes, expected first problem kind, whether reading stops, records still read)
HOSTILE: list[tuple[str, bytes, str, bool, int]] = [
    ("empty file", b"", "empty-file", True, 0),
    ("white space only", b"  \n\n \t\n", "empty-file", True, 0),
    ("binary junk", bytes(range(256)) * 4, "binary-content", True, 0),
    ("gzip by mistake", b"\x1f\x8b\x08\x00" + b"\x00" * 50, "binary-content", True, 0),
    ("NUL bytes after good rows", GOOD_CSV + b"\x00\x00junk,\n", "binary-content", True, 0),
    ("UTF-16 text", GOOD_CSV.decode().encode("utf-16"), "encoding", True, 0),
    ("JSON, not DIDS", b'{"records": []}', "not-dids", True, 0),
    ("XHTML, not DIDS", b'<?xml version="1.0"?><html><body/></html>', "not-dids", True, 0),
    ("DIDS root in a foreign namespace", GOOD_XML.replace(V1_NS, b"urn:other"), "not-dids", True, 0),
    (
        "external entity (XXE)",
        b'<?xml version="1.0"?>\n<!DOCTYPE DIDS [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + XML_BODY,
        "xml-dtd",
        True,
        0,
    ),
    (
        "billion laughs",
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
        b'<DIDS xmlns="' + V1_NS + b'">&lol3;</DIDS>',
        "xml-dtd",
        True,
        0,
    ),
    (
        "100,000 nested elements",
        b'<?xml version="1.0"?>\n<DIDS xmlns="'
        + V1_NS
        + b'"><DIDSRecord>'
        + b"<a>" * 100_000
        + b"</a>" * 100_000
        + b"</DIDSRecord></DIDS>",
        "xml-syntax",
        True,
        0,
    ),
    (
        "undefined entity",
        b'<?xml version="1.0"?>\n<DIDS xmlns="' + V1_NS + b'">&ext;</DIDS>',
        "xml-syntax",
        True,
        0,
    ),
    ("XML cut off mid-tag", GOOD_XML[: len(GOOD_XML) // 2], "xml-syntax", True, 0),
    ("25 fields and no header", b",".join([b"x"] * 25) + b"\n", "ambiguous", True, 0),
    # Recoverable: the problem is reported and the records are still read.
    ("UTF-8 byte-order mark", b"\xef\xbb\xbf" + GOOD_CSV, "bom", False, 3),
    ("Latin-1 byte in a value", GOOD_CSV.replace(b"\n", b"\xe9\n", 1), "encoding", False, 3),
    (
        "a row with 17 fields among good ones",
        GOOD_CSV + b",".join([b"1"] * 17) + b"\n",
        "column-count",
        False,
        3,
    ),
]


@pytest.mark.parametrize(("case", "content", "kind", "fatal", "records"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_input_gives_a_file_problem(
    tmp_path: Path, case: str, content: bytes, kind: str, fatal: bool, records: int
) -> None:
    path = tmp_path / "submission"
    path.write_bytes(content)
    submission = open_submission(path, validate_xml=True)
    read = list(submission.records())
    problems = list(submission.problems)
    assert problems, case
    first = next(p for p in problems if p.kind != "bom") if kind != "bom" else problems[0]
    assert first.kind == kind
    assert first.kind in PROBLEM_KINDS
    assert first.message.strip()
    assert (submission.problems.fatal is not None) == fatal
    assert submission.readable is not fatal
    assert len(read) == records


def test_xxe_never_reads_the_referenced_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    path = tmp_path / "xxe.xml"
    path.write_bytes(
        b'<?xml version="1.0"?>\n<!DOCTYPE DIDS [<!ENTITY xxe SYSTEM "'
        + secret.as_uri().encode()
        + b'">]>\n'
        + XML_BODY.replace(b"<DIDSRecord>", b"<DIDSRecord>&xxe;", 1)
    )
    submission = open_submission(path)
    values = [v for r in submission.records() for v in r.values]
    assert not any("TOP-SECRET" in v for v in values)
    assert "TOP-SECRET" not in " ".join(p.message for p in submission.problems)


def test_wrong_column_count_rows_are_reported_with_their_line_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    lines = GOOD_CSV.decode().splitlines()
    path.write_text("\n".join([lines[0], "a,b,c", lines[1], ",".join(["x"] * 19), lines[2]]) + "\n")
    submission = open_submission(path)
    read = list(submission.records())
    assert [r.line for r in read] == [1, 3, 5]
    assert [(p.kind, p.line) for p in submission.problems] == [("column-count", 2), ("column-count", 4)]


def test_quoted_field_spanning_lines_is_not_read_and_keeps_line_numbers_true(tmp_path: Path) -> None:
    """No DIDS value holds a line break: a quoted value over two lines costs the record (and, were it a stray
    quote, the rows it swallowed: one per line), and the lines after it keep their true numbers."""
    path = tmp_path / "multiline.csv"
    lines = GOOD_CSV.decode().splitlines()
    fields = lines[0].split(",")
    fields[-1] = '"ACC\nNUMBER"'
    path.write_text("\n".join([",".join(fields), lines[1], "a,b"]) + "\n")
    submission = open_submission(path)
    read = list(submission.records())
    assert [r.line for r in read] == [3]
    assert [(p.kind, p.line, p.lost) for p in submission.problems] == [
        ("row-spans-lines", 1, 2),
        ("column-count", 4, 1),
    ]


def test_forcing_the_wrong_version_is_a_version_mismatch(tmp_path: Path) -> None:
    submission = open_submission(PEER / "csv/00003_simple/input.csv", version="v2")
    list(submission.records())
    assert submission.problems.fatal is not None
    assert (submission.problems.fatal.kind, submission.problems.fatal.line) == ("version-mismatch", 1)


def test_a_headerless_v2_csv_read_as_v2_is_reported_and_still_read(tmp_path: Path) -> None:
    path = tmp_path / "v2-no-header.csv"
    path.write_text(",".join(["x"] * 25) + "\n" + ",".join(["y"] * 25) + "\n")
    submission = open_submission(path, version="v2")
    read = list(submission.records())
    assert [(p.kind, p.line, p.fatal) for p in submission.problems] == [("missing-header", 1, False)]
    assert [r.line for r in read] == [1, 2]


@pytest.mark.parametrize("case", [c for c in HOSTILE if c[3]], ids=[c[0] for c in HOSTILE if c[3]])
def test_cli_inspect_reports_unreadable_files_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: tuple[str, bytes, str, bool, int]
) -> None:
    path = tmp_path / "submission"
    path.write_bytes(case[1])
    code = run(
        ["inspect", str(path), "--format", "json", "--validate-xml"],
        __import__("sys").stdout,
        __import__("sys").stderr,
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err + captured.out
    [report] = json.loads(captured.out)
    assert report["readable"] is False
    assert report["problems"][0]["kind"] == case[2] or case[2] in [p["kind"] for p in report["problems"]]


def test_cli_on_a_missing_file_or_a_directory_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    for target in (tmp_path / "absent.csv", tmp_path):
        assert run(["inspect", str(target)], sys.stdout, sys.stderr) == 2
        err = capsys.readouterr().err
        assert err.startswith("dids: error:") and err.count("\n") == 1
