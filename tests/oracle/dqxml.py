"""The DSP's findings written as NHS England's DQ XML (the shape of the peer's `dq.xml`: ROWS / ROW with
ROW_INDEX from 0, CODE, TYPE), which `dids certify --adapter dq-xml` reads. Pure Python."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

Finding = tuple[str, int | None, str]  # (code, record from 1 or None for the file, error | warning)


def render(findings: Iterable[Finding]) -> bytes:
    """Findings in a stable order (file rejects first, then by record and code)."""
    root = etree.Element("ROWS")
    for code, record, severity in sorted(findings, key=lambda f: (f[1] is not None, f[1] or 0, f[0], f[2])):
        row = etree.SubElement(root, "ROW")
        etree.SubElement(row, "ROW_INDEX").text = "" if record is None else str(record - 1)
        etree.SubElement(row, "CODE").text = code
        etree.SubElement(row, "TYPE").text = severity
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)  # type: ignore[no-any-return]
