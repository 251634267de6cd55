"""Benchmark: `dids upgrade` of a generated v1 month to v2.0, CSV and XML, beside the floor of reading and writing
the same file in the same run (a script, not a test).

    python tests/benchmarks/bench_upgrade.py [--records N] [--small N] [--repeats R] [--seed S] [--data DIR]
        [--cases csv xml] [--engines E ...]

The v1 files are a month made by `dids generate --profile v1-dsp --period 2026-05` (dated after 1 April 2026, as
files needing an upgrade are), at two sizes (default 100,000 and 1,000,000 records). Each mode runs in its own
process (its peak memory is its own), the modes taken in turn on every repeat:

  floor: csv copy      csv.reader over the v1 CSV, csv.writer writing every row to a new file
  floor: xml copy      lxml iterparse over the v1 XML's DIDSRecord elements (clearing each as it goes), etree.xmlfile
                       writing each to a new file
  upgrade --no-check   dids upgrade IN -o OUT --no-check, in the child's process (imports and start-up count)
  upgrade              the same, checking its own output with the v2 profile (--period 2026-05, submitted 10 June
                       2026): upgrading and checking are one command
  upgrade + reference  the same with --reference synthetic

With --engines, the checked upgrades run once per engine (`dids upgrade --engine E`) when `dids upgrade` has
--engine; else without it, and the script says so. Issue 18 sets no ratio for upgrade; the table shows each beside
its floor, what the upgrade found (complete, the check's verdict, findings, rules not evaluated; BROKEN when the
upgrade is incomplete or its output not accepted) and peak memory at both sizes against 300 MB, flat but for the
duplicate index of the output's check.
"""

from __future__ import annotations

import json
import os
from typing import Any

import _harness  # the sibling module: scripts run from their own folder
from _harness import Mode

PERIOD, SUBMITTED = "2026-05", "2026-06-10T09:00"


def child(spec: list[str]) -> None:
    kind, *rest = spec
    watch = _harness.Stopwatch()
    extra: dict[str, object] = {}
    if kind == "csv-copy":
        count = csv_copy(*rest)
    elif kind == "xml-copy":
        count = xml_copy(*rest)
    elif kind == "index":
        count = _harness.duplicate_index(int(rest[0]), rest[1])
    else:
        _code, out = _harness.dids(rest)
        summary = json.loads(out)
        count = summary["records"]
        check = summary.get("check") or {}
        extra = {"verdict": "incomplete" if not summary["complete"] else check.get("verdict", "complete")}
        if check:
            extra |= {"findings": sum(check["counts"].values()), "not_evaluated": len(check["not_evaluated"])}
    watch.report(count, **extra)
    if kind != "index":  # the output, once timed
        os.remove(rest[rest.index("-o") + 1] if "-o" in rest else rest[1])


def csv_copy(source: str, target: str) -> int:
    import csv

    count = 0
    with open(source, newline="", encoding="utf-8") as inp, open(target, "w", newline="", encoding="utf-8") as out:
        write = csv.writer(out).writerow
        for row in csv.reader(inp):
            write(row)
            count += 1
    return count


def xml_copy(source: str, target: str) -> int:
    from contextlib import ExitStack

    from lxml import etree

    count = 0
    with etree.xmlfile(target, encoding="utf-8") as out, ExitStack() as root:
        for _event, element in etree.iterparse(
            source, events=("end",), tag="{*}DIDSRecord", resolve_entities=False, no_network=True
        ):
            if count == 0:  # the root element, opened as the first record ends
                parent = element.getparent()
                root.enter_context(out.element(parent.tag, nsmap=parent.nsmap))
            out.write(element)
            count += sum(1 for child in element if etree.QName(child).localname == "ImagingActivity")
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    return count


def main() -> None:
    parser = _harness.parser(__doc__)
    parser.add_argument("--cases", nargs="+", default=["csv", "xml"], choices=("csv", "xml"))
    parser.add_argument("--engines", nargs="+", default=[None], help="dids upgrade --engine E, each side by side")
    args = parser.parse_args()
    if spec := _harness.child_spec(args):
        child(spec)
        return

    engines = _harness.passed_through(_harness.dids_options("upgrade"), "upgrade", "--engine", args.engines)
    results: dict[int, dict[Mode, dict[str, Any]]] = {}
    index: dict[int, dict[str, dict[str, Any]]] = {}
    with _harness.data_folder(args.data) as folder:
        for size in _harness.sizes(args):
            specs: dict[Mode, list[str]] = {}
            for layout in args.cases:
                source = str(_harness.generated(folder, "v1-dsp", layout, size, args.seed, PERIOD))
                target = str(folder / f"upgraded.{layout}")
                case = f"v1-dsp {layout} -> v2"
                specs[Mode(case, f"floor: {layout} copy", floor=True)] = [f"{layout}-copy", source, target]
                argv = ["upgrade", source, "-o", target, "--submitted", SUBMITTED, "--period", PERIOD]
                argv += ["--format", "json", "--quiet"]
                specs[Mode(case, "upgrade --no-check")] = ["dids", *argv, "--no-check"]
                for engine in engines:
                    with_engine = ["--engine", engine] if engine else []
                    for reference in ("none", "synthetic"):
                        run = "upgrade" if reference == "none" else f"upgrade + reference {reference}"
                        mode = Mode(case, run, engine or "default", indexed=True)
                        specs[mode] = ["dids", *argv, *with_engine]
                        specs[mode] += ["--reference", reference] if reference != "none" else []
            results[size] = _harness.measure_all(__file__, specs, args.repeats, size)
            index[size] = _harness.index_alone(__file__, size, [_harness.INDEX_BATCH])
    _harness.print_report(results, args.repeats, index=index)


if __name__ == "__main__":
    main()
