"""dids check: a submission against a profile's rules."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from conformance.cli._common import (
    EXIT_CANNOT,
    EXIT_FOUND,
    EXIT_OK,
    CannotRun,
    add_input_layout,
    add_max_record_bytes,
    add_override,
    add_quiet,
    emit,
    non_negative_int,
)
from conformance.spec import PROFILES


def register(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="check submissions against a profile's rules (exit 0 accepted, 1 rejected, 2 could not check)",
        description="Check DIDS files ('-' for standard input), each in a single streaming pass. Exit 0 accepted, 1 "
        "rejected, 2 could not check; with several files, one report and the worst exit code of them all. A file "
        "with records that could not be read is never accepted.",
    )
    check.add_argument("files", nargs="+", metavar="FILE")
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
        metavar="synthetic|STORE|DIR",
        help="national reference data: 'synthetic' (bundled), a store built by 'dids reference import', or a "
        "directory of CSV files; without it, rules that need it are reported as not evaluated",
    )
    check.add_argument("--format", choices=("text", "json", "junit", "html"), default="text", help="report format")
    check.add_argument(
        "-o", "--output", default=None, metavar="OUT", help="write the report here (whole or not at all)"
    )
    check.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="reject on errors only (default) or on warnings too",
    )
    add_input_layout(check)
    add_quiet(check)
    add_override(check, "pack entries, rules included")
    check.add_argument(
        "--max-examples",
        type=non_negative_int,
        default=100,
        metavar="N",
        help="keep at most N example findings per rule; every finding is counted (default 100)",
    )
    add_max_record_bytes(check)
    check.add_argument(
        "--engine",
        choices=("auto", "columnar", "record"),
        default=None,
        help="how the rules run: 'record' one record at a time; 'columnar' over batches of rows with Polars, "
        "faster on large files; 'auto' columnar for files of 4 MiB or more (and standard input). The reports are "
        "identical (default: $DIDS_ENGINE, else auto)",
    )
    check.add_argument(
        "--jobs",
        type=non_negative_int,
        default=1,
        metavar="N",
        help="check a large CSV file in N worker processes (0: one per core), with the same report as one process "
        "(default 1). --jobs applies to CSV files; an XML file, standard input, a file under 4 MiB and an HTML "
        "report (its charts see every record) are checked in one process, with a note on stderr saying so. No "
        "progress bar while the workers run",
    )
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace, out: TextIO) -> int:
    from dataclasses import replace

    from conformance.check import load_reference, make_context
    from conformance.check.reference import load_local_mappings
    from conformance.check.report import to_html
    from conformance.cli._progress import chain, reading
    from conformance.files import refuse_overlap

    reference_dir = args.reference if args.reference not in (None, "synthetic", "none") else None
    refuse_overlap([*args.files, args.local_mappings, reference_dir, *args.override], {"the report (-o)": args.output})
    if args.files.count("-") > 1:
        raise CannotRun("standard input ('-') can be read once")
    context = make_context(args.submitted, args.period, args.submitter)
    reference = load_reference(args.reference)
    if args.local_mappings:
        if context.submitter is None:
            raise CannotRun("--local-mappings needs --submitter (the mapping table is per submitting organisation)")
        reference = replace(reference, local_nicip=load_local_mappings(args.local_mappings))
    if len(args.files) == 1:
        collector = None
        if args.format == "html":  # the charts' statistics, gathered in the same pass (imported only for HTML)
            from generators.stats import Collector

            collector = Collector()
        with reading(args.quiet or args.jobs != 1, "check") as progress, _notes(args):
            report = _check_one(args, args.files[0], context, reference, observe=chain(progress, collector))
        if collector is not None and collector.tally is not None:
            from generators.stats_html import charts

            text = to_html(report, charts=charts(collector.tally.stats(None)), reference=args.reference)
        else:
            text = _renderers()[args.format](report)
        emit(text, args.output, out, summary=f"{report.verdict}: report written to {args.output}")
        return EXIT_OK if report.verdict == "accepted" else EXIT_FOUND
    if args.format == "html":
        raise CannotRun("--format html reports on one file; give one file, or choose text, json or junit")
    return _check_many(args, context, reference, out)


def _renderers() -> dict[str, Any]:
    from conformance.check.report import to_html, to_json, to_junit, to_text

    return {"text": to_text, "json": to_json, "junit": to_junit, "html": to_html}


def _check_one(args: argparse.Namespace, path: str, context: Any, reference: Any, observe: Any = None) -> Any:
    from conformance.check import check

    return check(
        path,
        profile=args.profile,
        context=context,
        reference=reference,
        overrides=args.override,
        max_examples=args.max_examples,
        fail_on_warning=args.fail_on == "warning",
        input_format=args.input_format,
        max_record_bytes=args.max_record_bytes,
        observe=observe,
        engine=args.engine,
        jobs=args.jobs,
    )


@contextmanager
def _notes(args: argparse.Namespace) -> Iterator[None]:
    """With --jobs, the parallel check's notes (why a file was checked in one process) on stderr, unless --quiet."""
    if args.jobs == 1 or args.quiet:
        yield
        return
    import logging
    import sys

    logger = logging.getLogger("conformance.check.parallel")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("dids: note: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _check_many(args: argparse.Namespace, context: Any, reference: Any, out: TextIO) -> int:
    """Several files: each checked on its own (one that cannot be checked does not stop the rest), one report, and
    the worst exit code (2 could not check > 1 rejected > 0 accepted)."""
    from conformance.cli._progress import chain, reading
    from conformance.errors import DidsError

    results: list[tuple[str, Any, str]] = []  # (file, report or None, why it could not be checked)
    for path in args.files:
        try:
            with reading(args.quiet or args.jobs != 1, "check") as progress, _notes(args):
                results.append((path, _check_one(args, path, context, reference, observe=chain(progress, None)), ""))
        except (DidsError, OSError) as exc:
            results.append((path, None, str(exc).replace("\n", " ")))
    worst = max(EXIT_CANNOT if r is None else EXIT_OK if r.verdict == "accepted" else EXIT_FOUND for _, r, _ in results)
    text = {"text": _many_text, "json": _many_json, "junit": _many_junit}[args.format](results, worst)
    emit(text, args.output, out, summary=f"{_WORDS[worst]}: {len(results)} files, report written to {args.output}")
    return worst


_WORDS = {EXIT_OK: "accepted", EXIT_FOUND: "rejected", EXIT_CANNOT: "could not check"}


def _many_text(results: list[tuple[str, Any, str]], worst: int) -> str:
    render = _renderers()["text"]
    parts = []
    for path, report, why in results:
        parts.append(f"==> {path}\n" + (render(report) if report is not None else f"could not check: {why}\n"))
    verdicts = [r.verdict if r is not None else "could not check" for _, r, _ in results]
    tally = ", ".join(f"{verdicts.count(v)} {v}" for v in ("accepted", "rejected", "could not check") if v in verdicts)
    parts.append(f"{len(results)} files: {tally}\nOVERALL: {_WORDS[worst].upper()}\n")
    return "\n".join(parts)


def _many_json(results: list[tuple[str, Any, str]], worst: int) -> str:
    import json

    from conformance.check.report import to_json_data

    files = [to_json_data(r) if r is not None else {"file": p, "error": why} for p, r, why in results]
    payload = {"schema": "dids-check-files/1.0", "verdict": _WORDS[worst], "exit_code": worst, "files": files}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _many_junit(results: list[tuple[str, Any, str]], worst: int) -> str:
    """One <testsuites> holding each file's <testsuite>; a file that could not be checked is one error."""
    from lxml import etree

    from conformance.junit import TestCase, junit_xml

    render = _renderers()["junit"]
    root = etree.Element("testsuites", name="dids check")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for path, report, why in results:
        one = (
            render(report)
            if report is not None
            else junit_xml([TestCase("dids.check", "input can be checked", "error", why)], suite=path)
        )
        for suite in etree.fromstring(one.encode("utf-8")).iter("testsuite"):
            root.append(suite)
            for key in totals:
                totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode("utf-8")
