"""Faults injected into every command that reads a submission: truncation at every offset, swallowed rows, FIFOs,
devices, floods of junk, control characters, outputs that are inputs. Each asserts the exit code, the one-line
message, the ledger's counts (records read + not read = records in the file), and that no partial output exists.

Signals, full disks and hostile validators are in test_interrupts.py and test_certify_hostile.py.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.cli import run
from conformance.formats import open_submission
from generators.generate import generate
from v1_to_v2 import upgrade

PERIOD = __import__("datetime").date(2026, 5, 1)
SUBMITTED = "2026-06-10T09:00"


def dids(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def one_line_error(err: str) -> bool:
    return err.startswith("dids: error:") and err.count("\n") == 1 and "Traceback" not in err


def leftovers(folder: Path, *names: str) -> list[str]:
    """Files in `folder` that a failed command must not have left: its outputs, and any temporary file."""
    return sorted(p.name for p in folder.iterdir() if p.name in names or p.name.endswith(".part"))


@pytest.fixture(scope="module")
def v1_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("v1")
    files = {}
    for fmt in ("csv", "xml"):
        path = folder / f"v1.{fmt}"
        generate(path, profile="v1-dsp", format=fmt, records=12, seed=5, period=PERIOD)
        files[fmt] = path.read_bytes()
    return files


def rows_started(prefix: bytes) -> int:
    """CSV records the intact file holds up to the cut: every line with content (whole or cut short)."""
    return sum(1 for line in prefix.split(b"\n") if line.strip())


def activities_started(prefix: bytes) -> int:
    """XML records the intact file holds up to the cut: every ImagingActivity whose start tag has begun in it (its
    name whole: the parser has made the element, even if the cut falls inside the tag)."""
    return len(re.findall(rb"<ImagingActivity(?=[\s>/]|\Z)", prefix))


# ----- truncation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_every_cut_of_a_file_accounts_for_every_record_it_holds(
    tmp_path: Path, v1_files: dict[str, bytes], fmt: str
) -> None:
    """Exhaustive over every byte offset: read + not read = the records the prefix holds; a cut file is never
    complete, except where the cut leaves a whole valid file (a CSV cut at a row end, or inside the last value of
    a row; an XML cut after its closing tag)."""
    data = v1_files[fmt]
    path = tmp_path / f"cut.{fmt}"
    counted = activities_started if fmt == "xml" else rows_started
    for cut in range(1, len(data)):
        prefix = data[:cut]
        path.write_bytes(prefix)
        submission = open_submission(path, version="v1", format=fmt)
        for _ in submission.records():
            pass
        ledger = submission.ledger()
        if not submission.readable and ledger.fatal is not None and ledger.records_read == 0 and not ledger.not_read:
            continue  # so little is left that it cannot be told to be DIDS (refused at once: exit 2)
        assert ledger.records_read + ledger.records_not_read == counted(prefix), (cut, ledger)
        if fmt == "xml":
            whole = b"</DIDS>" in prefix
        else:
            last = prefix.rsplit(b"\n", 1)[-1]
            whole = prefix.endswith(b"\n") or last.count(b",") == 17
        if not whole:
            assert not ledger.complete, (cut, ledger)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["csv", "xml"]), fraction=st.floats(min_value=0.0, max_value=1.0))
def test_upgrade_of_a_cut_file_never_exits_0_and_its_counts_add_up(
    tmp_path: Path, v1_files: dict[str, bytes], fmt: str, fraction: float
) -> None:
    data = v1_files[fmt]
    cut = max(1, min(len(data) - 1, int(len(data) * fraction)))
    prefix = data[:cut]
    source, output = tmp_path / f"cut-{cut}.{fmt}", tmp_path / f"out-{cut}.{fmt}"
    source.write_bytes(prefix)
    code, out, err = dids("upgrade", str(source), "-o", str(output), "--no-check", "--format", "json")
    if code == 2:  # too little left to be recognised as DIDS v1: refused before anything is written
        assert one_line_error(err) and not output.exists()
        return
    summary = json.loads(out)
    ledger = summary["input"]
    counted = activities_started(prefix) if fmt == "xml" else rows_started(prefix)
    assert ledger["records_read"] + ledger["records_not_read"] == counted
    assert ledger["records_written"] == ledger["records_read"]
    last = prefix.rsplit(b"\n", 1)[-1]
    whole = b"</DIDS>" in prefix if fmt == "xml" else prefix.endswith(b"\n") or last.count(b",") == 17
    if not whole:
        assert code == 1 and summary["complete"] is False
        assert "INCOMPLETE" in dids("upgrade", str(source), "-o", str(output), "--no-check")[1]


def test_a_cut_xml_file_is_never_accepted_ready_or_clean(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    data = v1_files["xml"]
    source = tmp_path / "cut.xml"
    source.write_bytes(data[: int(len(data) * 0.6)])
    out = tmp_path / "out.xml"
    code, text, _ = dids("upgrade", str(source), "-o", str(out), "--submitted", SUBMITTED, "--reference", "synthetic")
    assert code == 1 and "INCOMPLETE" in text and "reading STOPPED" in text
    code, text, _ = dids("readiness", str(source), "--today", "2026-06-10")
    assert code == 1 and "NOT READY" in text and "could not be read in full" in text
    code, text, _ = dids("stats", str(source))
    assert code == 1 and "INCOMPLETE" in text
    code, text, _ = dids("check", str(source), "--submitted", SUBMITTED, "--format", "json")
    report = json.loads(text)
    assert code == 1 and report["verdict"] == "rejected" and report["input"]["complete"] is False
    code, text, _ = dids("inspect", str(source), "--max-examples", "0", "--format", "json")
    [found] = json.loads(text)
    assert code == 2 and found["readable"] is False and found["input"]["fatal"]["kind"] == "xml-syntax"
    code, text, _ = dids("convert", str(source), "-o", str(tmp_path / "c.csv"))
    assert code == 1 and "INCOMPLETE" in text


# ----- rows swallowed, rows not read ------------------------------------------------------------------------


def test_an_unterminated_quote_swallowing_the_rest_is_counted_line_by_line(
    tmp_path: Path, v1_files: dict[str, bytes]
) -> None:
    lines = v1_files["csv"].decode().splitlines(keepends=True)
    lines[4] = '"' + lines[4]  # row 5 opens a quote that never closes: rows 5-12 become one bad row
    source = tmp_path / "swallowed.csv"
    source.write_text("".join(lines), encoding="utf-8")
    for command in (["inspect"], ["stats"], ["readiness", "--today", "2026-06-10"]):
        code, text, _ = dids(*command, str(source))
        assert code == 1, (command, text)
        assert "4 record(s) read" in text and "8 NOT read (column-count 8)" in text, (command, text)
    code, text, _ = dids("upgrade", str(source), "-o", str(tmp_path / "o.csv"), "--no-check", "--format", "json")
    ledger = json.loads(text)["input"]
    assert code == 1 and (ledger["records_read"], ledger["records_not_read"]) == (4, 8)
    code, text, _ = dids("check", str(source), "--submitted", SUBMITTED, "--format", "json")
    assert code == 1 and json.loads(text)["input"]["records_not_read"] == 8


def test_a_quote_swallowing_more_than_the_field_limit_resumes_and_counts_the_lost_lines(tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    generate(source, profile="v1-dsp", records=3000, seed=2, period=PERIOD)
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[10] = '"' + lines[10]
    source.write_text("".join(lines), encoding="utf-8")
    submission = open_submission(source)
    read = sum(1 for _ in submission.records())
    ledger = submission.ledger()
    assert read + ledger.records_not_read == 3000
    assert 10 <= read < 3000 and ledger.records_not_read > 1
    assert not ledger.complete


def test_every_record_not_upgraded_is_counted_not_a_capped_list(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    good = v1_files["csv"].decode().splitlines()[0]
    short = ",".join(good.split(",")[:10])
    source = tmp_path / "many-bad.csv"
    source.write_text("\n".join([good] + [short] * 300 + [good]) + "\n", encoding="utf-8")
    summary = upgrade(source, tmp_path / "o.csv", check_output=False)
    assert summary.input is not None
    assert summary.input.not_read == {"column-count": 300} and summary.input.records_read == 2
    assert len(summary.problem_examples) == 100  # examples are capped; the count above is not
    code, _, _ = dids("upgrade", str(source), "-o", str(tmp_path / "o2.csv"), "--no-check")
    assert code == 1


def test_notes_that_lose_nothing_are_not_lost_records(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    source = tmp_path / "bom.csv"
    source.write_bytes(b"\xef\xbb\xbf" + v1_files["csv"].rstrip(b"\n"))  # a BOM, and no final line end
    code, text, _ = dids("upgrade", str(source), "-o", str(tmp_path / "o.csv"), "--no-check", "--format", "json")
    ledger = json.loads(text)["input"]
    assert code == 0
    assert ledger["records_not_read"] == 0 and ledger["notes"] == {"bom": 1, "no-final-newline": 1}
    assert ledger["problems"] == {}


def test_stats_of_a_file_with_no_records_or_lost_rows_is_not_exit_0(tmp_path: Path) -> None:
    empty_v2 = tmp_path / "header-only.csv"
    generate(empty_v2, profile="v2", records=0, seed=1)
    code, text, _ = dids("stats", str(empty_v2))
    assert code == 1 and "no-records" in text
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    code, _, err = dids("stats", str(binary))
    assert code == 2 and one_line_error(err)


# ----- inputs that are not regular files ----------------------------------------------------------------------

COMMANDS_READING = [
    ["inspect"],
    ["stats"],
    ["check", "--submitted", SUBMITTED],
    ["readiness"],
    ["upgrade", "-o", "{out}", "--no-check"],
    ["convert", "-o", "{out}"],
]


@pytest.mark.parametrize("command", COMMANDS_READING, ids=[c[0] for c in COMMANDS_READING])
def test_a_fifo_or_a_device_is_refused_at_once(tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    out = str(tmp_path / "out.xml")
    for target, what in ((fifo, "FIFO"), (Path("/dev/zero"), "device"), (tmp_path, "folder")):
        argv = [command[0], str(target), *[w.replace("{out}", out) for w in command[1:]]]
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", *argv], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr.startswith("dids: error:") and done.stderr.count("\n") == 1, done.stderr
        assert what in done.stderr and "Traceback" not in done.stderr
        assert not Path(out).exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "{file}", "--submitter", "X9T", "--local-mappings", "{bad}"],
        ["upgrade", "{file}", "-o", "{out}", "--submitter", "X9T", "--local-codes", "{bad}"],
        ["readiness", "{file}", "--submitter", "X9T", "--local-codes", "{bad}"],
        ["check", "{file}", "--override", "{bad}"],
    ],
    ids=["check-mappings", "upgrade-codes", "readiness-codes", "override"],
)
def test_side_files_that_are_devices_or_fifos_are_refused(
    tmp_path: Path, v1_files: dict[str, bytes], argv: list[str]
) -> None:
    source = tmp_path / "v1.csv"
    source.write_bytes(v1_files["csv"])
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for bad in ("/dev/zero", str(fifo)):
        values = {"{file}": str(source), "{out}": str(tmp_path / "o.csv"), "{bad}": bad}
        filled = [values.get(a, a) for a in argv]
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", *filled], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2 and one_line_error(done.stderr), done.stderr
        assert "not a regular file" in done.stderr


def test_standard_input_is_read_in_one_streaming_pass(v1_files: dict[str, bytes]) -> None:
    for fmt in ("csv", "xml"):
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "inspect", "-", "--format", "json"],
            input=v1_files[fmt],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        [found] = json.loads(done.stdout)
        assert (found["file"], found["format"], found["records"]) == ("<stdin>", fmt, 12)
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "check", "-", "--submitted", SUBMITTED, "--format", "json"],
        input=v1_files["csv"][:500],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and json.loads(done.stdout)["input"]["complete"] is False


# ----- memory: junk and giant records ---------------------------------------------------------------------

V1_NS = "http://www.datadictionary.nhs.uk/data_dictionary/messages/DIDS-v1-0/"


def _peak_reading(path: Path, max_record_bytes: int | None = None) -> dict[str, object]:
    """Read `path` through in a fresh process; its peak memory (MiB) and ledger."""
    option = f", max_record_bytes={max_record_bytes}" if max_record_bytes else ""
    # VmHWM, not ru_maxrss: a child started by vfork inherits its parent's (pytest's) ru_maxrss across exec.
    script = (
        "import json, sys\n"
        "from conformance.formats import open_submission\n"
        f"s = open_submission(sys.argv[1], validate_xml=True{option})\n"
        "n = sum(1 for _ in s.records())\n"
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "print(json.dumps({'records': n, 'peak': int(hwm.split()[1]) / 1024, 'ledger': s.ledger().as_json()}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def test_a_flood_of_junk_elements_is_freed_as_it_goes(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    head, body = v1_files["xml"].split(b"<DIDSRecord>", 1)
    junk = b"<Junk><a>noise</a><b>more noise</b></Junk>\n" * 700_000  # ~30 MB before the first record
    path = tmp_path / "junk.xml"
    path.write_bytes(head + junk + b"<DIDSRecord>" + body)
    found = _peak_reading(path)
    assert found["records"] == 12
    ledger = found["ledger"]
    assert isinstance(ledger, dict) and ledger["problems"]["xml-structure"] == 700_000 and ledger["complete"]
    # Reading the clean file costs ~30 MiB here; held junk cost ~1 GiB before the reader freed it.
    assert float(str(found["peak"])) < 100


def test_a_record_over_the_size_cap_stops_reading_with_a_file_problem(
    tmp_path: Path, v1_files: dict[str, bytes]
) -> None:
    head, body = v1_files["xml"].split(b"<ImagingActivity>", 1)
    filler = b"<Junk>" + b"x" * 1000 + b"</Junk>\n"
    path = tmp_path / "giant.xml"
    path.write_bytes(head + filler * 6000 + b"<ImagingActivity>" + body)  # one 6 MB DIDSRecord
    found = _peak_reading(path, max_record_bytes=2 * 1024 * 1024)
    ledger = found["ledger"]
    assert isinstance(ledger, dict) and ledger["fatal"]["kind"] == "record-too-large"
    assert float(str(found["peak"])) < 100
    code, _, _ = dids("inspect", str(path), "--max-record-bytes", str(2 * 1024 * 1024))
    assert code == 2


def test_a_csv_line_over_the_size_cap_is_not_read_whole(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    lines = v1_files["csv"].splitlines(keepends=True)
    path = tmp_path / "long-line.csv"
    path.write_bytes(b"".join(lines[:3]) + b"ab," * 2_000_000 + b"\n" + b"".join(lines[3:]))
    found = _peak_reading(path, max_record_bytes=1024 * 1024)
    ledger = found["ledger"]
    assert isinstance(ledger, dict)
    assert found["records"] == 12 and ledger["not_read_by_cause"] == {"row-too-long": 1}
    assert float(str(found["peak"])) < 100


# ----- control characters -----------------------------------------------------------------------------------


def test_a_control_character_is_a_finding_with_its_record_and_field_and_breaks_no_output(
    tmp_path: Path, v1_files: dict[str, bytes]
) -> None:
    rows = v1_files["csv"].decode().splitlines(keepends=True)
    fields = rows[3].split(",")
    fields[17] = "ACC\x01" + fields[17]  # the accession number of record 4
    rows[3] = ",".join(fields)
    source = tmp_path / "control.csv"
    source.write_text("".join(rows), encoding="utf-8")
    code, text, _ = dids("inspect", str(source), "--format", "json")
    [found] = json.loads(text)
    assert code == 1
    assert [(p["kind"], p["record"], p["field"]) for p in found["problems"]] == [
        ("control-character", 4, "accession_number")
    ]
    code, text, _ = dids("check", str(source), "--submitted", SUBMITTED, "--format", "json")
    report = json.loads(text)
    assert code == 1
    assert ("DIDS075", 4, "accession_number") in {(f["rule"], f["record"], f["field"]) for f in report["findings"]}
    code, text, _ = dids("check", str(source), "--submitted", SUBMITTED, "--format", "junit")
    junit = etree.fromstring(text.encode())  # well-formed whatever the value held
    assert "\\u0001" in etree.tostring(junit, encoding="unicode")
    code, text, _ = dids("check", str(source), "--submitted", SUBMITTED)
    assert "\x01" not in text
    for command in (["convert"], ["upgrade", "--no-check", "--layout", "xml"]):
        output = tmp_path / f"{command[0]}.xml"
        code, text, err = dids(command[0], str(source), "-o", str(output), *command[1:])
        assert code == 1, (command, text, err)
        assert "1 NOT written (control-character 1)" in text
        written = etree.parse(str(output))  # the rest was written, and is well-formed XML
        assert len(written.findall(".//{*}ImagingActivity")) == 11


# ----- outputs that are inputs ---------------------------------------------------------------------------------


def test_an_output_that_is_an_input_is_refused_before_anything_is_written(
    tmp_path: Path, v1_files: dict[str, bytes]
) -> None:
    source = tmp_path / "v1.csv"
    source.write_bytes(v1_files["csv"])
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    hard = tmp_path / "hard.csv"
    os.link(source, hard)
    cases = [
        ["upgrade", str(source), "-o", str(source)],
        ["upgrade", str(source), "-o", str(link)],
        ["upgrade", str(source), "-o", str(hard)],
        ["upgrade", str(source), "-o", str(tmp_path / "o.csv"), "--account", str(source)],
        ["upgrade", str(source), "-o", str(tmp_path / "o.csv"), "--account", str(tmp_path / "o.csv")],
        ["convert", str(source), "-o", str(source)],
        ["check", str(source), "-o", str(source)],
        ["generate", "-o", str(tmp_path / "g.csv"), "--answer-key", str(tmp_path / "g.csv")],
    ]
    for argv in cases:
        code, _, err = dids(*argv)
        assert code == 2 and one_line_error(err), (argv, err)
        assert "same file" in err
        assert source.read_bytes() == v1_files["csv"]
    assert leftovers(tmp_path, "o.csv", "g.csv") == []


# ----- found by trying the above as a hostile user would ----------------------------------------------------------


def test_a_file_with_cr_line_ends_is_read_line_by_line_not_as_one_long_line(
    tmp_path: Path, v1_files: dict[str, bytes]
) -> None:
    source = tmp_path / "cr.csv"
    source.write_bytes(v1_files["csv"].replace(b"\n", b"\r"))
    code, text, _ = dids("inspect", str(source), "--max-record-bytes", "1200", "--format", "json")
    [found] = json.loads(text)
    assert code == 0 and found["records"] == 12 and found["input"]["notes"] == {}


def test_a_stray_pair_of_quotes_that_swallows_rows_counts_every_row_swallowed(
    tmp_path: Path, v1_files: dict[str, bytes]
) -> None:
    rows = v1_files["csv"].decode().splitlines(keepends=True)
    first, last = rows[3].split(","), rows[6].split(",")
    first[8], last[8] = '"' + first[8], last[8] + '"'  # the field count comes out right: 18 fields
    rows[3], rows[6] = ",".join(first), ",".join(last)
    source = tmp_path / "swallowed.csv"
    source.write_text("".join(rows), encoding="utf-8")
    code, text, _ = dids("check", str(source), "--submitted", SUBMITTED, "--format", "json")
    ledger = json.loads(text)["input"]
    assert code == 1 and (ledger["records_read"], ledger["not_read_by_cause"]) == (8, {"row-spans-lines": 4})


def test_a_nul_byte_past_the_first_64_kib_is_a_control_character_finding(tmp_path: Path) -> None:
    source = tmp_path / "nul.csv"
    generate(source, profile="v1-dsp", records=800, seed=4, period=PERIOD)
    data = source.read_bytes()
    assert len(data) > 70_000
    source.write_bytes(data[:-5] + b"\x00" + data[-5:])
    code, text, _ = dids("check", str(source), "--submitted", SUBMITTED, "--format", "json")
    report = json.loads(text)
    assert code == 1 and ("DIDS075", 800, "accession_number") in {
        (f["rule"], f["record"], f["field"]) for f in report["findings"]
    }
    code, _, _ = dids("upgrade", str(source), "-o", str(tmp_path / "up.csv"), "--no-check")
    assert code == 1


def test_problems_are_logged_in_file_order_whatever_was_read_ahead(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    rows = v1_files["csv"].splitlines(keepends=True)
    rows[1] = b",".join(rows[1].split(b",")[:10]) + b"\n"  # a short row on line 2
    rows[-1] = rows[-1].replace(b"X9T", b"X\xffT", 1)  # a bad byte on the last line, read ahead of line 2
    source = tmp_path / "order.csv"
    source.write_bytes(b"".join(rows))
    submission = open_submission(source)
    list(submission.records())
    assert [(p.kind, p.line) for p in submission.problems] == [("column-count", 2), ("encoding", 12)]


def test_a_noncharacter_is_a_control_character_even_with_no_control_byte(
    tmp_path: Path, v1_files: dict[str, bytes]
) -> None:
    source = tmp_path / "fffe.csv"
    source.write_bytes(v1_files["csv"].replace(b"X9T", "X\ufffeT".encode(), 1))
    submission = open_submission(source)
    list(submission.records())
    assert [p.kind for p in submission.problems] == ["control-character"]


def test_text_directly_under_the_xml_root_is_a_file_problem(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    source = tmp_path / "text.xml"
    source.write_bytes(v1_files["xml"].replace(b"</DIDS>", v1_files["csv"] + b"</DIDS>"))
    code, text, _ = dids("check", str(source), "--submitted", SUBMITTED, "--format", "json")
    report = json.loads(text)
    assert code == 1 and "DIDS076" in {f["rule"] for f in report["findings"]}


def test_a_record_in_another_namespace_is_counted_as_not_read(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    source = tmp_path / "foreign.xml"
    source.write_bytes(v1_files["xml"].replace(b"<DIDSRecord>", b'<DIDSRecord xmlns="urn:other">', 1))
    submission = open_submission(source)
    read = sum(1 for _ in submission.records())
    ledger = submission.ledger()
    assert read + ledger.records_not_read == 12 and ledger.records_not_read >= 1 and not ledger.complete


def test_leading_blank_lines_do_not_hide_what_follows(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    for blanks in (b"\n", b"\r\n" * 3, b"\n" * 100_000):
        source = tmp_path / "blanks.csv"
        source.write_bytes(blanks + v1_files["csv"])
        code, text, _ = dids("inspect", str(source), "--format", "json")
        [found] = json.loads(text)
        assert code == 0 and found["records"] == 12, (len(blanks), found["problems"])


def test_standard_input_closed_is_one_line_not_an_internal_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "inspect", "-"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "internal error" not in done.stderr  # an empty stdin is an empty file
    closed = subprocess.run(
        [sys.executable, "-c", "import sys; sys.stdin = None; from conformance.cli import main; sys.exit(main())",
         "check", "-"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert closed.returncode == 2 and "standard input is closed" in closed.stderr


def test_a_file_name_with_a_line_break_or_an_escape_still_gives_one_line(tmp_path: Path) -> None:
    name = tmp_path / "bad\nname\x1b[31m.csv"
    code, _, err = dids("inspect", str(name))
    assert code == 2 and err.count("\n") == 1 and "\x1b" not in err


def test_an_override_of_a_v1_rule_applies_to_v1_files(tmp_path: Path, v1_files: dict[str, bytes]) -> None:
    override = tmp_path / "dids072-warning.toml"
    override.write_text('[[rules]]\nid = "DIDS072"\nseverity = "warning"\n')
    rows = v1_files["csv"].decode().splitlines(keepends=True)
    fields = rows[0].split(",")
    fields[17] = "A" * 25 + fields[17][-1:]  # an accession number over 20 characters: DIDS072
    rows[0] = ",".join(fields)
    source = tmp_path / "long-accession.csv"
    source.write_text("".join(rows), encoding="utf-8")
    code, text, err = dids(
        "check", str(source), "--submitted", SUBMITTED, "--override", str(override), "--format", "json"
    )
    report = json.loads(text)
    assert code == 0, err
    assert [r["severity"] for r in report["rules"] if r["rule"] == "DIDS072"] == ["warning"]
