"""Served validators (a validator file's `serve`; `dids serve`): a command started once per certify worker, each
case's command line sent to it as a JSON line. Our checker served scores every case as the per-case command does;
a server that dies, hangs, floods, mumbles or answers out of turn gives that case an error (never an answer) and
is replaced for the next; no server outlives certify."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conformance.certify import CertifyError, CommandValidator, _validators, certify, load_corpus, load_validator_file
from conformance.cli import run

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "corpus"
PY = sys.executable
DIDS = [PY, "-m", "conformance.cli"]
CHECK = [*DIDS, "check", "{file}", "--profile", "{profile}", "--submitted", "{submitted}", "--format", "json"]
OPTIONAL = [["--period", "{period}"], ["--reference", "{reference}"]]
OPTIONAL += [["--submitter", "{submitter}", "--local-mappings", "{local_mappings}"]]


def test_dids_serve_answers_each_request_as_the_command_would() -> None:
    case = CORPUS / "v2" / "all-rules-csv.csv"
    argv = ["dids", "check", str(case), "--profile", "v2", "--submitted", "2026-06-10", "--period", "2026-05"]
    argv += ["--format", "json"]
    requests = [
        json.dumps({"id": 1, "argv": argv}),
        "not json",
        json.dumps({"id": "x", "argv": []}),
        json.dumps({"id": 3, "argv": ["dids", "check", str(ROOT / "no-such-file.csv")]}),
        json.dumps({"id": 4, "argv": argv}),
        json.dumps({"id": 5, "argv": ["dids", "check", "-", "--profile", "v2"]}),  # reads nothing, not the requests
        json.dumps({"id": 6, "argv": ["dids", "--version"]}),
    ]
    served = subprocess.run([*DIDS, "serve"], input="\n".join(requests) + "\n", capture_output=True, text=True)
    assert served.returncode == 0, served.stderr
    answers = [json.loads(line) for line in served.stdout.splitlines()]
    assert [a.get("id") for a in answers] == [1, None, "x", 3, 4, 5, 6]
    alone = subprocess.run([*DIDS, *argv[1:]], capture_output=True, text=True)
    assert answers[0]["exit"] == alone.returncode == 1
    said, expected = json.loads(answers[0]["stdout"]), json.loads(alone.stdout)
    assert said["verdict"] == expected["verdict"] == "rejected"
    assert {(f["rule"], f["record"]) for f in said["findings"]} == {
        (f["rule"], f["record"]) for f in expected["findings"]
    }
    assert json.loads(answers[4]["stdout"])["findings"] == said["findings"]  # the second run sees the same
    assert "error" in answers[1] and "error" in answers[2]
    assert answers[3]["exit"] == 2 and answers[3]["stdout"] == ""
    assert answers[3]["stderr"].startswith("dids: error:") and answers[3]["stderr"].count("\n") == 1
    assert answers[5]["exit"] == 2 and answers[6]["exit"] == 0 and answers[6]["stdout"].startswith("dids ")


def test_a_served_checker_scores_every_case_as_the_command_does() -> None:
    corpus = load_corpus(CORPUS, "v2")
    picked = {c.id for c in corpus.cases[::6]} | {c.id for c in corpus.cases if "unreadable" in c.tags}

    def select(case: object) -> bool:
        return getattr(case, "id", None) in picked

    served = CommandValidator(
        CHECK, "json", optional=OPTIONAL, serve=[*DIDS, "serve", "--program-words", "3"], timeout=60
    )
    per_case = CommandValidator(CHECK, "json", optional=OPTIONAL, timeout=60)
    results = {}
    for name, validator in (("served", served), ("per case", per_case)):
        cert = certify(corpus, validator, description=name, select=select, jobs=2, level="exact")
        results[name] = {r.case.id: (r.category, r.outcome.verdict, frozenset(r.observed)) for r in cert.results}
        assert cert.passed, name
    assert len(results["served"]) == len(picked) > 30
    assert results["served"] == results["per case"]
    assert served._servers == set() and served._idle == []  # closed at the end of the run


# A stand-in server: it answers as MODE says, request by request (accepted is exit 0 under the exit adapter).
SERVER = """
import json, sys, time
mode = sys.argv[1]
n = 0
for line in sys.stdin:
    n += 1
    ident = json.loads(line)["id"]
    if mode == "die-second" and n == 2:
        sys.stderr.write("server: out of memory\\n"); sys.exit(3)
    if mode == "hang":
        time.sleep(600)
    if mode == "garbage":
        print("hello", flush=True); continue
    if mode == "wrong-id":
        print(json.dumps({"id": ident + 1, "exit": 0, "stdout": "", "stderr": ""}), flush=True); continue
    if mode == "error":
        print(json.dumps({"id": ident, "error": "cannot parse the arguments"}), flush=True); continue
    if mode == "flood":
        sys.stdout.write("y" * 100000); sys.stdout.flush(); time.sleep(600)
    if mode == "bad-exit":
        print(json.dumps({"id": ident, "exit": True, "stdout": "", "stderr": ""}), flush=True); continue
    print(json.dumps({"id": ident, "exit": 0, "stdout": "", "stderr": ""}), flush=True)
"""


def stand_in(tmp_path: Path, mode: str, timeout: float = 20.0) -> CommandValidator:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    return CommandValidator(["validator", "{file}"], "exit", serve=[PY, str(script), mode], timeout=timeout)


def one_case(validator: CommandValidator, n: int = 0) -> _validators.Outcome:
    return validator.run(["validator", f"case-{n}.csv"])


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("hang", "timed out after 1 s"),
        ("garbage", "cannot read the served validator's answer"),
        ("wrong-id", "an answer for request 2, not 1"),
        ("error", "could not run the case: cannot parse the arguments"),
        ("flood", "printed more than certify captures"),
        ("bad-exit", "exit True is not a number"),
    ],
)
def test_a_server_that_misbehaves_gives_an_error_never_an_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, detail: str
) -> None:
    monkeypatch.setattr(_validators, "STDOUT_CAP", 50_000)
    validator = stand_in(tmp_path, mode, timeout=1.0 if mode == "hang" else 20.0)  # a loaded machine starts slowly
    outcome = one_case(validator)
    assert outcome.verdict == "error" and detail in outcome.detail, outcome
    validator.close()
    assert validator._servers == set()


def test_a_server_that_dies_costs_its_case_and_is_replaced(tmp_path: Path) -> None:
    validator = stand_in(tmp_path, "die-second")
    first, second, third = (one_case(validator, n) for n in range(3))
    assert first.verdict == "accepted"
    assert second.verdict == "error"
    assert "ended before it answered (exit 3): server: out of memory" in second.detail
    assert third.verdict == "accepted"  # a fresh server
    validator.close()


def test_a_server_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    validator = CommandValidator(["v", "{file}"], "exit", serve=[str(tmp_path / "no-such-server")])
    outcome = one_case(validator)
    assert outcome.verdict == "error" and outcome.detail.startswith("cannot run ")


def test_stop_kills_a_busy_server_at_once(tmp_path: Path) -> None:
    validator = stand_in(tmp_path, "hang", timeout=60)
    outcomes: list[_validators.Outcome] = []
    worker = threading.Thread(target=lambda: outcomes.append(one_case(validator)))
    worker.start()
    time.sleep(1.0)
    started = time.monotonic()
    validator.stop()
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - started < 10
    assert outcomes[0].verdict == "error"
    assert validator._servers == set()
    assert one_case(validator).detail == "certify was interrupted before this case ran"


def test_idle_servers_end_with_the_run(tmp_path: Path) -> None:
    validator = stand_in(tmp_path, "ok")
    assert one_case(validator).verdict == "accepted" and one_case(validator, 1).verdict == "accepted"
    (server,) = validator._idle  # one server took both cases
    validator.close()
    assert server.process.poll() is not None and validator._idle == []


@pytest.mark.parametrize(
    ("serve", "message"),
    [
        ('serve = ["dids", "serve", "{file}"]', "serve is started once for many cases"),
        ("serve = 3", "serve must be a list of words"),
        ("serve = []", "the serve command is empty"),
    ],
)
def test_a_validator_file_with_a_bad_serve_is_refused(tmp_path: Path, serve: str, message: str) -> None:
    path = tmp_path / "v.toml"
    path.write_text(f'command = ["v", "{{file}}"]\nadapter = "exit"\n{serve}\n')
    with pytest.raises(CertifyError, match=message):
        load_validator_file(path)


def test_a_validator_file_serves_from_its_own_folder(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text('command = ["v", "{file}"]\nadapter = "exit"\nserve = ["{here}/server", "--serve"]\n')
    validator = load_validator_file(path).validator
    assert isinstance(validator, CommandValidator)
    assert validator.serve == [f"{tmp_path.resolve()}/server", "--serve"]
    assert "served by" in validator.describe()


SERVE = f"{PY} -m conformance.cli serve --program-words 3"
COMMAND = (
    f"{PY} -m conformance.cli check {{file}} --profile v2 --submitted {{submitted}} --period {{period}} "
    "--reference {reference} --format json"
)


def certify_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["certify", "--profile", "v2", "--tag", "window", "--date", "2026-11-23", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def test_the_cli_serves_a_validator_command() -> None:
    code, out, err = certify_cli("--validator", COMMAND, "--serve", SERVE, "--adapter", "json", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["certified"] and "served by" in report["validator"]


def test_a_validator_files_serve_survives_a_timeout_given_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "served.toml"
    words = json.dumps([PY, "-m", "conformance.cli", "serve", "--program-words", "3"])
    command = json.dumps([PY, "-m", "conformance.cli", *COMMAND.split()[3:]])
    path.write_text(f'command = {command}\nserve = {words}\nadapter = "json"\n')
    code, out, err = certify_cli("--validator-file", str(path), "--timeout", "30", "--format", "json")
    assert code == 0, err
    assert "served by" in json.loads(out)["validator"]


@pytest.mark.parametrize("which", [["--own-checker"], ["--validator-file", "x.toml"]])
def test_serve_goes_with_a_validator_command_only(which: list[str]) -> None:
    code, _out, err = certify_cli(*which, "--serve", "dids serve")
    assert code == 2 and err.count("\n") == 1 and "--serve goes with --validator" in err


def test_an_over_long_request_is_answered_once_and_the_next_is_read() -> None:
    long_line = json.dumps({"id": 1, "argv": ["dids", "x" * (3 << 20)]})  # over 1 MiB: passed over in pieces
    requests = long_line + "\n" + json.dumps({"id": 2, "argv": ["dids", "--version"]}) + "\n"
    served = subprocess.run([*DIDS, "serve"], input=requests, capture_output=True, text=True)
    answers = [json.loads(line) for line in served.stdout.splitlines()]
    assert served.returncode == 0
    assert answers[0] == {"id": None, "error": "a request longer than 1,048,576 bytes"}
    assert answers[1]["id"] == 2 and answers[1]["exit"] == 0
    assert len(answers) == 2
