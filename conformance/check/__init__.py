"""Checking DIDS submissions: `check(path, profile=..., context=..., reference=...)` returns a Report.

One streaming pass per file; rules come from the pack's catalogue (packs/<version>/rules.toml) and are implemented
in rules_v1.py / rules_v2.py. Rules that need national reference data are reported as not evaluated without it.
Reference data: `import_release([Source("nicip", path), ...], "store.sqlite", name=..., release_date=...)` builds a
store from the published files (as `dids reference import` does); `load_reference("store.sqlite")` opens it.
"""

from typing import TYPE_CHECKING

from conformance.lazy import lazy_exports

if TYPE_CHECKING:
    from conformance.check._context import ContextError, SubmissionContext, make_context
    from conformance.check._engine import CannotCheck, check, rule_tables
    from conformance.check._model import Finding, NotEvaluated, Report
    from conformance.check.importing import Source, import_release
    from conformance.check.reference import ReferenceData, load_reference, load_reference_dir

# Each module and the public names it defines, imported on first use (conformance/lazy.py): a check never
# imports reference importing unless it builds a store.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "_context": ("ContextError", "SubmissionContext", "make_context"),
        "_engine": ("CannotCheck", "check", "rule_tables"),
        "_model": ("Finding", "NotEvaluated", "Report"),
        "importing": ("Source", "import_release"),
        "reference": ("ReferenceData", "load_reference", "load_reference_dir"),
    },
)

__all__ = [
    "CannotCheck",
    "ContextError",
    "Finding",
    "NotEvaluated",
    "ReferenceData",
    "Report",
    "Source",
    "SubmissionContext",
    "check",
    "import_release",
    "load_reference",
    "load_reference_dir",
    "make_context",
    "rule_tables",
]
