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
PARTIAL_DATES = ["2019-06", "2017", "2017-1-1", "2018-02-00", "2018-2-3", "2018-02-30", "2018/08/01", "20180801"]


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


def _awkward_value(draw: st.DrawFn, column: str, value: str, submitted: str) -> str:
    choices = [
        value,
        f"\t{value}",
        f"{value}\t",
        f"\u00a0{value}",
        f"{value}\u00a0",
        f"  {value}  ",
        "   ",
        "",
        value.lower(),
    ]
    if column in DATE_COLUMNS:
        choices += PARTIAL_DATES + _edge_dates(submitted)
    if column == "NHS_NUMBER":
        choices += [*PALINDROMES[:5], f"{value[:3]} {value[3:6]} {value[6:]}", f"{value[:3]}-{value[3:6]}-{value[6:]}"]
    if column == "PERSON_GENDER_CODE":
        choices += [" ", "  ", "0", "X", "\t1"]
    return draw(st.sampled_from(choices))


def _csv_line(values: list[str]) -> str:
    out = []
    for value in values:
        needs_quotes = any(c in value for c in ',"\n\r')
        out.append('"' + value.replace('"', '""') + '"' if needs_quotes else value)
    return ",".join(out)


@st.composite
def awkward_files(draw: st.DrawFn) -> tuple[str, str, str]:
    """(file text, submission time, what was made awkward)."""
    from generators.strategies import submissions

    base = draw(submissions(profile="v1-dsp", format="csv", min_records=2, max_records=6))
    submitted = draw(st.sampled_from([base.context["submitted"], *SUBMISSIONS]))
    rows = [list(r) for r in base.rows]
    notes = []
    for _ in range(draw(st.integers(1, 4))):
        row, column = draw(st.integers(0, len(rows) - 1)), draw(st.sampled_from(COLUMNS))
        index = COLUMNS.index(column)
        rows[row][index] = _awkward_value(draw, column, rows[row][index], submitted)
        notes.append(f"record {row + 1} {column}={rows[row][index]!r}")
    if draw(st.booleans()) and len(rows) > 1:  # a window edge on one record, the rest as generated
        edge = draw(st.sampled_from(_edge_dates(submitted)))
        rows[-1][COLUMNS.index("DIAGNOSTIC_TEST_DATE")] = edge
        notes.append(f"record {len(rows)} DIAGNOSTIC_TEST_DATE={edge}")
    text = "".join(_csv_line(r) + "\r\n" for r in rows)
    framing = draw(st.sampled_from(["", "header", "bom", "header+bom", "quoted-newline"]))
    if "header" in framing:
        text = ",".join(COLUMNS) + "\r\n" + text
    if "bom" in framing:
        text = "\ufeff" + text
    if framing == "quoted-newline":
        rows[0][COLUMNS.index("REFERRER")] = "C12\n34567"
        text = "".join(_csv_line(r) + "\r\n" for r in rows)
    if framing:
        notes.append(framing)
    return text, submitted, "; ".join(notes)


def hypothesis_inputs(folder: Path, examples: int) -> Inputs:
    """(c) `examples` files drawn by Hypothesis (derandomized: the same files every run)."""
    found = Inputs()
    drawn: list[tuple[str, str, str]] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(awkward_files())
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
