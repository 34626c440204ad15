# safepassage — the targets CI runs unchanged.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench install lock clean

# Installs exactly what requirements.lock pins, every file checked against its hash; the package
# itself goes in editable, without resolving anything again.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
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

## Pin the dependencies again after a change to pyproject.toml (pip-tools, in its own venv)
lock:
	test -x .lock-venv/bin/pip-compile || ($(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet pip-tools)
	.lock-venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --extra dev -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .lock-venv demo-data .pytest_cache .mypy_cache .ruff_cache
