"""A pytest plugin: run the DIDS conformance corpus as parametrised tests in a vendor's own suite.

Installed with the package (entry point `pytest11`), it does nothing until a test asks for the `dids_case`
fixture; such a test then runs once per corpus case:

    def test_my_validator(dids_case):
        verdict, findings = my_validator(dids_case.file, dids_case.context)   # findings: (rule, record) pairs
        dids_case.expect(verdict, findings)                                    # fails with what differed

`dids_case.file` is the case's file (a Path); `dids_case.context` a dict of strings: profile, format, submitted
(ISO 8601; without an offset, UK local time), and where the case has them period (YYYY-MM), submitter, reference
(a folder of reference tables) and local_mappings (a v1 mapping table); `conformance.check.check(file,
context=dids_case.context)` takes it as it is. The verdict is one of the manifest's words: accepted, rejected,
or unreadable (the validator refused to read the file). Findings are judged at the level set by `dids_level`
(default official: every official code at its record; our provisional ids optional). A selection that matches
no case is a usage error, never an empty green run.

Options: --dids-corpus DIR (default: the corpus installed with the harness), --dids-profile P (repeatable;
default all three), --dids-case GLOB and --dids-tag TAG (repeatable) to narrow the cases. The same in an ini
file: `dids_corpus`, `dids_profile` (one or more), `dids_level` (verdict, official or exact); command-line
options win. A test marked `@pytest.mark.dids_case("break-V2P-*", "clean-*")` runs only the cases whose ids
match one of its globs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conformance.certify import ANSWERS, LEVELS, Case, CorpusError, Outcome, bundled_corpus, load_corpus, score_case

PROFILES = ("v1-dsp", "v1-portal", "v2")
MARKER = "dids_case"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dids", "DIDS conformance corpus")
    group.addoption("--dids-corpus", default=None, metavar="DIR", help="the corpus (default fixtures/corpus)")
    group.addoption("--dids-profile", action="append", default=[], choices=PROFILES, help="profile(s) to run")
    group.addoption("--dids-case", action="append", default=[], metavar="GLOB", help="only cases whose id matches")
    group.addoption("--dids-tag", action="append", default=[], metavar="TAG", help="only cases with this tag")
    parser.addini("dids_corpus", "the DIDS corpus folder (default: the one installed with the harness)", default="")
    parser.addini("dids_profile", "DIDS profile(s) to run (default all three)", type="linelist", default=[])
    parser.addini("dids_level", "how findings are judged: verdict, official or exact", default="official")


@dataclass
class CorpusCase:
    """One corpus case as a test sees it. A test that never calls `expect()` fails: it has certified nothing."""

    profile: str
    case: Case
    answered: bool = field(default=False, compare=False)
    level: str = "official"
    rule_codes: dict[str, str | None] | None = field(default=None, compare=False, repr=False)

    @property
    def file(self) -> Path:
        return self.case.file

    @property
    def context(self) -> dict[str, str]:
        return {"profile": self.profile, "format": self.case.format, **self.case.context}

    def expect(self, verdict: str, findings: Iterable[tuple[str, int | None]] | None = None) -> None:
        """Fail unless (verdict, findings) is what the corpus expects: the verdict (accepted, rejected, or
        unreadable) and, when given, the expected (rule, record) findings at the plugin's level (`dids_level`)."""
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
        result = score_case(self.case, outcome, level=self.level, rule_codes=self.rule_codes)
        if result.category not in ("correct-accept", "correct-reject"):
            lines = [f"{self.case.id} ({self.case.description}): {result.category}"]
            lines.append(f"expected {self.case.verdict}, got {verdict}")
            if result.missing:
                lines.append(f"missing: {sorted(result.missing, key=str)}")
            if result.extra:
                lines.append(f"not expected: {sorted(result.extra, key=str)}")
            pytest.fail("\n".join(lines), pytrace=False)


def _corpus_root(config: pytest.Config) -> str:
    given = config.getoption("dids_corpus") or str(config.getini("dids_corpus") or "")
    if given:
        return given if Path(given).is_absolute() else str(Path(str(config.rootpath)) / given)
    installed = bundled_corpus()
    if installed is None:
        raise pytest.UsageError(
            "no DIDS corpus is installed with the harness: pass --dids-corpus DIR (or set dids_corpus), or build "
            "one with `dids fixtures build --out DIR`"
        )
    return str(installed)


def _selected(config: pytest.Config, marked: tuple[str, ...] = ()) -> list[CorpusCase]:
    """The corpus cases the options (and a test's marker globs) select; a usage error when the corpus is missing
    or nothing matches."""
    root = _corpus_root(config)
    if not (Path(root) / "VERSION").is_file():
        raise pytest.UsageError(
            f"no DIDS corpus at {root}: pass --dids-corpus DIR (a copy of fixtures/corpus, or `dids corpus path`; "
            "build one with `dids fixtures build --out DIR`)"
        )
    profiles = config.getoption("dids_profile") or list(config.getini("dids_profile")) or list(PROFILES)
    unknown = sorted(set(profiles) - set(PROFILES))
    level = str(config.getini("dids_level"))
    if unknown or level not in LEVELS:
        raise pytest.UsageError(f"dids_profile must be among {', '.join(PROFILES)}; dids_level one of {LEVELS}")
    globs, tags = config.getoption("dids_case"), set(config.getoption("dids_tag"))
    chosen = []
    for profile in profiles:
        try:
            corpus = load_corpus(root, profile)
        except CorpusError as exc:
            raise pytest.UsageError(str(exc)) from None
        for case in corpus.cases:
            if globs and not any(fnmatch.fnmatchcase(case.id, g) for g in globs):
                continue
            if marked and not any(fnmatch.fnmatchcase(case.id, g) for g in marked):
                continue
            if tags and not tags & set(case.tags):
                continue
            chosen.append(CorpusCase(profile, case, level=level, rule_codes=corpus.rule_codes))
    if not chosen:
        said = " ".join(
            [*(f"--dids-case {g}" for g in globs), *(f"--dids-tag {t}" for t in sorted(tags))]
            + [f"@pytest.mark.dids_case({g!r})" for g in marked]
        )
        raise pytest.UsageError(f"no DIDS corpus case matches {said or 'the selection'} in {', '.join(profiles)}")
    return chosen


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*globs): run this test only on the DIDS corpus cases whose ids match one of the globs"
    )
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
    marker = metafunc.definition.get_closest_marker(MARKER)
    marked = tuple(str(g) for g in marker.args) if marker is not None else ()
    params = [pytest.param(c, id=f"{c.profile}:{c.case.id}") for c in _selected(metafunc.config, marked)]
    metafunc.parametrize("dids_case", params)
