"""Benchmark: a full v1-dsp check of 1,000,000 v1 records, CSV and XML, beside the bare parsers and lxml's own
XSD validation (a script, not a test).

    python tests/benchmarks/bench_check.py [--records N] [--small N] [--repeats R] [--modes ...]

The records vary like a month of a radiology service (about three records per patient, a month of test dates,
a spread of birth dates, codes, referrers, sites and postcodes from the synthetic reference universe), so caches
in the checker see realistic repetition, not one record copied. Each mode runs in its own process so that peak
memory (ru_maxrss) is that mode's alone:

  csv-bare        csv.reader over the file                                          (baseline for CSV)
  csv-check       dids check --profile v1-dsp, no reference data
  csv-check-ref   the same with --reference synthetic (every rule evaluated)
  csv-check-stats csv-check with the statistics of the HTML report tallied in the same pass (check --format html)
  xml-bare        lxml iterparse over DIDSRecord, clearing as it goes               (baseline for XML)
  xml-xsd-lxml    lxml iterparse validating against the v1 XSD, clearing as it goes (lxml XSD validation alone)
  xml-check       dids check --profile v1-dsp (which validates every record against the XSD)

Prints the median records/s of the repeats, each check's time as a multiple of its baseline, and peak memory at
the small and the full size, so growth with the record count shows.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import _harness  # the sibling module: scripts run from their own folder

MODES = ("csv-bare", "csv-check", "csv-check-ref", "csv-check-stats", "xml-bare", "xml-xsd-lxml", "xml-check")
NS = "{http://www.datadictionary.nhs.uk/data_dictionary/messages/DIDS-v1-0/}"
CODES = [
    ("XCHES", "399208008"),
    ("CSHRB", "303686006"),
    ("XMAMB", "71651007"),
    ("UGRAF", "334531000000104"),
    ("MHANBC", "432000006"),
    ("CABDOB", "277591006"),
    ("FHIPB", "440212005"),
]


def varied_records(count: int, seed: int = 20180901) -> Iterator[tuple[str, ...]]:
    """`count` valid v1 records for August 2018 (submitted 1 September 2018) from the synthetic universe."""
    from conformance.identifiers import synthetic_nhs_number

    rng = random.Random(seed)
    month = date(2018, 8, 1)
    # A service sees a few thousand referrers a month, not a new one per record.
    referrers = [rng.choice(("C", "G")) + str(rng.randrange(1_000_000, 9_999_999)) for _ in range(3000)]
    postcodes = ["LS1 4AP", "LS2 9JT", "LS6 2QA", "BD1 1HY", "M1 1AE", "ZZ99 3WZ", ""]
    for n in range(count):
        patient = rng.randrange(max(count // 3, 1))
        birth = date(1930, 1, 1) + timedelta(days=patient * 7919 % 32000)
        test = month + timedelta(days=rng.randrange(31))
        request = test - timedelta(days=rng.choice((0, 0, 1, 3, 7, 14, 30, 60)))
        nicip, snomed = CODES[rng.randrange(len(CODES))]
        yield (
            synthetic_nhs_number(patient),
            "01",
            birth.isoformat(),
            "ABCDEFGHJKLMNPRSZ"[patient % 17],
            "12"[patient % 2],
            postcodes[patient % len(postcodes)],
            ("X99001", "X99002", "X99003", "V81999")[patient % 4],
            f"0{rng.randrange(1, 8)}",
            referrers[rng.randrange(len(referrers))],
            "X9T",
            request.isoformat(),
            request.isoformat(),
            test.isoformat(),
            nicip,
            snomed if rng.random() < 0.9 else "",
            min(test + timedelta(days=rng.choice((0, 1, 2, 5))), date(2018, 8, 31)).isoformat(),
            ("X9T01", "X9T02")[n % 2],
            f"RIS{n:010d}",
        )


def make_files(folder: Path, records: int) -> tuple[Path, Path]:
    from conformance.formats import write_records
    from conformance.spec import load_pack

    pack = load_pack("v1")
    csv_path, xml_path = folder / "bench.csv", folder / "bench.xml"
    write_records(varied_records(records), csv_path, pack=pack, format="csv")
    write_records(varied_records(records), xml_path, pack=pack, format="xml")
    return csv_path, xml_path


def run_mode(mode: str, path: str) -> None:
    """Child process: do what `mode` says to `path`; print JSON with the record count, seconds and peak RSS."""
    start = time.perf_counter()
    count = 0
    if mode == "csv-bare":
        import csv

        with open(path, newline="", encoding="utf-8") as handle:
            for _row in csv.reader(handle):
                count += 1
    elif mode in ("xml-bare", "xml-xsd-lxml"):
        from lxml import etree

        schema = None
        if mode == "xml-xsd-lxml":
            from conformance.formats import xml_schema
            from conformance.spec import load_pack

            schema = xml_schema(load_pack("v1"))
        for _event, element in etree.iterparse(
            path, events=("end",), tag=f"{NS}DIDSRecord", resolve_entities=False, no_network=True, schema=schema
        ):
            count += sum(1 for child in element if child.tag == f"{NS}ImagingActivity")
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    else:
        from conformance.check import check, load_reference, make_context
        from generators.stats import Collector

        reference = load_reference("synthetic" if mode.endswith("-ref") else None)
        observe = Collector() if mode.endswith("-stats") else None
        context = make_context("2018-09-01T09:00")
        report = check(path, profile="v1-dsp", context=context, reference=reference, observe=observe)
        count = report.records
        assert report.verdict == "accepted", dict(report.counts)
    _harness.report_child(count, time.perf_counter() - start)


def measure(mode: str, path: Path, repeats: int) -> dict[str, float]:
    return _harness.measure(__file__, mode, str(path), repeats)


BASELINE = {
    "csv-check": "csv-bare",
    "csv-check-ref": "csv-bare",
    "csv-check-stats": "csv-check",
    "xml-xsd-lxml": "xml-bare",
    "xml-check": "xml-xsd-lxml",
}


def main() -> None:
    args = _harness.arguments(__doc__, MODES, repeats=3)
    if args.child:
        run_mode(*args.child)
        return

    with tempfile.TemporaryDirectory() as tmp:
        results: dict[int, dict[str, dict[str, float]]] = {}
        for size in (args.small, args.records):
            folder = Path(tmp, str(size))
            folder.mkdir()
            csv_path, xml_path = make_files(folder, size)
            print(
                f"{size:,} records: CSV {csv_path.stat().st_size / 2**20:.0f} MiB, "
                f"XML {xml_path.stat().st_size / 2**20:.0f} MiB",
                flush=True,
            )
            repeats = args.repeats if size == args.records else 1  # the small size is for the memory column
            results[size] = {m: measure(m, csv_path if m.startswith("csv") else xml_path, repeats) for m in args.modes}
        _harness.print_table(results, args, BASELINE.get)


if __name__ == "__main__":
    main()
