"""Exact money without Python in the hot loop: the view <table>_exact gives every number column an
exact INTEGER twin (<field>_x<10^decimalPlaces>) that SQLite's own sum() adds exactly, in the file on
its own; the site's sum(amount) takes an integer path; the streaming loader names the line of a
bad record.
Expected values come from the CSVs (read with the csv module and Decimal), never from the build."""

from __future__ import annotations

import csv
import io
import random
import re
import sqlite3
from decimal import Decimal

import pytest
from site_support import ROOT, csv_rows, dec, resources

from bazhong_accounts.site import build
from bazhong_accounts.site.plugin import DecimalSum, DecimalTotal
from bazhong_accounts.site.sqlite import BuildError, load_csv, load_package


def number_fields():
    return [(res["name"], f) for res in resources() for f in res["schema"]["fields"] if f["type"] == "number"]


def test_every_number_field_declares_its_decimals():
    assert number_fields()
    for table, f in number_fields():
        assert isinstance(f.get("decimalPlaces"), int), (table, f["name"])


def test_plain_sqlite_sums_the_integer_twins_exactly(site_db):
    conn = sqlite3.connect(site_db)  # no plugin: SQLite's own sum()
    assert conn.execute("pragma main.application_id").fetchone()[0]  # a file the build stamped
    for table, f in number_fields():
        scale = 10 ** f["decimalPlaces"]
        twin = f"{f['name']}_x{scale}"
        rows = csv_rows(table)
        values = [r[f["name"]] for r in rows if r[f["name"]] is not None]
        got = conn.execute(f'select sum("{twin}"), typeof(sum("{twin}")) from "{table}_exact"').fetchone()
        assert got == ((int(sum(values) * scale), "integer") if values else (None, "null")), (table, twin)
        pk = next(r for r in resources() if r["name"] == table)["schema"]["primaryKey"]  # the CSVs' order
        order = ", ".join(f'"{c}"' for c in ([pk] if isinstance(pk, str) else pk))
        each = [v for (v,) in conn.execute(f'select "{twin}" from "{table}_exact" order by {order}')]
        assert each == [None if r[f["name"]] is None else int(r[f["name"]] * scale) for r in rows], (table, twin)


def test_the_tables_keep_the_columns_of_the_csvs(site_db):
    """The twins live in the views: pages, downloads and `select *` of a table are the CSV's columns."""
    conn = sqlite3.connect(site_db)
    for res in resources():
        names = [d[0] for d in conn.execute(f'select * from "{res["name"]}" limit 0').description]
        assert names == [f["name"] for f in res["schema"]["fields"]], res["name"]
        view = [d[0] for d in conn.execute(f'select * from "{res["name"]}_exact" limit 0').description] \
            if any(f["type"] == "number" for f in res["schema"]["fields"]) else names
        assert view[: len(names)] == names, res["name"]


def readme_sql_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(r"^```sql\n(.*?)^```", text, re.M | re.S) if "_x100" in m.group(1)]


def test_the_readme_sql_prints_the_exact_total_from_the_file_alone(site_db):
    blocks = readme_sql_blocks()
    assert any("printf" in sql for sql in blocks), "README shows how to print the exact sum"
    want = sum(r["amount"] for r in csv_rows("expenditure_by_function") if r["level"] == 1)
    conn = sqlite3.connect(site_db)
    for sql in blocks:
        got = conn.execute(sql).fetchone()[0]
        assert got == (f"{want:.2f}" if "printf" in sql else int(want * 100)), sql


def test_the_site_sums_amount_and_its_twin_exactly(site_db):
    from site_support import datasette, get_json

    ds = datasette(site_db)
    want = sum(r["amount"] for r in csv_rows("expenditure_by_function") if r["level"] == 1)
    level1 = "+from+expenditure_by_function_exact+where+level+%3D+1"
    got = get_json(ds, "/bazhong.json?_shape=array&sql=select+sum(amount)+as+s,+sum(amount_x100)+as+t" + level1)[0]
    assert repr(got["s"]) == str(want) and got["t"] == int(want * 100)


# ---------------------------------------------------------------- the site's aggregate


def aggregate(cls, values):
    agg = cls()
    for v in values:
        agg.step(v)
    return agg


def exact(values) -> Decimal | None:
    """The reference: every non-NULL value as the decimal a reader sees (floats by repr)."""
    ds = [Decimal(repr(v)) if isinstance(v, float) else Decimal(v) for v in values if v is not None]
    return sum(ds, Decimal(0)) if ds else None


@pytest.mark.parametrize("values", [
    [2524.97, 0.0, 91.0, -2.89, 0.1, 0.2],
    [0.125, 1.005, 2.675, 1e-7],  # more than two decimals: the Decimal path
    [1e13, 9999999999999.99, 1.2345678901234567e17, 1e20, -1e15],  # beyond the integer path's range
    [5, 7, -3, 12.5, "3.25", "x", None],  # integers, text as SQLite's sum() reads it, NULL
    [9223372036854775807, 9223372036854775807, -1],  # integers (the _x100 twins) beyond 64 bits: exact
    [252497, 0, -289, 1, 0.1],  # integers and a float
    [0.0, 0.0],
    [],
    [None, None],
])
def test_sum_takes_the_integer_path_without_changing_a_digit(values):
    want = exact([v if not isinstance(v, str) else (v if re.fullmatch(r"-?[0-9.]+", v) else 0) for v in values])
    agg = aggregate(DecimalSum, values)
    assert agg.exact_total() == want
    integral = want is not None and want == want.to_integral_value()
    assert agg.finalize() == (None if want is None else int(want) if integral else float(want))
    assert type(agg.finalize()) is (type(None) if want is None else int if integral else float)
    assert aggregate(DecimalTotal, values).finalize() == float(want or 0)


def test_sum_of_many_two_decimal_amounts_is_exact():
    rng = random.Random(14)
    values = [rng.randint(-10**9, 10**9) / 100 for _ in range(20000)]
    assert aggregate(DecimalSum, values).exact_total() == exact(values)
    assert repr(aggregate(DecimalSum, values).finalize()) == str(exact(values).normalize())
    assert repr(sum(values)) != str(exact(values).normalize())  # the float sum shows noise


# ---------------------------------------------------------------- the streaming loader


def load_broken(copy_package, tmp_path, resource: str, edit, validated: bool = False) -> BuildError:
    """Break data/<resource>.csv of a copy with `edit(lines)`, load it as the build does (`validated`:
    as the build does while the validator runs beside, which proves the types but not decimals)."""
    pkg = copy_package(tmp_path / "pkg")
    path = pkg / "data" / f"{resource}.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    edit(lines)
    path.write_text("\n".join(lines), encoding="utf-8")
    tables = load_package(pkg).tables
    conn = sqlite3.connect(":memory:")
    conn.execute(build.create_table_sql(tables[resource], tables))
    with pytest.raises(BuildError) as exc:
        load_csv(conn, tables[resource], validated=validated)
    return str(exc.value), path


def set_cell(column: str, line: int, text: str):
    """Edit one cell of a one-line record (the first lines of these files have no line breaks)."""
    def edit(lines):
        header, cells = next(csv.reader([lines[0]])), next(csv.reader([lines[line - 1]]))
        cells[header.index(column)] = text
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        lines[line - 1] = out.getvalue()
    return edit


@pytest.mark.parametrize("validated", [False, True])
def test_more_decimals_than_declared_stops_the_build(copy_package, tmp_path, validated):
    message, path = load_broken(copy_package, tmp_path, "income", set_cell("amount", 3, "675.705"), validated)
    assert message == (f'{path}:3: amount: "675.705" has 3 decimal places; the schema declares decimalPlaces 2 '
                       f"(raise it in the schema if the report prints more)")


@pytest.mark.parametrize("validated", [False, True])
def test_more_whole_digits_than_the_twin_holds_stops_the_build(copy_package, tmp_path, validated):
    message, path = load_broken(copy_package, tmp_path, "income", set_cell("amount", 3, "-12345678901234.5"), validated)
    assert message == f'{path}:3: amount: "-12345678901234.5" has more than 13 digits before the decimal point'
    load_broken_ok = set_cell("amount", 3, "-1234567890123.5")  # 13 digits and a sign: fits
    pkg = copy_package(tmp_path / "ok")
    path = pkg / "data" / "income.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    load_broken_ok(lines)
    path.write_text("\n".join(lines), encoding="utf-8")
    tables = load_package(pkg).tables
    conn = sqlite3.connect(":memory:")
    conn.execute(build.create_table_sql(tables["income"], tables))
    load_csv(conn, tables["income"], validated=validated)
    assert conn.execute("select amount from income where rowid = 2").fetchone()[0] == -1234567890123.5


@pytest.mark.parametrize("validated", [False, True])
def test_a_record_of_the_wrong_length_is_named_by_its_line(copy_package, tmp_path, validated):
    def edit(lines):
        lines[4] += ",extra"
    message, path = load_broken(copy_package, tmp_path, "income", edit, validated)
    fields = len(next(r for r in resources() if r["name"] == "income")["schema"]["fields"])
    assert message == f"{path}:5: {fields + 1} cells, expected {fields}"


def test_a_bad_pattern_cell_is_named_by_its_line(copy_package, tmp_path):
    """(A validated load leaves the patterns to the validator, which refuses the build: the
    distinct values of every patterned column cost seconds at N = 10,000.)"""
    message, path = load_broken(copy_package, tmp_path, "income", set_cell("item_id", 6, "Bad-Id"), False)
    assert message.startswith(f'{path}:6: item_id: "Bad-Id" does not match the pattern ')


def test_a_validated_load_stores_what_the_typed_load_stores(tmp_path):
    """The build that leaves types to the validator beside it writes the same values, of the same
    SQLite types, as the load that types every cell in SQL."""
    dbs = {}
    for validated in (False, True):
        dbs[validated] = tmp_path / f"v{validated}.db"
        build.write_database(load_package(ROOT), dbs[validated], validated=validated)
    typed, fast = (sqlite3.connect(dbs[v]) for v in (False, True))
    for res in resources():
        cols = ", ".join(f'"{f["name"]}", typeof("{f["name"]}")' for f in res["schema"]["fields"])
        sql = f'select rowid, {cols} from "{res["name"]}" order by rowid'
        assert typed.execute(sql).fetchall() == fast.execute(sql).fetchall(), res["name"]


def test_a_build_reads_the_real_values_back(site_db):
    """The REALs SQLite parsed from the CSV text are Python's floats of the same text."""
    conn = sqlite3.connect(site_db)
    for table, f in number_fields():
        got = [v for (v,) in conn.execute(f'select "{f["name"]}" from "{table}" order by rowid')]
        want = [r[f["name"]] for r in csv_rows(table)]
        assert [dec(v) for v in got] == want, (table, f["name"])


def test_a_sum_by_category_reads_an_index_not_the_table(site_db):
    """sum(amount) where level = 1 is 50,000 rows at N = 10,000: from the table 260 ms, from an index 10."""
    conn = sqlite3.connect(site_db)
    for sql in ("select sum(amount) from expenditure_by_function where level = 1",
                "select sum(amount_x100) from expenditure_by_function_exact where level = 1",
                "select sum(value_carried) from errata where kind = 'identity'"):
        plan = " ".join(str(r) for r in conn.execute("explain query plan " + sql))
        assert "COVERING INDEX" in plan, (sql, plan)


# ---------------------------------------------------------------- two sums at once in one worker


def test_two_sums_asked_at_once_in_one_worker_run_one_after_the_other(site_db, monkeypatch):
    """sqlite3 takes the GIL for every row a Python aggregate steps through and drops it between rows:
    two sums in two SQL threads of one worker handed it over row by row (benchmarks/bench_gil.py: 2x
    the CPU). The site's one SQL thread a worker (serve.SETTINGS) runs them one after the other; each
    sum here holds on in finalize long enough for a second thread, were there one, to start its own."""
    import asyncio
    import threading
    import time

    from bazhong_accounts.site import plugin
    from bazhong_accounts.site.serve import make_datasette

    running, most, done = 0, 0, 0
    lock = threading.Lock()

    class Watched(plugin.DecimalSum):
        def __init__(self):
            super().__init__()
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)

        def finalize(self):
            nonlocal running, done
            time.sleep(0.02)
            with lock:
                running, done = running - 1, done + 1
            return super().finalize()

    monkeypatch.setattr(plugin, "DecimalSum", Watched)  # read when a connection is prepared
    ds = make_datasette([site_db])  # as each serving worker builds it
    sql = "/bazhong.json?_shape=array&sql=select+sum(amount)+as+s+from+expenditure_by_function&_n="

    async def four_at_once():
        return await asyncio.gather(*(ds.client.get(sql + str(i)) for i in range(4)))

    assert [r.status_code for r in asyncio.run(four_at_once())] == [200] * 4
    assert (done, most) == (4, 1)
