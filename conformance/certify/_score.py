"""Score a validator's outcomes against the corpus: per case, per rule, overall; expected failures.

Per case, one category:
  correct-accept   expected accepted, accepted, and the same findings (where the adapter shows findings)
  correct-reject   expected rejected (or unreadable), refused, and the same findings (where visible)
  wrong-reason     the right verdict with other findings: missing, extra, or on other records
  false-reject     expected accepted, rejected
  false-accept     expected rejected or unreadable, accepted
  error            the validator crashed, timed out, could not start, or said something its adapter cannot read:
                   whatever the case expected, an error is not an answer, and any error means NOT CERTIFIED (an
                   expected-failure entry cannot waive it, nor a failing control case)
A refusal is `rejected` or `unreadable`: a file-level reject satisfies an unreadable case; an `unreadable` answer
to a case expecting findings satisfies it only when the adapter cannot show findings (exit codes).
Per rule: in how many cases it was expected and caught, expected and missed, or reported where not expected.

When the selected cases hold none that should be accepted, certify adds one (the corpus's first) as a control,
so that a validator which refuses every file can never be certified on a selection of refusals.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from conformance.certify._corpus import Case, Corpus
from conformance.certify._validators import CertifyError, Outcome
from conformance.files import InputError, require_file

CATEGORIES = ("correct-accept", "correct-reject", "wrong-reason", "false-reject", "false-accept", "error")
PASSING = {"correct-accept", "correct-reject"}


@dataclass(frozen=True)
class ExpectedFailure:
    case: str | None
    rule: str | None
    reason: str
    expires: date | None

    def covers(self, result: CaseResult) -> bool:
        if self.case is not None:
            return self.case == result.case.id
        assert self.rule is not None
        return self.rule in result.case.rules or self.rule in result.missing_rules | result.extra_rules


def load_expected_failures(path: str | Path) -> list[ExpectedFailure]:
    """TOML: [[expected-failure]] with `case` or `rule`, `reason`, and optional `expires` (a date)."""
    try:
        data = tomllib.loads(require_file(path, what="expected failures", max_bytes=16 << 20).read_text("utf-8"))
    except InputError as exc:
        raise CertifyError(str(exc)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CertifyError(f"cannot read expected failures {path}: {exc}") from None
    out = []
    for n, entry in enumerate(data.get("expected-failure", []), 1):
        case, rule, reason, expires = entry.get("case"), entry.get("rule"), entry.get("reason"), entry.get("expires")
        if (case is None) == (rule is None):
            raise CertifyError(f"{path}: expected failure {n} needs exactly one of case or rule")
        if not reason:
            raise CertifyError(f"{path}: expected failure {n} needs a reason")
        if expires is not None and not isinstance(expires, date):
            raise CertifyError(f"{path}: expected failure {n}: expires must be a TOML date (2027-01-31)")
        out.append(ExpectedFailure(case, rule, str(reason), expires))
    return out


@dataclass
class CaseResult:
    case: Case
    outcome: Outcome
    category: str
    missing: set[tuple[str, int | None]] = field(default_factory=set)
    extra: set[tuple[str, int | None]] = field(default_factory=set)
    reasons_checked: bool = True
    expected_failure: ExpectedFailure | None = None
    status: str = ""  # pass | fail | expected-failure | unexpected-pass | expired-expected-failure
    control: bool = False  # added by certify because the selection held no case to accept

    @property
    def missing_rules(self) -> set[str]:
        return {r for r, _ in self.missing}

    @property
    def extra_rules(self) -> set[str]:
        return {r for r, _ in self.extra}


def score_case(case: Case, outcome: Outcome) -> CaseResult:
    expected = case.verdict
    if outcome.verdict == "error":
        return CaseResult(case, outcome, "error")
    result = CaseResult(case, outcome, "")
    if expected != "unreadable" and outcome.findings is not None:
        want: set[tuple[str, int | None]] = case.pairs if outcome.records_visible else {(r, None) for r in case.rules}
        result.missing, result.extra = want - set(outcome.findings), set(outcome.findings) - want
    else:
        result.reasons_checked = expected == "unreadable"
    refused = outcome.verdict in ("rejected", "unreadable")
    if expected == "accepted":
        result.category = "false-reject" if refused else "correct-accept"
    else:
        result.category = "correct-reject" if refused else "false-accept"
    if result.category in PASSING and (result.missing or result.extra):
        result.category = "wrong-reason"
    return result


@dataclass
class Certification:
    corpus: Corpus
    validator: str
    results: list[CaseResult]
    today: date

    @property
    def corpus_hash(self) -> str:
        return self.corpus.sha256

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.category for r in self.results)

    @property
    def statuses(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    @property
    def passed(self) -> bool:
        return all(r.status in ("pass", "expected-failure", "unexpected-pass") for r in self.results)

    def per_rule(self) -> dict[str, Counter[str]]:
        """rule -> caught / missed / spurious (cases), for adapters that show findings."""
        out: dict[str, Counter[str]] = {}
        for r in self.results:
            if r.outcome.findings is None or r.case.verdict == "unreadable":
                continue
            for rule in r.case.rules:
                out.setdefault(rule, Counter())["caught" if rule not in r.missing_rules else "missed"] += 1
            for rule in r.extra_rules - r.case.rules:
                out.setdefault(rule, Counter())["spurious"] += 1
        return dict(sorted(out.items()))


def certify(
    corpus: Corpus,
    validator: Callable[[Case, str], Outcome],
    *,
    description: str,
    expected_failures: Iterable[ExpectedFailure] = (),
    select: Callable[[Case], bool] | None = None,
    jobs: int = 1,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> Certification:
    """Run the validator over every (selected) case and score it. `jobs` runs cases in parallel threads (for
    command validators, each in its own process). On Ctrl-C or SIGTERM every running validator is stopped.
    `progress` is told how many cases have finished (in case order)."""
    if jobs < 1:
        raise CertifyError(f"jobs must be 1 or more, not {jobs}")
    cases = [c for c in corpus.cases if select is None or select(c)]
    if not cases:
        raise CertifyError("no cases selected")
    controls: set[str] = set()
    if not any(c.verdict == "accepted" for c in cases):
        control = next((c for c in corpus.cases if c.verdict == "accepted"), None)
        if control is not None:
            cases.insert(0, control)
            controls.add(control.id)
    day = today or date.today()
    waivers = list(expected_failures)
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = [pool.submit(validator, case, corpus.profile) for case in cases]
    try:
        outcomes = []
        for future in futures:
            outcomes.append(future.result())
            if progress is not None:
                progress(len(outcomes))
    except BaseException:
        for future in futures:
            future.cancel()
        stop = getattr(validator, "stop", None)
        if callable(stop):
            stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    results = [score_case(case, outcome) for case, outcome in zip(cases, outcomes, strict=True)]
    for result in results:
        result.control = result.case.id in controls
        passing = result.category in PASSING
        # An error is not an answer, and the control case guards the run itself: neither can be waived.
        unwaivable = result.category == "error" or result.control
        waiver = None if unwaivable else next((w for w in waivers if w.covers(result)), None)
        if waiver is None:
            result.status = "pass" if passing else "fail"
            continue
        result.expected_failure = waiver
        if waiver.expires is not None and waiver.expires < day:
            result.status = "pass" if passing else "expired-expected-failure"
        else:
            result.status = "unexpected-pass" if passing else "expected-failure"
    return Certification(corpus, description, results, day)
