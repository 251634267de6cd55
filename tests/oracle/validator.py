"""NHS England's DSP as a validator command for `dids certify --adapter dq-xml`:

    python -m tests.oracle.validator FILE SUBMITTED        print the DSP's DQ findings as dq.xml
    python -m tests.oracle.validator --prerun [CORPUS]     run the DSP once over every CSV case of the v1-dsp corpus

A DSP run costs about 90 s (Spark plans the 60-rule validation), far over certify's per-case timeout, so the
answers come from a batch pre-run: `--prerun` (and every `python -m tests.oracle` run) stores the DSP's findings
for each file keyed by the file's SHA-256, the submission time, the DSP source and the reference stub's tables.
A command whose key is not stored runs the DSP live on that one file (slow: give certify `--timeout 600`) and
stores the answer. Exit 0 when the DSP raises no error (accepted), 1 when it does (rejected), 3 when the DSP could
not judge the file (an XML file: its XML loader is not runnable from the published source), with one line on
stderr, so certify scores it an error, never an answer.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from conformance.files import atomic_open

from .dqxml import render

REPO = Path(__file__).resolve().parents[2]
CANNOT_JUDGE = 3


def cache_path() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dids-oracle" / "dsp-results.json"
    return Path(os.environ.get("DIDS_ORACLE_CACHE") or default)


def _digest(paths: Iterable[Path]) -> str:
    total = hashlib.sha256()
    for path in sorted(paths):
        total.update(path.name.encode() + b"\0" + path.read_bytes())
    return total.hexdigest()[:16]


def engine_identity() -> str:
    """What, besides the file and the time, decides the DSP's answer: its rule table and the stub's tables."""
    from .dsp import dsp_source

    rules = dsp_source() / "src" / "nhs_dq_rules_library" / "business_rules" / "dids" / "__init__.py"
    reference = Path(os.environ.get("DIDS_ORACLE_REFERENCE") or REPO / "conformance" / "check" / "reference_synthetic")
    return _digest([rules]) + "-" + _digest(reference.glob("*.csv"))


def cache_key(path: Path, submitted: str, identity: str) -> str:
    return f"{hashlib.sha256(path.read_bytes()).hexdigest()}|{submitted}|{identity}"


def load_cache() -> dict[str, dict[str, object]]:
    path = cache_path()
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def store(entries: dict[str, dict[str, object]]) -> None:
    """Add entries to the cache (whole file replaced atomically)."""
    cached = load_cache()
    cached.update(entries)
    cache_path().parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(cache_path(), "w", encoding="utf-8") as handle:
        json.dump(cached, handle, sort_keys=True, indent=0)


def as_entry(records: int, findings: Iterable[tuple[str, int | None, str]]) -> dict[str, object]:
    return {"records": records, "findings": sorted([list(f) for f in findings], key=str)}


def wall_clock(submitted: str) -> datetime:
    """The submission time as the DSP gets it: the instant (a time without an offset is UK time, as everywhere in
    the harness), in UTC, without an offset, for the DSP's UTC session (v1-dsp's model: conformance/check/_spark.py)."""
    from datetime import UTC

    from conformance.check import make_context

    return make_context(submitted).submitted.astimezone(UTC).replace(tzinfo=None)


@contextmanager
def _one_spark_at_a_time() -> Iterator[None]:
    """Live runs queue on a lock beside the cache: a Spark takes both cores and 4 GB (certify runs cases at once)."""
    cache_path().parent.mkdir(parents=True, exist_ok=True)
    with open(cache_path().parent / "spark.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run_live(items: list[tuple[Path, str]]) -> dict[str, dict[str, object]]:
    """Run the DSP once over `items` (path, submitted) and return the cache entries."""
    from .dsp import DspInput, run_dsp, spark_session

    identity = engine_identity()
    inputs = [DspInput(str(i), path, wall_clock(submitted)) for i, (path, submitted) in enumerate(items)]
    with _one_spark_at_a_time(), spark_session() as spark:
        results = run_dsp(spark, inputs)
    entries = {}
    for i, (path, submitted) in enumerate(items):
        result = results[str(i)]
        findings = [(f.code, f.record, f.severity) for f in result.findings]
        entries[cache_key(path, submitted, identity)] = as_entry(result.records, findings)
    return entries


def prerun(corpus: Path) -> int:
    from conformance.certify._corpus import load_corpus

    cases = [c for c in load_corpus(corpus, "v1-dsp").cases if c.format == "csv"]
    store(run_live([(c.file, c.context["submitted"]) for c in cases]))
    print(f"the DSP judged {len(cases)} CSV cases; answers stored in {cache_path()}")
    return 0


def answer(path: Path, submitted: str) -> int:
    head = path.read_bytes()[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        print("the DSP's XML loader is not runnable from the published source (spark-xml, DIDS XSD)", file=sys.stderr)
        return CANNOT_JUDGE
    key = cache_key(path, submitted, engine_identity())
    entry = load_cache().get(key)
    if entry is None:
        entries = run_live([(path, submitted)])
        store(entries)
        entry = entries[key]
    findings = [(str(code), record, str(kind)) for code, record, kind in entry["findings"]]  # type: ignore[attr-defined]
    sys.stdout.buffer.write(render(findings))
    return 1 if any(kind == "error" for _, _, kind in findings) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.oracle.validator", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("submitted", nargs="?")
    parser.add_argument("--prerun", nargs="?", const=REPO / "fixtures" / "corpus", type=Path, metavar="CORPUS")
    args = parser.parse_args(argv)
    try:
        if args.prerun is not None:
            return prerun(args.prerun)
        if args.file is None or args.submitted is None:
            parser.error("give FILE and SUBMITTED, or --prerun")
        return answer(args.file, args.submitted)
    except Exception as exc:  # the DSP failed to judge: an error for certify, one line, never a verdict
        print(f"the DSP could not judge the file: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
        return CANNOT_JUDGE


if __name__ == "__main__":
    sys.exit(main())
