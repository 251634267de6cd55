"""The `dids` command line: one module per group of subcommands, each a parser and a handler over the library.

`main(argv)` is the entry point; `run(argv, stdout, stderr)` is the same for tests and other Python callers.
"""

from conformance.cli._main import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
