"""The `dids` command: a thin front door over the library.

Exit codes: 0 success (or an accepted file), 1 the job ran and found problems, 2 the job could not be done (bad
arguments, unreadable input); in that last case one line on stderr says why, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TextIO

from conformance import __version__
from conformance.certify._validators import ADAPTERS as CERTIFY_ADAPTERS
from conformance.certify._validators import PLACEHOLDERS as CERTIFY_PLACEHOLDERS
from conformance.formats import FORMATS, Submission, open_submission, write_records, xsd_text
from conformance.spec import PROFILES, VERSIONS, Pack, PackDiff, PackError, diff_packs, load_pack
from generators.scenarios import SCENARIOS as SCENARIO_NAMES

EXIT_OK, EXIT_FOUND, EXIT_CANNOT = 0, 1, 2
DEFAULT_PEER_DIR = Path("fixtures/peer/nhse-dsp-dids-v1")
DEFAULT_CORPUS_DIR = Path("fixtures/corpus")


class CannotRun(Exception):
    """The command cannot do its job; the message is the one line the user sees."""


# --------------------------------------------------------------------------------------------------------------
# dids spec show | diff | xsd
# --------------------------------------------------------------------------------------------------------------


def _pack_json(pack: Pack) -> dict[str, Any]:
    data = asdict(pack)
    data.pop("index")
    return data


def _provenance_tag(status: str, overridden: str | None) -> str:
    return f"[{status}{', overridden' if overridden else ''}]"


def render_pack_text(pack: Pack) -> str:
    lines = [f"{pack.title}  (profiles: {', '.join(pack.profiles)}; pack provenance {pack.provenance.status})"]
    if pack.overrides:
        lines.append(f"overrides applied: {', '.join(pack.overrides)}")
    lines.append("")
    lines.append(f"{'#':>2}  {'column':<50} {'NHS Data Dictionary data element':<58} {'format':<34} mand  provenance")
    for n, item in enumerate(pack.items, 1):
        lines.append(
            f"{n:>2}  {item.column:<50} {item.name:<58} {item.format:<34} {item.mandation:<5} "
            f"{_provenance_tag(item.provenance.status, item.provenance.overridden_by)}"
        )
    lines.append("")
    lines.append("code lists:")
    for codelist in pack.codelists.values():
        codes = ", ".join(v.code for v in codelist.values[:12]) + (" ..." if len(codelist.values) > 12 else "")
        lines.append(
            f"  {codelist.id} ({len(codelist.values)}): {codes} "
            f"{_provenance_tag(codelist.provenance.status, codelist.provenance.overridden_by)}"
        )
        for value in codelist.values:
            if value.provenance.status != codelist.provenance.status or value.provenance.overridden_by:
                lines.append(
                    f"      {value.code} {value.meaning or ''} "
                    f"{_provenance_tag(value.provenance.status, value.provenance.overridden_by)}"
                )
    csv_layout, xml_layout = pack.csv, pack.xml
    lines.append("")
    lines.append(
        f"CSV: {'header row' if csv_layout.header else 'no header row'}, {len(pack.items)} columns, "
        f"{csv_layout.encoding} {_provenance_tag(csv_layout.provenance.status, None)}"
    )
    lines.append(
        f"XML: <{xml_layout.root}> in {xml_layout.namespace}, <{xml_layout.record}> with "
        + ", ".join(g.element for g in xml_layout.groups)
        + f" {_provenance_tag(xml_layout.provenance.status, None)}"
    )
    return "\n".join(lines) + "\n"


def render_diff_text(diff: PackDiff, old: Pack, new: Pack) -> str:
    titles = {
        "added": "New items",
        "retired": "Retired items",
        "renamed": "Renamed items",
        "recoded": "Changed code lists",
        "reformatted": "Changed formats",
        "remandated": "Changed mandation",
        "layout": "File layout",
    }
    lines = [
        f"What changes from {old.title} to {new.title}",
        f"{len(diff.changes)} changes; {len(diff.carried_over)} items carried over unchanged. "
        "Each change carries the provenance of the v2 entry behind it: [verified] from a public source, "
        "[inferred] or [assumed] where the TOS/ETOS is not public.",
    ]
    for kind, title in titles.items():
        changes = diff.of_kind(kind)
        if not changes:
            continue
        lines.append("")
        lines.append(f"{title} ({len(changes)}):")
        for change in changes:
            lines.append(f"  - {change.name}: {change.summary} {_provenance_tag(change.provenance.status, None)}")
    if diff.carried_over:
        lines.append("")
        lines.append("Carried over unchanged: " + ", ".join(new.item(i).name for i in diff.carried_over))
    return "\n".join(lines) + "\n"


def cmd_spec(args: argparse.Namespace, out: TextIO) -> int:
    if args.spec_command == "show":
        pack = load_pack(args.version, args.override)
        out.write(json.dumps(_pack_json(pack), indent=2) + "\n" if args.format == "json" else render_pack_text(pack))
    elif args.spec_command == "diff":
        old, new = load_pack(args.old, args.override), load_pack(args.new, args.override)
        diff = diff_packs(old, new)
        if args.format == "json":
            out.write(
                json.dumps(
                    {
                        "old": diff.old,
                        "new": diff.new,
                        "changes": [asdict(c) for c in diff.changes],
                        "carried_over": list(diff.carried_over),
                    },
                    indent=2,
                )
                + "\n"
            )
        else:
            out.write(render_diff_text(diff, old, new))
    elif args.spec_command == "xsd":
        out.write(xsd_text(load_pack(args.version, args.override)))
    return EXIT_OK


# --------------------------------------------------------------------------------------------------------------
# dids inspect | convert
# --------------------------------------------------------------------------------------------------------------


def _open(path: str, args: argparse.Namespace, validate_xml: bool = False) -> Submission:
    try:
        return open_submission(
            path,
            version=args.version,
            format=args.input_format,
            overrides=getattr(args, "override", ()),
            validate_xml=validate_xml,
            max_examples=args.max_examples,
        )
    except OSError as exc:
        raise CannotRun(f"cannot open {path}: {exc.strerror or exc}") from None


def inspect_file(path: str, args: argparse.Namespace, out: TextIO) -> tuple[int, dict[str, Any]]:
    """Read one file through; report version, layout, record count and every file problem."""
    submission = _open(path, args, validate_xml=args.validate_xml)
    shown: list[dict[str, Any]] = []
    count = 0
    for record in submission:
        count += 1
        if len(shown) < args.show and submission.pack is not None:
            shown.append(
                {
                    "record": record.number,
                    "line": record.line,
                    "path": record.path,
                    "values": dict(zip(submission.pack.columns, record.values, strict=True)),
                }
            )
    problems = submission.problems
    report = {
        "file": path,
        "version": submission.version,
        "format": submission.format,
        "header_row": submission.header,
        "readable": submission.readable,
        "records": count,
        "problems": [asdict(p) for p in problems],
        "problem_counts": dict(problems.counts),
        "examples_omitted": problems.omitted(),
        "first_records": shown,
    }
    if args.format == "text":
        what = f"DIDS {submission.version} {submission.format}" if submission.readable else "not read"
        out.write(f"{path}: {what}, {count} record(s), {len(problems)} file problem(s)\n")
        for problem in problems:
            out.write(f"  {problem.kind}: {problem.describe()}\n")
        for kind, n in problems.omitted().items():
            out.write(f"  ... and {n} more {kind} problem(s) not shown (--max-examples {args.max_examples})\n")
        for row in shown:
            out.write(f"  record {row['record']} (line {row['line']}): {json.dumps(row['values'])}\n")
    if not submission.readable:
        return EXIT_CANNOT, report
    return (EXIT_FOUND if problems.counts.keys() - {"bom", "header-row"} else EXIT_OK), report


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    worst = EXIT_OK
    reports = []
    for path in args.files:
        code, report = inspect_file(path, args, out)
        worst = max(worst, code)
        reports.append(report)
    if args.format == "json":
        out.write(json.dumps(reports, indent=2) + "\n")
    return worst


def cmd_convert(args: argparse.Namespace, out: TextIO) -> int:
    submission = _open(args.input, args)
    if not submission.readable or submission.pack is None:
        fatal = submission.problems.fatal
        raise CannotRun(f"{args.input}: {fatal.describe() if fatal else 'cannot be read'}")
    target = args.to or ("xml" if submission.format == "csv" else "csv")
    count = write_records(submission, args.output, pack=submission.pack, format=target)
    problems = submission.problems
    out.write(f"{args.input} -> {args.output}: {count} DIDS {submission.version} record(s) as {target}\n")
    for problem in problems:
        out.write(f"  {problem.kind}: {problem.describe()}\n")
    if problems.counts.keys() - {"bom", "header-row"}:
        out.write("  records with file problems were not converted; see above\n")
        return EXIT_FOUND
    return EXIT_OK


# --------------------------------------------------------------------------------------------------------------
# dids check
# --------------------------------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.check import CannotCheck, ContextError, check, load_reference, make_context
    from conformance.check.reference import ReferenceError_, load_local_mappings
    from conformance.check.report import to_json, to_junit, to_text

    try:
        context = make_context(args.submitted, args.period, args.submitter)
        reference = load_reference(args.reference)
        if args.local_mappings:
            if context.submitter is None:
                raise CannotRun("--local-mappings needs --submitter (the mapping table is per submitting organisation)")
            reference = replace(reference, local_nicip=load_local_mappings(args.local_mappings))
        report = check(
            args.file,
            profile=args.profile,
            context=context,
            reference=reference,
            overrides=args.override,
            max_examples=args.max_examples,
            fail_on_warning=args.fail_on == "warning",
            input_format=args.input_format,
        )
    except (CannotCheck, ContextError, ReferenceError_) as exc:
        raise CannotRun(str(exc)) from None
    render = {"text": to_text, "json": to_json, "junit": to_junit}[args.format]
    text = render(report)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        out.write(f"{report.verdict}: report written to {args.output}\n")
    else:
        out.write(text)
    return EXIT_OK if report.verdict == "accepted" else EXIT_FOUND


# --------------------------------------------------------------------------------------------------------------
# dids demo: the main job on bundled defaults
# --------------------------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    peer = Path(args.peer)
    if not peer.is_dir():
        raise CannotRun(f"no peer test data at {peer}; run from the repository root or pass --peer DIR")
    out.write("== 1. What DIDS v2.0 changes (dids spec diff v1 v2) ==\n")
    out.write(render_diff_text(diff_packs(load_pack("v1"), load_pack("v2")), load_pack("v1"), load_pack("v2")))
    out.write("\n== 2. Reading NHS England's v1 test files (dids inspect) ==\n")
    files = sorted(peer.glob("csv/*/input.csv")) + sorted(peer.glob("xml/*/input.xml"))
    inspect_args = argparse.Namespace(
        version=None, input_format=None, validate_xml=True, show=0, format="text", max_examples=3, override=()
    )
    totals = {"files": 0, "records": 0, "with_problems": 0}
    for path in files:
        code, report = inspect_file(str(path), inspect_args, out)
        totals["files"] += 1
        totals["records"] += report["records"]
        totals["with_problems"] += code != EXIT_OK
    out.write(
        f"read {totals['files']} files, {totals['records']} records; "
        f"{totals['with_problems']} file(s) with file-level problems (deliberate in the peer data)\n"
    )
    out.write("\n== 3. Round trip: v1 XML example -> CSV -> XML ==\n")
    example = peer / "xml/00001_example/input.xml"
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
        "\n== 4. Checking NHS England's v1 DQ cases (dids check --profile v1-dsp --submitted 2018-09-01T00:00) ==\n"
    )
    from conformance.check import check, make_context
    from conformance.check.report import to_text

    context = make_context("2018-09-01T00:00")
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
    out.write("\n== 7. Certifying a validator (ours, as a command) against the v2 corpus (dids certify) ==\n")
    _demo_certify(out, Path(args.corpus))
    return EXIT_OK


def _demo_upgrade(out: TextIO) -> None:
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


def _demo_certify(out: TextIO, corpus_dir: Path) -> None:
    from conformance.certify import CommandValidator, certify, load_corpus, to_text

    if not (corpus_dir / "v2" / "manifest.json").is_file():
        raise CannotRun(f"no corpus at {corpus_dir}; run from the repository root or pass --corpus DIR")
    command = (
        f"{sys.executable} -m conformance.cli check {{file}} --profile v2 --submitted {{submitted}} "
        "--period {period} --reference {reference} --format json"
    )
    validator = CommandValidator(command, "json")
    result = certify(load_corpus(corpus_dir, "v2"), validator, description="dids check (this tool)", jobs=2)
    out.write(to_text(result, show=5))


def _demo_generate(out: TextIO) -> None:
    """Generate a small v2 month, check it, then break every rule one file can break and compare the findings
    with the answer key, as a certifying pipeline would."""
    from conformance.check import check, load_reference, make_context
    from conformance.check._context import parse_period
    from generators.generate import generate
    from generators.mutations import every_mutable_rule, submission_context
    from generators.stats import completeness

    period = parse_period("2026-05")
    reference = load_reference("synthetic")
    context = submission_context("v2", period)
    when = make_context(context["submitted"], period=context["period"])
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


# --------------------------------------------------------------------------------------------------------------
# Argument parsing
# --------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dids",
        description="Conformance and migration harness for NHS England's Diagnostic Imaging Data Set (DIDS). "
        "Exit codes: 0 ok, 1 problems found, 2 could not run.",
    )
    parser.add_argument("--version", action="version", version=f"dids {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    spec = commands.add_parser("spec", help="show the spec packs, the v1 -> v2.0 change list, or the XSDs")
    spec_commands = spec.add_subparsers(dest="spec_command", required=True, metavar="SPEC_COMMAND")
    show = spec_commands.add_parser("show", help="print a spec pack: items, code lists, layouts, provenance")
    show.add_argument("version", choices=VERSIONS)
    show.add_argument("--format", choices=("text", "json"), default="text")
    diff = spec_commands.add_parser("diff", help="what changed between two versions (the v2.0 change list)")
    diff.add_argument("old", choices=VERSIONS)
    diff.add_argument("new", choices=VERSIONS)
    diff.add_argument("--format", choices=("text", "json"), default="text")
    xsd = spec_commands.add_parser("xsd", help="print the XML Schema derived from a pack")
    xsd.add_argument("version", choices=VERSIONS)
    for sub in (show, diff, xsd):
        sub.add_argument(
            "--override",
            action="append",
            default=[],
            metavar="FILE",
            help="a TOML or JSON file replacing pack entries (repeatable)",
        )

    def reading_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--version",
            dest="version",
            choices=VERSIONS,
            default=None,
            help="read as this DIDS version (default: detect from the content)",
        )
        sub.add_argument(
            "--input-format",
            choices=FORMATS,
            default=None,
            help="read as this layout (default: detect from the content)",
        )
        sub.add_argument(
            "--override",
            action="append",
            default=[],
            metavar="FILE",
            help="a TOML or JSON file replacing pack entries (repeatable)",
        )
        sub.add_argument(
            "--max-examples",
            type=int,
            default=100,
            metavar="N",
            help="keep at most N examples of each problem kind; all are counted (default 100)",
        )

    inspect = commands.add_parser(
        "inspect", help="read DIDS files through and report version, layout, records and file-level problems"
    )
    inspect.add_argument("files", nargs="+", metavar="FILE")
    reading_options(inspect)
    inspect.add_argument("--validate-xml", action="store_true", help="validate each XML record against the XSD")
    inspect.add_argument("--show", type=int, default=0, metavar="N", help="print the first N records")
    inspect.add_argument("--format", choices=("text", "json"), default="text")

    convert = commands.add_parser("convert", help="re-encode a DIDS file between CSV and XML (same version)")
    convert.add_argument("input", metavar="IN")
    convert.add_argument("-o", "--output", required=True, metavar="OUT")
    convert.add_argument("--to", choices=FORMATS, default=None, help="output layout (default: the other one)")
    reading_options(convert)

    check = commands.add_parser(
        "check",
        help="check a submission against a profile's rules (exit 0 accepted, 1 rejected, 2 could not check)",
        description="Check one DIDS file in a single streaming pass. Exit 0 accepted, 1 rejected, 2 could not check.",
    )
    check.add_argument("file", metavar="FILE")
    check.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="rule set (default: v1-dsp for v1 files, v2 for v2 files, detected from the content)",
    )
    check.add_argument(
        "--submitted",
        default=None,
        metavar="TIMESTAMP",
        help="when the file is submitted, ISO 8601 (a time without offset is UK local time); "
        "default: now. Decides the submission windows and the 'no future dates' rules",
    )
    check.add_argument(
        "--period",
        default=None,
        metavar="YYYY-MM",
        help="v2 reporting period (month) of the file; without it the period and submission-window rules are "
        "reported as not evaluated",
    )
    check.add_argument("--submitter", default=None, metavar="ORG", help="submitting organisation code")
    check.add_argument(
        "--local-mappings",
        default=None,
        metavar="FILE",
        help="v1: the submitter's local exam codes and their NICIP codes (CSV or JSON lines with "
        "SUBMITTER_ORGANISATION, LOCAL_IMAGING_CODE, IMAGING_CODE_NICIP, like NHS England's nicip_local_mappings); "
        "mapped before the rules run, as the DSP does. Needs --submitter",
    )
    check.add_argument(
        "--reference",
        default=None,
        metavar="synthetic|DIR",
        help="national reference data: 'synthetic' (bundled) or a directory of CSV files; without "
        "it, rules that need it are reported as not evaluated",
    )
    check.add_argument("--format", choices=("text", "json", "junit"), default="text")
    check.add_argument("-o", "--output", default=None, metavar="OUT", help="write the report here")
    check.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="reject on errors only (default) or on warnings too",
    )
    check.add_argument("--input-format", choices=FORMATS, default=None, help="read as this layout (default: detect)")
    check.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="FILE",
        help="a TOML or JSON file replacing pack entries, rules included (repeatable)",
    )
    check.add_argument(
        "--max-examples",
        type=int,
        default=100,
        metavar="N",
        help="keep at most N example findings per rule; every finding is counted (default 100)",
    )

    generate = commands.add_parser(
        "generate",
        help="write a synthetic month of a radiology service as a DIDS file (deterministic from --seed)",
        description="Generate synthetic DIDS records: 999-range NHS numbers, the bundled synthetic reference "
        "universe, Table C completeness; optionally data-quality scenarios, mutants that break named rules and a "
        "JSON answer key of the findings a checker must report. Same options and seed give the same bytes, "
        "whatever the time zone or the number of workers.",
    )
    generate.add_argument("--profile", choices=sorted(PROFILES), default="v2")
    generate.add_argument("--format", choices=FORMATS, default="csv")
    generate.add_argument("--records", type=int, default=1000, metavar="N")
    generate.add_argument("--seed", type=int, default=1, metavar="S")
    generate.add_argument(
        "--period",
        default=None,
        metavar="YYYY-MM",
        help="the month of activity (default 2026-04 for v2, 2018-08 for v1)",
    )
    generate.add_argument("-o", "--output", required=True, metavar="OUT", help="the file (a folder with --months)")
    generate.add_argument(
        "--scenario",
        action="append",
        default=[],
        choices=SCENARIO_NAMES,
        metavar="NAME",
        help=f"a data-quality problem from the Technical Report, repeatable: {', '.join(SCENARIO_NAMES)}",
    )
    generate.add_argument(
        "--mutate",
        action="append",
        default=[],
        metavar="RULE",
        help="break this rule once (a record, the file or the submission), repeatable; 'all' for every rule the "
        "profile and format allow",
    )
    generate.add_argument("--answer-key", metavar="FILE", help="write the JSON answer key here")
    generate.add_argument(
        "--local-codes",
        metavar="MAPPING",
        help="v1: send the trust's local exam codes for some records and write its local-code mapping table "
        "(nicip_local_mappings columns) to MAPPING; check with --local-mappings MAPPING --submitter X9T",
    )
    generate.add_argument("--months", type=int, default=1, metavar="N", help="N consecutive months, one file each")
    generate.add_argument("--workers", type=int, metavar="N", help="worker processes (default: by size and cores)")
    generate.add_argument("--quiet", action="store_true", help="no progress on standard error")

    stats = commands.add_parser("stats", help="field completeness and main distributions of a DIDS file beside Table C")
    stats.add_argument("file", metavar="FILE")

    upgrade = commands.add_parser(
        "upgrade",
        help="upgrade a v1 file to DIDS v2.0, account for every item, and check the result (exit 0 accepted, 1 not)",
        description="Stream a v1 file (CSV or XML) into DIDS v2.0, one record at a time: read v1 leniently, write "
        "v2 strictly, say for every v2 item whether it was copied, normalised, recoded, synthesised, mapped or left "
        "empty and why, then check the upgraded file with the v2 profile. How each item is filled is data in the v2 "
        "pack's [upgrade] section. Exit 0 when the upgraded file is accepted (or --no-check), 1 when rejected, 2 "
        "when it could not be upgraded.",
    )
    upgrade.add_argument("file", metavar="IN")
    upgrade.add_argument("-o", "--output", required=True, metavar="OUT")
    upgrade.add_argument("--format", choices=FORMATS, default=None, help="output layout (default: the input's)")
    upgrade.add_argument(
        "--time-policy",
        default=None,
        metavar="POLICY",
        help="time of day given to v1 dates made timestamps: midday (default; the same UK day under either offset) "
        "or start-of-day",
    )
    upgrade.add_argument("--local-codes", metavar="FILE", help="the trust's local-code table (CSV or JSON lines)")
    upgrade.add_argument("--submitter", metavar="ORG", help="the organisation whose local codes apply")
    upgrade.add_argument("--reference", metavar="synthetic|DIR", help="reference data for codes and the check")
    upgrade.add_argument("--no-check", action="store_true", help="do not check the upgraded file")
    upgrade.add_argument("--submitted", metavar="TIMESTAMP", help="submission time for the check (default now)")
    upgrade.add_argument("--period", metavar="YYYY-MM", help="reporting period for the check (default: inferred)")
    upgrade.add_argument("--account", metavar="FILE", help="write the per-record account here (JSON lines)")
    upgrade.add_argument("--summary", choices=("text", "json"), default="text", help="summary on stdout")
    upgrade.add_argument("--override", action="append", default=[], metavar="TOML", help="pack override")

    ready = commands.add_parser(
        "readiness",
        help="what stands between a v1 extract and a clean v2.0 submission (exit 0 ready, 1 blocking items)",
    )
    ready.add_argument("file", metavar="IN")
    ready.add_argument("--local-codes", metavar="FILE", help="the trust's local-code table (CSV or JSON lines)")
    ready.add_argument("--submitter", metavar="ORG", help="the organisation whose local codes apply")
    ready.add_argument("--reference", metavar="synthetic|DIR", help="reference data, to find unmapped local codes")
    ready.add_argument("--today", metavar="YYYY-MM-DD", help="the date windows are judged on (default today, UTC)")
    ready.add_argument("--format", choices=("text", "json"), default="text")

    fixtures = commands.add_parser("fixtures", help="the conformance corpus")
    fixtures_commands = fixtures.add_subparsers(dest="fixtures_command", required=True, metavar="COMMAND")
    build = fixtures_commands.add_parser(
        "build", help="regenerate the whole corpus from the generators, deterministically (replaces the folder)"
    )
    build.add_argument("--out", default=str(DEFAULT_CORPUS_DIR), help=f"corpus folder (default {DEFAULT_CORPUS_DIR})")

    certify = commands.add_parser(
        "certify",
        help="run a validator over the conformance corpus and score it (exit 0 certified, 1 not, 2 could not run)",
        description="Run a validator over the conformance corpus and score every case: correct accept, correct "
        "reject with the right rules, wrong reason, false reject, false accept, error. Exit 0 when every case meets "
        "its expectation (or is an unexpired expected failure), 1 otherwise, 2 when certify could not run. "
        f"Placeholders for --validator: {', '.join('{' + p + '}' for p in CERTIFY_PLACEHOLDERS)}.",
    )
    certify.add_argument("--profile", choices=sorted(PROFILES), required=True)
    certify.add_argument(
        "--validator",
        required=True,
        metavar="CMD",
        help="the validator's command line with placeholders, run without a shell, e.g. "
        "'dids check {file} --profile v2 --submitted {submitted} --period {period} --reference {reference} "
        "--format json'",
    )
    certify.add_argument("--adapter", choices=CERTIFY_ADAPTERS, default="exit", help="how to read its answer")
    certify.add_argument(
        "--corpus", default=str(DEFAULT_CORPUS_DIR), help=f"corpus folder (default {DEFAULT_CORPUS_DIR})"
    )
    certify.add_argument(
        "--expected-failures", metavar="TOML", help="known gaps: [[expected-failure]] case|rule, reason, expires"
    )
    certify.add_argument(
        "--case", action="append", default=[], metavar="GLOB", help="only cases whose id matches (repeatable)"
    )
    certify.add_argument("--tag", action="append", default=[], help="only cases with this tag (repeatable)")
    certify.add_argument("--timeout", type=float, default=60.0, metavar="S", help="per case (default 60)")
    certify.add_argument("--jobs", type=int, default=2, metavar="N", help="cases run at once (default 2)")
    certify.add_argument("--format", choices=("text", "json", "junit", "html"), default="text")
    certify.add_argument("-o", "--output", metavar="OUT", help="write the report here (text summary on stdout)")
    certify.add_argument("--date", metavar="YYYY-MM-DD", help="the certificate's date (default today, UTC)")

    demo = commands.add_parser("demo", help="run the main job on the bundled defaults")
    demo.add_argument("--peer", default=str(DEFAULT_PEER_DIR), help=f"peer test data (default {DEFAULT_PEER_DIR})")
    demo.add_argument("--corpus", default=str(DEFAULT_CORPUS_DIR), help=f"corpus (default {DEFAULT_CORPUS_DIR})")
    return parser


def cmd_generate(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.check import ContextError
    from conformance.check._context import parse_period
    from generators.generate import generate, generate_months
    from generators.mutations import MutationError, every_mutable_rule
    from generators.scenarios import ScenarioError

    if args.records < 0:
        raise CannotRun("--records must be 0 or more")
    try:
        default = "2026-04" if PROFILES[args.profile] == "v2" else "2018-08"
        period = parse_period(args.period or default)
    except ContextError as exc:
        raise CannotRun(str(exc)) from None

    def show(n: int) -> None:
        sys.stderr.write(f"\r{n:,} records")

    progress = None if args.quiet or args.records < 100_000 else show
    mutate = list(args.mutate)
    if "all" in mutate:
        mutate = every_mutable_rule(args.profile, args.format, period)
    common: dict[str, Any] = {
        "profile": args.profile,
        "format": args.format,
        "records": args.records,
        "seed": args.seed,
        "period": period,
        "scenarios": args.scenario,
        "answer_key": args.answer_key,
        "progress": progress,
        "workers": args.workers,
    }
    try:
        if args.months != 1:
            if mutate or args.local_codes:
                raise CannotRun("--mutate and --local-codes work on one month at a time (leave out --months)")
            files = generate_months(args.output, months=args.months, **common)
        else:
            written = generate(args.output, mutate=mutate, local_codes=args.local_codes, **common)
    except (MutationError, ScenarioError, ValueError) as exc:
        raise CannotRun(str(exc)) from None
    if progress is not None:
        sys.stderr.write("\n")
    if args.months != 1:
        for month, path in files:
            shown = path if path is not None else "not written (missing-month)"
            out.write(f"{args.records} {args.profile} records ({args.format}) for {month:%Y-%m}: {shown}\n")
    else:
        out.write(
            f"{written} {args.profile} records ({args.format}) for {period:%Y-%m}, seed {args.seed}: {args.output}\n"
        )
    if mutate:
        out.write(f"{len(mutate)} mutation(s): {', '.join(mutate)}\n")
    if args.answer_key:
        out.write(f"answer key: {args.answer_key}\n")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    from generators.stats import completeness

    try:
        out.write(completeness(args.file).to_text())
    except ValueError as exc:
        raise CannotRun(str(exc)) from None
    return EXIT_OK


def cmd_upgrade(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.check import CannotCheck, ContextError
    from conformance.check.reference import ReferenceError_
    from v1_to_v2 import UpgradeError, upgrade

    def show(n: int) -> None:
        sys.stderr.write(f"\r{n:,} records")

    try:
        summary = upgrade(
            args.file,
            args.output,
            format=args.format,
            time_policy=args.time_policy,
            local_codes=args.local_codes,
            submitter=args.submitter,
            reference=args.reference,
            check_output=not args.no_check,
            submitted=args.submitted,
            period=args.period,
            account=args.account,
            overrides=args.override,
            progress=show,
        )
    except (UpgradeError, CannotCheck, ContextError, ReferenceError_, PackError) as exc:
        raise CannotRun(str(exc)) from None
    if summary.records >= 100_000:
        sys.stderr.write("\n")
    out.write(json.dumps(summary.as_json(), indent=2) + "\n" if args.summary == "json" else summary.to_text())
    return EXIT_FOUND if summary.check is not None and summary.check.verdict == "rejected" else EXIT_OK


def cmd_readiness(args: argparse.Namespace, out: TextIO) -> int:
    from datetime import date

    from conformance.check.reference import ReferenceError_
    from v1_to_v2 import UpgradeError, readiness, readiness_json

    try:
        today = date.fromisoformat(args.today) if args.today else None
        result = readiness(
            args.file, local_codes=args.local_codes, submitter=args.submitter, reference=args.reference, today=today
        )
    except (UpgradeError, ReferenceError_, ValueError) as exc:
        raise CannotRun(str(exc)) from None
    out.write(readiness_json(result) if args.format == "json" else result.to_text())
    return EXIT_FOUND if result.blocking else EXIT_OK


def cmd_fixtures(args: argparse.Namespace, out: TextIO) -> int:
    from generators.corpus import build_corpus

    counts = build_corpus(args.out)
    for profile, n in counts.items():
        out.write(f"{profile}: {n} cases\n")
    out.write(f"corpus written to {args.out}\n")
    return EXIT_OK


def cmd_certify(args: argparse.Namespace, out: TextIO) -> int:
    import fnmatch
    from datetime import UTC, date, datetime

    from conformance.certify import (
        CertifyError,
        CommandValidator,
        CorpusError,
        certify,
        load_corpus,
        load_expected_failures,
        to_html,
        to_json,
        to_junit,
        to_text,
    )

    try:
        corpus = load_corpus(args.corpus, args.profile)
        validator = CommandValidator(args.validator, args.adapter, timeout=args.timeout)
        waivers = load_expected_failures(args.expected_failures) if args.expected_failures else []
        today = date.fromisoformat(args.date) if args.date else datetime.now(UTC).date()

        def select(case: Any) -> bool:
            by_id = not args.case or any(fnmatch.fnmatchcase(case.id, g) for g in args.case)
            return by_id and (not args.tag or bool(set(args.tag) & set(case.tags)))

        result = certify(
            corpus,
            validator,
            description=validator.describe(),
            expected_failures=waivers,
            select=select,
            jobs=args.jobs,
            today=today,
        )
    except (CorpusError, CertifyError, ValueError) as exc:
        raise CannotRun(str(exc)) from None
    render = {"text": to_text, "json": to_json, "junit": to_junit, "html": to_html}[args.format]
    if args.output:
        Path(args.output).write_text(render(result), encoding="utf-8")
        out.write(to_text(result, show=10))
        out.write(f"{args.format} report written to {args.output}\n")
    else:
        out.write(render(result))
    return EXIT_OK if result.passed else EXIT_FOUND


HANDLERS = {
    "upgrade": cmd_upgrade,
    "readiness": cmd_readiness,
    "fixtures": cmd_fixtures,
    "certify": cmd_certify,
    "generate": cmd_generate,
    "stats": cmd_stats,
    "check": cmd_check,
    "spec": cmd_spec,
    "inspect": cmd_inspect,
    "convert": cmd_convert,
    "demo": cmd_demo,
}


def run(argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its one-line usage error
        return EXIT_OK if exc.code == 0 else EXIT_CANNOT
    try:
        return HANDLERS[args.command](args, stdout)
    except (CannotRun, PackError) as exc:
        stderr.write(f"dids: error: {exc}\n")
    except OSError as exc:
        stderr.write(f"dids: error: {exc}\n")
    except Exception as exc:
        if args.debug:
            raise
        stderr.write(f"dids: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)\n")
    return EXIT_CANNOT


def main(argv: Sequence[str] | None = None) -> int:
    return run(sys.argv[1:] if argv is None else argv, sys.stdout, sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
