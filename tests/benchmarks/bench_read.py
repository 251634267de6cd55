"""Benchmark: reading 1,000,000 v1 records, CSV and XML, beside the bare parsers (a script, not a test).

    python tests/benchmarks/bench_read.py [--records N] [--repeats R] [--small N]

Writes a synthetic v1 CSV and XML (two activities in every third DIDSRecord) to a temporary directory, then times
each reader in its own process so peak memory (ru_maxrss) belongs to that reader alone:

  csv-bare    csv.reader over the file, counting rows                       (baseline for CSV)
  csv-ours    conformance.formats.open_submission(...).records()
  xml-bare    lxml iterparse on DIDSRecord end events, clearing as it goes (baseline for XML)
  xml-ours    our XML reader: flattening, locations, structure problems
  xml-xsd     our XML reader validating every DIDSRecord against the XSD

Prints the median records/s of the repeats, the ratio of our time to the bare parser's, and peak memory at the
small size and the full size, so growth with the record count shows.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import _harness  # the sibling module: scripts run from their own folder

MODES = ("csv-bare", "csv-ours", "xml-bare", "xml-ours", "xml-xsd")


def make_files(folder: Path, records: int) -> tuple[Path, Path]:
    from conformance.formats import write_records
    from conformance.identifiers import synthetic_nhs_number
    from conformance.spec import load_pack

    pack = load_pack("v1")

    def rows():  # type: ignore[no-untyped-def]
        for n in range(records):
            person = n - (n % 3 == 1)  # every third record shares person and referral with the one before
            yield (
                synthetic_nhs_number(person),
                "01",
                "1961-03-14",
                "A",
                "2",
                "LS1 4AP",
                "B86001",
                "02",
                "C1234567",
                "RR8",
                "2024-05-01",
                "2024-05-02",
                "2024-05-09",
                "XCHES",
                "399208008",
                "2024-05-10",
                "RR813",
                f"ACC{n:09d}",
            )

    csv_path, xml_path = folder / "bench.csv", folder / "bench.xml"
    write_records(rows(), csv_path, pack=pack, format="csv")
    write_records(rows(), xml_path, pack=pack, format="xml")
    return csv_path, xml_path


def run_mode(mode: str, path: str) -> None:
    """Child process: read `path` the way `mode` says, print JSON with count, seconds and peak RSS."""
    start = time.perf_counter()
    count = 0
    if mode == "csv-bare":
        import csv

        with open(path, newline="", encoding="utf-8") as handle:
            for _row in csv.reader(handle):
                count += 1
    elif mode == "xml-bare":
        from lxml import etree

        ns = "{http://www.datadictionary.nhs.uk/data_dictionary/messages/DIDS-v1-0/}"
        for _event, element in etree.iterparse(
            path, events=("end",), tag=f"{ns}DIDSRecord", resolve_entities=False, no_network=True
        ):
            count += sum(1 for child in element if child.tag == f"{ns}ImagingActivity")
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    else:
        from conformance.formats import open_submission

        submission = open_submission(path, version="v1", validate_xml=mode == "xml-xsd")
        for _record in submission.records():
            count += 1
        assert not submission.problems, dict(submission.problems.counts)
    _harness.report_child(count, time.perf_counter() - start)


def measure(mode: str, path: Path, repeats: int) -> dict[str, float]:
    return _harness.measure(__file__, mode, str(path), repeats)


def main() -> None:
    args = _harness.arguments(__doc__, MODES, repeats=5)
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
            # Repeats at the small size are only for the memory column; one pass is enough there.
            repeats = args.repeats if size == args.records else 1
            results[size] = {m: measure(m, csv_path if m.startswith("csv") else xml_path, repeats) for m in args.modes}
        _harness.print_table(results, args, lambda mode: mode[:3] + "-bare" if not mode.endswith("-bare") else None)


if __name__ == "__main__":
    main()
