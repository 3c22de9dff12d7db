# The two commands a fresh machine needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# img2dataset pulls albumentations, which phones home at import unless told not to.
export NO_ALBUMENTATIONS_UPDATE := 1
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install demo test lint format

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[all]'
	@touch $@

# The demo: serve a noisy test web on 127.0.0.1, scrape, download, train a bootstrap scorer on a
# clean seed web, filter with it, shard, and train five small CLIPs at equal steps (no filter,
# basic rules, CLIP score, CLIP score + dedupe, + MetaCLIP balancing); prints the table and
# writes $(DEMO_DIR)/demo.json.
DEMO_DIR ?= wit-data/demo
demo: install
	$(BIN)/wit-pipeline --workdir $(DEMO_DIR) demo --fresh

test: install lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every benchmark against its anchor (sizes in benchmarks/run_all.py: under 20 minutes on 2
# cores), then BENCHMARKS.md rewritten from the figures of that run.
.PHONY: bench scale
bench: install
	$(BIN)/python benchmarks/run_all.py

# The scale study: the whole pipeline on the test web at 1k, 10k and 100k samples, time and peak
# memory per stage, then BENCHMARKS.md (about 40 minutes on 2 cores the first time, 16 of them
# rendering the test web's images into wit-data/scale/webs); not part of bench.
scale: install
	$(BIN)/python benchmarks/scale_study.py
	$(BIN)/python benchmarks/run_all.py --render-only
