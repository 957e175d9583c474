"""What the site computes once, before its first visitor: the databases are immutable and the
templates do not change while it serves, so nothing done here goes stale.

At build time (`write_chart_data`, called by the build): the data of the interactive charts, beside
the PNGs (the charts' code needs matplotlib and pandas, seconds to import in a serving worker).

At server start (Datasette's `startup` hook, which uvicorn runs in each worker before the worker
takes connections, and which `invoke_startup` runs in the tests and benchmarks):
- Datasette's own catalogue of the databases (its `_internal` database, which it otherwise fills
  on the first request of each worker);
- Datasette's look at the databases' schema versions before each request done once (immutable);
- the answers of each immutable database's catalogue methods (its tables, columns, keys, FTS
  tables, hidden tables, views, foreign keys, definitions) remembered: Datasette asks them again
  and again (the home and database pages ask ~500 times, each a round trip to the database thread);
- the archived reports read, with where each figure is printed in them (report.py: the links
  from table cells to the annotated report);
- the home page's content: its intro, tables with their row counts, questions and report cards;
  the home page itself is rendered from it (home_view) rather than by Datasette's index view,
  which looks at every table (~500 round trips to the database thread) and reads the whole
  database file to hash it (4 GB at 10,000 department-years: seconds, blocking the worker);
- the permission answers for visitors not signed in, for every table, database and query
  (cache.py: otherwise each table's first check asks the database for the table's spelling);
- every template compiled (Jinja compiles a template on its first use: a page that extends
  base.html and includes the cell macros costs 50-200 ms the first time, nothing afterwards).
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
from pathlib import Path

from datasette import __version__ as datasette_version, hookimpl
from datasette.utils.asgi import Response

from . import cache, i18n, interactive, report, report_card


def chart_tables(db: Path, pairs: list[tuple[int, str]]) -> dict[str, list[dict]]:
    """interactive.chart_rows' tables, read from the database file, for the department-years `pairs`."""
    from .charts import CHART_TABLES

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        sql = 'select * from "{}" where fiscal_year = ? and department = ?'
        rows = {table: [r for pair in pairs for r in conn.execute(sql.format(table), pair)] for table in CHART_TABLES}
        return {table: interactive.exact_rows(table, found) for table, found in rows.items()}
    finally:
        conn.close()


def write_chart_data(db: Path, charts_dir: Path) -> Path:
    """charts_dir/chart_data.json: the data of the charts the build drew (charts.json lists them; at
    most charts.MAX_DEPARTMENT_YEARS department-years), what /-/charts.json serves. Atomic."""
    manifest = json.loads((charts_dir / "charts.json").read_text(encoding="utf-8"))
    pairs = sorted({(c["fiscal_year"], c["department"]) for c in manifest})
    data = interactive.charts_of_tables(chart_tables(db, pairs))
    out = charts_dir / interactive.CHART_DATA
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return out


def compile_templates(datasette) -> int:
    """Compile every HTML template Datasette can find (ours, then Datasette's own); returns how many.
    Jinja keeps compiled templates (its cache holds 400, more than there are)."""
    names = [n for n in datasette.jinja_env.list_templates() if n.endswith(".html")]
    for name in names:
        datasette.jinja_env.get_template(name)
    return len(names)


# Methods asked of each table (argument: the table's name), and of the database (no argument)
PER_TABLE = ("table_exists", "table_columns", "table_column_details", "primary_keys", "fts_table",
             "label_column_for_table", "foreign_keys_for_table", "get_table_definition", "get_view_definition")
PER_DATABASE = ("table_names", "hidden_table_names", "view_names", "get_all_foreign_keys", "attached_databases")

# Database methods whose answer depends only on the schema (and their arguments: a table name)
CATALOGUE = ("table_exists", "table_names", "table_columns", "table_column_details", "primary_keys", "fts_table",
             "label_column_for_table", "foreign_keys_for_table", "hidden_table_names", "view_names",
             "get_all_foreign_keys", "get_table_definition", "get_view_definition", "attached_databases")


def remembered(method):
    """`method` (an async Database method) answering each argument list once; callers get a copy,
    since some of Datasette's views change the lists they are given."""
    answers: dict = {}

    async def answer(*args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        if key not in answers:
            answers[key] = await method(*args, **kwargs)
        return copy.deepcopy(answers[key])

    answer.remembered = True
    return answer


def remember_catalogue(db) -> None:
    """Remember the catalogue answers of an immutable database (a mutable one can change)."""
    if db.is_mutable:
        return
    for name in CATALOGUE:
        method = getattr(db, name)
        if not getattr(method, "remembered", False):
            setattr(db, name, remembered(method))


def refresh_schemas_once(datasette) -> None:
    """Datasette looks at every database's schema version before each request (a round trip to each
    database's thread); where every database it serves is immutable, once at start is enough."""
    if any(db.is_mutable for name, db in datasette.databases.items() if name != "_internal"):
        return

    async def refreshed_at_start():
        return None

    datasette.refresh_schemas = refreshed_at_start


async def fill_catalogue(datasette, database: str) -> None:
    """Ask the remembered catalogue everything the pages ask, once, before the first visitor: of
    every table and view, and of every canned query's name (Datasette asks whether it is a table)."""
    db = datasette.databases[database]
    for name in PER_DATABASE:
        await getattr(db, name)()
    queries = (datasette.metadata() or {}).get("databases", {}).get(database, {}).get("queries", {})
    for table in [*await db.table_names(), *await db.view_names()]:
        for name in PER_TABLE:
            await getattr(db, name)(table)
    for query in queries:
        await db.table_exists(query)


async def home_view(request, datasette):
    """The home page (index.html) from what the startup computed (i18n.home_info,
    report_card.department_years: the template's own hooks), with Datasette's context for it:
    every database it serves, the metadata, the JSON alternate (Datasette's /.json)."""
    json_url = datasette.absolute_url(request, datasette.urls.path("/.json"))
    context = {"databases": [{"name": name, "path": datasette.urls.database(name)}
                             for name in datasette.databases if name != "_internal"],
               "metadata": datasette.metadata(), "datasette_version": datasette_version, "private": False,
               "select_templates": ["*index.html"], "alternate_url_json": json_url}
    html = await datasette.render_template("index.html", context, request=request, view_name="index")
    return Response.html(html, headers={"Link": f'{json_url}; rel="alternate"; type="application/json+datasette"'})


@hookimpl
def register_routes(datasette):
    """The home page on our sites ("/" only: "/.json" stays Datasette's)."""
    return [(r"^/$", home_view)] if i18n.our_databases(datasette) else []


@hookimpl
def startup(datasette):
    if not i18n.our_databases(datasette):
        return None

    async def inner():
        await datasette.refresh_schemas()
        refresh_schemas_once(datasette)
        for name in i18n.our_databases(datasette):
            # every row count, as Datasette counts them on its first request (home_info reads them)
            await datasette.databases[name].table_counts(limit=60 * 60 * 1000)
            remember_catalogue(datasette.databases[name])
            await fill_catalogue(datasette, name)
        cache.memoize_anonymous_permissions(datasette)  # (cache.startup may not have run yet)
        await cache.ask_every_table(datasette)
        # the templates do not change while the site serves: no file look-up per page
        datasette.jinja_env.auto_reload = False
        compile_templates(datasette)
        i18n.schemas()  # the Table Schemas (column titles, roles), read from the package once
        for lang in i18n.LANGS:
            await i18n.home_info(datasette, lang)
        await report_card.department_years(datasette)
        report.package()  # the annotated reports and where each figure is printed in them

    return inner
