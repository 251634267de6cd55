"""Typed, immutable view of a spec pack (the TOML data under packs/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PROVENANCE_STATUSES = ("verified", "inferred", "assumed")
Carrier = Literal["code", "extension", "text"]


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an entry comes from: verified with a source, inferred, or assumed by this project."""

    status: str
    source: str
    overridden_by: str | None = None


@dataclass(frozen=True, slots=True)
class XmlBinding:
    """Where an item's value sits in the XML: an element (path below its group) and the value carrier."""

    element: str
    carrier: Carrier
    min_occurs: int
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    enumeration: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One data item: its NHS Data Dictionary name, our field id, CSV column, format and mandation."""

    id: str
    name: str
    column: str
    group: str
    format: str
    mandation: str
    xml: XmlBinding
    provenance: Provenance
    label: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    codelist: str | None = None
    from_v1: str | None = None
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class CodeValue:
    """One national code with its meaning, the profiles it holds for (all when empty) and its provenance."""

    code: str
    meaning: str | None
    provenance: Provenance
    profiles: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def holds_for(self, profile: str | None) -> bool:
        return profile is None or not self.profiles or profile in self.profiles


@dataclass(frozen=True, slots=True)
class CodeList:
    """A named list of national codes."""

    id: str
    name: str
    values: tuple[CodeValue, ...]
    provenance: Provenance

    def codes(self, profile: str | None = None) -> frozenset[str]:
        """The code values that hold for `profile` (every value when None)."""
        return frozenset(v.code for v in self.values if v.holds_for(profile))

    def tagged(self, tag: str) -> tuple[CodeValue, ...]:
        return tuple(v for v in self.values if tag in v.tags)


@dataclass(frozen=True, slots=True)
class XmlGroup:
    """A child element of DIDSRecord and the items it holds, in XML order."""

    id: str
    element: str
    min_occurs: int
    max_occurs: int | None  # None = unbounded
    items: tuple[str, ...]
    provenance: Provenance
    one_or_both: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CsvLayout:
    header: bool
    tolerate_header: bool
    delimiter: str
    encoding: str
    line_terminator: str
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class XmlLayout:
    namespace: str
    root: str
    record: str
    activity_group: str
    groups: tuple[XmlGroup, ...]
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class MandationGroup:
    id: str
    label: str
    items: tuple[str, ...]
    min_present: int
    provenance: Provenance


RULE_SEVERITIES = ("file-reject", "record-reject", "warning")
# record: one record at a time; cross-record: across records (uniqueness); file: the file's layout problems;
# submission: the submission context alone (reporting period, submission window), judged once per file.
RULE_KINDS = ("record", "cross-record", "file", "submission")
REFERENCE_TABLES = ("organisations", "postcodes", "nicip", "snomed")
# What a rule may need from the submission context rather than from reference data.
CONTEXT_NEEDS = ("period",)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule's catalogue entry: what it is called, its official code (None when it has none), its severity,
    the items it reads (the first is the field a finding points at) and the reference data it needs."""

    id: str
    code: str | None
    severity: str
    kind: str
    items: tuple[str, ...]
    message: str
    profiles: tuple[str, ...]
    provenance: Provenance
    needs: tuple[str, ...] = ()
    layout: str | None = None  # file rules: the layout ("csv" or "xml") whose file problems they report

    @property
    def official(self) -> bool:
        return self.code is not None


@dataclass(frozen=True, slots=True)
class Pack:
    """A whole spec pack: items in CSV column order, code lists, layouts and policy data."""

    version: str
    title: str
    profiles: tuple[str, ...]
    default_profile: str
    items: tuple[Item, ...]
    codelists: dict[str, CodeList]
    csv: CsvLayout
    xml: XmlLayout
    mandation_groups: tuple[MandationGroup, ...]
    provenance: Provenance
    # Item id -> position in a record's values tuple (CSV column order); derived once by the loader.
    index: dict[str, int]
    # Policy data later issues read (referrer formats, windows, uniqueness), kept as plain mappings.
    extras: dict[str, Any] = field(default_factory=dict)
    overrides: tuple[str, ...] = ()
    rules: tuple[RuleSpec, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(item.column for item in self.items)

    def item(self, item_id: str) -> Item:
        try:
            return self.items[self.index[item_id]]
        except KeyError:
            raise KeyError(f"{self.version} has no data item {item_id!r}") from None

    def rules_for(self, profile: str) -> tuple[RuleSpec, ...]:
        return tuple(r for r in self.rules if profile in r.profiles)

    def rule(self, rule_id: str) -> RuleSpec:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(f"{self.version} has no rule {rule_id!r}")

    def codelist_for(self, item_id: str) -> CodeList | None:
        name = self.item(item_id).codelist
        return self.codelists[name] if name else None
