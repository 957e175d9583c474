"""One search box for every table: /-/search?q=WORD (HTML) and /-/search.json?q=WORD.

Any length (接待 has 2 characters, too few for the trigram index) and across punctuation
(三公经费 finds “三公”经费): the text of every searched column (model/roles.py searched()) is read
once per database, normalised (punctuation and spaces dropped, case folded) and kept in memory
(Index: each distinct text once, with the cells that hold it); the database is immutable, so it
never goes stale. A hit names its resource, its row key
(roles.row_key, "|"-joined), the column that matched and a link to its row.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
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
    """A hit as shown: its row, read back from the database."""

    resource: str
    row_key: str
    row_path: str
    label: str
    column: str
    text: str
    scope: tuple


# A searched cell is one int, rowid * CELL + its column's number (Index.columns), so that 10,000
# department-years (16 million cells) fit in memory; the rows shown are read back from the database.
CELL = 1024


@dataclass
class Index:
    """Every searched cell of one database, grouped by its normalised text; the texts joined in
    one string (`haystack`, "\\x00" between them) that str.find scans at C speed."""

    columns: list[tuple[str, str, int]]  # (resource, column, rank) by column number
    norms: list[str]
    cells: list[list[int]]  # the cells of each norm
    haystack: str
    starts: list[int]  # where each norm starts in haystack


async def index_of(datasette, database: str) -> Index:
    """The index of `database`, read once (the database is immutable)."""
    index = i18n.kept(datasette, "search")
    if database not in index:
        index[database] = await _read_index(datasette, database)
    return index[database]


def _add_cells(cursor, first_column: int, by_norm: dict[str, list[int]], norm_of: dict[str, str]) -> None:
    """The cells of `cursor`'s rows (rowid, then the searched columns) into by_norm."""
    for rowid, *texts in cursor:
        for i, value in enumerate(texts):
            if value:
                text = str(value)
                norm = norm_of.get(text)
                if norm is None:
                    norm = norm_of[text] = normalize(text)
                if norm:
                    by_norm.setdefault(norm, []).append(rowid * CELL + first_column + i)


async def _read_index(datasette, database: str) -> Index:
    db = datasette.databases[database]
    tables = set(await db.table_names())
    columns: list[tuple[str, str, int]] = []
    by_norm: dict[str, list[int]] = {}
    norm_of: dict[str, str] = {}  # each distinct text normalised once
    for name, schema in i18n.schemas().items():
        searched = roles.searched(schema)
        if name not in tables or not searched:
            continue
        rank = {f["name"]: ROLE_RANK.get(f.get("role"), 3) for f in schema["fields"]}
        first = len(columns)
        columns += [(name, c, rank[c]) for c in searched]
        sql = "select rowid, " + ", ".join(f'"{c}"' for c in searched) + f' from "{name}"'
        # Outside Datasette's per-query time limit (1 s): the index is read once, whole, and at
        # 100 department-years one table takes longer than that.
        await db.execute_fn(lambda conn, sql=sql, first=first: _add_cells(conn.execute(sql), first, by_norm, norm_of))
    norms = list(by_norm)
    starts, at = [], 0
    for norm in norms:
        starts.append(at)
        at += len(norm) + 1
    return Index(columns, norms, [by_norm[n] for n in norms], "\x00".join(norms), starts)


def matching_norms(index: Index, needle: str):
    """(norm number, where the needle first occurs in it) of every norm containing `needle`."""
    pos = index.haystack.find(needle)
    while pos >= 0:
        i = bisect_right(index.starts, pos) - 1
        yield i, pos - index.starts[i]
        # normalize() drops control characters: a needle never spans the "\x00" between two norms
        pos = index.haystack.find(needle, index.starts[i] + len(index.norms[i]) + 1)


def best_per_row(index: Index, needle: str, table: str | None) -> dict[tuple[str, int], tuple]:
    """(resource, rowid) -> (score, column number) of its best matching column. Score: label
    matches first, then exact texts, then early and short matches; ties to the first column.
    One hit per row: rows of other department-years with the same key are hits of their own."""
    best: dict[tuple[str, int], tuple] = {}
    for i, at in matching_norms(index, needle):
        norm = index.norms[i]
        for cell in index.cells[i]:
            rowid, column = divmod(cell, CELL)
            resource, _, rank = index.columns[column]
            if table and resource != table:
                continue
            score = ((rank, norm != needle, at > 0, len(norm)), column)
            key = (resource, rowid)
            if key not in best or score < best[key]:
                best[key] = score
    return best


async def rank_hits(db, index: Index, best: dict[tuple[str, int], tuple], size: int) -> list[Entry]:
    """The `size` best rows, best first; rows of equal score by resource, then in the table's own
    order (rowid: the build writes rows in primary-key order). Only the rows shown are read back."""
    ordered = sorted(best, key=lambda key: (best[key][0], key))[:size]
    rows = await read_rows(db, ordered)
    hits = []
    for resource, rowid in ordered:
        schema, row = i18n.schemas()[resource], rows[resource, rowid]
        column = index.columns[best[resource, rowid][1]][1]
        hits.append(Entry(
            resource=resource, row_key=roles.row_key(schema, row),
            row_path=path_from_row_pks(row, as_list(schema.get("primaryKey")), False),
            label=str(row[roles.row_label(schema)] or ""), column=column, text=str(row[column]),
            scope=tuple(row[c] for c in roles.with_role(schema, "scope"))))
    return hits


READ_AT_ONCE = 500  # rowids per query


async def read_rows(db, keys: list[tuple[str, int]]) -> dict[tuple[str, int], dict]:
    """The rows of (resource, rowid) keys: their keys, scope, label and searched columns."""
    by_resource: dict[str, list[int]] = {}
    for resource, rowid in keys:
        by_resource.setdefault(resource, []).append(rowid)
    out = {}
    for resource, rowids in by_resource.items():
        schema = i18n.schemas()[resource]
        wanted = list(dict.fromkeys([*as_list(schema.get("primaryKey")), *roles.with_role(schema, "scope"),
                                     roles.row_label(schema), *roles.searched(schema)]))
        select = "select rowid, " + ", ".join(f'"{c}"' for c in wanted) + f' from "{resource}" where rowid in '
        for start in range(0, len(rowids), READ_AT_ONCE):
            chunk = rowids[start:start + READ_AT_ONCE]
            sql = select + "(" + ", ".join("?" * len(chunk)) + ")"
            for row in await db.execute_fn(lambda conn, sql=sql, chunk=chunk: conn.execute(sql, chunk).fetchall()):
                out[resource, row[0]] = dict(zip(wanted, row[1:], strict=True))
    return out


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
    index = await index_of(datasette, database)
    best = best_per_row(index, needle, table)
    hits = await rank_hits(datasette.databases[database], index, best, size)
    lang = i18n.lang_of(request)
    shown = [{
        "resource": e.resource, "resource_title": i18n.bilingual(i18n.table_title(e.resource), lang),
        "row_key": e.row_key, "label": e.label, "column": e.column,
        "column_title": i18n.column_title(e.resource, e.column, lang), "text": e.text,
        "snippet": snippet(e.text, needle), "url": datasette.urls.row(database, e.resource, e.row_path),
        "scope": list(e.scope),
    } for e in hits]
    return {"q": q, "normalized": needle, "table": table, "count": len(best), "truncated": len(best) > size,
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
