"""The build's indexes (site/build.py index_columns): no index is the leading part of another or of
the primary key (each costs the build a sort of its table, and the longer one answers the same
lookups); every facet column still leads one, in the site's order and with the table's numbers
after it (its pages in order and its sums from the index alone)."""

from __future__ import annotations

import sqlite3

from bazhong_accounts.site import build
from bazhong_accounts.site.sqlite import load_package
from site_support import ROOT


def indexes_of(conn: sqlite3.Connection, table: str) -> list[tuple[str, ...]]:
    """The column lists of the table's indexes, the primary key's included."""
    return [tuple(r[2] for r in conn.execute(f'pragma index_info("{name}")'))
            for _, name, *_ in conn.execute(f'pragma index_list("{table}")')]


def prefixes(indexes: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [a for a in indexes if any(len(b) > len(a) and b[: len(a)] == a for b in indexes)]


def test_no_index_is_the_leading_part_of_another(site_db):
    conn = sqlite3.connect(site_db)
    for name in load_package(ROOT).tables:
        assert prefixes(indexes_of(conn, name)) == [], name


def test_the_check_above_sees_a_prefix():
    assert prefixes([("a", "b"), ("a",), ("c",)]) == [("a",)]
    assert build._without_prefixes([("a", "b"), ("a",), ("c",), ("c",), ("k",)], ("k", "x")) == [("a", "b"), ("c",)]


def test_a_facet_index_holds_the_sort_order_then_the_numbers(site_db):
    conn = sqlite3.connect(site_db)
    found = indexes_of(conn, "indicators")
    assert ("category", "metric_id", "fiscal_year", "department", "value") in found, found
    plan = " ".join(r[3] for r in conn.execute(
        "explain query plan select sum(value) from indicators where category = 'work_output'"))
    assert "COVERING INDEX" in plan, plan
