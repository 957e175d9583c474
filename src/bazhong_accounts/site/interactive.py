"""Data of the interactive charts (图1–图7), /-/charts.json, drawn in the browser by Chart.js (from
npm, served by the site at /-/vendor/chart.umd.js: no CDN, works offline). The PNGs the build draws
stay as the picture without JavaScript.

Each chart names its bars and gives every value twice: the exact figure as text (shown on hover
and in the table under the chart) and a number for the bar's length. The figures are those of
charts.py (its _Data: printed prior-year amounts, else amount − change), read from the database.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from datasette import hookimpl
from datasette.utils.asgi import Response

from ..model import roles
from . import i18n
# charts.py (matplotlib, pandas) is imported where the data is first computed: not on every server start
if TYPE_CHECKING:
    from .charts import _Data
from .serve import _CHECKOUT_SITE

CHART_DATA = "chart_data.json"  # written by the build beside charts.json (precompute.write_chart_data)
CHART_JS = _CHECKOUT_SITE.parent / "node_modules" / "chart.js" / "dist" / "chart.umd.js"


def exact(v) -> Decimal:
    """A SQLite number as the Decimal the CSV holds (91 for 91.0)."""
    return Decimal(i18n.number_text(v))


async def chart_rows(datasette, database: str) -> dict[str, list[dict]]:
    """The chart tables' rows with their figures as exact Decimals."""
    from .charts import CHART_TABLES

    db = datasette.databases[database]
    return {table: exact_rows(table, (await db.execute(f'select * from "{table}"')).rows) for table in CHART_TABLES}


def exact_rows(table: str, rows) -> list[dict]:
    """Rows of `table` as dicts, their figures as exact Decimals."""
    figures = set(roles.figures(i18n.schemas()[table]))
    return [{k: (exact(v) if k in figures and v is not None else v) for k, v in dict(r).items()} for r in rows]


def comparison(d: _Data, items: list[tuple[str, str, str, str]]) -> dict:
    """Prior year vs fiscal year: items = (table, item_id, label_zh, label_en)."""
    rows = [(t, d.row(t, i), zh, en) for t, i, zh, en in items]
    prior = [d.prior(t, r) for t, r, _, _ in rows]
    current = [r["amount"] for _, r, _, _ in rows]
    return {"kind": "comparison", "labels_zh": [zh for *_, zh, _ in rows], "labels_en": [en for *_, en in rows],
            "series": [{"year": d.fy - 1, "values": [str(v) for v in prior]},
                       {"year": d.fy, "values": [str(v) for v in current]}]}


def structure(rows: list[dict]) -> dict:
    return {"kind": "structure", "labels_zh": [r["name_zh"] for r in rows], "labels_en": [r["name_en"] for r in rows],
            "series": [{"year": rows[0]["fiscal_year"], "values": [str(r["amount"]) for r in rows]}],
            "shares": [None if r.get("share_pct") is None else str(r["share_pct"]) for r in rows]}


def charts_of(d: _Data) -> list[tuple[int, list[str], dict]]:
    """(figure, tables, data) of 图1–图7, as charts.py draws them."""
    classes = sorted((r for r in d.rows("expenditure_by_function") if r["level"] == 1), key=lambda r: r["code"])
    return [
        (1, ["income", "expenditure_by_type"], comparison(d, [
            ("income", "total", "收入总计", "Total income"),
            ("expenditure_by_type", "total", "支出总计", "Total expenditure")])),
        (2, ["income"], structure(d.children("income", "current_year_total", "by_source"))),
        (3, ["expenditure_by_type"], structure(d.children("expenditure_by_type", "current_year_total", "by_type"))),
        (4, ["income", "expenditure_by_type"], comparison(d, [
            ("income", "fiscal_total", "财政拨款收入总计", "Fiscal appropriation income"),
            ("expenditure_by_type", "fiscal_total", "财政拨款支出总计", "Fiscal appropriation expenditure")])),
        (5, ["expenditure_by_type"], comparison(d, [
            ("expenditure_by_type", "gpb_total", "一般公共预算财政拨款支出",
             "General public budget appropriation expenditure")])),
        (6, ["expenditure_by_function"], structure(classes)),
        (7, ["three_public_expenses"], structure(d.children("three_public_expenses", "total", "by_category"))),
    ]


def charts_of_tables(tables: dict[str, list[dict]]) -> list[dict]:
    """The data of every chart of every department-year of `tables` (chart_rows' form)."""
    from .charts import ChartError, _Data

    pairs = sorted({(r["fiscal_year"], r["department"]) for r in tables["income"]})
    out = []
    for fy, dept in pairs:
        try:
            for n, used, data in charts_of(_Data(tables, fy, dept)):
                out.append({"figure": n, "fiscal_year": fy, "department": dept, "tables": used,
                            "unit": "万元", **data})
        except ChartError:
            continue  # a department-year without the rows a chart needs: the PNGs say so at build
    return out


def built_chart_data(datasette) -> list[dict] | None:
    """The chart data the build wrote beside the PNGs (precompute.CHART_DATA), if it did."""
    for mount, directory in datasette.static_mounts:
        path = Path(directory) / CHART_DATA
        if mount == "charts" and path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


async def chart_data(datasette) -> list[dict]:
    database = sorted(i18n.our_databases(datasette))[0]
    charts = i18n.kept(datasette, "charts")
    if database not in charts:
        built = built_chart_data(datasette)
        charts[database] = built if built is not None else charts_of_tables(await chart_rows(datasette, database))
    return charts[database]


async def charts_json(request, datasette):
    return Response.json(await chart_data(datasette), headers={"cache-control": "max-age=3600"})


async def chart_js(request, datasette):
    if not Path(CHART_JS).is_file():
        return Response.text("Chart.js is not installed: run `npm ci` (make serve does)", status=404)
    return Response(CHART_JS.read_text(encoding="utf-8"), content_type="application/javascript; charset=utf-8",
                    headers={"cache-control": "max-age=86400"})


@hookimpl
def extra_template_vars(template, datasette):
    """`chart_data` for the /charts page: (figure, department, fiscal_year) -> the chart's data."""
    if template != "pages/charts.html" or not i18n.our_databases(datasette):
        return {}

    async def inner():
        return {"chart_data": {(c["figure"], c["department"], c["fiscal_year"]): c
                               for c in await chart_data(datasette)}}

    return inner


@hookimpl
def register_routes(datasette):
    if not i18n.our_databases(datasette):
        return []
    return [(r"^/-/charts\.json$", charts_json), (r"^/-/vendor/chart\.umd\.js$", chart_js)]
