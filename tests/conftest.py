"""Shared test set-up: Hypothesis profiles and the paths of the bundled fixtures."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

# The DSP oracle (tests/oracle) needs pyspark, Java and minutes: `tox -e oracle` runs it, the default run never
# collects it (tests/test_oracle_tools.py proves pyspark stays unimported).
collect_ignore = ["oracle"]

# A user cache of the session's own (conformance/cache.py), for the tests and every `dids` they start: a
# developer's cache never decides a result, and the cold path runs as well as the warm one.
CACHE = Path(tempfile.mkdtemp(prefix="dids-test-cache-"))
os.environ["DIDS_CACHE_DIR"] = str(CACHE)
os.environ.pop("DIDS_NO_CACHE", None)


def pytest_sessionfinish() -> None:
    shutil.rmtree(CACHE, ignore_errors=True)


REPO = Path(__file__).resolve().parent.parent
PEER = REPO / "fixtures" / "peer" / "nhse-dsp-dids-v1"

# "ci" is derandomized so a red CI run reproduces exactly; "dev" explores more, with a fresh seed each run.
settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
