"""`python -m tests.oracle`: run NHS England's DSP and `dids check --profile v1-dsp` on the same files and print
the per-rule agreement matrix; exit 1 on any disagreement the deliberate-differences table does not explain, or
when the runner fails its self-check (the DSP must reproduce the peer's own `00004_dq_errors/dq.xml`).

Options: --examples N (Hypothesis files, default 40), --only corpus,generated,hypothesis, --json OUT (every
judged file with both sides' findings, for study). One Spark run for everything (a few minutes)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from .compare import Judged, compare, load_differences, render
from .inputs import REPO, Inputs, OracleInput, corpus_inputs, generated_inputs, hypothesis_inputs
from .ours import judge
from .validator import as_entry, cache_key, engine_identity, store, wall_clock

PEER = REPO / "fixtures" / "peer" / "nhse-dsp-dids-v1" / "csv" / "00004_dq_errors"
# The submission date of that case (shared/peer/nhse-dsp-source/README.md); 09:00 UK is the same day in UTC.
PEER_SUBMITTED = "2018-08-01T09:00"
# Rules that need national reference data: the peer's dq.xml reflects NHS England's tables, not our stub's.
REFERENCE_RULES = {"DIDS016", "DIDS018", "DIDS024", "DIDS057", "DIDS059", "DIDS068", "DIDS077", "DIDS078"}
REFERENCE_RULES |= {"DIDS079", "DIDS080", "DIDS081", "DIDS082"}


def _peer_pairs() -> set[tuple[str, int | None]]:
    from lxml import etree

    root = etree.parse(str(PEER / "dq.xml"), etree.XMLParser(resolve_entities=False, no_network=True))
    return {(r.findtext("CODE") or "", int(r.findtext("ROW_INDEX") or 0) + 1) for r in root.iter("ROW")}


def _by_reason(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, why in pairs:
        grouped.setdefault(why, []).append(key)
    return grouped


def _gather(which: set[str], folder: Path, examples: int) -> Inputs:
    gathered = Inputs()
    makers = {
        "corpus": corpus_inputs,
        "generated": lambda: generated_inputs(folder),
        "hypothesis": lambda: hypothesis_inputs(folder, examples),
    }
    for name, make in makers.items():
        if name in which:
            part = make()
            gathered.compared += part.compared
            gathered.not_compared += part.not_compared
    return gathered


def _run(inputs: list[OracleInput]) -> dict[str, Any]:
    from .dsp import DspInput, run_dsp, spark_session

    batch = [DspInput(i.key, i.path, wall_clock(i.submitted)) for i in inputs]
    batch.append(DspInput("peer:00004_dq_errors", PEER / "input.csv", wall_clock(PEER_SUBMITTED)))
    with spark_session() as spark:
        return dict(run_dsp(spark, batch))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.oracle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--only", default="corpus,generated,hypothesis")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    differences = load_differences()
    with tempfile.TemporaryDirectory(prefix="dids-oracle-") as scratch:
        inputs = _gather(set(args.only.split(",")), Path(scratch), args.examples)
        ours = {i.key: judge(i) for i in inputs.compared}
        results = _run(inputs.compared)
        identity = engine_identity()
        entries = {}
        for item in inputs.compared:
            found = results[item.key]
            findings = [(f.code, f.record, f.severity) for f in found.findings]
            entries[cache_key(item.path, item.submitted, identity)] = as_entry(found.records, findings)
        store(entries)  # the validator serves these answers (tests/oracle/validator.py)
        judged = []
        for item in inputs.compared:
            dsp = results[item.key]
            mine = ours[item.key]
            dsp_pairs = frozenset((f.code, f.record) for f in dsp.findings)
            records = max(dsp.records, mine.records)
            judged.append(Judged(item.key, records, dsp_pairs, mine.pairs, dsp.rejected, mine.rejected))
        if args.json:
            notes = {i.key: {"file": str(i.path), "submitted": i.submitted, "note": i.note} for i in inputs.compared}
            dump = [
                {
                    **notes[j.key],
                    "key": j.key,
                    "dsp": sorted(map(list, j.dsp), key=str),
                    "ours": sorted(map(list, j.ours), key=str),
                    "text": Path(notes[j.key]["file"]).read_text("utf-8", "replace")[:4000],
                }
                for j in judged
            ]
            args.json.write_text(json.dumps(dump, indent=1), encoding="utf-8")
    peer = results["peer:00004_dq_errors"]
    peer_dsp = {(f.code, f.record) for f in peer.findings if f.code not in REFERENCE_RULES}
    peer_expected = {p for p in _peer_pairs() if p[0] not in REFERENCE_RULES}
    matrix = compare(judged, differences)
    print(render(matrix, differences))
    for why, keys in _by_reason(inputs.not_compared).items():
        print(f"not compared: {len(keys)} files ({keys[0]}, ...): {why}")
    self_check = peer_dsp == peer_expected
    print(
        f"self-check: the DSP reproduces {len(peer_dsp & peer_expected)} of {len(peer_expected)} non-reference "
        f"pairs of the peer's 00004_dq_errors dq.xml at {PEER_SUBMITTED}" + ("" if self_check else " - FAILED")
    )
    return 0 if self_check and not matrix.unexplained else 1


if __name__ == "__main__":
    sys.exit(main())
