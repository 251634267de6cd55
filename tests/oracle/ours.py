"""Our side of the comparison: `dids check --profile v1-dsp` on an oracle input, as (rule, record) pairs."""

from __future__ import annotations

from dataclasses import dataclass, replace

from conformance.check import CannotCheck, check, load_reference_dir, make_context
from conformance.check.reference import load_local_mappings
from conformance.errors import DidsError

from .inputs import OracleInput

CANNOT_CHECK = "cannot-check"  # our refusal to read a file (exit 2), shown as a file-level pair


@dataclass(frozen=True)
class OurJudgement:
    records: int
    pairs: frozenset[tuple[str, int | None]]
    rejected: bool


def judge(item: OracleInput) -> OurJudgement:
    """Check one input as `dids check --profile v1-dsp --reference R [--local-mappings M --submitter S]` would."""
    reference = load_reference_dir(item.reference)
    if item.local_mappings is not None and item.submitter:
        reference = replace(reference, local_nicip=load_local_mappings(item.local_mappings))
    context = make_context(item.submitted, submitter=item.submitter)
    try:
        report = check(
            item.path, profile="v1-dsp", context=context, reference=reference, max_examples=10**9
        )  # every finding, not examples
    except (CannotCheck, DidsError):
        return OurJudgement(0, frozenset({(CANNOT_CHECK, None)}), True)
    pairs = frozenset((f.rule, f.record) for f in report.findings)
    return OurJudgement(report.records, pairs, report.verdict == "rejected")
