# Syncer: `make run` brings the demo up, `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.lock 2>/dev/null | cut -c1-12)

APP_PORT ?= 8000
EMULATOR_PORT ?= 8765
export APP_PORT EMULATOR_PORT

.PHONY: install run reset-demo test lint format bench lock services clean assets

install: $(STAMP)

$(STAMP): requirements.lock
	@set -e; if [ ! -x $(PY) ]; then \
	  python="$$(scripts/find-python)"; echo "Creating $(VENV) with $$python"; \
	  "$$python" -m venv $(VENV); fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Starts this machine's own PostgreSQL and Redis if they are installed and down (CI does this).
services:
	@scripts/services-up

# PostgreSQL and Redis: DATABASE_URL / REDIS_URL when set, else the ones on 127.0.0.1's default
# ports, else embedded servers from the venv (scripts/local_services.py). Never anything else.
run: install
	$(PY) scripts/run_demo.py

reset-demo: install
	$(PY) scripts/run_demo.py --reset

# TEST_WORKERS > 1 runs the suite in that many processes (pytest-xdist, whole files per
# process, each with its own test database and Redis database), then the tests marked `serial`
# (worker stacks, `make run` itself) in one process after them (scripts/run_tests.py).
TEST_WORKERS ?= 2
test: install
	SYNCER_TEST_WORKERS=$(TEST_WORKERS) $(PY) -m scripts.local_services test -- \
	  $(PY) scripts/run_tests.py $(PYTEST_ARGS)

# ruff, mypy (django-stubs loads syncer.settings.test, which needs DATABASE_URL and REDIS_URL
# to be set, not reachable: harmless local defaults unless given) and the import contracts.
lint: export DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/syncer)
lint: export REDIS_URL := $(or $(REDIS_URL),redis://127.0.0.1:6379/15)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) -m scripts.local_services bench -- $(PY) -m bench $(BENCH_ARGS)

# Re-resolve every pin from requirements.in (needs network access to PyPI).
lock:
	@set -e; python="$$(scripts/find-python)"; tmp="$$(mktemp -d)"; \
	"$$python" -m venv "$$tmp/venv"; "$$tmp/venv/bin/pip" install --quiet -r requirements.in; \
	"$$tmp/venv/bin/pip" freeze --all --exclude pip --exclude setuptools > requirements.lock; \
	rm -rf "$$tmp"; echo "requirements.lock updated"

# Re-vendor Polaris tokens and icons (static/vendor/) and axe-core (tests/vendor/) from npm at the
# versions pinned in scripts/build-assets. The outputs are committed: only this needs Node.
assets:
	scripts/build-assets

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .ruff_cache
