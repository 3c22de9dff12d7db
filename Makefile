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

# Until the `demo` command exists: serve the test web on loopback, check it over HTTP, crawl it
# (scrape), download its images, filter and shard them (the furthest end-to-end path so far; no CLIP
# weights can be fetched here, so the demo filters without CLIP), then show the status.
DEMO_DIR ?= wit-data/demo
demo: install
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@$(BIN)/wit-pipeline testweb serve --pages 12 --duration 600 -q > $(DEMO_DIR)/testweb.url & \
	server=$$!; trap "kill $$server 2>/dev/null" EXIT; \
	for _ in $$(seq 100); do [ -s $(DEMO_DIR)/testweb.url ] && break; sleep 0.1; done; \
	url=$$(head -n1 $(DEMO_DIR)/testweb.url); echo "test web at $$url"; \
	set -e; \
	$(BIN)/wit-pipeline --workdir $(DEMO_DIR) scrape $${url}index.html --rate 100 --max-depth 3; \
	$(BIN)/wit-pipeline --workdir $(DEMO_DIR) download --allow-private-networks --timeout 3 --retries 1 \
		--samples-per-shard 50; \
	$(BIN)/wit-pipeline --workdir $(DEMO_DIR) filter --clip-model none --min-image-size 32; \
	$(BIN)/wit-pipeline --workdir $(DEMO_DIR) shard --samples-per-shard 32; \
	$(BIN)/wit-pipeline verify-shards $(DEMO_DIR)/shards; \
	$(BIN)/wit-pipeline --workdir $(DEMO_DIR) status

test: install lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
