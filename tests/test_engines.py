"""The engines agree: pandas, DuckDB and Spark report the same problems (file, line, column, kind
of message) on the real package, on broken copies made by the mutation cases of
test_validate_mutations.py, and on a small synthetic package (benchmarks/synth.py).

The SQL engines do not run every check (checks/engines/__init__.py NOT_COVERED): the pandas
problems of those checks are set aside by their message (UNCOVERED below) before comparing, and
a test asserts that nothing else is. Mutation cases that break different files are combined in
one broken package, so a few validator runs cover them all; Spark (one local session for the
test session) runs on the real package and on one combined package.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import sys
from pathlib import Path

import pytest

from bazhong_accounts.checks import engines, validate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from test_validate_mutations import BAD  # noqa: E402  the mutation cases, reused

# pandas messages of checks the SQL engines do not run (NOT_COVERED), by their words
UNCOVERED = re.compile("|".join([
    r"not in canonical form", r"rows not in primary-key order",
    r"is not in its source_quote", r"excerpt «", r"empty excerpt", r"SHA-256 of", r"archived source",
    r"outside the package directory", r"is not UTF-8 text", r"^derived ", r"derivation", r"is not in quote_",
    r"root units", r"never reaches a root", r"numbers them 1\.\.n", r"is the report of",
    r"overseas_delegations is", r"is not a resource of the package", r"is not a column of",
    r"^no row `", r"^value_carried ", r"does not fit code", r"^parent_code `", r"cannot be its own parent",
    r"is before period_start", r"breakdown given on", r"every cell of this row is empty",
    # check (f), figure_sources.py
    r"» states ", r"has no span in data/figure_sources", r"is not in the passage of", r"the source has «",
    r"is neither a figure", r"^no row `", r"is not a figure column", r"is derived: its rule", r"is in %, but",
    r"is not one number", r"is empty but «", r"is outside the source text",
]))


def kind(message: str) -> str:
    """The kind of a message: its words without the values (numbers, quoted cells, lists)."""
    text = re.sub(r'"[^"]*"', '"…"', message)
    text = re.sub(r"\(erratum [^)]*\)", "(erratum)", text)
    return re.sub(r"[0-9.]+", "#", text)[:60]


def problems(result, covered_only: bool) -> set[tuple]:
    report = result.report
    out = {(p.path, p.line, p.column, kind(p.message)) for p in report.problems
           if not (covered_only and UNCOVERED.search(p.message))}
    return out | {("known", p.path, p.line, p.column, p.erratum) for p in report.known}


def compare(pkg: Path, engine: str, pandas_result=None) -> tuple[set, set]:
    pandas_result = pandas_result or validate.collect(pkg)
    return problems(pandas_result, True), problems(engines.collect(pkg, engine), False)


# ---------------------------------------------------------------- broken packages


def _changed(a: Path, b: Path) -> set[str]:
    """Files of package copy b that differ from a (added and removed ones too)."""
    names = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    names |= {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    return {n for n in names if not ((a / n).is_file() and (b / n).is_file() and filecmp.cmp(a / n, b / n, False))}


@pytest.fixture(scope="session")
def broken(tmp_path_factory, copy_package) -> list[Path]:
    """Packages each holding several mutation cases that change different files."""
    base = copy_package(tmp_path_factory.mktemp("base") / "package")
    cases = []
    for name, make in BAD.items():
        pkg = copy_package(tmp_path_factory.mktemp(name) / "package")
        make(pkg)
        cases.append((name, pkg, _changed(base, pkg)))
    bins: list[tuple[set, list]] = []
    for name, pkg, changed in cases:
        for files, members in bins:
            if not files & changed:
                files |= changed
                members.append((pkg, changed))
                break
        else:
            bins.append((set(changed), [(pkg, changed)]))
    out = []
    for i, (_, members) in enumerate(bins):
        dest = copy_package(tmp_path_factory.mktemp(f"combined{i}") / "package")
        for pkg, changed in members:
            for rel in changed:
                if (pkg / rel).exists():
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(pkg / rel, dest / rel)
                else:
                    (dest / rel).unlink()
        out.append(dest)
    return out


@pytest.fixture(scope="session")
def pandas_on_broken(broken):
    return [validate.collect(pkg) for pkg in broken]


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> Path:
    from synth import write_synthetic

    out = tmp_path_factory.mktemp("synth") / "package"
    write_synthetic(out, 20)
    return out


@pytest.fixture(scope="session")
def spark():
    from bazhong_accounts.checks.engines.backends import spark_session

    return spark_session()


# ---------------------------------------------------------------- the tests


def test_duckdb_agrees_on_the_real_package():
    expected, got = compare(ROOT, "duckdb")
    assert got == expected
    assert any(p[0] == "known" for p in got), "the real package has errata-covered breaks"


def test_duckdb_agrees_on_every_mutation_case(broken, pandas_on_broken):
    assert len(broken) < len(BAD), "cases are combined"
    for pkg, pandas_result in zip(broken, pandas_on_broken):
        expected, got = compare(pkg, "duckdb", pandas_result)
        assert got == expected, (pkg, sorted(got - expected), sorted(expected - got))


def test_the_mutation_cases_exercise_the_sql_checks(pandas_on_broken):
    """Most mutation problems are of checks the engines run: the comparison is not vacuous."""
    covered = set().union(*(problems(r, True) for r in pandas_on_broken))
    assert len(covered) >= 20, covered


def test_duckdb_agrees_on_a_synthetic_package(synthetic):
    expected, got = compare(synthetic, "duckdb")
    assert got == expected
    assert sum(p[0] == "known" for p in got) > 5


def test_spark_agrees_on_the_real_package(spark):
    expected, got = compare(ROOT, "spark")
    assert got == expected


def test_spark_agrees_on_a_broken_package(spark, broken, pandas_on_broken):
    expected, got = compare(broken[0], "spark", pandas_on_broken[0])
    assert got == expected, (sorted(got - expected), sorted(expected - got))


def test_cli_engine_option(cli):
    proc = cli("validate", ROOT, "--engine", "duckdb")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("OK: 16 resources, ")
    assert "not checked by the SQL engines" in proc.stderr


def test_line_numbers_follow_quoted_newlines(package):
    """A bad cell after rows with newlines inside quoted cells: the same line in every engine."""
    from test_validate_mutations import load, save

    header, rows, lines = load(package, "projects")
    assert lines[-1] > len(rows) + 1, "the file has newlines inside quoted cells"
    rows[-1]["budget"] = "abc"
    save(package, "projects", header, rows)
    got = [(x.path, x.line, x.column, x.message) for x in engines.collect(package, "duckdb").report.problems]
    assert ("data/projects.csv", lines[-1], "budget", '"abc" is not a number') in got
    assert set(got) == {(x.path, x.line, x.column, x.message) for x in validate.collect(package).report.problems
                        if not UNCOVERED.search(x.message)}
