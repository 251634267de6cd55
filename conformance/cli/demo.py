"""dids demo: the main job on the bundled defaults (generate, check, upgrade, certify on a small synthetic month)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from conformance.cli._common import EXIT_OK, CannotRun

DEFAULT_PEER_DIR = Path("fixtures/peer/nhse-dsp-dids-v1")


def register(commands: Any) -> None:
    demo = commands.add_parser("demo", help="run the main job on the bundled defaults")
    demo.add_argument("--peer", default=str(DEFAULT_PEER_DIR), help=f"peer test data (default {DEFAULT_PEER_DIR})")
    demo.add_argument("--corpus", default=None, help="corpus (default: the one installed with the harness)")
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, out: TextIO) -> int:
    peer = Path(args.peer)
    if not peer.is_dir():
        raise CannotRun(f"no peer test data at {peer}; run from the repository root or pass --peer DIR")
    from conformance.formats import inspect, open_submission, write_records
    from conformance.spec import diff_packs, load_pack, render_diff_text

    out.write("== 1. What DIDS v2.0 changes (dids spec diff v1 v2) ==\n")
    out.write(render_diff_text(diff_packs(load_pack("v1"), load_pack("v2")), load_pack("v1"), load_pack("v2")))
    out.write("\n== 2. Reading NHS England's v1 test files (dids inspect) ==\n")
    files = sorted(peer.glob("csv/*/input.csv")) + sorted(peer.glob("xml/*/input.xml"))
    totals = {"files": 0, "records": 0, "with_problems": 0}
    for path in files:
        found = inspect(path, validate_xml=True, max_examples=3)
        out.write(found.to_text())
        totals["files"] += 1
        totals["records"] += found.records
        totals["with_problems"] += not found.ledger.clean
    out.write(
        f"read {totals['files']} files, {totals['records']} records; "
        f"{totals['with_problems']} file(s) with file-level problems (deliberate in the peer data)\n"
    )
    out.write("\n== 3. Round trip: v1 XML example -> CSV -> XML ==\n")
    example = peer / "xml/00001_example/input.xml"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        csv_path, xml_path = Path(tmp, "example.csv"), Path(tmp, "example.xml")
        first = open_submission(example)
        assert first.pack is not None
        write_records(first, csv_path, pack=first.pack, format="csv")
        second = open_submission(csv_path, version="v1")
        write_records(second, xml_path, pack=first.pack, format="xml")
        a = [r.values for r in open_submission(example)]
        b = [r.values for r in open_submission(xml_path)]
        out.write(f"{len(a)} records; values identical after the round trip: {a == b}\n")
    out.write(
        "\n== 4. Checking NHS England's v1 DQ cases (dids check --profile v1-dsp --submitted 2018-08-01T09:00) ==\n"
    )
    from conformance.check import check, make_context
    from conformance.check.report import to_text

    context = make_context("2018-08-01T09:00")  # the peer's submission day (UK time; the same day in UTC)
    for case in ("csv/00004_dq_errors/input.csv", "csv/00014_various_dq_passes/whitespace_in_input_fields.csv"):
        # No reference data: the peer's codes are real ODS / NICIP codes, which the synthetic pack does not hold,
        # so the rules that need national tables are listed as not evaluated.
        checked = check(peer / case, profile="v1-dsp", context=context)
        out.write(to_text(checked, examples=1))
        out.write("\n")
    out.write("\n== 5. A synthetic v2.0 month, and a mutant of it with its answer key (dids generate) ==\n")
    _demo_generate(out)
    out.write(
        "\n== 6. A trust's v1 extract for May 2026: readiness, then upgrade to v2.0 (dids readiness, upgrade) ==\n"
    )
    _demo_upgrade(out)
    out.write("\n== 7. Certifying a validator (ours) against the v2 corpus (dids certify) ==\n")
    _demo_certify(out, args.corpus)
    return EXIT_OK


def _demo_upgrade(out: TextIO) -> None:
    import tempfile
    from datetime import date

    from generators.generate import generate
    from v1_to_v2 import readiness, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        extract, table, upgraded = Path(tmp, "may-v1.csv"), Path(tmp, "local-codes.csv"), Path(tmp, "may-v2.xml")
        generate(extract, profile="v1-dsp", records=1_000, seed=2, period=date(2026, 5, 1), local_codes=table)
        ready = readiness(extract, reference="synthetic", today=date(2026, 6, 10))
        out.write(f"readiness without the local-code table: {'READY' if not ready.blocking else 'NOT READY'}\n")
        for finding in ready.findings:
            if finding.level == "blocking":
                message = finding.message if len(finding.message) <= 150 else finding.message[:150] + "..."
                out.write(f"  blocking: {message}\n")
        summary = upgrade(
            extract,
            upgraded,
            format="xml",
            local_codes=table,
            submitter="X9T",
            reference="synthetic",
            submitted="2026-06-10T09:00",
        )
        text = summary.to_text().splitlines()
        out.write(
            "\n".join([text[0], *[line for line in text if line.startswith(("local exam", "Check", "  verdict"))]])
        )
        out.write("\n")


# The cases certified through a command in the demo: every case would start one process each, which on a loaded
# machine takes minutes; these show the command path and the json adapter on every kind of answer.
DEMO_COMMAND_TAGS = ("window", "v2-start", "unreadable")


def _demo_certify(out: TextIO, corpus_dir: str | None) -> None:
    from conformance.certify import CommandValidator, OwnChecker, certify, load_corpus, to_text

    corpus = load_corpus(corpus_dir, "v2")  # None: the corpus installed with the harness
    jobs = os.cpu_count() or 1
    out.write(f"Our checker in this process, every case ({len(corpus.cases)}), held to every id (level exact):\n")
    own = OwnChecker()
    out.write(to_text(certify(corpus, own, description=own.describe(), jobs=jobs, level="exact"), show=5))
    chosen = [c for c in corpus.cases if set(DEMO_COMMAND_TAGS) & set(c.tags)]
    out.write(
        f"\nThe same checker as a command (`dids check ... --format json`, adapter json), as a vendor's would run, "
        f"on the {len(chosen)} {', '.join(DEMO_COMMAND_TAGS)} cases (the whole corpus: dids certify --validator):\n"
    )
    out.flush()
    command = (
        f"{sys.executable} -m conformance.cli check {{file}} --profile v2 --submitted {{submitted}} "
        "--period {period} --reference {reference} --format json"
    )
    result = certify(
        corpus,
        CommandValidator(command, "json"),
        description="dids check (this tool), as a command",
        select=lambda case: case in chosen,
        jobs=jobs,
        level="exact",
    )
    out.write(to_text(result, show=5))


def _demo_generate(out: TextIO) -> None:
    """Generate a small v2 month, check it, then break every rule one file can break and compare the findings
    with the answer key, as a certifying pipeline would."""
    from conformance.calendar import parse_period
    from conformance.check import check, load_reference, make_context
    from generators.generate import generate
    from generators.mutations import every_mutable_rule, submission_context
    from generators.stats import completeness

    period = parse_period("2026-05")
    reference = load_reference("synthetic")
    context = submission_context("v2", period)
    when = make_context(context["submitted"], period=context["period"])
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        month, mutant, key_path = Path(tmp, "month.csv"), Path(tmp, "mutant.xml"), Path(tmp, "key.json")
        generate(month, profile="v2", format="csv", records=2_000, seed=1, period=period)
        clean = check(month, profile="v2", context=when, reference=reference)
        stats = completeness(month)
        out.write(
            f"generated 2,000 v2 records for 2026-05: verdict {clean.verdict}, {len(clean.findings)} finding(s); "
            f"NHS number present {stats.present['nhs_number']:.1f}% (Table C 99.4%)\n"
        )
        rules = every_mutable_rule("v2", "xml", period)
        generate(
            mutant, profile="v2", format="xml", records=2_000, seed=1, period=period, mutate=rules, answer_key=key_path
        )
        key = json.loads(key_path.read_text(encoding="utf-8"))
        found = check(mutant, profile="v2", context=when, reference=reference, max_examples=1_000_000)
        got = {(f.rule, f.record, f.field) for f in found.findings}
        want = {(e["rule"], e["record"], e["field"]) for e in key["expected_findings"]}
        out.write(
            f"mutant (XML) breaking {len(rules)} rules: {len(want)} findings expected by the answer key, "
            f"{len(got)} reported; {len(got & want)} match, {len(want - got)} missed, {len(got - want)} unexpected\n"
        )
