# Two commands for a new user: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test fuzz lint format migrate demo clean

# The settings fail closed (DEBUG off, SECRET_KEY, ALLOWED_HOSTS and DEFAULT_FROM_EMAIL required). These
# targets are for development: DEBUG=true gives the development values (a key labelled dev-only-insecure,
# localhost, mail to the console) to them and to the Celery worker and beat `run` starts. Set DEBUG=false
# and the real values in the environment to run them against production settings.
run test fuzz migrate demo: export DEBUG ?= true

# (Re)install whenever pyproject.toml changes.
$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create a virtualenv: on Debian run 'apt-get install python3-venv' first." >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(INSTALLED)

install: $(INSTALLED)

migrate: install
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) load_demo

# Web server, Celery worker and Celery beat together; Ctrl-C stops all three.
run: demo
	@mkdir -p var/log
	@trap 'kill 0' EXIT INT TERM; \
	$(BIN)/celery -A itsm worker --loglevel=WARNING --concurrency=2 2>&1 | tee var/log/celery-worker.log & \
	$(BIN)/celery -A itsm beat --loglevel=INFO >var/log/celery-beat.log 2>&1 & \
	echo; echo "  Admin: http://$(HOST):$(PORT)/admin/    API: http://$(HOST):$(PORT)/api/v1/    API docs: http://$(HOST):$(PORT)/api/v1/docs/"; \
	echo "  The Celery worker prints the e-mails it sends here (console backend); beat logs to var/log/."; \
	echo "  Press Ctrl-C to stop."; echo; \
	$(MANAGE) runserver $(HOST):$(PORT)

test: install
	$(BIN)/pytest

# The API fuzz test (part of `make test`, with few examples) at length, from a new seed each run: FUZZ_SEED
# and FUZZ_EXAMPLES override (a failure prints the values that replay it); DATABASE_URL=postgres://... too.
FUZZ_EXAMPLES ?= 500
FUZZ_SEED ?= random
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest tests/test_api_fuzz.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var db.sqlite3 .pytest_cache .ruff_cache .hypothesis
