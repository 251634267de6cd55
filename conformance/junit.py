"""JUnit XML, the report CI systems read: one writer for `dids check` and `dids certify`.

Every text goes through conformance.markup, so a value holding a control character can never make the report
unreadable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.markup import xml_attr, xml_text

OUTCOMES = ("passed", "failure", "error", "skipped")


@dataclass(frozen=True, slots=True)
class TestCase:
    """One test case: `outcome` is one of OUTCOMES; `text` is the failure's or error's body, or what a passing
    case printed (system-out); `kind` the failure's type."""

    __test__ = False  # not a pytest test class, whatever its name

    classname: str
    name: str
    outcome: str = "passed"
    message: str = ""
    text: str = ""
    kind: str | None = None

    def xml(self) -> str:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown test outcome {self.outcome!r}")
        if self.outcome == "skipped":
            body = f"<skipped message={xml_attr(self.message)}/>"
        elif self.outcome in ("failure", "error"):
            kind = f" type={xml_attr(self.kind)}" if self.kind else ""
            body = f"<{self.outcome} message={xml_attr(self.message)}{kind}>{xml_text(self.text)}</{self.outcome}>"
        else:
            body = f"<system-out>{xml_text(self.text)}</system-out>" if self.text else ""
        return f"    <testcase classname={xml_attr(self.classname)} name={xml_attr(self.name)}>{body}</testcase>"


def junit_xml(
    cases: Sequence[TestCase], *, suite: str, name: str | None = None, properties: dict[str, str] | None = None
) -> str:
    """One <testsuite> of `cases` inside <testsuites> (named `name` when given), with the counts CI reads and the
    suite's `properties` (such as the reference release a check used)."""
    counts = Counter(case.outcome for case in cases)
    totals = (
        f'tests="{len(cases)}" failures="{counts["failure"]}" errors="{counts["error"]}" skipped="{counts["skipped"]}"'
    )
    named = f" name={xml_attr(name)}" if name else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<testsuites{named} {totals}>\n"
        f"  <testsuite name={xml_attr(suite)} {totals}>\n"
        + _properties(properties or {})
        + "".join(case.xml() + "\n" for case in cases)
        + "  </testsuite>\n</testsuites>\n"
    )


def _properties(properties: dict[str, str]) -> str:
    if not properties:
        return ""
    rows = "".join(f"      <property name={xml_attr(k)} value={xml_attr(v)}/>\n" for k, v in properties.items())
    return f"    <properties>\n{rows}    </properties>\n"
