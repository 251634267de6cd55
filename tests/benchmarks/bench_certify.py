"""Benchmark: `dids certify` of a profile's whole corpus (a script, not a test).

    python tests/benchmarks/bench_certify.py [--profile v2] [--repeats R] [--jobs N] [--modes ...]

Modes, each a whole certify run in its own process, `--jobs` cases at once (default: the number of cores):

  python-pass   the validator is `python -c pass {file}` (adapter exit): the floor of any command validator,
                one process start-up per case plus certify's own work                          (the baseline)
  command       our checker as a command: `dids check {file} --profile P --submitted S --period M
                --reference R --format json` per case (adapter json; `dids` beside this Python), the
                issue's target, at most 15 s for the v2 corpus. It measures a start-up: a corpus case is a
                few records, so what a check costs is importing the checker and setting its rules up
                (tests/test_startup.py), with the packs' parsed TOML and the synthetic reference store read
                from the user cache (conformance/cache.py; the first case of a cold cache writes them)
  served        the same command from a validator file with `serve = ["dids", "serve"]`: `dids serve` started once
                per job, each case's command line sent to it as a JSON line (a served validator, for any
                validator whose start-up is costly); also held to 15 s for the v2 corpus
  own           our checker in-process (`dids certify --own-checker`): no start-up at all

The modes are taken in turn on every repeat. Prints, in the table of the other benchmarks, the median wall and CPU
seconds of the repeats (CPU time of the certify process and of the validators it started), cases per second, the
time as a multiple of the baseline, PASS or OVER against the 15 s target, whether the corpus was certified (a run
that was not is marked BROKEN), and the peak memory of the certify process (VmHWM; the validators' processes are
their own, the largest of them under "worker MiB").
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from pathlib import Path

import _harness  # the sibling module: scripts run from their own folder
from _harness import Mode

MODES = ("python-pass", "command", "served", "own")
RUNS = {
    "python-pass": "floor: python -c pass",
    "command": "dids check as a command",
    "served": "dids check, served by dids serve",
    "own": "--own-checker",
}
DIDS = str(Path(sys.executable).with_name("dids"))
CHECK = (
    f"{DIDS} check {{file}} --profile {{profile}} --submitted {{submitted}} --period {{period}} "
    "--reference {reference} --format json"
)


# The same command as a validator file that serves it: `dids serve` started once per job, each case's command line
# sent to it (conformance/certify/_validators.py); the optional groups make it fit every profile.
SERVED = f"""
command = [{json.dumps(DIDS)}, "check", "{{file}}", "--profile", "{{profile}}", "--submitted", "{{submitted}}",
           "--format", "json"]
serve = [{json.dumps(DIDS)}, "serve"]
adapter = "json"
optional = [["--period", "{{period}}"], ["--reference", "{{reference}}"],
            ["--submitter", "{{submitter}}", "--local-mappings", "{{local_mappings}}"]]
"""


def certify_argv(mode: str, profile: str, jobs: int, folder: str = "") -> list[str]:
    argv = ["certify", "--profile", profile, "--jobs", str(jobs), "--date", "2026-11-23", "--format", "json"]
    if mode == "own":
        return [*argv, "--own-checker"]
    if mode == "served":
        path = Path(folder) / "served.toml"
        path.write_text(SERVED, encoding="utf-8")
        return [*argv, "--validator-file", str(path)]
    if mode == "command":
        return [*argv, "--validator", CHECK, "--adapter", "json"]
    return [*argv, "--validator", f"{sys.executable} -c pass {{file}}", "--adapter", "exit"]


def child(spec: list[str]) -> None:
    from conformance.cli import run

    mode, profile, jobs = spec
    watch = _harness.Stopwatch()
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as folder:
        run(certify_argv(mode, profile, int(jobs), folder), out, io.StringIO())
    report = json.loads(out.getvalue())
    # A fast wrong answer is no result: a run not certified is marked BROKEN (the floor is never certified).
    watch.report(len(report["cases"]), verdict="certified" if report["certified"] else "not certified")


def main() -> None:
    parser = _harness.parser(__doc__, sizes=False)
    parser.add_argument("--profile", default="v2", choices=("v1-dsp", "v1-portal", "v2"))
    parser.add_argument("--jobs", type=int, default=0, help="cases at once (default: the number of cores)")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    args = parser.parse_args()
    if spec := _harness.child_spec(args):
        child(spec)
        return

    jobs = args.jobs or len(os.sched_getaffinity(0))
    print(f"dids certify --profile {args.profile}, {jobs} job(s)")
    case = f"{args.profile} corpus"
    specs = {
        Mode(
            case,
            RUNS[mode],
            floor=mode == "python-pass",
            seconds_target=15.0 if mode in ("command", "served") and args.profile == "v2" else None,
        ): [mode, args.profile, str(jobs)]
        for mode in args.modes
    }
    results = _harness.measure_all(__file__, specs, args.repeats)
    _harness.print_report({0: results}, args.repeats, unit="cases", memory_target=False)


if __name__ == "__main__":
    main()
