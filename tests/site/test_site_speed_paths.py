"""The shortcuts that keep the site fast at 10,000 department-years give the answers the slow way
gave: the canned searches' two ways of finding a word's texts (the trigram index for a rare word, a
scan of each table's texts for a common one), and the report links of table cells worked out once
per row. Expected values come from the CSVs."""

from __future__ import annotations

import csv
import re
import sqlite3
from urllib.parse import quote

import pytest
from site_support import ROOT, csv_rows, resources

from bazhong_accounts.site import build, metadata, report

WORDS = ("电子政务", "公务接待", "接待")  # 3+ characters: the index answers; 2: always a scan


@pytest.fixture(scope="module")
def ds(site_ds):
    return site_ds


def searched(schema) -> list[str]:
    return [f["name"] for f in schema["fields"]
            if f["type"] == "string" and f["role"] in ("label", "text", "provenance")]


def rows_holding(word: str) -> set[tuple[str, str]]:
    """(resource, row_key) of every row with the word in a searched column, read from the CSVs."""
    out = set()
    for res in resources():
        schema, cols = res["schema"], searched(res["schema"])
        pk = schema["primaryKey"] if isinstance(schema["primaryKey"], list) else [schema["primaryKey"]]
        scope = {f["name"] for f in schema["fields"] if f["role"] == "scope"}
        key = [k for k in pk if k not in scope] or pk
        out |= {(res["name"], "|".join(str(r[k]) for k in key)) for r in csv_rows(res["name"])
                if cols and any(word in (r[c] or "") for c in cols)}
    return out


def run(db, query: dict, word: str, fiscal_year: str = "", department: str = "") -> set[tuple[str, str]]:
    conn = sqlite3.connect(db)
    params = {"q": word, "fiscal_year": fiscal_year, "department": department}
    conn.row_factory = sqlite3.Row
    return {(r["resource"], str(r["row_key"])) for r in conn.execute(query["sql"], params)}


@pytest.mark.parametrize("name", ["search_like", "search_fulltext"])
def test_a_common_word_is_found_by_a_scan_as_a_rare_one_by_the_index(site_db, monkeypatch, name):
    pkg = build.load_package(ROOT)
    indexed = metadata.QUERIES[name](pkg)
    monkeypatch.setattr(metadata, "MAX_INDEXED_TEXTS", 0)  # every word is "common": the scan answers
    scanned = metadata.QUERIES[name](pkg)
    assert "<= 0" in scanned["sql"] and "<= 0" not in indexed["sql"]
    for word in WORDS:
        want = rows_holding(word) if name == "search_like" or len(word) >= 3 else set()
        assert run(site_db, indexed, word) == want, (name, word)
        assert run(site_db, scanned, word) == want, (name, word)
    assert run(site_db, scanned, "") == set() and run(site_db, scanned, "no such word at all") == set()


@pytest.mark.parametrize("name", ["search_like", "search_fulltext"])
def test_a_year_of_many_reports_is_searched_through_the_index(site_db, monkeypatch, name):
    """A year alone picks every report of the year: a rare word's rows come from the index's list,
    in that year (FEW_REPORTS = 0 makes the package's one report "many"), as reading them does."""
    years = {str(r["fiscal_year"]) for r in csv_rows(metadata.SCOPE_TABLE)}
    assert len(years) == 1  # the package's rows are all of one year: every hit is in it
    pkg = build.load_package(ROOT)
    monkeypatch.setattr(metadata, "FEW_REPORTS", 0)
    through_index = metadata.QUERIES[name](pkg)
    assert "<= 0 from" in through_index["sql"]
    for word in WORDS:
        want = rows_holding(word) if name == "search_like" or len(word) >= 3 else set()
        assert run(site_db, through_index, word, fiscal_year=next(iter(years))) == want, word
        assert run(site_db, through_index, word, fiscal_year="1999") <= {h for h in want if h[0] == "departments"}


def figure_cells() -> tuple[str, str, list[dict], list[str]]:
    """A resource, a figure column and two of its rows whose cells are located in the report
    (figure_sources.csv), each with the key figure_sources names it by."""
    with (ROOT / "data" / "figure_sources.csv").open(encoding="utf-8", newline="") as f:
        located = list(csv.DictReader(f))
    first = located[0]
    keys = list(dict.fromkeys(x["row_key"] for x in located
                              if (x["resource"], x["column"]) == (first["resource"], first["column"])))
    assert len(keys) >= 2
    schema = next(r["schema"] for r in resources() if r["name"] == first["resource"])
    pk = schema["primaryKey"] if isinstance(schema["primaryKey"], list) else [schema["primaryKey"]]
    scope = {f["name"] for f in schema["fields"] if f["role"] == "scope"}
    key_fields = [k for k in pk if k not in scope] or pk
    rows = {"|".join(str(r[k]) for k in key_fields): r for r in csv_rows(first["resource"])}
    return first["resource"], first["column"], [rows[keys[0]], rows[keys[1]]], keys[:2]


def test_each_cell_links_to_its_own_row_when_rows_alternate(ds):
    """render_cell remembers a row's key between its cells: a cell of another row must not get it."""
    resource, column, rows, keys = figure_cells()
    for row, key in [*zip(rows, keys), *zip(rows, keys), (rows[0], keys[0])]:
        html = report.render_cell(row=row, value=row[column], column=column, table=resource,
                                  database="bazhong", datasette=ds)
        assert html is not None and f"row={quote(f'{resource}|{key}', safe='')}" in str(html), key
    label = next(r["schema"]["rowLabel"] for r in resources() if r["name"] == resource)
    assert report.render_cell(row=rows[0], value=rows[0][label], column=label, table=resource,
                              database="bazhong", datasette=ds) is None  # not a figure: no link


def test_a_facet_lists_its_commonest_values_then_a_link_to_all(ds):
    """indicators?category=work_output: 21 units; the list shows FACET_SIZE, the commonest first."""
    from collections import Counter

    from site_support import get

    units = Counter(r["unit_zh"] for r in csv_rows("indicators") if r["category"] == "work_output")
    assert len(units) > metadata.FACET_SIZE
    page = get(ds, "/bazhong/indicators?category=work_output").text
    facet = re.search(r'id="facet-unit_zh".*?<ul class="tight-bullets">(.*?)</ul>', page, flags=re.S).group(1)
    shown = re.findall(r'<li><a href="[^"]*">([^<]*)</a> ([\d,]+)</li>', facet)
    assert len(shown) == metadata.FACET_SIZE and "_facet_size=max" in facet
    commonest = sorted(units.values(), reverse=True)[:metadata.FACET_SIZE]
    assert sorted((int(n) for _, n in shown), reverse=True) == commonest
    everything = get(ds, "/bazhong/indicators?category=work_output&_facet_size=max").text
    assert all(unit in everything for unit in units)


def test_the_reports_facets_are_counted_from_an_index_alone(site_db):
    """sources filtered by one facet column: each other facet's count reads a covering index (SQLite's
    own plan says so), not every row."""
    schema = next(r["schema"] for r in resources() if r["name"] == metadata.SCOPE_TABLE)
    facets = [f["name"] for f in schema["fields"] if f["role"] in ("scope", "category")]
    assert len(facets) >= 2
    conn = sqlite3.connect(site_db)
    for chosen in facets:
        for other in (c for c in facets if c != chosen):
            sql = (f'select "{other}", count(*) from (select * from {metadata.SCOPE_TABLE} where "{chosen}" = ?) '
                   f'where "{other}" is not null group by "{other}" order by count(*) desc limit 11')
            plan = " ".join(r[3] for r in conn.execute("explain query plan " + sql, ["x"]))
            assert "COVERING INDEX" in plan, (chosen, other, plan)
