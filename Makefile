# The README's two commands: `make demo` (the main job end to end on the bundled TensorFlow-shaped
# source) and `make test` (lint, types, unit and end-to-end tests). Both install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test unit e2e lint host test-host venv clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

host:
	bash scripts/setup-host.sh

test-host:
	bash scripts/setup-host.sh --test

demo: venv host
	bash scripts/demo.sh

lint: venv
	$(BIN)/ruff check tfwheelbuild tests scripts
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q tests/unit

e2e: venv test-host
	$(BIN)/pytest -q -m engine tests/integration

# The whole suite runs alone here, so the fault suite may also stop and restart the Docker engine.
test: venv test-host lint
	TFWB_STOP_ENGINE_TESTS=1 $(BIN)/pytest -q -ra tests

clean:
	rm -rf $(VENV) dist .tfwheelbuild

bench: venv test-host
	$(BIN)/python scripts/benchmark.py --units $${UNITS:-40}
	$(BIN)/python scripts/bench_install.py
	$(BIN)/python scripts/bench_deps.py
