"""Reports people look at: the HTML check report and `dids stats` (every rule with findings and every chart
present, nothing fetched or run), and the text report's parity with the JSON (window dates, both sides of a
comparison, the user's column or XML path), aligned whatever the rule label."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from lxml import html

from conformance.cli import run
from generators.generate import generate
from generators.mutations import every_mutable_rule
from generators.stats_html import CHART_IDS

SUBMITTED = "2026-12-10T09:00"  # after the April 2026 window closed: the window rule has a finding to show
CHECK = ["--period", "2026-04", "--submitted", SUBMITTED, "--reference", "synthetic"]


def dids(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return run(list(argv), out, err), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def mutant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conformance.calendar import parse_period

    path = tmp_path_factory.mktemp("mutant") / "mutant.xml"
    rules = every_mutable_rule("v2", "xml", parse_period("2026-04"))
    generate(path, profile="v2", format="xml", records=400, seed=5, mutate=rules)
    return path


def report_json(path: Path) -> dict[str, object]:
    _, out, _ = dids("check", str(path), *CHECK, "--format", "json", "--max-examples", "1000")
    data: dict[str, object] = json.loads(out)
    return data


def test_html_check_report_has_every_rule_with_findings_and_every_chart(mutant: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    code, out, _ = dids("check", str(mutant), *CHECK, "--format", "html", "-o", str(target))
    assert code == 1 and "rejected" in out
    page = html.fromstring(target.read_bytes())
    counts = {r["rule"]: r["count"] for r in report_json(mutant)["rules"]}  # type: ignore[index, union-attr]
    assert len(counts) > 40  # the mutant breaks every rule one file can break
    for rule, count in counts.items():
        [row] = page.xpath(f"//tr[@id='rule-{rule}']")
        assert row.xpath("string(td[4])") == f"{count:,}"
        assert page.xpath(f"//h3[@id='examples-{rule}']"), rule
    for chart in ("chart-findings", *CHART_IDS):
        [figure] = page.xpath(f"//figure[@id='{chart}']")
        assert figure.xpath(".//svg") or chart in ("chart-hours", "chart-offsets")
    assert page.xpath("string(//div[contains(@class, 'verdict')])") == "REJECTED"


def test_html_report_is_self_contained_and_shows_control_characters_as_escapes(tmp_path: Path) -> None:
    month = tmp_path / "month.csv"
    generate(month, profile="v2", records=30, seed=2, period=__import__("datetime").date(2026, 4, 1))
    lines = month.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace("X9T", "X9\x01T", 1)
    month.write_text("".join(lines), encoding="utf-8")
    code, text, _ = dids("check", str(month), *CHECK, "--format", "html")
    assert code == 1
    assert "\x01" not in text and "\\u0001" in text
    page = html.fromstring(text.encode())
    assert not page.xpath("//script | //link | //iframe | //img | //object")
    external = [a for a in page.xpath("//@src | //@href") if not str(a).startswith("#")]
    assert external == []


def test_text_report_carries_what_the_json_keeps(mutant: Path) -> None:
    data = report_json(mutant)
    _, text, _ = dids("check", str(mutant), *CHECK)
    context = data["context"]
    assert isinstance(context, dict)
    assert f"window {context['window_opens']} to {context['window_closes']}" in text
    findings = data["findings"]
    assert isinstance(findings, list)
    shown: dict[str, int] = {}
    for finding in findings:  # the first three of each rule are shown in the text, each with its location
        shown[finding["rule"]] = shown.get(finding["rule"], 0) + 1
        if shown[finding["rule"]] > 3 or finding["record"] is None:
            continue
        line = next(x for x in text.splitlines() if x.strip().startswith(f"record {finding['record']}, line"))
        assert line
        assert f"{finding['location']} = {finding['value']!r}" in text, finding
    [order] = [f for f in findings if f["rule"] == "V2P-RECEIVED-BEFORE-REQUEST"]
    # both sides of the comparison, each with its time
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d is before \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", order["message"])
    assert order["message"].split("(")[-1].rstrip(")") in text
    assert order["location"].startswith("/DIDS/DIDSRecord[") and order["location"].endswith(
        "/Referrals/DiagnosticTestReqRecDate"
    )
    [closed] = [f for f in findings if f["rule"] == "V2P-WINDOW-CLOSED"]
    assert context["window_closes"] in closed["message"] and context["window_closes"] in text


def test_text_report_columns_line_up_whatever_the_rule_label(mutant: Path) -> None:
    _, text, _ = dids("check", str(mutant), *CHECK)
    rule_lines = [x for x in text.splitlines() if re.match(r"  \S", x) and re.search(r"(file|record)-reject|warn", x)]
    assert len(rule_lines) > 40
    columns = {re.search(r"(file-reject|record-reject|warning) ", x).start() for x in rule_lines}  # type: ignore[union-attr]
    assert len(columns) == 1


def test_csv_findings_name_the_users_column(tmp_path: Path) -> None:
    month = tmp_path / "month.csv"
    generate(month, profile="v2", records=50, seed=3, mutate=["V2P-ETHNIC-CATEGORY"])
    _, text, _ = dids("check", str(month), *CHECK, "--format", "json")
    [finding] = [f for f in json.loads(text)["findings"] if f["rule"] == "V2P-ETHNIC-CATEGORY"]
    assert (finding["field"], finding["location"]) == ("ethnic_category", "ETHNIC_CATEGORY")


# ----- dids stats -------------------------------------------------------------------------------------------


def test_stats_formats_cover_every_item_and_the_ledger(mutant: Path, tmp_path: Path) -> None:
    from conformance.spec import load_pack

    code, out, _ = dids("stats", str(mutant), "--format", "json")
    data = json.loads(out)
    assert code == 1  # the mutant's XML has a structure problem: the ledger says so and the exit code follows
    assert [r["column"] for r in data["items"]] == list(load_pack("v2").columns)
    assert data["input"]["records_read"] == data["records"] == 400
    assert data["input"]["problems"]
    assert sum(data["days"].values()) > 0 and set(data["offsets"]) >= {"+01:00"}
    target = tmp_path / "stats.html"
    dids("stats", str(mutant), "--format", "html", "-o", str(target))
    page = html.fromstring(target.read_bytes())
    for chart in CHART_IDS:
        assert page.xpath(f"//figure[@id='{chart}']//svg"), chart


def test_stats_of_an_upgraded_v1_month_shows_every_procedure_at_midday(tmp_path: Path) -> None:
    v1, up = tmp_path / "v1.csv", tmp_path / "up.csv"
    generate(v1, profile="v1-dsp", records=200, seed=4, period=__import__("datetime").date(2026, 5, 1))
    code, _, _ = dids("upgrade", str(v1), "-o", str(up), "--no-check")
    assert code == 0
    _, out, _ = dids("stats", str(up), "--format", "json")
    data = json.loads(out)
    assert data["hours"] == {"12": 200}
    _, v1_out, _ = dids("stats", str(v1), "--format", "json")
    v1_data = json.loads(v1_out)
    assert v1_data["hours"] == {} and v1_data["offsets"] == {}
    assert [r["item"] for r in v1_data["items"]][:2] == ["nhs_number", "nhs_number_status"]
