# The two commands of the README. Both work on a fresh machine with only Python >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## make run: migrate, seed an empty database, then web + worker + WeChat sandbox (Ctrl-C stops all)
run: $(STAMP)
	LVYUE_ENV=$${LVYUE_ENV:-development} $(BIN)/bff migrate
	LVYUE_ENV=$${LVYUE_ENV:-development} $(BIN)/bff seed --if-empty
	LVYUE_ENV=$${LVYUE_ENV:-development} $(BIN)/bff dev

## make test: the whole suite (embedded SQLite/Redis, or DATABASE_URL / REDIS_URL when set)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
