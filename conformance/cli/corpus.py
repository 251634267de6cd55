"""dids fixtures build | corpus path | certify: the conformance corpus, and any validator scored against it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, TextIO

from conformance.cli._common import EXIT_FOUND, EXIT_OK, CannotRun, add_quiet, positive_float, positive_int
from conformance.spec import PROFILES

DEFAULT_CORPUS_DIR = Path("fixtures/corpus")
DEFAULT_UNIVERSE_DIR = Path("conformance/check/reference_synthetic")
ADAPTERS = ("exit", "json", "junit", "dq-xml")
PLACEHOLDERS = ("file", "format", "profile", "submitted", "period", "submitter", "reference", "local_mappings")
LEVELS = ("verdict", "official", "exact")
REPORT_FORMATS = ("text", "json", "junit", "html")


def _report_option(text: str) -> tuple[str, str]:
    form, _, path = text.partition("=")
    if form not in REPORT_FORMATS or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: give FORMAT=FILE with FORMAT one of {', '.join(REPORT_FORMATS)}")
    return form, path


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

    corpus = commands.add_parser("corpus", help="the conformance corpus installed with the harness")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", required=True, metavar="COMMAND")
    corpus_commands.add_parser("path", help="print the folder of the installed corpus (exit 2 when there is none)")
    corpus.set_defaults(handler=run_corpus)
    _register_certify(commands)


def _register_certify(commands: Any) -> None:
    certify = commands.add_parser(
        "certify",
        help="run a validator over the conformance corpus and score it (exit 0 certified, 1 not, 2 could not run)",
        description="Run a validator over the conformance corpus and score every case: correct accept, correct "
        "reject with the right rules, wrong reason, false reject, false accept, error. A validator that crashes, "
        "times out, cannot start or says something its adapter cannot read scores error on that case, and any "
        "error means NOT CERTIFIED. Exit 0 when every case meets its expectation (or is an unexpired expected "
        "failure), 1 otherwise, 2 when certify could not run; with --baseline, exit 1 on any regression or validator "
        "error. "
        f"Placeholders for --validator: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}.",
    )
    certify.add_argument("--profile", choices=sorted(PROFILES), required=True)
    which = certify.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--validator",
        metavar="CMD",
        help="the validator's command line with placeholders, run without a shell, e.g. "
        "'dids check {file} --profile v2 --submitted {submitted} --period {period} --reference {reference} "
        "--format json'",
    )
    which.add_argument(
        "--validator-file",
        metavar="TOML",
        help="a validator described once: command (a list of words), adapter, optional argument groups, "
        "environment, timeout, level, rule map and expected failures (see the README)",
    )
    which.add_argument(
        "--own-checker",
        action="store_true",
        help="certify this harness's own checker, in this process (level exact unless --level says otherwise)",
    )
    certify.add_argument(
        "--serve",
        metavar="CMD",
        help="with --validator: a command started once per job, to which each case's command line is sent as a JSON "
        "line instead of run as a process (e.g. 'dids serve'; see the README's served validators)",
    )
    certify.add_argument("--adapter", choices=ADAPTERS, default=None, help="how to read its answer (default exit)")
    certify.add_argument(
        "--level",
        choices=LEVELS,
        default=None,
        help="which findings must match: the verdict alone; official (the verdict and every official code at its "
        "record; our provisional ids optional; a file reject met by a file-level refusal); exact (every id). "
        "Default: official, or the validator file's level; exact for --own-checker",
    )
    certify.add_argument(
        "--rule-map",
        metavar="FILE",
        help="the validator's codes -> our rule ids or a field on the same record (CSV: code,rule,field; TOML: "
        "[codes]); codes that map to nothing are listed as unmapped, not scored",
    )
    certify.add_argument(
        "--corpus",
        default=None,
        help="corpus folder (default: the corpus installed with the harness; see dids corpus path)",
    )
    certify.add_argument(
        "--expected-failures", metavar="TOML", help="known gaps: [[expected-failure]] case|rule, reason, expires"
    )
    certify.add_argument(
        "--baseline",
        metavar="JSON",
        help="an earlier certify --format json report of the same validator: list every case whose outcome "
        "changed, and exit 1 on any regression or validator error (0 otherwise, certified or not)",
    )
    certify.add_argument(
        "--case", action="append", default=[], metavar="GLOB", help="only cases whose id matches (repeatable)"
    )
    certify.add_argument("--tag", action="append", default=[], help="only cases with this tag (repeatable)")
    certify.add_argument("--timeout", type=positive_float, default=None, metavar="S", help="per case (default 60)")
    certify.add_argument(
        "--jobs",
        type=positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="cases run at once (default: the number of cores)",
    )
    certify.add_argument("--format", choices=REPORT_FORMATS, default="text")
    certify.add_argument(
        "-o", "--output", metavar="OUT", help="write the report here, whole or not at all (text summary on stdout)"
    )
    certify.add_argument(
        "--report",
        action="append",
        default=[],
        type=_report_option,
        metavar="FORMAT=FILE",
        help="also write the report in this format to FILE (repeatable; e.g. junit=dids.xml html=dids.html), "
        "whole or not at all",
    )
    certify.add_argument("--date", metavar="YYYY-MM-DD", help="the certificate's date (default today, UTC)")
    add_quiet(certify)
    certify.set_defaults(handler=run_certify)


def run_corpus(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.certify import default_corpus

    out.write(f"{default_corpus()}\n")
    return EXIT_OK


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

    from conformance import certify as cert_api
    from conformance.files import OutputSet, refuse_overlap

    try:
        today = date.fromisoformat(args.date) if args.date else datetime.now(UTC).date()
    except ValueError:
        raise CannotRun(f"--date {args.date!r} is not a date as YYYY-MM-DD") from None
    corpus = cert_api.load_corpus(args.corpus, args.profile)
    validator, description, level, rule_map, waivers, own_files = _validator(args, corpus)
    report_file = args.output if args.output != "-" else None  # '-': the report on standard output
    # The validator's own files (its script, a rule map), the waivers, the baseline and the corpus are inputs the
    # report must not replace.
    inputs = [corpus.root, args.expected_failures, args.rule_map, args.baseline, *own_files]
    reports = {f"the {form} report ({path})": path for form, path in args.report}
    refuse_overlap(inputs, {"the report (-o)": report_file, **reports})
    baseline = cert_api.load_baseline(args.baseline) if args.baseline else None

    def select(case: Any) -> bool:
        by_id = not args.case or any(fnmatch.fnmatchcase(case.id, g) for g in args.case)
        return by_id and (not args.tag or bool(set(args.tag) & set(case.tags)))

    from conformance.cli._progress import counting

    selected = sum(1 for case in corpus.cases if select(case))
    with OutputSet() as outputs, counting(args.quiet, "certify", total=selected, unit="cases") as show:
        # The reports' places are taken before the first case runs, so a bad -o fails at once, not after an hour.
        handle = outputs.open(report_file, "w", encoding="utf-8", newline="") if report_file else None
        extra = [(form, outputs.open(path, "w", encoding="utf-8", newline="")) for form, path in args.report]
        try:
            result = cert_api.certify(
                corpus,
                validator,
                description=description,
                expected_failures=waivers,
                select=select,
                jobs=args.jobs,
                today=today,
                level=level,
                rule_map=rule_map,
                progress=None if show is None else lambda done, _total: show(done),
            )
            comparison = cert_api.compare(result, baseline, args.baseline) if baseline is not None else None
            rendered = _render(args.format, result, comparison)
            if handle is not None:
                handle.write(rendered)
            for form, other in extra:
                other.write(_render(form, result, comparison))
        finally:
            for opened in [handle, *(other for _, other in extra)]:
                if opened is not None:
                    opened.close()
    if report_file:
        out.write(cert_api.to_text(result, show=10))
        out.write(f"{args.format} report written to {report_file}\n")
    else:
        out.write(rendered)
    if comparison is not None:
        if report_file or args.format != "text":
            out.write(cert_api.comparison_text(comparison))
        return EXIT_OK if comparison.passed else EXIT_FOUND
    return EXIT_OK if result.passed else EXIT_FOUND


def _render(form: str, result: Any, comparison: Any) -> str:
    from conformance import certify as cert_api

    if form == "json":
        return cert_api.to_json(result, comparison)
    if form == "text" and comparison is not None:
        return cert_api.to_text(result) + cert_api.comparison_text(comparison)
    if form == "html":
        return cert_api.to_html(result, comparison)
    text: str = {"text": cert_api.to_text, "junit": cert_api.to_junit}[form](result)
    return text


def _validator(args: argparse.Namespace, corpus: Any) -> tuple[Any, str, str, Any, list[Any], list[Any]]:
    """(validator, its description, level, rule map, expected failures, its own files) from the options."""
    from conformance import certify as cert_api

    known = list(corpus.rule_codes)
    waivers = cert_api.load_expected_failures(args.expected_failures) if args.expected_failures else []
    rule_map = cert_api.load_rule_map(args.rule_map, known) if args.rule_map else None
    timeout = args.timeout or 60.0
    if args.serve and not args.validator:
        raise CannotRun("--serve goes with --validator (a validator file names its own serve)")
    if args.own_checker:
        if args.adapter or args.rule_map or args.timeout:
            raise CannotRun("--own-checker runs in this process: --adapter, --rule-map and --timeout do not apply")
        own = cert_api.OwnChecker()
        return own, own.describe(), args.level or "exact", None, waivers, []
    if args.validator_file:
        spec = cert_api.load_validator_file(args.validator_file)
        validator = spec.validator
        if args.adapter or args.timeout:
            validator = cert_api.CommandValidator(
                validator.words,
                args.adapter or validator.adapter,
                timeout=args.timeout or validator.timeout,
                optional=validator.optional,
                env=validator.extra_env,
                serve=validator.serve,
            )
        rule_map = rule_map or spec.load_rule_map(known)
        description = f"{spec.name}: {validator.describe()}"
        level = args.level or spec.level or "official"
        return validator, description, level, rule_map, [*spec.expected_failures, *waivers], spec.own_files
    validator = cert_api.CommandValidator(args.validator, args.adapter or "exit", timeout=timeout, serve=args.serve)
    own_files = [w for w in validator.words if "{" not in w and Path(w).is_file()]
    return validator, validator.describe(), args.level or "official", rule_map, waivers, own_files
