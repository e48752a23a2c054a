# Seabridge: `make run` starts everything, `make test` checks everything. Needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install lint migrations-check pytest bench stop-db clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	@touch $(STAMP)

install: $(STAMP)

run: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py bootstrap
	DEBUG=$${DEBUG:-1} $(PY) manage.py serve --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

migrations-check: install
	SEABRIDGE_TESTING=1 $(PY) manage.py makemigrations --check --dry-run

pytest: install
	SEABRIDGE_TESTING=1 $(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

test: lint migrations-check pytest

bench: install
	SEABRIDGE_TESTING=1 $(PY) -m bench.run_all

stop-db:
	@$(PY) -c "from config.database import embedded_database_stop; embedded_database_stop()"

clean: stop-db
	rm -rf .data $(VENV)
