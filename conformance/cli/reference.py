"""dids reference import | show: build a reference store from the published national files, and say what is in one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from conformance.cli._common import EXIT_OK, CannotRun

IMPORT_HELP = """\
Build one reference store (an SQLite file) from the national files in their published layouts, streaming:
  --ods FILE          an ODS CSV download (etr.csv, ets.csv, epraccur.csv, ...: no header, CCYYMMDD dates); the
                      type comes from the file name, or give TYPE=FILE; roles per type: conformance/check/ods_roles.toml
  --postcodes FILE    the ONS / NHS postcode directory CSV (header with pcds and doterm)
  --nicip FILE        the NICIP release table from TRUD (.xlsx, or tab- / comma-separated text) with the SNOMED CT map
  --snomed FILE       SNOMED CT RF2: der2_Refset_Simple{Snapshot|Full} (refset 999001111000000105), and optionally
                      sct2_Concept_* and sct2_Description_* files; Full files give the membership history
  --csv DIR           the CSV-folder form (conformance/check/reference_synthetic/README.md)
Each option may be repeated. A file of the wrong layout stops the import with one line (exit 2); the store is
written whole or not at all. Then: dids check FILE --reference STORE."""


def register(commands: Any) -> None:
    group = commands.add_parser(
        "reference",
        help="import the national reference files into a store, or show a store's manifest",
        description="National reference data (ODS, postcode directory, NICIP, SNOMED CT) as one SQLite store.",
    )
    sub = group.add_subparsers(dest="reference_command", required=True, metavar="ACTION")
    imp = sub.add_parser(
        "import",
        help="build a reference store from the published files",
        description=IMPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("-o", "--output", required=True, metavar="STORE", help="the store file to write")
    imp.add_argument("--name", default=None, help="the release's name in reports (default: the store's file name)")
    imp.add_argument("--release-date", default=None, metavar="CCYY-MM-DD", help="the release date in reports")
    for kind, metavar in (("ods", "[TYPE=]FILE"), ("postcodes", "FILE"), ("nicip", "FILE"), ("snomed", "FILE")):
        imp.add_argument(f"--{kind}", action="append", default=[], metavar=metavar)
    imp.add_argument("--csv", action="append", default=[], metavar="DIR")
    imp.set_defaults(handler=run_import)
    show = sub.add_parser(
        "show",
        help="print a store's release and manifest (sources, dates, rows, SHA-256)",
        description="Print the release (name, date, hash) and the manifest of a reference store: 'synthetic', a "
        "store file, or a CSV folder.",
    )
    show.add_argument("store", metavar="synthetic|STORE|DIR")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(handler=run_show)


def _sources(args: argparse.Namespace) -> list[Any]:
    """The sources the options name, each checked to be a regular file (or, for --csv, a folder) before reading."""
    from conformance.check.importing import Source
    from conformance.files import require_file

    sources = []
    for value in args.ods:
        kind, sep, path = value.partition("=")
        sources.append(Source("ods", Path(path), kind) if sep else Source("ods", Path(value)))
    for kind in ("postcodes", "nicip", "snomed", "csv"):
        sources += [Source(kind, Path(v)) for v in getattr(args, kind)]
    for source in sources:
        if source.kind == "csv" and not source.path.is_dir():
            raise CannotRun(f"--csv {source.path}: not a folder")
        if source.kind != "csv":
            require_file(source.path, what=f"--{source.kind} file")
    return sources


def run_import(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.check.importing import import_release
    from conformance.check.reference import reference_store
    from conformance.files import refuse_overlap

    if args.release_date is not None:
        from conformance.calendar import parse_date

        if parse_date(args.release_date) is None:
            raise CannotRun(f"--release-date {args.release_date!r} is not CCYY-MM-DD")
    sources = _sources(args)
    refuse_overlap([s.path for s in sources], {"the store (-o)": args.output})
    name = args.name or Path(args.output).stem
    digest = import_release(sources, args.output, name=name, release_date=args.release_date)
    out.write(_manifest_text(reference_store(args.output)))
    out.write(f"written: {args.output} (release sha256 {digest})\n")
    return EXIT_OK


def run_show(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.check.reference import reference_store

    store = reference_store(args.store)
    if args.format == "json":
        data = {"release": store.info, "tables": store.loaded, "manifest": store.manifest()}
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(_manifest_text(store))
    return EXIT_OK


def _manifest_text(store: Any) -> str:
    from conformance.markup import visible

    release = store.release()
    lines = [
        f"release: {visible(release.line())}",
        f"imported {store.info.get('imported_at')} by dids {store.info.get('tool_version')}",
        "tables: " + (", ".join(f"{t} {n:,}" for t, n in sorted(store.loaded.items())) or "none"),
        "sources:",
    ]
    for entry in store.manifest():
        lines.append(
            f"  {entry['kind']:<20} {visible(entry['file_name'])}  {entry['rows']:,} row(s)  "
            f"release {entry['release_date'] or '-'}  sha256 {entry['sha256']}"
        )
    return "\n".join(lines) + "\n"
