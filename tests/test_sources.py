"""Every `source` in the spec packs resolves inside the repository, in docs/sources/.

A source string cites `<file>.md §<n>` (a heading of docs/sources/<file>.md), confidence tags and source shorthands in
square brackets (the tags are listed in docs/sources/README.md, the shorthands in its glossary) and, now and then, an
official rule code (restated in docs/sources/dids-v1.md or dids-v2.md). docs/sources/README.md gives the full rule.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKS = ROOT / "conformance" / "spec" / "packs"
PACK_FILES = tuple(PACKS / version / name for version in ("v1", "v2") for name in ("pack.toml", "rules.toml"))
SOURCES = ROOT / "docs" / "sources"

# A short quotation ('...', opened after a space or a bracket, so "peer's" is no quotation) is read as text.
QUOTATION = re.compile(r"(?<!\w)'[^']*'(?!\w)")
CITATION = re.compile(r"(?P<file>\b[\w-]+\.md\b)|§\s?(?P<section>\d+(?:\.\d+)*)|\b(?P<appendix>Appendix [A-Z])\b")
BRACKET = re.compile(r"\[([^\[\]]*)\]")
SHORTHAND_LIKE = re.compile(r"^(?:[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+|[A-Z][A-Z0-9]+|S\d+[a-z]?)$")
RULE_CODE = re.compile(r"\bDIDS(?:REJ\d{3}|\d{8}|\d{3})\b")
# Plain words outside the brackets that name a glossary entry.
PLAIN_TERMS = ("this project", "peer", "portal")

SECTION_HEADING = re.compile(r"^#{1,6}\s+(§\d+(?:\.\d+)*|Appendix [A-Z])(?=[\s:]|$)", re.MULTILINE)
TAG_ROW = re.compile(r"^\| `\[([A-Z])\]` \|", re.MULTILINE)
GLOSSARY_ENTRY = re.compile(r"^### (.+?)\s*$", re.MULTILINE)
GLOSSARY_FIELDS = ("Title", "Publisher", "Published at", "Used for", "Licence")


@dataclass(frozen=True)
class Sources:
    """What docs/sources/ offers a citation: headings per file, confidence tags, glossary entries, restated codes."""

    headings: dict[str, frozenset[str]]
    tags: frozenset[str]
    glossary: dict[str, str]
    restated: str


def glossary_entries(readme: str) -> dict[str, str]:
    """The glossary of docs/sources/README.md: each `### TERM` heading after `## Glossary`, with its text."""
    _, _, glossary = readme.partition("\n## Glossary")
    glossary = glossary.split("\n## ", 1)[0]
    parts = GLOSSARY_ENTRY.split(glossary)
    return {term: text for term, text in zip(parts[1::2], parts[2::2], strict=True)}


def load_sources(folder: Path = SOURCES) -> Sources:
    """Read docs/sources/: the headings of each cited file, and the tags and glossary of its README."""
    documents = {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.md"))}
    readme = documents.pop("README.md")
    return Sources(
        headings={name: frozenset(SECTION_HEADING.findall(text)) for name, text in documents.items()},
        tags=frozenset(TAG_ROW.findall(readme)),
        glossary=glossary_entries(readme),
        restated="\n".join(text for name, text in documents.items() if name.startswith("dids-")),
    )


def bracket_problems(content: str, sources: Sources) -> Iterator[str]:
    """One bracket: clauses split by ';', each `[TAG] [SHORTHAND, ...][: note]`; the first clause must carry a tag.

    Before a colon stand only shorthands (`V S3, S17: note`); with nothing before the colon, the items after it are
    the shorthands (`V: DSP, ATTR`), each qualified by the words that follow it (`DSP DIDS073`). An item that starts
    with a lower-case word, a digit or a quotation is a note.
    """
    for index, clause in enumerate(content.split(";")):
        clause = clause.strip()
        tag = re.match(r"([A-Z])(?=[\s:,]|$)", clause)
        if tag:
            if tag.group(1) not in sources.tags:
                yield f"[{content}]: {tag.group(1)} is not a confidence tag"
            clause = clause[1:].strip()
        elif index == 0:
            yield f"[{content}]: does not start with a confidence tag"
        before, colon, after = clause.partition(":")
        if colon and before.strip():
            names = [item.strip() for item in before.split(",")]
            if not all(SHORTHAND_LIKE.match(name) for name in names):
                yield f"[{content}]: only shorthands may stand before a colon, not {before.strip()!r}"
                continue
        else:
            names = [item.split()[0] for item in (after if colon else clause).split(",") if item.split()]
        for name in names:
            if name in sources.tags:  # `[V S7, I]`: verified in S7, and an inference drawn from it
                continue
            if SHORTHAND_LIKE.match(name) and name not in sources.glossary:
                yield f"[{content}]: shorthand {name} is not in the glossary"


def unresolved(source: str, sources: Sources) -> list[str]:
    """Every part of one source string that does not resolve in docs/sources/ (empty when all of it does)."""
    problems: list[str] = []
    text = QUOTATION.sub("''", source)
    if re.search(r"\bDESIGN\b", text):
        problems.append("DESIGN: cite design.md §<n> instead")
    current: str | None = None
    sectioned = True
    for match in CITATION.finditer(text):
        if match["file"]:
            if current is not None and not sectioned:
                problems.append(f"{current}: cited without a section")
            current, sectioned = match["file"], False
            if current not in sources.headings:
                problems.append(f"{current}: no such file in docs/sources/")
            continue
        section = f"§{match['section']}" if match["section"] else match["appendix"]
        if current is None:
            problems.append(f"{section}: names no file before it")
            continue
        sectioned = True
        if current in sources.headings and section not in sources.headings[current]:
            problems.append(f"{current} {section}: no such heading in docs/sources/{current}")
    if current is not None and not sectioned:
        problems.append(f"{current}: cited without a section")
    for content in BRACKET.findall(text):
        problems.extend(bracket_problems(content, sources))
    outside = BRACKET.sub(" ", text).lower()
    glossary = {term.lower() for term in sources.glossary}
    for term in PLAIN_TERMS:
        if re.search(rf"\b{term}\b", outside) and term not in glossary:
            problems.append(f"{term}: not in the glossary")
    problems += [
        f"{code}: not restated in docs/sources/" for code in RULE_CODE.findall(text) if code not in sources.restated
    ]
    return problems


def source_strings(data: Any) -> Iterator[str]:
    """Every value of a key named `source`, anywhere in a pack file's data."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "source":
                yield value
            else:
                yield from source_strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from source_strings(value)


def pack_sources() -> list[tuple[str, str]]:
    found = []
    for path in PACK_FILES:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        found += [(str(path.relative_to(ROOT)), source) for source in source_strings(data)]
    return found


@pytest.fixture(scope="module")
def sources() -> Sources:
    return load_sources()


def test_every_pack_source_is_a_non_empty_string() -> None:
    found = pack_sources()
    assert len(found) > 200  # every entry of every pack carries one
    assert [(where, s) for where, s in found if not isinstance(s, str) or not s.strip()] == []


def test_every_pack_source_resolves_in_docs_sources(sources: Sources) -> None:
    failures = {f"{where}: {source!r}": unresolved(source, sources) for where, source in pack_sources()}
    assert {where: problems for where, problems in failures.items() if problems} == {}


def test_a_made_up_citation_is_reported_unresolved(sources: Sources) -> None:
    problems = unresolved("dids-v1.md §99.9 [V: NOPE]", sources)
    assert problems == [
        "dids-v1.md §99.9: no such heading in docs/sources/dids-v1.md",
        "[V: NOPE]: shorthand NOPE is not in the glossary",
    ]


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("dids-v3.md §1 [V: DSP]", "dids-v3.md: no such file in docs/sources/"),
        ("dids-v1.md [V: DSP]", "dids-v1.md: cited without a section"),
        ("§3.2 [V: DSP]", "§3.2: names no file before it"),
        ("DESIGN; dids-v2.md §2.5", "DESIGN: cite design.md §<n> instead"),
        ("design.md §99 [A]", "design.md §99: no such heading in docs/sources/design.md"),
        ("dids-v1.md §3.2 [Q: DSP]", "[Q: DSP]: Q is not a confidence tag"),
        ("dids-v1.md §3.2 [DSP]", "[DSP]: does not start with a confidence tag"),
        ("dids-v2.md §2.2 [V S99: a name]", "[V S99: a name]: shorthand S99 is not in the glossary"),
        (
            "dids-v2.md §2.2 [V: S3b; Verhoeff: x]",
            "[V: S3b; Verhoeff: x]: only shorthands may stand before a colon, not 'Verhoeff'",
        ),
        ("carried over from v1 DIDS999 [I]", "DIDS999: not restated in docs/sources/"),
    ],
)
def test_each_kind_of_unresolved_citation_is_named(sources: Sources, source: str, problem: str) -> None:
    assert problem in unresolved(source, sources)


@pytest.mark.parametrize(
    "source",
    [
        "dids-v1.md §3.2 [V: DSP]; §3.1 portal 'DOB <= test date'",
        "dids-v1.md §1.1 order quirk, §1.3 [V: XSDPACK; XSDCON 'XML choice 1: one of the two; choice 2: both']",
        "dids-v2.md §4.3 [V S3, S16, S17: pattern, max an25, only +01:00 +00:00 -00:00 Z]; code [U]",
        "dids-v2.md §2.3, Appendix A [V S7: a snapshot; I: its use]",
        "this project: a *_TIME item only has meaning with its *_DATE (dids-v2.md §2.3) [A]",
    ],
)
def test_well_formed_citations_resolve(sources: Sources, source: str) -> None:
    assert unresolved(source, sources) == []


def test_every_glossary_entry_says_what_where_and_under_which_licence(sources: Sources) -> None:
    incomplete = {
        term: [field for field in GLOSSARY_FIELDS if f"**{field}**" not in text]
        for term, text in sources.glossary.items()
    }
    assert {term: fields for term, fields in incomplete.items() if fields} == {}
    assert sources.tags >= {"V", "I", "U", "A", "B"}
