"""A file that changes while it is checked (a RIS export still being written, a copy in progress, a file cut short)
is never given a verdict: the check says it could not check it (exit 2, no report), whichever engine or layout.

Found by a hostile review: a v2 file truncated at a row's end while the columnar engine read it was once "accepted",
with the records read before the cut."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conformance.check import check, make_context
from conformance.check import parallel as parallel_check
from conformance.check._engine import Options
from conformance.cli import run
from conformance.files import InputError, open_input
from conformance.formats import open_submission
from generators.generate import generate

CONTEXT = make_context("2026-06-10T09:00", period="2026-05")


def _month(path: Path, records: int = 3_000, format: str = "csv") -> Path:
    generate(path, profile="v2", format=format, records=records, seed=5, period=date(2026, 5, 1), workers=1)
    return path


def _cut_at_a_row_end(path: Path) -> None:
    """The file cut to its first half, at a row's end: what a reader meets when a copy is cut short."""
    data = path.read_bytes()
    cut = data.rfind(b"\n", 0, len(data) // 2) + 1
    os.truncate(path, cut)


def test_an_unchanged_file_and_standard_input_pass_the_check(tmp_path: Path) -> None:
    path = _month(tmp_path / "month.csv", records=50)
    source = open_input(path)
    source.check_unchanged()
    assert source.state is not None and source.state.size == path.stat().st_size
    with open(path, "rb") as handle:
        stdin = open_input("-", stdin=handle)
        assert stdin.state is None
        stdin.check_unchanged()


@pytest.mark.parametrize("change", ["cut short", "appended to", "replaced", "written again"])
def test_a_file_changed_after_it_was_opened_is_refused(tmp_path: Path, change: str) -> None:
    path = _month(tmp_path / "month.csv", records=50)
    source = open_input(path)
    if change == "cut short":
        _cut_at_a_row_end(path)
    elif change == "appended to":
        with open(path, "ab") as handle:
            handle.write(path.read_bytes().splitlines(keepends=True)[-1])
    elif change == "replaced":
        other = _month(tmp_path / "other.csv", records=50)
        os.replace(other, path)
    else:  # the same bytes written again: only the modification time tells
        data = path.read_bytes()
        stamp = path.stat().st_mtime_ns
        path.write_bytes(data)
        os.utime(path, ns=(stamp + 1_000_000_000, stamp + 1_000_000_000))
    with pytest.raises(InputError, match="changed while it was read"):
        source.check_unchanged()


@pytest.mark.parametrize("engine", ["record", "columnar"])
@pytest.mark.parametrize("layout", ["csv", "xml"])
def test_a_file_cut_short_at_a_row_end_while_it_is_checked_gets_no_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str, layout: str
) -> None:
    # the record engine's CSV reader takes 1 MiB at a time: a file of several, so that the cut is met
    records = 20_000 if (engine, layout) == ("record", "csv") else 3_000
    path = _month(tmp_path / f"month.{layout}", records=records, format=layout)
    if engine == "columnar":  # many small blocks, so that most of the file is read after the cut
        monkeypatch.setattr("conformance.check._columnar.BLOCK_BYTES", 16_384)
        monkeypatch.setattr("conformance.check._columnar.BATCH_ROWS", 100)
    seen: list[int] = []

    def observe(submission: Any) -> Any:
        def see(record: Any) -> None:
            if not seen:  # the first record: cut the file under the reader
                _cut_at_a_row_end(path)
            seen.append(record.number)

        return see

    with pytest.raises(InputError, match="changed while it was read"):
        check(path, profile="v2", context=CONTEXT, engine=engine, observe=observe)
    assert 0 < len(seen) < records  # the cut was met: fewer records than the file had


def test_a_parallel_check_of_a_file_cut_short_gets_no_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each part opens the file again, after the cut: only the whole check can tell that the file changed
    path = _month(tmp_path / "month.csv", records=3_000)
    parts = parallel_check._parts

    def cut_then_check(*args: Any, **kwargs: Any) -> Any:
        _cut_at_a_row_end(path)
        return parts(*args, **kwargs)

    monkeypatch.setattr(parallel_check, "_parts", cut_then_check)
    options = Options(profile="v2", context=CONTEXT, engine="columnar")
    with pytest.raises(InputError, match="changed while it was read"):
        parallel_check.check_parallel(path, options, jobs=2, min_bytes=0, span_bytes=65_536, in_process=True)


def test_the_cli_says_so_in_one_line_and_writes_no_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _month(tmp_path / "month.csv", records=3_000)
    out = tmp_path / "report.json"
    records = type(open_submission(path)).records

    def cut_then_read(self: Any) -> Any:
        _cut_at_a_row_end(path)
        return records(self)

    monkeypatch.setattr("conformance.formats._submission.Submission.records", cut_then_read)
    code = run(["check", str(path), "--profile", "v2", "--period", "2026-05", "--submitted", "2026-06-10T09:00",
                "--engine", "record", "--format", "json", "-o", str(out)], sys.stdout, sys.stderr)  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "changed while it was read" in err[0], err
    assert not out.exists()
