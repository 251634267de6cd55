"""dids spec show | diff | xsd."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from conformance.cli._common import EXIT_OK, add_override
from conformance.spec import VERSIONS


def register(commands: Any) -> None:
    spec = commands.add_parser("spec", help="show the spec packs, the v1 -> v2.0 change list, or the XSDs")
    spec_commands = spec.add_subparsers(dest="spec_command", required=True, metavar="SPEC_COMMAND")
    show = spec_commands.add_parser("show", help="print a spec pack: items, code lists, layouts, provenance")
    show.add_argument("version", choices=VERSIONS)
    show.add_argument("--format", choices=("text", "json"), default="text")
    diff = spec_commands.add_parser("diff", help="what changed between two versions (the v2.0 change list)")
    diff.add_argument("old", choices=VERSIONS)
    diff.add_argument("new", choices=VERSIONS)
    diff.add_argument("--format", choices=("text", "json"), default="text")
    xsd = spec_commands.add_parser("xsd", help="print the XML Schema derived from a pack")
    xsd.add_argument("version", choices=VERSIONS)
    for sub in (show, diff, xsd):
        add_override(sub)
    spec.set_defaults(handler=run_spec)


def run_spec(args: argparse.Namespace, out: TextIO) -> int:
    from conformance.formats import xsd_text
    from conformance.spec import diff_json, diff_packs, load_pack, pack_json, render_diff_text, render_pack_text

    if args.spec_command == "show":
        pack = load_pack(args.version, args.override)
        out.write(json.dumps(pack_json(pack), indent=2) + "\n" if args.format == "json" else render_pack_text(pack))
    elif args.spec_command == "diff":
        old, new = load_pack(args.old, args.override), load_pack(args.new, args.override)
        diff = diff_packs(old, new)
        out.write(
            json.dumps(diff_json(diff), indent=2) + "\n" if args.format == "json" else render_diff_text(diff, old, new)
        )
    else:
        out.write(xsd_text(load_pack(args.version, args.override)))
    return EXIT_OK
