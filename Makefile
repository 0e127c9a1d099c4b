# The two commands of the README. Both work on a fresh machine with only Python >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help run test lint bench schema clean
.DEFAULT_GOAL := help

# pip runs --quiet: say what the silent minute is before it starts.
$(STAMP): pyproject.toml
	@echo "Installing Lvyue and its dependencies into $(VENV) (about a minute the first time, quietly)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)
	@echo "Installed into $(VENV)."

## make run: migrate, seed an empty database, then web + worker + WeChat sandbox (Ctrl-C stops all)
run: $(STAMP)
	LVYUE_ENV=$${LVYUE_ENV:-development} $(BIN)/bff migrate
	LVYUE_ENV=$${LVYUE_ENV:-development} $(BIN)/bff seed --if-empty
	LVYUE_ENV=$${LVYUE_ENV:-development} $(BIN)/bff dev

## make test: the whole suite (embedded SQLite/Redis, or DATABASE_URL / REDIS_URL when set)
test: $(STAMP) /usr/bin/chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests drive Debian's chromium (never a downloaded browser); the font gives their
# screenshots Chinese glyphs.
/usr/bin/chromium:
	@echo "Installing Debian's chromium for the browser test (apt-get)..."
	@DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

## make lint: ruff check and mypy (strict)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## make bench: the benchmarks under bench/, each printing its figures (PostgreSQL + Redis of this machine)
# The benchmarks take turns on one PostgreSQL database (each drops and creates it again, so its
# name must contain "bench") and one Redis db (flushed before each); override with BENCH_*_URL.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lvyue_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "installing wrk (bench/web.py's load generator)"; \
	  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }
	@for b in bench/*.py; do echo "== $$b"; \
	  $(BIN)/python -c "import redis; redis.Redis.from_url('$(BENCH_REDIS_URL)').flushdb()" || exit 1; \
	  DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) PYTHONPATH=. $(BIN)/python $$b || exit 1; done

## make schema: write schema/schema.graphql from the code (commit it with any schema change)
schema: $(STAMP)
	$(BIN)/bff export-schema

## make clean: start over: delete .venv and data/ (the SQLite database, embedded Redis, sandbox state)
clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

## make help: this list
help:
	@sed -n 's/^## make /make /p' $(MAKEFILE_LIST) | sed 's/: /\t/' | expand -t 14
