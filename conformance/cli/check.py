"""dids check: a submission against a profile's rules."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any, TextIO

from conformance.cli._common import (
    EXIT_FOUND,
    EXIT_OK,
    CannotRun,
    add_max_record_bytes,
    add_override,
    emit,
    non_negative_int,
)
from conformance.formats import FORMATS
from conformance.spec import PROFILES


def register(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="check a submission against a profile's rules (exit 0 accepted, 1 rejected, 2 could not check)",
        description="Check one DIDS file ('-' for standard input) in a single streaming pass. Exit 0 accepted, 1 "
        "rejected, 2 could not check. A file with records that could not be read is never accepted.",
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
        metavar="synthetic|STORE|DIR",
        help="national reference data: 'synthetic' (bundled), a store built by 'dids reference import', or a "
        "directory of CSV files; without it, rules that need it are reported as not evaluated",
    )
    check.add_argument("--format", choices=("text", "json", "junit"), default="text")
    check.add_argument(
        "-o", "--output", default=None, metavar="OUT", help="write the report here (whole or not at all)"
    )
    check.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="reject on errors only (default) or on warnings too",
    )
    check.add_argument("--input-format", choices=FORMATS, default=None, help="read as this layout (default: detect)")
    add_override(check, "pack entries, rules included")
    check.add_argument(
        "--max-examples",
        type=non_negative_int,
        default=100,
        metavar="N",
        help="keep at most N example findings per rule; every finding is counted (default 100)",
    )
    add_max_record_bytes(check)
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.check import check, load_reference, make_context
    from conformance.check.reference import load_local_mappings
    from conformance.check.report import to_json, to_junit, to_text
    from conformance.files import refuse_overlap

    reference_dir = args.reference if args.reference not in (None, "synthetic", "none") else None
    refuse_overlap([args.file, args.local_mappings, reference_dir, *args.override], {"the report (-o)": args.output})
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
        max_record_bytes=args.max_record_bytes,
    )
    render = {"text": to_text, "json": to_json, "junit": to_junit}[args.format]
    emit(render(report), args.output, out, summary=f"{report.verdict}: report written to {args.output}")
    return EXIT_OK if report.verdict == "accepted" else EXIT_FOUND
