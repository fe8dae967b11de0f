# InsureOps: `make up` starts the platform, `make test` runs every test. See README.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: up up-detached down status test test-unit bench install clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start Kafka, PostgreSQL and every service with demo data; Ctrl-C stops everything.
up: $(STAMP)
	$(PY) -m devstack up

## The same, returning once ready (stop with `make down`).
up-detached: $(STAMP)
	$(PY) -m devstack up --detach

down: $(STAMP)
	$(PY) -m devstack down

status: $(STAMP)
	$(PY) -m devstack status

## Every test: unit, integration and end-to-end on the real Kafka and PostgreSQL (started if not running).
test: $(STAMP)
	$(PY) -m pytest -q

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

## Throughput, latency and memory figures (starts the stack if needed).
bench: $(STAMP)
	$(PY) -m bench
	$(PY) -m bench.pipeline
	$(PY) -m bench.tasks
	$(PY) -m bench.contracts
	$(PY) -m bench.notifications
	$(PY) -m bench.gateway

clean: down
	rm -rf .run
