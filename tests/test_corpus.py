"""The conformance corpus (fixtures/corpus): no drift from a fresh build, sane manifests, and every rule of every
profile with a passing and a breaking case."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from lxml import etree

from conformance.certify import load_corpus
from conformance.identifiers import is_valid_nhs_number
from conformance.spec import PROFILES, load_pack
from generators.breaks import V2_LAYOUT_FAULTS, V2_SOURCE_CASES
from generators.corpus import build_corpus
from generators.mutations import operators

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
ALL = ("v1-dsp", "v1-portal", "v2")


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_checked_in_corpus_is_what_the_build_makes(tmp_path: Path) -> None:
    build_corpus(tmp_path / "fresh")
    fresh, checked_in = files_under(tmp_path / "fresh"), files_under(CORPUS)
    assert sorted(fresh) == sorted(checked_in), "files added or removed: run `dids fixtures build`"
    drifted = [name for name in fresh if fresh[name] != checked_in[name]]
    assert drifted == [], f"{len(drifted)} file(s) differ from a fresh build (run `dids fixtures build`): {drifted[:5]}"


@pytest.mark.parametrize("profile", ALL)
def test_manifests_are_sane(profile: str) -> None:
    corpus = load_corpus(CORPUS, profile)  # validates against manifest.schema.json
    pack = load_pack(PROFILES[profile])
    ids = [c.id for c in corpus.cases]
    assert len(ids) == len(set(ids))
    descriptions = [c.description for c in corpus.cases]
    assert len(descriptions) == len(set(descriptions))
    listed = {c.file for c in corpus.cases}
    assert all(path.is_file() for path in listed), "every listed file is present"
    present = {p for p in (CORPUS / profile).iterdir() if p.suffix in (".csv", ".xml")} - {
        CORPUS / "v1-dsp" / "X9T-local-mappings.csv"
    }
    assert present == listed, "every file present is listed"
    for case in corpus.cases:
        for finding in case.findings:
            rule = pack.rule(finding.rule)  # every cited rule exists
            assert finding.code == rule.code
            assert profile in rule.profiles
        assert case.verdict in ("accepted", "rejected", "unreadable")
        if case.verdict == "accepted":
            assert all(pack.rule(f.rule).severity == "warning" for f in case.findings)
        assert Path(case.context["reference"]).is_dir()
        if "local_mappings" in case.context:
            assert Path(case.context["local_mappings"]).is_file()


def nhs_numbers(path: Path, position: int) -> list[tuple[int, str]]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        rows = rows[1:] if rows and rows[0][0] == "NHS_NUMBER" else rows
        return [(n, r[position]) for n, r in enumerate(rows, 1) if len(r) > position and r[position]]
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    return [(0, e.get("extension") or e.text or "") for e in tree.iter("{*}NHSNumber")]


@pytest.mark.parametrize("profile", ALL)
def test_every_nhs_number_is_synthetic_except_deliberate_negative_cases(profile: str) -> None:
    corpus = load_corpus(CORPUS, profile)
    position = load_pack(PROFILES[profile]).index["nhs_number"]
    number_rules = {r.id for r in load_pack(PROFILES[profile]).rules if "nhs_number" in r.items}
    seen = 0
    for case in corpus.cases:
        if case.verdict == "unreadable":
            continue
        deliberate = {f.record for f in case.findings if f.rule in number_rules}
        for record, number in nhs_numbers(case.file, position):
            seen += 1
            if record in deliberate or (record == 0 and deliberate):
                continue
            # written with the white space and hyphens a trust's extract may carry (the DSP cleanses them)
            number = re.sub(r"[\s-]", "", number).lstrip("\ufeff")  # and a byte-order mark before the first
            assert number.startswith("999") and is_valid_nhs_number(number), (case.id, record, number)
    assert seen > 500


@pytest.mark.parametrize("profile", ALL)
def test_every_rule_has_a_passing_and_a_breaking_case_in_each_format_it_can_be_broken_in(profile: str) -> None:
    corpus = load_corpus(CORPUS, profile)
    ops = operators(PROFILES[profile])
    for rule in load_pack(PROFILES[profile]).rules_for(profile):
        formats = ("csv",) if ops[rule.id].kind == "submission" else ops[rule.id].formats
        for fmt in formats:
            breaking = [c for c in corpus.cases if c.format == fmt and rule.id in c.rules]
            passing = [
                c for c in corpus.cases if c.format == fmt and c.verdict != "unreadable" and rule.id not in c.rules
            ]
            assert breaking, f"{profile}: no {fmt} case breaks {rule.id}"
            assert passing, f"{profile}: no {fmt} case passes {rule.id}"


def test_v2_readiness_points_are_covered() -> None:
    tags = {tag for case in load_corpus(CORPUS, "v2").cases for tag in case.tags}
    assert {"v2-readiness", "bst", "window", "v2-start", "unreadable", "mixed", "clean"} <= tags
    ids = {case.id for case in load_corpus(CORPUS, "v2").cases}
    assert {"pass-screening-referral-csv", "window-3-months-closed-csv", "activity-last-minute-before-v2-csv"} <= ids
    # Issue 15: cases written from the v2.0 sources, and one layout-parity case per fault in both layouts.
    assert {"v2-sources", "parity"} <= tags
    for fmt in ("csv", "xml"):
        assert {f"{name}-{fmt}" for name, *_ in V2_SOURCE_CASES} <= ids
        assert {f"parity-{name}-{fmt}" for name, *_ in V2_LAYOUT_FAULTS} <= ids
    manifest = json.loads((CORPUS / "v1-dsp" / "manifest.json").read_text(encoding="utf-8"))
    assert any("local-codes" in case["tags"] for case in manifest["cases"])
