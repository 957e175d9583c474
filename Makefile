# Everyday commands. Each target sets up .venv itself (pinned by constraints.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DB := site/bazhong.db

.PHONY: help setup validate fmt build site serve test bench clean debian-fonts debian-test-deps

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

# The site: validated package -> site/bazhong.db, site/metadata.json, site/static/charts/ (charts need
# a CJK font: apt-get install fonts-noto-cjk; the build says so clearly when it is missing).
site: build

serve: debian-fonts build
	$(BIN)/datasette serve -i $(DB) -h 127.0.0.1 -p 8001 \
	  --metadata site/metadata.json --template-dir site/templates --static charts:site/static/charts \
	  --setting sql_time_limit_ms 1000 --setting max_returned_rows 2000 \
	  --setting facet_time_limit_ms 200 --setting suggest_facets off

debian-fonts:
	bash scripts/debian-deps.sh fonts-noto-cjk

debian-test-deps:
	bash scripts/debian-deps.sh chromium fonts-noto-cjk

# axe-core for the browser test's accessibility check (package.json, pinned by package-lock.json).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

test: $(STAMP) debian-test-deps node_modules/.package-lock.json
	$(BIN)/frictionless validate datapackage.json
	$(BIN)/bazhong-accounts validate .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(DB) test-artifacts dist
