# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a step.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LAKEHOUSE := $(BIN)/lakehouse
SCALE ?= 1
BENCH_SCALES ?= 1
SEED ?= 42
PYTEST_ARGS ?=

.PHONY: help setup lock demo serve test lint fmt db-up db-down db-status seed simulate replicate pipeline \
        reconcile crawl dashboard bench package-glue tf-check clean screenshots

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

CONSTRAINTS := requirements/constraints.txt

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c $(CONSTRAINTS)
	@touch $@

setup: $(VENV)/.installed ## Create .venv and install the project at the locked versions (idempotent)

lock: ## Refresh requirements/constraints.txt: newest versions pyproject.toml allows, fresh venv
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e '.[dev]'
	{ echo "# Exact versions of every Python dependency (pyproject.toml '.[dev]'), used by"; \
	  echo "# 'make setup' and CI as pip constraints. Refresh with 'make lock' (a fresh venv,"; \
	  echo "# the newest versions the bounds in pyproject.toml allow), then run 'make test'."; \
	  echo "# Python $$(.venv-lock/bin/python -c 'import sys; print(sys.version.split()[0])')"; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable; } > $(CONSTRAINTS)
	rm -rf .venv-lock

demo: setup db-up ## From a fresh clone: database, seed, replicate, pipeline, reconcile, query
	$(LAKEHOUSE) seed --scale $(SCALE) --seed $(SEED) --if-empty
	$(LAKEHOUSE) db counts
	$(LAKEHOUSE) replicate --once
	$(LAKEHOUSE) replicate status
	$(LAKEHOUSE) pipeline run
	$(LAKEHOUSE) reconcile
	$(LAKEHOUSE) athena -f athena-queries/business/tenant_performance_dashboard.sql
	@echo
	@echo "Dashboards: create a user for a tenant (its slug is in the table above), then serve the app:"
	@echo "  $(LAKEHOUSE) users create --tenant <slug> --email you@example.com"
	@echo "  make serve    # then open http://127.0.0.1:8000/analytics/"

serve: setup ## The app with the tenant dashboards on http://127.0.0.1:8000/analytics/ (PORT=8000)
	$(LAKEHOUSE) serve --port $(or $(PORT),8000)

screenshots: setup ## Refresh docs/screenshots/ (the README's) with the browser tests over a fresh small lake
	LAKEHOUSE_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/django_backend/test_analytics_browser.py -q

test: setup ## Lint, check formatting, type-check and run the whole test suite (real PostgreSQL, Spark, DuckDB)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: setup ## Format the Python code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

db-up: setup ## Start the private PostgreSQL 15 cluster and apply the migrations
	$(LAKEHOUSE) db up

db-down: setup ## Stop the private PostgreSQL cluster
	$(LAKEHOUSE) db down

db-status: setup ## Show the state of the private PostgreSQL cluster
	$(LAKEHOUSE) db status

seed: setup db-up ## Load deterministic fake data (SCALE=1 SEED=42), replacing what is there
	$(LAKEHOUSE) seed --scale $(SCALE) --seed $(SEED) --reset

simulate: setup db-up ## Simulate business activity (RATE=1000 SECONDS=60) on the seeded data
	$(LAKEHOUSE) simulate --rate $(or $(RATE),1000) --seconds $(or $(SECONDS),60)

replicate: setup db-up ## Replicate the source into bronze until Ctrl-C (REPLICATE_ARGS=--once to stop when caught up)
	$(LAKEHOUSE) replicate $(REPLICATE_ARGS)

pipeline: setup ## Run the Glue jobs locally: silver, gold, quality report (PIPELINE_ARGS=--full-refresh)
	$(LAKEHOUSE) pipeline run $(PIPELINE_ARGS)

reconcile: setup ## Compare PostgreSQL with silver per tenant and table; nonzero on any difference
	$(LAKEHOUSE) reconcile

crawl: setup ## Register the lake's bronze, silver and gold tables in the local catalog
	$(LAKEHOUSE) crawl

dashboard: crawl ## The tenant performance dashboard query (TENANT=<slug> scopes it to one tenant)
	$(LAKEHOUSE) athena $(if $(TENANT),--tenant $(TENANT)) -f athena-queries/business/tenant_performance_dashboard.sql

clean: ## Stop the database and delete local state and the lake
	-$(LAKEHOUSE) db down
	rm -rf .lakehouse lake dist

bench: setup ## Run every benchmark in bench/ (JSON in bench/results/; BENCH_SCALES=1,10,30 for the scale bench)
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; BENCH_SCALES=$(BENCH_SCALES) $(BIN)/python -m bench.$$(basename $$b .py); done

package-glue: setup ## Build dist/glue/: the Glue job scripts and lakehouse_glue.zip (reproducible)
	$(BIN)/python -m lakehouse.deploy.package_glue --out dist/glue

tf-check: setup package-glue ## Terraform fmt, offline init, validate, plan against moto, checkov (needs LAKEHOUSE_TF_PLUGIN_DIR)
	$(BIN)/python -m lakehouse.deploy.tf_check --artifacts dist/glue
