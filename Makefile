# The two commands a fresh machine needs: `make demo` and `make test`.
# Everything else here is for people working on the platform.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSDEPS_STAMP := .scrm/.system-deps
PYTEST_EXIT_FILE := .scrm/pytest-exit-code

.PHONY: help install system-deps messages demo up down test test-unit test-integration test-e2e test-browser test-faults lint format bench docs lock infra-up infra-down clean

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml devtools/pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# The grep only hides this machine's noise about absent local index folders; pip's status still counts.
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]" 2>&1 | { grep -v "^WARNING: Location" || true; }
	@# The dev tools (demo, bench, synthetic data): their own distribution, never in the wheel or the image.
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ./devtools 2>&1 | { grep -v "^WARNING: Location" || true; }
	@$(BIN)/scrm --help >/dev/null
	@$(BIN)/scrm demo --help >/dev/null
	@touch $@

$(SYSDEPS_STAMP): deploy/local/install-system-deps.sh
	@bash deploy/local/install-system-deps.sh
	@mkdir -p $(dir $@) && touch $@

install: $(STAMP) $(SYSDEPS_STAMP)  ## Create .venv, install the project and the Debian packages it needs

system-deps: $(SYSDEPS_STAMP)  ## Install tesseract, Chinese OCR data and CJK fonts (apt)

demo: install  ## Run the platform end to end on local infrastructure and print a summary
	$(BIN)/scrm demo

up: install  ## Start everything with the demo's data and keep it running; prints the console URL and sign-ins
	$(BIN)/scrm up

down: install  ## Stop what `make up` started
	$(BIN)/scrm down

test: install  ## Run every test tier (unit, integration, e2e, browser)
	@mkdir -p .scrm
	@rc=0; $(BIN)/python -m pytest tests -q -p no:cacheprovider --durations=20 --cov --cov-report=term || rc=$$?; \
	  echo $$rc > $(PYTEST_EXIT_FILE); \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; fi; \
	  exit $$rc

test-unit: install  ## Unit tests only (no infrastructure)
	$(BIN)/python -m pytest tests/unit -q

test-integration: install  ## Integration tests (Tansu + SecantusDB, started by the fixtures)
	$(BIN)/python -m pytest tests/integration -q

test-e2e: install  ## End-to-end tests (real service processes)
	$(BIN)/python -m pytest tests/e2e -q

test-browser: install  ## Browser tests (headless Chromium against the real services; SCRM_CONSOLE_SCREENSHOTS=1 writes docs/console/*.png)
	$(BIN)/python -m pytest tests/browser -q

test-faults: install  ## Fuzz tests with many examples, then the fault-injection run of 10,000 pushes (docs/operations.md "Faults")
	@# Inside `make test` the fuzz tests run few, derandomized examples (profile "quick") and the fault run is short.
	SCRM_FUZZ_PROFILE=faults $(BIN)/python -m pytest tests/unit/fuzz -q -p no:cacheprovider --timeout=3600 --hypothesis-show-statistics
	@# SCRM_FAULTS_SEED picks the scenario, SCRM_FAULTS_PUSHES its size, SCRM_FAULTS_BROKER=0 leaves the broker alone.
	SCRM_FAULTS_PUSHES=$${SCRM_FAULTS_PUSHES:-10000} $(BIN)/python -m pytest tests/faults -q -s -p no:cacheprovider --timeout=7200

lint: install  ## ruff, mypy and the layering contracts (.importlinter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

format: install  ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install  ## Benchmarks; results go to docs/benchmarks.md
	@bash deploy/local/install-system-deps.sh wrk
	$(BIN)/scrm bench --output docs/benchmarks.md

CONSOLE := services/console
messages: install  ## Extract the console's texts and merge them into its catalogs (then translate the new zh_CN entries)
	$(BIN)/pybabel extract -F $(CONSOLE)/babel.cfg -k _ -k gettext -k N_ -k _text:2 --no-location --sort-output \
	  --omit-header --width 120 --project scrm-console -o $(CONSOLE)/translations/messages.pot $(CONSOLE) >/dev/null
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --width 120 -i $(CONSOLE)/translations/messages.pot \
	  -d $(CONSOLE)/translations -l zh_CN >/dev/null
	@$(BIN)/python -m scrm_dev.catalogs $(CONSOLE)/translations

docs: install  ## Regenerate docs generated from code (docs/events.md, docs/configuration.md)
	$(BIN)/scrm docs events --output docs/events.md
	$(BIN)/scrm docs configuration --output docs/configuration.md

lock: install  ## Re-pin constraints.txt from the current environment
	$(BIN)/python -m pip freeze --exclude-editable --exclude scrm | sort -f > constraints.txt

infra-up: install  ## Start the local Kafka- and MongoDB-protocol servers
	$(BIN)/scrm infra up

infra-down: install  ## Stop them
	$(BIN)/scrm infra down

clean:  ## Remove the venv and local state
	-$(BIN)/scrm infra down 2>/dev/null
	rm -rf $(VENV) .scrm .pytest_cache .mypy_cache .ruff_cache
