"""Benchmark: a national-size reference store (a script, not a test).

    python tests/benchmarks/bench_reference.py [--postcodes N] [--records N] [--repeats R]

Writes a synthetic postcode directory of N rows (default 2,700,000, the size of the national directory) in the ONS
Postcode Directory CSV layout (header, pcds, dointr, doterm and a dozen other columns; postcodes from a seeded
random walk over UK-shaped outward and inward codes, plus every postcode of the synthetic universe, 3% of them
terminated), imports it with the synthetic pack's other tables into one store, then checks a generated v2 month of
10,000 records. Each mode runs in its own process so that its peak memory (VmHWM) is its own:

  import           dids reference import --postcodes FILE --csv reference_synthetic  (issue 17: <= 60 s)
  set-load         the old way: every postcode of the file read into a Python set     (the cost the store removes)
  open-store       open the store and look one value up in each table                 (the start-up itself)
  check-none       dids check of the v2 month, no reference data                      (baseline)
  check-synthetic  the same against the bundled synthetic pack (a few hundred rows, the same rules evaluated)
  check-store      the same against the national-size store       (<= 0.5 s more than check-none; <= 150 MB)

check-store minus check-none is start-up plus the reference rules' own work on every record; check-store minus
check-synthetic is what the size of the reference data costs. Prints the median wall and CPU seconds of the repeats
(on a shared machine wall time follows the load; CPU time is what the work costs), the CPU difference from
check-none, and peak memory (VmHWM).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import string
import tempfile
import time
from datetime import date
from pathlib import Path

import _harness  # the sibling module: scripts run from their own folder

MODES = ("import", "set-load", "open-store", "check-none", "check-synthetic", "check-store")
HEADER = ["pcd", "pcd2", "pcds", "dointr", "doterm", "oscty", "oslaua", "osward", "usertype", "oseast1m", "osnrth1m"]
HEADER += ["osgrdind", "ctry", "rgn", "lsoa21", "msoa21", "lat", "long"]
PERIOD = date(2026, 5, 1)
FILLER = ["E99999999", "E08000035", "E05011111", "0", "430000", "433000", "1", "E92000001", "E12000003"]
FILLER += ["E01000001", "E02000001", "53.8", "-1.5"]


def postcode_directory(path: Path, rows: int, seed: int = 17) -> None:
    """`rows` distinct postcodes in the ONSPD CSV layout, the synthetic universe's among them."""
    from conformance.check.reference import reference_folder

    rng = random.Random(seed)
    with open(reference_folder("synthetic") / "postcodes.csv", encoding="utf-8", newline="") as handle:
        wanted = [row["postcode"] for row in csv.DictReader(handle)]
    seen: set[str] = set()
    letters, inward = string.ascii_uppercase, "ABDEFGHJLNPQRSTUWXYZ"
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        while len(seen) < rows:
            if wanted:
                pcds = wanted.pop()
            else:
                area = rng.choice(letters) + (rng.choice(letters) if rng.random() < 0.7 else "")
                pcds = f"{area}{rng.randrange(1, 99)} {rng.randrange(10)}{rng.choice(inward)}{rng.choice(inward)}"
            if pcds in seen:
                continue
            seen.add(pcds)
            outward, inner = pcds.split()
            ended = f"20{rng.randrange(10, 25)}{rng.randrange(1, 13):02d}" if rng.random() < 0.03 else ""
            writer.writerow([f"{outward:<4}{inner}", f"{outward:<5}{inner}", pcds, "198001", ended, *FILLER])


def run_mode(mode: str, folder: str) -> None:
    """Child process: do what `mode` says with the files in `folder`; print JSON with count, seconds and peak."""
    root = Path(folder)
    if mode.startswith(("open", "check")):
        import conformance.check  # noqa: F401  (the library's own start-up is the same in every mode: not timed)
    start, cpu = time.perf_counter(), time.process_time()
    count = 0
    if mode == "import":
        from conformance.check import load_reference
        from conformance.check.importing import Source, import_release
        from conformance.check.reference import reference_folder

        sources = [Source("postcodes", root / "onspd.csv"), Source("csv", reference_folder("synthetic"))]
        import_release(sources, root / "store.sqlite", name="benchmark", release_date=None)
        postcodes = load_reference(str(root / "store.sqlite")).postcodes
        assert postcodes is not None
        count = len(postcodes)
    elif mode == "open-store":
        from conformance.check import load_reference

        reference = load_reference(str(root / "store.sqlite"))
        assert reference.postcodes is not None and reference.nicip is not None and reference.snomed is not None
        assert reference.organisations is not None
        count = ("LS14AP" in reference.postcodes) + ("XCHES" in reference.nicip) + ("399208008" in reference.snomed)
        count += "X99001" in reference.organisations
    elif mode == "set-load":
        with open(root / "onspd.csv", encoding="utf-8", newline="") as handle:
            known = {"".join(row["pcds"].split()).upper() for row in csv.DictReader(handle)}
        count = len(known)
    else:
        from conformance.check import check, load_reference, make_context

        spec = {"check-store": str(root / "store.sqlite"), "check-synthetic": "synthetic"}.get(mode)
        reference = load_reference(spec)
        context = make_context("2026-06-10T09:00", period="2026-05")
        report = check(root / "month.csv", profile="v2", context=context, reference=reference)
        count = report.records
        if mode != "check-none":
            assert not report.not_evaluated or all("period" in n.reason for n in report.not_evaluated), [
                (n.rule, n.reason) for n in report.not_evaluated
            ]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"count": count, "seconds": seconds, "cpu_seconds": cpu, "peak_mib": _harness.peak_mib()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postcodes", type=int, default=2_700_000)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_mode(*args.child)
        return
    from generators.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        postcode_directory(folder / "onspd.csv", args.postcodes)
        generate(folder / "month.csv", profile="v2", records=args.records, seed=5, period=PERIOD)
        size = (folder / "onspd.csv").stat().st_size / 2**20
        print(f"postcode directory: {args.postcodes:,} rows, {size:.0f} MiB; v2 month: {args.records:,} records")
        results = {}
        for mode in args.modes:  # import first: the check modes read its store
            results[mode] = _harness.measure(__file__, mode, str(folder), 1 if mode == "import" else args.repeats)
            if mode == "import":
                print(f"store: {(folder / 'store.sqlite').stat().st_size / 2**20:.0f} MiB", flush=True)
        print(
            f"\nmedian of {args.repeats} runs (import: one), each mode in its own process; load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs (wall time grows with it, "
            "CPU time much less)\n"
        )
        print(f"{'mode':<16} {'count':>11} {'wall s':>8} {'CPU s':>8} {'CPU vs check-none':>18} {'peak MiB':>9}")
        base = results.get("check-none")
        for mode, r in results.items():
            extra = f"{r['cpu_seconds'] - base['cpu_seconds']:+.2f} s" if base and mode.startswith("check") else "-"
            print(
                f"{mode:<16} {r['count']:>11,.0f} {r['seconds']:>8.2f} {r['cpu_seconds']:>8.2f} {extra:>18} "
                f"{r['peak_mib']:>9.1f}"
            )


if __name__ == "__main__":
    main()
