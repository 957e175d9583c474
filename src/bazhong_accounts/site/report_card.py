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
from . import draft, hierarchy, i18n

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
    """A SQLite number as the report prints it, exactly: 91 not 91.0 (REAL), else its shortest form."""
    return None if v is None else Decimal(i18n.number_text(v))


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


def figure_cells(name: str, row: dict, figures: list[str], derived: Decimal | None, lang: str) -> list[dict]:
    """One cell per figure column: its title, value (Decimal, as printed) and text; `derived`: the
    prior-year amount the row does not print but its parts imply."""
    cells = []
    for c in figures:
        value, is_derived = dec(row[c]), False
        if c == "prior_year_amount" and derived is not None:
            value, is_derived = derived, True
        cells.append({"column": c, "title": i18n.column_title(name, c, lang), "value": value,
                      "text": "" if value is None else f"{value:f}", "derived": is_derived})
    return cells


def label_of(schema: dict, row: dict, lang: str) -> dict:
    """`label` in the page's language; `label_zh`: the Chinese label beside an English one."""
    label, chinese = i18n.row_label_text(schema, row, lang)
    return {"label": label, "label_zh": chinese}


async def section(datasette, database: str, department: str, year: int, spec: tuple, lang: str) -> dict:
    name, where, zh, en = spec
    schema = i18n.schemas()[name]
    db = datasette.databases[database]
    rows = [dict(r) for r in (await db.execute(
        f'select * from "{name}" where fiscal_year = ? and department = ? and {where} order by rowid',
        [year, department])).rows]
    figures = roles.figures(schema)
    pks = as_list(schema.get("primaryKey"))
    link = hierarchy.parent_link(schema)
    derived = derive_parent_priors(rows, link[1], link[0]) if link and "prior_year_amount" in figures else {}
    out_rows = [{**label_of(schema, r, lang), "key": roles.row_key(schema, r), "depth": depth,
                 "cells": figure_cells(name, r, figures, derived.get(r[link[1]]) if link else None, lang),
                 "url": datasette.urls.row(database, name, path_from_row_pks(r, pks, False))}
                for r, depth in hierarchy.tree_order(schema, rows)]
    return {"resource": name, "title": zh if lang == "zh" else en, "rows": out_rows,
            "columns": [{"name": c, "title": i18n.column_title(name, c, lang)} for c in figures],
            "url": datasette.urls.table(database, name) + f"?fiscal_year={year}&department={department}"}


async def department_years(datasette) -> list[dict]:
    """Every department-year of our databases, each once, with the database it is read from: a
    reviewed database before a draft one (build --draft), then by name."""
    kept = i18n.kept(datasette, "department-years")
    if "all" not in kept:
        found: dict[tuple, dict] = {}
        ordered = sorted(i18n.our_databases(datasette), key=lambda d: (draft.is_draft(datasette, d), d))
        for database in ordered:
            for d in await i18n.department_years(datasette, database):
                found.setdefault((d["department"], d["fiscal_year"]), {**d, "database": database})
        kept["all"] = sorted(found.values(), key=lambda d: (d["department"], d["fiscal_year"]))
    return kept["all"]


# Cards kept in memory, least recently used first out: a comparison reads two, and at 10,000
# department-years visitors could otherwise fill the memory with them.
MAX_CARDS = 400


async def card(datasette, department: str, year: int, lang: str) -> dict | None:
    cards, key = i18n.kept(datasette, "cards"), (department, year, lang)
    if key in cards:
        cards.move_to_end(key)
    else:
        known = await department_years(datasette)
        this = next((d for d in known if d["department"] == department and d["fiscal_year"] == year), None)
        if this is None:
            return None
        database = this["database"]
        tables = set(await datasette.databases[database].table_names())
        sections = [await section(datasette, database, department, year, s, lang) for s in SECTIONS if s[0] in tables]
        other = next((f"{d['department']}/{d['fiscal_year']}" for d in known if d is not this), "")
        cards[key] = {"department": this, "year": year, "sections": sections, "choices": known,
                      "database": database, "draft": draft.is_draft(datasette, database),
                      "key": f"{department}/{year}", "compare_with": other,
                      "name": f"{this['name_zh'] if lang == 'zh' else this['name_en']} {year}"}
        while len(cards) > MAX_CARDS:
            cards.popitem(last=False)
    return cards[key]


def no_report(department: str, year: str, lang: str) -> str:
    return (f"没有 {department} 部门 {year} 年的报告。" if lang == "zh"
            else f"There is no report of {department} for {year}.")


async def report_view(request, datasette):
    lang = i18n.lang_of(request)
    department, year = request.url_vars["department"], request.url_vars["year"]
    found = await card(datasette, department, int(year), lang) if year.isdigit() else None
    if found is None:
        return await i18n.error_response(datasette, request, 404, no_report(department, year, lang), localized=True)
    # `database`: the card's own, so that a draft database's banner shows (site/draft.py)
    html = await datasette.render_template("report_card.html", {"card": found, "database": found["database"]},
                                           request=request)
    return Response.html(html)


async def report_index(request, datasette):
    known = await department_years(datasette)
    return Response.redirect(f"/-/report/{known[0]['department']}/{known[0]['fiscal_year']}" if known else "/")


@hookimpl
def register_routes(datasette):
    if not i18n.our_databases(datasette):
        return []
    return [(r"^/-/report/(?P<department>[a-z0-9-]+)/(?P<year>[^/]+)$", report_view),
            (r"^/-/report/?$", report_index)]


@hookimpl
def extra_template_vars(template, datasette):
    """`department_years` for the home page's list of report cards and its comparison chooser."""
    if template != "index.html" or not i18n.our_databases(datasette):
        return {}

    async def inner():
        return {"department_years": await department_years(datasette)}

    return inner
