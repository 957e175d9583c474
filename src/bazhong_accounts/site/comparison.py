"""Two department-years side by side at a stable URL, /-/compare/<department>/<year>/<department>/<year>
(Chinese first, ?_lang=en): the report cards' rows matched by their row key, each figure of both
linked to its row, and the difference B − A computed exactly (Decimal, from the figures as
printed) and marked derived. `/-/compare?a=<department>/<year>&b=<department>/<year>` is the
chooser's form, sent on to the stable URL. A side read from a draft database (build --draft)
gives the page that database's banner.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from datasette import hookimpl
from datasette.utils.asgi import Response

from . import i18n
from .report_card import card, department_years, no_report

# The errata of two reports are not comparable line by line: each card lists its own.
NOT_COMPARED = {"errata"}
DEPARTMENT_YEAR = re.compile(r"([a-z0-9]+(?:-[a-z0-9]+)*)/(\d{4})")


def difference(a, b) -> str:
    """B − A as text with its sign (+370.14, -3.5, 0), or "" when a side lacks the figure."""
    if a is None or b is None:
        return ""
    d = b - a
    return f"+{d:f}" if d > 0 else f"{d:f}"


def side(row: dict | None, column: str) -> dict:
    cell = next((c for c in row["cells"] if c["column"] == column), None) if row else None
    return {"text": cell["text"] if cell else "", "value": cell["value"] if cell else None,
            "derived": bool(cell and cell["derived"]), "url": row["url"] if row else None}


def compare_rows(a: dict, b: dict) -> list[dict]:
    """One line per row and figure printed on either side: A's rows in their (tree) order, then
    the rows only B has. A row keeps its label, depth and key on its first line."""
    by_key_b = {r["key"]: r for r in b["rows"]}
    keys_a = {r["key"] for r in a["rows"]}
    lines = []
    for row in [*a["rows"], *(r for r in b["rows"] if r["key"] not in keys_a)]:
        ra = row if row["key"] in keys_a else None
        rb = by_key_b.get(row["key"])
        first = True
        for column in a["columns"]:
            sa, sb = side(ra, column["name"]), side(rb, column["name"])
            if not sa["text"] and not sb["text"]:
                continue
            lines.append({"label": row["label"] if first else "", "label_zh": row.get("label_zh") if first else None,
                          "depth": row["depth"], "column": column,
                          "a": sa, "b": sb, "difference": difference(sa["value"], sb["value"])})
            first = False
    return lines


async def comparison(datasette, a: tuple[str, int], b: tuple[str, int], lang: str) -> dict | None:
    cards = [await card(datasette, department, year, lang) for department, year in (a, b)]
    if None in cards:
        return None
    card_a, card_b = cards
    sections_b = {s["resource"]: s for s in card_b["sections"]}
    sections = [{"resource": s["resource"], "title": s["title"], "lines": compare_rows(s, sections_b[s["resource"]])}
                for s in card_a["sections"] if s["resource"] in sections_b and s["resource"] not in NOT_COMPARED]
    return {"a": card_a, "b": card_b, "sections": sections, "choices": card_a["choices"],
            # the banner of a draft side's database (site/draft.py shows it for `database`)
            "database": next((c["database"] for c in cards if c["draft"]), card_a["database"])}


def compare_url(a: tuple, b: tuple) -> str:
    return f"/-/compare/{a[0]}/{a[1]}/{b[0]}/{b[1]}"


async def compare_view(request, datasette):
    lang = i18n.lang_of(request)
    v = request.url_vars
    years = (v["year_a"], v["year_b"])
    found = None
    if all(y.isdigit() for y in years):
        found = await comparison(datasette, (v["dept_a"], int(years[0])), (v["dept_b"], int(years[1])), lang)
    if found is None:
        for department, year in ((v["dept_a"], years[0]), (v["dept_b"], years[1])):
            if not year.isdigit() or await card(datasette, department, int(year), lang) is None:
                return await i18n.error_response(datasette, request, 404, no_report(department, year, lang),
                                                 localized=True)
    html = await datasette.render_template("compare.html", {"cmp": found, "database": found["database"]},
                                           request=request)
    return Response.html(html)


async def chooser_view(request, datasette):
    """The chooser's form (?a=…&b=…) sent on to the stable URL; without both, to the first two."""
    lang = i18n.lang_of(request)
    asked = [request.args.get(k, "") for k in ("a", "b")]
    if not any(asked):
        known = await department_years(datasette)
        if len(known) < 2:
            return Response.redirect("/")
        asked = [f"{d['department']}/{d['fiscal_year']}" for d in known[:2]]
    matched = [DEPARTMENT_YEAR.fullmatch(x.strip()) for x in asked]
    bad = next((x for x, m in zip(asked, matched, strict=True) if m is None), None)
    if bad is not None:
        why = (f"“{bad}” 不是“部门编号/年份”，例如 bazhong-govt-office/2018" if lang == "zh"
               else f"“{bad}” is not department/year, e.g. bazhong-govt-office/2018")
        return await i18n.error_response(datasette, request, 400, why, localized=True)
    lang_arg = request.args.get("_lang")
    url = compare_url(matched[0].groups(), matched[1].groups())
    return Response.redirect(url + ("?" + urlencode({"_lang": lang_arg}) if lang_arg in i18n.LANGS else ""))


@hookimpl
def register_routes(datasette):
    return ROUTES if i18n.our_databases(datasette) else []


ROUTES = [
    (r"^/-/compare/(?P<dept_a>[a-z0-9-]+)/(?P<year_a>[^/]+)/(?P<dept_b>[a-z0-9-]+)/(?P<year_b>[^/]+)$", compare_view),
    (r"^/-/compare/?$", chooser_view),
]
