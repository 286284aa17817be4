# Two commands for a fresh machine:  `make demo` runs the bot,  `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/oidc_provider/node_modules/.installed
AXE_STAMP  := tests/browser/node_modules/.installed

.PHONY: test lint typecheck pytest install run clean

test: install lint typecheck pytest  ## everything CI runs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

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

run: $(STAMP)  ## make run CONFIG=config.toml
	$(BIN)/verifybot run --config $(CONFIG)

clean:
	rm -rf $(VENV) tests/oidc_provider/node_modules tests/browser/node_modules tests/artifacts \
	  .mypy_cache .ruff_cache
