#!/usr/bin/env bash
# Run the steps of dids-certify.yml on this machine: install the harness in a fresh virtual environment,
# certify the validator of validator.toml on every profile, and collect the JUnit, HTML and JSON reports.
#
#   bash examples/github-actions/run-locally.sh [REPORTS_DIR]
#
# The harness is installed from this checkout. With DIDS_DEPS_FROM=<site-packages folder>, its dependencies
# are borrowed from that folder instead of the package index, so the run needs no network.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
reports="$(realpath -m "${1:-$repo/bench-out/ci-reports}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python="${PYTHON:-python3}"

echo "== Install the DIDS harness (its conformance corpus comes with it)"
if [[ -n "${DIDS_DEPS_FROM:-}" ]]; then
  # pip, setuptools and the harness's dependencies all come from DIDS_DEPS_FROM
  "$python" -m venv --without-pip "$work/venv"
  purelib="$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$DIDS_DEPS_FROM" > "$purelib/dids-deps.pth"
  "$work/venv/bin/python" -m pip wheel -q --no-deps --no-build-isolation -w "$work/wheels" "$repo"
  "$work/venv/bin/python" -m pip install -q --no-deps --no-index "$work"/wheels/dids_harness-*.whl
else
  "$python" -m venv "$work/venv"
  "$work/venv/bin/python" -m pip install -q "$repo"
fi
export PATH="$work/venv/bin:$PATH"
echo "corpus: $(dids corpus path)"

mkdir -p "$reports"
status=0
for profile in v1-dsp v1-portal v2; do
  echo "== Certify the validator: $profile"
  # CI sets CI=true: no progress line in the log.
  CI=true dids certify --profile "$profile" --validator-file "$here/validator.toml" \
    --report "junit=$reports/dids-$profile.xml" \
    --report "html=$reports/dids-$profile.html" \
    --report "json=$reports/dids-$profile.json" | tail -n 3 || status=$?
done

echo "== Upload the reports (here: kept in $reports)"
ls -1 "$reports"
exit "$status"
