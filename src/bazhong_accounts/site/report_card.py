"""A report card per department-year at a stable URL, /-/report/<department>/<fiscal_year>: income,
expenditure by type, general public budget by 类, the 三公 expenses against the prior year, the
running costs and procurement, projects and their execution, errata. Every figure as printed, each
row linked to its row; a figure the report does not print (the 三公 total's prior year) is derived
from printed ones and marked so, with its rule.

Which columns are figures and which label a row comes from the Table Schemas (model/roles.py). The
database is immutable, so each card is computed once per language.
"""

from __future__ import annotations

from decimal import Decimal

from datasette import hookimpl
from datasette.utils import path_from_row_pks
from datasette.utils.asgi import Response

from ..model import roles
from ..model.descriptor import as_list
from . import i18n

# (resource, SQL condition on its rows, Chinese heading, English heading)
SECTIONS = [
    ("income", "1", "收入决算", "Income"),
    ("expenditure_by_type", "1", "支出决算（基本支出与项目支出）", "Expenditure by type (basic vs project)"),
    ("expenditure_by_function", "level = 1", "一般公共预算财政拨款支出（按类）",
     "General public budget expenditure by 类"),
    ("three_public_expenses", "1", "“三公”经费：与预算和上年比较", "Three public expenses vs budget and prior year"),
    ("indicators", "category in ('operating_costs', 'procurement')", "机关运行经费与政府采购",
     "Running costs and government procurement"),
    ("projects", "1", "项目及执行情况", "Projects and execution"),
    ("errata", "1", "勘误", "Errata"),
]


def dec(v) -> Decimal | None:
    """A SQLite number as an exact Decimal (floats through their shortest repr)."""
    return None if v is None else Decimal(repr(v)) if isinstance(v, float) else Decimal(v)


def implied_prior(row: dict) -> Decimal | None:
    """The prior-year amount a row prints, or implies as amount − change."""
    if row.get("prior_year_amount") is not None:
        return dec(row["prior_year_amount"])
    amount, change = dec(row.get("amount")), dec(row.get("change_amount"))
    return amount - change if amount is not None and change is not None else None


def derive_parent_priors(rows: list[dict], key: str, parent: str) -> dict[str, Decimal]:
    """Prior-year amounts of rows that print none, as the sum of their parts' (printed or implied)
    prior-year amounts, when every part has one: the 三公 total's 2017 figure (108.16)."""
    out = {}
    for r in rows:
        if implied_prior(r) is not None:
            continue
        # One partition of the parent at a time (a total may be broken down two ways).
        partitions: dict = {}
        for p in rows:
            if p.get(parent) == r[key]:
                partitions.setdefault(p.get("breakdown"), []).append(implied_prior(p))
        complete = [priors for priors in partitions.values() if all(p is not None for p in priors)]
        if complete:
            out[r[key]] = sum(complete[0], Decimal(0))
    return out


async def section(datasette, database: str, department: str, year: int, spec: tuple, lang: str) -> dict:
    name, where, zh, en = spec
    schema = i18n.schemas()[name]
    db = datasette.databases[database]
    rows = [dict(r) for r in (await db.execute(
        f'select * from "{name}" where fiscal_year = ? and department = ? and {where} order by rowid',
        [year, department])).rows]
    figures = roles.figures(schema)
    label = roles.row_label(schema)
    pks = as_list(schema.get("primaryKey"))
    out_rows = []
    key = roles.row_key_fields(schema)[-1]
    derived = derive_parent_priors(rows, key, f"parent_{key}") if "prior_year_amount" in figures else {}
    for r in rows:
        cells = [{"column": c, "title": i18n.column_title(name, c, lang), "text": i18n.number_text(r[c])
                  if r[c] is not None else "", "derived": False} for c in figures]
        if r[key] in derived:
            cell = next(c for c in cells if c["column"] == "prior_year_amount")
            cell.update(text=f"{derived[r[key]].normalize():f}", derived=True)
        out_rows.append({"label": r[label], "key": roles.row_key(schema, r), "cells": cells,
                         "url": datasette.urls.row(database, name, path_from_row_pks(r, pks, False))})
    return {"resource": name, "title": zh if lang == "zh" else en, "rows": out_rows,
            "columns": [{"name": c, "title": i18n.column_title(name, c, lang)} for c in figures],
            "url": datasette.urls.table(database, name) + f"?fiscal_year={year}&department={department}"}


async def card(datasette, department: str, year: int, lang: str) -> dict | None:
    database = sorted(i18n.our_databases(datasette))[0]
    cards, key = i18n.kept(datasette, "cards"), (database, department, year, lang)
    if key not in cards:
        known = await i18n.department_years(datasette, database)
        this = next((d for d in known if d["department"] == department and d["fiscal_year"] == year), None)
        if this is None:
            return None
        tables = set(await datasette.databases[database].table_names())
        sections = [await section(datasette, database, department, year, s, lang) for s in SECTIONS if s[0] in tables]
        cards[key] = {"department": this, "year": year, "sections": sections, "choices": known}
    return cards[key]


async def report_view(request, datasette):
    lang = i18n.lang_of(request)
    department, year = request.url_vars["department"], request.url_vars["year"]
    found = await card(datasette, department, int(year), lang) if year.isdigit() else None
    if found is None:
        why = (f"没有 {department} 部门 {year} 年的报告。" if lang == "zh"
               else f"There is no report of {department} for {year}.")
        return await i18n.error_response(datasette, request, 404, why, localized=True)
    html = await datasette.render_template("report_card.html", {"card": found}, request=request)
    return Response.html(html)


async def report_index(request, datasette):
    database = sorted(i18n.our_databases(datasette))[0]
    known = await i18n.department_years(datasette, database)
    return Response.redirect(f"/-/report/{known[0]['department']}/{known[0]['fiscal_year']}" if known else "/")


@hookimpl
def register_routes(datasette):
    if not i18n.our_databases(datasette):
        return []
    return [(r"^/-/report/(?P<department>[a-z0-9-]+)/(?P<year>[^/]+)$", report_view),
            (r"^/-/report/?$", report_index)]
