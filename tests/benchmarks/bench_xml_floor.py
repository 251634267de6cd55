"""Benchmark: the XML reader beside lxml's streaming XSD validation of the same v2 file (a script, not a test).

    python tests/benchmarks/bench_xml_floor.py [--records N] [--repeats R] [--file FILE] [--modes ...]

Generates a v2 XML month (`dids generate --profile v2 --layout xml --records N --seed 7 --period 2026-05`; default
20,000 records) or reads `--file`, then times each mode in its own process:

  xml-bare      lxml iterparse over DIDSRecord end events, clearing each and its previous siblings
  xml-xsd-lxml  the same validating the stream against the v2 XSD: the floor a validating reader cannot beat
  flattening    our reader with every record flattened from lxml's elements and validated by lxml, as before the
                scanner (conformance.formats._xml._read_xml_flattening; what the scanner must equal)
  reader        our reader: open_submission(FILE, validate_xml=True).records()
  check         dids check FILE --profile v2 --submitted 2026-06-10T09:00 --period 2026-05 --format json,
                in-process (interpreter start-up and imports not counted)

The modes take turns, repeat by repeat. Prints the median wall and CPU seconds of the repeats and each as a
multiple of the floor. CPU seconds are the steadier figure on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

MODES = ("xml-bare", "xml-xsd-lxml", "flattening", "reader", "check")
FLOOR = "xml-xsd-lxml"


def run_mode(mode: str, path: str) -> None:
    """Child process: do what `mode` says to `path`; print JSON with the count, wall and CPU seconds."""
    from conformance.formats import xml_schema
    from conformance.spec import load_pack

    pack = load_pack("v2")
    schema = xml_schema(pack)  # compiled before the clock starts, in every mode
    wall, cpu = time.perf_counter(), time.process_time()
    count = 0
    if mode in ("xml-bare", "xml-xsd-lxml"):
        from lxml import etree

        tag = f"{{{pack.xml.namespace}}}{pack.xml.record}"
        for _event, element in etree.iterparse(
            path,
            events=("end",),
            tag=tag,
            resolve_entities=False,
            no_network=True,
            schema=schema if mode == "xml-xsd-lxml" else None,
        ):
            count += 1
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    elif mode == "flattening":
        from conformance.files import open_input
        from conformance.formats import ProblemLog
        from conformance.formats._xml import _read_xml_flattening

        for _record in _read_xml_flattening(open_input(path), pack, ProblemLog(), schema=schema):
            count += 1
    elif mode == "reader":
        from conformance.formats import open_submission

        for _record in open_submission(path, pack=pack, validate_xml=True).records():
            count += 1
    else:
        import io

        from conformance.cli import run

        out, err = io.StringIO(), io.StringIO()
        argv = ["check", path, "--profile", "v2", "--submitted", "2026-06-10T09:00", "--period", "2026-05"]
        code = run([*argv, "--format", "json", "-o", "-"], out, err)
        assert code in (0, 1), err.getvalue()
        count = json.loads(out.getvalue())["records"]
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"count": count, "seconds": seconds, "cpu_seconds": cpu_seconds}))


def measure(modes: list[str], path: Path, repeats: int) -> dict[str, dict[str, float]]:
    """The median figures of each mode. The modes take turns, so that a change in the machine's load between
    runs falls on all of them alike."""
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for _ in range(repeats):
        for mode in modes:
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=True
            )
            runs[mode].append(json.loads(out.stdout))
    return {mode: {key: statistics.median(r[key] for r in rs) for key in rs[0]} for mode, rs in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--file", type=Path, help="a v2 XML file to read instead of a generated one")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_mode(*args.child)
        return

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            from generators.generate import generate

            path = Path(tmp, "v2.xml")
            generate(path, profile="v2", format="xml", records=args.records, seed=7, period=date(2026, 5, 1), workers=1)
        print(f"{path}: {path.stat().st_size / 2**20:.0f} MiB", flush=True)
        results = measure(args.modes, path, args.repeats)
    floor = results.get(FLOOR)
    print(f"\nmedian of {args.repeats} runs, each mode in its own process\n")
    print(f"{'mode':<14} {'records':>9} {'wall s':>8} {'CPU s':>8} {'wall x floor':>13} {'CPU x floor':>12}")
    for mode, r in results.items():
        ratios = (
            f"{r['seconds'] / floor['seconds']:>13.2f} {r['cpu_seconds'] / floor['cpu_seconds']:>12.2f}"
            if floor
            else f"{'-':>13} {'-':>12}"
        )
        print(f"{mode:<14} {r['count']:>9,.0f} {r['seconds']:>8.2f} {r['cpu_seconds']:>8.2f} {ratios}")


if __name__ == "__main__":
    main()
