"""`/report/<source_id>`: the archived report as a page, every accounted number marked.

A figure carried by the package is a link to its row (title: resource, column, value); a number
that is not a figure shows its reason; a figure whose printed value an erratum covers is marked
and links to the erratum. `?row=<resource>|<row_key>` highlights that row's figures, which is
where the row pages' links land. Plain HTML: the links work without JavaScript.

`render_cell` (a Datasette hook, registered through plugin.py) gives each located figure cell and
each `source_quote` a link to its place in the report.
"""

from __future__ import annotations

import csv
import html
import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from datasette import hookimpl
from datasette.utils import tilde_encode
from datasette.utils.asgi import Response

from ..checks.figure_sources import parse_printed
from ..model import roles
from ..model.descriptor import as_list, package_dir, read_descriptor
from . import i18n
from .marker import file_is_ours
from .serve import PACKAGE_DIR_ENV

DATABASE = "bazhong"
HEADING = re.compile(r"^\s*(第[一二三四五]部分|[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|附件\d)")


@dataclass
class Mark:
    start: int
    end: int
    kind: str  # figure | non_figure
    cells: list[tuple[str, str, str]] = field(default_factory=list)  # (resource, row_key, column)
    reason: str = ""


@dataclass
class Package:
    texts: dict[str, str]  # source_id -> archived text
    sources: dict[str, dict]  # source_id -> its sources row (its titles)
    marks: dict[str, list[Mark]]  # source_id -> marks in text order
    first_span: dict[tuple, int]  # (source_id, resource, row_key[, column]) -> start of its first span
    schemas: dict[str, dict]
    scope: dict[str, tuple[str, str]]  # source_id -> (fiscal_year, department): a report is one department-year
    values: dict[tuple, str]  # (fiscal_year, department, resource, row_key, column) -> the carried value
    errata: dict[tuple, list[dict]]  # (fiscal_year, department, resource, row_key, column) -> errata rows
    linked: dict[str, TableLinks] = field(default_factory=dict)  # table -> table_links(), once asked


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _stamp(root: Path) -> tuple:
    """Modification times of what the page reads: a changed file rebuilds the cache."""
    return tuple(p.stat().st_mtime_ns for p in sorted((root / "data").glob("*.csv")))


_CHECKED: dict = {}  # root -> (monotonic time of the last look at the files, their stamp)


@lru_cache(maxsize=4)
def _package_root(from_environment: str | None) -> Path:
    """The package directory (package_dir() looks at the disk: not once per cell)."""
    return Path(from_environment or package_dir())


def package(root: Path | None = None) -> Package:
    """The package as the page needs it, re-read when a CSV changed (looked at once a second:
    render_cell calls this for every cell of a table page)."""
    root = root or _package_root(os.environ.get(PACKAGE_DIR_ENV))
    now = time.monotonic()
    seen = _CHECKED.get(root)
    if seen is None or now - seen[0] > 1:
        seen = _CHECKED[root] = (now, _stamp(root))
    return _load(root, seen[1])


@lru_cache(maxsize=2)
def _load(root: Path, _stamp: tuple) -> Package:
    desc = read_descriptor(root)
    by_name = {r["name"]: r for r in desc["resources"]}
    texts, sources, scope = {}, {}, {}
    for s in _rows(root / "data" / "sources.csv"):
        p = root / s["path"]
        if p.is_file():
            texts[s["source_id"]], sources[s["source_id"]] = p.read_text(encoding="utf-8"), s
            scope[s["source_id"]] = (s["fiscal_year"], s["department"])
    schemas, values = {}, {}
    for name, res in by_name.items():
        schema = read_schema(root, res)
        schemas[name] = schema
        if not roles.figures(schema) or "derived" not in roles.with_role(schema, "provenance"):
            continue
        for row in _rows(root / res["path"]):
            key = roles.row_key(schema, row)
            for col in roles.figures(schema):
                values[(row["fiscal_year"], row["department"], name, key, col)] = row[col]
    marks: dict[str, dict[int, Mark]] = {}
    first: dict[tuple, int] = {}
    for f in _rows(root / "data" / "figure_sources.csv"):
        start, cell = int(f["start"]), (f["resource"], f["row_key"], f["column"])
        m = marks.setdefault(f["source_id"], {}).setdefault(start, Mark(start, int(f["end"]), "figure"))
        m.cells.append(cell)
        for k in ((f["source_id"], *cell), (f["source_id"], *cell[:2])):
            first[k] = min(first.get(k, start), start)
    for n in _rows(root / "data" / "non_figures.csv"):
        start = int(n["start"])
        mark = Mark(start, int(n["end"]), "non_figure", reason=n["reason"])
        marks.setdefault(n["source_id"], {}).setdefault(start, mark)
    errata: dict[tuple, list[dict]] = {}
    for e in _rows(root / "data" / "errata.csv"):
        errata.setdefault((e["fiscal_year"], e["department"], e["resource"], e["row_key"], e["column"]), []).append(e)
    ordered = {sid: sorted(ms.values(), key=lambda m: m.start) for sid, ms in marks.items()}
    return Package(texts, sources, ordered, first, schemas, scope, values, errata)


def read_schema(root: Path, res: dict) -> dict:
    import json

    if isinstance(res["schema"], dict):
        return res["schema"]
    return json.loads((root / res["schema"]).read_text(encoding="utf-8"))


def row_url(pkg: Package, source_id: str, resource: str, row_key: str) -> str:
    """/bazhong/<table>/<primary key values, tilde-encoded, comma-joined> (Datasette's row page)."""
    schema = pkg.schemas[resource]
    fy, dept = pkg.scope.get(source_id, ("", ""))
    given = dict(zip(roles.row_key_fields(schema), row_key.split(roles.ROW_KEY_SEPARATOR)))
    given.update(fiscal_year=fy, department=dept)
    pk = as_list(schema.get("primaryKey"))
    return f"/{DATABASE}/{resource}/" + ",".join(tilde_encode(str(given.get(k, ""))) for k in pk)


def report_url(source_id: str, resource: str, row_key: str, start: int) -> str:
    from urllib.parse import quote

    return f"/report/{quote(source_id, safe='')}?row={quote(f'{resource}|{row_key}', safe='')}#f-{start}"


def _erratum_of(pkg: Package, source_id: str, cell: tuple, printed: str) -> dict | None:
    """The erratum of the cell when this printed occurrence states another value than carried."""
    cell = (*pkg.scope.get(source_id, ("", "")), *cell)
    errs = pkg.errata.get(cell)
    if not errs:
        return None
    p = parse_printed(printed)
    carried = pkg.values.get(cell, "")
    if p is None or not carried:
        return errs[0]
    from decimal import Decimal

    return None if p.value == Decimal(carried) else errs[0]


def _figure(pkg: Package, source_id: str, m: Mark, highlighted: tuple | None, lang: str = "zh") -> str:
    printed = pkg.texts[source_id][m.start:m.end]
    scope = pkg.scope.get(source_id, ("", ""))
    lines = [f"{res} · {col} = {pkg.values.get((*scope, res, key, col), '')} ({key})" for res, key, col in m.cells]
    res, key, col = m.cells[0]
    classes = ["fig"]
    if highlighted and any(c[:2] == highlighted for c in m.cells):
        classes.append("hl")
    err = next((e for c in m.cells if (e := _erratum_of(pkg, source_id, c, printed))), None)
    extra = ""
    if err:
        classes.append("erratum")
        lines.append(f"erratum {err['erratum_id']}: {err['kind']}")
        fy, dept = err["fiscal_year"], err["department"]
        href = f"/{DATABASE}/errata/{tilde_encode(fy)},{tilde_encode(dept)},{tilde_encode(err['erratum_id'])}"
        # why, in the page's language (explanation_zh, or its English twin on an English page)
        why = err.get(i18n.column_in(pkg.schemas.get("errata", {}), "explanation_zh", lang)) or ""
        hint = html.escape(i18n.text(lang, "Erratum {erratum_id}: {why}" if why else "Erratum {erratum_id}",
                                     erratum_id=err["erratum_id"], why=why))
        in_english = ' lang="en"' if lang == "en" else ""  # inside the report's zh-CN text
        extra = f'<a class="erratum-link" href="{href}" title="{hint}"{in_english}>{i18n.text(lang, "Erratum")}</a>'
    title = html.escape("\n".join(lines))
    href = row_url(pkg, source_id, res, key)
    return (f'<a id="f-{m.start}" class="{" ".join(classes)}" href="{href}" title="{title}" '
            f'data-cells="{html.escape(";".join("|".join(c) for c in m.cells))}">{html.escape(printed)}</a>{extra}')


def render_text(pkg: Package, source_id: str, highlighted: tuple | None = None, lang: str = "zh") -> str:
    """The report as HTML lines: headings in <h3>-like spans, every mark in place."""
    text = pkg.texts[source_id]
    out, pos = [], 0
    for m in pkg.marks.get(source_id, []):
        if m.start < pos:
            continue  # overlapping marks cannot happen once validated; keep the page readable anyway
        out.append(html.escape(text[pos:m.start]))
        if m.kind == "figure":
            out.append(_figure(pkg, source_id, m, highlighted, lang))
        else:
            out.append(f'<span id="n-{m.start}" class="nf" tabindex="0" title="not a figure: {m.reason}">'
                       f"{html.escape(text[m.start:m.end])}</span>")
        pos = m.end
    out.append(html.escape(text[pos:]))
    body = "".join(out)
    # headings bold, line by line (marks never span a line break)
    return "\n".join(f'<strong class="h">{line}</strong>' if HEADING.match(html.unescape(re.sub("<[^>]+>", "", line)))
                     else line for line in body.split("\n"))


STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC",sans-serif;margin:1.5em auto;max-width:60em;line-height:1.7}
.report{white-space:pre-wrap;tab-size:2}
a.fig{background:#e6f0ff;color:#0645ad;text-decoration:none;border-bottom:1px solid #0645ad;padding:0 1px}
a.fig:hover,a.fig:focus{background:#0645ad;color:#fff}
a.fig.erratum{background:#fff1d6;border-bottom:2px dashed #b35c00}
a.erratum-link{font-size:.7em;vertical-align:super;color:#b35c00;margin-left:1px}
a.fig.hl,a.fig:target{background:#ffe14d;color:#000;outline:2px solid #c9a400}
span.nf{color:#777;border-bottom:1px dotted #aaa}
strong.h{display:inline-block;margin-top:.4em}
.legend span,.legend a{margin-right:1em}
h1 small.label-zh{display:block;font-size:.55em;font-weight:normal;color:#555}
"""


def render_page(pkg: Package, source_id: str, highlighted: tuple | None, lang: str = "zh") -> str:
    """The annotated report, its interface in `lang` (the site's language: Chinese first)."""
    title, chinese = title_in(pkg, source_id, lang)
    heading = title + (f' <small class="label-zh" lang="zh-CN">{chinese}</small>' if chinese else "")
    n_fig = sum(m.kind == "figure" for m in pkg.marks.get(source_id, []))
    n_non = sum(m.kind == "non_figure" for m in pkg.marks.get(source_id, []))
    note = ""
    if highlighted:
        res, key = highlighted
        link = f'<a href="{row_url(pkg, source_id, res, key)}">{html.escape(res)} {html.escape(key)}</a>'
        note = f'<p class="row-note">{i18n.text(lang, "Highlighted: the figures of {row}.", row=link)}</p>'
    legend = i18n.text(lang, REPORT_LEGEND, n_fig=n_fig, n_non=n_non,
                       fig='<a class="fig" href="#">数字</a>', erratum='<a class="fig erratum" href="#">数字</a>',
                       nf='<span class="nf">数字</span>',
                       sources=f'<a href="/{DATABASE}/figure_sources">figure_sources</a>')
    page_lang = "zh-CN" if lang == "zh" else "en"
    return f"""<!DOCTYPE html>
<html lang="{page_lang}"><head><meta charset="utf-8"><title>{title} · {i18n.text(lang, "annotated report")}</title>
<style>{STYLE}</style></head><body>
<p><a href="/">{i18n.text(lang, "Bazhong department final accounts")}</a> › {i18n.text(lang, "annotated report")}
 · <a href="?_lang={"en" if lang == "zh" else "zh"}">{"English" if lang == "zh" else "中文"}</a></p>
<form action="/-/search" method="get" role="search"><input type="search" name="q"
 aria-label="{i18n.text(lang, "Search every table")}" placeholder="{i18n.text(lang, "Search every table")}">
<button>{i18n.text(lang, "Search")}</button></form>
<h1>{heading}</h1>
<p class="legend">{legend}</p>
{note}
<div class="report" lang="zh-CN">{render_text(pkg, source_id, highlighted, lang)}</div>
</body></html>"""


def title_in(pkg: Package, source_id: str, lang: str) -> tuple[str, str | None]:
    """The report's title in `lang`, escaped, and on an English page the Chinese one beside it (else
    None): the sources row's label (title_zh) or its English twin (title_en), as a row page says it."""
    row = pkg.sources.get(source_id)
    if row is None or "sources" not in pkg.schemas:
        return html.escape(source_id), None
    title, chinese = i18n.row_label_text(pkg.schemas["sources"], row, lang)
    return html.escape(title or source_id), html.escape(chinese) if chinese else None


REPORT_LEGEND = ("{fig} a figure of the package: click for its row, hover or focus for resource, column and value · "
                 "{erratum} printed differently elsewhere: see the erratum · {nf} not a figure (hover for why). "
                 "{n_fig} figures located, {n_non} numbers that are not figures. Draft: machine-located spans, "
                 "not yet confirmed by a person; see {sources}.")


async def report_page(request):
    source_id = request.url_vars["source_id"]
    lang = i18n.lang_of(request)
    pkg = package()
    if source_id not in pkg.texts:
        missing = i18n.text(lang, "No archived report {source_id}.", source_id=f"<code>{html.escape(source_id)}</code>")
        return Response.html(f"<p>{missing}</p>", status=404)
    row = request.args.get("row")
    highlighted = tuple(row.split("|", 1)) if row and "|" in row else None
    return Response.html(render_page(pkg, source_id, highlighted, lang))


ROUTE = (r"^/report/(?P<source_id>[^/]+)$", report_page)


@lru_cache(maxsize=8)
def _file_is_ours(path: str) -> bool:
    return file_is_ours(path)


def _ours(datasette, database: str) -> bool:
    """Only on a database this package built (its stamp), as every hook of plugin.py."""
    db = datasette.databases.get(database)
    return bool(db is not None and db.path and _file_is_ours(db.path))


# render_cell is asked about each cell of a row in turn: the row's place is worked out at its first cell
_LAST_ROW: list = [None, None, None]  # row, table, _row_place(row, table, datasette)
NOWHERE: tuple = (None, None, None)


def _plain(value):
    """A table page's cell value: a foreign key cell comes as {"value": …, "label": …}."""
    return value["value"] if isinstance(value, dict) else value


def _row_place(row, table: str, datasette) -> tuple:
    """(the package, the row's key, its source_id) of a row of a table page of ours; NOWHERE where
    the database is not ours, or the table or the row lack a key or a source."""
    if _LAST_ROW[0] is row and _LAST_ROW[1] == table:
        return _LAST_ROW[2]
    place = NOWHERE
    if _ours(datasette, DATABASE):
        pkg = package()
        links = table_links(pkg, table)
        try:
            data = {k: _plain(row[k]) for k in links.key_fields}
            place = (pkg, roles.row_key(pkg.schemas[table], data), data["source_id"])
        except (KeyError, IndexError, TypeError):
            pass
    _LAST_ROW[:] = [row, table, place]
    return place


@dataclass(frozen=True)
class TableLinks:
    columns: frozenset[str]  # the columns whose cells may link to the report: figures and source_quote
    key_fields: tuple[str, ...]  # what a row's link needs: its key fields (roles.row_key), then source_id


def table_links(pkg: Package, table: str) -> TableLinks:
    found = pkg.linked.get(table)
    if found is None:
        schema = pkg.schemas.get(table)
        found = pkg.linked[table] = TableLinks(
            frozenset([*roles.figures(schema), "source_quote"]) if schema else frozenset(),
            (*roles.row_key_fields(schema), "source_id") if schema else ())
    return found


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """A located figure cell links to its first span; a source_quote to the row's first span.
    Asked for every cell of a table page: a cell of another column answers after two lookups."""
    if database != DATABASE or table is None or value in (None, ""):
        return None
    pkg, key, source_id = _row_place(row, table, datasette)
    if key is None or column not in table_links(pkg, table).columns:
        return None
    start = pkg.first_span.get((source_id, table, key, column) if column != "source_quote" else (source_id, table, key))
    if start is None or source_id not in pkg.texts:
        return None
    from markupsafe import Markup

    href = report_url(source_id, table, key, start)
    label = "原文 / in the report" if column == "source_quote" else str(value)
    if column == "source_quote":
        return Markup(f'{html.escape(str(value))} <a class="to-report" href="{href}">→ {label}</a>')
    return Markup(f'<a class="to-report" href="{href}" title="where the report prints it">{html.escape(label)}</a>')
