"""What the oracle feeds both checkers: (a) the v1-dsp corpus, (b) generated months with every mutation and
(c) Hypothesis-drawn files that favour the values on which the DSP and a reading of its rules part ways.

Every input is a CSV file on disk with the context to check it in (submission time, reference folder, local-code
table). XML corpus cases are listed as not compared: the DSP's XML loader needs the spark-xml package and the
DIDS XSD, neither of which is in the published source.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.certify._corpus import load_corpus
from conformance.identifiers import nhs_number_check_digit
from conformance.spec import load_pack

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "fixtures" / "corpus"
REFERENCE = CORPUS / "reference"
COLUMNS = load_pack("v1").columns


@dataclass(frozen=True)
class OracleInput:
    key: str  # "corpus:<case>", "generated:<name>", "hypothesis:<n>"
    path: Path
    submitted: str  # ISO, UK wall clock, as the corpus gives it
    reference: Path = REFERENCE
    local_mappings: Path | None = None
    submitter: str | None = None
    note: str = ""  # how it was made


@dataclass
class Inputs:
    compared: list[OracleInput] = field(default_factory=list)
    not_compared: list[tuple[str, str]] = field(default_factory=list)  # (key, why)


def corpus_inputs() -> Inputs:
    """(a) Every v1-dsp corpus case in CSV; XML cases are listed as not compared, with the reason."""
    found = Inputs()
    for case in load_corpus(CORPUS, "v1-dsp").cases:
        key = f"corpus:{case.id}"
        if case.format != "csv":
            found.not_compared.append(
                (key, "XML: the DSP's XML loader needs spark-xml and the DIDS XSD (not published)")
            )
            continue
        mappings = case.context.get("local_mappings")
        found.compared.append(
            OracleInput(
                key,
                case.file,
                case.context["submitted"],
                Path(case.context.get("reference", REFERENCE)),
                Path(mappings) if mappings else None,
                case.context.get("submitter"),
                case.description,
            )
        )
    return found


# Periods chosen for the window arithmetic: month-end and February edges, a leap year, and the corpus's month.
# "every" is every mutation but the layout rule's (DIDS075): the DSP's loader rejects a file with a short row
# and then judges no record at all, which would hide every other mutation. The corpus's break-DIDS075 case and
# the month "2018-08-all" (--mutate all, DIDS075 included) cover the file reject.
GENERATED = [
    ("2018-08", 20260401, ["all"], []),
    ("2018-08", 20260401, ["every"], []),
    ("2019-02", 7, ["every"], []),
    ("2020-02", 11, ["every"], []),
    ("2020-08", 13, ["every"], ["missing-report-dates", "request-equals-test"]),
    ("2024-01", 17, ["every"], ["duplicated-activity", "missing-gender-site"]),
]


def _mutations(which: str, period: str) -> list[str]:
    from conformance.calendar import parse_period
    from generators.mutations import every_mutable_rule

    if which == "all":
        return ["--mutate", "all"]
    rules = every_mutable_rule("v1-dsp", "csv", parse_period(period))
    return [word for rule in rules if rule not in ("DIDS075", "DIDS076") for word in ("--mutate", rule)]


def generated_inputs(folder: Path) -> Inputs:
    """(b) Generated months with every mutation (`dids generate --profile v1-dsp --mutate all`), each checked in
    the context its answer key gives."""
    found = Inputs()
    for period, seed, (which,), scenarios in GENERATED:
        name = f"{period}-{which}-seed{seed}"
        out, key = folder / f"{name}.csv", folder / f"{name}.key.json"
        command = [sys.executable, "-m", "conformance", "generate", "--profile", "v1-dsp", "--format", "csv"]
        command += ["--records", "300", "--seed", str(seed), "--period", period, *_mutations(which, period)]
        command += [word for scenario in scenarios for word in ("--scenario", scenario)]
        subprocess.run([*command, "--answer-key", str(key), "-o", str(out)], check=True, capture_output=True)
        context = json.loads(key.read_text(encoding="utf-8"))["check_with"]
        note = f"dids generate {period} seed {seed} mutate {which} scenarios {scenarios}"
        found.compared.append(OracleInput(f"generated:{name}", out, context["submitted"], note=note))
    return found


# --------------------------------------------------------------------------------------------------------------
# (c) Hypothesis: valid records made awkward
# --------------------------------------------------------------------------------------------------------------


def _palindromes() -> list[str]:
    """999-range NHS numbers that read the same both ways and have a valid check digit (DIDS001's ban)."""
    found = []
    for middle in range(100):
        digits = f"{middle:02d}"
        number = "999" + digits + digits[::-1] + "999"
        if nhs_number_check_digit(number[:9]) == int(number[9]):
            found.append(number)
    return found


PALINDROMES = _palindromes()
DATE_COLUMNS = [c for c in COLUMNS if "DATE" in c]
SUBMISSIONS = ["2019-02-28T09:00", "2019-03-01T09:00", "2020-02-29T09:00", "2019-02-01T09:00", "2018-08-31T23:30"]
PARTIAL_DATES = ["2019-06", "2017", "2017-1-1", "2018-2-3", "2018-02-30", "2018/08/01", "20180801", "2018-8-01"]
DAY_00 = ["2018-02-00", "2018-08-00", "2019-02-00", "2018-00-10"]


def _edge_dates(submitted: str) -> list[str]:
    """Test dates around the DSP's window thresholds: 4 and 7 months before the last day of the submission month."""
    day = datetime.fromisoformat(submitted).date()
    last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    found = []
    for months in (4, 7):
        year, month = divmod(last.month - 1 - months, 12)
        base = date(last.year + year, month + 1, 1)
        for delta in (-2, -1, 0, 1, 2, 27, 28, 29, 30):
            found.append(str(base + timedelta(days=delta)))
    return found


def _csv_line(values: list[str]) -> str:
    out = []
    for value in values:
        needs_quotes = any(c in value for c in ',"\n\r')
        out.append('"' + value.replace('"', '""') + '"' if needs_quotes else value)
    return ",".join(out)


def _padded(draw: st.DrawFn, value: str, pad: str) -> str:
    return draw(st.sampled_from([pad + value, value + pad, pad + value + pad]))


# Each kind makes one record (or the file) awkward in one way the DSP's code treats in its own way; every kind
# gets its share of the examples, so a short run still covers them all.
KINDS = (
    "header", "bom", "tab", "no-break-space", "spaces", "gender-spaces", "partial-date", "day-00",
    "palindrome", "window-edge", "quoted-newline",
)  # fmt: skip


def _make_awkward(draw: st.DrawFn, kind: str, rows: list[list[str]], submitted: str) -> str:
    """Change `rows` in place for `kind`; return what was changed."""
    row = draw(st.integers(0, len(rows) - 1))
    where = f"record {row + 1}"
    if kind in ("tab", "no-break-space", "spaces"):
        column = draw(st.sampled_from(COLUMNS))
        pad = {"tab": "\t", "no-break-space": "\u00a0", "spaces": "  "}[kind]
        rows[row][COLUMNS.index(column)] = _padded(draw, rows[row][COLUMNS.index(column)], pad)
        return f"{where} {column}={rows[row][COLUMNS.index(column)]!r}"
    if kind == "gender-spaces":
        rows[row][COLUMNS.index("PERSON_GENDER_CODE")] = draw(st.sampled_from([" ", "  ", "\t"]))
        return f"{where} PERSON_GENDER_CODE={rows[row][COLUMNS.index('PERSON_GENDER_CODE')]!r}"
    if kind in ("partial-date", "day-00", "window-edge"):
        column = "DIAGNOSTIC_TEST_DATE" if kind == "window-edge" else draw(st.sampled_from(DATE_COLUMNS))
        values = {"partial-date": PARTIAL_DATES, "day-00": DAY_00, "window-edge": _edge_dates(submitted)}[kind]
        rows[row][COLUMNS.index(column)] = draw(st.sampled_from(values))
        return f"{where} {column}={rows[row][COLUMNS.index(column)]!r}"
    if kind == "palindrome":
        rows[row][COLUMNS.index("NHS_NUMBER")] = draw(st.sampled_from(PALINDROMES))
        return f"{where} NHS_NUMBER={rows[row][COLUMNS.index('NHS_NUMBER')]}"
    if kind == "quoted-newline":
        column = draw(st.sampled_from(["REFERRER", "RADIOLOGICAL_ACCESSION_NUM", "POSTCODE"]))
        value = rows[row][COLUMNS.index(column)] or "X"
        rows[row][COLUMNS.index(column)] = value[:2] + "\n" + value[2:]
        return f"{where} {column}={rows[row][COLUMNS.index(column)]!r}"
    return "header row"  # header, bom: the file's framing (set by the caller)


@st.composite
def awkward_files(draw: st.DrawFn, kind: str) -> tuple[str, str, str]:
    """(file text, submission time, what was made awkward) for one kind of awkwardness."""
    from generators.strategies import submissions

    base = draw(submissions(profile="v1-dsp", format="csv", min_records=2, max_records=5))
    submitted = draw(st.sampled_from([base.context["submitted"], *SUBMISSIONS]))
    rows = [list(r) for r in base.rows]
    note = _make_awkward(draw, kind, rows, submitted)
    text = "".join(_csv_line(r) + "\r\n" for r in rows)
    if kind == "header":
        text = ",".join(COLUMNS) + "\r\n" + text
    if kind == "bom" or (kind == "header" and draw(st.booleans())):
        text, note = "\ufeff" + text, "header and BOM" if kind == "header" else "BOM"
    return text, submitted, f"{kind}: {note}"


def hypothesis_inputs(folder: Path, examples: int) -> Inputs:
    """(c) About `examples` files drawn by Hypothesis, shared among KINDS (derandomized: the same files every
    run)."""
    found = Inputs()
    drawn: list[tuple[str, str, str]] = []
    for kind in KINDS:

        @settings(
            max_examples=max(2, examples // len(KINDS)),
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(awkward_files(kind))
        def collect(item: tuple[str, str, str]) -> None:
            if item not in drawn:
                drawn.append(item)

        collect()
    for number, (text, submitted, note) in enumerate(drawn, 1):
        path = folder / f"hypothesis-{number:03d}.csv"
        path.write_bytes(text.encode("utf-8"))
        found.compared.append(OracleInput(f"hypothesis:{number:03d}", path, submitted, note=note))
    return found


def all_inputs(folder: Path, examples: int) -> Iterator[Inputs]:
    yield corpus_inputs()
    yield generated_inputs(folder)
    yield hypothesis_inputs(folder, examples)
