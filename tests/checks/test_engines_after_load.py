"""The short cuts the SQL engines take after the load, each fed the input it must not hide:
gpb_total's parts written out for the breaking department-years only (identities.function_vs_type),
the row-order pass skipped where the load proved the keys in order (canonical_sql.order_proven),
each distinct known-erratum message worded once (identities._worded), the organisation's roots
counted by an aggregate (package_checks.roots_sql)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from bazhong_accounts.checks import engines, validate
from bazhong_accounts.checks.engines import definitions as d
from bazhong_accounts.checks.engines.backends import DuckDBEngine
from bazhong_accounts.checks.engines.canonical_sql import EXACT_IN_DOUBLE, exact_in_double, order_proven
from bazhong_accounts.checks.engines.identities import _worded, message
from conftest import made_once_shared, read_rows, write_rows


@pytest.fixture(scope="session")
def broken(tmp_path_factory, copy_package):
    """One copy: gpb_total one more than its 类 rows, two rows of three_public_expenses_counts (keys:
    a bounded integer and strings, the ones order_proven trusts) swapped, and an organisation
    without a root unit (its root made the child of a unit below it: a cycle too). Once per run
    (made_once_shared): worksteal splits the module between the workers."""
    return made_once_shared(tmp_path_factory, "after-load", lambda: _broken(tmp_path_factory, copy_package))


def _broken(tmp_path_factory, copy_package):
    pkg = copy_package(tmp_path_factory.mktemp("afterload") / "package")
    header, rows, lines = read_rows(pkg, "expenditure_by_type")
    i = next(i for i, r in enumerate(rows) if r["item_id"] == "gpb_total")
    rows[i]["amount"] = str(Decimal(rows[i]["amount"]) + 1)
    write_rows(pkg, "expenditure_by_type", header, rows)
    gpb = ("data/expenditure_by_type.csv", lines[i], "amount")

    header, rows, lines = read_rows(pkg, "three_public_expenses_counts")
    rows[0], rows[1] = rows[1], rows[0]
    write_rows(pkg, "three_public_expenses_counts", header, rows)

    header, rows, _ = read_rows(pkg, "organisation")
    root = next(r for r in rows if not r["parent_unit_id"])
    root["parent_unit_id"] = next(r["unit_id"] for r in rows if r["parent_unit_id"] == root["unit_id"])
    write_rows(pkg, "organisation", header, rows)
    return gpb, lines[0], validate.collect(pkg), engines.collect(pkg, "duckdb")


def _where(result, words: str) -> set:
    return {(p.path, p.line, p.column, p.message) for p in result.report.problems if words in p.message}


def test_gpb_parts_break_worded_as_pandas_does(broken):
    gpb, _, pandas_result, duck = broken
    want = _where(pandas_result, "类 rows sum to")
    assert {w[:3] for w in want} == {gpb}, want  # the case is real
    assert _where(duck, "类 rows sum to") == want


def test_rows_out_of_order_still_reported(broken):
    _, line, pandas_result, duck = broken
    want = _where(pandas_result, "not in primary-key order")
    assert [(w[0], w[1]) for w in want] == [("data/three_public_expenses_counts.csv", line)], want
    assert _where(duck, "not in primary-key order") == want


def test_no_root_unit_and_its_cycle_reported_as_pandas_does(broken):
    *_, pandas_result, duck = broken
    for words in ("has 0 root units", "never reaches a root"):
        want = _where(pandas_result, words)
        assert want, words  # the case is real
        assert _where(duck, words) == want


def _table(pk_fields: list[dict], duplicates=False, failed=(), name="t"):
    schema = {"fields": pk_fields + [{"name": "x", "type": "string"}], "primaryKey": [f["name"] for f in pk_fields]}
    return SimpleNamespace(name=name, schema=schema, duplicates=duplicates, failed=list(failed))


YEAR = {"name": "fiscal_year", "type": "integer", "constraints": {"minimum": 2000, "maximum": 2100}}
DEPT = {"name": "department", "type": "string"}


def test_order_proven_only_where_the_load_order_decides_as_the_canonical_sort():
    assert order_proven(_table([YEAR, DEPT]))
    assert not order_proven(_table([YEAR, DEPT], duplicates=True)), "keys not proven increasing"
    unbounded = {"name": "trip_no", "type": "integer", "constraints": {"minimum": 1}}
    assert not order_proven(_table([YEAR, unbounded])), "no maximum: past 2**53 DOUBLE ties, the text decides"
    huge = {"name": "n", "type": "integer", "constraints": {"minimum": 0, "maximum": EXACT_IN_DOUBLE + 1}}
    assert not order_proven(_table([huge]))
    number = {"name": "v", "type": "number", "constraints": {"minimum": 0, "maximum": 10}}
    assert not order_proven(_table([number])), "decimals: rounded as DECIMAL, compared as DOUBLE"
    out_of_range = d.Check("range", "t", "fiscal_year", "")
    assert not order_proven(_table([YEAR, DEPT], failed=[out_of_range])), "a bound that some cell breaks"
    assert order_proven(_table([YEAR, unbounded]), exact={"trip_no"}), "the engine found its values exact as DOUBLE"
    assert not order_proven(_table([YEAR, unbounded], duplicates=True), exact={"trip_no"})
    assert not order_proven(_table([number]), exact={"v"}), "only integers are asked of the engine"


@pytest.mark.parametrize(("values", "exact"), [
    (["1", "2", str(EXACT_IN_DOUBLE)], True),
    ([str(-EXACT_IN_DOUBLE), "3"], True),
    (["1", str(EXACT_IN_DOUBLE + 1)], False),  # DOUBLE ties past 2**53: the text would decide
    ([str(-EXACT_IN_DOUBLE - 1), "1"], False),
    (["", ""], False),  # no value: nothing proven
])
def test_unbounded_integer_keys_proven_exact_by_their_values_only(values, exact):
    unbounded = {"name": "trip_no", "type": "integer", "constraints": {"minimum": 1}}
    engine = DuckDBEngine()
    try:
        rows = ", ".join(f"({i}, '{v}')" for i, v in enumerate(values))
        engine.con.execute(f"create view t_trips as select * from (values {rows}) as v(rn, trip_no)")
        found = exact_in_double(engine, [_table([DEPT, unbounded], name="trips"), _table([YEAR, DEPT], name="other")])
    finally:
        engine.close()
    assert found == ({"trips": {"trip_no"}} if exact else {}), found


def test_known_errata_worded_once_are_worded_as_message():
    args = ("rate", "share_pct", "2.77", "65.25", "2351.13", "gpb_total\x1f\x1f")
    assert _worded(*args) == message(*args)
    assert _worded(*args) is _worded(*args)


def test_rows_of_another_department_year_found_by_the_pass_the_quotes_share(copy_package, tmp_path):
    """sources_sql.source_pairs: a resource whose pairs say no row differs runs no source
    query; a row that differs is found whether it has a quote or not (an empty one is a pair too)."""
    pkg = copy_package(tmp_path / "package")
    header, rows, lines = read_rows(pkg, "income")
    rows[0].update(fiscal_year="2019", source_quote="")
    rows[1].update(fiscal_year="2019")
    write_rows(pkg, "income", header, rows)
    result = engines.collect(pkg, "duckdb")
    found = {p.line for p in result.report.problems if p.path == "data/income.csv" and "is the report of" in p.message}
    assert found == {lines[0], lines[1]}, result.report.problems
