"""Benchmark: `dids certify` of a profile's whole corpus (a script, not a test).

    python tests/benchmarks/bench_certify.py [--profile v2] [--repeats R] [--jobs N] [--modes ...]

Modes, each a whole certify run in its own process, `--jobs` cases at once (default: the number of cores):

  python-pass   the validator is `python -c pass {file}` (adapter exit): the floor of any command validator,
                one process start-up per case plus certify's own work                          (the baseline)
  command       our checker as a command: `dids check {file} --profile P --submitted S --period M
                --reference R --format json` per case (adapter json; `dids` beside this Python), the
                issue's target, at most 15 s for the v2 corpus. It measures a start-up: a corpus case is a
                few records, so what a check costs is importing the checker and setting its rules up
                (tests/test_startup.py), with the packs' parsed TOML and the synthetic reference store read
                from the user cache (conformance/cache.py; the first case of a cold cache writes them)
  own           our checker in-process (`dids certify --own-checker`): no start-up at all

Prints the median seconds of the repeats, the time per case, the time as a multiple of the baseline, and the
peak memory of the certify process (VmHWM; the validators' processes are their own). On a shared machine the
seconds follow the load; the multiple of the baseline much less.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _harness  # the sibling module: scripts run from their own folder

MODES = ("python-pass", "command", "own")
DIDS = str(Path(sys.executable).with_name("dids"))
CHECK = (
    f"{DIDS} check {{file}} --profile {{profile}} --submitted {{submitted}} --period {{period}} "
    "--reference {reference} --format json"
)


def certify_argv(mode: str, profile: str, jobs: int) -> list[str]:
    argv = ["certify", "--profile", profile, "--jobs", str(jobs), "--date", "2026-11-23", "--format", "json"]
    if mode == "own":
        return [*argv, "--own-checker"]
    if mode == "command":
        return [*argv, "--validator", CHECK, "--adapter", "json"]
    return [*argv, "--validator", f"{sys.executable} -c pass {{file}}", "--adapter", "exit"]


def run_child(mode: str, profile: str, jobs: int) -> None:
    from conformance.cli import run

    out = io.StringIO()
    start = time.perf_counter()
    run(certify_argv(mode, profile, jobs), out, io.StringIO())
    seconds = time.perf_counter() - start
    report = json.loads(out.getvalue())
    if mode != "python-pass" and not report["certified"]:  # a fast wrong answer is no result
        raise SystemExit(f"{mode}: not certified")
    _harness.report_child(len(report["cases"]), seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="v2", choices=("v1-dsp", "v1-portal", "v2"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0, help="cases at once (default: the number of cores)")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], args.child[1], int(args.child[2]))
        return
    import os

    jobs = args.jobs or os.cpu_count() or 1
    print(f"dids certify --profile {args.profile}, {jobs} job(s), median of {args.repeats} runs\n")
    print(f"{'mode':<13} {'cases':>6} {'seconds':>9} {'ms/case':>9} {'x baseline':>11} {'peak MiB':>9}")
    results = {}
    for mode in args.modes:
        runs = []
        for _ in range(args.repeats):
            child = [sys.executable, __file__, "--child", mode, args.profile, str(jobs)]
            out = subprocess.run(child, capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout))
        results[mode] = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        r, base = results[mode], results.get("python-pass")
        ratio = f"{r['seconds'] / base['seconds']:.2f}" if base else "-"
        per_case = 1000 * r["seconds"] / r["count"]
        print(
            f"{mode:<13} {r['count']:>6.0f} {r['seconds']:>9.2f} {per_case:>9.1f} {ratio:>11} {r['peak_mib']:>9.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
