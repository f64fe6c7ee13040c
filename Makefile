# Every target sets itself up from a fresh clone with only Python 3.11 present.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run lint test test-fast compat manifests bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

## Create .venv and install the package with its test and lint tools (again whenever pyproject.toml changes).
setup: $(STAMP)

## Start channel-mcp on the built-in sandbox (no account needed), over HTTP on 127.0.0.1:8000/mcp.
run: $(STAMP)
	$(BIN)/channel-mcp serve --sandbox --transport http

## Lint and type-check: ruff (compat/ included), ruff format, mypy strict over src/, tests/ and benchmarks/.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Lint, type-check and run the whole test suite (what CI runs).
test: lint
	$(BIN)/python -m pytest -q

## The test suite without the tests marked slow (real servers, subprocesses, timing): for the edit-test loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

## Real MCP clients against the sandbox, each in its own environment under .compat/ (needs Node 20 and npm).
compat: $(STAMP)
	$(BIN)/python compat/run.py

## Rewrite the manifests and the README table from the settings model (src/channel_mcp/config.py).
manifests: $(STAMP)
	$(BIN)/python -m channel_mcp.manifests --write

## Run every benchmark and print one summary table (benchmarks/run_all.py).
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

## Remove the virtualenv, the compat clients and the tool caches.
clean:
	rm -rf $(VENV) .compat .pytest_cache .mypy_cache .ruff_cache
