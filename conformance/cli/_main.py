"""The `dids` command: a thin front door over the library.

Exit codes: 0 success (or an accepted file), 1 the job ran and found problems, 2 the job could not be done (bad
arguments, unreadable input); in that last case one line on stderr says why, never a traceback. Ctrl-C ends with
130 and SIGTERM with 143, each with one line, after every output file in progress has been removed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, NoReturn, TextIO

from conformance import __version__, signals
from conformance.cli import SIGNAL_EXITS
from conformance.cli._common import EXIT_CANNOT, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED
from conformance.errors import DidsError
from conformance.markup import visible

# The modules of the subcommands, in the order `dids --help` lists them, and the commands each registers: a
# command line that names one builds (and imports) only its module (tests/test_cli.py holds the table true).
COMMANDS = {
    "spec": ("spec",),
    "reading": ("inspect", "convert"),
    "check": ("check",),
    "generate": ("generate", "stats"),
    "upgrade": ("upgrade", "readiness"),
    "corpus": ("fixtures", "corpus", "certify"),
    "serve": ("serve",),
    "reference": ("reference",),
    "demo": ("demo",),
    "completion": ("completion",),
}
_MODULE_OF = {command: module for module, commands in COMMANDS.items() for command in commands}


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread so that output files in progress are removed on the way out.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way can swallow it."""

    def __init__(self, name: str, code: int) -> None:
        super().__init__(name)
        self.name, self.code = name, code


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (the usage itself is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CANNOT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The `dids` parser with every subcommand; given `argv` whose command word names one, with only that one's
    module (a certify run starts `dids check` once per case: the other subcommands' options cost it time, and
    parse the same command line the same way)."""
    parser = _Parser(
        prog="dids",
        description="Conformance and migration harness for NHS England's Diagnostic Imaging Data Set (DIDS). "
        "Exit codes: 0 ok, 1 problems found, 2 could not run.",
    )
    parser.add_argument("--version", action="version", version=f"dids {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    word = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    for module in (_MODULE_OF[word],) if word in _MODULE_OF else COMMANDS:
        __import__(f"conformance.cli.{module}")  # not importlib.import_module: `python -X importtime` sees this
        sys.modules[f"conformance.cli.{module}"].register(commands)
    return parser


def run(argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    """Parse `argv`, run the subcommand, and turn every failure into an exit code and at most one line."""
    signals.forget()  # a signal noted for an earlier command in this process (dids serve) is not this one's
    try:
        return _run(argv, stdout, stderr)
    finally:
        signals.forget()


def _run(argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    try:
        parser = build_parser(argv)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its one-line usage error (or --help, --version)
        return EXIT_OK if exc.code == 0 else EXIT_CANNOT
    except KeyboardInterrupt:  # while the commands were still loading: nothing has been written
        stderr.write("dids: interrupted before it began; nothing was written\n")
        return EXIT_INTERRUPTED
    except Terminated as exc:
        stderr.write(f"dids: terminated ({exc.name}) before it began; nothing was written\n")
        return exc.code
    try:
        try:
            code: int = args.handler(args, stdout)
            return code
        except Exception as exc:
            # An error raised while an interruption unwound (a worker pool's shutdown after Ctrl-C reached its
            # workers too: Python 3.11's ProcessPoolExecutor can raise EBADF there) is the interruption's doing.
            interruption = _interruption(exc)
            if interruption is None:
                raise
            raise interruption from None
    except DidsError as exc:
        stderr.write(f"dids: error: {_one_line(str(exc))}\n")
    except KeyboardInterrupt:
        stderr.write("dids: interrupted; no output was left behind\n")
        return EXIT_INTERRUPTED
    except Terminated as exc:
        stderr.write(f"dids: terminated ({exc.name}); no output was left behind\n")
        return exc.code
    except BrokenPipeError:
        raise  # the reader of stdout went away: main() ends quietly
    except OSError as exc:
        stderr.write(f"dids: error: {_one_line(str(exc))}\n")
    except RecursionError:
        stderr.write("dids: error: the input is nested too deeply to read\n")
    except MemoryError:
        stderr.write("dids: error: out of memory (a record or reference table too large for this machine)\n")
    except Exception as exc:
        if args.debug:
            raise
        message = _one_line(f"{type(exc).__name__}: {exc}")
        stderr.write(f"dids: internal error: {message} (run with --debug for a traceback)\n")
    return EXIT_CANNOT


def _interruption(exc: BaseException) -> BaseException | None:
    """The KeyboardInterrupt or Terminated that `exc` was raised while handling, if any."""
    seen: set[int] = set()
    cause: BaseException | None = exc.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt | Terminated):
            return cause
        seen.add(id(cause))
        cause = cause.__context__
    return None


def _one_line(text: str) -> str:
    """A message as one printable line: a file name may hold a line break or a terminal escape."""
    return visible(text).replace("\n", "\\n").replace("\r", "\\r")


def _terminate(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    raise signals.note(Terminated(name, SIGNAL_EXITS.get(name, EXIT_TERMINATED)))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise signals.note(KeyboardInterrupt())


def main(argv: Sequence[str] | None = None) -> int:
    """Run `dids` in this process: Ctrl-C raises KeyboardInterrupt, SIGTERM and SIGHUP raise Terminated, each
    caught by run() after the output files in progress are removed."""
    handlers = {signal.SIGINT: _interrupt, signal.SIGTERM: _terminate}
    if hasattr(signal, "SIGHUP"):
        handlers[signal.SIGHUP] = _terminate
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    previous_hook, sys.unraisablehook = sys.unraisablehook, _quiet_about_signals(sys.unraisablehook)
    try:
        return run(sys.argv[1:] if argv is None else argv, sys.stdout, sys.stderr)
    except BrokenPipeError:
        # `dids ... | head`: stop writing, and keep Python from complaining about the closed pipe at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE
    finally:
        sys.unraisablehook = previous_hook
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _quiet_about_signals(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """sys.unraisablehook less the signals' exceptions: one swallowed where it was raised is noted, and ends the
    command at its next step with its one line (conformance/signals.py), not with Python's "Exception ignored"
    traceback as well."""

    def quiet(unraisable: Any) -> object:
        if isinstance(unraisable.exc_value, KeyboardInterrupt | Terminated):
            return None
        return hook(unraisable)

    return quiet


if __name__ == "__main__":
    raise SystemExit(main())
