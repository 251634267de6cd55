"""Validators under test and the adapters that read what they say.

A validator is a command (`CommandValidator`: a template with {placeholders}, run without a shell) or a Python
callable (`CallableValidator`). Its output is read by an adapter into an `Outcome`: the verdict and, where the
adapter can see them, the findings as (rule, record).

Verdicts: `accepted`, `rejected`, `unreadable` (the validator refused to read the file, as `dids check` does with
exit 2), and `error`: the validator crashed (killed by a signal), timed out, could not start, printed more than
certify captures, or said something its adapter cannot read (an unknown verdict word, JSON that is not a report,
an exit code that contradicts what it printed). An error is never taken for an answer.

Adapters:
  exit    the exit code alone: 0 accepted, 1 rejected, 2 unreadable, anything else an error (no findings visible)
  json    our `dids check --format json` report (verdict, findings[].rule/.record); exit 2 and no output: unreadable
  junit   JUnit XML: a failed testcase whose name starts with a rule id is that rule (records not visible)
  dq-xml  NHS England's DQ XML (ROWS/ROW with ROW_INDEX from 0, CODE, TYPE error|warning), as in the peer data
For json, junit and dq-xml the exit code must agree with the answer: 0 with accepted, 1 with rejected.

A command validator may be *served* (`serve`): a command started once per certify worker, to which each case's
command line is sent as a JSON line, {"id": N, "argv": [...]}, and which answers with one, {"id": N, "exit": CODE,
"stdout": "...", "stderr": "..."} (`dids serve` is ours). The adapter reads the answer as it reads a command's
output. A server that dies, hangs past the timeout, floods, or answers out of turn or in a shape certify cannot read
gives that case an error and is killed; the next case gets a fresh one.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shlex
import signal
import string
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lxml import etree

from conformance.certify._corpus import Case
from conformance.errors import DidsError

ADAPTERS = ("exit", "json", "junit", "dq-xml")
PLACEHOLDERS = ("file", "format", "profile", "submitted", "period", "submitter", "reference", "local_mappings")
VERDICTS = ("accepted", "rejected", "unreadable", "error")
ANSWERS = ("accepted", "rejected", "unreadable")  # what a validator may say; "error" is what certify concludes
# What certify keeps of a validator's output: far above any honest report of a corpus case, far below a flood.
STDOUT_CAP = 64 * 1024 * 1024
STDERR_CAP = 1024 * 1024
_EXIT_VERDICT = {0: "accepted", 1: "rejected"}


@dataclass(frozen=True)
class Outcome:
    verdict: str  # accepted | rejected | unreadable | error
    findings: frozenset[tuple[str, int | None]] | None = None  # None: the adapter cannot see findings
    records_visible: bool = True  # False: findings carry rules but not records (junit)
    detail: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; a validator says one of {', '.join(ANSWERS)}")


class CertifyError(DidsError):
    """certify cannot run at all (a bad template, an unknown adapter)."""


def _error(detail: str) -> Outcome:
    return Outcome("error", detail=detail)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def _last_line(stderr: bytes) -> str:
    said = stderr.decode("utf-8", "replace").strip().splitlines()
    return said[-1][:300] if said else ""


def read_output(adapter: str, code: int, stdout: bytes, stderr: bytes) -> Outcome:
    """Turn a command's exit code and output into an Outcome. A negative code is death by that signal."""
    if adapter not in ADAPTERS:
        raise CertifyError(f"unknown adapter {adapter!r}; choose one of {', '.join(ADAPTERS)}")
    last = _last_line(stderr)
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        return _error(f"killed by {name}: {last}".rstrip(": "))
    if code == 2 and (adapter == "exit" or not stdout.strip()):
        return Outcome("unreadable", None if adapter == "exit" else frozenset(), detail=last)
    if code not in _EXIT_VERDICT:
        return _error(f"exit {code}: {last}".rstrip(": "))
    if adapter == "exit":
        return Outcome(_EXIT_VERDICT[code])
    try:
        said = _ADAPTERS[adapter](stdout)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, etree.XMLSyntaxError) as exc:
        return _error(f"cannot read the {adapter} output: {type(exc).__name__}: {str(exc)[:200]}")
    if said.verdict != _EXIT_VERDICT[code]:
        return _error(f"exit {code} contradicts the {adapter} answer {said.verdict!r}")
    return said


def _read_json(stdout: bytes) -> Outcome:
    report = json.loads(stdout)
    if not isinstance(report, dict):
        raise ValueError("the JSON is not an object")
    verdict = report.get("verdict")
    if verdict not in ("accepted", "rejected"):
        raise ValueError(f"verdict {verdict!r} is not accepted or rejected")
    findings = report.get("findings")
    if not isinstance(findings, list):
        raise ValueError("no findings list")
    pairs = set()
    for f in findings:
        rule, record = f["rule"], f.get("record")
        whole = isinstance(record, int) and not isinstance(record, bool) and record >= 0
        if not isinstance(rule, str) or not rule or not (record is None or whole):
            raise ValueError(f"a finding with rule {rule!r} and record {record!r}")
        pairs.add((rule, record))
    return Outcome(verdict, frozenset(pairs))


def _read_junit(stdout: bytes) -> Outcome:
    root = etree.fromstring(stdout, _parser())
    if root.tag not in ("testsuites", "testsuite") or next(root.iter("testcase"), None) is None:
        raise ValueError(f"<{root.tag}> is not a JUnit report with test cases")
    rules: set[tuple[str, int | None]] = set()
    failed = False
    for case in root.iter("testcase"):
        failure = case.find("failure") is not None or case.find("error") is not None
        failed = failed or failure
        if failure or case.find("system-out") is not None:
            rules.add((str(case.get("name", "")).split(" ", 1)[0], None))
    return Outcome("rejected" if failed else "accepted", frozenset(rules), records_visible=False)


def _read_dq_xml(stdout: bytes) -> Outcome:
    root = etree.fromstring(stdout, _parser())
    if root.tag != "ROWS":
        raise ValueError(f"<{root.tag}> is not NHS England's DQ XML (<ROWS>)")
    pairs: set[tuple[str, int | None]] = set()
    severe = False
    for row in root.iter("ROW"):
        index = (row.findtext("ROW_INDEX") or "").strip()
        record = int(index) + 1 if index.isdigit() else None
        code, kind = (row.findtext("CODE") or "").strip(), (row.findtext("TYPE") or "").strip().lower()
        if not code or kind not in ("error", "warning"):
            raise ValueError(f"a <ROW> with CODE {code!r} and TYPE {kind!r}")
        pairs.add((code, record))
        severe = severe or kind == "error"
    return Outcome("rejected" if severe else "accepted", frozenset(pairs))


_ADAPTERS: dict[str, Callable[[bytes], Outcome]] = {"json": _read_json, "junit": _read_junit, "dq-xml": _read_dq_xml}


# --------------------------------------------------------------------------------------------------------------
# Running a command
# --------------------------------------------------------------------------------------------------------------


class _Capture(threading.Thread):
    """Reads one pipe to its end, keeping at most `cap` bytes; past the cap it calls `overflow` once."""

    def __init__(self, pipe: IO[bytes], cap: int, overflow: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.pipe, self.cap, self.overflow = pipe, cap, overflow
        self.chunks: list[bytes] = []
        self.size = 0
        self.over = False

    def run(self) -> None:
        try:
            while chunk := self.pipe.read1(65536) if hasattr(self.pipe, "read1") else self.pipe.read(65536):
                if self.size + len(chunk) > self.cap:
                    if not self.over:
                        self.over = True
                        self.overflow()
                    continue  # keep draining so the validator is never blocked on a full pipe before it dies
                self.chunks.append(chunk)
                self.size += len(chunk)
        except (OSError, ValueError):
            pass

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def split_command(template: str) -> list[str]:
    """A command line as words, split as this platform's shell would quote it: POSIX rules elsewhere, and on
    Windows double quotes only, so that backslashes in paths survive."""
    if os.name == "nt":  # pragma: no cover - Windows
        return [w[1:-1] if len(w) > 1 and w[0] == w[-1] == '"' else w for w in shlex.split(template, posix=False)]
    return shlex.split(template)


def _placeholders(word: str) -> list[str]:
    try:
        fields = list(string.Formatter().parse(word))
    except ValueError as exc:
        raise CertifyError(f"bad placeholder in {word!r}: {exc}") from None
    names = [name for _, name, _, _ in fields if name is not None]
    for name in names:
        if name not in PLACEHOLDERS:
            raise CertifyError(f"unknown placeholder {{{name}}}; use {', '.join(PLACEHOLDERS)}")
    return names


class CommandValidator:
    """`command` is a list of words (or a command line, split as this platform's shell would, never run through
    one), with {placeholders} (PLACEHOLDERS) filled in for each case: a path with spaces stays one argument.
    `optional` holds argument groups that appear only when the case has every value they name (e.g.
    ["--period", "{period}"]: v1 cases have no period); a placeholder the case lacks in `command` is an error.
    `env` adds to the environment the validator runs in.

    Each case runs in a session (process group) of its own, so a timeout, a flood of output or an interruption
    kills the validator and everything it started. What it prints is captured up to STDOUT_CAP / STDERR_CAP."""

    def __init__(
        self,
        command: str | Sequence[str],
        adapter: str,
        *,
        timeout: float = 60.0,
        optional: Sequence[Sequence[str]] = (),
        env: Mapping[str, str] | None = None,
        serve: str | Sequence[str] | None = None,
    ) -> None:
        if adapter not in ADAPTERS:
            raise CertifyError(f"unknown adapter {adapter!r}; choose one of {', '.join(ADAPTERS)}")
        if not 0 < timeout <= threading.TIMEOUT_MAX:
            raise CertifyError(f"the timeout must be a positive number of seconds, not {timeout!r}")
        if isinstance(command, str):
            try:
                self.words = split_command(command)
            except ValueError as exc:
                raise CertifyError(f"cannot split the validator command: {exc}") from None
        else:
            self.words = [str(word) for word in command]
        if not self.words:
            raise CertifyError("the validator command is empty")
        self.optional = [[str(word) for word in group] for group in optional]
        for word in [*self.words, *(w for group in self.optional for w in group)]:
            _placeholders(word)
        self.template = command if isinstance(command, str) else shlex.join(self.words)
        self.adapter = adapter
        self.timeout = timeout
        self.extra_env = dict(env or {})
        self.env = {**os.environ, **self.extra_env} if self.extra_env else None
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._stopped = False
        self.serve: list[str] | None = None
        if serve is not None:
            try:
                self.serve = split_command(serve) if isinstance(serve, str) else [str(word) for word in serve]
            except ValueError as exc:
                raise CertifyError(f"cannot split the serve command: {exc}") from None
            if not self.serve:
                raise CertifyError("the serve command is empty")
            if any(_placeholders(word) for word in self.serve):
                raise CertifyError("serve is started once for many cases: it takes no {placeholders} (command does)")
        self._servers: set[_Server] = set()  # every server process alive, busy or idle
        self._idle: list[_Server] = []

    def describe(self) -> str:
        groups = "".join(f" [{shlex.join(group)}]" for group in self.optional)
        served = f", served by {shlex.join(self.serve)}" if self.serve else ""
        return f"{self.template}{groups} (adapter: {self.adapter}{served})"

    def argv(self, case: Case, profile: str) -> list[str]:
        values = {"file": str(case.file), "format": case.format, "profile": profile, **case.context}
        values = {name: value for name, value in values.items() if value}
        missing = [n for w in self.words for n in _placeholders(w) if n not in values]
        if missing:
            raise CertifyError(f"case {case.id} has no {', '.join(sorted(set(missing)))} for the command")
        words = [word.format(**values) for word in self.words]
        for group in self.optional:
            if all(n in values for w in group for n in _placeholders(w)):
                words += [word.format(**values) for word in group]
        return words

    def __call__(self, case: Case, profile: str) -> Outcome:
        try:
            argv = self.argv(case, profile)
        except CertifyError as exc:
            return _error(str(exc))
        return self.run(argv)

    def run(self, argv: list[str]) -> Outcome:
        """Run one command line and read its answer."""
        if self._stopped:
            return _error("certify was interrupted before this case ran")
        if self.serve is not None:
            return self._run_served(argv)
        options = _own_process_group()
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, **options
            )
        except (OSError, ValueError) as exc:
            return _error(f"cannot run {argv[0]}: {exc}")
        with self._lock:
            self._running.add(process)
        flooded: list[str] = []

        def overflow(stream: str) -> Callable[[], None]:
            def stop() -> None:
                flooded.append(stream)
                _kill(process)

            return stop

        assert process.stdout is not None and process.stderr is not None
        out = _Capture(process.stdout, STDOUT_CAP, overflow("standard output"))
        err = _Capture(process.stderr, STDERR_CAP * 16, overflow("standard error"))
        out.start()
        err.start()
        deadline = time.monotonic() + self.timeout
        try:
            try:
                code = process.wait(self.timeout)
            except subprocess.TimeoutExpired:
                _kill(process)
                return _error(f"timed out after {self.timeout:g} s (the validator and its children were killed)")
            # The validator has exited; anything it started and left holding its output is stopped once the
            # output is read or the time is up.
            for reader in (out, err):
                reader.join(max(0.0, deadline - time.monotonic()) + 1.0)
            if out.is_alive() or err.is_alive():
                _kill(process)
                return _error("the validator exited but something it started kept its output open past the timeout")
        finally:
            _kill(process)
            for reader in (out, err):
                reader.join(5)
            for pipe in (process.stdout, process.stderr):
                pipe.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)  # reap it: killed above if it had not finished
            with self._lock:
                self._running.discard(process)
        if flooded:
            return _error(f"printed more on {flooded[0]} than certify captures; stopped")
        if self._stopped:
            return _error("certify was interrupted while this case ran")
        return read_output(self.adapter, code, out.data, err.data[:STDERR_CAP])

    def _run_served(self, argv: list[str]) -> Outcome:
        """Send one command line to an idle server (started if none is), and read its answer."""
        assert self.serve is not None
        with self._lock:
            server = self._idle.pop() if self._idle else None
        if server is None:
            try:
                server = _Server(self.serve, self.env)
            except (OSError, ValueError) as exc:
                return _error(f"cannot run {self.serve[0]}: {exc}")
            with self._lock:
                self._servers.add(server)
                stopped = self._stopped
            if stopped:
                server.kill()
                return _error("certify was interrupted before this case ran")
        outcome, healthy = server.ask(argv, self.timeout, self.adapter)
        with self._lock:
            keep = healthy and not self._stopped
            if keep:
                self._idle.append(server)
            else:
                self._servers.discard(server)
        if not keep:
            server.kill()
        if self._stopped:
            return _error("certify was interrupted while this case ran")
        return outcome

    def stop(self) -> None:
        """Kill every validator process running now and refuse to start more (Ctrl-C, SIGTERM)."""
        with self._lock:
            self._stopped = True
            running = list(self._running)
            servers = list(self._servers)
        for process in running:
            _kill(process)
        for server in servers:
            server.kill()

    def close(self) -> None:
        """End the idle servers (the end of their input; killed if they linger): certify has run every case."""
        with self._lock:
            servers, self._idle = list(self._idle), []
            self._servers.difference_update(servers)
        for server in servers:
            server.close()


class _Server:
    """One served validator process: requests written to its standard input, its answers read a line at a time by
    a thread (so that a wait for one can time out), its standard error drained by another."""

    _OVERFLOW = b"\x00overflow"  # an answer line longer than STDOUT_CAP: not an answer

    def __init__(self, argv: list[str], env: dict[str, str] | None) -> None:
        options = _own_process_group()
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **options
        )
        self.answers: queue.Queue[bytes | None] = queue.Queue()
        assert self.process.stdout is not None and self.process.stderr is not None
        self.err = _Capture(self.process.stderr, STDERR_CAP, lambda: None)  # past the cap: drained, not kept
        self.err.start()
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        self.asked = 0

    def _read(self, stdout: IO[bytes]) -> None:
        try:
            while line := stdout.readline(STDOUT_CAP + 1):
                if len(line) > STDOUT_CAP and not line.endswith(b"\n"):
                    self.answers.put(self._OVERFLOW)
                    break
                self.answers.put(line)
        except (OSError, ValueError):
            pass
        self.answers.put(None)

    def ask(self, argv: list[str], timeout: float, adapter: str) -> tuple[Outcome, bool]:
        """(the case's outcome, whether the server can take another case)."""
        self.asked += 1
        ident = self.asked
        request = json.dumps({"id": ident, "argv": argv}, ensure_ascii=True).encode("ascii") + b"\n"
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(request)
            stdin.flush()
        except (OSError, ValueError):
            return _error(f"the served validator has ended{self._why()}"), False
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            return _error(f"timed out after {timeout:g} s (the served validator was killed)"), False
        if line is None:
            # its output has ended: give it a moment to be reaped and its last words read, for the detail
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(2)
            self.err.join(2)
            return _error(f"the served validator ended before it answered{self._why()}"), False
        if line is self._OVERFLOW:
            return _error("the served validator printed more than certify captures; stopped"), False
        try:
            answer = json.loads(line)
            if not isinstance(answer, dict):
                raise ValueError("not a JSON object")
            if answer.get("id") != ident:
                raise ValueError(f"an answer for request {answer.get('id')!r}, not {ident}")
            if "error" in answer:
                return _error(f"the served validator could not run the case: {str(answer['error'])[:300]}"), True
            code, out, err = answer["exit"], answer["stdout"], answer.get("stderr", "")
            if not isinstance(code, int) or isinstance(code, bool):
                raise ValueError(f"exit {code!r} is not a number")
            if not isinstance(out, str) or not isinstance(err, str):
                raise ValueError("stdout and stderr must be strings")
        except (ValueError, KeyError, RecursionError) as exc:
            return _error(f"cannot read the served validator's answer: {str(exc)[:200]}"), False
        said = read_output(adapter, code, out.encode("utf-8", "surrogatepass"), err.encode("utf-8", "replace"))
        return said, True

    def _why(self) -> str:
        code = self.process.poll()
        last = _last_line(self.err.data)
        return "".join([f" (exit {code})" if code is not None else "", f": {last}" if last else ""])

    def close(self) -> None:
        """The end of its input: a server ends then; one that lingers is killed."""
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self.kill()

    def kill(self) -> None:
        _kill(self.process)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            with contextlib.suppress(OSError, ValueError):
                if pipe is not None:
                    pipe.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


def _own_process_group() -> dict[str, Any]:
    """Popen options that start a validator in a process group of its own, so that _kill ends all it started."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]  # pragma: no cover


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the validator's whole process group (its session); it may have gone already."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    else:  # pragma: no cover - Windows
        with contextlib.suppress(OSError):
            process.kill()


class CallableValidator:
    """A Python validator: `function(path, context) -> Outcome | dict` where a dict has "verdict" (accepted,
    rejected or unreadable) and optionally "findings" as (rule, record) pairs. An exception, or an answer that is
    none of these, is the validator's error, not certify's."""

    def __init__(self, function: Callable[[Path, dict[str, str]], Any], name: str | None = None) -> None:
        self.function = function
        self.name = name or getattr(function, "__qualname__", repr(function))

    def describe(self) -> str:
        return f"Python callable {self.name}"

    def __call__(self, case: Case, profile: str) -> Outcome:
        try:
            said = self.function(case.file, {"profile": profile, "format": case.format, **case.context})
        except Exception as exc:  # the validator under test failed: that is its result, not ours
            return _error(f"{type(exc).__name__}: {exc}")
        if isinstance(said, Outcome):
            return said
        try:
            verdict = said["verdict"]
            if verdict not in ANSWERS:
                raise ValueError(f"verdict {verdict!r} is not one of {', '.join(ANSWERS)}")
            findings = said.get("findings")
            pairs = None if findings is None else frozenset((str(r), n) for r, n in findings)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            return _error(f"cannot read the answer {said!r:.200}: {exc}")
        return Outcome(verdict, pairs)
