# Seabridge: `make run` starts everything, `make test` checks everything. Needs only Python 3.11+.
# Python 3.11 (what requirements.lock was resolved with) if on PATH, else a newer one; or PYTHON=/path/to/python3.
PYTHON ?= $(shell for candidate in python3.11 python3.12 python3.13 python3; do \
	command -v $$candidate >/dev/null 2>&1 && echo $$candidate && break; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=
API_CHECK_ARGS ?=

# Python keeps compiled modules in __pycache__ (ignored by git). Container images often set PYTHONDONTWRITEBYTECODE=1,
# and then every process compiled the project and its packages from source again: 2.5 s of a 4 s `manage.py check`,
# paid by every server, worker and command that `make run`, the tests and the benchmarks start.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test install lint migrations-check pytest api-check messages bench stop-db clean

# Reinstalls only when the pinned versions change.
$(STAMP): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "Seabridge needs Python 3.11 or newer; found '$(PYTHON)'. Run: make PYTHON=/path/to/python3.11 ..."; \
		exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# --no-compile: Python compiles what it imports on first use; compiling every installed file took 14 s more.
	$(PY) -m pip install --quiet --no-compile -r requirements.lock
	@touch $(STAMP)

install: $(STAMP)

# DEBUG defaults to on so a fresh machine needs no secrets; DEBUG=0 make run needs SECRET_KEY and CREDENTIALS_KEYS.
run: export DEBUG ?= 1
# The demo's stores sync from the marketplace simulators that serve starts on this port.
run: export SEABRIDGE_SIMULATORS_PORT ?= 8001
run: install
	$(PY) manage.py bootstrap --port $(PORT)
	$(PY) manage.py serve --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

migrations-check: install
	SEABRIDGE_TESTING=1 $(PY) manage.py makemigrations --check --dry-run

pytest: install
	SEABRIDGE_TESTING=1 SEABRIDGE_FAST_PASSWORDS=1 $(VENV)/bin/pytest -n 2 --dist worksteal $(PYTEST_ARGS)

# The Chinese catalogue: collect every translatable string, then compile (docs/i18n.md). Needs GNU gettext.
messages: install
	SEABRIDGE_TESTING=1 $(PY) manage.py makemessages --locale zh_Hans --add-location file --no-obsolete \
		--ignore '.venv/*' --ignore '.data/*' --ignore 'tests/*' --ignore 'bench/*'
	SEABRIDGE_TESTING=1 $(PY) manage.py compilemessages --locale zh_Hans --ignore '.venv/*'

# Schemathesis against a live gunicorn with the demo data: no server error, nothing that breaks the schema.
api-check: install
	SEABRIDGE_TESTING=1 $(PY) -m tests.conformance.api_check $(API_CHECK_ARGS)

test: lint migrations-check pytest api-check

bench: install
	SEABRIDGE_TESTING=1 $(PY) -m bench.run_all $(BENCH_ARGS)

stop-db:
	@$(PY) -c "from config.database import embedded_database_stop; embedded_database_stop()"

clean: stop-db
	rm -rf .data $(VENV)
