# The two commands: `make demo` and `make test`. Both set up everything they need first.
# `make check` is the fast inner loop beside them: linters, types, import contracts, fast tests.
SHELL := /bin/bash
VENV := .venv/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/var/prefect
# Let Python keep the modules it compiles (in __pycache__/, ignored by git) even where the
# environment says not to: every test process and CLI run starts a second or so sooner.
unexport PYTHONDONTWRITEBYTECODE

# The tests of `make check`: none on Prefect's test harness (marked by tests/conftest.py), in a
# browser, injecting faults, slow or on PostgreSQL.
FAST := not prefect and not browser and not reliability and not slow and not postgres

.PHONY: setup demo check test lint typecheck serve serve-demo bench clean texts

setup:
	@scripts/setup.sh

demo: setup
	$(VENV)/pumpurs demo

check: setup
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy pumpurs flows tasks bench tests
	$(VENV)/lint-imports
	home=$$(mktemp -d); env -u PUMPURS_TEST_DATABASE_URL PREFECT_HOME=$$home \
	  $(VENV)/pytest -q -n 2 --dist worksteal -m "$(FAST)"; status=$$?; rm -rf $$home; exit $$status

test: setup
	@scripts/setup.sh --browser
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy pumpurs flows tasks bench tests
	$(VENV)/lint-imports
	PREFECT_HOME=$$(mktemp -d) $(VENV)/pytest

lint: setup
	$(VENV)/ruff check . && $(VENV)/ruff format --check .

typecheck: setup
	$(VENV)/mypy pumpurs flows tasks bench tests

serve: setup
	$(VENV)/pumpurs serve

# What `make demo` made, served: its database, config and inbox, mail into var/outbox.
serve-demo: setup
	$(VENV)/pumpurs serve --demo

clean:
	rm -rf var/demo var/outbox var/pumpurs.db* var/prefect

bench: setup
	@scripts/setup.sh --bench
	@mkdir -p "$(PREFECT_HOME)"  # Prefect makes its home folder, not the folders above it
	$(VENV)/python -m bench.run

# Texts: extract every message from the code and templates, merge them into the Latvian
# catalogue (new ones come in untranslated), compile it. Translate in the .po, then run again.
LOCALE := pumpurs/i18n/locale
texts: setup
	$(VENV)/pybabel extract -F babel.cfg -k N_ --add-comments=Translators: --sort-by-file \
		--project=PuMPuRS --version=0.1 --copyright-holder=PuMPuRS -o $(LOCALE)/pumpurs.pot .
	$(VENV)/pybabel update -i $(LOCALE)/pumpurs.pot -d $(LOCALE) -D pumpurs -l lv \
		--ignore-obsolete --no-fuzzy-matching
	$(VENV)/pybabel compile -d $(LOCALE) -D pumpurs --statistics
