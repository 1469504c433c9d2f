# Calories — the two commands a newcomer needs are `make up` and `make test`.
SHELL := /bin/bash
# Every process refuses to start without an explicit environment; everything make starts is local.
export CALORIES_ENVIRONMENT ?= development
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) stack/stack.py
.PHONY: up down status test unit integration service lint schemas bench-outbox bench-diary bench-saga bench-write clean-stack venv

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "[make] installing Python packages (pinned in pyproject.toml)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

## Start the whole local system: the engines, migrations, schemas (checked, then registered),
## one outbox connector per service database, then the services, processors and the gateway
## (all at once). Ports move with CALORIES_*_PORT, the state folder with CALORIES_STACK_DIR.
## Postgres first: the migrations need only it, so they run while the other engines (three JVMs)
## start; the schemas once the registry and Kafka are up.
up: venv
	@$(STACK) provision
	@$(STACK) start postgres
	@# The schemas need only the registry and Kafka: their sync runs while Connect and the monitoring start.
	@$(STACK) up & engines=$$!; \
	  $(PY) -m chassis.migrate --all && $(STACK) wait kafka registry && $(PY) -m chassis.catalog sync; \
	  ready=$$?; wait $$engines && exit $$ready
	@# Connectors before the services, never beside them: a connector captures from the moment its
	@# replication slot exists (snapshot.mode=no_data), so a row a service writes earlier (auth creates
	@# the admin at start-up) would never become an event. The processors write only what an event
	@# or an order past its deadline (orders_saga's expiry timer) causes: neither exists before the
	@# connectors on a new stack, and on an old one the slots already do. So the processors (the
	@# slowest to be ready) start while the connectors are registered. The fork server goes first, so
	@# that the apps are forked from one that has today's libraries (strays: stack/stack.py).
	@$(STACK) strays
	@$(STACK) apps processors & procs=$$!; \
	  $(PY) -m connectors.register --all && $(STACK) apps services; started=$$?; wait $$procs && exit $$started
	@$(STACK) status
	@$(PY) stack/seed.py
	@echo "[make] the HTTP entry is http://localhost:$${CALORIES_GATEWAY_PORT:-8000}"
	@echo "[make] Prometheus (every part's metrics, rules and alerts) is http://127.0.0.1:$${CALORIES_PROMETHEUS_PORT:-9090}"

## Stop everything: the apps, Connect and the registry at once, then Kafka and Postgres.
down:
	@$(STACK) down

status:
	@$(STACK) status

schemas: venv
	@$(PY) -m chassis.catalog sync

lint: venv
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy

unit: venv
	@$(PY) -m pytest tests/unit -q

integration: venv
	@$(PY) -m pytest tests/integration -q

## Use cases on the stack's Postgres, each in a rolled-back transaction (needs `make up`; < 1 min).
service: venv
	@$(PY) -m pytest tests/service -q -p no:cacheprovider

## Everything CI checks: lint, the stack up, schema compatibility (check before register), all tests.
## First the tests that leave the stack alone, two at a time (pytest-xdist). Then the ones marked
## `disruptive` (they kill, stop or restart parts of the stack): those marked `alone` by themselves,
## then the rest in two lanes side by side, one pytest process and one test at a time per lane
## (tests/lanes.py; tests/support.py, LANES).
test: lint up
	@$(PY) -m pytest tests -q -p no:cacheprovider -n 2 -m "not disruptive"
	@$(PY) -m pytest tests -q -p no:cacheprovider -m "disruptive and alone"
	@$(PY) -m tests.lanes

bench-outbox: up
	@$(PY) -m loadtest.bench_outbox

bench-diary: up
	@$(PY) -m loadtest.bench_diary

bench-saga: up
	@$(PY) -m loadtest.bench_saga

## POST /records through the HTTP entry beside a bare insert + outbox endpoint, in one run.
bench-write: up
	@$(PY) -m loadtest.bench_write

## API fuzzing through the HTTP entry as every role (needs `make up`); CALORIES_FUZZ_EXAMPLES=200 for a long run.
.PHONY: fuzz
fuzz: venv
	@$(PY) -m tests.fuzz.run

## Chaos under a steady locust load against the running stack (`make up` first): kills, a Postgres
## restart, a paused processor, network faults (Toxiproxy), SPEC §8 checked after each. ~15 min.
.PHONY: chaos
chaos: venv
	@$(PY) -m loadtest.chaos

## Stop the stack and delete its data (downloads stay cached).
clean-stack: down
	@rm -rf .stack/data .stack/logs .stack/run .stack/etc

## The Helm chart offline (helm lint/template for dev and prod, schemas, chart vs code); `make test` runs it too.
.PHONY: charts-check
charts-check: venv
	@$(PY) -m pytest tests/charts -q -p no:cacheprovider

## Load test (locust journeys, Kafka lag, saga funnel, CPU/memory, the machine's limits) against the
## running stack (`make up` first; it is never started or stopped here). Bounded: ~3 min / ~8 min.
## Writes CSV, HTML, plots and report.md to docs/loadtest/short and docs/loadtest/full.
.PHONY: loadtest loadtest-full
loadtest: venv
	@$(PY) -m loadtest.run --profile short

loadtest-full: venv
	@$(PY) -m loadtest.run --profile full
