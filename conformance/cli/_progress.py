"""Progress bars for long runs: on standard error, only on a terminal, never with --quiet.

tqdm draws them (rate, ETA, terminal width, redraw throttling): a small, dependency-free and long-maintained
library, where a hand-drawn carriage return knows none of that. A bar is disabled (draws nothing at all) when
standard error is not a terminal, so a log file or a pipe never receives one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

    from conformance.formats import Record, Submission

EVERY = 1_000  # records between two updates: tqdm throttles drawing, this keeps its bookkeeping off the hot loop


def wanted(quiet: bool) -> bool:
    """A bar only on a terminal, never with --quiet, and never in a CI job (CI set), whose log may be a pty."""
    return not quiet and sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def counting(
    quiet: bool, what: str, total: int | None = None, unit: str = "records"
) -> Iterator[Callable[[int], None] | None]:
    """A bar over `total` items (None: count and rate only); yields `show(done so far)`, or None when not
    wanted."""
    if not wanted(quiet):
        yield None
        return
    bar = _bar(total=total, desc=what, unit=f" {unit}")

    def show(done: int) -> None:
        bar.update(done - bar.n)

    try:
        yield show
    finally:
        bar.close()


@contextmanager
def reading(quiet: bool, what: str) -> Iterator[Callable[[Submission], Callable[[Record], None]] | None]:
    """A bar over the bytes of the file being read (rate and ETA; records counted beside them); yields an
    observer for conformance.check.check(observe=...), or None when not wanted."""
    if not wanted(quiet):
        yield None
        return
    bar = _bar(desc=what, unit="B", unit_scale=True)
    try:
        yield lambda submission: _observer(bar, submission)
    finally:
        bar.close()


def _bar(**options: Any) -> tqdm[Any]:
    """A bar on standard error that follows the terminal's size; 80 by 24 when the terminal reports none (a
    fresh pseudo-terminal, a serial console), where tqdm would otherwise draw nothing."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        size = os.terminal_size((0, 0))
    shape: dict[str, Any] = {"dynamic_ncols": True} if size.columns and size.lines else {"ncols": 80, "nrows": 24}
    from tqdm import tqdm  # imported only when a bar is drawn: most runs (pipes, CI, --quiet) never need it

    return tqdm(file=sys.stderr, leave=False, mininterval=0.5, **shape, **options)


def _observer(bar: tqdm[Any], submission: Submission) -> Callable[[Record], None]:
    count = 0

    def seen(record: Record) -> None:
        nonlocal count
        count += 1
        if count % EVERY:
            return
        where = submission.position()
        if where is None:  # standard input: no size, so records and their rate only
            bar.set_postfix_str(f"{count:,} records", refresh=False)
            bar.update(0)
            return
        done, size = where
        bar.total = size
        bar.set_postfix_str(f"{count:,} records", refresh=False)
        bar.update(done - bar.n)

    return seen


def chain(
    *observers: Callable[[Submission], Callable[[Record], None]] | None,
) -> Callable[[Submission], Callable[[Record], None]] | None:
    """One observer that hands each record to every observer given (None ones left out)."""
    given = [o for o in observers if o is not None]
    if not given:
        return None
    if len(given) == 1:
        return given[0]

    def observe(submission: Submission) -> Callable[[Record], None]:
        each = [o(submission) for o in given]

        def seen(record: Record) -> None:
            for one in each:
                one(record)

        return seen

    return observe
