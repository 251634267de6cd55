"""What the benchmark scripts share: run one mode in its own process (so peak memory is that mode's alone) and
take the median of several runs.

bench_check, bench_upgrade and bench_certify use the scaffold at the end (`Mode`, `parser`, `measure_all`,
`print_report`: every mode beside its floor in the same run, PASS or OVER against a target, memory growth between two
sizes); the older scripts use `arguments`, `measure` and `print_table`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

# The environment each child starts with: this process's as it began. Polars, once imported here, sets
# $_RJEM_MALLOC_CONF in this process's environment (its allocator's defaults); a child that inherited it would not
# get the single arena a check asks for (check/_engine.py) and would peak 10-15 MiB higher, as in a first run of this
# script's sixth-session version, which imported Polars here to count a check's batch rows.
CHILD_ENVIRONMENT = dict(os.environ)


def peak_mib() -> float:
    """This process's peak resident memory in MiB. VmHWM where Linux has it: a child started with vfork carries its
    parent's ru_maxrss across exec, which would add the benchmark script's own memory to every figure."""
    try:
        with open("/proc/self/status") as status:
            line = next(row for row in status if row.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report_child(count: int, seconds: float, **extra: Any) -> None:
    """In the child: print the result as JSON, with peak memory of this process and of any worker processes, and
    `extra` (what the run found: verdict, findings...)."""
    own = peak_mib()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"count": count, "seconds": seconds, "peak_mib": own, "worker_peak_mib": workers, **extra}))


def cpu_seconds() -> float:
    """CPU time (user and system) of this process and of its children that have ended."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Stopwatch:
    """In the child: started before the work (and its imports), `report` prints the wall and CPU seconds since."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()

    def report(self, count: int, **extra: Any) -> None:
        seconds = time.perf_counter() - self.wall
        report_child(count, seconds, cpu_seconds=cpu_seconds() - self.cpu, **extra)


def measure(script: str, mode: str, path: str, repeats: int) -> dict[str, float]:
    """Run `script --child mode path` `repeats` times; the median of each figure."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, script, "--child", mode, path],
            capture_output=True,
            text=True,
            check=True,
            env=CHILD_ENVIRONMENT,
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


# ---------------------------------------------------------------------------------------------------------------
# The scaffold of bench_check, bench_upgrade and bench_certify: modes named by what they run, each run a child
# process given a JSON list (`--child SPEC`), the modes taken in turn on every repeat (so a change in the load of a
# shared machine falls on a check and its floor alike), and one table of every mode beside its floor.

DIDS = (sys.executable, "-m", "conformance.cli")
MEMORY_TARGET_MB = 300  # issue 18: peak memory at 1,000,000 records
FLAT_MIB = 10.0  # growth from the small to the large size, beyond the duplicate index, still called flat


@dataclass(frozen=True)
class Mode:
    """One row of the table: `case` (e.g. "v2 csv") and what runs on it. The floor of a case is its mode with
    floor=True; `target` is the issue's largest time as a multiple of that floor."""

    case: str
    run: str
    engine: str = ""
    floor: bool = False
    target: float | None = None
    seconds_target: float | None = None  # a largest time of its own, in seconds
    indexed: bool = False  # keeps a duplicate index, whose growth with the record count is expected
    warm: bool = False  # timed after a first run in the same process: start-up left out (run "<cold run>, warm")


def parser(doc: str | None, *, repeats: int = 3, sizes: bool = True) -> argparse.ArgumentParser:
    """The options every script takes; a script adds its own before parse_args()."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if sizes:
        parser.add_argument("--records", type=int, default=1_000_000, help="the larger size (default 1,000,000)")
        parser.add_argument(
            "--small", type=int, default=100_000, help="the smaller size (default 100,000; 0 for the larger alone)"
        )
        parser.add_argument("--seed", type=int, default=1, help="the generator's seed")
        parser.add_argument(
            "--data",
            type=Path,
            help="keep the generated files in this folder and reuse them (named by profile, period, size and seed); "
            "default: a temporary folder",
        )
    parser.add_argument("--repeats", type=int, default=repeats, help=f"runs of each mode (median; default {repeats})")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser


def sizes(args: argparse.Namespace) -> list[int]:
    return sorted({size for size in (args.small, args.records) if size > 0})


def child_spec(args: argparse.Namespace) -> list[str] | None:
    return json.loads(args.child) if args.child else None


@contextmanager
def data_folder(data: Path | None) -> Iterator[Path]:
    """`data` (made if need be), else a temporary folder removed afterwards."""
    if data is not None:
        data.mkdir(parents=True, exist_ok=True)
        yield data
        return
    with tempfile.TemporaryDirectory(prefix="dids-bench-") as tmp:
        yield Path(tmp)


def dids_options(command: str) -> set[str]:
    """The long options `dids COMMAND --help` lists: how a script learns whether the CLI has, say, --engine."""
    out = subprocess.run([*DIDS, command, "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", out))


def passed_through(options: set[str], command: str, option: str, values: Sequence[str | None]) -> list[str | None]:
    """`values` of `option` if `dids COMMAND` has it; else [None] (run without it), and say so."""
    wanted = [v for v in values if v is not None]
    if not wanted or option in options:
        return list(values)
    print(f"note: dids {command} has no {option}: running without it (the CLI's only way), not {' '.join(wanted)}")
    return [None]


def generated(folder: Path, profile: str, layout: str, records: int, seed: int, period: str) -> Path:
    """A month made by `dids generate` (in a process of its own, whose memory is not a mode's), made once."""
    path = folder / f"{profile}-{period}-{records}-seed{seed}.{layout}"
    if not path.exists():
        argv = ["generate", "--profile", profile, "--layout", layout, "--records", str(records)]
        argv += ["--seed", str(seed), "--period", period, "--quiet", "-o", str(path)]
        start = time.perf_counter()
        subprocess.run([*DIDS, *argv], check=True, capture_output=True)
        print(
            f"generated {path.name}: {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - start:.0f} s",
            flush=True,
        )
    return path


def xsd_file(folder: Path, version: str) -> Path:
    """The project's XML Schema for `version` (`dids spec xsd`), written once to `folder`."""
    path = folder / f"dids-{version}.xsd"
    if not path.exists():
        out = subprocess.run([*DIDS, "spec", "xsd", version], capture_output=True, text=True, check=True).stdout
        path.write_text(out, encoding="utf-8")
    return path


def dids(argv: Sequence[str]) -> tuple[int, str]:
    """In the child: run `dids ARGV` in this process (so its peak memory is this process's); the exit code and what
    it wrote to standard output. Raises with its standard error when it could not run (exit 2)."""
    import io

    from conformance.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    if code not in (0, 1):
        raise SystemExit(f"dids {' '.join(argv)}: exit {code}\n{err.getvalue()}")
    return code, out.getvalue()


INDEX_BATCH = 38_000  # keys a batch when a mode's own batch size is not known


def check_batch_rows(path: Path | str, layout: str, header: bool) -> int:
    """The rows of each batch the columnar engine checks `path` in, as it cuts them: for CSV, the rows of a block of
    conformance.check._columnar.BLOCK_BYTES after the header (the block read on to the end of its last row); for
    XML, BATCH_ROWS. Its duplicate index is fed that many keys at a time, and when its sorted runs are merged (and
    so how large its largest transient copy is at a given size) follows from it."""
    from conformance.check._columnar import BATCH_ROWS, BLOCK_BYTES

    if layout != "csv":
        return BATCH_ROWS
    with open(path, "rb") as handle:
        if header:
            handle.readline()
        block = handle.read(BLOCK_BYTES)
    return max(1, block.count(b"\n") + (not block.endswith(b"\n")))


def index_key(kind: str, batch: int | None = None) -> str:
    """How an index-alone result is named: the record engine's dict (batches make no difference to it), or the
    columnar engine's sorted runs fed `batch` keys at a time."""
    return kind if kind == "dict" else f"{kind}@{batch or INDEX_BATCH}"


def duplicate_index(records: int, kind: str = "dict", batch: int = INDEX_BATCH) -> int:
    """In the child: what a check's duplicate index keeps for `records` distinct keys. "dict": the record engine's
    (conformance.check._engine.UniqueKey), a 64-bit BLAKE2b digest mapped to an int packing record number and line;
    "compact": the columnar engine's (conformance.check._columnar.CompactIndex), the digests sorted beside their
    places, fed `batch` keys at a time as a check feeds it a batch (check_batch_rows). Its peak memory at two sizes
    is the growth a check is allowed."""
    from hashlib import blake2b

    def digest(n: int) -> int:
        return int.from_bytes(blake2b(n.to_bytes(8, "little"), digest_size=8).digest(), "little")

    if kind == "dict":
        first: dict[int, int] = {}
        for n in range(records):
            first[digest(n)] = (n + 1) << 32 | (n + 2)
        return len(first)
    import polars as pl

    from conformance.check._columnar import CompactIndex

    class _Unique:  # what CompactIndex asks of UniqueKey when no key repeats
        def __init__(self) -> None:
            self.log = None
            self.first: dict[int, int] = {}

    index = CompactIndex(_Unique())  # type: ignore[arg-type]
    for start in range(0, records, batch):
        numbers = range(start + 1, min(start + batch, records) + 1)
        digests = pl.Series([digest(n) for n in numbers], dtype=pl.UInt64)
        index.see(numbers, numbers, digests, pl.Series([""] * len(numbers)), None)
    return len(index)


def index_alone(script: str, size: int, batches: Iterable[int]) -> dict[str, dict[str, Any]]:
    """The duplicate index alone at `size` distinct keys: the record engine's, and the columnar engine's fed in
    each of `batches` (the batch sizes of the checks measured), each in a process of its own."""
    runs = {index_key("dict"): ["index", str(size), "dict"]}
    for batch in sorted(set(batches)):
        runs[index_key("compact", batch)] = ["index", str(size), "compact", str(batch)]
    return {key: run_child(script, spec) for key, spec in runs.items()}


def run_child(script: str, spec: Sequence[str]) -> dict[str, Any]:
    """One run of `script --child SPEC`: the JSON its child printed last."""
    argv = [sys.executable, script, "--child", json.dumps(list(spec))]
    out = subprocess.run(argv, capture_output=True, text=True, env=CHILD_ENVIRONMENT)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(spec)}: exit {out.returncode}\n{out.stderr[-3000:]}")
    return cast(dict[str, Any], json.loads(out.stdout.strip().splitlines()[-1]))


def median_of(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The median of each number over the runs; any other value as it was, or its values joined with '/' when the
    runs differ (a verdict that changes between runs shows)."""
    merged: dict[str, Any] = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            merged[key] = statistics.median(values)
        else:
            distinct = list(dict.fromkeys(map(str, values)))
            merged[key] = values[0] if len(distinct) == 1 else "/".join(distinct)
    return merged


def measure_all(
    script: str, specs: Mapping[Mode, Sequence[str]], repeats: int, size: int = 0
) -> dict[Mode, dict[str, Any]]:
    """Every mode `repeats` times, taken in turn; the median of each. Each run is shown on standard error."""
    runs: dict[Mode, list[dict[str, Any]]] = {mode: [] for mode in specs}
    for repeat in range(repeats):
        for mode, spec in specs.items():
            result = run_child(script, spec)
            runs[mode].append(result)
            what = " ".join(filter(None, (f"{size:,}" if size else "", mode.case, mode.run, mode.engine)))
            print(
                f"  [{repeat + 1}/{repeats}] {what:<58} {result['seconds']:8.2f} s {result['cpu_seconds']:8.2f} cpu s"
                f" {result['peak_mib']:8.1f} MiB" + (f"  {result['verdict']}" if "verdict" in result else ""),
                file=sys.stderr,
                flush=True,
            )
    return {mode: median_of(r) for mode, r in runs.items()}


def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1, drop_empty: bool = False) -> str:
    """Columns as wide as their widest cell; the first `left` aligned left, the others right. With `drop_empty`,
    a column with "-" in every row is left out."""
    if drop_empty and rows:
        keep = [i for i in range(len(header)) if i < left or any(row[i] != "-" for row in rows)]
        header, rows = [header[i] for i in keep], [[row[i] for i in keep] for row in rows]
        left = sum(1 for i in keep if i < left)
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = []
    for row in (header, *rows):
        cells = [
            str(c).ljust(w) if i < left else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _floor_of(modes: Sequence[Mode]) -> dict[str, Mode]:
    return {m.case: m for m in modes if m.floor}


def sound(result: dict[str, Any], floor: dict[str, Any] | None) -> str:
    """What is wrong with a run, if anything, so that a broken run cannot pass as fast: a verdict other than
    accepted (complete, for an upgrade not checked; certified, for certify), or another count than the floor's."""
    problems = []
    if "verdict" in result and result["verdict"] not in ("accepted", "complete", "certified"):
        problems.append(str(result["verdict"]))
    if floor is not None and result["count"] != floor["count"]:
        problems.append(f"{result['count']:,.0f} records, floor {floor['count']:,.0f}")
    return "; ".join(problems)


def _number(value: Any, spec: str = ",.0f") -> str:
    return format(value, spec) if isinstance(value, int | float) else ("-" if value is None else str(value))


def print_report(
    results: Mapping[int, Mapping[Mode, dict[str, Any]]],
    repeats: int,
    *,
    unit: str = "records",
    index: Mapping[int, Mapping[str, dict[str, Any]]] | None = None,
    index_batches: Mapping[int, Mapping[str, int]] | None = None,
    memory_target: bool = True,
) -> None:
    """One table per size: each mode's median wall and CPU seconds and its rate, its wall time as a multiple of its
    case's floor in the same run with PASS or OVER against the target (and the same for CPU time, steadier on a
    shared machine), what the run found, and peak memory. Then, with two sizes, how time and memory grow from the
    smaller to the larger: growth beyond the duplicate index's (`index`, index_alone's at each size, fed in batches
    of the size each case's check uses, `index_batches`: size -> case -> batch) is what should not be there."""
    for size, by_mode in results.items():
        modes = list(by_mode)
        floors = _floor_of(modes)
        workers = any(r.get("worker_peak_mib") for r in by_mode.values())
        print(f"\n{f'{size:,} {unit}, ' if size else ''}median of {repeats} run(s), each mode in its own process\n")
        header = ["case", "run", "engine", unit, "verdict", "rejected", "findings", "not eval."]
        header += ["seconds", "cpu s", f"{unit}/s", "x floor", "x floor cpu", "target", "mark", "peak MiB"]
        header += ["worker MiB"] if workers else []
        rows, notes = [], []
        for mode in modes:
            r = by_mode[mode]
            floor = by_mode.get(floors[mode.case]) if mode.case in floors else None
            times = cpu_times = "-"
            if floor is not None:
                times = f"{r['seconds'] / floor['seconds']:.2f}"
                cpu_times = f"{r['cpu_seconds'] / floor['cpu_seconds']:.2f}"
            wrong = "" if mode.floor else sound(r, floor)
            if wrong:
                mark = "BROKEN"
                notes.append(f"BROKEN: {mode.case}, {mode.run}{f', {mode.engine}' if mode.engine else ''}: {wrong}")
            elif mode.seconds_target is not None:
                mark = "PASS" if r["seconds"] <= mode.seconds_target else "OVER"
            elif mode.target is None or floor is None:
                mark = "-"
            else:
                mark = "PASS" if r["seconds"] <= mode.target * floor["seconds"] else "OVER"
            target = f"<= {mode.target:g}" if mode.target else "-"
            target = f"<= {mode.seconds_target:g} s" if mode.seconds_target else target
            row = [mode.case, mode.run, mode.engine or "-", _number(r["count"]), str(r.get("verdict", "-"))]
            row += [_number(r.get(k)) for k in ("rejected", "findings", "not_evaluated")]
            row += [f"{r['seconds']:.2f}", f"{r['cpu_seconds']:.2f}", _number(r["count"] / r["seconds"])]
            row += [times, cpu_times, target, mark, f"{r['peak_mib']:.1f}"]
            row += [_number(r.get("worker_peak_mib"), ".1f")] if workers else []
            rows.append(row)
        print(table(header, rows, left=3, drop_empty=True))
        print("".join(f"{note}\n" for note in notes), end="")
        print_start_up(by_mode, floors)
    sized = sorted(results)
    if len(sized) > 1:
        print_growth(
            results[sized[0]], results[sized[-1]], sized[0], sized[-1], unit, index, index_batches or {}, memory_target
        )


def print_start_up(by_mode: Mapping[Mode, dict[str, Any]], floors: Mapping[str, Mode]) -> None:
    """For each warm row beside its cold twin: the start-up a cold run pays (cold less warm), in seconds and as a
    multiple of the case's floor."""
    lines = []
    for mode, warm in by_mode.items():
        cold_mode = replace(mode, run=mode.run.removesuffix(", warm"), warm=False)
        if not mode.warm or cold_mode not in by_mode:
            continue
        start_up = by_mode[cold_mode]["seconds"] - warm["seconds"]
        floor = by_mode.get(floors[mode.case]) if mode.case in floors else None
        share = f" ({start_up / floor['seconds']:.2f}x the floor)" if floor else ""
        what = ", ".join(filter(None, (mode.case, cold_mode.run, mode.engine)))
        lines.append(f"  {what}: {by_mode[cold_mode]['seconds']:.2f} s cold, {warm['seconds']:.2f} s warm: "
                     f"{start_up:.2f} s{share}")  # fmt: skip
    if lines:
        print("start-up (medians, cold less warm):")
        print("\n".join(lines))


def index_kind(mode: Mode) -> str:
    """The duplicate index a mode's check keeps: the record engine's dict, else (columnar, or auto on files this
    large) the columnar engine's sorted arrays."""
    return "dict" if mode.engine == "record" else "compact"


def print_growth(
    small: Mapping[Mode, dict[str, Any]],
    large: Mapping[Mode, dict[str, Any]],
    n_small: int,
    n_large: int,
    unit: str,
    index: Mapping[int, Mapping[str, dict[str, Any]]] | None,
    index_batches: Mapping[int, Mapping[str, int]],
    memory_target: bool,
) -> None:
    """How each mode's time and memory grow from the small size to the large one; a mode's growth beyond the
    duplicate index of its engine (`index_kind`), fed as its check feeds it."""

    def key(mode: Mode, size: int) -> str:
        return index_key(index_kind(mode), index_batches.get(size, {}).get(mode.case))

    def index_growth(mode: Mode) -> float:
        if not index:
            return 0.0
        return float(index[n_large][key(mode, n_large)]["peak_mib"] - index[n_small][key(mode, n_small)]["peak_mib"])

    print(f"\nfrom {n_small:,} to {n_large:,} {unit}: peak memory, and the CPU time of each extra record (start-up")
    print("left out) as a multiple of the floor's")
    if index:
        print(
            f"  the duplicate index alone ({n_small:,} and {n_large:,} 64-bit digests, fed in batches of the size the "
            "row's check uses) grows as 'index MiB' says"
        )
    if memory_target:
        print(f"  target: {MEMORY_TARGET_MB} MB ({MEMORY_TARGET_MB * 1e6 / 2**20:.0f} MiB) at {n_large:,}; ", end="")
    print(f"'flat': growth beyond the index at most {FLAT_MIB:g} MiB\n")
    header = [
        "case",
        "run",
        "engine",
        "x floor beyond start-up (cpu)",
        f"peak MiB @{n_small:,}",
        f"peak MiB @{n_large:,}",
    ]
    header += ["growth MiB", "index MiB", "beyond index MiB", "memory"]
    floors = _floor_of(list(large))
    rows = []
    for mode in large:
        a, b = small[mode], large[mode]
        ratio = "-"
        if not mode.floor and mode.case in floors:
            floor_extra = large[floors[mode.case]]["cpu_seconds"] - small[floors[mode.case]]["cpu_seconds"]
            if floor_extra > 0:
                ratio = f"{(b['cpu_seconds'] - a['cpu_seconds']) / floor_extra:.2f}"
        growth = b["peak_mib"] - a["peak_mib"]
        allowed = index_growth(mode) if mode.indexed else 0.0
        beyond = growth - allowed
        marks = []
        if memory_target:
            marks.append("<= 300 MB" if b["peak_mib"] * 2**20 <= MEMORY_TARGET_MB * 1e6 else "OVER 300 MB")
        marks.append("flat" if beyond <= FLAT_MIB else "GROWS")
        row = [mode.case, mode.run, mode.engine or "-", ratio, f"{a['peak_mib']:.1f}", f"{b['peak_mib']:.1f}"]
        row += [f"{growth:+.1f}", f"{allowed:+.1f}" if mode.indexed else "-", f"{beyond:+.1f}" if mode.indexed else "-"]
        rows.append([*row, ", ".join(marks)])
    print(table(header, rows, left=3))
