# safepassage — the targets CI runs unchanged.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Build the seeded demo operation on SQLite and serve it on http://127.0.0.1:8000
demo: $(STAMP)
	SAFEPASSAGE_DEMO=true $(BIN)/safepassage demo --db sqlite:///demo-data/demo.db

## The whole test suite: unit, integration on SQLite and PostgreSQL, end-to-end in Chromium
test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## Benchmarks against their targets (loads 1,000,000 registrants; takes several minutes)
bench: $(STAMP)
	$(BIN)/python -m bench.registry

clean:
	rm -rf $(VENV) demo-data .pytest_cache .mypy_cache .ruff_cache
