# The two commands: `make demo` and `make test`. Both set up everything they need first.
SHELL := /bin/bash
VENV := .venv/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/var/prefect

.PHONY: setup demo test lint typecheck unit serve bench clean texts

setup:
	@scripts/setup.sh

demo: setup
	$(VENV)/pumpurs demo

test: setup
	@scripts/setup.sh --browser
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy pumpurs flows tasks
	PREFECT_HOME=$$(mktemp -d) $(VENV)/pytest

lint: setup
	$(VENV)/ruff check . && $(VENV)/ruff format --check .

serve: setup
	$(VENV)/pumpurs serve

clean:
	rm -rf var/demo var/outbox var/pumpurs.db* var/prefect

bench: setup
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
