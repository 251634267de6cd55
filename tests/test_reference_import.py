"""dids reference import | show: each published layout imported from the samples in tests/reference_samples (their
README names the specification each follows), dates at the validity edges, a file of the wrong layout refused with
one line, and checks and readiness judged against the store."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from conformance.check import check, load_reference, make_context
from conformance.check.report import to_json_data, to_junit, to_text
from conformance.check.store import Period
from conformance.cli import run
from conformance.formats import write_records
from conformance.spec import load_pack
from generators.breaks import V1_BASE, V2_BASE
from v1_to_v2 import readiness

SAMPLES = Path(__file__).parent / "reference_samples"
RF2_SNAPSHOT = SAMPLES / "der2_Refset_SimpleSnapshot_GB1000000_20260401.txt"
RF2_FULL = SAMPLES / "der2_Refset_SimpleFull_GB1000000_20260401.txt"
RF2_CONCEPTS = SAMPLES / "sct2_Concept_Snapshot_GB1000000_20260401.txt"
RF2_DESCRIPTIONS = SAMPLES / "sct2_Description_Snapshot-en_GB1000000_20260401.txt"
V1, V2 = load_pack("v1"), load_pack("v2")


def dids(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run([str(a) for a in argv], out, err)
    return code, out.getvalue(), err.getvalue()


def imported(tmp_path: Path, *options: str | Path, name: str = "store.sqlite") -> Path:
    store = tmp_path / name
    code, _, err = dids("reference", "import", "-o", store, *options)
    assert (code, err) == (0, "")
    return store


def test_ods_downloads_give_roles_by_file_type_and_inclusive_open_close_dates(tmp_path: Path) -> None:
    store = imported(tmp_path, *(f"--ods={SAMPLES / n}" for n in ("etr.csv", "ets.csv", "epraccur.csv")))
    ref = load_reference(str(store))
    assert ref.organisations is not None
    assert ref.organisations["X9A"].roles == {"referring", "site", "gp_practice"}  # in etr and in epraccur
    assert ref.organisations["X9A01"].roles == {"site"}
    assert ref.organisations["X91001"].roles == {"gp_practice", "referring", "site"}
    closed = ref.organisations["X9B"].period
    assert closed == Period(date(1999, 4, 1), date(2026, 3, 31))
    assert closed.active(date(2026, 3, 31)) and not closed.active(date(2026, 4, 1))
    assert "X9Z" not in ref.organisations and ref.postcodes is None and ref.nicip is None


def test_an_ods_file_is_typed_by_its_name_or_explicitly(tmp_path: Path) -> None:
    renamed = tmp_path / "trusts-2026.csv"
    shutil.copy(SAMPLES / "etr.csv", renamed)
    code, _, err = dids("reference", "import", "-o", tmp_path / "a.sqlite", "--ods", renamed)
    assert code == 2 and "which ODS file is this" in err and err.count("\n") == 1
    store = imported(tmp_path, "--ods", f"etr={renamed}")
    ref = load_reference(str(store))
    assert ref.organisations is not None and ref.organisations["X9A"].roles == {"referring", "site"}


def test_the_postcode_directory_is_keyed_without_spaces_and_keeps_terminated_postcodes(tmp_path: Path) -> None:
    store = imported(tmp_path, "--postcodes", SAMPLES / "onspd_sample.csv")
    ref = load_reference(str(store))
    assert ref.postcodes is not None
    assert {"LS14AP", "EC1A1BB", "LS99ZZ"} <= set(ref.postcodes) and "LS14AQ" not in ref.postcodes
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT terminated FROM postcodes WHERE postcode = 'LS99ZZ'").fetchone() == ("2015-06",)
        assert db.execute("SELECT terminated FROM postcodes WHERE postcode = 'LS14AP'").fetchone() == (None,)


def nicip_xlsx(path: Path) -> Path:
    """The NICIP sample as a workbook, dates as date cells (the form a spreadsheet release takes)."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "NICIP"
    for n, line in enumerate((SAMPLES / "nicip_release.txt").read_text().splitlines()):
        cells: list[object] = line.split("\t")
        if n:
            cells[4:6] = [date(*reversed([int(p) for p in c.split("/")])) if c else None for c in cells[4:6]]  # type: ignore[union-attr]
        sheet.append(cells)
    book.save(path)
    return path


@pytest.mark.parametrize("form", ["txt", "xlsx"])
def test_the_nicip_release_gives_validity_and_the_map(tmp_path: Path, form: str) -> None:
    source = SAMPLES / "nicip_release.txt" if form == "txt" else nicip_xlsx(tmp_path / "nicip.xlsx")
    ref = load_reference(str(imported(tmp_path, "--nicip", source)))
    assert ref.nicip is not None and ref.snomed is None
    assert ref.nicip["XCHES"] == Period(date(2008, 1, 1), None)
    assert ref.nicip["XOLDY"] == Period(date(2008, 1, 1), date(2025, 11, 30))
    assert ref.nicip["XNEWC"].days_outside(date(2026, 5, 31)) == 1
    assert ref.nicip_snomed["CSHRB"] == [("303686006", Period(date(2008, 1, 1), None))]
    assert ref.descriptions["XCHES"] == "XR Chest"


def test_snomed_snapshot_membership_of_the_dids_refset_only(tmp_path: Path) -> None:
    ref = load_reference(str(imported(tmp_path, "--snomed", RF2_SNAPSHOT)))
    assert ref.snomed is not None
    assert ref.snomed["399208008"] == Period(date(2020, 4, 1), None)
    assert ref.snomed["60027007"] == Period(None, date(2025, 11, 29))  # inactivated on 30 Nov: last valid the 29th
    assert ref.snomed["432000006"] == Period(date(2023, 1, 1), None)  # a Snapshot knows only the last change
    assert "71651007" not in ref.snomed  # a member of another refset


def test_snomed_full_history_and_concept_and_description_files(tmp_path: Path) -> None:
    ref = load_reference(
        str(imported(tmp_path, "--snomed", RF2_FULL, "--snomed", RF2_CONCEPTS, "--snomed", RF2_DESCRIPTIONS))
    )
    assert ref.snomed is not None
    assert ref.snomed["60027007"] == Period(date(2020, 4, 1), date(2025, 11, 29))
    # Out of the refset in 2022, back in 2023: valid from its first activation; its concept retired on 1 Jan 2026.
    assert ref.snomed["432000006"] == Period(date(2020, 4, 1), date(2025, 12, 31))
    assert ref.descriptions["399208008"] == "Plain chest X-ray (procedure)"


WRONG_LAYOUTS = [
    (
        "--ods",
        "etr.csv",
        "onspd_sample.csv",
        "line 1 column 11 (open date) (ODS downloads have no header row): 'oseast1m'",
    ),
    ("--postcodes", "onspd_sample.csv", "etr.csv", "no header naming the postcode (pcds)"),
    ("--nicip", "nicip_release.txt", "onspd_sample.csv", "no header naming the NICIP code"),
    ("--snomed", "der2_x.txt", "nicip_release.txt", "not an RF2 concept, description or simple refset file"),
]


@pytest.mark.parametrize(("option", "name", "content", "message"), WRONG_LAYOUTS)
def test_a_file_of_the_wrong_layout_is_refused_with_one_line(
    tmp_path: Path, option: str, name: str, content: str, message: str
) -> None:
    source = tmp_path / name
    shutil.copy(SAMPLES / content, source)
    store = tmp_path / "store.sqlite"
    code, out, err = dids("reference", "import", "-o", store, option, source)
    assert code == 2 and out == ""
    assert err.startswith("dids: error: ") and message in err and err.count("\n") == 1
    assert not store.exists() and list(tmp_path.iterdir()) == [source], "no store, no temporary file left"


def test_bad_rows_are_refused_with_their_line(tmp_path: Path) -> None:
    cases = {
        "--ods": ("etr.csv", '"X9C","T","","","","","","","","LS1 4AP","19990231",""\n', "line 1 column 11"),
        "--postcodes": ("pc.csv", "pcds,doterm\nLS1 4AP,\nLS1 4AP,2015\n", "line 3: doterm '2015'"),
        "--nicip": ("n.txt", "NICIP Code\tStatus\tEffective To\nXOLDQ\tInactive\t\n", "line 2: XOLDQ is inactive"),
    }
    for option, (name, text, message) in cases.items():
        (tmp_path / name).write_text(text)
        code, _, err = dids("reference", "import", "-o", tmp_path / "s.sqlite", option, tmp_path / name)
        assert code == 2 and message in err and err.count("\n") == 1, (option, err)


def test_a_doterm_of_digits_beyond_ascii_is_refused_with_its_line(tmp_path: Path) -> None:
    # "20151¹" is six characters that isdigit() accepts and int() refuses: an internal error once
    (tmp_path / "pc.csv").write_text("pcds,doterm\nLS1 4AP,\nLS1 4AP,20151\u00b9\n", encoding="utf-8")
    code, _, err = dids("reference", "import", "-o", tmp_path / "s.sqlite", "--postcodes", tmp_path / "pc.csv")
    assert code == 2 and "line 3: doterm '20151\u00b9' is not CCYYMM" in err and err.count("\n") == 1, err


def test_the_manifest_names_every_source_with_its_hash_and_the_release_is_reproducible(tmp_path: Path) -> None:
    sources = ("--ods", SAMPLES / "etr.csv", "--postcodes", SAMPLES / "onspd_sample.csv", "--snomed", RF2_SNAPSHOT)
    first = imported(tmp_path, *sources, "--name", "sample", "--release-date", "2026-04-01", name="a.sqlite")
    second = imported(tmp_path, *sources, "--name", "sample", "--release-date", "2026-04-01", name="b.sqlite")
    code, out, _ = dids("reference", "show", first, "--format", "json")
    shown = json.loads(out)
    assert code == 0
    assert [(m["kind"], m["file_name"], m["rows"], m["sha256"]) for m in shown["manifest"]] == [
        ("ods:etr", "etr.csv", 2, hashlib.sha256((SAMPLES / "etr.csv").read_bytes()).hexdigest()),
        ("postcodes", "onspd_sample.csv", 4, hashlib.sha256((SAMPLES / "onspd_sample.csv").read_bytes()).hexdigest()),
        ("snomed:refset", RF2_SNAPSHOT.name, 5, hashlib.sha256(RF2_SNAPSHOT.read_bytes()).hexdigest()),
    ]
    assert shown["manifest"][2]["release_date"] == "2026-04-01"
    assert shown["tables"] == {"organisations": 2, "postcodes": 4, "snomed": 4}
    assert shown["release"]["name"] == "sample" and shown["release"]["release_date"] == "2026-04-01"
    assert load_reference(str(first)).release == load_reference(str(second)).release
    _, text, _ = dids("reference", "show", first)
    assert f"release: sample (release 2026-04-01, sha256 {shown['release']['sha256']})" in text


def test_the_csv_folder_form_imports_to_the_same_release_as_the_bundled_synthetic_pack(tmp_path: Path) -> None:
    from conformance.check.reference import reference_folder

    store = imported(tmp_path, "--csv", reference_folder("synthetic"), "--name", "synthetic")
    synthetic, imported_ref = load_reference("synthetic"), load_reference(str(store))
    assert synthetic.release == imported_ref.release
    assert imported_ref.nicip is not None and imported_ref.nicip["XOLDY"] == Period(
        date(2008, 1, 1), date(2025, 11, 30)
    )


def v2_rows(*codes: tuple[str, str, str]) -> list[list[str]]:
    out = []
    for n, (nicip, snomed, end) in enumerate(codes, 1):
        values = {**V2_BASE, "accession_number": f"ACC{n:04d}", "coded_procedure_nicip": nicip}
        values |= {"coded_procedure_snomed": snomed, "procedure_end_timestamp": end}
        out.append([values[item.id] for item in V2.items])
    return out


def test_a_real_nicip_code_is_accepted_and_a_local_code_gets_dids00300302(tmp_path: Path) -> None:
    store = imported(tmp_path, "--nicip", SAMPLES / "nicip_release.txt", "--snomed", RF2_FULL, "--name", "sample")
    path = tmp_path / "month.csv"
    write_records(
        v2_rows(
            ("XCHES", "399208008", "2026-05-09T10:35:00+01:00"),  # real NICIP and SNOMED CT codes, mapped
            ("L0042", "", "2026-05-09T10:35:00+01:00"),  # a local code
            ("XOLDY", "", "2026-05-31T10:35:00+01:00"),  # retired 30 Nov 2025: day 182 of the grace
            ("CSHRB", "60027007", "2026-05-31T10:35:00+01:00"),  # SNOMED: last member day 29 Nov, day 183
            ("", "60027007", "2026-06-01T10:35:00+01:00"),  # day 184: out
        ),
        path,
        pack=V2,
        format="csv",
    )
    ref = load_reference(str(store))
    report = check(path, profile="v2", context=make_context("2026-06-10T09:00", period="2026-05"), reference=ref)
    coded = {
        (f.rule, f.record, f.field) for f in report.findings if f.rule in ("DIDS00300302", "DIDS00300402", "DIDSREJ012")
    }
    assert coded == {
        ("DIDS00300302", 2, "coded_procedure_nicip"),
        ("DIDSREJ012", 4, "coded_procedure_snomed"),  # both valid, but CSHRB maps to 303686006
        ("DIDS00300402", 5, "coded_procedure_snomed"),
    }
    assert report.reference == {
        "name": "sample",
        "release_date": None,
        "sha256": ref.release.sha256 if ref.release else "",
    }
    assert to_json_data(report)["context"]["reference"]["name"] == "sample"
    assert f"reference data: sample (release undated, sha256 {report.reference['sha256']})" in to_text(report)
    assert '<property name="reference" value="sample (release undated' in to_junit(report)
    # Looked up lazily: the cache holds the distinct codes of the file, not the table.
    assert ref.nicip is not None and set(getattr(ref.nicip, "cache", {})) <= {
        "XCHES",
        "L0042",
        "XOLDY",
        "CSHRB",
        "XNEWC",
    }


def test_a_report_without_reference_data_says_so(tmp_path: Path) -> None:
    path = tmp_path / "month.csv"
    write_records(v2_rows(("XCHES", "399208008", "2026-05-09T10:35:00+01:00")), path, pack=V2, format="csv")
    report = check(path, profile="v2", context=make_context("2026-06-10T09:00", period="2026-05"))
    assert report.reference is None and to_json_data(report)["context"]["reference"] is None
    assert "reference data: none" in to_text(report)


def test_readiness_lists_local_codes_against_the_store(tmp_path: Path) -> None:
    store = imported(tmp_path, "--nicip", SAMPLES / "nicip_release.txt")
    rows = []
    for n, code in enumerate(["XCHES", "L0042", "L0042", "CSHRB", "LOCAL7"], 1):
        values = {**V1_BASE, "accession_number": f"ACC{n:04d}", "imaging_code_nicip": code, "imaging_code_snomed": ""}
        rows.append([values[item.id] for item in V1.items])
    path = tmp_path / "extract.csv"
    write_records(rows, path, pack=V1, format="csv")
    result = readiness(path, reference=str(store), today=date(2026, 6, 10))
    unmapped = next(f for f in result.findings if f.topic == "unmapped-local-codes")
    assert unmapped.count == 3 and unmapped.level == "blocking"
    assert sorted(e.split()[0] for e in unmapped.examples) == ["L0042", "LOCAL7"]
    release = load_reference(str(store)).release
    assert release is not None and result.as_json()["reference"] == release.as_dict()
    assert f"reference data: store (sha256 {release.sha256})" in result.to_text()


def test_a_reference_that_is_neither_store_nor_folder_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    month = tmp_path / "m.csv"
    write_records(v2_rows(("XCHES", "399208008", "2026-05-09T10:35:00+01:00")), month, pack=V2, format="csv")
    for reference in (junk, tmp_path / "absent.sqlite"):
        code, _, err = dids("check", month, "--reference", reference)
        assert code == 2 and err.startswith("dids: error: reference data") and err.count("\n") == 1


def test_a_store_is_opened_once_per_process_and_shared_by_every_load(tmp_path: Path) -> None:
    store = imported(tmp_path, "--nicip", SAMPLES / "nicip_release.txt")
    first, second = load_reference(str(store)), load_reference(str(store))
    assert first.nicip is not None and second.nicip is not None
    assert getattr(first.nicip, "store", None) is getattr(second.nicip, "store", None) is not None
    again = imported(
        tmp_path, "--nicip", SAMPLES / "nicip_release.txt", "--release-date", "2026-04-01", name="b.sqlite"
    )
    store.unlink()
    again.rename(store)  # a new release at the same path is opened afresh
    reopened = load_reference(str(store))
    assert reopened.release is not None and reopened.release.date == "2026-04-01"


def test_only_regular_files_are_read_and_an_empty_import_is_refused(tmp_path: Path) -> None:
    for argv in (["--postcodes", str(tmp_path)], ["--ods", "/dev/zero"], ["--csv", str(SAMPLES / "etr.csv")], []):
        code, out, err = dids("reference", "import", "-o", tmp_path / "s.sqlite", *argv)
        assert code == 2 and out == "" and err.startswith("dids: error: ") and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "s.sqlite").exists()
