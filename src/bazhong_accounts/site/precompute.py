"""What a served site does once, before its first visitor: the databases are immutable and the
templates do not change while it serves, so nothing done here goes stale.

At server start (Datasette's `startup` hook, which uvicorn runs in each worker before the worker
takes connections, and which `invoke_startup` runs in the tests and benchmarks):
- Datasette's own catalogue of the databases (its `_internal` database, which it otherwise fills
  on the first request of each worker);
- the answers of each immutable database's catalogue methods (its tables, columns, keys, FTS
  tables, hidden tables, views, foreign keys, definitions) remembered: Datasette asks them again
  and again (the home and database pages ask ~500 times, each a round trip to the database thread);
- the archived reports read, with where each figure is printed in them (report.py: the links
  from table cells to the annotated report);
- every template compiled (Jinja compiles a template on its first use: a page that extends
  base.html and includes the cell macros costs 50-200 ms the first time, nothing afterwards).
"""

from __future__ import annotations

import copy

from datasette import hookimpl

from . import i18n, report


def compile_templates(datasette) -> int:
    """Compile every HTML template Datasette can find (ours, then Datasette's own); returns how many.
    Jinja keeps compiled templates (its cache holds 400, more than there are)."""
    names = [n for n in datasette.jinja_env.list_templates() if n.endswith(".html")]
    for name in names:
        datasette.jinja_env.get_template(name)
    return len(names)


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


@hookimpl
def startup(datasette):
    if not i18n.our_databases(datasette):
        return None

    async def inner():
        await datasette.refresh_schemas()
        for name in i18n.our_databases(datasette):
            remember_catalogue(datasette.databases[name])
        compile_templates(datasette)
        report.package()  # the annotated reports and where each figure is printed in them

    return inner
