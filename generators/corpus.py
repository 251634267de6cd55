"""Build the conformance corpus (fixtures/corpus): plain DIDS files and, per profile, a manifest of what a
conforming validator must say about each: `build_corpus(folder)`, or `dids fixtures build`.

Everything comes from the generators, deterministically (fixed seeds, no clock), so a fresh build is the same
bytes as the checked-in corpus (tests/test_corpus.py fails on drift). For each profile and format:

- `clean-<fmt>`: a generated month every rule accepts (the passing case of every rule);
- `break-<rule>-<fmt>`: a small generated month with that rule's mutation, findings from its answer key;
- `all-rules-<fmt>`: one file breaking every rule the format allows, one record each (many findings);
- v2.0 readiness cases (profile v2): valid variations of the canonical record, the BST changes, activity either
  side of 1 April 2026, and the 6- and 3-month submission windows at their edges;
- v1 local codes (profile v1-dsp): a month with the trust's local exam codes and its mapping table;
- DSP edges (profile v1-dsp, CSV): values the DSP's code decides otherwise than the rule text (a header row, a
  byte-order mark, spaces-only and TAB-padded values, a palindromic NHS number, partial dates, February window
  edges, a submission just after midnight UK time, day 00 of February, a quoted line break), written as text;
- unreadable files: empty, binary, UTF-16, not DIDS, hostile XML (external entity, billion laughs, deep nesting).

The synthetic reference tables are copied to `reference/` so that any validator can load them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.calendar import months_between
from conformance.files import OutputSet
from conformance.formats import write_records
from conformance.spec import PROFILES, Pack, load_pack
from generators.breaks import V1_BASE, V2_BASE, V2_LAYOUT_FAULTS, V2_SOURCE_CASES, V2_VALID_VARIATIONS
from generators.generate import generate
from generators.mutations import (
    BASE_PERIODS,
    every_mutable_rule,
    operators,
    shift_value,
    submission_break_period,
    submission_context,
)

CORPUS_VERSION = "1.1.0"
SCHEMA_ID = "dids-corpus-manifest/1.1"
FORMATS = ("csv", "xml")
SMALL = 6  # records in a breaking case: the mutant and neighbours that must stay clean
MONTH = 40  # records in a clean month
SEED = 20260401
V1_MAPPINGS = "v1-dsp/X9T-local-mappings.csv"
# What the DSP's rules make of a header row read as a record (every value is a column name; the dates are no
# dates, so no comparison runs; NHS_NUMBER has ten characters, so DIDS002 passes; SITE_CODE_IMAGING fails the site
# format, so DIDS068 does not look it up; the test date is no date, so the code-validity rules do not judge).
HEADER_ROW_FINDINGS: list[tuple[str, int | None, str | None]] = [
    (rule, 1, item)
    for rule, item in (
        ("DIDS001", "nhs_number"),
        ("DIDS003", "nhs_number_status"),
        ("DIDS005", "person_birth_date"),
        ("DIDS012", "ethnic_category"),
        ("DIDS014", "person_gender_code"),
        ("DIDS017", "postcode"),
        ("DIDS021", "patient_source_setting"),
        ("DIDS023", "referrer_code"),
        ("DIDS026", "request_date"),
        ("DIDS036", "request_received_date"),
        ("DIDS045", "test_date"),
        ("DIDS061", "report_issue_date"),
        ("DIDS069", "site_code"),
        ("DIDS072", "accession_number"),
        ("DIDS016", "postcode"),
        ("DIDS018", "gp_practice_code"),
        ("DIDS024", "referring_org_code"),
    )
]
END_BLANK = ("V2P-END-TIMESTAMP-BLANK", 1, "procedure_end_timestamp")  # v2 cases that leave the end out


@dataclass
class Case:
    id: str
    file: str  # relative to the corpus root
    format: str
    description: str
    origin: str
    context: dict[str, str]
    verdict: str  # accepted | rejected | unreadable
    findings: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    file_reject: bool = False  # the file itself is refused (layout or schema): record findings may not follow

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.file,
            "format": self.format,
            "description": self.description,
            "origin": self.origin,
            "tags": self.tags,
            "context": self.context,
            "expected": {"verdict": self.verdict, "file_reject": self.file_reject, "findings": self.findings},
        }


class Builder:
    def __init__(self, root: Path, profile: str) -> None:
        self.root = root
        self.profile = profile
        self.version = PROFILES[profile]
        self.pack: Pack = load_pack(self.version)
        self.cases: list[Case] = []
        self.on_case: Callable[[], None] | None = None  # told of every case added (progress)
        (root / profile).mkdir(parents=True, exist_ok=True)

    # ----- helpers -------------------------------------------------------------------------------------------

    def context(self, period: date, **extra: str) -> dict[str, str]:
        context = {**submission_context(self.version, period), "reference": "reference"}
        if self.profile == "v1-dsp":
            context.update(submitter="X9T", local_mappings=V1_MAPPINGS)
        context.update(extra)
        return context

    def findings(self, expected: Sequence[tuple[str, int | None, str | None]]) -> list[dict[str, Any]]:
        """Expected findings; `required` marks those a validator following the published specification must give:
        the official codes. A fault only a provisional rule catches is judged by the verdict alone (and by its id
        at certify --level exact), and a fault with an official code needs that code only, never ours as well."""
        out = [
            {
                "rule": rule,
                "code": self.pack.rule(rule).code,
                "required": self.pack.rule(rule).code is not None,
                "record": record,
                "field": item,
            }
            for rule, record, item in expected
        ]
        return sorted(out, key=lambda f: (f["record"] is not None, f["record"] or 0, f["rule"], f["field"] or ""))

    def verdict(self, findings: list[dict[str, Any]]) -> str:
        severe = [f for f in findings if self.pack.rule(f["rule"]).severity != "warning"]
        return "rejected" if severe else "accepted"

    def record(
        self,
        case_id: str,
        relative: str,
        fmt: str,
        description: str,
        origin: str,
        context: dict[str, str],
        findings: list[dict[str, Any]],
        tags: list[str],
    ) -> None:
        """Add a case to the manifest; its verdict follows from its findings' severities."""
        verdict = self.verdict(findings)
        file_reject = any(
            f["record"] is None and self.pack.rule(f["rule"]).kind == "file" and verdict == "rejected" for f in findings
        )
        self.cases.append(
            Case(
                case_id,
                relative,
                fmt,
                f"{description} ({fmt.upper()})",
                origin,
                context,
                verdict,
                findings,
                tags,
                file_reject,
            )
        )
        if self.on_case is not None:
            self.on_case()

    def path(self, case_id: str, fmt: str) -> tuple[Path, str]:
        relative = f"{self.profile}/{case_id}.{fmt}"
        return self.root / relative, relative

    def add_generated(
        self,
        case_id: str,
        fmt: str,
        description: str,
        *,
        period: date,
        records: int,
        mutate: list[str] | None = None,
        tags: list[str] | None = None,
        context: dict[str, str] | None = None,
        local_codes: bool = False,
    ) -> None:
        target, relative = self.path(case_id, fmt)
        with tempfile.TemporaryDirectory() as tmp:
            key_path = Path(tmp, "key.json")
            generate(
                target,
                profile=self.profile,
                format=fmt,
                records=records,
                seed=SEED,
                period=period,
                mutate=mutate or [],
                answer_key=key_path,
                local_codes=Path(tmp, "mapping.csv") if local_codes else None,
                workers=1,
            )
            key = json.loads(key_path.read_text(encoding="utf-8"))
        expected = [(e["rule"], e["record"], e["field"]) for e in key["expected_findings"]]
        findings = self.findings(expected)
        ctx = self.context(period)
        ctx.update({k: v for k, v in key["check_with"].items() if k in ("submitted", "period")})
        ctx.update(context or {})
        options = f" --mutate {' --mutate '.join(mutate)}" if mutate and len(mutate) < 4 else ""
        options += " --mutate all" if mutate and len(mutate) >= 4 else ""
        options += " --local-codes MAPPING" if local_codes else ""
        origin = (
            f"dids generate --profile {self.profile} --format {fmt} --records {records} --seed {SEED} "
            f"--period {period:%Y-%m}{options}"
        )
        self.record(case_id, relative, fmt, description, origin, ctx, findings, tags or [])

    def add_rows(
        self,
        case_id: str,
        fmt: str,
        description: str,
        rows: list[list[str]],
        *,
        context: dict[str, str],
        expected: Sequence[tuple[str, int | None, str | None]],
        origin: str,
        tags: list[str],
    ) -> None:
        target, relative = self.path(case_id, fmt)
        write_records(rows, target, pack=self.pack, format=fmt)
        findings = self.findings(expected)
        self.record(case_id, relative, fmt, description, origin, context, findings, tags)

    def add_text(
        self,
        case_id: str,
        description: str,
        lines: list[str],
        *,
        expected: Sequence[tuple[str, int | None, str | None]],
        context: dict[str, str] | None = None,
    ) -> None:
        """A CSV case written as text, byte for byte (a writer would tidy what the case is about)."""
        target, relative = self.path(case_id, "csv")
        target.write_bytes("".join(lines).encode("utf-8"))
        ctx = {**self.context(BASE_PERIODS[self.version]), **(context or {})}
        findings = self.findings(expected)
        self.record(case_id, relative, "csv", description, "generators/corpus.py", ctx, findings, ["dsp-edge"])

    def add_bytes(self, case_id: str, fmt: str, description: str, content: bytes, origin: str) -> None:
        target, relative = self.path(case_id, fmt)
        target.write_bytes(content)
        context = self.context(BASE_PERIODS[self.version])
        self.cases.append(
            Case(case_id, relative, fmt, description, origin, context, "unreadable", [], ["unreadable"], True)
        )
        if self.on_case is not None:
            self.on_case()

    # ----- the cases -----------------------------------------------------------------------------------------

    def build(self) -> None:
        period = BASE_PERIODS[self.version]
        ops = operators(self.version)
        for fmt in FORMATS:
            self.add_generated(
                f"clean-{fmt}",
                fmt,
                f"a generated month ({MONTH} records) that every {self.profile} rule accepts",
                period=period,
                records=MONTH,
                tags=["clean"],
            )
            rules = every_mutable_rule(self.profile, fmt, period)
            for rule in rules:
                spec = self.pack.rule(rule)
                self.add_generated(
                    f"break-{rule}-{fmt}",
                    fmt,
                    f"breaks {rule}: {spec.message}",
                    period=period,
                    records=SMALL,
                    mutate=[rule],
                    tags=["break", ops[rule].kind],
                )
            if self.pack.follows(self.profile) == "dsp" and fmt == "csv":
                # The DSP's loader would reject the file for its malformed row and report nothing else: leave the
                # layout break to its own case so that this one keeps every record finding.
                rules = [r for r in rules if ops[r].kind != "layout"]
            self.add_generated(
                f"all-rules-{fmt}",
                fmt,
                f"one file breaking {len(rules)} rules, one record each, among clean records",
                period=period,
                records=4 * len(rules),
                mutate=rules,
                tags=["mixed"],
            )
        if self.version == "v2":
            self.v2_readiness()
        if self.profile == "v1-dsp":
            for fmt in FORMATS:
                self.add_generated(
                    f"local-codes-mapped-{fmt}",
                    fmt,
                    "about 30% of records carry the trust's local exam codes, all in its mapping table "
                    f"({V1_MAPPINGS}): mapped before validation, as the DSP does",
                    period=period,
                    records=MONTH,
                    tags=["local-codes"],
                    local_codes=True,
                )
            self.dsp_edges()
        self.unreadable()

    def base_row(self, period: date, changes: dict[str, str] | None = None) -> list[str]:
        base = BASE_PERIODS["v2"]
        months = months_between(period, base)
        values = {k: shift_value(v, months) for k, v in {**V2_BASE, **(changes or {})}.items()}
        return [values[item.id] for item in self.pack.items]

    def v2_readiness(self) -> None:
        """The v2.0 readiness cases: submission rules, valid variations, clock changes, the v2 start, windows."""
        self._v2_submission_breaks()
        self._v2_valid_variations()
        self._v2_from_the_sources()
        self._v2_clock_changes()
        self._v2_start_edges()
        self._v2_windows()

    def _v2_submission_breaks(self) -> None:
        """The submission rules (the catalogue's), each broken through the check context of a generated month (its
        answer key), latest period first."""
        rules = [r for r in self.pack.rules if r.kind == "submission"]
        periods = {r.id: submission_break_period(r.id, self.pack) for r in rules}
        for spec in sorted(rules, key=lambda r: periods[r.id], reverse=True):
            self.add_generated(
                f"break-{spec.id}-csv",
                "csv",
                f"breaks {spec.id}: {spec.message}",
                period=periods[spec.id],
                records=SMALL,
                mutate=[spec.id],
                tags=["break", "submission", "window"],
            )

    def _v2_valid_variations(self) -> None:
        may = BASE_PERIODS["v2"]
        for name, changes, why in V2_VALID_VARIATIONS:
            for fmt in FORMATS:
                rows = [self.base_row(may), self.base_row(may, {"accession_number": "ACC0002", **changes})]
                self.add_rows(
                    f"pass-{name}-{fmt}",
                    fmt,
                    f"accepted: {why}",
                    rows,
                    context=self.context(may),
                    expected=[],
                    origin="generators/breaks.py V2_BASE and V2_VALID_VARIATIONS",
                    tags=["v2-readiness", "pass"],
                )
        for fmt in FORMATS:
            self.add_generated(
                f"clean-october-2026-{fmt}",
                fmt,
                "a generated October 2026: BST ends on the 25th, so both offsets are in force within the month",
                period=date(2026, 10, 1),
                records=MONTH,
                tags=["v2-readiness", "bst"],
            )

    def _v2_from_the_sources(self) -> None:
        """Cases written from the v2.0 sources (issue 15), and the layout-parity faults: each the second record
        after the canonical one, with the same expected findings in CSV and XML."""
        may = BASE_PERIODS["v2"]
        parity = [
            (f"parity-{n}", c, [(r, 2, f) for r, f in sorted(e)], f"layout parity, {n}: {why}")
            for n, c, e, why in V2_LAYOUT_FAULTS
        ]
        for name, changes, expected, why in [*V2_SOURCE_CASES, *parity]:
            for fmt in FORMATS:
                rows = [self.base_row(may), self.base_row(may, {"accession_number": "ACC0002", **changes})]
                self.add_rows(
                    f"{name}-{fmt}",
                    fmt,
                    why,
                    rows,
                    context=self.context(may),
                    expected=expected,
                    origin="generators/breaks.py V2_BASE with V2_SOURCE_CASES or V2_LAYOUT_FAULTS",
                    tags=["v2-sources", "parity" if name.startswith("parity-") else "v2-readiness"],
                )

    def _v2_clock_changes(self) -> None:
        clock = {
            "bst-repeated-hour-first": "2026-10-25T01:30:00+01:00",
            "bst-repeated-hour-second": "2026-10-25T01:30:00+00:00",
            "bst-spring-forward-after": "2027-03-28T02:30:00+01:00",
        }
        for name, start in clock.items():
            day = start[:10]
            period = date.fromisoformat(day).replace(day=1)
            changes = {
                "request_date": day,
                "request_time": "00:10:00",
                "request_received_date": day,
                "request_received_time": "00:20:00",
                "procedure_start_timestamp": start,
                "procedure_end_timestamp": "",
                "report_issue_timestamp": "",
                "evaluation_indicator": "Y",
            }
            row = [({**V2_BASE, **changes})[item.id] for item in self.pack.items]
            self.add_rows(
                f"pass-{name}-csv",
                "csv",
                f"accepted: a procedure starting at {start}, a wall time the UK clock change makes special "
                "(no end timestamp: a completeness warning)",
                [row],
                context=self.context(period),
                expected=[("V2P-END-TIMESTAMP-BLANK", 1, "procedure_end_timestamp")],
                origin="generators/breaks.py V2_BASE with its timeline on a clock-change day",
                tags=["v2-readiness", "bst"],
            )

    def _v2_start_edges(self) -> None:
        # Activity either side of 1 April 2026, reported for April 2026.
        april = self.pack.activity_from
        assert april is not None  # the v2 pack says when v2.0 activity starts
        edges: dict[str, tuple[str, list[tuple[str, int | None, str | None]]]] = {
            "activity-first-minute-of-v2": ("2026-04-01T00:00:00+01:00", [END_BLANK]),
            "activity-last-minute-before-v2": (
                "2026-03-31T23:59:00+01:00",
                [("V2P-BEFORE-V2", 1, "procedure_start_timestamp"), END_BLANK],
            ),
        }
        for name, (start, expected) in edges.items():
            row = [
                (
                    {
                        **V2_BASE,
                        "request_date": "2026-03-30",
                        "request_received_date": "2026-03-30",
                        "procedure_start_timestamp": start,
                        "procedure_end_timestamp": "",
                        "report_issue_timestamp": "2026-04-02T10:00:00+01:00",
                    }
                )[item.id]
                for item in self.pack.items
            ]
            self.add_rows(
                f"{name}-csv",
                "csv",
                f"a procedure starting at {start} in the April 2026 file",
                [row],
                context=self.context(april),
                expected=expected,
                origin="generators/breaks.py V2_BASE around 1 April 2026",
                tags=["v2-readiness", "v2-start"],
            )

    def _v2_windows(self) -> None:
        may = BASE_PERIODS["v2"]
        # Submission windows at their edges: 6 months for periods April 2026 - March 2027, 3 months from April 2027.
        Expected = list[tuple[str, int | None, str | None]]
        windows: list[tuple[str, date, str, Expected]] = [
            ("window-6-months-last-minute", may, "2026-11-30T23:59", []),
            ("window-6-months-closed", may, "2026-12-01T00:00", [("V2P-WINDOW-CLOSED", None, None)]),
            ("window-march-2027-last-minute", date(2027, 3, 1), "2027-09-30T23:59", []),
            ("window-3-months-last-minute", date(2027, 4, 1), "2027-07-31T23:59", []),
            ("window-3-months-closed", date(2027, 4, 1), "2027-08-01T00:00", [("V2P-WINDOW-CLOSED", None, None)]),
            ("window-opens", may, "2026-06-01T00:00", []),
            ("window-not-open", may, "2026-05-31T23:59", [("V2P-WINDOW-NOT-OPEN", None, None)]),
        ]
        for name, period, submitted, expected in windows:
            self.add_rows(
                f"{name}-csv",
                "csv",
                f"the {period:%Y-%m} file submitted at {submitted} UK time",
                [self.base_row(period)],
                context=self.context(period, submitted=submitted),
                expected=expected,
                origin="generators/breaks.py V2_BASE moved to the period",
                tags=["v2-readiness", "window"],
            )

    def line(self, changes: dict[str, str] | None = None, accession: str = "ACC0001") -> str:
        """The v1 base record as one CSV line, with changes (written by hand: nothing tidies the values)."""
        values = {**V1_BASE, "accession_number": accession, **(changes or {})}
        return ",".join(values[item.id] for item in self.pack.items) + "\n"

    def dsp_edges(self) -> None:
        """v1-dsp: the values NHS England's DSP decides otherwise than the rule text (check/_spark.py)."""
        line = self.line
        clean = line(accession="ACC0002")
        self.add_text(
            "dsp-bom",
            "a UTF-8 byte-order mark: Spark's CSV reader drops it, so the DSP accepts the file (seen in the DSP)",
            ["\ufeff" + line(), clean],
            expected=[],
        )
        self.add_text(
            "dsp-spaces-and-tabs",
            "spaces and TABs: trimmed of spaces only, a gender of spaces fails DIDS014 and a TAB-padded gender "
            "is not a code; the NHS number loses TABs, spaces and hyphens",
            [
                line({"person_gender_code": "   "}),
                line({"person_gender_code": "\t1"}, "ACC0002"),
                line({"nhs_number": "\t999-000 0018", "person_gender_code": "  1  "}, "ACC0003"),
                line({"person_gender_code": ""}, "ACC0004"),
            ],
            expected=[("DIDS014", 1, "person_gender_code"), ("DIDS014", 2, "person_gender_code")],
        )
        self.add_text(
            "dsp-palindrome",
            "a palindromic NHS number with a valid check digit: the DSP's NHS-number function bans it",
            [line({"nhs_number": "9345665439"}), clean],
            expected=[("DIDS001", 1, "nhs_number")],
        )
        self.add_text(
            "dsp-partial-dates",
            "a birth date of 2019-06: not a date to the format rule, but 1 June 2019 to the rules without a "
            "pattern guard (DIDS010, DIDS040)",
            [line({"person_birth_date": "2019-06"}), clean],
            expected=[
                ("DIDS005", 1, "person_birth_date"),
                ("DIDS010", 1, "person_birth_date"),
                ("DIDS040", 1, "request_received_date"),
            ],
        )
        self.add_text(
            "dsp-day-00",
            "day 00 of February: passes the DSP's date pattern and is compared with nothing (a DSP bug, followed)",
            [line({"person_birth_date": "1961-02-00"}), clean],
            expected=[],
        )
        self.dsp_file_and_clock_edges()

    def dsp_file_and_clock_edges(self) -> None:
        """v1-dsp: the loader's file reject, the DSP's window arithmetic and clock, a header row."""
        line = self.line
        clean = line(accession="ACC0002")
        self.add_text(
            "dsp-quoted-line-break",
            "a quoted value over two lines: the DSP's CSV loader rejects the file and no record rule runs",
            [line({"person_gender_code": "7"}), line({"accession_number": '"ACC\n0009"'}, "ACC0002"), clean],
            expected=[("DIDS075", None, None)],
        )
        february = ("2018-07-28", "2018-07-29", "2018-07-30", "2018-07-31")
        self.add_text(
            "dsp-february-window",
            "submitted in February: Spark's months_between on a 31-day basis rejects July tests on the 28th and "
            "31st (7 months) and only warns on the 29th and 30th",
            [
                line(
                    {d: day for d in ("request_date", "request_received_date", "test_date", "report_issue_date")},
                    f"ACC{n}",
                )
                for n, day in enumerate(february, start=1)
            ],
            expected=[
                ("DIDS055", 1, "test_date"),
                ("DIDS049", 2, "test_date"),
                ("DIDS049", 3, "test_date"),
                ("DIDS055", 4, "test_date"),
            ],
            context={"submitted": "2019-02-10T09:00"},
        )
        before = {"request_date": "2018-07-20", "request_received_date": "2018-07-21"}
        self.add_text(
            "dsp-utc-midnight",
            "submitted at 00:30 UK summer time on 1 August, which is still 31 July in UTC, the DSP's clock: a "
            "test and report on 1 August are after the submission, on 31 July they are not",
            [
                line({**before, "test_date": "2018-08-01", "report_issue_date": "2018-08-01"}),
                line({**before, "test_date": "2018-07-31", "report_issue_date": "2018-07-31"}, "ACC0002"),
            ],
            expected=[("DIDS051", 1, "test_date"), ("DIDS066", 1, "report_issue_date")],
            context={"submitted": "2018-08-01T00:30"},
        )
        self.add_text(
            "dsp-header-row",
            "a header row of the v1 column names: the DSP reads it as a record, which breaks the rules its values "
            "reach, reference look-ups included (no table holds a column name)",
            [",".join(self.pack.columns) + "\n", clean],
            expected=HEADER_ROW_FINDINGS,
        )

    def unreadable(self) -> None:
        good = self.root / self.profile / "clean-xml.xml"
        body = good.read_bytes().split(b"?>", 1)[1]
        namespace = load_pack(self.version).xml.namespace.encode()
        hostile = {
            "empty": ("csv", b"", "an empty file"),
            "binary": ("csv", bytes(range(256)) * 4, "binary bytes, not text"),
            "utf-16": (
                "csv",
                (self.root / self.profile / "clean-csv.csv").read_text("utf-8").encode("utf-16"),
                "UTF-16",
            ),
            "json": ("csv", b'{"records": []}\n', "JSON, not DIDS"),
            "xhtml": ("xml", b'<?xml version="1.0"?>\n<html><body/></html>\n', "XHTML, not DIDS"),
            "xxe": (
                "xml",
                b'<?xml version="1.0"?>\n<!DOCTYPE DIDS [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + body,
                "a DOCTYPE with an external entity (XXE): must be refused, never resolved",
            ),
            "billion-laughs": (
                "xml",
                b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
                b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n<DIDS xmlns="'
                + namespace
                + b'">&lol2;</DIDS>\n',
                "entity expansion (billion laughs): must be refused",
            ),
            "deep-nesting": (
                "xml",
                b'<?xml version="1.0"?>\n<DIDS xmlns="'
                + namespace
                + b'"><DIDSRecord>'
                + b"<a>" * 20_000
                + b"</a>" * 20_000
                + b"</DIDSRecord></DIDS>\n",
                "20,000 nested elements: must be refused without exhausting the stack",
            ),
        }
        for name, (fmt, content, why) in hostile.items():
            self.add_bytes(f"unreadable-{name}", fmt, f"unreadable: {why}", content, "generators/corpus.py")


def build_corpus(folder: str | Path, *, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the whole corpus into `folder` (replaced whole); returns the number of cases per profile.
    `progress` is told the number of cases written so far.

    The corpus is built in a temporary folder beside `folder` and swapped in only when complete: an error or an
    interruption leaves the old corpus as it was."""
    with OutputSet() as outputs:
        return _build(outputs.folder(folder), progress)


def _build(root: Path, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    reference = resources.files("conformance.check").joinpath("reference_synthetic")
    (root / "reference").mkdir()
    for entry in sorted(reference.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".csv", ".md")):
            (root / "reference" / entry.name).write_bytes(entry.read_bytes())
    from generators.local_codes import write_mapping

    (root / "v1-dsp").mkdir()
    write_mapping(root / V1_MAPPINGS)
    counts: dict[str, int] = {}
    for profile in ("v1-dsp", "v1-portal", "v2"):
        builder = Builder(root, profile)
        if progress is not None:
            done = sum(counts.values())
            builder.on_case = lambda: progress(done + len(builder.cases))  # noqa: B023 - called during this loop
        builder.build()
        manifest = {
            "$schema": "../manifest.schema.json",
            "schema": SCHEMA_ID,
            "corpus_version": CORPUS_VERSION,
            "profile": profile,
            "version": builder.version,
            "cases": [c.as_json() for c in builder.cases],
        }
        (root / profile / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        counts[profile] = len(builder.cases)
    (root / "VERSION").write_text(CORPUS_VERSION + "\n", encoding="utf-8")
    schema = resources.files("generators").joinpath("data/manifest.schema.json").read_bytes()
    (root / "manifest.schema.json").write_bytes(schema)
    readme = resources.files("generators").joinpath("data/corpus-README.md").read_bytes()
    (root / "README.md").write_bytes(readme)
    return counts
