# The two commands: `make demo` and `make test`. Both set up everything they need first.
SHELL := /bin/bash
VENV := .venv/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/var/prefect

.PHONY: setup demo test lint typecheck unit serve bench clean

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
