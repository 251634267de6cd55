"""dids fixtures build | certify: the conformance corpus, and any validator scored against it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from conformance.cli._common import EXIT_FOUND, EXIT_OK, CannotRun, add_quiet, positive_float, positive_int
from conformance.spec import PROFILES

DEFAULT_CORPUS_DIR = Path("fixtures/corpus")
DEFAULT_UNIVERSE_DIR = Path("conformance/check/reference_synthetic")
ADAPTERS = ("exit", "json", "junit", "dq-xml")
PLACEHOLDERS = ("file", "format", "profile", "submitted", "period", "submitter", "reference", "local_mappings")


def register(commands: Any) -> None:
    fixtures = commands.add_parser("fixtures", help="the conformance corpus")
    fixtures_commands = fixtures.add_subparsers(dest="fixtures_command", required=True, metavar="COMMAND")
    build = fixtures_commands.add_parser(
        "build",
        help="regenerate the whole corpus from the generators, deterministically (replaces the folder when done)",
    )
    build.add_argument("--out", default=str(DEFAULT_CORPUS_DIR), help=f"corpus folder (default {DEFAULT_CORPUS_DIR})")
    add_quiet(build)
    universe = fixtures_commands.add_parser(
        "universe",
        help="rebuild the synthetic universe (organisations, postcodes, referrers) of the bundled reference data "
        "with Faker, seeded (for maintainers; generated months read these files)",
    )
    universe.add_argument(
        "--out", default=str(DEFAULT_UNIVERSE_DIR), help=f"reference folder (default {DEFAULT_UNIVERSE_DIR})"
    )
    fixtures.set_defaults(handler=run_fixtures)

    certify = commands.add_parser(
        "certify",
        help="run a validator over the conformance corpus and score it (exit 0 certified, 1 not, 2 could not run)",
        description="Run a validator over the conformance corpus and score every case: correct accept, correct "
        "reject with the right rules, wrong reason, false reject, false accept, error. A validator that crashes, "
        "times out, cannot start or says something its adapter cannot read scores error on that case, and any "
        "error means NOT CERTIFIED. Exit 0 when every case meets its expectation (or is an unexpired expected "
        "failure), 1 otherwise, 2 when certify could not run. "
        f"Placeholders for --validator: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}.",
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
    certify.add_argument("--adapter", choices=ADAPTERS, default="exit", help="how to read its answer")
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
    certify.add_argument("--timeout", type=positive_float, default=60.0, metavar="S", help="per case (default 60)")
    certify.add_argument("--jobs", type=positive_int, default=2, metavar="N", help="cases run at once (default 2)")
    certify.add_argument("--format", choices=("text", "json", "junit", "html"), default="text")
    certify.add_argument(
        "-o", "--output", metavar="OUT", help="write the report here, whole or not at all (text summary on stdout)"
    )
    certify.add_argument("--date", metavar="YYYY-MM-DD", help="the certificate's date (default today, UTC)")
    add_quiet(certify)
    certify.set_defaults(handler=run_certify)


def run_fixtures(args: argparse.Namespace, out: TextIO) -> int:
    if args.fixtures_command == "universe":
        from generators.universe import write_universe

        if not Path(args.out).is_dir():
            raise CannotRun(f"--out {args.out} is not a folder (run from the repository root, or give the folder)")
        for name, rows in write_universe(args.out).items():
            out.write(f"{name}: {rows} rows\n")
        out.write(f"universe written to {args.out}; rebuild the corpus (dids fixtures build) to follow it\n")
        return EXIT_OK
    from generators.corpus import build_corpus

    target = Path(args.out)
    if target.exists() and not target.is_dir():
        raise CannotRun(f"--out {target} is a file; the corpus is a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / "VERSION").is_file():
        # build replaces the folder whole: never a folder that holds something other than a corpus
        raise CannotRun(f"--out {target} holds files but no corpus (no VERSION); give a new or empty folder")
    from conformance.cli._progress import counting

    with counting(args.quiet, "fixtures build", unit="cases") as show:
        counts = build_corpus(target, progress=show)
    for profile, n in counts.items():
        out.write(f"{profile}: {n} cases\n")
    out.write(f"corpus written to {args.out}\n")
    return EXIT_OK


def run_certify(args: argparse.Namespace, out: TextIO) -> int:
    import fnmatch
    from datetime import UTC, date, datetime

    from conformance.certify import (
        CommandValidator,
        certify,
        load_corpus,
        load_expected_failures,
        to_html,
        to_json,
        to_junit,
        to_text,
    )
    from conformance.files import OutputSet, refuse_overlap

    try:
        today = date.fromisoformat(args.date) if args.date else datetime.now(UTC).date()
    except ValueError:
        raise CannotRun(f"--date {args.date!r} is not a date as YYYY-MM-DD") from None
    corpus = load_corpus(args.corpus, args.profile)
    validator = CommandValidator(args.validator, args.adapter, timeout=args.timeout)
    report_file = args.output if args.output != "-" else None  # '-': the report on standard output
    # The validator's own files (its script, a rule map), the waivers and the corpus are inputs the report must
    # not replace.
    own_files = [w for w in validator.words if "{" not in w and Path(w).is_file()]
    refuse_overlap([corpus.root, args.expected_failures, *own_files], {"the report (-o)": report_file})
    waivers = load_expected_failures(args.expected_failures) if args.expected_failures else []

    def select(case: Any) -> bool:
        by_id = not args.case or any(fnmatch.fnmatchcase(case.id, g) for g in args.case)
        return by_id and (not args.tag or bool(set(args.tag) & set(case.tags)))

    from conformance.cli._progress import counting

    render = {"text": to_text, "json": to_json, "junit": to_junit, "html": to_html}[args.format]
    selected = sum(1 for case in corpus.cases if select(case))
    with OutputSet() as outputs, counting(args.quiet, "certify", total=selected, unit="cases") as show:
        # The report's place is taken before the first case runs, so a bad -o fails at once, not after an hour.
        handle = outputs.open(report_file, "w", encoding="utf-8", newline="") if report_file else None
        try:
            result = certify(
                corpus,
                validator,
                description=validator.describe(),
                expected_failures=waivers,
                select=select,
                jobs=args.jobs,
                today=today,
                progress=show,
            )
            if handle is not None:
                handle.write(render(result))
        finally:
            if handle is not None:
                handle.close()
    if report_file:
        out.write(to_text(result, show=10))
        out.write(f"{args.format} report written to {report_file}\n")
    else:
        out.write(render(result))
    return EXIT_OK if result.passed else EXIT_FOUND
