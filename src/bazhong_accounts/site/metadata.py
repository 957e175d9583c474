"""Datasette metadata (titles, column descriptions, facets, full-text search, canned queries) and
the serve settings, all derived from datapackage.json and the Table Schemas."""

from __future__ import annotations

from pathlib import Path

from .build import Package, Table, q, sort_by_key

# Shared by `make serve`, the tests, the browser test and the benchmark (tests check the Makefile).
# suggest_facets off: the facets are configured, and suggesting more doubles the time of a table page.
# facet_time_limit_ms: a facet the user asks for on a big table is cut off before it slows the page.
SETTINGS = {"sql_time_limit_ms": 1000, "max_returned_rows": 2000, "facet_time_limit_ms": 200, "suggest_facets": False}
# Tables with more rows get no default facets: each facet counts every row the page matches (a
# million at 10,000 department-years, ~100 ms each), and a list of thousands of departments helps
# nobody. `?_facet=column` still works there, within facet_time_limit_ms.
FACET_MAX_ROWS = 20_000
# Rows per table page: each row renders every column, quotes included.
PAGE_SIZE = 50
SITE_DIR = Path(__file__).resolve().parents[3] / "site"  # templates live in the checkout


def serve_command(db: Path, host: str = "127.0.0.1", port: int = 8001, datasette: str = "datasette") -> list[str]:
    """The `datasette serve` command line of the site: immutable db, loopback, time limit."""
    db = Path(db)
    cmd = [datasette, "serve", "-i", str(db), "-h", host, "-p", str(port),
           "--metadata", str(db.parent / "metadata.json"),
           "--template-dir", str(SITE_DIR / "templates"),
           "--static", f"charts:{db.parent / 'static' / 'charts'}"]
    for k, v in SETTINGS.items():
        cmd += ["--setting", k, setting_text(v)]
    return cmd


def wait_until_serving(base: str, server, timeout: float) -> bool:
    """Poll `base`/robots.txt until the site answers (True), or the server process exits or
    `timeout` seconds pass (False). Used by the browser test and the benchmarks."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while server.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/robots.txt", timeout=1) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False


def setting_text(v) -> str:
    """A setting as `datasette serve --setting` spells it."""
    return {True: "on", False: "off"}.get(v, str(v)) if isinstance(v, bool) else str(v)


def _column_description(f: dict) -> str:
    title, desc = f.get("title", f["name"]), f.get("description", "")
    return f"{title}. {desc}" if desc else title


def table_metadata(t: Table, label_targets: set[str], rows: int | None = None) -> dict:
    meta = {
        "title": t.title,
        "description": t.description,
        "columns": {f["name"]: _column_description(f) for f in t.fields},
        "facets": t.facet_columns() if rows is None or rows <= FACET_MAX_ROWS else [],
        "size": PAGE_SIZE,
    }
    if sort_by_key(t):
        meta["sort"] = t.key_column()
    long_text = set(t.fts_columns()) - {"name_zh", "name_en", "term_zh", "term_en"}
    meta["sortable_columns"] = [c for c in t.field_names() if c not in long_text and c != "derivation"]
    if t.name in label_targets and t.name_column():
        meta["label_column"] = t.name_column()
    if t.fts_columns():
        meta["fts_table"] = f"{t.name}_fts"
        meta["fts_pk"] = "rowid"
    return meta


# ---------------------------------------------------------------- canned queries

# Rows per table (per union branch) a canned query returns at most: with thousands of
# department-years a query over all of them must stop early to answer within the time limit.
CAP = 50
# Every canned query takes these; empty = every department-year (or, for the queries about one
# report, the first department and its most recent year).
YEAR_DEPT = ("fiscal_year", "department")
SCOPE = (
    "Optional :fiscal_year (e.g. 2018) and :department (an id of the departments table, e.g. "
    "bazhong-govt-office) narrow it down"
)


def _like_pattern(param: str) -> str:
    """A LIKE pattern matching :param literally anywhere (escape with backslash)."""
    return rf"'%' || replace(replace(replace(:{param}, '\', '\\'), '%', '\%'), '_', '\_') || '%'"


def _name_expr(t: Table, alias: str = "") -> str:
    return alias + q(t.name_column()) if t.name_column() else "NULL"


def _scope(alias: str = "") -> str:
    """Rows of the department-years asked for; no parameter = all of them."""
    return " and ".join(f"(:{c} = '' or {alias}{c} = :{c})" for c in YEAR_DEPT)


def _scoped(t: Table) -> bool:
    return all(c in t.field_names() for c in YEAR_DEPT)


def _one_report(table: str) -> str:
    """CTE `report`: the one department-year of `table` the query shows: the :fiscal_year and
    :department asked for, by default the first department (by id) and its most recent year."""
    return (
        f"report(fiscal_year, department) as (\n"
        f"  select fiscal_year, department from {q(table)} where {_scope()}\n"
        f"  order by department, fiscal_year desc limit 1\n)"
    )


def _in_report(alias: str) -> str:
    """Rows of the `report` CTE's department-year, as constants: an index lookup on the key."""
    return " and ".join(f"{alias}{c} = (select {c} from report)" for c in YEAR_DEPT)


def _capped(select: str, order: str) -> str:
    """One union branch, sorted and cut at CAP rows (SQLite wants a subquery for that)."""
    return f"select * from ({select}\n    order by {order} limit {CAP})"


def completion_columns(t: Table) -> list[str]:
    """The printed budget completion rates of a table (budget_deviation sorts and cuts by them,
    the build indexes them)."""
    return [c for c in ("budget_completion_pct", "completion_pct") if c in t.field_names()]


def query_indexes(pkg: Package) -> list[tuple[str, tuple[str, ...]]]:
    """Indexes the canned queries need: the completion rates, sorted, with the year and department
    in the index so a :fiscal_year / :department filter is checked without reading the rows."""
    return [(t.name, (c, *YEAR_DEPT)) for t in pkg.tables.values() if t.is_fact_table() for c in completion_columns(t)]


def canned_queries(pkg: Package) -> dict:
    tables = list(pkg.tables.values())
    queries = {}
    capped = f"At most {CAP} rows per table; pick a year or department to see the rest."

    # Budget completion far from 100 %: every table with a printed completion rate.
    parts = []
    for t in tables:
        if not t.is_fact_table():
            continue
        for col in completion_columns(t):
            amount = "amount" if "amount" in t.field_names() else ("executed" if "executed" in t.field_names() else "NULL")
            reason = next((q(c) for c in ("reason_zh", "note_zh", "problems_zh") if c in t.field_names()), "NULL")
            budget = "budget" if "budget" in t.field_names() and amount == "executed" else "NULL"
            select = (
                f"select '{t.name}' as resource, fiscal_year, department, {q(t.key_column())} as row_key, "
                f"{_name_expr(t)} as name_zh, {budget} as budget, {amount} as amount, {q(col)} as completion_pct, "
                f"{reason} as reason_zh from {q(t.name)}\n    where {_scope()}\n    and "
            )
            # Two branches: over budget, and under the threshold. Where the report prints the budget
            # and the executed amount, those decide "over" (19.32 spent of 18 is printed as 100 %).
            over = f"({q(col)} > 100 or {amount} > {budget})" if budget != "NULL" else f"{q(col)} > 100"
            parts.append(_capped(select + over, f"{q(col)} desc"))
            parts.append(_capped(select + f"{q(col)} < (select t from threshold)", f"{q(col)} desc"))
    queries["budget_deviation"] = {
        "title": "超预算或远低于预算的项目 / Over or far under budget",
        "description": "Every line over budget (executed amount above the budget where the report prints both, "
        "else a printed completion rate above 100 %) or with a printed rate below :threshold % "
        f"(default 50), across all tables, highest rate first, the printed rate beside. Amounts in 万元. {SCOPE}. "
        f"At most {CAP} rows over budget and {CAP} under it per table.",
        "sql": "with threshold(t) as (select cast(coalesce(nullif(:threshold, ''), '50') as real))\n"
        "select * from (\n  " + "\n  union all\n  ".join(parts) + "\n)\norder by completion_pct desc",
    }

    if "projects" in pkg.tables:
        queries["project_execution"] = {
            "title": "项目执行率 / Projects by execution rate",
            "description": "Budget, executed amount, the execution rate computed as executed / budget and the "
            f"rate the report prints, highest printed rate first. Amounts in 万元. {SCOPE}. "
            f"At most {CAP} projects.",
            "sql": "select fiscal_year, department, project_id, name_zh, name_en, budget, executed,\n"
            "  round(executed * 100.0 / budget, 2) as computed_pct,\n"
            "  completion_pct as printed_pct,\n"
            "  round(round(executed * 100.0 / budget, 2) - completion_pct, 2) as difference_pct\n"
            f"from projects\nwhere {_scope()}\norder by completion_pct desc limit {CAP}",
        }

    queries["three_public_vs_prior"] = {
        "title": "“三公”经费与上年比较 / Three public expenses vs the prior year",
        "description": "Each “三公” line: 2018 amount, change against 2017, the 2017 amount implied by "
        "amount − change (exact: rounded to 4 decimals to drop binary noise) and the printed growth rate. 万元. "
        f"{SCOPE}. At most {CAP} lines, by year and department.",
        "sql": "select fiscal_year, department, item_id, name_zh, name_en, amount, change_amount,\n"
        "  coalesce(prior_year_amount, round(amount - change_amount, 4)) as prior_year_implied,\n"
        "  change_pct, budget_completion_pct, note_zh\n"
        f"from three_public_expenses\nwhere {_scope()}\n"
        f"order by fiscal_year, department, parent_item_id is not null, item_id limit {CAP}",
    }

    queries["expenditure_tree"] = {
        "title": "支出功能分类树 / Expenditure by function as a tree",
        "description": "General public budget expenditure of one report by 类 / 款 / 项, walked from each 类 "
        "down (recursive CTE), indented by level. Amounts in 万元. :fiscal_year and :department choose the "
        "report; empty = the first department (by id) and its most recent year.",
        "sql": "with recursive " + _one_report("sources") + ",\n"
        "tree(fiscal_year, department, code, depth, path) as (\n"
        "  select e.fiscal_year, e.department, e.code, 0, e.code\n"
        f"  from expenditure_by_function e where {_in_report('e.')} and e.parent_code is null\n"
        "  union all\n"
        "  select c.fiscal_year, c.department, c.code, tree.depth + 1, tree.path || '/' || c.code\n"
        "  from expenditure_by_function c join tree on c.parent_code = tree.code\n"
        "   and c.fiscal_year = tree.fiscal_year and c.department = tree.department\n"
        ")\n"
        "select e.fiscal_year, e.department, e.code, e.level,\n"
        "  substr('　　　　　　', 1, tree.depth * 2) || e.name_zh as name_zh, e.name_en,\n"
        "  e.amount, e.share_pct, e.budget_completion_pct, e.reason_zh\n"
        "from tree join expenditure_by_function e using (fiscal_year, department, code)\n"
        "order by tree.path",
    }

    queries["all_errata"] = {
        "title": "全部勘误 / Every erratum",
        "description": "Every inconsistency of the source report: the value the package carries, the other "
        f"value, both quotes and why. {SCOPE}. At most {CAP} errata, by year and department.",
        "sql": f"select * from errata\nwhere {_scope()}\norder by fiscal_year, department, erratum_id limit {CAP}",
    }

    parts = []
    for t in tables:
        if not t.is_fact_table():
            continue
        for col in t.figure_columns():
            parts.append(
                f"select '{t.name}' as resource, t.fiscal_year, t.department, t.{q(t.key_column())} as row_key, "
                f"{_name_expr(t, 't.')} as name, '{col}' as column_name, t.{q(col)} as value, t.source_section, "
                f"t.source_quote from {q(t.name)} t where {_in_report('t.')} and t.{q(col)} is not null"
            )
    queries["figures_by_section"] = {
        "title": "某一章节的全部数字 / Every figure of a section",
        "description": "Every numeric cell of one report whose source section contains :section (e.g. "
        "三公 or 第三部分; empty = all), with the verbatim quote it comes from. :fiscal_year and :department "
        "choose the report; empty = the first department (by id) and its most recent year.",
        "sql": "with " + _one_report("sources") + "\n"
        "select * from (\n  " + "\n  union all\n  ".join(parts) + "\n)\n"
        f"where source_section like {_like_pattern('section')} escape '\\'\n"
        "order by source_section, resource, row_key, column_name",
    }

    parts = []
    for t in tables:
        cols = t.fts_columns()
        if not cols:
            continue
        matched = "coalesce(" + ", ".join(f"case when t.{q(c)} like p.pat escape '\\' then t.{q(c)} end" for c in cols) + ")"
        select = (
            f"select '{t.name}' as resource, {'t.fiscal_year' if _scoped(t) else 'NULL'} as fiscal_year, "
            f"{'t.department' if 'department' in t.field_names() else 'NULL'} as department, "
            f"t.{q(t.key_column())} as row_key, {_name_expr(t, 't.')} as name, {matched} as matched_text "
        )
        if not _scoped(t):
            parts.append(f"select * from ({select}from p, {q(t.name)} t\n    where :q != '' and matched_text is not null limit {CAP})")
            continue
        # Over every department-year a word of 3+ characters is looked up in the trigram index (a
        # superset of the LIKE matches, which then decides); 2 characters, or a chosen year or
        # department, read those reports' rows by their key. The branch whose condition on the
        # parameters is false is skipped before it reads a row.
        fts = q(t.name + "_fts")
        parts.append(
            f"select * from ({select}from p, {fts} join {q(t.name)} t on t.rowid = {fts}.rowid\n"
            f"    where length(:q) >= 3 and :fiscal_year = '' and :department = ''\n"
            f"    and {fts} match '\"' || replace(:q, '\"', '\"\"') || '\"' and matched_text is not null limit {CAP})"
        )
        parts.append(
            f"select * from ({select}from p cross join reports cross join {q(t.name)} t using (fiscal_year, department)\n"
            f"    where :q != '' and (length(:q) < 3 or :fiscal_year != '' or :department != '')\n"
            f"    and matched_text is not null limit {CAP})"
        )
    queries["search_like"] = {
        "title": "搜索（两个字也可以）/ Search, short words too",
        "description": "Finds :q anywhere in names, reasons, goals, glossary definitions and quotes of every "
        "table with LIKE, so 2-character Chinese words such as 接待 work (the full-text search needs 3+). "
        f"{SCOPE}. {capped}",
        "sql": f"with p(pat) as (select {_like_pattern('q')}),\n"
        # Each report's rows through the primary key: a year or department reads only those rows.
        f"reports(fiscal_year, department) as (select fiscal_year, department from sources where {_scope()})\n"
        "select * from (\n  " + "\n  union all\n  ".join(parts) + "\n)\norder by resource, fiscal_year, department, row_key",
    }

    parts = []
    for t in tables:
        if not t.fts_columns():
            continue
        fts = q(t.name + "_fts")
        select = (
            f"select '{t.name}' as resource, {'t.fiscal_year' if _scoped(t) else 'NULL'} as fiscal_year, "
            f"{'t.department' if 'department' in t.field_names() else 'NULL'} as department, "
            f"t.{q(t.key_column())} as row_key, {_name_expr(t, 't.')} as name, "
            f"snippet({fts}, -1, '【', '】', '…', 16) as snippet "
            f"from {fts} join {q(t.name)} t on t.rowid = {fts}.rowid\n"
            f"    where {fts} match '\"' || replace(:q, '\"', '\"\"') || '\"'"
            + (f" and {_scope('t.')}" if _scoped(t) else "")
        )
        parts.append(f"select * from ({select}\n    limit {CAP})")
    queries["search_fulltext"] = {
        "title": "全文搜索（三个字以上）/ Full-text search, 3+ characters",
        "description": "Trigram full-text search (SQLite FTS5) for the phrase :q over every table; needs at "
        f"least 3 characters — use the short-word search for 2. {SCOPE}. {capped}",
        "sql": "select * from (\n  " + "\n  union all\n  ".join(parts) + "\n)\norder by resource, fiscal_year, department, row_key",
    }
    return queries


# ---------------------------------------------------------------- the whole metadata


def build_metadata(pkg: Package, db_name: str = "bazhong", row_counts: dict[str, int] | None = None) -> dict:
    dp = pkg.descriptor
    lic = (dp.get("licenses") or [{}])[0]
    src = (dp.get("sources") or [{}])[0]
    label_targets = {target for t in pkg.tables.values() for _, target, _ in t.foreign_keys() if target != t.name}
    queries = canned_queries(pkg)
    links = "".join(f'<li><a href="/{db_name}/{name}">{qq["title"]}</a></li>' for name, qq in queries.items())
    description_html = (
        f"<p>{dp.get('description', '')}</p>"
        '<p><strong><a href="/charts">图表 / Charts</a></strong> · '
        f'<a href="/{db_name}">全部数据表 / All tables</a> · '
        f'<a href="/archive/{Path(src.get("path", "")).name}">原文 / Archived source text</a></p>'
        f"<p>常用查询 / Canned queries:</p><ul>{links}</ul>"
        "<p>Amounts are in 万元 (10,000 yuan), exactly as printed; <code>sum()</code> adds them as decimals. "
        "Each row carries the verbatim quote of the report it comes from.</p>"
    )
    tables = {t.name: table_metadata(t, label_targets, (row_counts or {}).get(t.name)) for t in pkg.tables.values()}
    return {
        "title": dp.get("title", dp.get("name")),
        "description_html": description_html,
        "license": lic.get("title") or lic.get("name"),
        "license_url": lic.get("path"),
        "source": src.get("title"),
        # No public URL of the report exists: link the archived copy the plugin serves.
        "source_url": f"/archive/{Path(src.get('path', '')).name}",
        "databases": {
            db_name: {
                "title": dp.get("title"),
                "description": dp.get("description"),
                "tables": tables,
                "queries": queries,
            }
        },
    }
