"""What the benchmark scripts share: run one mode in its own process (so peak memory is that mode's alone) and
take the median of several runs."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys


def report_child(count: int, seconds: float) -> None:
    """In the child: print the result as JSON, with peak memory of this process and of any worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
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
