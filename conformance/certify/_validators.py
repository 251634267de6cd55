"""Validators under test and the adapters that read what they say.

A validator is a command (`CommandValidator`: a template with {placeholders}, run without a shell) or a Python
callable (`CallableValidator`). Its output is read by an adapter into an `Outcome`: the verdict and, where the
adapter can see them, the findings as (rule, record).

Adapters:
  exit    the exit code alone: 0 accepted, 1 rejected, anything else an error (no findings visible)
  json    our `dids check --format json` report (verdict, findings[].rule/.record)
  junit   JUnit XML: a failed testcase whose name starts with a rule id is that rule (records not visible)
  dq-xml  NHS England's DQ XML (ROWS/ROW with ROW_INDEX from 0, CODE, TYPE error|warning), as in the peer data
"""

from __future__ import annotations

import json
import shlex
import string
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from conformance.certify._corpus import Case

ADAPTERS = ("exit", "json", "junit", "dq-xml")
PLACEHOLDERS = ("file", "format", "profile", "submitted", "period", "submitter", "reference", "local_mappings")


@dataclass(frozen=True)
class Outcome:
    verdict: str  # accepted | rejected | error
    findings: frozenset[tuple[str, int | None]] | None = None  # None: the adapter cannot see findings
    records_visible: bool = True  # False: findings carry rules but not records (junit)
    detail: str = ""


class CertifyError(ValueError):
    """certify cannot run at all (a bad template, an unknown adapter)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def read_output(adapter: str, code: int, stdout: bytes, stderr: bytes) -> Outcome:
    """Turn a command's exit code and output into an Outcome."""
    said = stderr.decode("utf-8", "replace").strip().splitlines()
    last = said[-1] if said else ""
    if adapter == "exit":
        verdict = {0: "accepted", 1: "rejected"}.get(code, "error")
        return Outcome(verdict, None, detail="" if verdict != "error" else f"exit {code}: {last}")
    if code not in (0, 1):
        return Outcome("error", detail=f"exit {code}: {last}")
    try:
        if adapter == "json":
            report = json.loads(stdout)
            pairs = frozenset((f["rule"], f.get("record")) for f in report["findings"])
            return Outcome(report["verdict"], pairs)
        if adapter == "junit":
            root = etree.fromstring(stdout, _parser())
            rules: set[tuple[str, int | None]] = set()
            for case in root.iter("testcase"):
                if case.find("failure") is not None or case.find("system-out") is not None:
                    rules.add((str(case.get("name", "")).split(" ", 1)[0], None))
            failed = any(c.find("failure") is not None for c in root.iter("testcase"))
            return Outcome("rejected" if failed else "accepted", frozenset(rules), records_visible=False)
        if adapter == "dq-xml":
            root = etree.fromstring(stdout, _parser())
            pairs_dq: set[tuple[str, int | None]] = set()
            severe = False
            for row in root.iter("ROW"):
                index = row.findtext("ROW_INDEX")
                record = int(index) + 1 if index and index.strip().lstrip("-").isdigit() and int(index) >= 0 else None
                pairs_dq.add(((row.findtext("CODE") or "").strip(), record))
                severe = severe or (row.findtext("TYPE") or "").strip().lower() == "error"
            return Outcome("rejected" if severe else "accepted", frozenset(pairs_dq))
    except (ValueError, KeyError, TypeError, etree.XMLSyntaxError) as exc:
        return Outcome("error", detail=f"cannot read the {adapter} output: {exc}")
    raise CertifyError(f"unknown adapter {adapter!r}; choose one of {', '.join(ADAPTERS)}")


class CommandValidator:
    """`template` is a command line with {placeholders} (PLACEHOLDERS), split like a shell would but never run
    through one: each word is filled in for the case, so a path with spaces stays one argument."""

    def __init__(self, template: str, adapter: str, *, timeout: float = 60.0) -> None:
        if adapter not in ADAPTERS:
            raise CertifyError(f"unknown adapter {adapter!r}; choose one of {', '.join(ADAPTERS)}")
        try:
            self.words = shlex.split(template)
        except ValueError as exc:
            raise CertifyError(f"cannot split the validator command: {exc}") from None
        if not self.words:
            raise CertifyError("the validator command is empty")
        for word in self.words:
            for _, name, _, _ in string.Formatter().parse(word):
                if name is not None and name not in PLACEHOLDERS:
                    raise CertifyError(f"unknown placeholder {{{name}}}; use {', '.join(PLACEHOLDERS)}")
        self.template = template
        self.adapter = adapter
        self.timeout = timeout

    def describe(self) -> str:
        return f"{self.template} (adapter: {self.adapter})"

    def argv(self, case: Case, profile: str) -> list[str]:
        values = {"file": str(case.file), "format": case.format, "profile": profile, **case.context}
        missing = [n for w in self.words for _, n, _, _ in string.Formatter().parse(w) if n and n not in values]
        if missing:
            raise CertifyError(f"case {case.id} has no {', '.join(sorted(set(missing)))} for the command")
        return [word.format(**values) for word in self.words]

    def __call__(self, case: Case, profile: str) -> Outcome:
        try:
            argv = self.argv(case, profile)
        except CertifyError as exc:
            return Outcome("error", detail=str(exc))
        try:
            done = subprocess.run(argv, capture_output=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            return Outcome("error", detail=f"timed out after {self.timeout:g} s")
        except OSError as exc:
            return Outcome("error", detail=f"cannot run {argv[0]}: {exc}")
        return read_output(self.adapter, done.returncode, done.stdout, done.stderr)


class CallableValidator:
    """A Python validator: `function(path, context) -> Outcome | dict` where a dict has "verdict" and optionally
    "findings" as (rule, record) pairs. An exception is the validator's error, not certify's."""

    def __init__(self, function: Callable[[Path, dict[str, str]], Any], name: str | None = None) -> None:
        self.function = function
        self.name = name or getattr(function, "__qualname__", repr(function))

    def describe(self) -> str:
        return f"Python callable {self.name}"

    def __call__(self, case: Case, profile: str) -> Outcome:
        try:
            said = self.function(case.file, {"profile": profile, "format": case.format, **case.context})
        except Exception as exc:  # the validator under test failed: that is its result, not ours
            return Outcome("error", detail=f"{type(exc).__name__}: {exc}")
        if isinstance(said, Outcome):
            return said
        findings = said.get("findings")
        return Outcome(said["verdict"], None if findings is None else frozenset(map(tuple, findings)))
