"""The v1 candidate expressions (check/_columnar_v1.py) against the rule functions they stand for: on a large set of
edge rows, every row a rule's function breaks must be one its expression picks (a row left out would be a finding
the columnar engine loses: a false green). Per rule id and per profile (v1-dsp reads each rule as the DSP's code
does, v1-portal as its text does), and for both readings of every rule, whichever profile runs it, so that a rule
moving between profiles stays covered.

The rows vary a rule's own items over edge values (raw, as a file gives them: spaces, TABs, line ends, non-ASCII
digits, day 00 of February, year 0000, partial dates, month ends, leap days, date pairs a day either side of each
slack) and keep the other items at a valid record's values; the values the rules see are made from the raw ones as
the engines make them (the DSP's trimming and NHS-number cleanse, str.strip, the local-code mapping)."""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import pytest

from conformance.check import load_reference, make_context
from conformance.check._columnar import Columns
from conformance.check._columnar_exprs import nhs_number_ok
from conformance.check._columnar_v1 import NATIVE_V1
from conformance.check._context import SubmissionContext
from conformance.check._engine import LocalCodes
from conformance.check._rows import Row, Setup
from conformance.check._spark import dsp_values
from conformance.check.reference import Organisation, Period, ReferenceData
from conformance.check.rules_v1 import RULES_V1
from conformance.identifiers import is_palindromic, is_valid_nhs_number
from conformance.spec import load_pack
from generators.breaks import V1_BASE

PACK = load_pack("v1-dsp")
ITEMS = [item.id for item in PACK.items]
SPECS = {spec.id: spec for spec in PACK.rules}
DATE_ITEMS = {"person_birth_date", "request_date", "request_received_date", "test_date", "report_issue_date"}


# ----- edge values ------------------------------------------------------------------------------------------------


def _days(start: date, end: date, step: int = 1) -> list[date]:
    return [start + timedelta(days=n) for n in range(0, (end - start).days + 1, step)]


# Odd shapes: blanks, padding the two profiles trim differently, line ends Python's or Java's `$` allow, partial and
# signed dates Spark casts, non-ASCII digits, impossible days, the pattern's leap years, year 0000 and 9999.
ODD_DATES = [
    "", " ", "  ", "\t", "\u00a0", "2018-08-01\n", "2018-08-01\r\n", "2018-08-01\r", "2018-08-01\u2028",
    "2018-08-01\u0085", "2018-08-01\n\n", " 2018-08-01", "2018-08-01 ", "\t2018-08-01", "2018-08-01\t",
    "\u00a02018-08-01", "2018/08/01", "2018-8-1", "2018-08", "2018", "201", "+2018-08-01", "-2018-08-01",
    "2018-08-01T10:00", "2018-08-01 10:00", "2018-08-01x", "20180801", "12018-08-01", "02018-08-01",
    "\u0662\u0660\u0661\u0668-\u0660\u0668-\u0660\u0661", "\uff12\uff10\uff11\uff18-\uff10\uff18-\uff10\uff11",
    "2018-02-00", "2016-02-00", "2018-02-29", "2016-02-29", "2000-02-29", "1900-02-29", "1600-02-29", "2400-02-29",
    "0000-02-29", "0004-02-29", "2018-00-10", "2018-13-01", "2018-04-31", "2018-01-32", "2018-01-00", "0000-01-01",
    "0000-12-31", "0001-01-01", "9999-12-31", "9999-06-30", "9999-01-01", "1899-12-31", "1900-01-01", "1900-01-02",
    "1969-12-31", "1970-01-01", "2017-08-01", "2018-03-01", "2018-03-31", "2018-04-01", "2018-04-30", "2018-05-01",
    "2018-08-01", "2018-08-31", "2018-09-09", "2018-09-10", "2018-09-11", "2018-09-30", "2018-10-01", "2019-03-31",
]  # fmt: skip
# Every month's ends and the days about the submission (2018-09-10, and the month turns of the other context).
SPREAD_DATES = [d.isoformat() for d in _days(date(2017, 1, 1), date(2019, 12, 31)) if d.day in (1, 2, 28, 29, 30, 31)]
SINGLE_DATES = sorted({*ODD_DATES, *SPREAD_DATES, *(d.isoformat() for d in _days(date(2018, 7, 1), date(2018, 10, 5)))})


def _months_on(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError(day)


PAIR_BASES = [
    date(2018, 8, 1), date(2018, 8, 31), date(2018, 1, 31), date(2018, 2, 28), date(2016, 2, 29), date(2016, 1, 31),
    date(2017, 12, 31), date(2018, 6, 30), date(2018, 7, 31), date(2018, 3, 31), date(2019, 2, 28), date(2020, 2, 29),
    date(1961, 3, 14), date(1900, 1, 1), date(2000, 2, 29), date(9998, 7, 31), date(9999, 1, 1), date(1, 1, 1),
]  # fmt: skip
DELTAS = [0, 1, 2, 27, 28, 29, 30, 31, 32, 59, 60, 61, 62, 92, 180, 181, 182, 183, 184, 185, 186, 364, 365, 366, 367]


def date_pairs() -> list[tuple[str, str]]:
    """(earlier item's value, later item's value): odd values against each other, and real days a day either side
    of every slack the rules allow (days, calendar months, month ends), in both orders."""
    small = [*ODD_DATES[:34], "2018-08-01", "2018-08-31", "2019-08-02", "2017-08-01", "2018-02-28", "9999-12-31"]
    pairs = set(itertools.product(small, small))
    for base in PAIR_BASES:
        others: set[date] = set()
        for delta in DELTAS:
            for sign in (1, -1):
                with contextlib.suppress(OverflowError):
                    others.add(base + timedelta(days=sign * delta))
        for months in range(-8, 9):
            try:
                on = _months_on(base, months)
            except (AssertionError, ValueError):
                continue
            for slip in (-1, 0, 1):
                with contextlib.suppress(OverflowError):
                    others.add(on + timedelta(days=slip))
            try:
                end = _months_on(base.replace(day=1), months + 1) - timedelta(days=1)
                others.update({end, end + timedelta(days=1)})
            except (AssertionError, ValueError, OverflowError):
                pass
        for other in others:
            pairs.add((base.isoformat(), other.isoformat()))
            pairs.add((other.isoformat(), base.isoformat()))
    return sorted(pairs)


PAIRS = date_pairs()

NHS_NUMBERS = [
    "9990000018", "9990000026", "9990000025", "999 000 0026", "999-000-0026", "999\t000\t0026", " 9990000026 ",
    "999 000-0026", "99900 00026", "9990000026\n", "9990000026\r\n", "\t9990000026", "\u00a09990000026", "",
    " ", "  ", "-", " - ", "999000002", "99900000261", "9999999999", "0000000000", "1234567890", "0123456789",
    "1000000001", "9000000009", "1000000002", "1000000001\n", "9345665439", "9345665430", "4010000104",
    "401000010", "ABCDEFGHIJ", "999000002X", "\u0669\u0669\u0669\u0660\u0660\u0660\u0660\u0660\u0662\u0666",
    "\uff19\uff19\uff19\uff10\uff10\uff10\uff10\uff10\uff12\uff16", "999000002\u00b2", "\u00b2" * 10,
    "9990000026\u00a0", "9990\u20030000026", "+999000002", "9990000026 ", "999 000 0018", "999-000-0018",
    "999-000-00", "99900000-2", "----------", "- - - - - ", "9-9-9-0-0-0-0-0-1-8",
]  # fmt: skip
# the nine first digits' every check digit, including prefixes that have none (remainder 1)
NHS_NUMBERS += [
    f"{head}{last}" for head in ("999000001", "999000002", "401000010", "934566543") for last in "0123456789"
]
ACCESSIONS = [
    "", " ", "  ", "\t", "A", "a1", "ACC0001", "X" * 19, "X" * 20, "X" * 21, "X" * 25, " A1 ", "A 1", "A-1", "A1\n",
    "\u00e91", "ACC\u00a0", "\u0661\u0662", "X" * 20 + "\n", "X" * 19 + "\u00e9", "\u00e9" * 21,
]  # fmt: skip
CODES_NICIP = ["", " ", "XCHES", "xches", "XcHeS", "XCHEſ", "CSHRB", "ZZZZZZ", "OLDX", "oldx", "NEWX", "GAPX",
               "L0001", "l0001", "L0003", "XCHES\n", " XCHES", "XCHES\t", "\u00a0XCHES"]  # fmt: skip
CODES_SNOMED = ["", " ", "399208008", "71651007", "303686006", "1", "9001", "9002", "9003", "9004", "399208008\n",
                " 399208008", "\u0663"]  # fmt: skip
ORG_CODES = ["", " ", "X99001", "x99001", "X9T", "x9t", "X9T01", "CLOSED1", "closed1", "LATE1", "SITE9", "X99999",
             "X9T\n", "GP-ONLY"]  # fmt: skip
POSTCODES = [
    "", " ", "\t", "LS1 4AP", "ls1 4ap", "LS14AP", "LS1  4AP", "LS1\t4AP", "LS1\u00a04AP", "LS1\u20034AP", "LS1 4AP\n",
    "LS1 4AP ", " LS1 4AP", "LS1 4AC", "LS1 4AI", "EC1A 1BB", "W1A 0AX", "GIR 0AA", "ZZ99 3VZ", "zz99 3vz", "LS1 4A",
    "L1 4AP", "LSS1 4AP", "LS1R 4AP", "L1R 4AP", "LS1 4APX", "LS1 4AP\t", "LS1 4AP1", "LS1 4AP\n\n", "\uff2cS1 4AP",
    "LS\u0661 4AP", "LS1 \u00e9AP", "LS1\x0b4AP",
]  # fmt: skip
# The referrer formats' edges: each pattern's shortest and longest, one digit too many, case, the defaults, padding
# Python strips or Java does, and look-alikes (the Kelvin sign and the long s, which Python's IGNORECASE folds to
# ASCII letters without re.ASCII and not with it; digits beyond ASCII)
REFERRERS = [
    "", " ", "\t", "G1234567", "g1234567", "G12345678", "G123456", "C1", "C12345678", "CD123456", "cd1234567",
    "CH1", "DT123456", "PH1234567", "SL12", "S1234567", "D7", "ZE123456", "zw123456", "ZX123456", "ZE12345",
    "12A3456B", "12a3456b", "1AA3456B", "AB123456", "ab123456", "A1234567", "G9999998", "g9999998", "R9999981",
    "X9999998", "99", "G1234567\n", "G1234567\r", " G1234567 ", "\tG1234567", "\u00a0G1234567", "G 1234567",
    "G123456\u0661", "\uff271234567", "\u212a1234567", "\u017f1234567", "\u017fL123456", "G1234567X",
]  # fmt: skip
M_STAR = {
    "nhs_number": ["", " ", "\t", "9990000018"],
    "person_birth_date": ["", " ", "1961-03-14"],
    "ethnic_category": ["", " ", "A"],
    "person_gender_code": ["", " ", "2"],
    "postcode": ["", " ", "ZZ99 3VZ", "zz99", "Zz993VZ", "ZZ9", " ZZ99 3VZ", "\tZZ99", "LS1 4AP", "ẞZ99"],
    "gp_practice_code": ["", " ", "X99001"],
}

# Periods with ends and gaps, beside the synthetic data's open-ended ones.
EDGE_REFERENCE_DAYS = [date(2010, 1, 1), date(2015, 12, 31), date(2018, 8, 15), date(2018, 9, 1), date(2016, 6, 1)]


def edge_reference() -> ReferenceData:
    synthetic = load_reference("synthetic")
    assert synthetic.nicip is not None and synthetic.snomed is not None and synthetic.organisations is not None
    nicip = {code: synthetic.nicip[code] for code in synthetic.nicip}
    nicip.update(
        {
            "OLDX": Period(date(2010, 1, 1), date(2015, 12, 31)),
            "NEWX": Period(date(2018, 8, 15), None),
            "GAPX": Period(None, date(2018, 9, 1)),
        }
    )
    snomed = {code: synthetic.snomed[code] for code in synthetic.snomed}
    snomed.update({code: Period(None, None) for code in ("9002", "9003", "9004")})
    snomed["9001"] = Period(date(2018, 8, 15), None)
    mapping = {code: list(synthetic.nicip_snomed.get(code, [])) for code in nicip}
    mapping["OLDX"] = [("9001", Period(date(2010, 1, 1), date(2015, 12, 31)))]
    mapping["NEWX"] = [("9002", Period(date(2018, 8, 15), None)), ("9003", Period(None, None))]
    mapping["GAPX"] = [
        ("9001", Period(None, date(2016, 6, 1))),
        ("9001", Period(date(2018, 8, 15), None)),
        ("9002", Period(date(2010, 1, 1), date(2015, 12, 31))),
        ("9002", Period(date(2016, 1, 1), date(2018, 9, 1))),
        ("9003", Period(date(2018, 9, 1), date(2010, 1, 1))),
        ("9004", Period(date(2016, 6, 3), None)),  # one day missing: 2016-06-02
        ("9004", Period(date(2010, 1, 1), date(2016, 6, 1))),
    ]
    orgs = {code: synthetic.organisations[code] for code in synthetic.organisations}
    every_role = frozenset({"site", "referring", "gp_practice"})
    orgs.update(
        {
            "CLOSED1": Organisation("CLOSED1", every_role, Period(None, date(2018, 8, 15))),
            "LATE1": Organisation("LATE1", every_role, Period(date(2018, 9, 1), None)),
            "SITE9": Organisation("SITE9", frozenset({"site"}), Period(date(2010, 1, 1), date(2015, 12, 31))),
            "GP-ONLY": Organisation("GP-ONLY", frozenset({"gp_practice"}), Period(date(2016, 6, 1), date(2018, 8, 15))),
        }
    )
    local = {("X9T", "L0001"): "CABDO", ("X9T", "L0003"): "OLDX", ("X9T", "XCHES\t"): "NEWX"}
    return replace(synthetic, nicip=nicip, snomed=snomed, nicip_snomed=mapping, organisations=orgs, local_nicip=local)


def reference_dates() -> list[str]:
    days = set()
    for day in [*EDGE_REFERENCE_DAYS, date(2008, 1, 1), date(2000, 1, 1), date(1990, 1, 1)]:
        for delta in (0, 1, 182, 183, 184):
            days.update({day + timedelta(days=delta), day - timedelta(days=delta)})
    return sorted({*(d.isoformat() for d in days), *ODD_DATES[:34], "0000-01-01", "9999-12-31", "2018-02-00"})


REFERENCE_DATES = reference_dates()


def changes(rule: str) -> Iterator[dict[str, str]]:
    """The edge values of a rule's items, as changes to the valid record."""
    items = SPECS[rule].items
    dates = [i for i in items if i in DATE_ITEMS]
    if set(items) == set(M_STAR):
        for combination in itertools.product(*(M_STAR[i] for i in items)):
            yield dict(zip(items, combination, strict=True))
        return
    if len(dates) == 2 and len(items) == 2:
        for a, b in PAIRS:
            yield {dates[0]: a, dates[1]: b}
        return
    others = [i for i in items if i not in DATE_ITEMS]
    if not others:
        for value in SINGLE_DATES:
            yield {items[0]: value}
        return
    pools = {
        "nhs_number": NHS_NUMBERS,
        "accession_number": ACCESSIONS,
        "postcode": POSTCODES,
        "imaging_code_nicip": CODES_NICIP,
        "imaging_code_snomed": CODES_SNOMED,
        "referring_org_code": ORG_CODES,
        "gp_practice_code": ORG_CODES,
        "site_code": ORG_CODES,
        "referrer_code": REFERRERS,
    }
    date_values: list[tuple[str, ...]] = [()]
    if len(dates) == 1:
        date_values = [(d,) for d in REFERENCE_DATES]
    elif len(dates) == 2:
        date_values = [p for p in PAIRS if p[0] in REFERENCE_DATES or p[1] in REFERENCE_DATES] + [
            (a, b) for a in REFERENCE_DATES[::3] for b in ("", "2018-08-09", "2010-01-01", "2018-02-00")
        ]
    for fixed in itertools.product(*(pools[i] for i in others)):
        for when in date_values:
            yield {**dict(zip(others, fixed, strict=True)), **dict(zip(dates, when, strict=True))}


# ----- the check --------------------------------------------------------------------------------------------------

CONTEXTS = {
    "mid-month": make_context("2018-09-10T09:00", submitter="X9T"),
    "UK day after the UTC day": make_context("2018-09-01T00:30", submitter="X9T"),  # 23:30Z on 31 August
    "new year": make_context("2019-01-01T00:00Z", submitter="X9T"),
    "a short month": make_context("2019-02-15T12:00", submitter="X9T"),  # 28 days: months_between's fractions
}


def edge_rows(rules: list[str], profile: str, context: SubmissionContext, reference: ReferenceData) -> list[Row]:
    """The rules' edge rows, as the engines make them for the profile."""
    local = LocalCodes.of(PACK, context, reference)
    dsp = PACK.follows(profile) == "dsp"
    nhs = PACK.index["nhs_number"]
    base = tuple(V1_BASE[i] for i in ITEMS)
    raws = sorted(
        {
            tuple(change.get(i, v) for i, v in zip(ITEMS, base, strict=True))
            for rule in rules
            for change in changes(rule)
        }
    )
    rows = []
    for number, raw in enumerate(raws, 1):
        row = Row(number, number, raw, None, dsp_values(raw, nhs) if dsp else None)
        if local is not None:
            local.apply(row)
        rows.append(row)
    return rows


def frame_of(rows: list[Row]) -> pl.DataFrame:
    """A batch as the columnar engine frames it: v{position} as the rules see the values, r{position} as read."""
    return pl.DataFrame(
        {
            **{f"v{p}": pl.Series([r.v[p] for r in rows], dtype=pl.String) for p in range(len(ITEMS))},
            **{f"r{p}": pl.Series([r.raw[p] for r in rows], dtype=pl.String) for p in range(len(ITEMS))},
        }
    )


def picked_and_broken(
    rule: str, profile: str, context: SubmissionContext, reference: ReferenceData
) -> list[tuple[str, ...]]:
    """The rows (as raw values) the rule's function breaks (or raises on) that its expression does not pick."""
    setup = Setup(PACK, profile, context, reference)
    fn = RULES_V1[rule](setup)
    columns = Columns(setup)
    expression = NATIVE_V1[rule](setup, columns)
    rows = edge_rows([rule], profile, context, reference)
    frame = columns.with_shared(frame_of(rows).lazy())
    picked = frame.select(expression.fill_null(False).alias("picked")).collect().to_series().to_list()
    assert len(picked) == len(rows)
    missed = []
    for row, chosen in zip(rows, picked, strict=True):
        if chosen:
            continue
        try:
            broken = fn(row) is not None
        except Exception:  # a rule that fails on a row must fail in both engines: the row must be picked
            broken = True
        if broken:
            missed.append(tuple(row.raw[PACK.index[i]] for i in SPECS[rule].items))
    return missed


REFERENCES = {"synthetic": load_reference("synthetic"), "edge periods": edge_reference()}
# Rules that read the submission's clock: these also run under every other context.
CLOCK_RULES = {"DIDS049", "DIDS051", "DIDS055", "DIDS066", "V1P-DOB-FUTURE", "V1P-TEST-DATE-WINDOW"}


def lost_findings(rules: list[str], profile: str, context: str) -> dict[str, list[tuple[str, ...]]]:
    missed = {}
    for rule in rules:
        needs_reference = bool(SPECS[rule].needs)
        for name, reference in REFERENCES.items() if needs_reference else [("none", REFERENCES["synthetic"])]:
            lost = picked_and_broken(rule, profile, CONTEXTS[context], reference)
            if lost:
                missed[f"{rule} ({name})"] = lost[:5]
    return missed


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal"])
def test_every_row_a_rule_breaks_is_a_candidate(profile: str) -> None:
    """For each rule with a candidate expression: the rows its function breaks that the expression leaves out."""
    assert lost_findings(sorted(NATIVE_V1), profile, "mid-month") == {}


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal"])
@pytest.mark.parametrize("context", [c for c in CONTEXTS if c != "mid-month"])
def test_every_row_a_clock_rule_breaks_is_a_candidate_at_other_times(profile: str, context: str) -> None:
    assert lost_findings(sorted(CLOCK_RULES), profile, context) == {}


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal"])
def test_the_expressions_together_pick_what_each_picks_alone(profile: str) -> None:
    """The engine evaluates every candidate in one select, where Polars shares common subexpressions: sharing must
    never merge two expressions that differ (two reference rules' judgements over the same columns, say)."""
    reference, context = REFERENCES["edge periods"], CONTEXTS["mid-month"]
    setup = Setup(PACK, profile, context, reference)
    rules = sorted(NATIVE_V1)
    frame = frame_of(edge_rows(rules, profile, context, reference)[::3])
    columns = Columns(setup)
    expressions = [NATIVE_V1[r](setup, columns).alias(r) for r in rules]
    together = columns.with_shared(frame.lazy()).select(expressions).collect()
    differ = []
    for rule in rules:
        apart = Columns(setup)
        expression = NATIVE_V1[rule](setup, apart).alias(rule)
        alone = apart.with_shared(frame.lazy()).select(expression).collect()
        if not together.get_column(rule).equals(alone.get_column(rule)):
            differ.append(rule)
    assert differ == []


def test_every_entry_is_a_v1_rule_with_a_function() -> None:
    assert set(NATIVE_V1) <= set(RULES_V1)
    assert set(NATIVE_V1) <= set(SPECS)
    assert set(NATIVE_V1) >= CLOCK_RULES


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal"])
def test_a_valid_record_is_picked_by_no_expression(profile: str) -> None:
    """The candidates are narrow where it counts: a valid month picks (almost) nothing, or the columnar engine would
    be the record engine with extra steps."""
    reference = REFERENCES["synthetic"]
    setup = Setup(PACK, profile, CONTEXTS["mid-month"], reference)
    columns = Columns(setup)
    base = [V1_BASE[i] for i in ITEMS]
    frame = pl.DataFrame({**{f"v{p}": [v] for p, v in enumerate(base)}, **{f"r{p}": [v] for p, v in enumerate(base)}})
    expressions = {rule: factory(setup, columns).alias("p") for rule, factory in NATIVE_V1.items()}
    batch = columns.with_shared(frame.lazy())
    picked = {rule for rule, expression in expressions.items() if batch.select(expression).collect().item()}
    assert picked == set()


def test_the_nhs_number_reading_is_the_python_one() -> None:
    """nhs_number_ok takes the number apart by arithmetic: on the edge numbers, every nine-digit prefix's check
    digits, palindromes, signs and random text, it is identifiers' reading exactly, with and without the DSP's
    palindrome test."""
    rng = random.Random(18)
    values = [*NHS_NUMBERS, "+999000002", "-999000002", "-0", "+0", "00000000000", "1" * 19, "9" * 20]
    values += [f"{head:09d}{last}" for head in (0, 1, 999_999_999, rng.randrange(10**9)) for last in range(10)]
    values += [f"{five}{five[::-1]}" for five in ("12345", "99900", "00000", "10001")]
    values += ["".join(rng.choice("0123456789") for _ in range(10)) for _ in range(5_000)]
    values += ["".join(rng.choice("0123456789 +-x\u0663") for _ in range(rng.randrange(13))) for _ in range(2_000)]
    frame = pl.DataFrame({"n": values}, schema={"n": pl.String})
    read = frame.select(
        nhs_number_ok(pl.col("n")).alias("ok"), nhs_number_ok(pl.col("n"), palindrome_ok=False).alias("dsp")
    )
    expected_ok = [is_valid_nhs_number(v) for v in values]
    expected_dsp = [ok and not is_palindromic(v) for ok, v in zip(expected_ok, values, strict=True)]
    assert read.get_column("ok").to_list() == expected_ok
    assert read.get_column("dsp").to_list() == expected_dsp
    assert 0 < sum(expected_dsp) < sum(expected_ok)  # the sample holds valid palindromes and valid others
