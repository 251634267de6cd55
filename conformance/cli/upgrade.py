"""dids upgrade | readiness: v1 extracts to DIDS v2.0, and what stands between them."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from conformance.cli._common import (
    EXIT_FOUND,
    EXIT_OK,
    CannotRun,
    Deprecated,
    add_override,
    add_quiet,
    deprecation,
)
from conformance.formats import FORMATS


class _ReportFormat(argparse.Action):
    """`--format text|json` for the summary; `--format csv|xml`, the layout's old spelling, for one release."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        if values in FORMATS:
            deprecation(f"{option} {values}", f"--layout {values}")
            namespace.layout = values
        else:
            namespace.summary = values


def register(commands: Any) -> None:
    upgrade = commands.add_parser(
        "upgrade",
        help="upgrade a v1 file to DIDS v2.0, account for every item, and check the result (exit 0 accepted, 1 not)",
        description="Stream a v1 file (CSV or XML) into DIDS v2.0, one record at a time: read v1 leniently, write "
        "v2 strictly, say for every v2 item whether it was copied, normalised, recoded, synthesised, mapped or left "
        "empty and why, then check the upgraded file with the v2 profile. How each item is filled is data in the v2 "
        "pack's [upgrade] section. Outputs appear only when the upgrade finishes. Exit 0 when every record was read "
        "and written and the upgraded file is accepted (or --no-check), 1 when records were not read or written, "
        "the input had problems, or the result is rejected, 2 when it could not be upgraded.",
    )
    upgrade.add_argument("file", metavar="IN")
    upgrade.add_argument("-o", "--output", required=True, metavar="OUT")
    upgrade.add_argument("--layout", choices=FORMATS, default=None, help="output layout (default: the input's)")
    upgrade.add_argument(
        "--time-policy",
        default=None,
        metavar="POLICY",
        help="time of day given to v1 dates made timestamps: midday (default; the same UK day under either offset) "
        "or start-of-day",
    )
    upgrade.add_argument("--local-codes", metavar="FILE", help="the trust's local-code table (CSV or JSON lines)")
    upgrade.add_argument("--submitter", metavar="ORG", help="the organisation whose local codes apply")
    upgrade.add_argument(
        "--reference", metavar="synthetic|STORE|DIR", help="reference data for codes and the check (see dids reference)"
    )
    upgrade.add_argument("--no-check", action="store_true", help="do not check the upgraded file")
    upgrade.add_argument("--submitted", metavar="TIMESTAMP", help="submission time for the check (default now)")
    upgrade.add_argument("--period", metavar="YYYY-MM", help="reporting period for the check (default: inferred)")
    upgrade.add_argument("--account", metavar="FILE", help="write the per-record account here (JSON lines)")
    upgrade.add_argument(
        "--format",
        dest="summary",
        choices=("text", "json", *FORMATS),
        default="text",
        action=_ReportFormat,
        metavar="{text,json}",
        help="summary on stdout",
    )
    upgrade.add_argument("--summary", choices=("text", "json"), action=Deprecated, instead="--format")
    add_quiet(upgrade)
    add_override(upgrade)
    upgrade.set_defaults(handler=run_upgrade)

    ready = commands.add_parser(
        "readiness",
        help="what stands between a v1 extract and a clean v2.0 submission (exit 0 ready, 1 blocking items)",
        description="Tell a trust what stands between its v1 extract and a clean v2.0 submission. A file that "
        "cannot be read in full is never READY. Exit 0 ready, 1 blocking items, 2 could not read.",
    )
    ready.add_argument("file", metavar="IN")
    ready.add_argument("--local-codes", metavar="FILE", help="the trust's local-code table (CSV or JSON lines)")
    ready.add_argument("--submitter", metavar="ORG", help="the organisation whose local codes apply")
    ready.add_argument(
        "--reference",
        metavar="synthetic|STORE|DIR",
        help="reference data, to find unmapped local codes (see dids reference)",
    )
    ready.add_argument("--today", metavar="YYYY-MM-DD", help="the date windows are judged on (default today, UTC)")
    ready.add_argument("--format", choices=("text", "json"), default="text")
    ready.set_defaults(handler=run_readiness)


def run_upgrade(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.cli._progress import counting
    from v1_to_v2 import upgrade

    with counting(args.quiet, "upgrade") as show:
        summary = upgrade(
            args.file,
            args.output,
            format=args.layout,
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
    out.write(json.dumps(summary.as_json(), indent=2) + "\n" if args.summary == "json" else summary.to_text())
    return EXIT_OK if summary.clean else EXIT_FOUND


def run_readiness(args: argparse.Namespace, out: TextIO) -> int:
    from datetime import date

    from v1_to_v2 import readiness, readiness_json

    try:
        today = date.fromisoformat(args.today) if args.today else None
    except ValueError:
        raise CannotRun(f"--today {args.today!r} is not a date as YYYY-MM-DD") from None
    result = readiness(
        args.file, local_codes=args.local_codes, submitter=args.submitter, reference=args.reference, today=today
    )
    out.write(readiness_json(result) if args.format == "json" else result.to_text())
    return EXIT_FOUND if result.blocking else EXIT_OK
