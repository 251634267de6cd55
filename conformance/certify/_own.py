"""This harness's own checker as a validator, run in this process (`dids certify --own-checker`).

It answers as `dids check --format json` does (exit 2 is `unreadable`), without starting a process per case; the
reference data and mapping tables each case names are read once and shared between cases."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from conformance.certify._corpus import Case
from conformance.certify._validators import Outcome


class OwnChecker:
    """`conformance.check.check` over each case, with the case's context; every finding is kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._references: dict[tuple[str | None, str | None], Any] = {}

    def describe(self) -> str:
        from conformance import __version__

        return f"dids check {__version__} (this harness's own checker, in-process)"

    def _reference(self, folder: str | None, mappings: str | None) -> Any:
        from conformance.check import load_reference
        from conformance.check.reference import load_local_mappings

        with self._lock:
            key = (folder, mappings)
            if key not in self._references:
                reference = load_reference(folder)
                if mappings:
                    reference = replace(reference, local_nicip=load_local_mappings(mappings))
                self._references[key] = reference
            return self._references[key]

    def __call__(self, case: Case, profile: str) -> Outcome:
        from conformance.check import CannotCheck, check, make_context
        from conformance.errors import DidsError

        context = case.context
        try:
            reference = self._reference(context.get("reference"), context.get("local_mappings"))
            when = make_context(context["submitted"], context.get("period"), context.get("submitter"))
            report = check(Path(case.file), profile=profile, context=when, reference=reference, max_examples=1 << 30)
        except CannotCheck as exc:  # `dids check` exits 2: it refused to read the file
            return Outcome("unreadable", frozenset(), detail=str(exc))
        except DidsError as exc:  # the checker could not run on this case: an error, never an answer
            return Outcome("error", detail=f"{type(exc).__name__}: {exc}")
        findings = frozenset((f.rule, f.record) for f in report.findings)
        return Outcome(report.verdict, findings)
