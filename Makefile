# translocus — set-up, demo and tests. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3.11
# Extras installed for the tests: dev tools, and torch (CPU build) for the accelerated path.
TEST_EXTRAS ?= dev,gpu
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo view test browser lint typecheck docs pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(TEST_EXTRAS)]"
	touch $(STAMP)

## demo: set up, simulate a study, run every engine and write demo/report.html
demo: $(STAMP)
	$(BIN)/translocus demo --out demo

## view: the demo study (after `make demo`) in the viewer at http://127.0.0.1:8765/
view: $(STAMP)
	$(BIN)/translocus serve demo

## test: set up, lint, type-check, build the API reference and run the whole test suite
test: $(STAMP) browser lint typecheck docs pytest

## browser: the viewer's browser tests drive Debian's chromium; install it where it is missing
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; } \
	  || { echo "the viewer's browser tests need chromium: run 'apt-get install chromium' (as root)"; exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs/api
	$(BIN)/ruff format --check src tests benchmarks docs/api

typecheck: $(STAMP)
	$(BIN)/mypy

## docs: the API reference (Sphinx + numpydoc) in docs/_build/html; a warning fails the build
docs: $(STAMP)
	rm -rf docs/_build docs/api/generated
	$(BIN)/sphinx-build -b html -W --keep-going -q docs/api docs/_build/html

pytest: $(STAMP)
	$(BIN)/pytest -n 2 -q

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache docs/_build docs/api/generated
