"""dids inspect | convert: read DIDS files through, or re-encode them between CSV and XML."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from typing import Any, TextIO

from conformance.cli._common import EXIT_CANNOT, EXIT_FOUND, EXIT_OK, CannotRun, add_layout, add_reading_options


def register(commands: Any) -> None:
    inspect = commands.add_parser(
        "inspect",
        help="read DIDS files through and report version, layout, records and file-level problems",
        description="Read each file through ('-' for standard input) and account for it: version and layout, "
        "records read, records not read and why, what stopped reading, every other file problem. Exit 0 when "
        "every file reads cleanly, 1 when a file has problems, 2 when a file cannot be read as DIDS to its end.",
    )
    inspect.add_argument("files", nargs="+", metavar="FILE")
    add_reading_options(inspect)
    inspect.add_argument("--validate-xml", action="store_true", help="validate each XML record against the XSD")
    inspect.add_argument("--show", type=int, default=0, metavar="N", help="print the first N records")
    inspect.add_argument("--format", choices=("text", "json"), default="text")
    inspect.set_defaults(handler=run_inspect)

    convert = commands.add_parser(
        "convert",
        help="re-encode a DIDS file between CSV and XML (same version)",
        description="Re-encode a DIDS file between CSV and XML, same version, whole or not at all. Exit 0 when "
        "every record was read and written, 1 when some were not (the summary says which and why), 2 when the "
        "file cannot be read as DIDS.",
    )
    convert.add_argument("input", metavar="IN")
    convert.add_argument("-o", "--output", required=True, metavar="OUT")
    add_layout(convert, "output layout (default: the other one)", old=("--to", "--format"))
    add_reading_options(convert)
    convert.set_defaults(handler=run_convert)


def run_inspect(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.formats import inspect

    worst = EXIT_OK
    reports = []
    for path in args.files:
        found = inspect(
            path,
            version=args.version,
            format=args.input_format,
            overrides=args.override,
            validate_xml=args.validate_xml,
            show=args.show,
            max_examples=args.max_examples,
            max_record_bytes=args.max_record_bytes,
        )
        code = EXIT_CANNOT if not found.readable else EXIT_OK if found.ledger.clean else EXIT_FOUND
        worst = max(worst, code)
        if args.format == "text":
            out.write(found.to_text())
        reports.append(found.as_json())
    if args.format == "json":
        out.write(json.dumps(reports, indent=2) + "\n")
    return worst


def run_convert(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.files import refuse_overlap
    from conformance.formats import open_submission, write_records
    from conformance.markup import visible

    refuse_overlap([args.input, *args.override], {"the output (-o)": args.output})
    submission = open_submission(
        args.input,
        version=args.version,
        format=args.input_format,
        overrides=args.override,
        max_examples=args.max_examples,
        max_record_bytes=args.max_record_bytes,
    )
    if not submission.readable or submission.pack is None:
        fatal = submission.problems.fatal
        raise CannotRun(f"{args.input}: {fatal.describe() if fatal else 'cannot be read'}")
    target = args.layout or ("xml" if submission.format == "csv" else "csv")
    refused: Counter[str] = Counter()

    def on_refused(number: int, position: int, cause: str) -> None:
        refused[cause] += 1

    count = write_records(submission, args.output, pack=submission.pack, format=target, on_refused=on_refused)
    ledger = submission.ledger()
    ledger.records_written = count
    ledger.not_written = dict(refused)
    out.write(f"{submission.name} -> {args.output}: {count} DIDS {submission.version} record(s) as {target}\n")
    for problem in submission.problems:
        out.write(f"  {problem.kind}: {visible(problem.describe())}\n")
    out.write("\n".join("  " + line for line in ledger.lines()) + "\n")
    if not ledger.complete:
        out.write("  INCOMPLETE: records that were not read or not written are missing from the output\n")
    return EXIT_OK if ledger.clean else EXIT_FOUND
