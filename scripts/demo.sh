#!/usr/bin/env bash
# The main job end to end on the bundled TensorFlow-shaped source: make its git repo (tags
# v2.13.0, v2.16.0, v2.16.1, v2.17.0), then build, repair and test the 2.16.1 wheel for Python 3.11.
# `make demo` runs this after installing the package (venv) and the host's engine/emulation.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
repo="${TFWB_DEMO_REPO:-${XDG_CACHE_HOME:-$HOME/.cache}/tfwheelbuild-demo/fixture-repo}"
"$BIN/python" tests/fixtures/make_repo.py "$repo" --units "${TFWB_DEMO_UNITS:-8}"
"$BIN/tfwheelbuild" build --tf 2.16.1 --py 3.11 --source "$repo" \
  --patches tests/fixtures/patches --output "${TFWB_DEMO_OUTPUT:-dist}" "$@"
ls -l "${TFWB_DEMO_OUTPUT:-dist}"
