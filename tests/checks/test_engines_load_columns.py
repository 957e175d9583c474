"""What DuckDBEngine.load stores: the kept columns and the computed columns that read the row; a
computed column the same on every row (the byte pass's counts, 0) shown by the view, not stored;
the cell-check masks in the narrowest integer that holds their bits (definitions.masks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bazhong_accounts.checks.engines import definitions as d
from bazhong_accounts.checks.engines.backends import DuckDBEngine


@pytest.fixture(scope="module")
def engine():
    e = DuckDBEngine(threads=1)
    yield e
    e.close()


def _csv(tmp: Path, rows: list[str]) -> Path:
    path = tmp / "t.csv"
    path.write_text("a,b,c\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_constant_computed_column_is_shown_not_stored(engine, tmp_path):
    path = _csv(tmp_path, ["1,x,", "2,,z"])
    computed = {"__m": "(case when t.\"b\" = '' then cast(1 as TINYINT) else cast(0 as TINYINT) end)",
                "__zero": "cast(0 as BIGINT)"}
    assert engine.load("t", path, ["a", "b", "c"], ["a"], computed) is None
    stored = [name for (name,) in engine.query("select column_name from (describe r_t)")]
    assert stored == ["a", "__m"]  # __zero not stored (c is read for its UTF-8 only, in __m)
    assert engine.query('select rn, a, __m, __zero from t_t order by rn') == [(0, "1", 0, 0), (1, "2", 1, 0)]
    shown = [name for (name,) in engine.query("select column_name from (describe t_t)")]
    assert shown == ["rn", "a", "__m", "__zero"]  # the order given, as when every column was stored


def test_nothing_kept_or_computed_still_counts_the_rows(engine, tmp_path):
    path = _csv(tmp_path, ["1,x,", "2,,z", "3,y,y"])
    assert engine.load("n", path, ["a", "b", "c"], [], {}) is None
    assert engine.rows_loaded["n"] == 3
    assert engine.query("select count(*), min(rn), max(rn) from t_n") == [(3, 0, 2)]


def _bit_or(engine, checks: list) -> list:
    """bit_or() of each mask column of `checks` over one row."""
    return engine.query(f"select [{', '.join(f'bit_or({m})' for m in d.masks(checks))}] from (select 1 as x) t")[0][0]


@pytest.mark.parametrize("checks", [1, 7, 8, 15, 16, 31, 32, 62, 63, 130])
def test_every_bit_of_a_mask_survives_its_type(engine, checks):
    """Every check failing on one row: bit_or() of the mask columns names every check (a type too
    narrow for its highest bit would fail the cast, or wrap it); none failing, none named."""
    all_fail = [d.Check("required", "t", "a", "true") for _ in range(checks)]
    assert len(d.masks(all_fail)) == -(-checks // d.MASK_BITS)
    assert d.failing(all_fail, _bit_or(engine, all_fail)) == all_fail
    none_fail = [d.Check("required", "t", "a", "false") for _ in range(checks)]
    assert d.failing(none_fail, _bit_or(engine, none_fail)) == []


@pytest.mark.parametrize("bits, kind", [(1, "TINYINT"), (7, "TINYINT"), (8, "SMALLINT"), (15, "SMALLINT"),
                                        (16, "INTEGER"), (31, "INTEGER"), (32, "BIGINT"), (62, "BIGINT")])
def test_the_narrowest_mask_type(bits, kind, engine):
    checks = [d.Check("required", "t", "a", "true") for _ in range(bits)]
    (got,) = engine.query(f"select typeof({d.masks(checks)[0]}) from (select 1 as x) t")[0]
    assert got == kind


def test_a_min_length_of_one_is_no_check_and_a_longer_one_still_fails(engine, tmp_path):
    """minLength 1 cannot fail on a non-empty cell (an empty one is `required`'s): no check, so the
    load counts no characters; minLength 2 still finds the one-character cell."""
    schema = {"fields": [{"name": "a", "constraints": {"required": True, "minLength": 1}},
                         {"name": "b", "constraints": {"minLength": 2}}, {"name": "c"}]}
    checks = d.cell_checks("t", schema)
    assert [(c.kind, c.column) for c in checks] == [("required", "a"), ("length", "b")]
    assert "length(t.\"a\")" not in " ".join(d.masks(checks))
    path = _csv(tmp_path, ["1,xy,", ",x,z"])
    assert engine.load("len", path, ["a", "b", "c"], [], {"__mask0": d.masks(checks)[0]}) is None
    (bits,) = engine.query("select [bit_or(__mask0)] from t_len")[0]
    assert d.failing(checks, bits) == checks  # the empty a, the short b
    assert engine.query("select rn, __mask0 from t_len order by rn") == [(0, 0), (1, 3)]


def test_each_query_is_read_for_its_words_once_however_many_files():
    """columns_read, file after file (the load) and again (the errata's kept columns), parses each
    query that reads a view once: a cache smaller than the package's queries had evicted, file
    after file, the ones the next file needed."""
    from bazhong_accounts.checks import engines
    from bazhong_accounts.checks.package import Result, _load_package
    from conftest import ROOT

    schemas = {name: schema for name, _, schema, _ in _load_package(ROOT, Result())}
    engines._words.cache_clear()
    for _ in range(2):
        queries = engines.row_queries(schemas)
        for name, schema in schemas.items():
            engines.columns_read([f["name"] for f in schema["fields"]], name, queries)
    reading = {sql for sql in queries if any(d.view(name) in sql for name in schemas)}
    assert engines._words.cache_info().misses == len(reading)


@pytest.mark.parametrize("keep, computed", [(["a"], {"__m": "(case when t.\"c\" = '' then cast(1 as TINYINT) "
                                                             "else cast(0 as TINYINT) end)"}), ([], {})])
def test_a_column_nothing_reads_is_still_checked_for_utf8(engine, tmp_path, keep, computed):
    """b is neither kept nor read by a computed column: the load reads it all the same, so the
    reader refuses its invalid UTF-8 (it checks only the columns it builds); a valid file stores
    no column more than before, or one byte a row where nothing else is stored."""
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b,c\n1,x\xffy,z\n")
    assert "CSV Error on Line: 2" in (engine.load("u", path, ["a", "b", "c"], keep, computed) or "")
    path.write_bytes(b"a,b,c\n1,xy,z\n2,,\n")
    assert engine.load("u", path, ["a", "b", "c"], keep, computed) is None
    stored = [name for (name,) in engine.query("select column_name from (describe r_u)")]
    assert stored == keep + list(computed) if computed else stored == ["__utf8"]
    assert engine.query("select count(*) from t_u") == [(2,)]
