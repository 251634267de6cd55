"""Benchmark: upgrading 1,000,000 v1 records to v2.0 (a script, not a test).

    python tests/benchmarks/bench_upgrade.py [--records N] [--small N] [--repeats R] [--modes ...]

The v1 files are a generated month (v1-dsp, May 2026: dated after 1 April 2026, as files needing an upgrade
are). Modes, each in its own process so that peak memory is that mode's alone:

  csv-read       our v1 reader over the CSV, values only                              (baseline for CSV)
  csv-upgrade    dids upgrade CSV -> CSV, no check of the output
  xml-read       our v1 reader over the XML                                           (baseline for XML)
  xml-upgrade    dids upgrade XML -> XML, no check of the output

Prints the median records/s of the repeats, each upgrade's time as a multiple of reading alone, and peak memory
at the small and the full size. Target (issue 6): 50,000 records/s, memory flat in the record count.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness  # the sibling module: scripts run from their own folder

MODES = ("csv-read", "csv-upgrade", "xml-read", "xml-upgrade")
BASELINE = {"csv-upgrade": "csv-read", "xml-upgrade": "xml-read"}


def run_mode(mode: str, path: str) -> None:
    from conformance.formats import open_submission
    from v1_to_v2 import upgrade

    start = time.perf_counter()
    if mode.endswith("-read"):
        count = sum(1 for _ in open_submission(path).records())
    else:
        out = path + ".v2"
        count = upgrade(path, out, check_output=False).records
        os.remove(out)
    _harness.report_child(count, time.perf_counter() - start)


def main() -> None:
    args = _harness.arguments(__doc__, MODES, repeats=3)
    if args.child:
        run_mode(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[int, dict[str, dict[str, float]]] = {}
        for size in (args.small, args.records):
            files = {}
            for fmt in ("csv", "xml"):
                files[fmt] = Path(tmp, f"{size}.{fmt}")
                # In a process of its own: a child's peak memory (ru_maxrss) starts from its parent's at fork.
                argv = ["generate", "--profile", "v1-dsp", "--format", fmt, "--records", str(size), "--seed", "1"]
                argv += ["--period", "2026-05", "--quiet", "-o", str(files[fmt])]
                subprocess.run([sys.executable, "-m", "conformance.cli", *argv], check=True, capture_output=True)
            print(
                f"{size:,} records: CSV {files['csv'].stat().st_size / 2**20:.0f} MiB, "
                f"XML {files['xml'].stat().st_size / 2**20:.0f} MiB",
                flush=True,
            )
            repeats = args.repeats if size == args.records else 1
            results[size] = {m: _harness.measure(__file__, m, str(files[m[:3]]), repeats) for m in args.modes}
        _harness.print_table(results, args, BASELINE.get)


if __name__ == "__main__":
    main()
