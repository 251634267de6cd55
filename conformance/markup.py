"""Text that must travel in XML or HTML: one place that knows which characters cannot, and what to do with them.

XML 1.0 cannot carry most C0 control characters (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F), U+FFFE, U+FFFF or
lone surrogates, not even escaped as character references. A data writer refuses a value holding one (the caller
reports the record); a report shows it as a visible escape (`\\u0001`), so a control character in a submitted value
can never make a JUnit, HTML or XML report unreadable, nor reach a terminal as a raw escape sequence.
"""

from __future__ import annotations

import re

NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# What a report shows as an escape: the characters XML cannot carry, plus DEL and the C1 controls, which a
# terminal may act on.
_NOT_SHOWN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def has_control(text: str) -> bool:
    """True when `text` holds a character XML 1.0 cannot carry."""
    return NOT_XML.search(text) is not None


def visible(text: str) -> str:
    """`text` with every control character shown as an escape (`\\u0001`), so it prints and travels safely."""
    if _NOT_SHOWN.search(text) is None:
        return text
    return _NOT_SHOWN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def xml_escape(text: str) -> str:
    """`text` with &, < and > escaped, as `xml.sax.saxutils.escape` does (that module imports urllib.request,
    ~30 ms of start-up for every command that writes XML or an XSD)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def xml_quoted(text: str) -> str:
    """`text` escaped and quoted as an attribute value, as `xml.sax.saxutils.quoteattr` does."""
    data = xml_escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in data:
        return f'"{data}"'
    if "'" not in data:
        return f"'{data}'"
    return '"' + data.replace('"', "&quot;") + '"'


def xml_text(text: str) -> str:
    """Element content for a report: escaped, control characters made visible."""
    return xml_escape(visible(text))


def xml_attr(text: str) -> str:
    """A quoted attribute value for a report: escaped, control characters made visible."""
    return xml_quoted(visible(text))


def html_text(text: str) -> str:
    """HTML text for a report: escaped, control characters made visible."""
    import html  # only the HTML reports need it (its entity table costs every command ~2 ms)

    return html.escape(visible(text))
