"""The `dids` command line: one module per group of subcommands, each a parser and a handler over the library.

`entry()` is the `dids` program (the console script, `python -m conformance`): `main()`, then the process ends.
`main(argv)` returns the exit code; `run(argv, stdout, stderr)` is the same for tests and other Python callers.
Each imports the commands only when called, so that `import conformance.cli` costs nothing and a signal that
arrives while the library is still loading ends the command quietly.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, NoReturn, TextIO

if TYPE_CHECKING:
    import argparse

# Exit codes after a signal, as shells report them: 128 + the signal's number.
SIGNAL_EXITS = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}


def run(argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    """Run `dids` with `argv`, writing to `stdout` and `stderr`; return the exit code."""
    from conformance.cli._main import run as run_command

    return run_command(argv, stdout, stderr)


def build_parser() -> argparse.ArgumentParser:
    from conformance.cli._main import build_parser as build

    return build()


def main(argv: Sequence[str] | None = None) -> int:
    """The `dids` entry point."""
    # Until the command has its own handlers, a signal ends the process at once and quietly: nothing has been
    # written yet, and a traceback from the middle of an import helps no one.
    for name, code in SIGNAL_EXITS.items():
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _quiet_exit(code))
    from conformance.cli._main import main as main_command

    return main_command(argv)


def entry() -> NoReturn:
    """The `dids` program: main(), and the process exits with its code."""
    code = main()
    # The process ends here, so what is alive now need not be searched for garbage: Python's collections while it
    # shuts down walk every object still alive (Polars' modules, a check's tables), ~0.2 s of a 1.4 s check of
    # 100,000 records. Frozen objects are skipped by those collections only: modules are still torn down, objects
    # released and files flushed as at any exit.
    gc.freeze()
    sys.exit(code)


def _quiet_exit(code: int) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        said = "interrupted" if name == "SIGINT" else f"terminated ({name})"
        os.write(2, f"dids: {said} before it began; nothing was written\n".encode())
        os._exit(code)

    return handler


__all__ = ["SIGNAL_EXITS", "build_parser", "entry", "main", "run"]
