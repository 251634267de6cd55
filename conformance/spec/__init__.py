"""DIDS spec packs: the data items, code lists, layouts and policy data of each version, as data.

The packs live in `packs/<version>/pack.toml`. `load_pack("v2", overrides=[...])` applies user override files
(TOML or JSON) that replace any entry without code changes.
"""

from conformance.spec._diff import CHANGE_KINDS, Change, PackDiff, diff_packs
from conformance.spec._load import (
    PROFILES,
    VERSIONS,
    PackError,
    build_pack,
    load_pack,
    merge_override,
    raw_pack,
)
from conformance.spec._model import (
    PROVENANCE_STATUSES,
    REFERENCE_TABLES,
    RULE_KINDS,
    RULE_SEVERITIES,
    CodeList,
    CodeValue,
    CsvLayout,
    Item,
    MandationGroup,
    Pack,
    Provenance,
    RuleSpec,
    XmlBinding,
    XmlGroup,
    XmlLayout,
)
from conformance.spec._render import diff_json, pack_json, render_diff_text, render_pack_text

__all__ = [
    "CHANGE_KINDS",
    "PROFILES",
    "PROVENANCE_STATUSES",
    "REFERENCE_TABLES",
    "RULE_KINDS",
    "RULE_SEVERITIES",
    "VERSIONS",
    "Change",
    "CodeList",
    "CodeValue",
    "CsvLayout",
    "Item",
    "MandationGroup",
    "Pack",
    "PackDiff",
    "PackError",
    "Provenance",
    "RuleSpec",
    "XmlBinding",
    "XmlGroup",
    "XmlLayout",
    "build_pack",
    "diff_json",
    "diff_packs",
    "load_pack",
    "merge_override",
    "pack_json",
    "raw_pack",
    "render_diff_text",
    "render_pack_text",
]
