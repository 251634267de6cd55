"""A pytest plugin: run the DIDS conformance corpus as parametrised tests in a vendor's own suite.

Installed with the package (entry point `pytest11`), it does nothing until a test asks for the `dids_case`
fixture; such a test then runs once per corpus case:

    def test_my_validator(dids_case):
        verdict, findings = my_validator(dids_case.file, dids_case.context)   # findings: (rule, record) pairs
        dids_case.expect(verdict, findings)                                    # fails with what differed

The verdict is one of the manifest's words: accepted, rejected, or unreadable (the validator refused to read
the file). A selection that matches no case is a usage error, never an empty green run.

Options: --dids-corpus DIR (default: fixtures/corpus under the rootdir), --dids-profile P (repeatable; default
all three), --dids-case GLOB and --dids-tag TAG (repeatable) to narrow the cases.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conformance.certify import ANSWERS, Case, CorpusError, Outcome, load_corpus, score_case

PROFILES = ("v1-dsp", "v1-portal", "v2")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dids", "DIDS conformance corpus")
    group.addoption("--dids-corpus", default=None, metavar="DIR", help="the corpus (default fixtures/corpus)")
    group.addoption("--dids-profile", action="append", default=[], choices=PROFILES, help="profile(s) to run")
    group.addoption("--dids-case", action="append", default=[], metavar="GLOB", help="only cases whose id matches")
    group.addoption("--dids-tag", action="append", default=[], metavar="TAG", help="only cases with this tag")


@dataclass
class CorpusCase:
    """One corpus case as a test sees it. A test that never calls `expect()` fails: it has certified nothing."""

    profile: str
    case: Case
    answered: bool = field(default=False, compare=False)

    @property
    def file(self) -> Path:
        return self.case.file

    @property
    def context(self) -> dict[str, str]:
        return {"profile": self.profile, "format": self.case.format, **self.case.context}

    def expect(self, verdict: str, findings: Iterable[tuple[str, int | None]] | None = None) -> None:
        """Fail unless (verdict, findings) is what the corpus expects: the verdict (accepted, rejected, or
        unreadable) and, when given, exactly the expected (rule, record) findings."""
        self.answered = True
        if verdict not in ANSWERS:
            pytest.fail(f"unknown verdict {verdict!r}: say one of {', '.join(ANSWERS)}", pytrace=False)
        pairs = None
        if findings is not None:
            try:
                pairs = frozenset((str(rule), record) for rule, record in findings)
            except (TypeError, ValueError):
                pytest.fail("findings must be (rule, record) pairs, e.g. [('DIDS001', 3)]", pytrace=False)
        outcome = Outcome(verdict, pairs)
        result = score_case(self.case, outcome)
        if result.category not in ("correct-accept", "correct-reject"):
            lines = [f"{self.case.id} ({self.case.description}): {result.category}"]
            lines.append(f"expected {self.case.verdict}, got {verdict}")
            if result.missing:
                lines.append(f"missing: {sorted(result.missing, key=str)}")
            if result.extra:
                lines.append(f"not expected: {sorted(result.extra, key=str)}")
            pytest.fail("\n".join(lines), pytrace=False)


def _selected(config: pytest.Config) -> list[CorpusCase]:
    """The corpus cases the options select; a usage error when the corpus is missing or nothing matches."""
    root = config.getoption("dids_corpus") or str(Path(str(config.rootpath)) / "fixtures" / "corpus")
    if not (Path(root) / "VERSION").is_file():
        raise pytest.UsageError(f"no DIDS corpus at {root}: pass --dids-corpus DIR (a copy of fixtures/corpus)")
    profiles = config.getoption("dids_profile") or list(PROFILES)
    globs, tags = config.getoption("dids_case"), set(config.getoption("dids_tag"))
    chosen = []
    for profile in profiles:
        try:
            cases = load_corpus(root, profile).cases
        except CorpusError as exc:
            raise pytest.UsageError(str(exc)) from None
        for case in cases:
            if globs and not any(fnmatch.fnmatchcase(case.id, g) for g in globs):
                continue
            if tags and not tags & set(case.tags):
                continue
            chosen.append(CorpusCase(profile, case))
    if not chosen:
        said = " ".join([*(f"--dids-case {g}" for g in globs), *(f"--dids-tag {t}" for t in sorted(tags))])
        raise pytest.UsageError(f"no DIDS corpus case matches {said or 'the selection'} in {', '.join(profiles)}")
    return chosen


def pytest_configure(config: pytest.Config) -> None:
    # A selection given on the command line is checked before collection, so one that matches nothing stops the
    # run as a usage error (exit 4) instead of producing zero tests and a green run.
    if config.getoption("dids_case", None) or config.getoption("dids_tag", None):
        _selected(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("dids_case") if callspec is not None else None
    if isinstance(case, CorpusCase):
        case.answered = False
    result = yield
    if isinstance(case, CorpusCase) and not case.answered:
        pytest.fail(f"{case.case.id}: the test never called dids_case.expect(...): nothing was checked", pytrace=False)
    return result


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dids_case" not in metafunc.fixturenames:
        return
    params = [pytest.param(c, id=f"{c.profile}:{c.case.id}") for c in _selected(metafunc.config)]
    metafunc.parametrize("dids_case", params)
