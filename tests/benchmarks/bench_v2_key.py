"""Benchmark: what the v2 duplicate key costs now that the start is compared as an instant and the procedure is
the NICIP code, else the SNOMED CT code (issue 15), beside the plain text key it replaced (a script, not a test).

    python tests/benchmarks/bench_v2_key.py [--records N] [--small N] [--repeats R] [--modes ...]

A generated v2 month (CSV) is read once per mode, each mode in its own process:

  key-text      csv.reader, the old key (five items as written) digested per record          (baseline)
  key-instant   csv.reader, the pack's key (fallback and instants applied) digested per record
  check-v2      dids check --profile v2 with the synthetic reference and the period (every rule)
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from hashlib import blake2b
from operator import itemgetter
from pathlib import Path

import _harness  # the sibling module: scripts run from their own folder

MODES = ("key-text", "key-instant", "check-v2")
BASELINE = {"key-instant": "key-text", "check-v2": "key-text"}
PERIOD = date(2026, 5, 1)
OLD_KEY = (
    "site_code",
    "accession_number",
    "coded_procedure_nicip",
    "coded_procedure_snomed",
    "procedure_start_timestamp",
)


def _digest_all(path: str, key: Callable[[list[str]], Sequence[str]]) -> int:
    count = 0
    seen: set[int] = set()
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows)  # the header row
        for row in rows:
            text = "\x1f".join(key(row)).upper().encode("utf-8")
            seen.add(int.from_bytes(blake2b(text, digest_size=8).digest(), "little"))
            count += 1
    return count


def run_mode(mode: str, path: str) -> None:
    from conformance.check._engine import _key_reader
    from conformance.spec import load_pack

    pack = load_pack("v2")
    started = time.perf_counter()
    if mode == "key-text":
        count = _digest_all(path, itemgetter(*(pack.index[i] for i in OLD_KEY)))
    elif mode == "key-instant":
        count = _digest_all(path, _key_reader(pack))
    else:
        from conformance.check import check, load_reference, make_context

        context = make_context("2026-06-10T09:00", period="2026-05")
        count = check(path, profile="v2", context=context, reference=load_reference("synthetic")).records
    _harness.report_child(count, time.perf_counter() - started)


def main() -> None:
    args = _harness.arguments(__doc__, MODES, repeats=3)
    if args.child:
        run_mode(*args.child)
        return
    from generators.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        results: dict[int, dict[str, dict[str, float]]] = {}
        for size in (args.small, args.records):
            path = Path(tmp, f"{size}.csv")
            generate(path, profile="v2", format="csv", records=size, seed=15, period=PERIOD, workers=1)
            print(f"{size:,} records: CSV {path.stat().st_size / 2**20:.0f} MiB", flush=True)
            repeats = args.repeats if size == args.records else 1  # the small size is for the memory column
            results[size] = {m: _harness.measure(__file__, m, str(path), repeats) for m in args.modes}
        _harness.print_table(results, args, BASELINE.get)


if __name__ == "__main__":
    main()
