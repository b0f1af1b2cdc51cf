# Two commands for a new user: `make run` and `make test`. Everything else is a helper for them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in e-mails point here: the served host and port unless set.
SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: install run port-free serve test fuzz lint format migrate demo clean prod prod-install prod-start lock audit faults bench

# The settings fail closed (DEBUG off, SECRET_KEY, ALLOWED_HOSTS and DEFAULT_FROM_EMAIL required). These
# targets are for development: DEBUG=true gives the development values (a key labelled dev-only-insecure,
# localhost, mail to the console; `run` appends it to var/log/mail.log) to them and to the Celery worker and
# beat `run` starts. Set DEBUG=false and the real values in the environment to run them against production
# settings.
run test fuzz faults migrate demo: export DEBUG ?= true

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
	$(MANAGE) load_demo $(DEMO_FLAGS)

# Web server, Celery worker and Celery beat together; Ctrl-C stops all three. E-mails go to var/log/mail.log,
# the worker's and beat's logs to var/log/, and only warnings and errors reach the terminal (LOG_LEVEL=INFO
# for more), besides the web server's requests. The demo's logins and alert token come last, in a box printed
# once the server answers, so nothing scrolls them away. Celery's warning about running as root is hidden (a
# container's root user is the usual case here). The web server runs in a process group of its own
# (setsid), so that stopping it also stops the child its autoreloader starts.
STOP_ALL = trap - EXIT INT TERM; kill -- -$$server $$worker $$beat 2>/dev/null; wait
PORT_ANSWERS = $(PYTHON) -c 'import socket, sys; socket.create_connection(("$(HOST)", $(PORT)), 1)' 2>/dev/null
run demo: export SITE_URL := $(SITE_URL)
run: export EMAIL_LOG_FILE ?= var/log/mail.log
run: export DJANGO_RUNSERVER_HIDE_WARNING ?= true
run: export LOG_LEVEL ?= WARNING
run: DEMO_FLAGS = --logins-file var/run/logins.txt
run: port-free demo
	@mkdir -p var/log
	@trap '$(STOP_ALL); exit 0' INT TERM; trap '$(STOP_ALL)' EXIT; \
	PYTHONWARNINGS="ignore:You're running the worker with superuser privileges" \
	  $(BIN)/celery -A itsm --quiet worker --loglevel=WARNING --concurrency=2 > >(tee var/log/celery-worker.log) 2>&1 & \
	worker=$$!; \
	$(BIN)/celery -A itsm beat --loglevel=INFO >var/log/celery-beat.log 2>&1 & beat=$$!; \
	setsid $(MANAGE) runserver $(HOST):$(PORT) & server=$$!; \
	until $(PORT_ANSWERS); do kill -0 $$server 2>/dev/null || exit 1; sleep 0.5; done; \
	echo; echo "  Press Ctrl-C to stop the web server, the worker and beat."; \
	cat var/run/logins.txt; \
	wait $$server

port-free:
	@if $(PORT_ANSWERS); then echo "Something already serves $(HOST):$(PORT); try: PORT=8001 make run" >&2; exit 1; fi

test: install
	$(BIN)/pytest

# The API fuzz test (part of `make test`, with few examples) at length, from a new seed each run: FUZZ_SEED
# and FUZZ_EXAMPLES override (a failure prints the values that replay it); DATABASE_URL=postgres://... too.
FUZZ_EXAMPLES ?= 500
FUZZ_SEED ?= random
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest tests/test_api_fuzz.py

# The fault tests (tests/faults; part of `make test` on PostgreSQL, with shorter faults) at full length:
# Redis away for 60 s, Redis hanging (accepting connections, answering nothing), the worker killed,
# PostgreSQL's connections terminated for 30 s, twenty racing resolves. Each prints its counts ("faults: ..."). They need PostgreSQL (DATABASE_URL, default below;
# pytest creates test_<name> beside it) and the redis-server binary: each test starts its own Redis on a
# free port and its own gunicorn, worker and beat, never touching the machine's.
faults: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/itsm_faults
faults: install
	FAULTS_REQUIRED=true FAULTS_REDIS_OUTAGE_SECONDS=60 FAULTS_LOAD_SECONDS=30 $(BIN)/pytest tests/faults

# The benchmark suite (bench/run.py; README "Performance"; not part of `make test`): creates and migrates
# BENCH_DATABASE_URL's database when missing, fills it with generated incidents (bench/generate.py, 1M
# unless BENCH_ARGS says --n ...), times the lists, details, queues and jobs, prints the table and writes
# var/bench/results.json. BENCH_ARGS="--sizes 10000,1000000" measures two databases and their growth.
bench: export BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/itsm_bench
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Production (README "Production"): the locked dependencies, then the deployment check, migrations and static
# files, then the web server, the Celery worker and beat under honcho (Procfile), each restarted after a crash;
# Ctrl-C or SIGTERM stops them together. Production settings: DEBUG stays off, and without SECRET_KEY,
# ALLOWED_HOSTS or DEFAULT_FROM_EMAIL (in .env or the environment) it stops at the first step. Every step
# runs through honcho, so each reads the same ENV_FILE the same way (its values win over the shell's).
ENV_FILE ?= .env
PROD_PATH = PATH="$(CURDIR)/$(BIN):$$PATH"
HONCHO = $(PROD_PATH) $(BIN)/honcho --env $(ENV_FILE)
# The exact versions and hashes of requirements.lock, installed on every start (quick when nothing changed),
# so versions the development install left in the shared .venv never run in production; the project itself
# on top, without resolving again. On a server: `make prod-install` once, then the systemd units (deploy/).
prod-install:
	@test -x $(BIN)/python || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --upgrade pip; } || { \
	  echo "Could not create a virtualenv: on Debian run 'apt-get install python3-venv' first." >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .

prod: prod-install prod-start

# Everything of `make prod` but the install (the tests run it against the suite's own virtualenv).
prod-start:
	@$(HONCHO) run $(MANAGE) check --deploy || { \
	  echo "make prod: fix the settings named above in $(ENV_FILE) (see deploy/.env.example)." >&2; exit 1; }
	$(HONCHO) run $(MANAGE) migrate --noinput
	$(HONCHO) run $(MANAGE) collectstatic --noinput --verbosity 0
	$(PROD_PATH) exec $(BIN)/honcho --env $(ENV_FILE) start

# requirements.lock: every runtime dependency pinned with its hashes, resolved from PyPI alone (this
# machine's pip configuration, extra indexes and local wheels left out) for Python 3.11.
lock: install
	PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet \
	  --generate-hashes --allow-unsafe --strip-extras --index-url https://pypi.org/simple --no-emit-index-url \
	  --output-file requirements.lock pyproject.toml

# Known vulnerabilities in the locked dependencies (PyPI's advisory data, so it needs PyPI's JSON API).
# --strict: a package it could not look up fails the audit rather than passing unchecked.
audit: install
	$(BIN)/pip-audit --requirement requirements.lock --require-hashes --disable-pip --strict --progress-spinner off

clean:
	rm -rf $(VENV) var db.sqlite3 .pytest_cache .ruff_cache .hypothesis
