# Two commands for a fresh machine:  `make demo` runs the bot,  `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP  := $(VENV)/.installed-run
DEMO_STAMP := $(VENV)/.installed-demo
NODE_STAMP := tests/oidc_provider/node_modules/.installed
AXE_STAMP  := tests/browser/node_modules/.installed

.PHONY: test lint typecheck pytest install demo run clean

test: install lint typecheck pytest  ## everything CI runs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# running needs the bot alone (plus the PostgreSQL driver if database.url names PostgreSQL)
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[postgres]"
	touch $(RUN_STAMP)

# the demo adds a homeserver (Synapse) and a local mail catcher
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[demo]"
	touch $(DEMO_STAMP)

$(NODE_STAMP): tests/oidc_provider/package.json tests/oidc_provider/package-lock.json
	cd tests/oidc_provider && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(AXE_STAMP): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE_STAMP)

install: $(STAMP) $(NODE_STAMP) $(AXE_STAMP)

lint: install
	$(BIN)/ruff check bot cogs tests migrations benchmarks
	$(BIN)/ruff format --check bot cogs tests migrations benchmarks

typecheck: install
	$(BIN)/mypy bot cogs

pytest: install
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: $(DEMO_STAMP)  ## the whole product on a local homeserver; make demo DEMO_ARGS=--no-wait
	$(BIN)/verifybot demo $(DEMO_ARGS)

run: $(RUN_STAMP)  ## make run CONFIG=config.toml
	$(BIN)/verifybot run --config $(CONFIG)

clean:
	rm -rf $(VENV) tests/oidc_provider/node_modules tests/browser/node_modules tests/artifacts \
	  .mypy_cache .ruff_cache
