"""NHS England's DSP as a differential oracle for `dids check --profile v1-dsp` (README "Oracle").

Run with `tox -e oracle` or `python -m tests.oracle`; needs pyspark and Java, so the default test run never
collects this folder (tests/conftest.py). Modules: dsp (the runner, the only one importing Spark), refstub (the
reference-data stand-in), inputs, ours, compare, dqxml, validator."""
