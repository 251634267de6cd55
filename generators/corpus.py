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
- unreadable files: empty, binary, UTF-16, not DIDS, hostile XML (external entity, billion laughs, deep nesting).

The synthetic reference tables are copied to `reference/` so that any validator can load them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.calendar import months_between
from conformance.files import OutputSet
from conformance.formats import write_records
from conformance.spec import PROFILES, Pack, load_pack
from generators.breaks import V2_BASE, V2_VALID_VARIATIONS
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

    def add_bytes(self, case_id: str, fmt: str, description: str, content: bytes, origin: str) -> None:
        target, relative = self.path(case_id, fmt)
        target.write_bytes(content)
        context = self.context(BASE_PERIODS[self.version])
        self.cases.append(
            Case(case_id, relative, fmt, description, origin, context, "unreadable", [], ["unreadable"], True)
        )

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
                f"accepted: a procedure starting at {start}, a wall time the UK clock change makes special",
                [row],
                context=self.context(period),
                expected=[],
                origin="generators/breaks.py V2_BASE with its timeline on a clock-change day",
                tags=["v2-readiness", "bst"],
            )

    def _v2_start_edges(self) -> None:
        # Activity either side of 1 April 2026, reported for April 2026.
        april = self.pack.activity_from
        assert april is not None  # the v2 pack says when v2.0 activity starts
        edges: dict[str, tuple[str, list[tuple[str, int | None, str | None]]]] = {
            "activity-first-minute-of-v2": ("2026-04-01T00:00:00+01:00", []),
            "activity-last-minute-before-v2": (
                "2026-03-31T23:59:00+01:00",
                [("V2P-BEFORE-V2", 1, "procedure_start_timestamp")],
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


def build_corpus(folder: str | Path) -> dict[str, int]:
    """Write the whole corpus into `folder` (replaced whole); returns the number of cases per profile.

    The corpus is built in a temporary folder beside `folder` and swapped in only when complete: an error or an
    interruption leaves the old corpus as it was."""
    with OutputSet() as outputs:
        return _build(outputs.folder(folder))


def _build(root: Path) -> dict[str, int]:
    reference = resources.files("conformance.check").joinpath("reference_synthetic")
    (root / "reference").mkdir()
    for entry in sorted(reference.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".csv", ".md")):
            (root / "reference" / entry.name).write_bytes(entry.read_bytes())
    from generators.local_codes import write_mapping

    (root / "v1-dsp").mkdir()
    write_mapping(root / V1_MAPPINGS)
    counts = {}
    for profile in ("v1-dsp", "v1-portal", "v2"):
        builder = Builder(root, profile)
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
