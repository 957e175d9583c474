"""The engines agree: pandas, DuckDB and Spark report the same problems (file, line, column, kind
of message) on the real package, on broken copies made by the mutation cases of
test_validate_mutations.py, and on a small synthetic package (benchmarks/synth.py).

The SQL engines run every check (checks/engines/__init__.py NOT_COVERED is empty); only the
pandas problems of the checks they run (COVERED below, by their words) are compared, so that a
check added to pandas alone is not mistaken for a disagreement, and a test asserts that the
mutation cases give many of them. Mutation cases that break different files are combined in
one broken package, so a few validator runs cover them all.

Spark runs the same comparisons in tests/checks/test_engines_spark.py (one SparkSession for the
session), also in `make test`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from bazhong_accounts.checks import engines, validate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from conftest import collected, made_once_shared, run_in_process, shared_in  # noqa: E402
from test_validate_mutations import BAD  # noqa: E402  the mutation cases, reused

# pandas messages of the checks the SQL engines run (engines.COVERED), by their words; the others
# (engines.NOT_COVERED, and checks added since) are set aside before comparing
COVERED = re.compile("|".join([
    # files
    r"^file missing", r"^empty file", r"^binary file", r"byte order mark", r"^not UTF-8", r"^not a CSV file",
    r"CRLF line endings", r"^column missing", r"^unexpected column", r"^unknown column",
    r"appears more than once in the header", r"columns are not in schema order", r"ragged row",
    r"^not a valid CSV", r"not listed as a resource", r"^blank line",
    # types and constraints
    r"is not a number", r"is not an integer", r"full-width characters", r"thousands separator",
    r"percent sign", r"has a unit", r"too large for an integer", r"is not a plain decimal", r"is not a boolean",
    r"is not a date", r"does not match the pattern", r"is not of type", r"required value missing",
    r"is not one of", r"below the minimum", r"above the maximum", r"is out of range", r"characters; allowed",
    # keys
    r"^duplicate primary key", r"^unknown \S+ .*: no row of",
    r"^primaryKey names `", r"^a foreign key (names|refers to|needs) ",  # keys that cannot be checked
    # identities, errata, ordinals, sources
    r"^parts do not add up", r"类 rows sum to", r"^no expenditure_by_type row", r"^share_pct given on a row",
    r"is not amount - change_amount", r"^\w+ \+ \w+ = .*, but \w+ is ", r"does not match .* \* 100 = ",
    r"^stale erratum", r"numbers them 1\.\.n", r"is the report of",
    # organisation and trips (checks/engines/package_checks.py)
    r"root units \(units without parent_unit_id\)", r"never reaches a root \(cycle\)",
    r"^overseas_delegations is \d+ but overseas_trips lists",
    # canonical form and row order, frame checks, errata references (checks/engines/canonical_sql.py,
    # frame_sql.py, errata_refs.py)
    r"^not in canonical form", r"^rows not in primary-key order",
    r"^derived row without a derivation rule", r"^derivation given but `derived` is false",
    r"^level \S+ does not fit code", r"^parent_code `[^`]*` does not fit code", r"cannot be its own parent",
    r"is before period_start", r"^breakdown given on a row without parent_item_id",
    r"is not a resource of the package$", r"^`[^`]*` is not a column of", r"^no row `[^`]*` in \S+ for ",
    r"^value_carried \S+ but \S+ line \d+ has ",
    # provenance (checks/engines/provenance_sql.py)
    r"is outside the package directory$", r"^archived source `[^`]*` is missing$", r"is not UTF-8 text: quotes",
    r"^SHA-256 of ", r"^excerpt «.*» is not in the archived source", r"^empty excerpt in ",
    r"is not in its source_quote \(a non-derived row", r"is not in quote_(carried|other)$",
    r"^explanation_zh and explanation_en cite different numbers: ",
    r"^derived \S+ \S+ is not sum\(children\)", r"^derived as sum\(children\) but no row", r"has no parent column$",
    r"^derived \S+ \S+ does not match `", r"^cannot read the derivation", r"^derivation refers to ",
    # figure sources (checks/engines/figure_sources_sql.py)
    r"^span \S+ is outside the source text", r"^the source has «", r"\(a fact table\)$",
    r"is not a figure column of `", r"is derived: its rule is its provenance, it has no span$",
    r"is not one number \(with 增加", r"is empty but «", r"^«[^»]*» is in \S+, but ",
    r"no erratum of that cell gives", r"has no span in data/figure_sources\.csv", r"is not in the passage of the row",
    r"in data/non_figures\.csv \(a machine draft\)", r"is neither a figure \(data/figure_sources\.csv\)",
]))


def kind(message: str) -> str:
    """The kind of a message: its words without the values (numbers, quoted cells, lists)."""
    text = re.sub(r'"[^"]*"', '"…"', message)
    text = re.sub(r"\(erratum [^)]*\)", "(erratum)", text)
    return re.sub(r"[0-9.]+", "#", text)[:60]


def problems(result, covered_only: bool) -> set[tuple]:
    report = result.report
    out = {(p.path, p.line, p.column, kind(p.message)) for p in report.problems
           if not covered_only or COVERED.search(p.message)}
    return out | {("known", p.path, p.line, p.column, p.erratum) for p in report.known}


def compare(pkg: Path, engine: str, pandas_result=None) -> tuple[set, set]:
    pandas_result = pandas_result or pandas_of(pkg)
    return problems(pandas_result, True), problems(engines.collect(pkg, engine), False)


SHARED: set[Path] = set()  # packages made once per run (made_once_shared) and never changed


def pandas_of(pkg: Path):
    """validate.collect(pkg); once per run for a package of SHARED (test_engines_spark.py compares
    Spark with the same on the other worker), pickled beside it."""
    if pkg not in SHARED:
        return validate.collect(pkg)
    return shared_in(pkg.parent, "pandas", lambda: validate.collect(pkg))


# ---------------------------------------------------------------- broken packages


@pytest.fixture(scope="session")
def broken(mutation_groups) -> list[Path]:
    """Packages each holding several mutation cases that change different files."""
    assert not mutation_groups.failed, mutation_groups.failed
    return [group.package for group in mutation_groups.groups]


@pytest.fixture(scope="session")
def pandas_on_broken(mutation_groups):
    """validate.collect of each of them: the Result of the run test_validate_mutations.py looks at."""
    return [group.result for group in mutation_groups.groups]


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> Path:
    from synth import write_synthetic

    from conftest import read_rows, write_rows

    def make():
        out = tmp_path_factory.mktemp("synth") / "package"
        write_synthetic(out, 20)
        # one row citing another department-year's report: the sources check runs as SQL too
        header, rows, lines = read_rows(out, "income")
        rows[-1]["source_id"] = next(r["source_id"] for r in rows if r["department"] != rows[-1]["department"])
        write_rows(out, "income", header, rows)
        return out, lines[-1]

    made = made_once_shared(tmp_path_factory, "synthetic", make)
    SHARED.add(made[0])
    return made


@pytest.fixture(scope="session")
def org_and_trips(tmp_path_factory, copy_package):
    """A copy with two root units, a cycle of two units and a trip too many: one case per check
    of checks/engines/package_checks.py, with the (path, line, column) each must be reported at."""
    made = made_once_shared(tmp_path_factory, "org-and-trips", lambda: _org_and_trips(tmp_path_factory, copy_package))
    SHARED.add(made[0])
    return made


def _org_and_trips(tmp_path_factory, copy_package):
    from conftest import read_rows, write_rows

    pkg = copy_package(tmp_path_factory.mktemp("org") / "package")
    header, rows, lines = read_rows(pkg, "organisation")
    child = [i for i, r in enumerate(rows) if r["parent_unit_id"]]
    a, b, c = child[0], child[1], child[2]
    rows[a]["parent_unit_id"] = ""  # a second root
    rows[b]["parent_unit_id"], rows[c]["parent_unit_id"] = rows[c]["unit_id"], rows[b]["unit_id"]  # a cycle
    write_rows(pkg, "organisation", header, rows)
    first_root = min(a, next(i for i, r in enumerate(rows) if not r["parent_unit_id"] and i != a))
    second_root = max(a, next(i for i, r in enumerate(rows) if not r["parent_unit_id"] and i != a))
    header, trips, _ = read_rows(pkg, "overseas_trips")
    trips.append(dict(trips[-1], trip_no=str(len(trips) + 1)))
    write_rows(pkg, "overseas_trips", header, trips)
    _, counts, count_lines = read_rows(pkg, "three_public_expenses_counts")
    delegations = next(i for i, r in enumerate(counts) if r["count_id"] == "overseas_delegations")
    assert first_root != second_root
    return pkg, {("data/organisation.csv", lines[second_root], "parent_unit_id", "root units"),
                 ("data/organisation.csv", lines[b], "parent_unit_id", "never reaches a root"),
                 ("data/organisation.csv", lines[c], "parent_unit_id", "never reaches a root"),
                 ("data/three_public_expenses_counts.csv", count_lines[delegations], "value",
                  "overseas_trips lists")}


def reported(got: set, expected: set) -> set:
    """The (path, line, column, words) of `expected` that some problem of `got` matches."""
    return {e for e in expected for g in got if g[:3] == e[:3] and e[3] in g[3]}


# ---------------------------------------------------------------- the tests


def test_duckdb_agrees_on_organisation_and_trips(org_and_trips):
    pkg, cases = org_and_trips
    expected, got = compare(pkg, "duckdb")
    assert got == expected, (sorted(got - expected), sorted(expected - got))
    assert reported(got, cases) == cases, sorted(got)


@pytest.fixture(scope="session")
def duckdb_on_root(tmp_path_factory):
    """`bazhong-accounts validate ROOT --engine duckdb` in this process, once per run for three
    tests (made_once_shared: worksteal may split them between the workers): (what it printed, the
    engine's Result, the resources it read a second time with every column)."""
    def validated():
        with pytest.MonkeyPatch.context() as mp, collected(engines) as results:
            read_again = _reads_in_full(mp)
            run = run_in_process("validate", ROOT, "--engine", "duckdb")
        [result] = results
        return run, result, read_again

    return made_once_shared(tmp_path_factory, "duckdb-on-root", validated)


def test_duckdb_agrees_on_the_real_package(duckdb_on_root, root_validation):
    _, duckdb_result, _ = duckdb_on_root
    expected, got = problems(root_validation[1], True), problems(duckdb_result, False)
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
    pkg, line = synthetic
    expected, got = compare(pkg, "duckdb")
    assert got == expected
    assert sum(p[0] == "known" for p in got) > 5
    assert any(p[:3] == ("data/income.csv", line, "source_id") and "is the report of" in p[3] for p in got), got


def test_cli_engine_option(duckdb_on_root):
    run, _, _ = duckdb_on_root
    assert run.returncode == 0, run.stdout + run.stderr
    out, err = run.stdout, run.stderr
    assert out.splitlines()[-1].startswith("OK: "), out
    assert "not checked by the SQL engines" not in err, "every check runs on the engines"


def test_line_numbers_follow_quoted_newlines(package):
    """A bad cell after rows with newlines inside quoted cells: the same line in every engine."""
    from conftest import read_rows, write_rows

    header, rows, lines = read_rows(package, "projects")
    assert lines[-1] > len(rows) + 1, "the file has newlines inside quoted cells"
    rows[-1]["budget"] = "abc"
    write_rows(package, "projects", header, rows)
    got = [(x.path, x.line, x.column, x.message) for x in engines.collect(package, "duckdb").report.problems]
    assert [g for g in got if g[0] == "data/projects.csv"] == [("data/projects.csv", lines[-1], "budget",
                                                                '"abc" is not a number')]


def test_a_newline_in_a_number_cell_keeps_later_lines_exact(package):
    """The load counts newlines in free-text cells only: a newline in a number cell (a broken
    cell) must still shift the lines of the rows after it."""
    from conftest import read_rows, write_rows

    header, rows, lines = read_rows(package, "projects")
    rows[0]["budget"] = "12\n3"
    rows[-1]["budget"] = "abc"
    write_rows(package, "projects", header, rows)
    got = [(x.path, x.line, x.column) for x in engines.collect(package, "duckdb").report.problems]
    assert ("data/projects.csv", lines[0], "budget") in got, got
    assert ("data/projects.csv", lines[-1] + 1, "budget") in got, got


def test_a_missing_engine_is_a_clear_error(capsys, monkeypatch):
    from bazhong_accounts.cli import main

    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if duckdb were not installed
    assert main(["validate", str(ROOT), "--engine", "duckdb"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bazhong-accounts: error: this engine needs duckdb"), err
    assert "Traceback" not in err


# ---------------------------------------------------------------- the fast path and the slow path


def _multiline_files(pkg: Path) -> set[str]:
    """Resources whose CSV has newlines quoted inside cells (a row spans several lines)."""
    from conftest import read_rows

    out = set()
    for csv_path in (pkg / "data").glob("*.csv"):
        _, rows, lines = read_rows(pkg, csv_path.stem)
        if rows and lines[-1] != len(rows) + 1:
            out.add(csv_path.stem)
    return out


def _reads_in_full(monkeypatch) -> list[str]:
    """The resources the DuckDB engine reads a second time with every column."""
    from bazhong_accounts.checks.engines.backends import DuckDBEngine

    calls: list[str] = []
    original = DuckDBEngine.load_full

    def spy(self, resource, path, header):
        calls.append(resource)
        return original(self, resource, path, header)

    monkeypatch.setattr(DuckDBEngine, "load_full", spy)
    return calls


def test_a_valid_package_is_read_once(duckdb_on_root):
    """No cell check fails on the real package: no file is read again, neither for its cells nor
    for the line numbers of the files with quoted newlines (the load counts them)."""
    _, result, calls = duckdb_on_root
    assert result.report.problems == []
    assert _multiline_files(ROOT), "the real package has rows spanning several lines"
    assert calls == [], calls


@pytest.fixture(scope="session")
def bigger(tmp_path_factory) -> Path:
    """200 department-years: indicators.csv has about 29,000 rows, many DuckDB vectors."""
    from synth import write_synthetic

    out = tmp_path_factory.mktemp("bigger") / "package"
    write_synthetic(out, 200)
    return out


def test_a_broken_cell_in_a_big_file_gets_its_exact_line(bigger, monkeypatch):
    """The load's masks find that a cell check failed; the slow path reads that file again and
    names the exact CSV line, also after rows spanning several lines (projects)."""
    from conftest import read_rows, write_rows

    header, rows, lines = read_rows(bigger, "indicators")
    assert len(rows) > 25000
    i = len(rows) * 2 // 3
    rows[i]["value"], rows[i + 1]["qualifier"] = "12a", "roughly"
    write_rows(bigger, "indicators", header, rows)
    p_header, p_rows, p_lines = read_rows(bigger, "projects")
    assert p_lines[-1] > len(p_rows) + 1, "projects has newlines inside quoted cells"
    p_rows[-2]["budget"] = "1,000"
    write_rows(bigger, "projects", p_header, p_rows)
    calls = _reads_in_full(monkeypatch)
    got = [(x.path, x.line, x.column, x.message) for x in engines.collect(bigger, "duckdb").report.problems]
    assert sorted(got) == [
        ("data/indicators.csv", lines[i], "value",
         '"12a" has a unit (a); write the number only (12): the unit is in the schema'),
        ("data/indicators.csv", lines[i + 1], "qualifier", '"roughly" is not one of: exact, more_than, at_least'),
        ("data/projects.csv", p_lines[-2], "budget", '"1,000" has a thousands separator; write 1000'),
    ], got
    assert "indicators" in calls and "glossary" not in calls


def test_a_key_that_cannot_be_checked_is_said_once_on_every_engine(tmp_path, copy_package):
    """A primaryKey or foreign key naming a field its schema lacks; a foreign key referring to a
    resource datapackage.json does not list, to a field the referenced schema lacks, with no
    reference or not as many fields as it names: one problem at its schema, the same on pandas and
    DuckDB (they had said 'unexpected column', passed in silence, raised a KeyError or failed in an
    SQL binder), the key left out; one referring to a resource whose schema cannot be read is left
    out without a word of its own. One copy for all: each break is in a schema of its own."""
    import json

    pkg = copy_package(tmp_path / "pkg")

    def change_schema(resource: str, change) -> None:
        path = pkg / "schemas" / f"{resource}.json"
        schema = json.loads(path.read_text(encoding="utf-8"))
        change(schema)
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")

    def without(field: str):
        return lambda schema: schema.update(fields=[f for f in schema["fields"] if f["name"] != field])

    def foreign_key(n: int, change):
        return lambda schema: change(schema["foreignKeys"][n])

    change_schema("income", without("fiscal_year"))  # in its primaryKey
    change_schema("projects", without("unit_id"))  # in one of its foreign keys
    change_schema("expenditure_by_function", foreign_key(2, lambda fk: fk["reference"].update(
        fields=["fiscal_year", "code_no"])))
    change_schema("project_kpis", foreign_key(2, lambda fk: fk["reference"].update(resource="project")))
    change_schema("events", foreign_key(0, lambda fk: fk.pop("reference")))
    change_schema("glossary", foreign_key(1, lambda fk: fk["reference"].update(fields=["source_id", "department"])))
    (pkg / "schemas" / "organisation.json").write_text("{", encoding="utf-8")  # projects refers to it
    expected = [
        "schemas/events.json: department: a foreign key needs `fields` and `reference.fields`: "
        "that foreign key is not checked",
        "schemas/expenditure_by_function.json: code: a foreign key refers to `code_no` of `classification`, "
        "not a field of its schema: that foreign key is not checked",
        "schemas/glossary.json: source_id: a foreign key names 1 field and its reference 2 fields: "
        "that foreign key is not checked",
        "schemas/income.json: fiscal_year: primaryKey names `fiscal_year`, not a field of the schema: "
        "the key checks of this resource are skipped",
        "schemas/organisation.json: schema of resource `organisation` cannot be read: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "schemas/project_kpis.json: project_id: a foreign key refers to `project`, not a resource of "
        "datapackage.json: that foreign key is not checked",
        "schemas/projects.json: unit_id: a foreign key names `unit_id`, not a field of the schema: "
        "that foreign key is not checked",
    ]
    for result in (validate.collect(pkg), engines.collect(pkg, "duckdb")):
        problems = [str(p) for p in result.report.problems]
        assert sorted(p for p in problems if p.startswith("schemas/")) == expected, problems
        assert not [p for p in problems if "internal error" in p or "foreign key" in p and "schemas/" not in p]


def test_invalid_utf8_in_a_column_no_check_reads_is_found_on_every_engine(tmp_path, copy_package):
    """read_csv checks the UTF-8 of the columns it builds only: a byte 0xff in a note no check
    reads (income's note_zh) had passed on DuckDB while pandas said "not UTF-8". Now both say it,
    at the same line."""
    pkg = copy_package(tmp_path / "pkg")
    path = pkg / "data" / "income.csv"
    lines = path.read_bytes().split(b"\n")
    at = lines[0].split(b",").index(b"note_zh")
    row = next(i for i, line in enumerate(lines[1:], 1) if line and b'"' not in line)
    cells = lines[row].split(b",")
    cells[at] += b"\xff"
    lines[row] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))
    for result in (validate.collect(pkg), engines.collect(pkg, "duckdb")):
        said = [(p.path, p.line, p.message.split(" (")[0]) for p in result.report.problems if "UTF-8" in p.message]
        assert said == [("data/income.csv", row + 1, "not UTF-8")], [str(p) for p in result.report.problems][:5]
