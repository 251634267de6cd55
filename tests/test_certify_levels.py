"""Certifying someone else's validator fairly: scoring levels, one required finding per fault, file rejects, rule
maps, validator files, the installed corpus, --baseline gating and the certificate's likely causes."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from lxml import html

from conformance.certify import (
    CallableValidator,
    CertifyError,
    CommandValidator,
    Outcome,
    RuleMap,
    bundled_corpus,
    certify,
    compare,
    load_corpus,
    load_rule_map,
    load_validator_file,
    score_case,
    to_html,
    to_json,
)
from conformance.check import CannotCheck, check, load_reference, make_context
from conformance.check.reference import load_local_mappings
from conformance.cli import run

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "corpus"
TODAY = date(2026, 11, 23)
# A vendor's own codes for the three published v2.0 codes.
VENDOR_CODES = {"DIDS00300302": "VX-101", "DIDS00300402": "VX-102", "DIDSREJ012": "VX-212"}


def ours_as(profile: str, rename: dict[str, str], *, provisional: bool, file_level_only: bool = False):  # type: ignore[no-untyped-def]
    """Our checker behind another face: official codes renamed, provisional ids dropped unless `provisional`, and
    with `file_level_only` (the DSP's habit) nothing but the file-level finding when the file is refused whole."""
    corpus = load_corpus(CORPUS, profile)
    official = {rule for rule, code in corpus.rule_codes.items() if code is not None}

    def validate(path: Path, context: dict[str, str]) -> Outcome:
        reference = load_reference(context["reference"])
        if "local_mappings" in context:
            reference = replace(reference, local_nicip=load_local_mappings(context["local_mappings"]))
        when = make_context(context["submitted"], context.get("period"), context.get("submitter"))
        try:
            report = check(path, profile=profile, context=when, reference=reference, max_examples=1 << 30)
        except CannotCheck:
            return Outcome("unreadable", frozenset())
        said = {(f.rule, f.record) for f in report.findings if provisional or f.rule in official}
        file_level = {(rule, record) for rule, record in said if record is None}
        if file_level_only and report.verdict == "rejected" and file_level:
            said = file_level
        return Outcome(report.verdict, frozenset((rename.get(rule, rule), record) for rule, record in said))

    return CallableValidator(validate, f"vendor-{profile}")


def failing(cert) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.case.id: r.category for r in cert.results if r.status != "pass"}


def test_a_vendor_with_its_own_codes_is_certified_at_official_and_not_at_exact() -> None:
    corpus = load_corpus(CORPUS, "v2")
    vendor = ours_as("v2", VENDOR_CODES, provisional=False)
    mapping = RuleMap({code: rule for rule, code in VENDOR_CODES.items()})
    official = certify(corpus, vendor, description="vendor", today=TODAY, level="official", rule_map=mapping)
    assert failing(official) == {}
    assert official.passed
    exact = certify(corpus, vendor, description="vendor", today=TODAY, level="exact", rule_map=mapping)
    assert not exact.passed
    # Exactly the cases whose expectations name a provisional id fail at exact, for want of those ids.
    provisional = {c.id for c in corpus.cases if any(not f.required for f in c.findings)}
    assert set(failing(exact)) == provisional
    # Without the map its codes mean nothing to us: listed as unmapped, and the official codes are missing.
    unmapped = certify(corpus, vendor, description="vendor", today=TODAY, level="official")
    assert set(unmapped.unmapped()) == set(VENDOR_CODES.values())
    assert failing(unmapped)["break-DIDSREJ012-csv"] == "wrong-reason"


def test_a_local_code_in_a_malformed_shape_needs_only_the_official_code() -> None:
    case = next(c for c in load_corpus(CORPUS, "v2").cases if c.id == "break-V2P-NICIP-FORMAT-csv")
    assert case.required_pairs == {("DIDS00300302", 1)}
    assert case.pairs == {("DIDS00300302", 1), ("V2P-NICIP-FORMAT", 1)}
    codes = load_corpus(CORPUS, "v2").rule_codes
    only_official = Outcome("rejected", frozenset({("DIDS00300302", 1)}))
    assert score_case(case, only_official, level="official", rule_codes=codes).category == "correct-reject"
    assert score_case(case, only_official, level="exact", rule_codes=codes).missing == {("V2P-NICIP-FORMAT", 1)}
    wrong_record = Outcome("rejected", frozenset({("DIDS00300302", 2)}))
    result = score_case(case, wrong_record, level="official", rule_codes=codes)
    assert (result.category, result.missing, result.extra) == (
        "wrong-reason",
        {("DIDS00300302", 1)},
        {("DIDS00300302", 2)},
    )
    assert score_case(case, wrong_record, level="verdict", rule_codes=codes).category == "correct-reject"


@pytest.mark.parametrize("profile", ["v1-dsp", "v2"])
def test_a_dsp_like_validator_reporting_file_rejects_alone_is_certified_on_those_cases(profile: str) -> None:
    corpus = load_corpus(CORPUS, profile)
    dsp = ours_as(profile, {}, provisional=True, file_level_only=True)
    rejects = {c.id for c in corpus.cases if c.file_reject}
    assert any(c.verdict == "rejected" for c in corpus.cases if c.file_reject)  # malformed, not only unreadable
    official = certify(corpus, dsp, description="dsp", today=TODAY, level="official", select=lambda c: c.file_reject)
    assert failing(official) == {}
    assert {r.case.id for r in official.results if not r.control} == rejects
    exact = certify(corpus, dsp, description="dsp", today=TODAY, level="exact", select=lambda c: c.file_reject)
    malformed_with_records = {c.id for c in corpus.cases if c.file_reject and any(f.record for f in c.findings)}
    assert set(failing(exact)) == malformed_with_records


def test_rule_maps_from_csv_and_toml(tmp_path: Path) -> None:
    known = load_corpus(CORPUS, "v2").rule_codes
    csv_map = tmp_path / "codes.csv"
    csv_map.write_text("code,rule,field\nVX-101,DIDS00300302,\nVX-9,,coded_procedure_nicip\n", encoding="utf-8")
    toml_map = tmp_path / "codes.toml"
    toml_map.write_text('[codes]\n"VX-101" = "DIDS00300302"\n"VX-9" = { field = "coded_procedure_nicip" }\n')
    case = next(c for c in load_corpus(CORPUS, "v2").cases if c.id == "break-V2P-NICIP-FORMAT-csv")
    for path in (csv_map, toml_map):
        mapping = load_rule_map(path, known)
        observed, unmapped = mapping.translate(case, {("VX-101", 1), ("VX-9", 1), ("VX-77", 3)}, known)
        assert observed == {("DIDS00300302", 1), ("V2P-NICIP-FORMAT", 1)}  # the field match hits both there
        assert unmapped == {("VX-77", 3)}
    bad = tmp_path / "bad.csv"
    bad.write_text("code,rule\nVX-1,NO-SUCH-RULE\n", encoding="utf-8")
    with pytest.raises(CertifyError, match="NO-SUCH-RULE"):
        load_rule_map(bad, known)
    err = io.StringIO()
    argv = ["certify", "--profile", "v2", "--validator", "x {file}", "--rule-map", str(bad)]
    assert run(argv, io.StringIO(), err) == 2 and len(err.getvalue().strip().splitlines()) == 1


def test_optional_argument_groups_and_list_commands_keep_every_character() -> None:
    corpus = load_corpus(CORPUS, "v1-dsp")
    v1 = next(c for c in corpus.cases if c.id == "local-codes-mapped-csv")
    validator = CommandValidator(
        [r"C:\Program Files\vx\vx.exe", "{file}"],
        "exit",
        optional=[["--period", "{period}"], ["--submitter", "{submitter}", "--map", "{local_mappings}"]],
    )
    argv = validator.argv(v1, "v1-dsp")
    assert argv[0] == r"C:\Program Files\vx\vx.exe"
    assert "--period" not in argv  # v1 cases have no period: the group is left out, not an error
    assert argv[-4:] == ["--submitter", "X9T", "--map", v1.context["local_mappings"]]
    v2 = next(c for c in load_corpus(CORPUS, "v2").cases if c.id == "clean-csv")
    assert validator.argv(v2, "v2")[2:] == ["--period", "2026-05"]
    needs_period = CommandValidator(["vx", "{file}", "{period}"], "exit")
    assert needs_period(v1, "v1-dsp").verdict == "error"  # a required placeholder the case lacks


def _write_validator_file(folder: Path, *, extra: str = "") -> Path:
    spec = folder / "ours.toml"
    spec.write_text(
        f"""name = "our checker, as a command"
command = [{json.dumps(sys.executable)}, "-m", "conformance.cli", "check", "{{file}}", "--profile", "{{profile}}",
           "--submitted", "{{submitted}}", "--reference", "{{reference}}", "--format", "json"]
adapter = "json"
timeout = 120
optional = [["--period", "{{period}}"], ["--submitter", "{{submitter}}", "--local-mappings", "{{local_mappings}}"]]
{extra}
[environment]
PYTHONDONTWRITEBYTECODE = "1"
""",
        encoding="utf-8",
    )
    return spec


def test_one_validator_file_certifies_every_profile(tmp_path: Path) -> None:
    spec = _write_validator_file(tmp_path)
    loaded = load_validator_file(spec)
    assert loaded.name == "our checker, as a command" and loaded.validator.extra_env == {"PYTHONDONTWRITEBYTECODE": "1"}
    cases = {"v1-dsp": "local-codes-mapped-csv", "v1-portal": "break-DIDS003-csv", "v2": "window-not-open-csv"}
    for profile, case in cases.items():
        out = io.StringIO()
        argv = ["certify", "--profile", profile, "--validator-file", str(spec), "--case", case, "--format", "json"]
        assert run([*argv, "--date", "2026-11-23"], out, io.StringIO()) == 0, out.getvalue()
        report = json.loads(out.getvalue())
        assert report["certified"] and report["level"] == "official"
        assert {c["id"] for c in report["cases"]} >= {case}


def test_a_broken_validator_file_is_exit_2_with_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('command = ["vx", "{file}"]\nadapter = "json"\nspeed = "fast"\n', encoding="utf-8")
    err = io.StringIO()
    assert run(["certify", "--profile", "v2", "--validator-file", str(spec)], io.StringIO(), err) == 2
    assert "unknown key(s) speed" in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1


def test_the_installed_corpus_is_found_without_a_flag() -> None:
    # A source checkout finds fixtures/corpus; an installed wheel (tox) its copy in conformance/corpus_data.
    installed = bundled_corpus()
    assert installed is not None
    out = io.StringIO()
    assert run(["corpus", "path"], out, io.StringIO()) == 0
    assert Path(out.getvalue().strip()) == installed
    assert load_corpus(None, "v2").sha256 == load_corpus(CORPUS, "v2").sha256


def test_a_missing_corpus_says_how_to_build_one() -> None:
    err = io.StringIO()
    assert run(["certify", "--profile", "v2", "--own-checker", "--corpus", "/no/corpus"], io.StringIO(), err) == 2
    assert "dids fixtures build" in err.getvalue()


def test_baseline_lists_exactly_the_case_that_regressed(tmp_path: Path) -> None:
    corpus = load_corpus(CORPUS, "v2")
    select = {"break-DIDSREJ012-csv", "break-DIDS00300402-csv", "clean-csv"}
    before = certify(corpus, ours_as("v2", {}, provisional=True), description="vx 1", today=TODAY, level="exact")
    baseline = json.loads(to_json(before))
    blind = ours_as("v2", {"DIDSREJ012": "VX-OFF"}, provisional=True)  # 2.0 no longer reports DIDSREJ012
    after = certify(corpus, blind, description="vx 1", today=TODAY, level="exact", select=lambda c: c.id in select)
    comparison = compare(after, baseline, "before.json")
    assert [case for case, _, _ in comparison.regressions] == ["break-DIDSREJ012-csv"]
    assert not comparison.passed and comparison.fixes == [] and comparison.new == []
    assert "validator differs" not in " ".join(comparison.notes)


def test_baseline_gates_the_cli_on_regressions_only(tmp_path: Path) -> None:
    always_accepts = f"{sys.executable} -c pass {{file}}"
    common = [
        "certify",
        "--profile",
        "v2",
        "--case",
        "clean-csv",
        "--case",
        "window-not-open-csv",
        "--date",
        "2026-11-23",
    ]
    previous = tmp_path / "previous.json"
    assert (
        run(
            [*common, "--validator", always_accepts, "--format", "json", "-o", str(previous)],
            io.StringIO(),
            io.StringIO(),
        )
        == 1
    )
    out = io.StringIO()
    # Unchanged: not certified (it accepts a file to refuse), but nothing regressed: the gate passes.
    assert run([*common, "--validator", always_accepts, "--baseline", str(previous)], out, io.StringIO()) == 0
    assert "NOT CERTIFIED" in out.getvalue() and "GATE: NO REGRESSION" in out.getvalue()
    good = tmp_path / "good.json"
    assert run([*common, "--own-checker", "--format", "json", "-o", str(good)], io.StringIO(), io.StringIO()) == 0
    out = io.StringIO()
    assert run([*common, "--validator", always_accepts, "--baseline", str(good)], out, io.StringIO()) == 1
    regressions = [line.split()[1] for line in out.getvalue().splitlines() if line.strip().startswith("REGRESSION")]
    assert regressions == ["window-not-open-csv:"]
    assert "level differs: baseline exact, now official" in out.getvalue()


def test_the_certificate_puts_failures_first_and_names_a_likely_cause() -> None:
    corpus = load_corpus(CORPUS, "v2")
    ours = ours_as("v2", {}, provisional=True).function

    def no_reference(path: Path, context: dict[str, str]) -> Outcome:
        result: Outcome = ours(path, {**context, "reference": "none"})
        return result

    cert = certify(corpus, CallableValidator(no_reference), description="vx", today=TODAY, level="official")
    assert not cert.passed
    page = to_html(cert)
    tree = html.fromstring(page)
    assert tree.xpath("//script") == [] and not [a for a in tree.xpath("//@href | //@src") if a]
    headings = [h.text_content() for h in tree.xpath("//h2")]
    assert headings[0].startswith("Cases that did not pass")
    assert "needs reference data" in tree.xpath("string(//div[@class='causes'])")
    first_row = tree.xpath("//tr[contains(@class, 'row-')]")[0]
    failing_ids = {r.case.id for r in cert.results if r.status == "fail"}
    assert first_row.xpath("string(td[1]/code)") in failing_ids
    assert json.loads(to_json(cert))["likely_causes"]


pytest_plugins = ["pytester"]


def test_the_plugin_reads_ini_options_a_marker_and_takes_the_context_dict(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\ndids_corpus = {CORPUS}\ndids_profile =\n    v1-dsp\n    v2\ndids_level = official\n")
    pytester.makepyfile(
        """
        import pytest
        from conformance.check import CannotCheck, check

        @pytest.mark.dids_case("local-codes-mapped-*", "window-*")
        def test_vendor(dids_case):
            assert isinstance(dids_case.context, dict)
            try:  # the context dict as it is: reference data and mapping table are loaded from it
                report = check(dids_case.file, profile=dids_case.profile, context=dids_case.context)
            except CannotCheck:
                dids_case.expect("unreadable")
                return
            official = {(f.rule, f.record) for f in report.findings if f.code is not None}
            dids_case.expect(report.verdict, official)  # no provisional ids: enough at the official level
        """
    )
    result = pytester.runpytest("-q")
    cases = [
        (p, c.id)
        for p in ("v1-dsp", "v2")
        for c in load_corpus(CORPUS, p).cases
        if c.id.startswith(("local-codes-mapped-", "window-"))
    ]
    assert len(cases) == 2 + 7
    result.assert_outcomes(passed=len(cases))


def test_the_plugin_at_exact_wants_every_id(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\ndids_corpus = {CORPUS}\ndids_profile = v2\ndids_level = exact\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.dids_case("break-V2P-NICIP-FORMAT-csv")
        def test_vendor(dids_case):
            dids_case.expect("rejected", [("DIDS00300302", 1)])
        """
    )
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*missing: [[]('V2P-NICIP-FORMAT', 1)[]]*"])


def test_the_cli_lists_the_same_levels_adapters_and_placeholders_as_the_library() -> None:
    from conformance import certify as library
    from conformance.cli import corpus as cli  # kept apart so that building the parser imports no certify code

    assert (cli.LEVELS, cli.ADAPTERS, cli.PLACEHOLDERS) == (library.LEVELS, library.ADAPTERS, library.PLACEHOLDERS)


def test_a_validator_error_fails_the_gate_whatever_the_baseline(tmp_path: Path) -> None:
    crashes = f"{sys.executable} -c 'import os; os.abort()' {{file}}"
    common = ["certify", "--profile", "v2", "--case", "clean-csv", "--date", "2026-11-23", "--validator", crashes]
    previous = tmp_path / "previous.json"
    assert run([*common, "--format", "json", "-o", str(previous)], io.StringIO(), io.StringIO()) == 1
    out = io.StringIO()
    assert run([*common, "--baseline", str(previous)], out, io.StringIO()) == 1  # unchanged, but still an error
    assert "ERROR      clean-csv" in out.getvalue() and "GATE: REGRESSED" in out.getvalue()


def test_progress_shows_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.cli._progress import wanted

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.delenv("CI", raising=False)
    assert wanted(quiet=False)
    assert not wanted(quiet=True)
    monkeypatch.setenv("CI", "true")
    assert not wanted(quiet=False)  # CI logs get no progress bar
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.delenv("CI")
    assert not wanted(quiet=False)  # nor does a pipe


def test_a_command_line_string_is_split_by_the_platform_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.certify import split_command

    assert split_command("vx --in '{file}' a\\ b") == ["vx", "--in", "{file}", "a b"]
    monkeypatch.setattr("conformance.certify._validators.os.name", "nt")
    assert split_command(r'"C:\Program Files\vx\vx.exe" --in {file} C:\data\x.csv') == [
        r"C:\Program Files\vx\vx.exe",
        "--in",
        "{file}",
        r"C:\data\x.csv",
    ]
