# Everyday commands. Each target sets up .venv itself (pinned by constraints.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DB := site/bazhong.db

.PHONY: help setup validate fmt build serve test bench clean

help:
	@echo "make serve   validate, build and serve the Datasette site on http://127.0.0.1:8001"
	@echo "make test    every check and test"
	@echo "make fmt     rewrite data/*.csv in canonical form"
	@echo "make bench   run the benchmarks (minutes)"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

validate: $(STAMP)
	$(BIN)/bazhong-accounts validate .

fmt: $(STAMP)
	$(BIN)/bazhong-accounts fmt .

build: validate
	$(BIN)/bazhong-accounts build . --out $(DB)

serve: build
	@echo "make serve: the Datasette site is not built yet (see issue 5); validation passed." && false

test: $(STAMP)
	$(BIN)/frictionless validate datapackage.json
	$(BIN)/bazhong-accounts validate .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(DB) test-artifacts dist
