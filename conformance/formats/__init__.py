"""Reading and writing DIDS files: v1 and v2, CSV and XML, one record at a time.

`open_submission(path)` sniffs the version and layout, then streams `Record`s; everything wrong with the file
itself (encoding, layout, XML syntax, schema) lands in `submission.problems` with its line, never as an exception.
`write_records(records, path, pack=..., format=...)` writes the same four layouts byte-deterministically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.lazy import lazy_exports

if TYPE_CHECKING:
    from conformance.formats._constants import DEFAULT_MAX_RECORD_BYTES, FORMATS
    from conformance.formats._csv import PlainRows, Span, SpanEnd, read_csv, write_csv
    from conformance.formats._detect import Detection, detect, detect_bytes
    from conformance.formats._inspect import Inspection, inspect
    from conformance.formats._model import (
        NOTE_KINDS,
        PROBLEM_KINDS,
        FileProblem,
        Ledger,
        ProblemLog,
        Record,
    )
    from conformance.formats._submission import Submission, open_submission, write_records
    from conformance.formats._xml import XmlRecords, read_xml, write_xml
    from conformance.formats._xsd import xml_schema, xsd_text

# Each module and the public names it defines, imported on first use (conformance/lazy.py): a CSV check never
# imports the XML reader or lxml.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "_constants": ("DEFAULT_MAX_RECORD_BYTES", "FORMATS"),
        "_csv": ("PlainRows", "Span", "SpanEnd", "read_csv", "write_csv"),
        "_detect": ("Detection", "detect", "detect_bytes"),
        "_inspect": ("Inspection", "inspect"),
        "_model": (
            "NOTE_KINDS",
            "PROBLEM_KINDS",
            "FileProblem",
            "Ledger",
            "ProblemLog",
            "Record",
        ),
        "_submission": ("Submission", "open_submission", "write_records"),
        "_xml": ("XmlRecords", "read_xml", "write_xml"),
        "_xsd": ("xml_schema", "xsd_text"),
    },
)

__all__ = [
    "DEFAULT_MAX_RECORD_BYTES",
    "FORMATS",
    "NOTE_KINDS",
    "PROBLEM_KINDS",
    "Detection",
    "FileProblem",
    "Inspection",
    "Ledger",
    "PlainRows",
    "ProblemLog",
    "Record",
    "Span",
    "SpanEnd",
    "Submission",
    "XmlRecords",
    "detect",
    "detect_bytes",
    "inspect",
    "open_submission",
    "read_csv",
    "read_xml",
    "write_csv",
    "write_records",
    "write_xml",
    "xml_schema",
    "xsd_text",
]
