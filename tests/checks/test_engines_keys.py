"""Primary keys proven unique by one pass over adjacent rows (definitions.primary_key_unproven):
a key that strictly increases in file order holds no value twice; anything else sends the file
to the exact key query. Each case is a small table whose duplicates are known by construction."""

from __future__ import annotations

import pytest

from bazhong_accounts.checks.engines import _duplicate_keys
from bazhong_accounts.checks.engines import definitions as d
from bazhong_accounts.checks.engines.backends import DuckDBEngine

SCHEMA = {"fields": [{"name": "year", "type": "integer"}, {"name": "code", "type": "string"},
                     {"name": "note", "type": "string"}],
          "primaryKey": ["year", "code"]}


@pytest.fixture(scope="module")
def engine():
    e = DuckDBEngine()
    yield e
    e.close()


def _table(engine, name: str, rows: list[tuple[str, str]]) -> None:
    """t_<name> as the load makes it: text cells, '' when empty, rn in file order."""
    values = ", ".join(f"({d.lit(y)}, {d.lit(c)}, 'x')" for y, c in rows) or "(NULL, NULL, NULL)"
    engine.con.execute(f"create or replace table {d.q('r_' + name)} as select * from (values {values}) "
                       f"v(year, code, note){' where false' if not rows else ''}")
    engine.con.execute(f"create or replace view {d.view(name)} as select rowid as rn, * from {d.q('r_' + name)}")


CASES = {  # rows in file order -> duplicates (pairs of rows sharing a typed key)
    "increasing": ([("2017", "b"), ("2018", "a"), ("2018", "b"), ("2019", "a")], 0),
    "adjacent twins": ([("2018", "a"), ("2018", "a")], 1),
    "twins apart": ([("2018", "a"), ("2018", "b"), ("2018", "a")], 1),
    "same integer, other text": ([("07", "a"), ("7", "a")], 1),
    "same integer, apart": ([("07", "a"), ("07", "b"), ("7", "a")], 1),
    "unsorted, unique": ([("2019", "a"), ("2018", "a")], 0),
    "a key cell empty": ([("2018", "a"), ("", "b"), ("2018", "c")], 0),
    "not an integer": ([("2018", "a"), ("20x8", "a"), ("2019", "a")], 0),
    "one row": ([("2018", "a")], 0),
    "no rows": ([], 0),
}


@pytest.mark.parametrize("in_scan_order", [True, False], ids=["over ()", "order by rn"])
def test_keys_not_proven_unique_are_those_that_may_repeat(engine, in_scan_order):
    for i, (name, (rows, duplicates)) in enumerate(CASES.items()):
        _table(engine, f"k{i}", rows)
        n = engine.query(d.primary_key_unproven(f"k{i}", SCHEMA, in_scan_order))[0][1]
        strictly_increasing = all((int(a[0]), a[1]) < (int(b[0]), b[1]) for a, b in zip(rows, rows[1:])
                                  if a[0].isdigit() and b[0].isdigit()) and all(r[0].isdigit() for r in rows)
        assert (n == 0) == strictly_increasing, (name, n)
        if duplicates:
            assert n > 0, f"{name}: a duplicate passed as proven unique"


def test_the_exact_query_then_finds_exactly_the_duplicates(engine):
    """The files not proven unique go to primary_key_check, which names the rows sharing a key
    (a cell not of its type, or empty, is no key)."""
    names = {f"k{i}": rows for i, (rows, _) in enumerate(CASES.values())}
    for name, rows in names.items():
        _table(engine, name, rows)
    unproven = _duplicate_keys(engine, {n: SCHEMA for n in names})
    for i, (case, (rows, duplicates)) in enumerate(CASES.items()):
        found = engine.query(d.primary_key_check(f"k{i}", SCHEMA)[0].sql) if f"k{i}" in unproven else []
        assert len(found) == 2 * duplicates, (case, found)
