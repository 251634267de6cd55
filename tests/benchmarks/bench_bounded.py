"""Benchmark: memory stays bounded on a 1 GB valid XML file and on a file of junk elements (a script, not a test).

    python tests/benchmarks/bench_bounded.py [--gigabytes 1.0] [--junk-mb 300] [--repeats 3] [--modes ...]

Writes, in a temporary folder, a generated DIDS v1 XML file of about --gigabytes GB (`dids generate`), and a file
of --junk-mb MB of elements DIDS does not have, placed under the root before the first of a few records. Each mode
runs in its own process so its peak memory (ru_maxrss) is its own:

  valid-bare   lxml iterparse on DIDSRecord end events, clearing each and removing its predecessors (the classic
               streaming idiom, and the baseline for speed)
  valid-read   our reader with the XSD check of every record (`dids inspect --validate-xml`)
  valid-check  `dids check --profile v1-dsp` (reading, every rule, the duplicate index)
  junk-bare    the same lxml idiom on the junk file: it holds every junk element until the first record ends
  junk-read    our reader on the junk file
  junk-check   `dids check` on the junk file

Prints the median seconds and MB/s of the repeats, the time as a multiple of the bare parser on the same file, and
peak memory in MiB. The harness's target: under 250 MiB for every mode of ours.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import peak_mib  # the sibling module: scripts run from their own folder

MODES = ("valid-bare", "valid-read", "valid-check", "junk-bare", "junk-read", "junk-check")
V1_NS = "http://www.datadictionary.nhs.uk/data_dictionary/messages/DIDS-v1-0/"


def make_valid(folder: Path, gigabytes: float) -> Path:
    path = folder / "valid.xml"
    sample = folder / "sample.xml"
    subprocess.run(
        [sys.executable, "-m", "conformance.cli", "generate", "--profile", "v1-dsp", "--format", "xml",
         "--records", "2000", "--period", "2018-08", "-o", str(sample), "--quiet"],
        check=True, capture_output=True,
    )  # fmt: skip
    per_record = sample.stat().st_size / 2000
    records = int(gigabytes * 1e9 / per_record)
    subprocess.run(
        [sys.executable, "-m", "conformance.cli", "generate", "--profile", "v1-dsp", "--format", "xml",
         "--records", str(records), "--period", "2018-08", "-o", str(path), "--quiet"],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


def make_junk(folder: Path, megabytes: int, valid_sample: Path) -> Path:
    path = folder / "junk.xml"
    head, body = valid_sample.read_bytes().split(b"<DIDSRecord>", 1)
    junk = b"<Junk><a>noise</a><b>more noise</b></Junk>\n"
    with open(path, "wb") as out:
        out.write(head)
        for _ in range(megabytes * 1_000_000 // len(junk)):
            out.write(junk)
        out.write(b"<DIDSRecord>" + body)
    return path


def child(mode: str, path: str) -> None:
    started = time.perf_counter()
    count = 0
    if mode.endswith("-bare"):
        from lxml import etree

        for _, element in etree.iterparse(path, events=("end",), tag=f"{{{V1_NS}}}DIDSRecord", huge_tree=False):
            count += 1
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    elif mode.endswith("-read"):
        from conformance.formats import open_submission

        submission = open_submission(path, validate_xml=True)
        count = sum(1 for _ in submission.records())
    else:
        from conformance.check import check, make_context

        report = check(path, profile="v1-dsp", context=make_context("2018-09-10T09:00"))
        count = report.records
    seconds = time.perf_counter() - started
    print(json.dumps({"count": count, "seconds": seconds, "peak_mib": peak_mib()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--junk-mb", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        valid = make_valid(folder, args.gigabytes)
        junk = make_junk(folder, args.junk_mb, folder / "sample.xml")
        sizes = {"valid": valid.stat().st_size, "junk": junk.stat().st_size}
        print(f"valid.xml {sizes['valid'] / 1e6:,.0f} MB; junk.xml {sizes['junk'] / 1e6:,.0f} MB")
        results = {}
        for mode in args.modes:
            path = valid if mode.startswith("valid") else junk
            runs = []
            for _ in range(args.repeats):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=True
                )
                runs.append(json.loads(done.stdout))
            results[mode] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            r = results[mode]
            print(f"  {mode}: {r['seconds']:.1f} s, peak {r['peak_mib']:.1f} MiB", flush=True)
        print(f"\nmedian of {args.repeats} runs, each mode in its own process\n")
        print(f"{'mode':<13} {'records':>10} {'seconds':>9} {'MB/s':>8} {'x bare':>8} {'peak MiB':>10}")
        for mode, r in results.items():
            kind = mode.split("-")[0]
            bare = results.get(f"{kind}-bare")
            ratio = f"{r['seconds'] / bare['seconds']:.2f}" if bare else "-"
            rate = sizes[kind] / 1e6 / r["seconds"]
            print(
                f"{mode:<13} {r['count']:>10,.0f} {r['seconds']:>9.1f} {rate:>8.1f} {ratio:>8} {r['peak_mib']:>10.1f}"
            )


if __name__ == "__main__":
    main()
