#!/usr/bin/env bash
# The main job end to end on the bundled TensorFlow-shaped source: make its git repo (tags
# v2.13.0, v2.16.0, v2.16.1, v2.17.0, v2.20.0), then build, repair and test the 2.16.1 wheel for
# Python 3.11, publish it to a local PEP 503 directory index and install it back from there.
# `make demo` runs this after installing the package (venv) and the host's engine/emulation.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
repo="${TFWB_DEMO_REPO:-${XDG_CACHE_HOME:-$HOME/.cache}/tfwheelbuild-demo/fixture-repo}"
out="${TFWB_DEMO_OUTPUT:-dist}"
case "$out" in /*) ;; *) out="./$out" ;; esac  # --index makes a new directory index only from a plain path
"$BIN/python" tests/fixtures/make_repo.py "$repo" --units "${TFWB_DEMO_UNITS:-8}"
"$BIN/tfwheelbuild" build --tf 2.16.1 --py 3.11 --source "$repo" \
  --patches tests/fixtures/patches --output "$out" \
  --publish --index "$out/index" "$@"
ls -l "$out"
echo "pip install --index-url file://$(cd "$out/index" && pwd)/simple/ tensorflow   # on an aarch64 host"
