# Calories — the two commands a newcomer needs are `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) stack/stack.py
# Databases whose outbox Debezium reads (one connector each).
OUTBOX_DATABASES ?=

.PHONY: up down status test unit integration lint schemas connectors bench-outbox clean-stack

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "[make] installing Python packages (pinned in pyproject.toml)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

## Start the whole local system: Postgres, Kafka, Connect + Debezium, registry, schemas, connectors.
up: venv
	@$(STACK) up
	@$(PY) -m chassis.catalog sync
	@$(if $(strip $(OUTBOX_DATABASES)),$(PY) -m connectors.register $(OUTBOX_DATABASES),true)
	@$(STACK) status

down:
	@$(STACK) down

status:
	@$(STACK) status

schemas: venv
	@$(PY) -m chassis.catalog sync

lint: venv
	@$(VENV)/bin/ruff check .

unit: venv
	@$(PY) -m pytest tests/unit -q

integration: venv
	@$(PY) -m pytest tests/integration -q

## Everything CI checks: lint, the stack up, schema compatibility (check before register), all tests.
test: lint up
	@$(PY) -m pytest tests -q -p no:cacheprovider

bench-outbox: up
	@$(PY) -m loadtest.bench_outbox

## Stop the stack and delete its data (downloads stay cached).
clean-stack: down
	@rm -rf .stack/data .stack/logs .stack/run .stack/etc
