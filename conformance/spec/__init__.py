"""DIDS spec packs: the data items, code lists, layouts and policy data of each version, as data.

The packs live in `packs/<version>/pack.toml`. `load_pack("v2", overrides=[...])` applies user override files
(TOML or JSON) that replace any entry without code changes.
"""

from typing import TYPE_CHECKING

from conformance.lazy import lazy_exports

if TYPE_CHECKING:
    from conformance.spec._diff import CHANGE_KINDS, Change, PackDiff, diff_packs
    from conformance.spec._load import (
        PackError,
        build_pack,
        bundled_digest,
        load_pack,
        merge_override,
        raw_pack,
        record_shape_checks,
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
        ReferrerFormats,
        ReferrerPattern,
        RuleSpec,
        TimePolicy,
        Uniqueness,
        UpgradeDecision,
        UpgradePolicy,
        Window,
        WindowPolicy,
        XmlBinding,
        XmlGroup,
        XmlLayout,
    )
    from conformance.spec._render import diff_json, pack_json, render_diff_text, render_pack_text
    from conformance.spec._versions import PROFILES, VERSIONS

# Each module and the public names it defines, imported on first use (conformance/lazy.py): loading a pack for a
# check does not pay for the diff or the renderers.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "_diff": ("CHANGE_KINDS", "Change", "PackDiff", "diff_packs"),
        "_load": (
            "PackError",
            "build_pack",
            "bundled_digest",
            "load_pack",
            "merge_override",
            "raw_pack",
            "record_shape_checks",
        ),
        "_model": (
            "PROVENANCE_STATUSES",
            "REFERENCE_TABLES",
            "RULE_KINDS",
            "RULE_SEVERITIES",
            "CodeList",
            "CodeValue",
            "CsvLayout",
            "Item",
            "MandationGroup",
            "Pack",
            "Provenance",
            "ReferrerFormats",
            "ReferrerPattern",
            "RuleSpec",
            "TimePolicy",
            "Uniqueness",
            "UpgradeDecision",
            "UpgradePolicy",
            "Window",
            "WindowPolicy",
            "XmlBinding",
            "XmlGroup",
            "XmlLayout",
        ),
        "_render": ("diff_json", "pack_json", "render_diff_text", "render_pack_text"),
        "_versions": ("PROFILES", "VERSIONS"),
    },
)

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
    "ReferrerFormats",
    "ReferrerPattern",
    "RuleSpec",
    "TimePolicy",
    "Uniqueness",
    "UpgradeDecision",
    "UpgradePolicy",
    "Window",
    "WindowPolicy",
    "XmlBinding",
    "XmlGroup",
    "XmlLayout",
    "build_pack",
    "bundled_digest",
    "diff_json",
    "diff_packs",
    "load_pack",
    "merge_override",
    "pack_json",
    "raw_pack",
    "record_shape_checks",
    "render_diff_text",
    "render_pack_text",
]
