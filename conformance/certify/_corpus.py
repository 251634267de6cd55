"""The conformance corpus as data: load a profile's manifest (checked against the corpus's JSON Schema)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from conformance.errors import DidsError

if TYPE_CHECKING:
    from conformance.spec import RuleSpec


class CorpusError(DidsError):
    """The corpus cannot be used: missing, unreadable, or a manifest that breaks its schema."""


@dataclass(frozen=True)
class ExpectedFinding:
    rule: str
    code: str | None
    record: int | None
    field: str | None
    required: bool = True  # False: a provisional id of ours, required only at --level exact


@dataclass(frozen=True)
class Case:
    id: str
    file: Path  # absolute
    format: str
    description: str
    origin: str
    tags: tuple[str, ...]
    context: dict[str, str]  # paths (reference, local_mappings) made absolute
    verdict: str  # accepted | rejected | unreadable
    findings: tuple[ExpectedFinding, ...] = ()
    file_reject: bool = False  # the file is refused as a whole: a file-level refusal alone meets the case

    @property
    def rules(self) -> set[str]:
        return {f.rule for f in self.findings}

    @property
    def pairs(self) -> set[tuple[str, int | None]]:
        return {(f.rule, f.record) for f in self.findings}

    @property
    def required_pairs(self) -> set[tuple[str, int | None]]:
        return {(f.rule, f.record) for f in self.findings if f.required}


@dataclass
class Corpus:
    root: Path
    version: str
    profile: str
    dids_version: str
    cases: list[Case] = field(default_factory=list)

    @cached_property
    def sha256(self) -> str:
        return corpus_hash(self.root)

    @cached_property
    def rule_specs(self) -> dict[str, RuleSpec]:
        """Every rule of the profile, from the spec pack (its code, kind, and the reference data it needs)."""
        from conformance.spec import load_pack

        return {rule.id: rule for rule in load_pack(self.dids_version).rules_for(self.profile)}

    @property
    def rule_codes(self) -> dict[str, str | None]:
        """Every rule id of the profile and its official code (None: provisional)."""
        return {rule_id: rule.code for rule_id, rule in self.rule_specs.items()}


def bundled_corpus() -> Path | None:
    """The corpus this installation carries: `corpus_data` inside the installed package (a wheel), else
    `fixtures/corpus` of the source checkout it runs from; None when neither is there."""
    package = Path(__file__).resolve().parents[1]
    for place in (package / "corpus_data", package.parent / "fixtures" / "corpus"):
        if (place / "VERSION").is_file():
            return place
    return None


def default_corpus() -> Path:
    found = bundled_corpus()
    if found is None:
        raise CorpusError(
            "no conformance corpus is installed with this copy of the harness; pass --corpus DIR, or build one "
            "from a source checkout with `dids fixtures build --out DIR`"
        )
    return found


def corpus_hash(root: str | Path) -> str:
    """SHA-256 over every file's path (relative, '/'-separated) and bytes, in path order: it names the exact
    corpus a certificate was made with."""
    base = Path(root)
    digest = hashlib.sha256()
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _inside(base: Path, relative: str, what: str) -> Path:
    """A path the manifest names, which must resolve (links followed) inside the corpus folder: a manifest can
    never send a validator, or certify, to a file elsewhere on the machine."""
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise CorpusError(f"{what} {relative!r} is outside the corpus folder {base}")
    return path


def load_corpus(root: str | Path | None, profile: str) -> Corpus:
    """A profile's cases from the corpus at `root` (None: the corpus installed with the harness)."""
    base = Path(root).resolve() if root is not None else default_corpus().resolve()
    manifest_path = base / profile / "manifest.json"
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        schema = json.loads((base / "manifest.schema.json").read_text(encoding="utf-8"))
        version = (base / "VERSION").read_text(encoding="utf-8").strip()
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusError(
            f"no usable corpus for {profile} at {base}: {exc} (build one with `dids fixtures build --out DIR`, or "
            "leave out --corpus to use the one installed with the harness)"
        ) from None
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path)
        raise CorpusError(
            f"{manifest_path}: {len(errors)} schema error(s); first at {where or '(top)'}: {first.message}"
        )
    if manifest["corpus_version"] != version:
        raise CorpusError(f"{manifest_path} is corpus {manifest['corpus_version']} but VERSION says {version}")
    corpus = Corpus(base, version, profile, manifest["version"])
    for entry in manifest["cases"]:
        context = dict(entry["context"])
        for key in ("reference", "local_mappings"):
            if key in context:
                context[key] = str(_inside(base, context[key], f"case {entry['id']}: {key}"))
        corpus.cases.append(
            Case(
                id=entry["id"],
                file=_inside(base, entry["file"], f"case {entry['id']}: file"),
                format=entry["format"],
                description=entry["description"],
                origin=entry["origin"],
                tags=tuple(entry["tags"]),
                context=context,
                verdict=entry["expected"]["verdict"],
                # Corpus 1.0 had neither mark: its official codes were its required findings.
                findings=tuple(
                    ExpectedFinding(
                        f["rule"], f["code"], f["record"], f["field"], f.get("required", f["code"] is not None)
                    )
                    for f in entry["expected"]["findings"]
                ),
                file_reject=entry["expected"].get("file_reject", entry["expected"]["verdict"] == "unreadable"),
            )
        )
    return corpus
