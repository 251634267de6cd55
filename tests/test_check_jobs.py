"""`check --jobs N` (conformance/check/parallel.py): a file checked in spans, by worker processes, gives the report
one process gives, the whole JSON and text byte for byte: the same findings in the same order, counts, examples
kept, rejected records, ledger, file problems and verdict. Cut at many places (small spans forced with
`span_bytes`), in files that make the cutting hard: duplicates across spans, quoted line ends, a byte-order mark,
header rows, CR line ends, a file cut short, rows the DSP's loader rejects. Most comparisons check the spans in
this process (`in_process`: the cutting and joining alone); a few start the workers for real.
"""

from __future__ import annotations

import io
import logging
import pickle
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.check import check, load_reference, make_context
from conformance.check._model import KeyLog
from conformance.check.parallel import Options, check_parallel
from conformance.check.report import to_json, to_text
from conformance.cli import run
from generators.generate import generate
from generators.mutations import every_mutable_rule

V2 = ("v2", make_context("2026-06-10T09:00", "2026-05"))
V1_DSP = ("v1-dsp", make_context("2018-09-10T09:00"))
V1_PORTAL = ("v1-portal", make_context("2018-09-10T09:00"))
LOG = "conformance.check.parallel"


def dids(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return run(list(argv), out, err), out.getvalue(), err.getvalue()


def reports(path: Path, profile: str, context: object, **options: Any) -> tuple[str, str]:
    report = check(path, profile=profile, context=context, **options)  # type: ignore[arg-type]
    return to_json(report), to_text(report)


def split(
    path: Path,
    profile: str,
    context: object,
    *,
    jobs: int = 2,
    span_bytes: int | None = None,
    in_process: bool = True,
    **options: Any,
) -> tuple[str, str]:
    report = check_parallel(
        path,
        Options(profile=profile, context=context, **options),  # type: ignore[arg-type]
        jobs=jobs,
        span_bytes=span_bytes,
        min_bytes=0,
        in_process=in_process,
    )
    return to_json(report), to_text(report)


def assert_same(path: Path, profile: str, context: object, spans: tuple[int, ...], **options: Any) -> None:
    """The report of one process and of the file cut into spans of at most each size in `spans`."""
    one = reports(path, profile, context, **options)
    for span_bytes in spans:
        many = split(path, profile, context, span_bytes=span_bytes, **options)
        assert many[0] == one[0], f"JSON differs with spans of {span_bytes} bytes"
        assert many[1] == one[1], f"text differs with spans of {span_bytes} bytes"


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("months")
    made = {
        "v2": dict(profile="v2", records=1500, seed=11, period=date(2026, 5, 1), scenarios=["duplicated-activity"]),
        "v2-mutants": dict(profile="v2", records=1200, seed=12, period=date(2026, 5, 1), mutate=["all"]),
        # every rule broken but DIDS075 (a row the DSP's loader rejects: test_rows_the_dsp_loader_rejects_...)
        "v1-dsp": dict(
            profile="v1-dsp",
            records=1500,
            seed=13,
            period=date(2018, 8, 1),
            mutate=["all"],
            scenarios=["duplicated-activity"],
        ),
    }
    out = {}
    for name, options in made.items():
        out[name] = folder / f"{name}.csv"
        if options.get("mutate") == ["all"]:
            every = every_mutable_rule(options["profile"], "csv", options["period"])  # type: ignore[arg-type]
            options["mutate"] = [rule for rule in every if rule != "DIDS075"]
        generate(out[name], workers=1, **options)  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def synthetic() -> object:
    return load_reference("synthetic")


# ----- generated months, cut everywhere ------------------------------------------------------------------------


@pytest.mark.parametrize("max_examples", [100, 3])
def test_a_v2_month_with_duplicates_is_the_same_report_cut_anywhere(
    months: dict[str, Path], synthetic: object, max_examples: int
) -> None:
    assert_same(months["v2"], *V2, (20_000, 7_777, 3_001), reference=synthetic, max_examples=max_examples)


@pytest.mark.parametrize("max_examples", [100, 2])
def test_v2_mutants_of_every_rule_are_the_same_report_cut_anywhere(
    months: dict[str, Path], synthetic: object, max_examples: int
) -> None:
    assert_same(months["v2-mutants"], *V2, (50_000, 9_999, 2_500), reference=synthetic, max_examples=max_examples)


@pytest.mark.parametrize("profile", [V1_DSP, V1_PORTAL], ids=["v1-dsp", "v1-portal"])
def test_v1_mutants_of_every_rule_are_the_same_report_cut_anywhere(
    months: dict[str, Path], synthetic: object, profile: tuple[str, object]
) -> None:
    assert_same(months["v1-dsp"], *profile, (40_000, 5_003, 1_500), reference=synthetic, max_examples=4)


def test_workers_for_real_give_the_same_report(months: dict[str, Path], synthetic: object) -> None:
    one = reports(months["v2-mutants"], *V2, reference=synthetic, max_examples=5)
    for jobs, span_bytes in ((2, None), (4, 30_000)):
        many = split(
            months["v2-mutants"], *V2, jobs=jobs, span_bytes=span_bytes, in_process=False, reference=synthetic,
            max_examples=5,
        )  # fmt: skip
        assert many == one


def test_a_corpus_case_context_with_its_reference_and_mappings_goes_to_the_workers(tmp_path: Path) -> None:
    path = tmp_path / "local.csv"
    mapping = tmp_path / "mapping.csv"
    generate(path, profile="v1-dsp", records=800, seed=21, period=date(2018, 8, 1), local_codes=mapping, workers=1)
    context = {"submitted": "2018-09-10T09:00", "submitter": "X9T", "reference": "synthetic"}
    unmapped = reports(path, "v1-dsp", context)
    context["local_mappings"] = str(mapping)
    one = reports(path, "v1-dsp", context)
    assert one != unmapped  # the local codes fail the NICIP rules unless mapped
    assert split(path, "v1-dsp", context, span_bytes=20_000, in_process=False) == one


# ----- the hard cases ----------------------------------------------------------------------------------------------


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_duplicates_across_spans_are_reported_as_one_pass_reports_them(tmp_path: Path) -> None:
    rows = lines_of(Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "v1-dsp" / "clean-csv.csv")
    base = (rows * 40)[:400]  # the same few keys over and over: every span holds firsts and repeats
    path = tmp_path / "dups.csv"
    path.write_bytes(b"".join(base))
    for max_examples in (100, 5, 1):
        assert_same(path, *V1_DSP, (4_000, 1_000, 300), max_examples=max_examples)
        assert_same(path, *V1_PORTAL, (2_000, 250), max_examples=max_examples)


def test_a_key_first_seen_in_the_first_span_and_repeated_in_the_last(tmp_path: Path, months: dict[str, Path]) -> None:
    rows = lines_of(months["v1-dsp"])
    early, late = rows[2], rows[3]
    changed = [*rows[:-1], early, rows[-1], late.lower(), early]  # late.lower(): v1-portal keys ignore case
    path = tmp_path / "straddle.csv"
    path.write_bytes(b"".join(changed))
    one = check(path, profile="v1-dsp", context=V1_DSP[1])
    assert {(f.record, f.message.rsplit("(", 1)[1]) for f in one.findings if f.rule == "DIDS071"} >= {
        (3, f"also record {len(rows)})"),
        (len(rows), "first at record 3)"),
    }
    for profile in (V1_DSP, V1_PORTAL):
        assert_same(path, *profile, (30_000, 10_000, 2_000))


def test_a_file_cut_short_is_the_same_report(tmp_path: Path, months: dict[str, Path]) -> None:
    data = months["v2"].read_bytes()
    for cut in (len(data) - 7, len(data) * 2 // 3, len(data) // 3 + 1):
        path = tmp_path / f"cut-{cut}.csv"
        path.write_bytes(data[:cut])
        assert_same(path, *V2, (40_000, 9_000))


def test_quoted_line_ends_cut_inside_or_outside_quotes(
    tmp_path: Path, months: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    rows = lines_of(months["v1-dsp"])
    cases = {
        # a value quoted properly, holding a line end, in the middle of the file
        "quoted-newline": [*rows[:700], b'9991565469,"01\n",' + rows[700].split(b",", 2)[2], *rows[701:]],
        # a stray quote that swallows rows up to the next quote, many spans later
        "swallowed": [*rows[:100], b'"' + rows[100], *rows[101:900], rows[900].rstrip(b"\n") + b'"\n', *rows[901:]],
        # a quote that never closes: it swallows the rest of the file
        "unterminated": [*rows[:1200], b'"' + rows[1200], *rows[1201:]],
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(b"".join(content))
        with caplog.at_level(logging.INFO, logger=LOG):
            assert_same(path, *V1_DSP, (60_000, 7_000))
            assert_same(path, *V1_PORTAL, (9_000,))
    assert "may end inside a quoted value" in caplog.text


def test_a_quote_swallowing_more_than_the_field_limit(tmp_path: Path, months: dict[str, Path]) -> None:
    rows = lines_of(months["v1-dsp"])
    path = tmp_path / "limit.csv"
    path.write_bytes(b"".join([*rows[:10], b'"' + rows[10], *rows[11:]]))
    assert_same(path, *V1_PORTAL, (40_000, 11_000))


def test_a_bom_no_final_line_end_and_cr_line_ends(tmp_path: Path, months: dict[str, Path]) -> None:
    data = months["v1-dsp"].read_bytes()
    variants = {
        "bom": b"\xef\xbb\xbf" + data,
        "bom-no-final": b"\xef\xbb\xbf" + data.rstrip(b"\n"),
        "cr": data.replace(b"\n", b"\r"),
        "crlf": data.replace(b"\n", b"\r\n"),
        "blank-lines": data.replace(b"\n", b"\n\n\r\n"),
        "bom-mid-file": data[:50_000] + b"\xef\xbb\xbf" + data[50_000:],
    }
    for name, content in variants.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(content)
        for profile in (V1_DSP, V1_PORTAL):
            assert_same(path, *profile, (30_000, 4_001))
    v2 = months["v2"].read_bytes()
    path = tmp_path / "v2-bom-crlf.csv"
    path.write_bytes(b"\xef\xbb\xbf" + v2.replace(b"\n", b"\r\n"))
    assert_same(path, *V2, (40_000, 6_000))


def test_header_rows_v1_tolerated_v1_dsp_a_record_and_v2_reordered(tmp_path: Path, months: dict[str, Path]) -> None:
    from conformance.spec import load_pack

    data = months["v1-dsp"].read_bytes()
    header = ",".join(load_pack("v1").columns).encode() + b"\n"
    path = tmp_path / "v1-header.csv"
    path.write_bytes(b"\n\n" + header + data)
    for profile in (V1_DSP, V1_PORTAL):
        assert_same(path, *profile, (30_000, 5_000))
    # v2 with its columns in another order: every span reads the values by the header's names
    import csv

    rows = list(csv.reader(io.StringIO(months["v2"].read_text(encoding="utf-8"), newline="")))
    order = list(reversed(range(len(rows[0]))))
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows([[row[j] for j in order] for row in rows])
    path = tmp_path / "v2-reordered.csv"
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    one = check(path, profile="v2", context=V2[1])
    assert "header-columns" in one.input.problems  # type: ignore[union-attr]
    assert_same(path, *V2, (40_000, 7_000))


def test_rows_the_dsp_loader_rejects_drop_record_findings_on_the_whole_file(
    tmp_path: Path, months: dict[str, Path]
) -> None:
    rows = lines_of(months["v1-dsp"])
    short = b",".join(rows[1300].split(b",")[:10]) + b"\n"
    path = tmp_path / "loader.csv"
    path.write_bytes(b"".join([*rows[:1300], short, *rows[1300:]]))
    one = check(path, profile="v1-dsp", context=V1_DSP[1])
    assert any("CSV loader rejects" in n.reason for n in one.not_evaluated)
    assert_same(path, *V1_DSP, (60_000, 9_000))
    assert_same(path, *V1_PORTAL, (9_000,))


def test_bad_bytes_control_characters_and_a_line_over_the_cap(tmp_path: Path, months: dict[str, Path]) -> None:
    rows = lines_of(months["v1-dsp"])
    rows[900] = rows[900].replace(b"X9T", b"X\x00T", 1)
    rows[1000] = rows[1000].replace(b"X9T", b"X\xff\xfeT", 1)
    rows[1100] = rows[1100].rstrip(b"\n") + b"," + b"A" * 3000 + b"\n"
    path = tmp_path / "hostile.csv"
    path.write_bytes(b"".join(rows))
    assert_same(path, *V1_DSP, (60_000, 8_000), max_record_bytes=2048)
    assert_same(path, *V1_PORTAL, (8_000,), max_record_bytes=2048)


# ----- random files, random cuts -----------------------------------------------------------------------------------

_BASE: dict[str, bytes] = {}


def _base(name: str) -> bytes:
    if name not in _BASE:
        folder = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
        _BASE[name] = (folder / name / "clean-csv.csv").read_bytes()
    return _BASE[name]


edits = st.lists(
    st.tuples(
        st.sampled_from([b'"', b"\n", b"\r", b"\r\n", b"", b",", b'""', b"\xef\xbb\xbf", b"\x00", b"\xff"]),
        st.floats(0, 1),
        st.integers(0, 300),  # bytes removed there
    ),
    max_size=5,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(["v1-dsp", "v1-portal", "v2"]),
    repeat=st.integers(1, 6),
    changes=edits,
    spans=st.integers(2, 10),
    max_examples=st.sampled_from([0, 1, 3, 100]),
)
def test_random_edits_and_random_cuts_give_the_same_report(
    tmp_path: Path, which: str, repeat: int, changes: list[tuple[bytes, float, int]], spans: int, max_examples: int
) -> None:
    profile = {"v1-dsp": V1_DSP, "v1-portal": V1_PORTAL, "v2": V2}[which]
    data = _base(which)
    if which == "v2":
        head, _, body = data.partition(b"\n")
        data = head + b"\n" + body * repeat
    else:
        data = data * repeat
    for text, where, removed in changes:
        at = int(where * len(data))
        data = data[:at] + text + data[at + removed :]
    path = tmp_path / "random.csv"
    path.write_bytes(data)
    span_bytes = max(1, len(data) // spans)
    try:
        one = reports(path, *profile, max_examples=max_examples)
    except Exception as exc:  # a file that cannot be checked must fail the same way in parallel
        with pytest.raises(type(exc), match=re.escape(str(exc))):
            split(path, *profile, span_bytes=span_bytes, max_examples=max_examples)
        return
    assert split(path, *profile, span_bytes=span_bytes, max_examples=max_examples) == one


# ----- when one process checks, and the command line ---------------------------------------------------------------


def test_xml_standard_input_and_small_files_are_checked_in_one_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = tmp_path / "month.xml"
    generate(xml, profile="v2", format="xml", records=50, seed=3, period=date(2026, 5, 1))
    with caplog.at_level(logging.INFO, logger=LOG):
        assert split(xml, *V2, span_bytes=1_000) == reports(xml, *V2)
    assert "an XML file is checked in one process" in caplog.text
    capsys.readouterr()
    code, _, _ = dids("check", str(xml), "--submitted", "2026-06-10T09:00", "--jobs", "2")
    note = capsys.readouterr().err  # the notes go to the process's stderr, like the progress bars
    assert code in (0, 1) and note.startswith("dids: note: ") and "checked in one process" in note
    code, _, _ = dids("check", str(xml), "--submitted", "2026-06-10T09:00", "--jobs", "2", "--quiet")
    assert capsys.readouterr().err == ""


def test_the_command_line_with_jobs_gives_the_same_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "month.csv"
    code, _, _ = dids(
        "generate", "--profile", "v2", "--records", "20000", "--seed", "7", "--period", "2026-05", "-o", str(path),
        "--scenario", "duplicated-activity", "--quiet",
    )  # fmt: skip
    assert code == 0 and path.stat().st_size > 4 * 1024 * 1024  # big enough for the workers
    argv = ["check", str(path), "--profile", "v2", "--submitted", "2026-06-10T09:00", "--period", "2026-05"]
    one = dids(*argv, "--format", "json")
    capsys.readouterr()
    two = dids(*argv, "--format", "json", "--jobs", "2")
    assert "note" not in capsys.readouterr().err  # the workers ran
    assert two[0] == one[0] == 1 and two[1] == one[1]


def test_jobs_zero_is_one_per_core_and_negative_is_refused(tmp_path: Path) -> None:
    code, _, err = dids("check", "x.csv", "--jobs", "-1")
    assert code == 2 and "negative" in err
    with pytest.raises(ValueError, match="jobs"):
        check(Path(__file__), jobs=-1)


def test_the_keys_travel_between_processes_whole() -> None:
    keys = KeyLog()
    values = ["X9T1", "", "a\x1fb", "\x00", "é😀", "x" * 1000]
    for n, value in enumerate(values, 1):
        keys.add(2**64 - n, n, n + 1, value)
    back = pickle.loads(pickle.dumps(keys))
    again = pickle.loads(pickle.dumps(back))
    for copy in (back, again):
        assert list(copy.digests) == list(keys.digests) and list(copy.places) == list(keys.places)
        assert [copy.value(i) for i in range(len(values))] == values
