# InsureOps: `make up` starts the platform, `make test` runs every test. See README.md.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: up up-detached down status lint test test-fast test-unit test-console test-down bench faults install clean console node-check browser pdftools libmagic \
        screenshots

# The console (console/): installed with `npm ci`, built by Vite into console/dist, which the gateway serves.
NPM            ?= npm
CONSOLE        := console
CONSOLE_STAMP  := $(CONSOLE)/node_modules/.installed
CONSOLE_BUILD  := $(CONSOLE)/dist/index.html
CONSOLE_INPUTS := $(shell find $(CONSOLE)/src $(CONSOLE)/public -type f 2>/dev/null) \
                  $(wildcard $(CONSOLE)/index.html $(CONSOLE)/vite.config.ts $(CONSOLE)/tsconfig*.json \
                             $(CONSOLE)/postcss.config.cjs)
# The browser the console's end-to-end tests drive: Debian's package (Playwright's own download is not used).
CHROMIUM       ?= /usr/bin/chromium

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

node-check:
	@command -v node >/dev/null 2>&1 || { echo "Node.js 20.19+ is needed to build the console: install it" \
	  "(https://nodejs.org, or your system's nodejs package) and run make again." >&2; exit 1; }
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
	  || { echo "Node.js $$(node --version) is too old: the console needs 20.19 or newer." >&2; exit 1; }

$(CONSOLE_STAMP): $(CONSOLE)/package-lock.json | node-check
	@echo "installing the console's packages (npm ci) ..."
	cd $(CONSOLE) && $(NPM) ci --no-audit --no-fund
	touch $@

$(CONSOLE_BUILD): $(CONSOLE_STAMP) $(CONSOLE_INPUTS)
	@echo "building the console (vite) ..."
	cd $(CONSOLE) && $(NPM) run build

## Build the console (the gateway serves console/dist at /).
console: $(CONSOLE_BUILD)

# libmagic, which the documents service reads an upload's content type with (python-magic): Debian's libmagic1.
libmagic:
	@ldconfig -p | grep -q 'libmagic\.so\.1' || { \
	  echo "installing Debian's libmagic1 for the documents service ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "libmagic is missing: install Debian's libmagic1 package (apt-get install libmagic1)" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q libmagic1; }

browser:
	@test -x $(CHROMIUM) || { \
	  echo "installing Debian's chromium for the console's browser tests ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "$(CHROMIUM) is missing: install Debian's chromium package (apt-get install chromium)" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# The compliance report's tests read its PDF back with poppler's pdftotext and pdftoppm.
pdftools:
	@command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || { \
	  echo "installing Debian's poppler-utils (pdftotext, pdftoppm) for the report's tests ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "pdftotext is missing: install Debian's poppler-utils package" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q poppler-utils; }

## Start Kafka, PostgreSQL and every service with demo data; Ctrl-C stops everything.
up: $(STAMP) libmagic console
	$(PY) -m devstack up

## The same, returning once ready (stop with `make down`).
up-detached: $(STAMP) libmagic console
	$(PY) -m devstack up --detach

down: $(STAMP)
	$(PY) -m devstack down

status: $(STAMP)
	$(PY) -m devstack status

# `make test` runs on a platform of its own (data in .run/test, ports apart from `make up`'s), never on the one a
# user started: the test session starts it, and stops it again at the end.
TEST_STACK ?= INSUREOPS_RUN_DIR=$(CURDIR)/.run/test INSUREOPS_HTTP_PORT_BASE=18100 INSUREOPS_KAFKA_PORT=19292 \
              INSUREOPS_KAFKA_CONTROLLER_PORT=19293 INSUREOPS_POSTGRES_PORT=15632

## The house's checks on the Python code: ruff's lint rules and format, mypy (strict for shared/); see pyproject.toml.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## Every test: the Python lint and type check; the console's lint, type check and unit tests; then unit, integration
## and end-to-end (a real Chromium on the console) on the real Kafka and PostgreSQL of a platform of the tests' own.
test: $(STAMP) libmagic lint test-console browser pdftools
	$(TEST_STACK) $(PY) -m pytest -q

## Stop the tests' platform if a test session left it running.
test-down: $(STAMP)
	$(TEST_STACK) $(PY) -m devstack down

test-console: $(CONSOLE_BUILD)
	cd $(CONSOLE) && $(NPM) run lint && $(NPM) run typecheck && $(NPM) test

## The fast tests (tests/<service>/, tests/shared/, ...): no Kafka, no services; a PostgreSQL of their own
## (.run/unit-pg, port 45632), each test's database work rolled back. Under a minute.
test-fast: $(STAMP) libmagic pdftools
	$(PY) -m pytest -q -m "not stack"

test-unit: test-fast

## Throughput, latency and memory figures (starts the stack if needed).
bench: $(STAMP) libmagic console browser
	$(eval BENCH_SINCE := $(shell date -u +%Y-%m-%dT%H:%M:%S+00:00))
	$(PY) -m bench
	$(PY) -m bench.pipeline
	$(PY) -m bench.tasks
	$(PY) -m bench.loop
	$(PY) -m bench.scale
	$(PY) -m bench.contracts
	$(PY) -m bench.notifications
	$(PY) -m bench.limits
	$(PY) -m bench.gateway
	$(PY) -m bench.idle
	$(PY) -m bench.audit_verify
	$(PY) -m bench.console
	$(PY) -m bench.imports
	$(PY) -m bench.summary --since $(BENCH_SINCE)

## The fault matrix: ROUNDS rounds (default 20; the bar is 200) of a real workload with one fault each, every
## invariant checked after recovery, on a platform of its own (.run/faults); SEED=n repeats a schedule. See README.md.
ROUNDS ?= 20
SEED   ?=
faults: $(STAMP) libmagic console
	$(PY) -m devstack.faults --rounds $(ROUNDS) $(if $(SEED),--seed $(SEED))

## A PNG of each console screen with demo data in docs/screenshots (on a platform of its own: --fresh).
screenshots: $(STAMP) console browser
	$(PY) -m devstack.screenshots --fresh

clean: down
	rm -rf .run
