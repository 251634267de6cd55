"""dids certify: our checker certifies at 100% on every profile; deliberately broken validators fail exactly the
cases and rules they should; adapters, expected failures, reports, the CLI's exit codes, and the pytest plugin."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from lxml import etree, html

from conformance.certify import (
    CallableValidator,
    CommandValidator,
    ExpectedFailure,
    Outcome,
    certify,
    load_corpus,
    read_output,
    to_html,
    to_json,
    to_junit,
)
from conformance.check import CannotCheck, check, load_reference, make_context
from conformance.check.reference import load_local_mappings
from conformance.cli import run

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "corpus"
PEER_DQ = ROOT / "fixtures/peer/nhse-dsp-dids-v1/csv/00004_dq_errors/dq.xml"
TODAY = date(2026, 11, 23)


def ours(profile: str, drop: set[str] = frozenset(), always: str | None = None):  # type: ignore[no-untyped-def,assignment]
    """Our checker as a Python validator; `drop` makes it blind to some rules, `always` fixes its verdict."""

    def validate(path: Path, context: dict[str, str]) -> Outcome:
        if always is not None:
            return Outcome(always)
        reference = load_reference(context["reference"])
        if "local_mappings" in context:
            reference = replace(reference, local_nicip=load_local_mappings(context["local_mappings"]))
        when = make_context(context["submitted"], context.get("period"), context.get("submitter"))
        try:
            report = check(path, profile=profile, context=when, reference=reference, max_examples=1_000_000)
        except CannotCheck:  # unreadable: our checker refuses it (the CLI's exit 2)
            return Outcome("unreadable")
        findings = frozenset((f.rule, f.record) for f in report.findings if f.rule not in drop)
        severe = any(report.rules[r].severity != "warning" for r, _ in findings)
        return Outcome("rejected" if severe else "accepted", findings)

    return CallableValidator(validate, f"ours-{profile}")


def failing(cert) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.case.id: r.category for r in cert.results if r.status != "pass"}


@pytest.mark.parametrize("profile", ["v1-dsp", "v1-portal", "v2"])
def test_our_checker_certifies_at_100_percent(profile: str) -> None:
    corpus = load_corpus(CORPUS, profile)
    cert = certify(corpus, ours(profile), description="ours", today=TODAY)
    assert failing(cert) == {}
    assert cert.passed
    assert sum(cert.counts.values()) == len(corpus.cases)
    assert all(c.get("missed", 0) == 0 and c.get("spurious", 0) == 0 for c in cert.per_rule().values())


def test_our_cli_certifies_through_the_command_adapter() -> None:
    """The issue's acceptance command, on the window and v2-start cases (the whole corpus runs in the demo)."""
    command = (
        f"{sys.executable} -m conformance.cli check {{file}} --profile v2 --submitted {{submitted}} "
        "--period {period} --reference {reference} --format json"
    )
    out = io.StringIO()
    argv = ["certify", "--profile", "v2", "--validator", command, "--adapter", "json", "--tag", "window"]
    assert run([*argv, "--tag", "v2-start", "--tag", "unreadable", "--date", "2026-11-23"], out, io.StringIO()) == 0
    assert "RESULT: CERTIFIED" in out.getvalue()
    assert "correct-reject: " in out.getvalue()


def test_a_validator_that_ignores_the_submission_window() -> None:
    corpus = load_corpus(CORPUS, "v2")
    cert = certify(corpus, ours("v2", drop={"V2P-WINDOW-CLOSED", "V2P-WINDOW-NOT-OPEN"}), description="x", today=TODAY)
    assert failing(cert) == {
        "break-V2P-WINDOW-CLOSED-csv": "false-accept",
        "break-V2P-WINDOW-NOT-OPEN-csv": "false-accept",
        "window-6-months-closed-csv": "false-accept",
        "window-3-months-closed-csv": "false-accept",
        "window-not-open-csv": "false-accept",
    }
    per_rule = cert.per_rule()
    assert per_rule["V2P-WINDOW-CLOSED"]["missed"] == 3 and per_rule["V2P-WINDOW-NOT-OPEN"]["missed"] == 2
    assert not cert.passed


def test_a_validator_that_accepts_local_codes() -> None:
    corpus = load_corpus(CORPUS, "v2")
    blind = ours("v2", drop={"DIDS00300302"})
    cert = certify(corpus, blind, description="x", today=TODAY, level="exact")
    expected = {c.id for c in corpus.cases if "DIDS00300302" in c.rules}
    assert set(failing(cert)) == expected
    assert {"break-DIDS00300302-csv", "break-DIDS00300302-xml", "all-rules-csv", "all-rules-xml"} <= expected
    assert failing(cert)["break-DIDS00300302-csv"] == "false-accept"  # the local code was its only fault
    assert failing(cert)["break-V2P-NICIP-FORMAT-csv"] == "wrong-reason"
    assert cert.per_rule()["DIDS00300302"] == {"missed": len(expected)}
    # At the official level a file the validator refuses whole (layout, schema) is met whatever follows.
    official = certify(corpus, blind, description="x", today=TODAY, level="official")
    assert set(failing(official)) == {c.id for c in corpus.cases if c.id in expected and not c.file_reject}
    assert "all-rules-csv" not in failing(official) and "break-V2P-NICIP-FORMAT-csv" in failing(official)


@pytest.mark.parametrize("profile", ["v1-dsp", "v2"])
def test_a_validator_that_always_says_accepted(profile: str) -> None:
    corpus = load_corpus(CORPUS, profile)
    cert = certify(corpus, ours(profile, always="accepted"), description="x", today=TODAY)
    refused = {c.id for c in corpus.cases if c.verdict in ("rejected", "unreadable")}
    assert failing(cert) == dict.fromkeys(refused, "false-accept")
    assert cert.counts["correct-accept"] == len(corpus.cases) - len(refused)


def test_expected_failures_waive_until_they_expire_and_report_what_now_passes() -> None:
    corpus = load_corpus(CORPUS, "v2")
    blind = ours("v2", drop={"V2P-WINDOW-CLOSED", "V2P-WINDOW-NOT-OPEN"})
    waivers = [
        ExpectedFailure(None, "V2P-WINDOW-CLOSED", "window rules not built yet", date(2027, 1, 31)),
        ExpectedFailure("break-V2P-WINDOW-NOT-OPEN-csv", None, "same", None),
        ExpectedFailure("window-not-open-csv", None, "same, but the waiver has run out", date(2026, 11, 1)),
        ExpectedFailure("clean-csv", None, "a stale waiver", None),
    ]
    cert = certify(corpus, blind, description="x", expected_failures=waivers, today=TODAY)
    status = {r.case.id: r.status for r in cert.results if r.status != "pass"}
    assert status == {
        "break-V2P-WINDOW-CLOSED-csv": "expected-failure",
        "window-6-months-closed-csv": "expected-failure",
        "window-3-months-closed-csv": "expected-failure",
        "break-V2P-WINDOW-NOT-OPEN-csv": "expected-failure",
        "window-not-open-csv": "expired-expected-failure",
        "clean-csv": "unexpected-pass",
    }
    assert not cert.passed  # the expired waiver fails
    waivers[2] = ExpectedFailure("window-not-open-csv", None, "renewed", date(2027, 1, 31))
    assert certify(corpus, blind, description="x", expected_failures=waivers, today=TODAY).passed


def test_reports_json_junit_and_a_self_contained_html_certificate() -> None:
    corpus = load_corpus(CORPUS, "v2")
    cert = certify(corpus, ours("v2", drop={"DIDS00300302"}), description="vendor X 4.2", today=TODAY)
    data = json.loads(to_json(cert))
    assert data["corpus"]["sha256"] == corpus.sha256 and len(corpus.sha256) == 64
    # Without DIDS00300302 it accepts break-DIDS00300302 and code-not-yet-valid-nicip, in CSV and XML.
    assert data["certified"] is False and data["counts"]["false-accept"] == 4
    junit = etree.fromstring(to_junit(cert).encode())
    suite = junit.find("testsuite")
    assert suite is not None and int(suite.get("tests", "0")) == len(corpus.cases)
    assert int(suite.get("failures", "0")) == len(failing(cert))
    page = to_html(cert)
    tree = html.fromstring(page)
    assert tree.xpath("//script") == [] and tree.xpath("//link") == [] and tree.xpath("//img") == []
    assert not [a for a in tree.xpath("//@href | //@src") if a]
    assert "http" not in page.lower().replace("https://json-schema", "")
    assert corpus.sha256 in page and "NOT CERTIFIED" in page and "vendor X 4.2" in page


def test_adapters_read_each_shape() -> None:
    assert read_output("exit", 0, b"", b"") == Outcome("accepted")
    assert read_output("exit", 1, b"", b"") == Outcome("rejected")
    assert read_output("exit", 2, b"", b"dids: error: unreadable\n").verdict == "unreadable"
    assert read_output("exit", 3, b"", b"").verdict == "error"
    assert read_output("exit", -11, b"", b"").verdict == "error"  # killed by SIGSEGV
    dq = read_output("dq-xml", 1, PEER_DQ.read_bytes(), b"")
    assert dq.verdict == "rejected" and ("DIDS066", 1) in (dq.findings or set())
    junit = (
        b'<testsuites><testsuite><testcase name="DIDS001 x"><failure/></testcase>'
        b'<testcase name="DIDS002 y"/></testsuite></testsuites>'
    )
    assert read_output("junit", 1, junit, b"") == Outcome(
        "rejected", frozenset({("DIDS001", None)}), records_visible=False
    )
    assert read_output("json", 1, b"not json", b"").verdict == "error"
    hostile = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><ROWS>&x;</ROWS>'
    assert read_output("dq-xml", 1, hostile, b"").verdict == "error"


def test_command_validators_report_timeouts_and_missing_programs_as_errors(tmp_path: Path) -> None:
    corpus = load_corpus(CORPUS, "v2")
    case = next(c for c in corpus.cases if c.id == "clean-csv")
    slow = CommandValidator(f"{sys.executable} -c 'import time; time.sleep(5)' {{file}}", "exit", timeout=0.5)
    assert slow(case, "v2").verdict == "error" and "timed out" in slow(case, "v2").detail
    missing = CommandValidator("/no/such/validator {file}", "exit")
    assert missing(case, "v2").verdict == "error"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--validator", "x {nope}"], "unknown placeholder {nope}"),
        (["--validator", "x {file}", "--corpus", "/no/corpus"], "no usable corpus"),
        (["--validator", "x {file}", "--case", "no-such-case"], "no cases selected"),
        (["--validator", "x 'unclosed"], "cannot split"),
    ],
)
def test_certify_cannot_run_is_exit_2_with_one_line(argv: list[str], message: str) -> None:
    err = io.StringIO()
    assert run(["certify", "--profile", "v2", *argv], io.StringIO(), err) == 2
    assert message in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1


def test_a_failing_validator_exits_1_and_writes_the_certificate(tmp_path: Path) -> None:
    out, page = io.StringIO(), tmp_path / "certificate.html"
    argv = ["certify", "--profile", "v2", "--validator", "false {file}", "--tag", "window", "--format", "html"]
    assert run([*argv, "-o", str(page)], out, io.StringIO()) == 1
    assert "NOT CERTIFIED" in page.read_text(encoding="utf-8")
    assert "false-reject" in out.getvalue()


pytest_plugins = ["pytester"]


def test_the_pytest_plugin_runs_one_test_per_case(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from conformance.check import CannotCheck, check, load_reference, make_context

        def test_vendor(dids_case):
            context = dids_case.context
            try:
                report = check(dids_case.file, profile="v2", reference=load_reference(context["reference"]),
                               context=make_context(context["submitted"], context.get("period")))
            except Exception:
                dids_case.expect("unreadable")
                return
            dids_case.expect(report.verdict, {(f.rule, f.record) for f in report.findings})

        def test_blind_vendor(dids_case):
            dids_case.expect("accepted", set())
        """
    )
    result = pytester.runpytest(f"--dids-corpus={CORPUS}", "--dids-profile=v2", "--dids-tag=window", "-q")
    windows = [c for c in load_corpus(CORPUS, "v2").cases if "window" in c.tags]
    refused = [c for c in windows if c.verdict != "accepted"]
    result.assert_outcomes(passed=len(windows) + len(windows) - len(refused), failed=len(refused))


def test_the_plugin_says_where_the_corpus_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_vendor(dids_case):\n    pass\n")
    result = pytester.runpytest("--dids-corpus=/no/such/corpus")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error: nothing runs
    result.stdout.fnmatch_lines(["*no DIDS corpus at /no/such/corpus: pass --dids-corpus DIR*"])
