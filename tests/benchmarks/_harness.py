"""What the benchmark scripts share: run one mode in its own process (so peak memory is that mode's alone) and
take the median of several runs."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence


def peak_mib() -> float:
    """This process's peak resident memory in MiB. VmHWM where Linux has it: a child started with vfork carries its
    parent's ru_maxrss across exec, which would add the benchmark script's own memory to every figure."""
    try:
        with open("/proc/self/status") as status:
            line = next(row for row in status if row.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_child(count: int, seconds: float) -> None:
    """In the child: print the result as JSON, with peak memory of this process and of any worker processes."""
    own = peak_mib()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"count": count, "seconds": seconds, "peak_mib": own, "worker_peak_mib": workers}))


def measure(script: str, mode: str, path: str, repeats: int) -> dict[str, float]:
    """Run `script --child mode path` `repeats` times; the median of each figure."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, script, "--child", mode, path], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(out.stdout))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def arguments(doc: str | None, modes: Sequence[str], repeats: int = 3) -> argparse.Namespace:
    """The options every benchmark script takes."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="the smaller size for the memory comparison")
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--modes", nargs="+", default=list(modes), choices=modes)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    return parser.parse_args()


def print_table(
    results: dict[int, dict[str, dict[str, float]]],
    args: argparse.Namespace,
    baseline: Callable[[str], str | None],
    *,
    workers: bool = False,
) -> None:
    """Median records/s, the time as a multiple of the mode's baseline, and peak memory at both sizes."""
    full, small = results[args.records], results[args.small]
    width = max(len(m) for m in args.modes) + 2
    print(f"\nmedian of {args.repeats} runs, each mode in its own process\n")
    extra = f" {'worker peak MiB':>16}" if workers else ""
    print(
        f"{'mode':<{width}} {'records':>10} {'records/s':>11} {'x baseline':>18} "
        f"{'peak MiB @' + format(args.small, ','):>18} {'peak MiB @' + format(args.records, ','):>20}{extra}"
    )
    for mode in args.modes:
        r = full[mode]
        base = baseline(mode)
        ratio = f"{r['seconds'] / full[base]['seconds']:.2f} {base}" if base in full else "-"
        column = ""
        if workers:
            column = f" {r['worker_peak_mib']:>16.1f}" if r["worker_peak_mib"] else f" {'-':>16}"
        print(
            f"{mode:<{width}} {r['count']:>10,.0f} {r['count'] / r['seconds']:>11,.0f} {ratio:>18} "
            f"{small[mode]['peak_mib']:>18.1f} {r['peak_mib']:>20.1f}{column}"
        )
