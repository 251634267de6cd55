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
to a case expecting findings satisfies it only when the adapter cannot show findings (exit codes), or when the
case is a file reject (below).
Per rule: in how many cases it was expected and caught, expected and missed, or reported where not expected.

Levels (LEVELS) say which findings must match:
  verdict   the verdict alone
  official  the verdict and every required finding (the official codes, at their records); the validator may
            report our provisional ids or not, and a finding that maps to no rule is listed as unmapped, not
            wrong; an official code reported where the corpus expects none is wrong. A file reject (the case's
            `file_reject`) is met by a refusal at file level (unreadable, or a finding with no record) whatever
            record findings follow it
  exact     every expected id at its record and nothing else (our own checker is held to this)

When the selected cases hold none that should be accepted, certify adds one (the corpus's first) as a control,
so that a validator which refuses every file can never be certified on a selection of refusals.
"""

from __future__ import annotations

import threading
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from conformance.certify._corpus import Case, Corpus
from conformance.certify._rule_map import RuleMap
from conformance.certify._validators import CertifyError, Outcome
from conformance.files import InputError, require_file

CATEGORIES = ("correct-accept", "correct-reject", "wrong-reason", "false-reject", "false-accept", "error")
PASSING = {"correct-accept", "correct-reject"}
LEVELS = ("verdict", "official", "exact")
Pair = tuple[str, int | None]


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
    return parse_expected_failures(data.get("expected-failure", []), str(path))


def parse_expected_failures(entries: Any, where: str) -> list[ExpectedFailure]:
    """[[expected-failure]] entries already read from TOML (a waiver file, or a validator file)."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CertifyError(f"{where}: expected-failure must be an array of tables ([[expected-failure]])")
    out = []
    for n, entry in enumerate(entries, 1):
        case, rule, reason, expires = entry.get("case"), entry.get("rule"), entry.get("reason"), entry.get("expires")
        if (case is None) == (rule is None):
            raise CertifyError(f"{where}: expected failure {n} needs exactly one of case or rule")
        if not reason:
            raise CertifyError(f"{where}: expected failure {n} needs a reason")
        if expires is not None and not isinstance(expires, date):
            raise CertifyError(f"{where}: expected failure {n}: expires must be a TOML date (2027-01-31)")
        out.append(ExpectedFailure(case, rule, str(reason), expires))
    return out


@dataclass
class CaseResult:
    case: Case
    outcome: Outcome
    category: str
    missing: set[Pair] = field(default_factory=set)
    extra: set[Pair] = field(default_factory=set)
    reasons_checked: bool = True
    expected_failure: ExpectedFailure | None = None
    status: str = ""  # pass | fail | expected-failure | unexpected-pass | expired-expected-failure
    control: bool = False  # added by certify because the selection held no case to accept
    observed: set[Pair] = field(default_factory=set)  # what the validator said, in our rule ids (rule map applied)
    unmapped: set[Pair] = field(default_factory=set)  # what it said that maps to no rule of ours
    file_reject_met: bool = False  # a file-level refusal met this file-reject case

    @property
    def missing_rules(self) -> set[str]:
        return {r for r, _ in self.missing}

    @property
    def extra_rules(self) -> set[str]:
        return {r for r, _ in self.extra}


def _rules_only(pairs: set[Pair]) -> set[Pair]:
    return {(rule, None) for rule, _ in pairs}


def score_case(
    case: Case,
    outcome: Outcome,
    *,
    level: str = "exact",
    rule_map: RuleMap | None = None,
    rule_codes: dict[str, str | None] | None = None,
) -> CaseResult:
    """Score one outcome. `rule_codes` (rule id -> official code or None) tells official codes from our
    provisional ids and from codes that are no rule of ours; without it, every id the validator says counts."""
    if level not in LEVELS:
        raise CertifyError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    expected = case.verdict
    if outcome.verdict == "error":
        return CaseResult(case, outcome, "error")
    result = CaseResult(case, outcome, "")
    refused = outcome.verdict in ("rejected", "unreadable")
    if expected != "unreadable" and outcome.findings is not None:
        _compare_findings(result, level, rule_map or RuleMap(), rule_codes, refused)
    else:
        result.reasons_checked = expected == "unreadable"
    if expected == "accepted":
        result.category = "false-reject" if refused else "correct-accept"
    else:
        result.category = "correct-reject" if refused else "false-accept"
    if result.category in PASSING and (result.missing or result.extra):
        result.category = "wrong-reason"
    return result


def _compare_findings(
    result: CaseResult, level: str, rule_map: RuleMap, rule_codes: dict[str, str | None] | None, refused: bool
) -> None:
    case, outcome = result.case, result.outcome
    assert outcome.findings is not None
    known = rule_codes if rule_codes is not None else {rule: rule for rule, _ in outcome.findings}
    observed, unmapped = rule_map.translate(case, outcome.findings, known)
    visible = outcome.records_visible
    everything, required = (
        (case.pairs, case.required_pairs)
        if visible
        else (
            _rules_only(case.pairs),
            _rules_only(case.required_pairs),
        )
    )
    result.observed, result.unmapped = observed, unmapped
    if level == "verdict":
        result.reasons_checked = False
        return
    if level == "exact":
        result.missing, result.extra = everything - observed, (observed - everything) | unmapped
        return
    at_file_level = outcome.verdict == "unreadable" or any(record is None for _, record in observed | unmapped)
    result.file_reject_met = case.file_reject and refused and at_file_level
    if result.file_reject_met:  # the file is refused whole: what it says of records after that is not judged
        required = {pair for pair in required if pair[1] is None}
        observed = {pair for pair in observed if pair[1] is None}
        if outcome.verdict == "unreadable":
            required = set()
    result.missing = required - observed
    # A wrong official code is wrong; our provisional ids may be said or not; a code that is not ours is unmapped.
    # (Without the profile's rule codes, every id said counts as official.)
    official = {pair for pair in observed if known.get(pair[0], pair[0]) is not None}
    result.extra = official - everything


@dataclass
class Certification:
    corpus: Corpus
    validator: str
    results: list[CaseResult]
    today: date
    level: str = "exact"

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
        """rule -> caught / missed / spurious / optional-unreported (cases), for adapters that show findings. A rule
        the level does not require by name, which the validator did not report in a case it refused rightly, is
        `optional-unreported`: neither caught nor missed."""
        out: dict[str, Counter[str]] = {}
        for r in self.results:
            if r.outcome.findings is None or r.case.verdict == "unreadable":
                continue
            said = {rule for rule, _ in r.observed}
            for rule in r.case.rules:
                if rule in r.missing_rules or (rule not in said and r.category == "false-accept"):
                    state = "missed"  # a rule not required by name is still missed when its verdict was missed
                elif rule in said:
                    state = "caught"
                else:
                    state = "optional-unreported"
                out.setdefault(rule, Counter())[state] += 1
            for rule in r.extra_rules - r.case.rules:
                out.setdefault(rule, Counter())["spurious"] += 1
        return dict(sorted(out.items()))

    def unmapped(self) -> Counter[str]:
        """The validator's codes that map to no rule of ours, with the number of cases each was said in."""
        return Counter(code for r in self.results for code in {c for c, _ in r.unmapped})


def certify(
    corpus: Corpus,
    validator: Callable[[Case, str], Outcome],
    *,
    description: str,
    expected_failures: Iterable[ExpectedFailure] = (),
    select: Callable[[Case], bool] | None = None,
    jobs: int = 1,
    today: date | None = None,
    level: str = "official",
    rule_map: RuleMap | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Certification:
    """Run the validator over every (selected) case and score it at `level`. `jobs` runs cases in parallel threads
    (for command validators, each in its own process); `progress(done, total)` is called as cases finish. On Ctrl-C
    or SIGTERM every running validator is stopped."""
    if jobs < 1:
        raise CertifyError(f"jobs must be 1 or more, not {jobs}")
    if level not in LEVELS:
        raise CertifyError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    cases, controls = _with_control(corpus, select)
    outcomes = _run_all(validator, cases, corpus.profile, jobs, progress)
    codes = corpus.rule_codes
    results = [
        score_case(case, outcome, level=level, rule_map=rule_map, rule_codes=codes)
        for case, outcome in zip(cases, outcomes, strict=True)
    ]
    day = today or date.today()
    waivers = list(expected_failures)
    for result in results:
        result.control = result.case.id in controls
        _apply_waiver(result, waivers, day)
    return Certification(corpus, description, results, day, level)


def _with_control(corpus: Corpus, select: Callable[[Case], bool] | None) -> tuple[list[Case], set[str]]:
    cases = [c for c in corpus.cases if select is None or select(c)]
    if not cases:
        raise CertifyError("no cases selected")
    controls: set[str] = set()
    if not any(c.verdict == "accepted" for c in cases):
        control = next((c for c in corpus.cases if c.verdict == "accepted"), None)
        if control is not None:
            cases.insert(0, control)
            controls.add(control.id)
    return cases, controls


def _run_all(
    validator: Callable[[Case, str], Outcome],
    cases: list[Case],
    profile: str,
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> list[Outcome]:
    pool = ThreadPoolExecutor(max_workers=jobs)
    done = [0]
    lock = threading.Lock()

    def tick(_: Future[Outcome]) -> None:
        with lock:
            done[0] += 1
            if progress is not None:
                progress(done[0], len(cases))

    futures = [pool.submit(validator, case, profile) for case in cases]
    for future in futures:
        future.add_done_callback(tick)
    try:
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        stop = getattr(validator, "stop", None)
        if callable(stop):
            stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(validator, "close", None)
        if callable(close):
            close()  # a served validator's idle servers


def _apply_waiver(result: CaseResult, waivers: list[ExpectedFailure], day: date) -> None:
    passing = result.category in PASSING
    # An error is not an answer, and the control case guards the run itself: neither can be waived.
    unwaivable = result.category == "error" or result.control
    waiver = None if unwaivable else next((w for w in waivers if w.covers(result)), None)
    if waiver is None:
        result.status = "pass" if passing else "fail"
        return
    result.expected_failure = waiver
    if waiver.expires is not None and waiver.expires < day:
        result.status = "pass" if passing else "expired-expected-failure"
    else:
        result.status = "unexpected-pass" if passing else "expected-failure"
