"""The Datasette site: database built from the schemas, plugin, metadata, canned queries, charts.
Expected values come from the CSVs, never hard-coded."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from site_support import ROOT, csv_rows, datasette, dec, get, get_json, resources, typed

from bazhong_accounts import cli
from bazhong_accounts.site import build, charts
from bazhong_accounts.site.plugin import register_exact_sum

SQL_TYPES = {"integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT", "string": "TEXT"}


@pytest.fixture(scope="module")
def db(site_db):
    return site_db


@pytest.fixture(scope="module")
def ds(site_ds):
    return site_ds


# Expectations read from the Table Schemas' declarations (role, rowLabel), not from the code.
def role_of(schema) -> dict[str, str]:
    return {f["name"]: f["role"] for f in schema["fields"]}


def row_key_fields(schema) -> list[str]:
    roles = role_of(schema)
    pk = schema["primaryKey"] if isinstance(schema["primaryKey"], list) else [schema["primaryKey"]]
    return [k for k in pk if roles[k] != "scope"] or pk


def row_key(schema, row: dict) -> str:
    """How a row is named within its department-year: its key fields other than the scope ones,
    joined by "|" (as schemas/errata.json describes row_key)."""
    return "|".join(str(row[k]) for k in row_key_fields(schema))


def fts_columns(schema) -> list[str]:
    return [f["name"] for f in schema["fields"]
            if f["type"] == "string" and f["role"] in ("label", "text", "provenance")]


def figure_columns(schema) -> list[str]:
    return [n for n, r in role_of(schema).items() if r == "figure"]


def sql(ds, query: str, **params) -> list[dict]:
    qs = "&".join(f"{k}={quote(str(v))}" for k, v in {"sql": query, **params}.items())
    return get_json(ds, f"/bazhong.json?{qs}&_shape=array")


def canned(ds, name: str, **params) -> list[dict]:
    qs = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    return get_json(ds, f"/bazhong/{name}.json?{qs}&_shape=array&_size=max")


# ---------------------------------------------------------------- the database


def test_columns_keys_and_types_follow_the_schemas(db):
    conn = sqlite3.connect(db)
    for res in resources():
        info = {r[1]: r for r in conn.execute(f'pragma table_info("{res["name"]}")')}
        fields = res["schema"]["fields"]
        assert list(info) == [f["name"] for f in fields], res["name"]
        for f in fields:
            _, name, coltype, notnull, _, pk = info[f["name"]]
            assert coltype == SQL_TYPES[f["type"]], (res["name"], name)
            assert bool(notnull) == bool(f.get("constraints", {}).get("required")), (res["name"], name)
        pk_cols = [n for n, r in sorted(info.items(), key=lambda kv: kv[1][5]) if r[5]]
        assert pk_cols == res["schema"]["primaryKey"], res["name"]
        fk_targets = {r[2] for r in conn.execute(f'pragma foreign_key_list("{res["name"]}")')}
        wanted = {fk["reference"]["resource"] or res["name"] for fk in res["schema"].get("foreignKeys", [])}
        assert fk_targets == wanted, res["name"]
    assert conn.execute("pragma foreign_key_check").fetchall() == []


def test_foreign_keys_are_enforced_composite_and_self_referencing(db, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    conn = sqlite3.connect(copy)
    conn.execute("pragma foreign_keys = on")
    row = conn.execute("select * from income where parent_item_id is not null limit 1").fetchone()
    cols = [d[0] for d in conn.execute("select * from income limit 0").description]
    bad = dict(zip(cols, row, strict=False), item_id="zz_new", parent_item_id="no_such_item")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(f"insert into income ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
                     list(bad.values()))
    kpi = conn.execute("select * from project_kpis limit 1").fetchone()
    kcols = [d[0] for d in conn.execute("select * from project_kpis limit 0").description]
    bad = dict(zip(kcols, kpi, strict=False), project_id="no_such_project", row_no=9999)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(f"insert into project_kpis values ({', '.join('?' * len(kcols))})", list(bad.values()))
    fk_ids = [r[0] for r in conn.execute("pragma foreign_key_list(project_kpis)")]
    assert max(fk_ids.count(i) for i in fk_ids) == 3, "the project_kpis -> projects key is composite"


def test_indexes_cover_foreign_keys_and_facets(db):
    conn = sqlite3.connect(db)
    meta = json.loads((db.parent / "metadata.json").read_text(encoding="utf-8"))["databases"]["bazhong"]["tables"]
    for res in resources():
        t = res["name"]
        leading = {conn.execute(f'pragma index_info("{ix[1]}")').fetchone()[2]
                   for ix in conn.execute(f'pragma index_list("{t}")')}
        for fk in conn.execute(f'pragma foreign_key_list("{t}")'):
            if fk[1] == 0:
                assert fk[3] in leading, (t, fk)
        for facet in meta[t]["facets"]:
            assert facet in leading, (t, facet)


def test_every_table_answers_with_all_its_rows(ds):
    for res in resources():
        data = get_json(ds, f"/bazhong/{res['name']}.json?_size=max")
        assert data["filtered_table_rows_count"] == len(csv_rows(res["name"])), res["name"]
        page = get(ds, f"/bazhong/{res['name']}")
        assert page.status_code == 200 and res["title"].split(" / ")[0] in page.text


def test_csv_export_round_trip_gives_back_every_value(ds):
    for res in resources():
        r = get(ds, f"/bazhong/{res['name']}.csv?_size=max")
        assert r.status_code == 200, res["name"]
        types = {f["name"]: f["type"] for f in res["schema"]["fields"]}
        exported = [{k: typed(types[k], v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(r.text))]
        assert exported == csv_rows(res["name"]), res["name"]


# ---------------------------------------------------------------- exact money


def test_sum_and_total_are_exact_decimals(ds):
    rows = csv_rows("expenditure_by_function")
    want = sum(r["amount"] for r in rows if r["level"] == 1)
    got = sql(ds, "select sum(amount) as s, total(amount) as t from expenditure_by_function where level = 1")[0]
    assert dec(got["s"]) == want and dec(got["t"]) == want
    assert repr(got["s"]) == str(want.normalize())
    for res in resources():  # every numeric column of every table
        for f in res["schema"]["fields"]:
            if f["type"] == "number":
                values = [r[f["name"]] for r in csv_rows(res["name"]) if r[f["name"]] is not None]
                got = sql(ds, f'select sum("{f["name"]}") as s from "{res["name"]}"')[0]["s"]
                assert dec(got) == (sum(values) if values else None), (res["name"], f["name"])


def test_the_plugin_overrides_the_builtin_sum():
    conn = sqlite3.connect(":memory:")
    conn.execute("create table t (x)")
    conn.executemany("insert into t values (?)", [(0.1,), (0.2,), ("0.3",)])
    assert conn.execute("select sum(x) from t").fetchone()[0] != 0.6  # builtin: 0.6000000000000001
    register_exact_sum(conn)
    assert conn.execute("select sum(x), total(x) from t").fetchone() == (0.6, 0.6)
    assert conn.execute("select sum(x) from t where 0").fetchone()[0] is None
    # Python's sqlite3 returns NULL when an aggregate saw no rows: total() of nothing is NULL, not 0.0.
    assert conn.execute("select total(x) from t where 0").fetchone()[0] is None
    conn.execute("insert into t values (0.4)")
    total = conn.execute("select sum(x) from t").fetchone()[0]
    assert total == 1 and isinstance(total, int)


def test_plugin_is_active_in_datasette(ds):
    names = {p["name"] for p in get_json(ds, "/-/plugins.json")}
    assert "bazhong-accounts" in names or "bazhong_accounts.site.plugin" in names


# ---------------------------------------------------------------- read-only, time limit, robots


@pytest.mark.parametrize("statement", [
    "insert into departments (department, name_zh, name_en, region_zh, region_en) values ('x', 'x', 'x', 'x', 'x')",
    "update income set amount = 0",
    "drop table income",
])
def test_writes_are_refused(ds, statement):
    r = get(ds, f"/bazhong.json?sql={quote(statement)}")
    assert r.status_code >= 400
    assert sql(ds, "select count(*) as n from income")[0]["n"] == len(csv_rows("income"))
    assert dec(sql(ds, "select sum(amount) as s from income")[0]["s"]) == sum(r["amount"] for r in csv_rows("income"))


def test_a_runaway_query_is_cut_off(ds):
    runaway = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
    r = get(ds, f"/bazhong?sql={quote(runaway)}")
    # Datasette's own time-limit message: the limit, not the machine's speed, ended the query
    assert r.status_code >= 400 and "too long" in r.text


def test_robots_and_archived_source(ds):
    r = get(ds, "/robots.txt")
    assert r.status_code == 200 and "Disallow: /" in r.text
    source = csv_rows("sources")[0]
    r = get(ds, f"/archive/{Path(source['path']).name}")
    assert r.status_code == 200 and r.text == (ROOT / source["path"]).read_text(encoding="utf-8")
    assert get(ds, "/archive/..%2Fdatapackage.json").status_code == 404
    assert get(ds, "/archive/datapackage.json").status_code == 404


# ---------------------------------------------------------------- metadata


def test_metadata_describes_every_table_and_column(db):
    meta = json.loads((db.parent / "metadata.json").read_text(encoding="utf-8"))
    dp = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    assert meta["title"] == dp["title"] and meta["license_url"] == dp["licenses"][0]["path"]
    assert meta["source"] == dp["sources"][0]["title"]
    assert meta["source_url"].endswith(Path(dp["sources"][0]["path"]).name) and "://" not in meta["source_url"]
    tables = meta["databases"]["bazhong"]["tables"]
    for res in resources():
        t = tables[res["name"]]
        assert t["title"] == res["title"] and re.search(r"[\u4e00-\u9fff].* / [A-Za-z]", t["title"])
        assert "units" not in t  # Datasette 0.65 answers 500 for 万元
        for f in res["schema"]["fields"]:
            assert f["title"] in t["columns"][f["name"]] and f.get("description", "") in t["columns"][f["name"]]
    assert tables["departments"]["label_column"] == "name_zh"
    facets = tables["indicators"]["facets"]
    assert facets[:2] == ["fiscal_year", "department"] and "category" in facets
    assert all(re.fullmatch(r"[a-z_]+", n) for n in meta["databases"]["bazhong"]["queries"])


def test_home_page_links_charts_and_queries(ds, db):
    r = get(ds, "/")
    assert r.status_code == 200
    assert 'href="/charts"' in r.text and "巴中" in r.text
    meta = json.loads((db.parent / "metadata.json").read_text(encoding="utf-8"))
    for name in meta["databases"]["bazhong"]["queries"]:
        assert f'href="/bazhong/{name}"' in r.text


def test_facet_and_full_text_search_on_every_searchable_table(ds):
    data = get_json(ds, "/bazhong/indicators.json?_facet=category&_size=0")
    want = {}
    for r in csv_rows("indicators"):
        want[r["category"]] = want.get(r["category"], 0) + 1
    assert {f["value"]: f["count"] for f in data["facet_results"]["category"]["results"]} == want
    for res in resources():
        cols = fts_columns(res["schema"])
        if not cols:
            continue
        rows = csv_rows(res["name"])
        texts = [r[c] for r in rows for c in cols if r[c]]
        chinese = [m.group() for t in texts if (m := re.search(r"[\u4e00-\u9fff]{3}", t))]
        word = chinese[0] if chinese else texts[0][:4]
        data = get_json(ds, f"/bazhong/{res['name']}.json?_search={quote(word)}&_size=max")
        want = sum(1 for r in rows if any(word.lower() in (r[c] or "").lower() for c in cols))
        assert data["filtered_table_rows_count"] == want > 0, (res["name"], word)


# ---------------------------------------------------------------- canned queries


def test_canned_budget_deviation(ds):
    for threshold in ("", "80"):
        want = set()
        for res in resources():
            for col in ("budget_completion_pct", "completion_pct"):
                if col in {f["name"] for f in res["schema"]["fields"]}:
                    limit = Decimal(threshold or "50")
                    # Over budget: the amounts where both are printed (19.32 of 18 is printed as 100 %).
                    want |= {(res["name"], row_key(res["schema"], r)) for r in csv_rows(res["name"])
                             if r[col] is not None and (r[col] > 100 or r[col] < limit
                                                        or (r.get("budget") or 0) < (r.get("executed") or 0))}
        got = canned(ds, "budget_deviation", threshold=threshold)
        assert {(r["resource"], str(r["row_key"])) for r in got} == want and want
        assert ("projects", "special_inspection") in want  # 19.32 spent of a budget of 18
        pcts = [r["completion_pct"] for r in got]
        assert pcts == sorted(pcts, reverse=True)


def test_canned_project_execution(ds):
    projects = {r["project_id"]: r for r in csv_rows("projects")}
    got = canned(ds, "project_execution")
    assert {r["project_id"] for r in got} == set(projects)
    for r in got:
        p = projects[r["project_id"]]
        computed = (p["executed"] * 100 / p["budget"]).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert abs(dec(r["computed_pct"]) - computed) <= Decimal("0.01")
        assert dec(r["printed_pct"]) == p["completion_pct"] and dec(r["budget"]) == p["budget"]


def test_canned_three_public_vs_prior(ds):
    rows = {r["item_id"]: r for r in csv_rows("three_public_expenses")}
    got = canned(ds, "three_public_vs_prior")
    assert {r["item_id"] for r in got} == set(rows)
    for r in got:
        c = rows[r["item_id"]]
        want = c["prior_year_amount"] if c["prior_year_amount"] is not None else (
            c["amount"] - c["change_amount"] if c["change_amount"] is not None else None)
        assert dec(r["prior_year_implied"]) == want, r["item_id"]  # exact, e.g. 22.9 + 2.89 = 25.79


def test_canned_expenditure_tree(ds):
    rows = csv_rows("expenditure_by_function")
    got = canned(ds, "expenditure_tree")
    assert [r["code"] for r in got] == [r["code"] for r in sorted(rows, key=lambda r: r["code"])]
    by_code = {r["code"]: r for r in rows}
    for r in got:
        assert r["name_zh"] == "　" * (2 * (r["level"] - 1)) + by_code[r["code"]]["name_zh"]
        assert dec(r["amount"]) == by_code[r["code"]]["amount"]


def test_canned_errata(ds):
    got = canned(ds, "all_errata")
    assert [r["erratum_id"] for r in got] == sorted(r["erratum_id"] for r in csv_rows("errata"))
    assert {(r["erratum_id"], dec(r["value_carried"])) for r in got} == {
        (r["erratum_id"], r["value_carried"]) for r in csv_rows("errata")}


def test_canned_figures_by_section(ds):
    for section in ("三公", "名词解释", ""):
        want = 0
        for res in resources():
            names = {f["name"]: f for f in res["schema"]["fields"]}
            if "source_section" not in names:
                continue
            nums = figure_columns(res["schema"])
            want += sum(1 for r in csv_rows(res["name"]) if section in r["source_section"]
                        for n in nums if r[n] is not None)
        got = canned(ds, "figures_by_section", section=section)
        assert len(got) == want, section
        assert all(section in r["source_section"] for r in got)


def test_figures_by_section_lists_only_figures(ds):
    figures = {res["name"]: set(figure_columns(res["schema"])) for res in resources()}
    got = canned(ds, "figures_by_section", section="")
    assert got and all(r["column_name"] in figures[r["resource"]] for r in got)
    shown = {(r["resource"], r["column_name"]) for r in got}
    assert ("expenditure_by_function", "level") not in shown and ("events", "meeting_no") not in shown


def test_every_search_hit_names_its_row(ds):
    """A project_kpis hit says which project and which row (`project|row`), and its label."""
    schema = next(res["schema"] for res in resources() if res["name"] == "project_kpis")
    rows = csv_rows("project_kpis")
    word = rows[0]["source_section"][-6:]  # its section: every KPI row of every project
    want = {row_key(schema, r): r["level3_zh"] for r in rows if any(word in (r[c] or "") for c in fts_columns(schema))}
    assert len({k.split("|")[0] for k in want}) > 1 and len(want) == len(rows)  # several projects have a row 1
    for query in ("search_like", "search_fulltext"):
        hits = [h for h in canned(ds, query, q=word) if h["resource"] == "project_kpis"]
        assert {h["row_key"]: h["row_label"] for h in hits} == want, query
        assert len(hits) == len({h["row_key"] for h in hits}), query  # no two hits alike


@pytest.mark.parametrize("query,word", [("search_like", "接待"), ("search_like", "三公"),
                                        ("search_fulltext", "电子政务"), ("search_fulltext", "公务接待")])
def test_canned_searches(ds, query, word):
    want = set()
    for res in resources():
        cols = fts_columns(res["schema"])
        want |= {(res["name"], row_key(res["schema"], r)) for r in csv_rows(res["name"])
                 if cols and any(word in (r[c] or "") for c in cols)}
    got = canned(ds, query, q=word)
    assert {(r["resource"], str(r["row_key"])) for r in got} == want and want


def test_full_text_search_needs_three_characters_like_search_does_not(ds):
    assert canned(ds, "search_fulltext", q="接待") == []  # trigram: 2 characters match nothing
    assert canned(ds, "search_like", q="接待")
    assert canned(ds, "search_like", q="") == []
    assert canned(ds, "search_fulltext", q='"') == []  # quotes are escaped, no syntax error


TESTED_QUERIES = {"budget_deviation", "project_execution", "three_public_vs_prior", "expenditure_tree", "all_errata",
                  "figures_by_section", "search_like", "search_fulltext"}


def test_every_canned_query_is_tested_and_its_page_answers(ds, db):
    queries = json.loads((db.parent / "metadata.json").read_text(encoding="utf-8"))["databases"]["bazhong"]["queries"]
    assert set(queries) == TESTED_QUERIES  # a new query needs its test above
    for name, query in queries.items():
        assert re.search(r"[\u4e00-\u9fff]", query["title"]) and re.match(r"[A-Z][a-z]+\b", query["description"])
        assert not query.get("write") and re.match(r"\s*(select|with)\b", query["sql"], re.I)
        r = get(ds, f"/bazhong/{name}?q={quote('电子政务')}&section={quote('三公')}&threshold=50")
        # the page shows its language's half of the title
        assert r.status_code == 200 and re.split(r"\s*/ ", query["title"])[0] in r.text, name


# ---------------------------------------------------------------- charts


def test_charts_page_shows_every_chart_with_exact_values(ds, db):
    manifest = json.loads((db.parent / "static" / "charts" / "charts.json").read_text(encoding="utf-8"))
    assert sorted({c["figure"] for c in manifest}) == list(range(1, 8))
    page = get(ds, "/charts")
    assert page.status_code == 200 and "图表" in page.text
    for c in manifest:
        assert f'src="/charts/{c["file"]}"' in page.text
        img = get(ds, f"/charts/{c['file']}")
        assert img.status_code == 200 and img.content[:8] == b"\x89PNG\r\n\x1a\n"
    gpb = next(r for r in csv_rows("expenditure_by_type") if r["item_id"] == "gpb_total")
    fig5 = next(c for c in manifest if c["figure"] == 5)
    assert f"{gpb['prior_year_amount']}" in fig5["alt"] and f"{gpb['amount']}" in fig5["alt"]
    classes = [r for r in csv_rows("expenditure_by_function") if r["level"] == 1]
    fig6 = next(c for c in manifest if c["figure"] == 6)
    for r in classes:
        assert f"{r['name_zh']} {r['amount']}（{r['share_pct']}%）" in fig6["alt"]


def test_charts_fail_clearly_without_a_cjk_font(monkeypatch):
    monkeypatch.setattr(charts, "CJK_NAMES", re.compile("no-such-font-family"))
    with pytest.raises(charts.ChartError, match="fonts-noto-cjk"):
        charts.cjk_font()


# ---------------------------------------------------------------- the build command


def _broken_copy(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    for d in ("data", "schemas", "archive"):
        shutil.copytree(ROOT / d, pkg / d)
    shutil.copy(ROOT / "datapackage.json", pkg)
    income = pkg / "data" / "income.csv"
    lines = income.read_text(encoding="utf-8").split("\n")
    cells = lines[2].split(",")
    cells[7] = "12x"  # amount
    lines[2] = ",".join(cells)
    income.write_text("\n".join(lines), encoding="utf-8")
    return pkg


def test_a_failed_build_leaves_the_previous_site_intact(tmp_path):
    pkg = _broken_copy(tmp_path)
    out = tmp_path / "site" / "bazhong.db"
    out.parent.mkdir()
    out.write_bytes(b"previous db")
    (out.parent / "metadata.json").write_text("previous metadata")
    with pytest.raises(build.BuildError, match=r'income\.csv:3: amount: "12x" '):
        build.build_site(pkg, out, charts=False)
    assert out.read_bytes() == b"previous db" and (out.parent / "metadata.json").read_text() == "previous metadata"
    assert sorted(p.name for p in out.parent.iterdir()) == ["bazhong.db", "metadata.json"]  # no temp files left


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])  # auto: DuckDB for a large package
def test_build_refuses_a_package_that_does_not_validate(tmp_path, capsys, engine):
    pkg = _broken_copy(tmp_path)
    out = tmp_path / "bazhong.db"
    out.write_bytes(b"previous db")
    assert cli.main(["build", str(pkg), "--out", str(out), "--no-charts", "--engine", engine]) == 1
    err = capsys.readouterr().err
    assert "does not validate" in err and 'income.csv:3: amount: "12x"' in err, err
    assert out.read_bytes() == b"previous db"


def test_build_command_builds_a_valid_package(tmp_path, capsys):
    out = tmp_path / "site" / "bazhong.db"
    assert build.run(SimpleNamespace(dir=str(ROOT), out=str(out), no_charts=True)) == 0, capsys.readouterr().err
    conn = sqlite3.connect(out)
    assert conn.execute("select count(*) from income").fetchone()[0] == len(csv_rows("income"))
    assert (out.parent / "metadata.json").is_file()


def test_a_build_without_charts_removes_stale_charts(tmp_path):
    out = tmp_path / "bazhong.db"
    stale = tmp_path / "static" / "charts"
    stale.mkdir(parents=True)
    (stale / "charts.json").write_text("[]")
    build.build_site(ROOT, out, charts=False)
    assert not stale.exists() and (tmp_path / "metadata.json").is_file()
    ds = datasette(out)
    assert "charts were not built" in get(ds, "/charts?_lang=en").text.replace("\n", " ")
    assert "图表尚未生成" in get(ds, "/charts").text


# ---------------------------------------------------------------- scale: parameters, caps, facets, indexes


def test_canned_queries_take_a_year_and_a_department(ds, db):
    queries = json.loads((db.parent / "metadata.json").read_text(encoding="utf-8"))["databases"]["bazhong"]["queries"]
    dept = csv_rows("departments")[0]["department"]
    year = max(r["fiscal_year"] for r in csv_rows("sources") if r["department"] == dept)
    params = {"q": "电子政务", "section": "三公", "threshold": "50"}
    for name, query in queries.items():
        assert ":fiscal_year" in query["sql"] and ":department" in query["sql"], name
        base = {k: v for k, v in params.items() if f":{k}" in query["sql"]}
        everything = canned(ds, name, **base)
        assert everything, name
        assert canned(ds, name, **base, fiscal_year=str(year), department=dept) == everything, name
        if name not in ("expenditure_tree", "figures_by_section"):  # these show one report
            nowhere = canned(ds, name, **base, department="no-such-department")
            assert [r for r in nowhere if r.get("department")] == [], name
            assert [r for r in canned(ds, name, **base, fiscal_year=str(year + 1)) if r.get("fiscal_year")] == [], name


def test_canned_queries_are_capped_per_table():
    from bazhong_accounts.site.metadata import CAP, canned_queries

    for name, query in canned_queries(build.load_package(ROOT)).items():
        if name in ("expenditure_tree", "figures_by_section"):  # one report: bounded by its size
            assert "limit 1\n)" in query["sql"], name
            continue
        branches = query["sql"].split("\n  union all\n  ")  # the branches of metadata._union, not unions inside one
        assert all(f"limit {CAP})" in b or f"limit {CAP}" in b for b in branches), name
        assert f"{CAP}" in query["description"], name


def test_big_tables_have_no_default_facets_and_small_pages():
    from bazhong_accounts.site.metadata import FACET_MAX_ROWS, PAGE_SIZE, table_metadata

    t = build.load_package(ROOT).tables["indicators"]
    assert table_metadata(t, set(), FACET_MAX_ROWS)["facets"] == t.facet_columns()
    assert table_metadata(t, set(), FACET_MAX_ROWS + 1)["facets"] == []
    assert table_metadata(t, set())["size"] == PAGE_SIZE


def test_a_filtered_page_reads_its_rows_in_order_from_an_index(db):
    conn = sqlite3.connect(db)
    t = build.load_package(ROOT).tables["indicators"]
    key = row_key_fields(t.schema)
    order = ", ".join(key + [c for c in t.primary_key if c not in key])
    plan = " ".join(r[3] for r in conn.execute(
        f"explain query plan select * from indicators where category = 'x' order by {order} limit 51"))
    assert "TEMP B-TREE" not in plan and "category=?" in plan, plan
    plan = " ".join(r[3] for r in conn.execute(
        "explain query plan select * from projects where completion_pct > 100 order by completion_pct desc limit 100"))
    assert "TEMP B-TREE" not in plan and "INDEX" in plan, plan
