"""What every subcommand shares: exit codes, the one error type, common options, progress and report output."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from conformance.errors import DidsError
from conformance.files import atomic_open
from conformance.formats import DEFAULT_MAX_RECORD_BYTES, FORMATS
from conformance.spec import VERSIONS

EXIT_OK, EXIT_FOUND, EXIT_CANNOT = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # 128 + SIGINT, 128 + SIGTERM, as shells report them


class CannotRun(DidsError):
    """The command cannot do its job; the message is the one line the user sees."""


def add_override(sub: argparse.ArgumentParser, what: str = "pack entries") -> None:
    sub.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="FILE",
        help=f"a TOML or JSON file replacing {what} (repeatable)",
    )


def add_max_record_bytes(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--max-record-bytes",
        type=positive_int,
        default=DEFAULT_MAX_RECORD_BYTES,
        metavar="N",
        help=f"the largest record (CSV row, XML DIDSRecord) read into memory; a larger one is a file problem "
        f"(default {DEFAULT_MAX_RECORD_BYTES:,})",
    )


def add_reading_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--dids-version",
        dest="version",
        choices=VERSIONS,
        default=None,
        help="read as this DIDS version (default: detect from the content)",
    )
    sub.add_argument("--version", dest="version", choices=VERSIONS, action=Deprecated, instead="--dids-version")
    add_input_layout(sub)
    add_override(sub)
    sub.add_argument(
        "--max-examples",
        type=non_negative_int,
        default=100,
        metavar="N",
        help="keep at most N examples of each problem kind; all are counted (default 100)",
    )
    add_max_record_bytes(sub)


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give 0 or more")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("give 1 or more")
    return value


MAX_SECONDS = 7 * 24 * 3600.0  # a week: more than any case needs, and within what the system's timers take


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds, at most {MAX_SECONDS:.0f}")
    return value


def emit(text: str, output: str | None, out: TextIO, *, summary: str) -> None:
    """Write a report to `output` (whole or not at all) and `summary` to stdout, or the report to stdout (no
    output, or '-')."""
    if output and output != "-":
        with atomic_open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        out.write(summary + "\n")
    else:
        out.write(text)


def add_quiet(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--quiet", action="store_true", help="no progress bar on standard error")


class Deprecated(argparse.Action):
    """An old spelling kept for one release: it does what its replacement does, and says so on standard error."""

    def __init__(self, option_strings: list[str], dest: str, *, instead: str, **kwargs: Any) -> None:
        self.instead = instead
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        deprecation(f"{option} {values}", f"{self.instead} {values}")
        setattr(namespace, self.dest, values)


def deprecation(old: str, new: str) -> None:
    sys.stderr.write(f"dids: warning: '{old}' is deprecated and goes in the next release; use '{new}'\n")


def add_layout(sub: argparse.ArgumentParser, help: str, *, old: tuple[str, ...] = ("--format",)) -> None:
    """`--layout csv|xml` for the layout a command writes, with its old spellings accepted for one release."""
    sub.add_argument("--layout", choices=FORMATS, default=None, help=help)
    for spelling in old:
        sub.add_argument(spelling, dest="layout", choices=FORMATS, action=Deprecated, instead="--layout")


def add_input_layout(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--input-layout",
        dest="input_format",
        choices=FORMATS,
        default=None,
        help="read as this layout (default: detect from the content)",
    )
    sub.add_argument(
        "--input-format", dest="input_format", choices=FORMATS, action=Deprecated, instead="--input-layout"
    )
