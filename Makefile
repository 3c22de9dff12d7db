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

# Until the `demo` command exists: serve and check the test web over HTTP, then build it as
# files and scrape it into a workspace (the furthest end-to-end path so far).
DEMO_DIR ?= wit-data
demo: install
	$(BIN)/wit-pipeline testweb serve --pages 8 --duration 1 --check
	rm -rf $(DEMO_DIR)/testweb-site
	$(BIN)/wit-pipeline testweb build $(DEMO_DIR)/testweb-site --pages 8 --base-url http://127.0.0.1:8000
	$(BIN)/wit-pipeline --workdir $(DEMO_DIR) scrape $(DEMO_DIR)/testweb-site --base-url http://127.0.0.1:8000/
	$(BIN)/wit-pipeline --workdir $(DEMO_DIR) status

test: install lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
