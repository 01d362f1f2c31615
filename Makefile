# The two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export FLASK_APP := app

.PHONY: run test install install-test browsers db demo lint clean bench

$(STAMP): setup.cfg constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

db: install
	$(VENV)/bin/mash db upgrade

demo: db
	$(VENV)/bin/mash demo

run: demo
	$(VENV)/bin/mash run --host 127.0.0.1 --port 5000

lint: install
	$(VENV)/bin/lint-imports

test: install lint
	MASH_CONFIG=test $(VENV)/bin/pytest -q -p no:cacheprovider
	@if [ -n "$$MASH_TEST_DATABASE_URL" ]; then \
	  echo "== again on $$MASH_TEST_DATABASE_URL =="; \
	  MASH_CONFIG=test MASH_TEST_BACKEND=postgresql $(VENV)/bin/pytest -q -p no:cacheprovider; \
	fi

bench: install
	$(PY) bench/stage1.py

clean:
	rm -rf $(VENV) instance *.egg-info
