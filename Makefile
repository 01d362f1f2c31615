# The two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export FLASK_APP := app

ASSETS := app/static/vendor/.built

.PHONY: run test install assets browsers db demo lint format clean bench bench-scaling bench-memory serve wheel

$(STAMP): pyproject.toml setup.py constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

$(ASSETS): package.json package-lock.json tools/build-assets.mjs
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build
	touch $(ASSETS)

assets: $(ASSETS)

install: $(STAMP) $(ASSETS)

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
browsers:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

db: install
	$(VENV)/bin/mash db upgrade

demo: db
	$(VENV)/bin/mash demo

# The timer scheduler runs beside the web server (one process; never inside web workers).
run: demo
	$(VENV)/bin/mash scheduler & sched=$$!; trap "kill $$sched 2>/dev/null" EXIT INT TERM; \
	$(VENV)/bin/mash run --host 127.0.0.1 --port 5000

# Production server: gunicorn with WORKERS workers on BIND, plus the one timer scheduler. Uses
# whatever MASH_CONFIG / MASH_DATABASE_URL / MASH_SECRET_KEY say (no demo users); migrates first.
WORKERS ?= 2
BIND ?= 127.0.0.1:8000
serve: db
	$(VENV)/bin/mash scheduler & sched=$$!; trap "kill $$sched 2>/dev/null" EXIT INT TERM; \
	$(VENV)/bin/mash serve --workers $(WORKERS) --bind $(BIND)

# The wheel (with migrations, templates, static assets and the default models) in dist/.
wheel: install
	$(PIP) wheel -q --no-deps -w dist .
	rm -rf build

# Test processes (pytest-xdist): one per core; each has its own SQLite file or PostgreSQL schema.
TEST_WORKERS ?= auto

# Import contracts (import-linter), ruff (lint and format) and mypy: all configured in pyproject.toml.
lint: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/mypy

# Fix what ruff can (imports, modern syntax, ...) and format: run before committing.
format: install
	$(VENV)/bin/ruff check --fix
	$(VENV)/bin/ruff format

test: install browsers lint
	MASH_CONFIG=test $(VENV)/bin/pytest -q -p no:cacheprovider -n $(TEST_WORKERS)
	@if [ -n "$$MASH_TEST_DATABASE_URL" ]; then \
	  echo "== again on $$MASH_TEST_DATABASE_URL, every engine run on freshly parsed models (MASH_FRESH_BUNDLES) =="; \
	  MASH_CONFIG=test MASH_TEST_BACKEND=postgresql MASH_FRESH_BUNDLES=1 $(VENV)/bin/pytest -q -p no:cacheprovider -n $(TEST_WORKERS); \
	fi

# The benchmarks (docs/benchmark.md): the five-task model over HTTP beside SpiffArena's published figures,
# the engine per step, Stage 1 over HTTP and flat with 100 / 100 000 stored instances. A few minutes.
# bench-scaling (4 workers vs 1, needs PostgreSQL) and bench-memory (10 000 completions) are separate.
BENCH_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/mash_bench
bench: install
	$(PY) bench/five_tasks.py
	$(PY) bench/engine_steps.py
	$(PY) bench/stage1.py --cases 14 --cases-per-size 7

bench-scaling: install
	$(PY) bench/five_tasks.py --scaling --database-url $(BENCH_PG)

bench-memory: install
	$(PY) bench/five_tasks.py --memory 10000

clean:
	rm -rf $(VENV) instance *.egg-info node_modules app/static/vendor
