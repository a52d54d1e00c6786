# dxkpi — `make` alone lists the targets. Every target builds the environment it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RAW ?= data/raw
PROCESSED ?= data/processed
FY ?=
LAB_ARGS ?=

.PHONY: help env sample ingest report test test-fast test-browser browser-deps lint typecheck lab clean bench

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "dxkpi needs Python >= 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,oracle]'
	touch $(STAMP)

env: $(STAMP) ## Create .venv and install the project (runs only when pyproject.toml changed)

sample: $(STAMP) ## Generate the sample city into data/raw/ if it holds no data files
	@if ls $(RAW)/*.csv $(RAW)/*.xlsx >/dev/null 2>&1; then \
		echo "$(RAW) already holds data files: keeping them (sample not generated)"; \
	else $(BIN)/dxkpi sample --out $(RAW); fi

ingest: $(STAMP) ## Validate data/raw and write data/processed (quarantine + manifest)
	$(BIN)/dxkpi ingest --raw $(RAW) --out $(PROCESSED)

report: sample ingest ## Sample (if needed) → ingest → the full report set (reports/FY<year>/)
	$(BIN)/dxkpi report $(if $(FY),--fy $(FY),)

test: $(STAMP) ## Lint, types, doctests and the whole test suite (browser checks: make test-browser)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m "not browser" --doctest-modules src/dxkpi tests

test-fast: $(STAMP) ## The unit tests only (no papermill, no ingest runs, no sample city): < 60 s
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m "not slow and not integration and not browser" tests

browser-deps: ## Install Debian's chromium, a Japanese font, LibreOffice Calc and poppler (needs root; apt-get)
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi 'CJK' \
		|| ! command -v soffice >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				chromium fonts-noto-cjk libreoffice-calc-nogui poppler-utils; \
		else echo "install them (root needed): sudo apt-get install chromium fonts-noto-cjk libreoffice-calc-nogui poppler-utils"; exit 1; fi; \
	fi

test-browser: $(STAMP) browser-deps ## Real-browser check of the reports (headless Chromium, offline)
	$(BIN)/python -m pytest -q -m browser

lint: $(STAMP) ## ruff (lint and format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP) ## mypy on src/
	$(BIN)/mypy

lab: $(STAMP) ## JupyterLab on 127.0.0.1 with token auth, kernel = this project's .venv (as root: LAB_ARGS=--allow-root)
	@if [ "$$(id -u)" = "0" ] && ! grep -qw -- '--allow-root' <<< "$(LAB_ARGS)"; then \
		echo "root で実行しています。JupyterLab は root では起動しません。一般ユーザーで実行するか、root のまま使うなら: make lab LAB_ARGS=--allow-root" >&2; \
		echo "Running as root: JupyterLab will not start as root. Run it as an ordinary user, or to go on as root: make lab LAB_ARGS=--allow-root" >&2; \
		exit 2; \
	fi
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser --ServerApp.open_browser=False $(LAB_ARGS)

bench: $(STAMP) ## Run the benchmarks (slow; prints figures beside the peer tools)
	$(BIN)/python benchmarks/ingest_scale.py
	$(BIN)/python benchmarks/kpi_scale.py
	$(BIN)/python benchmarks/did_speed.py
	$(BIN)/python benchmarks/did_workload.py
	$(BIN)/python benchmarks/did_coverage.py
	$(BIN)/python benchmarks/did_attrition.py
	$(BIN)/python benchmarks/did_pretest_size.py
	$(BIN)/python benchmarks/did_cluster_coverage.py
	$(BIN)/python benchmarks/report_set.py

clean: ## Delete generated outputs (data/processed, reports, caches); never data/raw
	find $(PROCESSED) -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf data/.processed.*
	find reports -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis
