"""Benchmark: `dids check` of a generated month, v1-dsp and v2, CSV and XML, with and without reference data, each
beside its floor in the same run (a script, not a test).

    python tests/benchmarks/bench_check.py [--records N] [--small N] [--repeats R] [--seed S] [--data DIR]
        [--cases v1-dsp-csv v1-dsp-xml v2-csv v2-xml] [--references none synthetic]
        [--engines record columnar ...] [--jobs N] [--warm small|every|none]

Each case is a month made by `dids generate` (v1-dsp: August 2018, checked as submitted on 10 September 2018; v2:
May 2026, checked with --period 2026-05 as submitted on 10 June 2026), at two sizes (default 100,000 and
1,000,000 records), in a temporary folder or, with --data, a folder kept for the next run. Each mode runs in its
own process (its peak memory is its own), the modes taken in turn on every repeat:

  floor: csv.reader   a bare csv.reader loop over the same CSV file
  floor: lxml XSD     lxml's streaming XSD validation of the same XML file: iterparse with the project's schema
                      (`dids spec xsd`) applied to the whole stream while parsing, clearing each record as it goes
  check               dids check --profile P, in the child's process (its imports and start-up count)
  check + reference   the same with --reference synthetic, so the rules that need reference data run too
  ..., warm           the same check timed in a process that has already checked another file (a month before,
                      2,000 records, another seed) with the same options and engine: what `dids serve` or a caller
                      of conformance.check pays once warm (Polars and the packs loaded), which leaves out start-up.
                      At the smaller size by default (--warm small), where start-up is a large share of a check;
                      the table then gives start-up, cold less warm, beside each check's floor
  dup index alone     N 64-bit digests as each engine's duplicate index keeps them, fed in batches of the size each
                      case's check uses (memory growth allowed)

With --engines, every check runs once per engine (`dids check --engine E`) side by side, when `dids check` has
--engine; else the checks run without it, and the script says so. --jobs N is passed on the same way.

The issue's targets (issue 18), each a ratio in the same run: v1-dsp CSV at most 3x the csv.reader floor, v2 CSV at
most 4x, v2 XML at most 1.5x lxml's XSD validation (v1-dsp XML: shown, no target); peak memory at most 300 MB at
1,000,000 records and flat from 100,000 to 1,000,000 but for the duplicate index. Each row says what the check
found (verdict, records rejected, findings, rules not evaluated): a clean generated month is accepted, and a run
that is not, or read fewer records than the floor, is marked BROKEN rather than fast.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import _harness  # the sibling module: scripts run from their own folder
from _harness import Mode

CASES = {
    "v1-dsp-csv": ("v1-dsp", "csv"),
    "v1-dsp-xml": ("v1-dsp", "xml"),
    "v2-csv": ("v2", "csv"),
    "v2-xml": ("v2", "xml"),
}
TARGET = {"v1-dsp-csv": 3.0, "v2-csv": 4.0, "v2-xml": 1.5}
MONTH = {"v1-dsp": ("2018-08", "2018-09-10T09:00"), "v2": ("2026-05", "2026-06-10T09:00")}
# The warm rows' first check: another month (its dates fill none of the date caches the timed check reads), small
WARM_UP = {"v1-dsp": "2018-07", "v2": "2026-04"}
WARM_UP_RECORDS = 2_000
PACK = {"v1-dsp": "v1", "v2": "v2"}


def child(spec: list[str]) -> None:
    """Do what `spec` says; print the count, seconds, peak memory and what a check found, as JSON."""
    kind, *rest = spec
    if kind == "warm":
        rest = warm_up(*rest)
    watch = _harness.Stopwatch()
    extra = {}
    if kind == "csv-floor":
        import csv

        with open(rest[0], newline="", encoding="utf-8") as handle:
            count = sum(1 for _row in csv.reader(handle)) - (rest[1] == "header")
    elif kind == "xsd-floor":
        count = xsd_stream(*rest)
    elif kind == "index":
        count = _harness.duplicate_index(int(rest[0]), rest[1], *(int(b) for b in rest[2:3]))
    else:
        _code, out = _harness.dids(rest)
        report = json.loads(out)
        count = report["records"]
        extra = {
            "verdict": report["verdict"],
            "rejected": report["records_rejected"],
            "findings": sum(report["counts"].values()),
            "not_evaluated": len(report["not_evaluated"]),
        }
    watch.report(count, **extra)


def warm_up(first: str, *spec: str) -> list[str]:
    """A warm row's first check, untimed: `dids check FIRST` with the options of `spec` (["dids", "check", PATH,
    ...]) and the engine the timed check takes on PATH (auto would take the record engine on so small a file, and
    leave Polars unloaded); the command line left to time (`spec` less "dids")."""
    from conformance.check._engine import DEFAULT_ENGINE, _columnar_for

    _dids, command, path, *options = spec
    engine = options[options.index("--engine") + 1] if "--engine" in options else DEFAULT_ENGINE
    taken = "columnar" if _columnar_for(engine, path) else "record"
    if "--engine" in options:
        options = [*options[: options.index("--engine")], *options[options.index("--engine") + 2 :]]
    _harness.dids([command, first, *options, "--engine", taken])
    return list(spec[1:])


def xsd_stream(path: str, xsd: str) -> int:
    """lxml's streaming XSD validation: the schema applied to the whole document while parsing, each DIDSRecord
    cleared (and its predecessors removed) as it ends; the number of ImagingActivity elements."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(xsd))
    count = 0
    for _event, element in etree.iterparse(
        path, events=("end",), tag="{*}DIDSRecord", schema=schema, resolve_entities=False, no_network=True
    ):
        count += sum(1 for child in element if etree.QName(child).localname == "ImagingActivity")
        element.clear(keep_tail=True)
        while element.getprevious() is not None:
            del element.getparent()[0]
    return count


def main() -> None:
    parser = _harness.parser(__doc__)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--references", nargs="+", default=["none", "synthetic"], choices=("none", "synthetic"))
    parser.add_argument("--engines", nargs="+", default=[None], help="dids check --engine E, each side by side")
    parser.add_argument("--jobs", type=int, help="dids check --jobs N, when the CLI has it")
    parser.add_argument(
        "--warm",
        choices=("small", "every", "none"),
        default="small",
        help="where to add the warm rows: at the smaller size (default), at every size, or nowhere",
    )
    args = parser.parse_args()
    if spec := _harness.child_spec(args):
        child(spec)
        return

    from conformance.spec import load_pack

    options = _harness.dids_options("check")
    engines = _harness.passed_through(options, "check", "--engine", args.engines)
    jobs = _harness.passed_through(options, "check", "--jobs", [None if args.jobs is None else str(args.jobs)])[0]
    results: dict[int, dict[Mode, dict[str, Any]]] = {}
    index: dict[int, dict[str, dict[str, Any]]] = {}
    batches: dict[int, dict[str, int]] = {}  # size -> case -> rows a batch of its check
    with _harness.data_folder(args.data) as folder:
        sizes = _harness.sizes(args)
        for size in sizes:
            warm = args.warm == "every" or (args.warm == "small" and size == sizes[0])
            specs: dict[Mode, list[str]] = {}
            for case in args.cases:
                profile, layout = CASES[case]
                period, submitted = MONTH[profile]
                path = str(_harness.generated(folder, profile, layout, size, args.seed, period))
                name = case.replace("-csv", " csv").replace("-xml", " xml")
                has_header = load_pack(PACK[profile]).csv.header
                batches.setdefault(size, {})[name] = _harness.check_batch_rows(path, layout, has_header)
                if layout == "csv":
                    header = "header" if has_header else "no header"
                    specs[Mode(name, "floor: csv.reader", floor=True)] = ["csv-floor", path, header]
                else:
                    xsd = _harness.xsd_file(folder, PACK[profile])
                    specs[Mode(name, "floor: lxml XSD", floor=True)] = ["xsd-floor", path, str(xsd)]
                argv = ["check", path, "--profile", profile, "--submitted", submitted, "--format", "json", "--quiet"]
                argv += ["--period", period] if profile == "v2" else []
                argv += ["--jobs", jobs] if jobs else []
                if warm:
                    first = _harness.generated(
                        folder, profile, layout, WARM_UP_RECORDS, args.seed + 1, WARM_UP[profile]
                    )
                for reference in args.references:
                    for engine in engines:
                        run = "check" if reference == "none" else f"check + reference {reference}"
                        mode = Mode(name, run, engine or "default", target=TARGET.get(case), indexed=True)
                        specs[mode] = ["dids", *argv]
                        specs[mode] += ["--reference", reference] if reference != "none" else []
                        specs[mode] += ["--engine", engine] if engine else []
                        if warm:
                            specs[replace(mode, run=f"{run}, warm", warm=True)] = ["warm", str(first), *specs[mode]]
            results[size] = _harness.measure_all(__file__, specs, args.repeats, size)
            index[size] = _harness.index_alone(__file__, size, batches[size].values())
    _harness.print_report(results, args.repeats, index=index or None, index_batches=batches)


if __name__ == "__main__":
    main()
