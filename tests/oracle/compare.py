"""Compare the DSP's findings with ours, rule by rule and record by record, and explain what differs.

Pure Python (no Spark): the oracle run feeds it both sides. A finding is a (rule, record) pair, record from 1 or
None for a file reject. For every file both judged, each pair either agrees (both report it) or is a
disagreement on one side (`dsp`: the DSP reports it and we do not; `ours`: the other way). A disagreement is
explained when an entry of the deliberate-differences table (deliberate_differences.toml) names its rule, its
side and a file pattern it matches; everything else is unexplained and fails the oracle.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "deliberate_differences.toml"
SIDES = ("dsp", "ours", "both")
Pair = tuple[str, int | None]


@dataclass(frozen=True)
class Difference:
    """One deliberate difference: `rule` (an id or an fnmatch pattern) on `side` in files matching any of `files`
    (fnmatch patterns on file keys)."""

    rule: str
    side: str
    files: tuple[str, ...]
    condition: str
    reason: str

    def explains(self, key: str, rule: str, side: str) -> bool:
        return (
            fnmatch.fnmatchcase(rule, self.rule)
            and self.side in (side, "both")
            and any(fnmatch.fnmatchcase(key, pattern) for pattern in self.files)
        )


def load_differences(path: Path = TABLE) -> list[Difference]:
    """The table; every entry must name a rule, a side, a condition and a reason (an unexplained entry is no
    explanation)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = []
    for number, entry in enumerate(data.get("difference", []), 1):
        missing = [k for k in ("rule", "side", "condition", "reason") if not str(entry.get(k, "")).strip()]
        if missing or entry["side"] not in SIDES:
            raise ValueError(f"{path.name} entry {number}: needs rule, side ({'|'.join(SIDES)}), condition, reason")
        files = entry.get("files", ["*"])
        if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
            raise ValueError(f"{path.name} entry {number}: files must be a list of patterns")
        entries.append(Difference(entry["rule"], entry["side"], tuple(files), entry["condition"], entry["reason"]))
    return entries


@dataclass(frozen=True)
class Judged:
    """One file as both sides judged it."""

    key: str
    records: int
    dsp: frozenset[Pair]
    ours: frozenset[Pair]
    dsp_rejected: bool
    ours_rejected: bool


@dataclass(frozen=True)
class Disagreement:
    key: str
    rule: str
    record: int | None
    side: str  # dsp: only the DSP reports it; ours: only we do
    explained_by: Difference | None


@dataclass
class RuleRow:
    rule: str
    files: set[str] = field(default_factory=set)  # files where either side reported the rule
    agreements: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def unexplained(self) -> list[Disagreement]:
        return [d for d in self.disagreements if d.explained_by is None]


@dataclass
class Matrix:
    files: int = 0
    records: int = 0
    rules: dict[str, RuleRow] = field(default_factory=dict)
    verdicts_agree: int = 0
    verdict_differences: list[tuple[str, str]] = field(default_factory=list)  # (file, "DSP rejects, we accept")
    used: set[Difference] = field(default_factory=set)

    @property
    def unexplained(self) -> list[Disagreement]:
        return [d for row in self.rules.values() for d in row.unexplained]


def _pair_order(pair: Pair) -> tuple[str, bool, int]:
    return pair[0], pair[1] is not None, pair[1] or 0


def compare(judged: Iterable[Judged], differences: Sequence[Difference], rules: Iterable[str] = ()) -> Matrix:
    """The per-rule agreement matrix over every judged file. `rules` lists rules to show even when no file
    triggers them (every rule compared)."""
    matrix = Matrix()
    for rule in rules:
        matrix.rules.setdefault(rule, RuleRow(rule))
    for item in judged:
        matrix.files += 1
        matrix.records += item.records
        for rule, record in sorted(item.dsp | item.ours, key=_pair_order):
            row = matrix.rules.setdefault(rule, RuleRow(rule))
            row.files.add(item.key)
            if (rule, record) in item.dsp and (rule, record) in item.ours:
                row.agreements += 1
                continue
            side = "dsp" if (rule, record) in item.dsp else "ours"
            reason = next((d for d in differences if d.explains(item.key, rule, side)), None)
            if reason is not None:
                matrix.used.add(reason)
            row.disagreements.append(Disagreement(item.key, rule, record, side, reason))
        if item.dsp_rejected == item.ours_rejected:
            matrix.verdicts_agree += 1
        else:
            said = "the DSP rejects, we accept" if item.dsp_rejected else "we reject, the DSP accepts"
            matrix.verdict_differences.append((item.key, said))
    return matrix


def render(matrix: Matrix, differences: Sequence[Difference], *, examples: int = 3) -> str:
    """The matrix as text: one line per rule, then examples of every disagreement, then the verdicts."""
    lines = [
        f"files {matrix.files}, records {matrix.records}, rules compared {len(matrix.rules)}",
        f"{'rule':<10} {'files':>5} {'agree':>7} {'DSP only':>9} {'ours only':>9} {'explained':>9} {'unexplained':>11}",
    ]
    for rule in sorted(matrix.rules):
        row = matrix.rules[rule]
        dsp = sum(d.side == "dsp" for d in row.disagreements)
        explained = len(row.disagreements) - len(row.unexplained)
        lines.append(
            f"{rule:<10} {len(row.files):>5} {row.agreements:>7} {dsp:>9} {len(row.disagreements) - dsp:>9}"
            f" {explained:>9} {len(row.unexplained):>11}"
        )
    by_rule: dict[str, list[Disagreement]] = defaultdict(list)
    for d in matrix.unexplained:
        by_rule[d.rule].append(d)
    if by_rule:
        lines.append("unexplained disagreements (first examples per rule and side):")
    for rule in sorted(by_rule):
        for side in ("dsp", "ours"):
            shown = [d for d in by_rule[rule] if d.side == side][:examples]
            for d in shown:
                where = "file" if d.record is None else f"record {d.record}"
                who = "only the DSP reports it" if side == "dsp" else "only we report it"
                lines.append(f"  {rule} {d.key} {where}: {who}")
    lines.append(f"verdicts: {matrix.verdicts_agree} of {matrix.files} files agree")
    lines += [f"  {key}: {said}" for key, said in matrix.verdict_differences]
    stale = [d for d in differences if d not in matrix.used]
    lines += [f"deliberate difference not seen in this run: {d.rule} ({d.side}) {d.condition}" for d in stale]
    lines.append(f"unexplained disagreements: {len(matrix.unexplained)}")
    return "\n".join(lines)
