"""dids serve: run dids command lines sent as JSON lines, one at a time, in this one process.

For a validator that certify starts once rather than once per corpus case (a validator file's `serve`, see
conformance/certify/_validators.py): starting Python and importing the checker costs ~0.2 s a process, which is
most of what checking a corpus case costs. The protocol, one JSON object per line each way, is certify's:

    request   {"id": 7, "argv": ["dids", "check", "case.csv", "--profile", "v2", "--format", "json"]}
    answer    {"id": 7, "exit": 1, "stdout": "{...the report...}", "stderr": ""}

`argv` is the command line certify would have run for the case; its first word, the program, is not read (nor its
first N with `--program-words N`, for a program of several words such as `python -m conformance.cli`). The
answer carries what that command would have printed and its exit code, so certify's adapters read it as they read a
command's output. A request that cannot be read is answered with "error" (and the request's id when it has one);
the server reads on. It ends at the end of its input, or at a signal.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from conformance.cli._common import EXIT_OK

# A request line longer than this is not read (its answer says so): far above any command line certify sends.
MAX_REQUEST_BYTES = 1 << 20
EXIT_SIGNALLED = 128  # exit codes from here up: the command ended on a signal (128 + its number)


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run dids command lines sent as JSON lines on standard input (for certify's persistent validators)",
        description='Read requests, one JSON object a line, on standard input: {"id": N, "argv": ["dids", '
        '"check", ...]}; run each command line in this process and answer on standard output, one line each: '
        '{"id": N, "exit": CODE, "stdout": ..., "stderr": ...}. A validator file\'s `serve` starts it once '
        "per certify worker, so that a corpus case does not pay a process start-up. Exit 0 at the end of input.",
    )
    serve.add_argument(
        "--program-words",
        type=int,
        default=1,
        metavar="N",
        help="the words of each command line that name the program, not read (default 1: 'dids'; 3 for "
        "'python -m conformance.cli')",
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: Any, stdout: TextIO) -> int:
    from conformance.cli import run as run_command
    from conformance.cli._common import CannotRun

    skip = args.program_words
    if skip < 0:
        raise CannotRun("--program-words must be 0 or more")

    requests = sys.stdin.buffer
    while True:
        line = requests.readline(MAX_REQUEST_BYTES + 1)
        if not line:
            return EXIT_OK
        if len(line) > MAX_REQUEST_BYTES and not line.endswith(b"\n"):
            rest = line
            while rest and not rest.endswith(b"\n"):  # passed over a bounded piece at a time, never held whole
                rest = requests.readline(MAX_REQUEST_BYTES)
            _answer(stdout, {"id": None, "error": f"a request longer than {MAX_REQUEST_BYTES:,} bytes"})
            continue
        if not line.strip():
            continue
        ident, argv, problem = _request(line)
        if not problem and len(argv) <= skip:
            problem = f"the command line has no more than its {skip} program word(s)"
        if problem:
            _answer(stdout, {"id": ident, "error": problem})
            continue
        out, err = io.StringIO(), io.StringIO()
        # A command that reads standard input ('-') reads nothing: the requests are not its to read.
        nothing = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _stdin(nothing):
            code = run_command(argv[skip:], out, err)
        _answer(stdout, {"id": ident, "exit": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
        if code >= EXIT_SIGNALLED:
            return code  # a signal ended the command (130, 143, 129): the server ends with it


@contextlib.contextmanager
def _stdin(stream: TextIO) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = stream
    try:
        yield
    finally:
        sys.stdin = saved


def _request(line: bytes) -> tuple[Any, list[str], str]:
    """(id, argv, "") for a request that can be run, else (id or None, [], why)."""
    try:
        request = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return None, [], f"the request is not JSON: {exc}"
    if not isinstance(request, dict):
        return None, [], "the request is not a JSON object"
    ident = request.get("id")
    argv = request.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(word, str) for word in argv):
        return ident, [], "argv must be a non-empty list of strings"
    return ident, argv, ""


def _answer(stdout: TextIO, answer: dict[str, Any]) -> None:
    stdout.write(json.dumps(answer, ensure_ascii=True) + "\n")
    stdout.flush()
