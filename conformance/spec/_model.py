"""Typed, immutable view of a spec pack (the TOML data under packs/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from conformance.calendar import add_months, month_end

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
    # where the DSP's code decides the rule otherwise than its message (followed by profiles that follow the DSP)
    dsp_behaviour: str | None = None
    # Why the rule's severity is held back: "assumed-code-list" when its only basis is a code list this project
    # assumed (a warning by default; an override file can make it reject). None: no such weakness recorded.
    evidence: str | None = None

    @property
    def official(self) -> bool:
        return self.code is not None


# ----- policy: what the packs say about referrers, windows, uniqueness and upgrading ------------------------------


@dataclass(frozen=True, slots=True)
class ReferrerPattern:
    pattern: str  # a regular expression a referrer code may match
    meaning: str
    profiles: tuple[str, ...]  # empty: every profile
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class ReferrerFormats:
    """The referrer code shapes the national system accepts; anything else is reported as `substitute`."""

    substitute: str
    case_insensitive: bool
    patterns: tuple[ReferrerPattern, ...]
    provenance: Provenance

    def for_profile(self, profile: str) -> tuple[ReferrerPattern, ...]:
        return tuple(p for p in self.patterns if not p.profiles or profile in p.profiles)


@dataclass(frozen=True, slots=True)
class Window:
    """When a month of activity may be submitted, on the UK clock: on time from `opens` (None: no opening day),
    late but accepted with a warning from `warns_from` (None: no warning band), and not after `closes` (None: no
    closing rule covers this month)."""

    month: date
    opens: date | None
    warns_from: date | None
    closes: date | None
    months: int | None  # the month after the activity month in which `closes` falls


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    """A profile's submission window. `close_after_months` lists (first activity month it applies to, months):
    a month of activity may be submitted until the end of the Nth month after it. `opens_after_month`: not
    before the month has ended (v2 reporting periods). `warn_after_months`: a warning once more than N months
    have passed (v1 DSP DIDS049)."""

    profile: str
    close_after_months: tuple[tuple[date, int], ...]
    warn_after_months: int | None
    opens_after_month: bool
    provenance: Provenance

    def window(self, month: date) -> Window:
        """The window for activity in `month` (any day of it)."""
        first = month.replace(day=1)
        months = None
        for start, n in self.close_after_months:
            if first >= start:
                months = n
        return Window(
            month=first,
            opens=add_months(first, 1) if self.opens_after_month else None,
            warns_from=None if self.warn_after_months is None else add_months(first, self.warn_after_months + 1),
            closes=None if months is None else month_end(add_months(first, months)),
            months=months,
        )


@dataclass(frozen=True, slots=True)
class Uniqueness:
    """The items whose values no two records may share (their first item, blank, exempts a record). `fallback`
    pairs an item with the one that stands in for it when it is blank (v2: the SNOMED CT code for a missing NICIP
    code); `instants` are timestamps compared as the instant they name (`Z` and `+00:00` alike)."""

    key: tuple[str, ...]
    provenance: Provenance
    fallback: tuple[tuple[str, str], ...] = ()
    instants: tuple[str, ...] = ()


UPGRADE_HOWS = ("copy", "recode", "date-to-timestamp", "nicip", "none")


@dataclass(frozen=True, slots=True)
class UpgradeDecision:
    """How `dids upgrade` fills one v2 item (see v1_to_v2)."""

    how: str  # one of UPGRADE_HOWS
    why: str
    provenance: Provenance
    values: dict[str, str] = field(default_factory=dict)  # recode: v1 value -> v2 value
    normalise: str | None = None  # copy: "digits" strips spaces and hyphens


@dataclass(frozen=True, slots=True)
class TimePolicy:
    time: str  # HH:MM:SS given to a v1 date made a timestamp
    why: str


@dataclass(frozen=True, slots=True)
class UpgradePolicy:
    default_time_policy: str
    time_policies: dict[str, TimePolicy]
    items: dict[str, UpgradeDecision]
    provenance: Provenance


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
    referrer_formats: ReferrerFormats
    uniqueness: Uniqueness
    windows: dict[str, WindowPolicy]  # by profile
    activity_from: date | None = None  # the first day of activity the version covers (v2: 1 April 2026)
    upgrade: UpgradePolicy | None = None  # v2: how `dids upgrade` fills each item from v1
    overrides: tuple[str, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    # Per profile: "dsp" when its rules follow NHS England's DSP as its code runs, else "rule-text".
    semantics: dict[str, str] = field(default_factory=dict)

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

    def window(self, profile: str, month: date) -> Window:
        """When activity in `month` may be submitted under `profile`: the one answer every rule, report and
        generator asks for."""
        try:
            policy = self.windows[profile]
        except KeyError:
            raise KeyError(f"the {self.version} pack has no submission window for profile {profile!r}") from None
        return policy.window(month)

    def follows(self, profile: str) -> str:
        """Whose behaviour `profile`'s rules follow where rule text and a national system differ: "rule-text" or
        "dsp" (see the pack's [semantics] table and conformance/check/_spark.py)."""
        return self.semantics.get(profile, "rule-text")

    def codelist_for(self, item_id: str) -> CodeList | None:
        name = self.item(item_id).codelist
        return self.codelists[name] if name else None
