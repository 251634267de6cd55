"""Tell a file's DIDS version and layout from its first bytes, or say clearly why not."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from conformance.formats._model import FileProblem
from conformance.spec import Pack, load_pack

SNIFF_BYTES = 64 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}
# Skip the XML declaration, processing instructions and comments; stop at a DOCTYPE or the first start tag.
_XML_PROLOG_ITEM = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.S)
# Possessive (*+): a name with no ">" after it fails at once; backtracking into it took ~40 s on a 64 KiB
# run of name characters, and could never find a different match.
_START_TAG = re.compile(rb"<([A-Za-z_][\w.\-]*+)(?::([A-Za-z_][\w.\-]*+))?([^>]*+)>", re.S)
_XMLNS = re.compile(rb"""xmlns(?::([\w.\-]+))?\s*=\s*["']([^"']*)["']""")
# A tolerated header must match at least this share of a version's column names.
_HEADER_MATCH = 0.5


@dataclass
class Detection:
    """What the first bytes say: version and format when known, plus the problems seen (fatal ones stop reading)."""

    version: str | None
    format: str | None
    header: bool = False
    bom: bool = False
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def fatal(self) -> FileProblem | None:
        return next((p for p in self.problems if p.fatal), None)


def _packs(packs: dict[str, Pack] | None) -> dict[str, Pack]:
    return packs if packs is not None else {v: load_pack(v) for v in ("v1", "v2")}


def detect(
    path: str | Path,
    *,
    version: str | None = None,
    format: str | None = None,
    packs: dict[str, Pack] | None = None,
) -> Detection:
    """Sniff `path`. `version` or `format` given by the caller win over what the content suggests, but a clash
    between them and the content is reported."""
    from conformance.files import require_file

    with open(require_file(path), "rb") as f:
        head = f.read(SNIFF_BYTES)
    return detect_bytes(head, version=version, format=format, packs=packs)


def detect_bytes(
    head: bytes,
    *,
    version: str | None = None,
    format: str | None = None,
    packs: dict[str, Pack] | None = None,
) -> Detection:
    det = Detection(version=None, format=None)

    def fail(kind: str, message: str, line: int | None = None) -> Detection:
        det.problems.append(FileProblem(kind, message, line=line, fatal=True))
        det.version, det.format = version, format
        return det

    if not head.strip():
        return fail("empty-file", "the file is empty" if not head else "the file holds only white space")
    for bom, name in _WIDE_BOMS.items():
        if head.startswith(bom):
            return fail("encoding", f"the file is encoded as {name}; DIDS files are read as UTF-8", line=1)
    if head.startswith(_UTF8_BOM):
        det.bom = True
        det.problems.append(FileProblem("bom", "the file starts with a UTF-8 byte-order mark; it is ignored", line=1))
        head = head[len(_UTF8_BOM) :]
    if b"\x00" in head:
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        return fail("binary-content", "the file holds NUL bytes: it is binary, not a DIDS text file", line=line)
    controls = sum(1 for b in head if b < 0x20 and b not in (0x09, 0x0A, 0x0D))
    if controls > max(8, len(head) // 100):
        return fail("binary-content", f"{controls} control bytes in the first {len(head)} bytes: not a text file")

    looks_xml = head.lstrip().startswith(b"<")
    if format is None:
        format = "xml" if looks_xml else "csv"
    elif format == "csv" and looks_xml:
        return fail("not-dids", "asked to read CSV, but the file is XML")
    elif format == "xml" and not looks_xml:
        return fail("not-dids", "asked to read XML, but the file does not start with an XML tag")
    det.format = format
    all_packs = _packs(packs)
    return _detect_xml(head, det, version, all_packs) if format == "xml" else _detect_csv(head, det, version, all_packs)


def _detect_xml(head: bytes, det: Detection, version: str | None, packs: dict[str, Pack]) -> Detection:
    pos = 0
    while m := _XML_PROLOG_ITEM.match(head, pos):
        pos = m.end()
    rest = head[pos:].lstrip()
    line = head.count(b"\n", 0, len(head) - len(rest)) + 1
    if rest.startswith(b"<!DOCTYPE") or rest.startswith(b"<!ENTITY"):
        det.problems.append(
            FileProblem(
                "xml-dtd",
                "the XML declares a DOCTYPE; DTDs and entities are refused for safety",
                line=line,
                fatal=True,
            )
        )
        det.version = version
        return det
    tag = _START_TAG.match(rest)
    if tag is None:
        det.problems.append(
            FileProblem(
                "not-dids",
                f"no root element in the first {SNIFF_BYTES // 1024} KiB of the XML",
                line=line,
                fatal=True,
            )
        )
        det.version = version
        return det
    prefix, local = (tag.group(1), tag.group(2)) if tag.group(2) else (None, tag.group(1))
    # Names match ASCII-only patterns; a namespace is any bytes between quotes, so it may not be UTF-8 at all.
    namespaces = {(p.decode() if p else None): ns for p, ns in _XMLNS.findall(tag.group(3))}
    raw_namespace = namespaces.get(prefix.decode() if prefix else None)
    namespace = _text(raw_namespace) if raw_namespace is not None else None
    by_namespace = {p.xml.namespace: v for v, p in packs.items()}
    found = by_namespace.get(namespace or "")
    root_name = local.decode()
    if root_name != "DIDS" or found is None:
        expected = " or ".join(sorted(by_namespace))
        what = f"<{root_name}> in namespace {namespace!r}" if namespace else f"<{root_name}> with no namespace"
        if raw_namespace and not _is_utf8(raw_namespace):
            what += " (not valid UTF-8)"
        det.problems.append(
            FileProblem(
                "not-dids",
                f"the root element is {what}; DIDS files have <DIDS> in {expected}",
                line=line,
                fatal=True,
            )
        )
        det.version = version
        return det
    if version is not None and version != found:
        det.problems.append(
            FileProblem(
                "version-mismatch",
                f"asked to read DIDS {version}, but the XML namespace is DIDS {found}",
                line=line,
                fatal=True,
            )
        )
        det.version = version
        return det
    det.version = found
    return det


def _detect_csv(head: bytes, det: Detection, version: str | None, packs: dict[str, Pack]) -> Detection:
    fields = _first_row(head)
    names = {f.strip().upper() for f in fields}
    header_for = {}
    for v, pack in packs.items():
        columns = {c.upper() for c in pack.columns}
        share = len(names & columns) / len(columns)
        if share >= _HEADER_MATCH:
            header_for[v] = share
    if header_for:
        found = max(header_for, key=lambda v: header_for[v])
        if len(header_for) > 1 and header_for["v1"] == header_for["v2"]:
            return _csv_fail(det, "ambiguous", "the header row names columns of both DIDS v1 and v2", version)
        if version is not None and version != found:
            return _csv_fail(
                det,
                "version-mismatch",
                f"asked to read DIDS {version}, but the header row names DIDS {found} columns",
                version,
            )
        det.version, det.header = found, True
        return det
    if version is not None:
        pack = packs[version]
        if pack.csv.header:
            like = [v for v, p in packs.items() if v != version and len(fields) == len(p.items)]
            if like and len(fields) != len(pack.items):
                return _csv_fail(
                    det,
                    "version-mismatch",
                    f"asked to read DIDS {version}, but the first row has {len(fields)} fields and no "
                    f"header, as in DIDS {like[0]}",
                    version,
                )
            det.problems.append(
                FileProblem(
                    "missing-header",
                    f"DIDS {version} CSV starts with a header row; this "
                    "file has none, so columns are read in the layout's order",
                    line=1,
                )
            )
        det.version = version
        return det
    n_v1, n_v2 = len(packs["v1"].items), len(packs["v2"].items)
    if len(fields) == n_v2:
        return _csv_fail(
            det,
            "ambiguous",
            f"the first row has {n_v2} fields and no header: DIDS v2 CSV needs a header row, "
            f"DIDS v1 has {n_v1} fields; say which with --version",
            None,
        )
    # Headerless CSV is v1; a row a few fields short or long is still a v1 file with a column-count problem.
    if abs(len(fields) - n_v1) <= 3:
        det.version = "v1"
        return det
    return _csv_fail(
        det,
        "not-dids",
        f"the first row has {len(fields)} field(s) and no DIDS header: DIDS v1 CSV has {n_v1} fields, "
        f"DIDS v2 CSV starts with a header row",
        None,
    )


def _first_row(head: bytes) -> list[str]:
    """The first CSV row of the sniffed bytes (blank lines before it skipped, as the reader skips them),
    honouring quoted fields that span lines."""
    text = _text(head).lstrip("\r\n")
    try:
        row = next((r for r in csv.reader(io.StringIO(text, newline="")) if r), None)
    except csv.Error:
        row = None
    if row is None or (len(row) == 1 and "\n" in text and len(text) >= SNIFF_BYTES - 2):
        # The first row outruns the sniffed bytes or cannot be parsed: judge by its first physical line.
        line = text.splitlines()[0] if text else ""
        try:
            row = next(csv.reader([line]), [])
        except csv.Error:  # a field over csv's size limit (a head longer than SNIFF_BYTES): count the commas
            row = line.split(",")
    return row


def _text(raw: bytes) -> str:
    """Bytes of the head as text: UTF-8, any byte that is not UTF-8 read as U+FFFD (as the readers do)."""
    return raw.decode("utf-8", errors="replace")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _csv_fail(det: Detection, kind: str, message: str, version: str | None) -> Detection:
    det.problems.append(FileProblem(kind, message, line=1, fatal=True))
    det.version = version
    return det
