"""One search box for every table: /-/search?q=WORD (HTML) and /-/search.json?q=WORD.

Any length (接待 has 2 characters, too few for the trigram index) and across punctuation
(三公经费 finds “三公”经费): the text of every searched column (model/roles.py searched()) is read
once per database, normalised (punctuation and spaces dropped, case folded) and kept in memory;
the database is immutable, so it never goes stale. A hit names its resource, its row key
(roles.row_key, "|"-joined), the column that matched and a link to its row.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from datasette import hookimpl
from datasette.utils import path_from_row_pks
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from ..model import roles
from ..model.descriptor import as_list
from . import i18n

MAX_QUERY = 100  # characters; longer is refused with a message
CAP = 50  # hits shown
MAX_CAP = 500  # ?_size= at most
SNIPPET = 40  # characters of context each side of a match
# Matches in labels rank before matches in longer text, and those before the quotes.
ROLE_RANK = {"label": 0, "text": 1, "provenance": 2}


def normalize(s: str) -> str:
    """Text without punctuation, symbols or spaces, case folded: how the query and the text compare."""
    return "".join(c for c in unicodedata.normalize("NFKC", s).casefold()
                   if unicodedata.category(c)[0] not in "PSZC")


def normalized_with_positions(s: str) -> tuple[str, list[int]]:
    """normalize(s) and, for each of its characters, its position in s (to highlight a match)."""
    out, where = [], []
    for i, c in enumerate(s):
        n = normalize(c)
        out.append(n)
        where.extend([i] * len(n))
    return "".join(out), where


@dataclass(frozen=True)
class Entry:
    resource: str
    row_key: str
    row_path: str
    label: str
    column: str
    rank: int
    text: str
    norm: str
    scope: tuple




async def index_of(datasette, database: str) -> list[Entry]:
    """Every searched cell of `database`, read once (the database is immutable)."""
    index = i18n.kept(datasette, "search")
    if database not in index:
        index[database] = await _read_index(datasette, database)
    return index[database]


async def _read_index(datasette, database: str) -> list[Entry]:
    db = datasette.databases[database]
    tables = set(await db.table_names())
    entries = []
    for name, schema in i18n.schemas().items():
        columns = roles.searched(schema)
        if name not in tables or not columns:
            continue
        pks = as_list(schema.get("primaryKey"))
        scope = roles.with_role(schema, "scope")
        wanted = list(dict.fromkeys([*pks, *scope, roles.row_label(schema), *columns]))
        sql = "select " + ", ".join(f'"{c}"' for c in wanted) + f' from "{name}"'
        rank = {f["name"]: ROLE_RANK.get(f.get("role"), 3) for f in schema["fields"]}
        # Outside Datasette's per-query time limit (1 s): the index is read once, whole, and at
        # 100 department-years one table takes longer than that.
        for row in await db.execute_fn(lambda conn, sql=sql: conn.execute(sql).fetchall()):
            row = dict(zip(wanted, row, strict=True))
            common = dict(resource=name, row_key=roles.row_key(schema, row),
                          row_path=path_from_row_pks(row, pks, False), label=str(row[roles.row_label(schema)] or ""),
                          scope=tuple(row[c] for c in scope))
            for c in columns:
                if row[c]:
                    text = str(row[c])
                    entries.append(Entry(column=c, rank=rank[c], text=text, norm=normalize(text), **common))
    return entries


def rank_hits(entries: list[Entry], needle: str, table: str | None) -> list[Entry]:
    """One hit per row (its best column), best first: label matches, then exact labels, then early and
    short matches."""
    best: dict[tuple[str, str], tuple] = {}
    for e in entries:
        if table and e.resource != table:
            continue
        at = e.norm.find(needle)
        if at < 0:
            continue
        score = (e.rank, e.norm != needle, at > 0, len(e.norm), e.resource, e.row_key)
        key = (e.resource, e.row_key)
        if key not in best or score < best[key][0]:
            best[key] = (score, e)
    return [e for _, e in sorted(best.values(), key=lambda se: se[0])]


def snippet(text: str, needle: str) -> Markup:
    """The text around the first match, the match marked."""
    norm, where = normalized_with_positions(text)
    at = norm.find(needle)
    if at < 0 or not needle:
        return Markup(escape(text[: 2 * SNIPPET]))
    start, end = where[at], where[at + len(needle) - 1] + 1
    left, right = max(0, start - SNIPPET), min(len(text), end + SNIPPET)
    return Markup("…" * (left > 0) + str(escape(text[left:start])) + "<mark>" + str(escape(text[start:end]))
                  + "</mark>" + str(escape(text[end:right])) + "…" * (right < len(text)))


def problem(q: str | None, table: str | None, size: str | None, lang: str) -> str | None:
    """Why the search cannot run, in `lang`, or None."""
    zh = lang == "zh"
    if q is None or not q.strip():
        return ("请输入要搜索的词语，例如 三公、接待、电子政务云。" if zh
                else "Type a word to search for, e.g. 三公, 接待 or 电子政务云.")
    if len(q) > MAX_QUERY:
        return (f"搜索词太长：{len(q)} 个字符，最多 {MAX_QUERY} 个。" if zh
                else f"The search is too long: {len(q)} characters, at most {MAX_QUERY}.")
    if not normalize(q):
        return ("搜索词只有标点或符号（例如 % _ \"），请输入文字或数字。" if zh
                else "The search has only punctuation or symbols (such as % _ \"): type letters or digits.")
    if table and table not in i18n.schemas():
        return f"没有名为 {table} 的数据表。" if zh else f"There is no table named {table}."
    if size is not None and not (size.isdigit() and 1 <= int(size) <= MAX_CAP):
        return f"_size 应为 1 到 {MAX_CAP} 之间的整数。" if zh else f"_size must be a whole number from 1 to {MAX_CAP}."
    return None


async def search(datasette, request, q: str, table: str | None, size: int) -> dict:
    database = sorted(i18n.our_databases(datasette))[0]
    needle = normalize(q)
    hits = rank_hits(await index_of(datasette, database), needle, table)
    lang = i18n.lang_of(request)
    shown = [{
        "resource": e.resource, "resource_title": i18n.bilingual(i18n.table_title(e.resource), lang),
        "row_key": e.row_key, "label": e.label, "column": e.column,
        "column_title": i18n.column_title(e.resource, e.column, lang), "text": e.text,
        "snippet": snippet(e.text, needle), "url": datasette.urls.row(database, e.resource, e.row_path),
        "scope": list(e.scope),
    } for e in hits[:size]]
    return {"q": q, "normalized": needle, "table": table, "count": len(hits), "truncated": len(hits) > size,
            "hits": shown}


async def search_view(request, datasette):
    lang = i18n.lang_of(request)
    as_json = request.path.endswith(".json")
    q, table, size = request.args.get("q"), request.args.get("table") or None, request.args.get("_size")
    why = problem(q, table, size, lang)
    if why:
        return await i18n.error_response(datasette, request, 400, why, localized=True)
    result = await search(datasette, request, q, table, int(size or CAP))
    if as_json:
        for h in result["hits"]:
            h["snippet"] = str(h["snippet"])
        return Response.json(result, headers={"cache-control": "max-age=60"})
    html = await datasette.render_template("search.html", {"result": result}, request=request)
    return Response.html(html)


@hookimpl
def register_routes(datasette):
    if not i18n.our_databases(datasette):
        return []
    return [(r"^/-/search(\.json)?$", search_view)]
