"""The checks the SQL engines took over from the pandas validator (canonical form and row order,
row-level frame checks, errata references, provenance with derivations: checks/engines/
canonical_sql.py, frame_sql.py, errata_refs.py, provenance_sql.py) on one broken copy holding a
case of each that test_validate_mutations.py lacks: pandas and DuckDB report the same problems,
each case at its place, in the same words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bazhong_accounts.checks import engines, validate
from conftest import made_once_shared, read_rows, write_rows
from test_engines import COVERED, problems, reported


def _first(rows, pick) -> int:
    return next(i for i, r in enumerate(rows) if pick(r))


def _errata(pkg, expected: set) -> None:
    header, rows, lines = read_rows(pkg, "errata")
    income = _first(rows, lambda r: r["resource"] == "income" and r["check"] == "none" and r["value_carried"])
    base = dict(rows[income], check="none")
    cases = [(dict(base, erratum_id="zz_res", resource="no_such_table"), "resource", "is not a resource"),
             (dict(base, erratum_id="zz_col", column="no_such_column"), "column", "is not a column of income"),
             (dict(base, erratum_id="zz_row", row_key="no_such_row"), "row_key", "no row `no_such_row` in income"),
             (dict(base, erratum_id="zz_val", value_carried=base["value_carried"] + "1"), "value_carried",
              "but data/income.csv line ")]
    next_line = lines[-1] + 1 + rows[-1]["explanation_en"].count("\n") + rows[-1]["quote_other"].count("\n")
    for i, (row, col, words) in enumerate(cases):
        rows.append(row)
        expected.add(("data/errata.csv", next_line + i, col, words))
    write_rows(pkg, "errata", header, rows)


def _frames(pkg, expected: set) -> None:
    header, rows, lines = read_rows(pkg, "events")
    i = _first(rows, lambda r: r["derived"] == "false")
    rows[i]["derived"] = "true"  # derived without a rule
    write_rows(pkg, "events", header, rows)
    expected.add(("data/events.csv", lines[i], "derivation", "derived row without a derivation rule"))

    header, rows, lines = read_rows(pkg, "expenditure_by_function")
    i = _first(rows, lambda r: r["level"] == "2")
    rows[i]["parent_code"] = ""
    write_rows(pkg, "expenditure_by_function", header, rows)
    expected.add(("data/expenditure_by_function.csv", lines[i], "parent_code", "does not fit code"))

    header, rows, lines = read_rows(pkg, "organisation")
    i = _first(rows, lambda r: r["parent_unit_id"])
    rows[i]["parent_unit_id"] = rows[i]["unit_id"]
    write_rows(pkg, "organisation", header, rows)
    expected.add(("data/organisation.csv", lines[i], "parent_unit_id", "a unit cannot be its own parent"))

    header, rows, lines = read_rows(pkg, "income")
    i = _first(rows, lambda r: r["breakdown"] and r["parent_item_id"])
    rows[i]["parent_item_id"] = ""
    write_rows(pkg, "income", header, rows)
    expected.add(("data/income.csv", lines[i], "breakdown", "breakdown given on a row without parent_item_id"))

    header, rows, lines = read_rows(pkg, "sources")
    rows[0]["period_start"], rows[0]["period_end"] = rows[0]["period_end"], rows[0]["period_start"]
    write_rows(pkg, "sources", header, rows)
    expected.add(("data/sources.csv", lines[0], "period_end", "is before period_start"))


def _canonical(pkg, expected: set) -> None:
    path = pkg / "data/glossary.csv"
    data = path.read_bytes()
    path.write_bytes(data[:-1])  # no newline at the end
    expected.add(("data/glossary.csv", data.count(b"\n"), None, "no newline at the end of the file"))

    header, rows, lines = read_rows(pkg, "overseas_trips")
    rows[1], rows[2] = rows[2], rows[1]
    write_rows(pkg, "overseas_trips", header, rows)
    expected.add(("data/overseas_trips.csv", lines[1], None, "not in primary-key order"))


def _provenance(pkg, expected: set) -> None:
    header, rows, lines = read_rows(pkg, "sources")
    (pkg / "archive/gbk.txt").write_bytes("巴中市".encode("gbk"))
    for i, path in enumerate(["archive/no_such_file.txt", "../outside.txt", "archive/gbk.txt"]):
        rows.append(dict(rows[0], source_id=f"zz-source-{i}", path=path))
    write_rows(pkg, "sources", header, rows)
    n = lines[-1] + 1
    expected |= {("data/sources.csv", n, "path", "is missing"), ("data/sources.csv", n + 1, "path", "is outside"),
                 ("data/sources.csv", n + 2, "path", "is not UTF-8 text"),
                 ("data/sources.csv", n + 2, "sha256", "SHA-256 of archive/gbk.txt")}

    header, rows, lines = read_rows(pkg, "income")
    i = _first(rows, lambda r: r["source_quote"] and r["parent_item_id"])
    rows[i]["source_quote"] = rows[i]["source_quote"] + " …  … " + rows[i]["source_quote"]
    write_rows(pkg, "income", header, rows)
    expected.add(("data/income.csv", lines[i], "source_quote", "empty excerpt in source_quote"))

    header, rows, lines = read_rows(pkg, "errata")
    i = _first(rows, lambda r: r["quote_carried"])
    rows[i]["quote_carried"] = "并非原文：" + rows[i]["quote_carried"]
    write_rows(pkg, "errata", header, rows)
    expected.add(("data/errata.csv", lines[i], "quote_carried", "is not in the archived source"))


def _derivations(pkg, expected: set) -> None:
    header, rows, lines = read_rows(pkg, "events")
    cases = [("{no_such_table:x} + 1", "derivation", "which is not a resource with amounts"),
             ("{income:no_such_item} + 1", "derivation", "{income:no_such_item}, which is not a row of income"),
             ("the sum of things", "derivation", "cannot read the derivation")]
    for i, (rule, col, words) in enumerate(cases, start=1):  # row 0: _frames' case
        rows[i].update(derived="true", derivation=rule)
        expected.add(("data/events.csv", lines[i], col, words))
    write_rows(pkg, "events", header, rows)

    header, rows, lines = read_rows(pkg, "expenditure_by_type")
    i = _first(rows, lambda r: r["derivation"].startswith("{"))
    rows[i]["amount"] = f"{Decimal(rows[i]['amount']) + 1}"
    write_rows(pkg, "expenditure_by_type", header, rows)
    expected.add(("data/expenditure_by_type.csv", lines[i], "amount", f"does not match `{rows[i]['derivation']}`"))

    header, rows, lines = read_rows(pkg, "expenditure_by_function")
    parents = {r["parent_code"] for r in rows}
    i = _first(rows, lambda r: r["code"] not in parents and r["derived"] == "false")
    rows[i].update(derived="true", derivation="sum(children)")
    write_rows(pkg, "expenditure_by_function", header, rows)
    expected.add(("data/expenditure_by_function.csv", lines[i], "derivation", "no row has it as parent"))


@pytest.fixture(scope="module")
def broken(tmp_path_factory, copy_package):
    """Made once per run (made_once_shared): the Spark module uses it too, on the other worker."""
    def make():
        pkg = copy_package(tmp_path_factory.mktemp("sqlchecks") / "package")
        expected: set = set()
        _errata(pkg, expected)
        _frames(pkg, expected)
        _canonical(pkg, expected)
        _provenance(pkg, expected)
        _derivations(pkg, expected)
        return pkg, expected, validate.collect(pkg), engines.collect(pkg, "duckdb")

    return made_once_shared(tmp_path_factory, "sql-checks", make)


def test_pandas_reports_every_case(broken):
    """The cases are real: the pandas validator reports each one where the fixture says."""
    _pkg, expected, pandas_result, _ = broken
    got = {(p.path, p.line, p.column, p.message) for p in pandas_result.report.problems}
    assert reported(got, expected) == expected, sorted(expected - reported(got, expected))


def test_duckdb_agrees_and_reports_every_case(broken):
    _pkg, expected, pandas_result, duck = broken
    want, got = problems(pandas_result, True), problems(duck, False)
    assert got == want, (sorted(got - want), sorted(want - got))
    messages = {(p.path, p.line, p.column, p.message) for p in duck.report.problems}
    assert reported(messages, expected) == expected, sorted(expected - reported(messages, expected))


def test_the_words_are_the_pandas_words(broken):
    """Not only the kind: each message of these checks is the pandas validator's, word for word."""
    _pkg, expected, pandas_result, duck = broken

    def mine(result):
        return {(p.path, p.line, p.column, p.message) for p in result.report.problems
                if COVERED.search(p.message) and any(e[:3] == (p.path, p.line, p.column) for e in expected)}

    assert mine(duck) == mine(pandas_result)
