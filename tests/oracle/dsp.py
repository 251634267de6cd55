"""Run NHS England's DSP (DIDS v1 validation) on CSV files in local Spark and return its findings per file.

The DSP is imported from its source folder (DIDS_DSP_SOURCE, default `../shared/peer/nhse-dsp-source` beside the
repository) and run, never copied. Its DIDS pipeline (`dsp/pipelines/dids.py`, STAGES) is followed by hand up to
`LegacyValidationsStage`, the part that needs no MPS/PDS service:

  per file   load (LoadDIDSCSVStage: the 18-column check and FAILFAST read, DIDS075 on failure), then traceability
             (AddTraceabilityColumnsStage: META.RECORD_INDEX from 0, META.EVENT_RECEIVED_TS = the submission time)
  per batch  canonical field names, whitespace cleansing, then LegacyValidationsStage.validate.

Planning the 60-rule validation dominates a run (about 90 s), so every file of a batch goes through one
validation: each file's record indexes are moved into a block of their own (file k: k * BLOCK + index) and the
uniqueness rule DIDS071 is keyed on the file's block as well as (accession, site), so no rule sees across files.
Rules read the submission time from META.EVENT_RECEIVED_TS, a column, so files with different submission times
share a batch too. The submission time given to the DSP is the UK wall-clock time, as the portal would stamp it.

Needs the oracle dependency group (pyspark 3.5.3 and the DSP's imports) and Java 17; nothing here is imported by
the default test run.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STUB = Path(__file__).resolve().parent / "refstub"
BLOCK = 10_000_000  # record indexes per file in a batch: far above any oracle input
FILE_COLUMN = "ORACLE_FILE"


def dsp_source() -> Path:
    """The DSP's source folder (the one holding `src/dsp`)."""
    return Path(os.environ.get("DIDS_DSP_SOURCE") or REPO.parent / "shared" / "peer" / "nhse-dsp-source").resolve()


@dataclass(frozen=True)
class DspInput:
    key: str  # the caller's name for the file
    path: Path
    submitted: datetime  # naive, UK wall-clock time


@dataclass(frozen=True)
class DspFinding:
    code: str
    record: int | None  # from 1, as our reports count; None for a file reject
    severity: str  # error | warning


@dataclass(frozen=True)
class DspResult:
    key: str
    records: int  # records the DSP loaded (0 when it rejected the file)
    findings: frozenset[DspFinding]

    @property
    def file_reject(self) -> str | None:
        return next((f.code for f in self.findings if f.record is None), None)

    @property
    def rejected(self) -> bool:
        return any(f.severity == "error" for f in self.findings)


def _prepare_imports() -> None:
    source = dsp_source() / "src"
    if not (source / "dsp" / "pipelines" / "dids.py").is_file():
        raise RuntimeError(f"no DSP source at {source} (set DIDS_DSP_SOURCE to the nhse-dsp-source folder)")
    paths = [str(source), str(STUB)]
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    # Spark's Python workers are separate processes: they find the DSP and the stub through PYTHONPATH.
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in paths]
    os.environ["PYTHONPATH"] = os.pathsep.join([*paths, *inherited])
    os.environ["TZ"] = "UTC"
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers need this environment's packages
    os.environ.setdefault("DIDS_ORACLE_REFERENCE", str(REPO / "conformance" / "check" / "reference_synthetic"))
    if hasattr(time, "tzset"):
        time.tzset()


@contextmanager
def spark_session() -> Iterator[Any]:
    """One local Spark (2 cores, 4 GB driver) with the time-parser policy the DSP's date rules need."""
    _prepare_imports()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("dids-dsp-oracle")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.legacy.timeParserPolicy", "LEGACY")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("FATAL")  # a loader reject is an expected outcome, not an error to print
    logging.disable(logging.CRITICAL)  # the DSP's logger prints every stage's stack trace
    # Set as a local property too, or the date rules raise inside a UDF writer thread (Spark 3).
    spark.sparkContext.setLocalProperty("spark.sql.legacy.timeParserPolicy", "LEGACY")
    try:
        yield spark
    finally:
        spark.stop()


def _context(folder: Path, key: str, submitted: datetime) -> Any:
    from dsp.pipeline.models import PipelineContext

    primitives = {"dataset_id": "dids", "submission_id": key, "submitted_timestamp": submitted, "sender_id": "X9T"}
    return PipelineContext(str(folder), primitives=primitives)


def _load(spark: Any, item: DspInput, folder: Path) -> Any:
    """The file's records with traceability columns, or None when the loader rejects the file."""
    from dsp.pipeline.stages import AddTraceabilityColumnsStage
    from dsp.pipelines.dids import LoadDIDSCSVStage
    from dsp.shared.constants import PATHS

    folder.mkdir(parents=True)
    shutil.copyfile(item.path, folder / PATHS.RAW_DATA)
    context = _context(folder, item.key, item.submitted)
    summary, context = LoadDIDSCSVStage().run(spark, context)
    if summary["status"] != "success":  # the stage turns the loader's PipelineRejection into "rejected"
        if summary["status"] == "rejected":
            return None
        raise RuntimeError(f"the DSP's CSV loader ended {summary['status']!r} on {item.path}")
    _, context = AddTraceabilityColumnsStage().run(spark, context)
    return context.dataframes["df"].df


def _read_dq(spark: Any, folder: Path) -> list[tuple[str | None, str, str]]:
    from dsp.shared.constants import PATHS

    path = folder / PATHS.DQ
    if not path.exists():
        return []
    rows = spark.read.parquet(str(path)).select("ROW_INDEX", "CODE", "TYPE").collect()
    return [(row["ROW_INDEX"], row["CODE"], row["TYPE"]) for row in rows]


def _validate(spark: Any, frames: list[tuple[int, Any]], folder: Path) -> list[tuple[str | None, str, str]]:
    """One LegacyValidationsStage.validate over the union of the files' frames; the DQ rows it wrote."""
    import dsp.pipeline.stages.legacy_validations as legacy
    from dsp.datasets.common import UniquenessRule
    from dsp.pipeline import ValidationResult
    from dsp.pipeline.models import DataFrameInfo
    from dsp.pipeline.stages import CanonicaliseFieldNamesStage, CleanseDataFrameStage
    from pyspark.sql import functions as F

    union = None
    for index, frame in frames:
        moved = frame.withColumn(
            "META", F.col("META").withField("RECORD_INDEX", F.col("META.RECORD_INDEX") + index * BLOCK)
        )
        union = moved if union is None else union.unionByName(moved)
    # Cut the lineage (one load per file) and the partitions (one per file): the validation then plans over one
    # scan and runs its Python UDFs in two tasks, not in one task per file.
    union = union.coalesce(2).localCheckpoint(eager=True)
    folder.mkdir(parents=True)
    context = _context(folder, "batch", datetime(2000, 1, 1))
    context.dataframes = {"df": DataFrameInfo(union)}
    for stage in (CanonicaliseFieldNamesStage(), CleanseDataFrameStage()):
        _, context = stage.run(spark, context)
    frame = context.dataframes["df"].df.withColumn(FILE_COLUMN, F.floor(F.col("META.RECORD_INDEX") / BLOCK))
    original = legacy.uniqueness_dq_rules

    def per_file(dataset_id: str) -> Any:
        rule = original(dataset_id)
        return UniquenessRule([FILE_COLUMN, *rule.unique_columns], rule.code)

    legacy.uniqueness_dq_rules = per_file
    try:
        result = ValidationResult(total_records=frame.count(), dq_error_count=0, dq_warning_count=0)
        legacy.LegacyValidationsStage.validate(frame, context.to_metadata(), result)
    finally:
        legacy.uniqueness_dq_rules = original
    return _read_dq(spark, folder)


def run_dsp(spark: Any, inputs: Sequence[DspInput]) -> dict[str, DspResult]:
    """The DSP's findings for every input, keyed by DspInput.key. Raises if the DSP fails on a file."""
    if len({item.key for item in inputs}) != len(inputs):
        raise ValueError("DspInput keys must be unique")
    with tempfile.TemporaryDirectory(prefix="dids-dsp-") as scratch:
        root = Path(scratch)
        frames: list[tuple[int, Any]] = []
        counts: dict[int, int] = {}
        results: dict[str, DspResult] = {}
        for index, item in enumerate(inputs):
            folder = root / f"file{index}"
            frame = _load(spark, item, folder)
            if frame is None:  # the loader's reject is the file's whole DQ output
                found = frozenset(DspFinding(code, None, kind.lower()) for _, code, kind in _read_dq(spark, folder))
                results[item.key] = DspResult(item.key, 0, found)
                continue
            frame = frame.cache()
            counts[index] = frame.count()
            frames.append((index, frame))
        per_file: dict[int, set[DspFinding]] = {index: set() for index in counts}
        if frames:
            for row_index, code, kind in _validate(spark, frames, root / "batch"):
                if row_index is None:
                    raise RuntimeError(f"the DSP reported {code} without a row in a batch")
                index, row = divmod(int(row_index), BLOCK)
                per_file[index].add(DspFinding(code, row + 1, kind.lower()))
        for index, count in counts.items():
            item = inputs[index]
            results[item.key] = DspResult(item.key, count, frozenset(per_file[index]))
        return {item.key: results[item.key] for item in inputs}
