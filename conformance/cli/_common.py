"""What every subcommand shares: exit codes, the one error type, common options, progress and report output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

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
        "--version",
        dest="version",
        choices=VERSIONS,
        default=None,
        help="read as this DIDS version (default: detect from the content)",
    )
    sub.add_argument(
        "--input-format", choices=FORMATS, default=None, help="read as this layout (default: detect from the content)"
    )
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


def progress(quiet: bool, every: int = 100_000) -> Callable[[int], None] | None:
    """A record counter on standard error for long runs on a terminal; None when quiet or not a terminal."""
    if quiet or not sys.stderr.isatty():
        return None

    def show(n: int) -> None:
        if n and n % every == 0:
            sys.stderr.write(f"\r{n:,} records")
            sys.stderr.flush()

    return show


def end_progress(show: Callable[[int], None] | None) -> None:
    if show is not None:
        sys.stderr.write("\r\033[K")


def emit(text: str, output: str | None, out: TextIO, *, summary: str) -> None:
    """Write a report to `output` (whole or not at all) and `summary` to stdout, or the report to stdout (no
    output, or '-')."""
    if output and output != "-":
        with atomic_open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        out.write(summary + "\n")
    else:
        out.write(text)
