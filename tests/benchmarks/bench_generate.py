"""Benchmark: generating 1,000,000 v2 records as CSV and as XML (a script, not a test).

    python tests/benchmarks/bench_generate.py [--records N] [--small N] [--repeats R] [--modes ...]

Modes, each in its own process so peak memory is that mode's alone (worker processes reported separately):

  csv-write       the CSV writer alone, writing N rows cycled from 5,000 generated ones   (baseline for CSV)
  csv-gen-1       dids generate --profile v2 --format csv, one process
  csv-gen         the same with the default workers (one per core, up to 4)
  xml-write       the XML writer alone, writing N rows cycled from 5,000 generated ones   (baseline for XML)
  xml-gen-1       dids generate --profile v2 --format xml, one process
  xml-gen         the same with the default workers

Prints the median records/s of the repeats, each generator's time as a multiple of its writer's, and peak memory
at the small and the full size, so growth with the record count shows. Targets (issue 4): 100,000 records/s for
CSV, 50,000 for XML, memory flat in the record count.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import _harness  # the sibling module: scripts run from their own folder

MODES = ("csv-write", "csv-gen-1", "csv-gen", "xml-write", "xml-gen-1", "xml-gen")
BASELINE = {"csv-gen-1": "csv-write", "csv-gen": "csv-write", "xml-gen-1": "xml-write", "xml-gen": "xml-write"}


def run_mode(mode: str, records_and_path: str) -> None:
    """Child process: write `records` records to `path` as `mode` says; report count, seconds and peak RSS."""
    from conformance.formats import write_records
    from conformance.spec import load_pack
    from generators.generate import generate, generated_rows

    records_text, path = records_and_path.split(":", 1)
    records = int(records_text)
    fmt, _, how = mode.partition("-")
    period = date(2026, 4, 1)
    if how == "write":
        sample = list(generated_rows("v2", 5_000, 1, period))
        start = time.perf_counter()
        count = write_records(
            itertools.islice(itertools.cycle(sample), records), path, pack=load_pack("v2"), format=fmt
        )
    else:
        start = time.perf_counter()
        workers = 1 if how == "gen-1" else None
        count = generate(path, profile="v2", format=fmt, records=records, seed=1, period=period, workers=workers)
    seconds = time.perf_counter() - start
    os.remove(path)
    _harness.report_child(count, seconds)


def main() -> None:
    args = _harness.arguments(__doc__, MODES, repeats=3)
    if args.child:
        run_mode(*args.child)
        return
    print(f"cores available: {len(os.sched_getaffinity(0))}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[int, dict[str, dict[str, float]]] = {}
        for size in (args.small, args.records):
            repeats = args.repeats if size == args.records else 1  # the small size is for the memory column
            results[size] = {}
            for mode in args.modes:
                target = f"{size}:{Path(tmp, 'out.' + mode[:3])}"
                results[size][mode] = _harness.measure(__file__, mode, target, repeats)
        _harness.print_table(results, args, BASELINE.get, workers=True)


if __name__ == "__main__":
    main()
