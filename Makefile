# Agora: `make run` starts the platform with demo data; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PORT ?= 8000
HOST ?= 127.0.0.1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run serve install install-test migrate demo static test lint typecheck unit e2e messages bench clean help

help:
	@echo "make run     install, migrate, load demo data and serve on http://$(HOST):$(PORT)"
	@echo "make test    install test dependencies and run lint, type checks, unit/API and browser tests"
	@echo "make bench   run the benchmarks under bench/ (see docs/PERFORMANCE.md)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(UV): | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.base-installed: requirements/base.txt | $(UV)
	$(UV) pip install --quiet --python $(PY) --compile-bytecode -r requirements/base.txt
	@touch $@

$(VENV)/.test-installed: requirements/test.txt | $(UV)
	$(UV) pip install --quiet --python $(PY) --compile-bytecode -r requirements/test.txt
	@touch $@ $(VENV)/.base-installed

install: $(VENV)/.base-installed
install-test: $(VENV)/.test-installed

migrate: install
	$(PY) manage.py migrate --noinput -v 0

demo: migrate
	$(PY) manage.py demo --if-empty

# Collected again only when a static file or a dependency changed, so a second `make run` is quick.
STATIC_SOURCES := $(shell find agora -path '*/static/*' -type f 2>/dev/null)
var/static/staticfiles.json: $(STATIC_SOURCES) $(VENV)/.base-installed
	$(PY) manage.py collectstatic --noinput -v 0

static: var/static/staticfiles.json

run: demo static
	@echo ""
	@echo "  Agora is starting on http://$(HOST):$(PORT)/   (admin: /admin/, API docs: /api/v1/docs)"
	@echo "  Demo sign-in: demo / agora-demo   (operator: admin / agora-admin)"
	@echo "  Stop with Ctrl-C."
	@echo ""
	@# Periodic tasks (expiring unpaid orders, reconciling payments, trending) run beside the server, and stop with it.
	AGORA_SITE_URL=$${AGORA_SITE_URL:-http://$(HOST):$(PORT)}; export AGORA_SITE_URL; \
	  $(PY) manage.py periodic & PERIODIC=$$!; trap 'kill $$PERIODIC 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/uvicorn agora.asgi:application --host $(HOST) --port $(PORT) --no-access-log

# The test command (also called twice by .ci/run: on SQLite, then on PostgreSQL + Redis).
test: install-test lint typecheck unit e2e

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-test
	$(VENV)/bin/mypy agora

unit: install-test
	$(VENV)/bin/pytest --ds agora.settings_test agora -q -p no:randomly

e2e: install-test
	bash scripts/ensure-chromium.sh
	$(VENV)/bin/pytest --ds agora.settings_test tests/e2e -q

messages: install-test
	$(PY) manage.py makemessages -l ru --no-obsolete -i '.venv/*' -i 'var/*' -i 'tests/*' -i '*/tests/*' -i 'bench/*'
	$(PY) manage.py compilemessages -i .venv

bench: install-test
	bash bench/run.sh

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
