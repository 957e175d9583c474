"""A large package's tables load in two processes at once, the second group into a file of its own
copied in afterwards (site/build.py _load_in_parts): the database is the one the single-process
build writes, row for row, rowid for rowid, with the same indexes and the same search index; a bad
cell in the other process's tables is still named by file, line and column."""

from __future__ import annotations

import csv
import sqlite3

import pytest
from site_support import ROOT

from bazhong_accounts.site import build
from bazhong_accounts.site.sqlite import BuildError, load_package


def contents(path) -> dict:
    conn = sqlite3.connect(path)
    schema = sorted(conn.execute("select type, name, tbl_name, sql from sqlite_master "
                                 "where name not like 'sqlite_stat%'"))
    out = {"schema": schema}
    for kind, name, _, _ in schema:
        if kind == "table" and not name.startswith("search_fts"):
            out[name] = conn.execute(f'select rowid, * from "{name}" order by rowid').fetchall()
    out["texts"] = conn.execute('select resource, "column", text, norm, rows, first_rowid, rowids, rowids_i32 '
                                "from search_fts_texts join search_fts_rowids using (id) order by 1, 2, 3").fetchall()
    out["fts"] = conn.execute("select count(*) from search_fts where search_fts match '\"财政拨款\"'").fetchone()
    return out


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    path = tmp_path_factory.mktemp("one") / "one.db"
    build.write_database(load_package(ROOT), path, validated=True, parts=1)
    return contents(path)


def test_two_processes_write_the_database_one_writes(one_process, site_db, tmp_path):
    """... and the second process draws the charts beside the load: the figures of the
    one-process build (site_db's)."""
    path, charts = tmp_path / "two.db", tmp_path / "charts"
    assert build.write_database(load_package(ROOT), path, validated=True, parts=2, charts_dir=charts)
    two = contents(path)
    assert two["schema"] == one_process["schema"]
    assert two == one_process
    assert not list(tmp_path.glob("two.db.part*"))  # the part's file is gone
    expected = site_db.parent / "static" / "charts"
    assert len(list(charts.glob("*.png"))) == 7
    drawn = [p.name for p in expected.iterdir() if p.suffix == ".png" or p.name == "charts.json"]
    assert sorted(p.name for p in charts.iterdir()) == sorted(drawn)
    manifest = "charts.json"
    assert (charts / manifest).read_text(encoding="utf-8") == (expected / manifest).read_text(encoding="utf-8")


def test_a_bad_cell_in_the_other_process_is_named(copy_package, tmp_path):
    pkg = copy_package(tmp_path / "pkg")
    groups = build._balanced(load_package(pkg), 2)
    name = groups[1][0]  # a table the second process loads
    path = pkg / "data" / f"{name}.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2] + ",extra"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(BuildError) as exc:
        build.write_database(load_package(pkg), tmp_path / "x.db", validated=True, parts=2)
    assert str(exc.value).startswith(f"{path}:3: ") and "cells, expected" in str(exc.value)
    assert not list(tmp_path.glob("x.db.part*"))



def test_a_part_failing_while_it_draws_after_its_tables_were_copied_fails_the_build(tmp_path):
    """Its tables are copied in while it draws the charts: its failure then still fails the build,
    with its own words, and leaves no part file behind."""
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(BuildError, match="Not a directory"):
        build.write_database(load_package(ROOT), tmp_path / "x.db", validated=True, parts=2,
                             charts_dir=blocker / "charts")
    assert not list(tmp_path.glob("x.db.part*"))

def test_charts_read_only_the_rows_of_the_department_years_they_draw(copy_package, tmp_path):
    """charts.rows_of types the rows of the wanted department-years only; the others are skipped
    as text, so a bad cell there is the validator's to report, not the charts' to trip on."""
    from bazhong_accounts.site import charts

    pkg = copy_package(tmp_path / "pkg")
    path = pkg / "data" / "income.csv"
    with path.open(encoding="utf-8", newline="") as f:
        header, first, *rest = list(csv.reader(f))
    other = dict(zip(header, first, strict=True)) | {"department": "other-office", "fiscal_year": "2017"}
    with path.open("a", encoding="utf-8", newline="") as f:
        # a good record of another department-year, then a bad one of the same (its second)
        csv.writer(f, lineterminator="\n").writerows([other.values(), (other | {"amount": "not a number"}).values()])
    t = load_package(pkg).tables["income"]
    rows = charts.rows_of(t, {(2018, "bazhong-govt-office")})
    assert len(rows) == 1 + len(rest) and {r["department"] for r in rows} == {"bazhong-govt-office"}
    with pytest.raises(BuildError, match=rf"{path}:{len(rest) + 4}: amount: "):
        charts.rows_of(t, {(2017, "other-office")})
    # typed: the first record of each department-year only
    assert charts.department_years(t) == [("bazhong-govt-office", 2018), ("other-office", 2017)]
