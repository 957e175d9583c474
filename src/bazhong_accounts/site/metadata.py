"""Datasette metadata (titles, column descriptions, facets, full-text search, canned queries),
all derived from datapackage.json and the Table Schemas."""

from __future__ import annotations

from pathlib import Path

from ..model import roles
from . import fts
from .sqlite import Package, Table, q, sort_by_key

# Tables with more rows get no default facets: each facet counts every row the page matches (a
# million at 10,000 department-years, ~100 ms each), and a list of thousands of departments helps
# nobody. `?_facet=column` still works there, within facet_time_limit_ms.
FACET_MAX_ROWS = 20_000
# Rows per table page: each row renders every column, quotes included.
PAGE_SIZE = 50
# Values per facet list (the commonest first, then "…" for all of them): Datasette's 30 put 21 units
# of measure above the rows of indicators?category=work_output.
FACET_SIZE = 10


def _column_description(f: dict) -> str:
    title, desc = f.get("title", f["name"]), f.get("description", "")
    return f"{title}. {desc}" if desc else title


def table_metadata(t: Table, label_targets: set[str], rows: int | None = None) -> dict:
    meta = {
        "title": t.title,
        "description": t.description,
        "columns": {f["name"]: _column_description(f) for f in t.fields},
        "facets": t.facet_columns() if rows is None or rows <= FACET_MAX_ROWS else [],
        "facet_size": FACET_SIZE,
        "size": PAGE_SIZE,
    }
    if sort_by_key(t):
        meta["sort"] = t.row_key_fields()[0]
    meta["sortable_columns"] = sortable_columns(t)
    if t.name in label_targets:
        meta["label_column"] = t.name_column()
    return meta  # ?_search= goes through the search index (site/search.py filters_from_request)


def sortable_columns(t: Table) -> list[str]:
    """Every column but long text: texts, and searched provenance (quotes, derivation rules)."""
    quotes = set(t.fts_columns()) & set(roles.with_role(t.schema, "provenance"))
    long_text = set(roles.with_role(t.schema, "text")) | quotes
    return [c for c in t.field_names() if c not in long_text or c == t.name_column()]


# ---------------------------------------------------------------- canned queries

# Rows per table (per union branch) a canned query returns at most: with thousands of
# department-years a query over all of them must stop early to answer within the time limit.
CAP = 50
SCOPE = (
    "Optional :fiscal_year (e.g. 2018) and :department (an id of the departments table, e.g. "
    "bazhong-govt-office) narrow it down"
)
CAPPED = f"At most {CAP} rows per table; pick a year or department to see the rest."
# The scope parameters every canned query takes: the scope fields of the sources table (the
# department-year of a report), read from its schema.
SCOPE_TABLE = "sources"


def _like_pattern(param: str) -> str:
    """A LIKE pattern matching :param literally anywhere (escape with backslash)."""
    return rf"'%' || replace(replace(replace(:{param}, '\', '\\'), '%', '\%'), '_', '\_') || '%'"


def _year_dept(pkg: Package) -> list[str]:
    """The department-year fields (role scope) of the package's reports."""
    return pkg.tables[SCOPE_TABLE].scope_columns()


def _scope(fields: list[str], alias: str = "") -> str:
    """Rows of the department-years asked for; no parameter = all of them."""
    return " and ".join(f"(:{c} = '' or {alias}{q(c)} = :{c})" for c in fields)


def _scoped(t: Table, fields: list[str]) -> bool:
    return all(c in t.scope_columns() for c in fields)


def _one_report(table: str, fields: list[str]) -> str:
    """CTE `report`: the one department-year of `table` the query shows: the :fiscal_year and
    :department asked for, by default the first department (by id) and its most recent year."""
    cols = ", ".join(fields)
    return (
        f"report({cols}) as (\n"
        f"  select {cols} from {q(table)} where {_scope(fields)}\n"
        f"  order by department, fiscal_year desc limit 1\n)"
    )


def _in_report(fields: list[str], alias: str) -> str:
    """Rows of the `report` CTE's department-year, as constants: an index lookup on the key."""
    return " and ".join(f"{alias}{q(c)} = (select {q(c)} from report)" for c in fields)


def _capped(select: str, order: str) -> str:
    """One union branch, sorted and cut at CAP rows (SQLite wants a subquery for that)."""
    return f"select * from ({select}\n    order by {order} limit {CAP})"


def _union(parts: list[str], order: str) -> str:
    return "select * from (\n  " + "\n  union all\n  ".join(parts) + f"\n)\norder by {order}"


def _row_names(t: Table, alias: str = "t.") -> str:
    """The columns naming a hit's row unambiguously: its row key (roles.row_key: `cloud|7` for a
    project_kpis row) and its label (the schema's rowLabel)."""
    return f"{t.row_key_sql(alias)} as row_key, {alias}{q(t.name_column())} as row_label"


def _scope_select(t: Table, fields: list[str]) -> str:
    return ", ".join(f"t.{q(c)} as {c}" if c in t.field_names() else f"NULL as {c}" for c in fields)


def completion_columns(t: Table) -> list[str]:
    """The printed budget completion rates of a table (budget_deviation sorts and cuts by them,
    the build indexes them)."""
    return [c for c in t.figure_columns() if c.endswith("completion_pct")]


def query_indexes(pkg: Package) -> list[tuple[str, tuple[str, ...]]]:
    """Indexes the canned queries need: the completion rates, sorted, with the year and department
    in the index so a :fiscal_year / :department filter is checked without reading the rows."""
    fields = tuple(_year_dept(pkg))
    completion = [(t.name, (c, *fields)) for t in pkg.tables.values() if t.is_fact_table() for c in completion_columns(t)]
    return completion + facet_pair_indexes(pkg)


def facet_pair_indexes(pkg: Package) -> list[tuple[str, tuple[str, ...]]]:
    """(facet column, another facet column) of the reports table, whose facets stay at scale (a row
    per department-year: under FACET_MAX_ROWS up to N = 20,000): a page filtered by one facet counts
    each other one from the index alone. Without it, sources?media_type=… at N = 10,000 looked up
    10,000 rows per facet (30 ms). The other tables with default facets at that scale are small."""
    facets = pkg.tables[SCOPE_TABLE].facet_columns()
    return [(SCOPE_TABLE, (a, b)) for a in facets for b in facets if a != b]


def _deviation_branches(t: Table, col: str, fields: list[str]) -> list[str]:
    """Two branches: over budget, and under the threshold. Where the report prints the budget and the
    executed amount, those decide "over" (19.32 spent of 18 is printed as 100 %), the rate beside."""
    names = t.field_names()
    amount = "executed" if "executed" in names else q(t.figure_columns()[0])
    budget = "t.budget" if "budget" in names and amount == "executed" else "NULL"
    texts = roles.with_role(t.schema, "text")
    reason = q(texts[0]) if texts else "NULL"
    select = (
        f"select '{t.name}' as resource, {_scope_select(t, fields)}, {_row_names(t)}, {budget} as budget, "
        f"t.{amount} as amount, t.{q(col)} as completion_pct, {reason} as reason_zh "
        f"from {q(t.name)} t\n    where {_scope(fields, 't.')}\n    and "
    )
    over = f"(t.{q(col)} > 100 or t.{amount} > {budget})" if budget != "NULL" else f"t.{q(col)} > 100"
    return [_capped(select + over, f"t.{q(col)} desc"),
            _capped(select + f"t.{q(col)} < (select t from threshold)", f"t.{q(col)} desc")]


def budget_deviation(pkg: Package) -> dict:
    fields = _year_dept(pkg)
    parts = [branch for t in pkg.tables.values() if t.is_fact_table()
             for col in completion_columns(t) for branch in _deviation_branches(t, col, fields)]
    return {
        "title": "超预算或远低于预算的项目 / Over or far under budget",
        "description": "Every line over budget (executed amount above the budget where the report prints both, "
        "else a printed completion rate above 100 %) or with a printed rate below :threshold % "
        f"(default 50), across all tables, highest rate first, the printed rate beside. Amounts in 万元. {SCOPE}. "
        f"At most {CAP} rows over budget and {CAP} under it per table.",
        "sql": "with threshold(t) as (select cast(coalesce(nullif(:threshold, ''), '50') as real))\n"
        + _union(parts, "completion_pct desc"),
    }


def project_execution(pkg: Package) -> dict | None:
    if "projects" not in pkg.tables:
        return None
    return {
        "title": "项目执行率 / Projects by execution rate",
        "description": "Budget, executed amount, the execution rate computed as executed / budget and the "
        f"rate the report prints, highest printed rate first. Amounts in 万元. {SCOPE}. "
        f"At most {CAP} projects.",
        "sql": "select fiscal_year, department, project_id, name_zh, name_en, budget, executed,\n"
        "  round(executed * 100.0 / budget, 2) as computed_pct,\n"
        "  completion_pct as printed_pct,\n"
        "  round(round(executed * 100.0 / budget, 2) - completion_pct, 2) as difference_pct\n"
        f"from projects\nwhere {_scope(_year_dept(pkg))}\norder by completion_pct desc limit {CAP}",
    }


def three_public_vs_prior(pkg: Package) -> dict:
    return {
        "title": "“三公”经费与上年比较 / Three public expenses vs the prior year",
        "description": "Each “三公” line: 2018 amount, change against 2017, the 2017 amount implied by "
        "amount − change (exact: rounded to 4 decimals to drop binary noise) and the printed growth rate. 万元. "
        f"{SCOPE}. At most {CAP} lines, by year and department.",
        "sql": "select fiscal_year, department, item_id, name_zh, name_en, amount, change_amount,\n"
        "  coalesce(prior_year_amount, round(amount - change_amount, 4)) as prior_year_implied,\n"
        "  change_pct, budget_completion_pct, note_zh\n"
        f"from three_public_expenses\nwhere {_scope(_year_dept(pkg))}\n"
        f"order by fiscal_year, department, parent_item_id is not null, item_id limit {CAP}",
    }


def expenditure_tree(pkg: Package) -> dict:
    fields = _year_dept(pkg)
    return {
        "title": "支出功能分类树 / Expenditure by function as a tree",
        "description": "General public budget expenditure of one report by 类 / 款 / 项, walked from each 类 "
        "down (recursive CTE), indented by level. Amounts in 万元. :fiscal_year and :department choose the "
        "report; empty = the first department (by id) and its most recent year.",
        "sql": "with recursive " + _one_report(SCOPE_TABLE, fields) + ",\n"
        "tree(fiscal_year, department, code, depth, path) as (\n"
        "  select e.fiscal_year, e.department, e.code, 0, e.code\n"
        f"  from expenditure_by_function e where {_in_report(fields, 'e.')} and e.parent_code is null\n"
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


def all_errata(pkg: Package) -> dict:
    return {
        "title": "全部勘误 / Every erratum",
        "description": "Every inconsistency of the source report: the value the package carries, the other "
        f"value, both quotes and why. {SCOPE}. At most {CAP} errata, by year and department.",
        "sql": f"select * from errata\nwhere {_scope(_year_dept(pkg))}\n"
        f"order by fiscal_year, department, erratum_id limit {CAP}",
    }


def _figure_branch(t: Table, col: str, fields: list[str]) -> str:
    return (
        f"select '{t.name}' as resource, {_scope_select(t, fields)}, {_row_names(t)}, "
        f"'{col}' as column_name, t.{q(col)} as value, t.source_section, "
        f"t.source_quote from {q(t.name)} t where {_in_report(fields, 't.')} and t.{q(col)} is not null"
    )


def figures_by_section(pkg: Package) -> dict:
    """Only figures of the report (role figure): not levels, ordinals or years."""
    fields = _year_dept(pkg)
    parts = [_figure_branch(t, col, fields) for t in pkg.tables.values() if t.is_fact_table()
             for col in t.figure_columns()]
    return {
        "title": "某一章节的全部数字 / Every figure of a section",
        "description": "Every figure of one report (a number the report prints, or derives by a stated rule) "
        "whose source section contains :section (e.g. 三公 or 第三部分; empty = all), with the verbatim quote it "
        "comes from. :fiscal_year and :department choose the report; empty = the first department (by id) "
        "and its most recent year.",
        "sql": "with " + _one_report(SCOPE_TABLE, fields) + "\n"
        "select * from (\n  " + "\n  union all\n  ".join(parts) + "\n)\n"
        f"where source_section like {_like_pattern('section')} escape '\\'\n"
        "order by source_section, resource, row_key, column_name",
    }


# A word in more distinct texts than this (a source id's prefix, a year: 150,000 texts at N = 10,000)
# is not looked up in the trigram index, whose list of them took 0.5 s to read for each table (7 s
# a search): each table's texts are scanned instead, a scan that stops at the table's first hits.
MAX_INDEXED_TEXTS = 5000
_PHRASE = "'\"' || replace(:q, '\"', '\"\"') || '\"'"  # :q as one FTS5 phrase, quotes escaped


def _hits_ctes(min_length: int, exact: bool = True) -> str:
    """CTEs `indexed` (the first texts the trigram index matches, for a word of 3+ characters),
    `rare` (when those are all of them: their ids and tables, once for every branch; `exact`: only
    those holding the word as LIKE finds it) and `scan` (true when the branches scan the texts
    instead: a word of `min_length` characters or more that the index does not answer), after `p`."""
    index = f"length(:q) >= 3 and (select count(*) from indexed) <= {MAX_INDEXED_TEXTS}"
    like = " and s.text like p.pat escape '\\'" if exact else ""
    return (
        f"indexed(id) as materialized (select rowid from {q(fts.FTS)} where length(:q) >= 3\n"
        f"  and {q(fts.FTS)} match {_PHRASE} limit {MAX_INDEXED_TEXTS + 1}),\n"
        f"rare(id, resource) as materialized (select s.id, s.resource from {q(fts.TEXTS)} s, p\n"
        f"  where {index} and s.id in (select id from indexed){like}),\n"
        f"scan(yes) as (select length(:q) >= {min_length} and not ({index}))"
    )


def _texts_holding(t: Table) -> str:
    """Ids of the distinct texts of `t` holding the word (`_hits_ctes`): the rare ones found by the
    index, else the table's first CAP × columns texts of a scan (each holds a row at least)."""
    return (f"select id from rare where resource = '{t.name}'\n"
            f"      union all select * from (select s.id from {q(fts.TEXTS)} s, p where (select yes from scan)\n"
            f"      and s.resource = '{t.name}' and s.text like p.pat escape '\\' limit {CAP * len(t.fts_columns())})")


def _rows_holding(t: Table) -> str:
    """Rowids of the first rows of `t` holding one of the texts of _texts_holding."""
    return (f"select j.value from ({_texts_holding(t)}) x join {q(fts.ROWIDS)} r on r.id = x.id, json_each(r.rowids) j"
            f" limit {CAP * len(t.fts_columns())}")


# A year or department asked for that picks at most this many reports is searched by reading their
# rows; a year alone (10,000 reports at N = 10,000) through the rows the index lists for a rare word.
FEW_REPORTS = 100


def _every_row_holding(t: Table, when: str) -> str:
    """Rowids of every row of `t` holding a rare text (the index's answer, `_hits_ctes`), if `when`
    (inside: SQLite lists an IN's rows before it looks at the other conditions of the query)."""
    return (f"select j.value from rare x join {q(fts.ROWIDS)} r on r.id = x.id, json_each(r.rowids) j "
            f"where {when} and x.resource = '{t.name}'")


def _scoped_branches(t: Table, fields: list[str], select: str, found: str, also: str = "") -> list[str]:
    """The branches of a year or department asked for: the chosen reports' rows read by their key
    where they are few or the index does not answer, else the rows the index lists, in scope.
    `found`: the condition on a row that holds the word; `also`: more FROM items (`p, `)."""
    some_scope = " or ".join(f":{c} != ''" for c in fields)
    many = "not (select yes from few_reports)"
    return [
        f"select * from ({select}from {also}reports cross join {q(t.name)} t using ({', '.join(fields)})\n"
        f"    where ({some_scope}) and ((select yes from scan) or (select yes from few_reports))\n"
        f"    and {found} limit {CAP})",
        f"select * from ({select}from {also}{q(t.name)} t\n"
        f"    where ({some_scope}) and {many} and {_scope(fields, 't.')}\n"
        f"    and t.rowid in ({_every_row_holding(t, many)}) and {found} limit {CAP})",
    ]


def _like_branches(t: Table, fields: list[str]) -> list[str]:
    """Over every department-year the word is looked up in the distinct texts of the search index
    (site/fts.py: a few thousand texts, not millions of cells), which name their rows; a chosen
    year or department reads those reports' rows by their key. The branch whose condition on the
    parameters is false is skipped before it reads a row."""
    cols = t.fts_columns()
    cases = [f"case when t.{q(c)} like p.pat escape '\\' then t.{q(c)} end" for c in cols]
    matched = "coalesce(" + ", ".join(cases) + ")"
    select = f"select '{t.name}' as resource, {_scope_select(t, fields)}, {_row_names(t)}, {matched} as matched_text "
    if not _scoped(t, fields):
        return [f"select * from ({select}from p, {q(t.name)} t\n"
                f"    where :q != '' and matched_text is not null limit {CAP})"]
    no_scope = " and ".join(f":{c} = ''" for c in fields)
    return [
        f"select * from ({select}from p, {q(t.name)} t\n"
        f"    where :q != '' and {no_scope} and t.rowid in ({_rows_holding(t)})\n"
        f"    and matched_text is not null limit {CAP})",
        *_scoped_branches(t, fields, select, ":q != '' and matched_text is not null", "p cross join "),
    ]


def _reports(fields: list[str]) -> str:
    """CTE `reports`: the department-years asked for. Not materialized: with no year or department
    asked for, the branches reading it are skipped, and materializing it read all 10,000 reports
    at N = 10,000 for nothing."""
    cols = ", ".join(fields)
    return (f"reports({cols}) as not materialized (select {cols} from {SCOPE_TABLE} where {_scope(fields)}),\n"
            f"few_reports(yes) as (select count(*) <= {FEW_REPORTS} from (select 1 from reports limit {FEW_REPORTS + 1}))")


def search_like(pkg: Package) -> dict:
    fields = _year_dept(pkg)
    parts = [b for t in pkg.tables.values() if t.fts_columns() for b in _like_branches(t, fields)]
    return {
        "title": "搜索（两个字也可以）/ Search, short words too",
        "description": "Finds :q anywhere in names, reasons, goals, glossary definitions and quotes of every "
        "table with LIKE, so 2-character Chinese words such as 接待 work (the full-text search needs 3+). "
        f"Each hit names its row: row_key (the key within its department-year, e.g. `cloud|7` for a project "
        f"KPI) and row_label. {SCOPE}. {CAPPED}",
        "sql": f"with p(pat) as (select {_like_pattern('q')}),\n{_hits_ctes(1)},\n"
        # Each report's rows through the primary key: a year or department reads only those rows.
        f"{_reports(fields)}\n"
        + _union(parts, f"resource, {', '.join(fields)}, row_key"),
    }


def _fulltext_branch(t: Table, fields: list[str]) -> list[str]:
    """The rows holding a distinct text the trigram index matches (site/fts.py), the match marked.
    Over every department-year only the first rows are read (a word in every row's source id
    would otherwise list them all before the limit); a chosen year or department reads its
    reports' rows by their key, as the short-word search does."""
    marked = [f"case when instr(lower(t.{q(c)}), lower(:q)) > 0 then replace(substr(t.{q(c)}, "
              f"max(1, instr(lower(t.{q(c)}), lower(:q)) - 16), length(:q) + 32), :q, '【' || :q || '】') end"
              for c in t.fts_columns()]
    snippet = f"coalesce({', '.join(marked)})"
    select = f"select '{t.name}' as resource, {_scope_select(t, fields)}, {_row_names(t)}, {snippet} as snippet "
    if not _scoped(t, fields):
        return [f"select * from ({select}from {q(t.name)} t\n    where t.rowid in ({_rows_holding(t)})\n    limit {CAP})"]
    no_scope = " and ".join(f":{c} = ''" for c in fields)
    return [f"select * from ({select}from {q(t.name)} t\n    where {no_scope} and t.rowid in ({_rows_holding(t)})\n"
            f"    limit {CAP})",
            *_scoped_branches(t, fields, select, "length(:q) >= 3 and snippet is not null")]


def search_fulltext(pkg: Package) -> dict:
    fields = _year_dept(pkg)
    parts = [b for t in pkg.tables.values() if t.fts_columns() for b in _fulltext_branch(t, fields)]
    return {
        "title": "全文搜索（三个字以上）/ Full-text search, 3+ characters",
        "description": "Trigram full-text search (SQLite FTS5) for the phrase :q over every table; needs at "
        f"least 3 characters — use the short-word search for 2. A word in more than {MAX_INDEXED_TEXTS:,} "
        "distinct texts is looked up as the short-word search does (LIKE, the first rows of each table). "
        f"Each hit names its row (row_key, row_label). {SCOPE}. {CAPPED}",
        "sql": f"with p(pat) as (select {_like_pattern('q')}),\n{_hits_ctes(3, exact=False)},\n"
        f"{_reports(fields)}\n"
        + _union(parts, f"resource, {', '.join(fields)}, row_key"),
    }


# name -> the function writing the query (None: the package lacks its tables)
QUERIES = {
    "budget_deviation": budget_deviation,
    "project_execution": project_execution,
    "three_public_vs_prior": three_public_vs_prior,
    "expenditure_tree": expenditure_tree,
    "all_errata": all_errata,
    "figures_by_section": figures_by_section,
    "search_like": search_like,
    "search_fulltext": search_fulltext,
}


def canned_queries(pkg: Package) -> dict:
    """Datasette canned queries, one function each (QUERIES), in that order."""
    out = {}
    for name, write in QUERIES.items():
        query = write(pkg)
        if query is not None:
            out[name] = query
    return out


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
