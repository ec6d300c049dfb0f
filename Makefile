# capitalcom-sdk: every target creates .venv when missing and installs the project into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: all install demo test test-live lint typecheck unit bench docs docs-serve format clean

all: test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[all,dev,docs,catalog]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict src/capitalcom_sdk src/capitalcom_sim tools

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint unit

# The opt-in suite against the real demo server: needs CAPITAL_API_KEY, CAPITAL_IDENTIFIER and
# CAPITAL_PASSWORD (CAPITAL_LIVE_TRADING=1 adds one smallest-size trade, opened and closed).
test-live: $(STAMP)
	$(BIN)/python -m pytest tests/live -m live $(PYTEST_ARGS)

# The documentation site, built strictly (a broken link, anchor or API reference fails) into
# build/site; tests/docs builds it too, so `make test` checks it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

bench: $(STAMP)
	$(BIN)/python -m bench

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
