"""dids generate | stats: synthetic months, and what any DIDS file looks like beside Table C."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from conformance.cli._common import (
    EXIT_FOUND,
    EXIT_OK,
    CannotRun,
    add_input_layout,
    add_layout,
    add_quiet,
    emit,
    non_negative_int,
)
from conformance.spec import PROFILES

# The scenario names, said here so that `dids --help` need not import the generators.
SCENARIO_NAMES = (
    "source-setting-other",
    "request-equals-test",
    "missing-report-dates",
    "missing-gender-site",
    "duplicated-activity",
    "missing-month",
)


def register(commands: Any) -> None:
    generate = commands.add_parser(
        "generate",
        help="write a synthetic month of a radiology service as a DIDS file (deterministic from --seed)",
        description="Generate synthetic DIDS records: 999-range NHS numbers, the bundled synthetic reference "
        "universe, Table C completeness; optionally data-quality scenarios, mutants that break named rules and a "
        "JSON answer key of the findings a checker must report. Same options and seed give the same bytes, "
        "whatever the time zone or the number of workers. Every file is written whole or not at all.",
    )
    generate.add_argument("--profile", choices=sorted(PROFILES), default="v2")
    add_layout(generate, "the file layout (default csv)")
    generate.add_argument("--records", type=non_negative_int, default=1000, metavar="N")
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
    add_quiet(generate)
    generate.set_defaults(handler=run_generate)

    stats = commands.add_parser(
        "stats",
        help="field completeness and main distributions of a DIDS file beside Table C",
        description="Completeness and distributions of a DIDS file ('-' for standard input) beside Table C of "
        "the DID 2024/25 Technical Report, with the input ledger. Exit 0 when the file reads cleanly, 1 when it "
        "has problems (the figures then cover only what was read), 2 when it cannot be read as DIDS.",
    )
    stats.add_argument("file", metavar="FILE")
    stats.add_argument("--format", choices=("text", "json", "html"), default="text", help="report format")
    stats.add_argument(
        "-o", "--output", default=None, metavar="OUT", help="write the report here (whole or not at all)"
    )
    add_input_layout(stats)
    add_quiet(stats)
    stats.set_defaults(handler=run_stats)


def run_generate(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.calendar import parse_period
    from conformance.cli._progress import counting
    from generators.mutations import every_mutable_rule

    period = parse_period(args.period or ("2026-04" if PROFILES[args.profile] == "v2" else "2018-08"))
    layout = args.layout or "csv"
    mutate = list(args.mutate)
    if "all" in mutate:
        mutate = every_mutable_rule(args.profile, layout, period)
    common: dict[str, Any] = {
        "profile": args.profile,
        "format": layout,
        "records": args.records,
        "seed": args.seed,
        "period": period,
        "scenarios": args.scenario,
        "answer_key": args.answer_key,
        "workers": args.workers,
    }
    with counting(args.quiet, "generate", total=args.records * max(args.months, 1)) as show:
        common["progress"] = show
        written, files = _generate(args, common, mutate)
    if args.months != 1:
        for month, path in files:
            shown = path if path is not None else "not written (missing-month)"
            out.write(f"{args.records} {args.profile} records ({layout}) for {month:%Y-%m}: {shown}\n")
    else:
        out.write(f"{written} {args.profile} records ({layout}) for {period:%Y-%m}, seed {args.seed}: {args.output}\n")
    if mutate:
        out.write(f"{len(mutate)} mutation(s): {', '.join(mutate)}\n")
    if args.answer_key:
        out.write(f"answer key: {args.answer_key}\n")
    return EXIT_OK


def _generate(args: argparse.Namespace, common: dict[str, Any], mutate: list[str]) -> tuple[int, list[Any]]:
    from generators.generate import generate, generate_months

    try:
        if args.months != 1:
            if mutate or args.local_codes:
                raise CannotRun("--mutate and --local-codes work on one month at a time (leave out --months)")
            return 0, list(generate_months(args.output, months=args.months, **common))
        return generate(args.output, mutate=mutate, local_codes=args.local_codes, **common), []
    except ValueError as exc:  # a request the generator cannot make (its errors are ValueErrors)
        raise CannotRun(str(exc)) from None


def run_stats(args: argparse.Namespace, out: TextIO) -> int:
    import json

    from conformance.cli._progress import reading
    from conformance.files import refuse_overlap
    from generators.stats import completeness
    from generators.stats_html import to_html

    refuse_overlap([args.file], {"the report (-o)": args.output})
    with reading(args.quiet, "stats") as observe:
        stats = completeness(args.file, observe=observe, format=args.input_format)
    render = {"text": lambda: stats.to_text(), "json": lambda: json.dumps(stats.as_json(), indent=2) + "\n"}
    text = to_html(stats) if args.format == "html" else render[args.format]()
    emit(text, args.output, out, summary=f"{stats.records} record(s): statistics written to {args.output}")
    return EXIT_OK if stats.input is None or stats.input.clean else EXIT_FOUND
