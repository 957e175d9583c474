"""One search box for every table: /-/search?q=WORD (HTML) and /-/search.json?q=WORD.

Any length (接待 has 2 characters, too few for a trigram index) and across punctuation (三公经费
finds “三公”经费): the build keeps each distinct text of every searched column (model/roles.py
searched()) once, normalised (punctuation and spaces dropped, case folded), with the rows holding
it (site/fts.py). The norms are read once per database and scanned in memory (the database is
immutable, so they never go stale); only the first rows of the best-ranked texts are read back, and
the count adds the texts' row counts (a union only for a table matched in several columns). A hit
names its resource, its row key (roles.row_key, "|"-joined), the column that matched and a link to
its row. Table pages' ?_search= uses the same index (filters_from_request below).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils import path_from_row_pks
from datasette.utils.asgi import BadRequest
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from ..model import roles
from ..model.descriptor import as_list
from . import i18n
from .fts import ROWIDS, TEXTS, normalize, rows_matching_sql

MAX_QUERY = 100  # characters; longer is refused with a message
CAP = 50  # hits shown
MAX_CAP = 500  # ?_size= at most
SNIPPET = 40  # characters of context each side of a match
# Matches in labels rank before matches in longer text, and those before the quotes.
ROLE_RANK = {"label": 0, "text": 1, "provenance": 2}


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
    label_en: str  # the label's English twin (name_en beside name_zh), "" when the row has none
    column: str
    text: str
    scope: tuple


@dataclass
class Index:
    """The distinct searched texts of one database (the build's search_fts_texts, fts.py), grouped
    by their normalised form; the norms joined in one string (`haystack`, "\x00" between them)
    that str.find scans at C speed. The texts of norm i are entries first[i]:first[i + 1] of the
    arrays text_id, column, rows (numpy: a common word matches 100,000 texts at N = 10,000). The
    rows holding a text stay in the database until a search needs them."""

    columns: list[tuple[str, str, int]]  # (resource, column, rank) by column number
    norms: list[str]
    haystack: str
    starts: np.ndarray  # where each norm starts in haystack
    length: np.ndarray  # of each norm
    first: np.ndarray
    text_id: np.ndarray
    column: np.ndarray
    rows: np.ndarray
    sorted_ids: np.ndarray  # every text id, ascending; of each: its rows and its first rowid
    rows_by_id: np.ndarray
    first_rowid: np.ndarray


async def index_of(datasette, database: str) -> Index:
    """The index of `database`, read once (the database is immutable)."""
    index = i18n.kept(datasette, "search")
    if database not in index:
        index[database] = await _read_index(datasette, database)
    return index[database]


async def _read_index(datasette, database: str) -> Index:
    db = datasette.databases[database]
    tables = set(await db.table_names())
    columns: list[tuple[str, str, int]] = []
    for name, schema in i18n.schemas().items():
        if name in tables:
            rank = {f["name"]: ROLE_RANK.get(f.get("role"), 3) for f in schema["fields"]}
            columns += [(name, c, rank[c]) for c in roles.searched(schema)]
    number = {(resource, column): i for i, (resource, column, _) in enumerate(columns)}
    by_norm: dict[str, list[tuple[int, int, int]]] = {}
    if TEXTS in tables:
        # outside Datasette's per-query time limit: read once, whole
        found = await db.execute_fn(lambda conn: conn.execute(
            f'select id, resource, "column", norm, rows, first_rowid from {TEXTS} order by id').fetchall())
        for text_id, resource, column, norm, rows, _ in found:
            if norm and (resource, column) in number:
                by_norm.setdefault(norm, []).append((text_id, number[resource, column], rows))
    norms = list(by_norm)
    starts, at = [], 0
    for norm in norms:
        starts.append(at)
        at += len(norm) + 1
    entries = [e for norm in norms for e in by_norm[norm]]
    first = np.zeros(len(norms) + 1, dtype=np.int64)
    np.cumsum([len(by_norm[n]) for n in norms], out=first[1:])
    text_id, column, rows = (np.array([e[k] for e in entries], dtype=np.int64) for k in range(3))
    found = [f for f in found if f[4]] if TEXTS in tables else []
    first_rowid = np.array([f[5] for f in found], dtype=np.int64)
    return Index(columns, norms, "\x00".join(norms), np.array(starts, dtype=np.int64),
                 np.array([len(n) for n in norms], dtype=np.int64), first, text_id, column, rows,
                 np.array([f[0] for f in found], dtype=np.int64), np.array([f[4] for f in found], dtype=np.int64),
                 first_rowid)


def matching_norms(index: Index, needle: str) -> tuple[np.ndarray, np.ndarray]:
    """The norm numbers of every norm containing `needle`, and where it first occurs in each.
    normalize() drops control characters: a needle never spans the "\x00" between two norms."""
    where = np.fromiter((m.start() for m in re.finditer(re.escape(needle), index.haystack)), dtype=np.int64)
    norm = np.searchsorted(index.starts, where, side="right") - 1
    norm, first = np.unique(norm, return_index=True)
    return norm, where[first] - index.starts[norm]


@dataclass
class Matches:
    """The texts containing a word, best first: score, text id, column number and rows of each."""

    score: np.ndarray
    text_id: np.ndarray
    column: np.ndarray
    rows: np.ndarray


LONGEST = 1 << 24  # characters of a norm, for the score's packing


def matching_texts(index: Index, needle: str, table: str | None) -> Matches:
    """The texts containing `needle` (of `table` only if given), ordered by score: label matches
    first, then exact texts, then early and short matches; then the column (ties to the first one).
    A score names one column, so one table."""
    norm, at = matching_norms(index, needle)
    length = index.length[norm]
    count = index.first[norm + 1] - index.first[norm]
    # the entries of each matching norm: first[i] .. first[i + 1] - 1, all at once
    entry = np.repeat(index.first[norm] - np.cumsum(count) + count, count) + np.arange(count.sum())
    column = index.column[entry]
    rank = np.array([r for _, _, r in index.columns], dtype=np.int64)[column]
    inexact, late, length = (np.repeat(x, count) for x in (length != len(needle), at > 0, length))
    score = (((rank * 2 + inexact) * 2 + late) * LONGEST + length) * len(index.columns) + column
    keep = np.ones(len(entry), dtype=bool)
    if table:
        keep = np.array([r == table for r, _, _ in index.columns], dtype=bool)[column]
    order = np.argsort(score[keep], kind="stable")
    return Matches(score[keep][order], index.text_id[entry][keep][order], column[keep][order],
                   index.rows[entry][keep][order])


def rowids_of(conn, index: Index, text_ids: np.ndarray, first: int | None = None) -> dict[int, np.ndarray]:
    """The rowids (ascending) of each text; only the `first` ones of each if given."""
    single, at, rest = _split_single(index, text_ids)
    out = {int(t): index.first_rowid[a:a + 1] for t, a in zip(single.tolist(), at.tolist())}
    out.update(_read_rowids(conn, rest, first))
    return out


def all_rowids(conn, index: Index, text_ids: np.ndarray) -> np.ndarray:
    """The rowids of all these texts together."""
    _, at, rest = _split_single(index, text_ids)
    return np.concatenate([index.first_rowid[at], *_read_rowids(conn, rest).values()])


def _split_single(index: Index, text_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A text held by one row (source ids, titles: most texts) has its rowid in memory: such texts
    and where that rowid is (first_rowid), and the other texts."""
    ids = np.unique(text_ids)
    at = np.searchsorted(index.sorted_ids, ids)
    single = index.rows_by_id[at] == 1
    return ids[single], at[single], ids[~single].tolist()


def _read_rowids(conn, text_ids: list[int], first: int | None = None) -> dict[int, np.ndarray]:
    """The rowids of these texts read from the database, in one query."""
    if not text_ids:
        return {}
    blob = "rowids_i32" if first is None else f"substr(rowids_i32, 1, {4 * first})"
    sql = f"select id, {blob} from {ROWIDS} where id in (select value from json_each(?))"
    return {text_id: np.frombuffer(data, dtype="<i4") for text_id, data in conn.execute(sql, (json.dumps(text_ids),))}


def count_rows(conn, index: Index, m: Matches) -> int:
    """Rows with a match, each once. A cell holds one text, so the texts of one column never share a
    row: their counts add up; a table matched in several columns counts the union of their rows."""
    resource_of = [r for r, _, _ in index.columns]
    columns_of: dict[str, set[int]] = {}
    for column in np.unique(m.column).tolist():
        columns_of.setdefault(resource_of[column], set()).add(column)
    total = 0
    for columns in columns_of.values():
        mine = np.isin(m.column, list(columns))
        if len(columns) == 1:
            total += int(m.rows[mine].sum())
        else:
            rowids = all_rowids(conn, index, m.text_id[mine])
            seen = np.zeros(int(rowids.max()) + 1, dtype=bool)
            seen[rowids] = True
            total += int(np.count_nonzero(seen))
    return total


def best_rows(conn, index: Index, m: Matches, size: int) -> list[tuple]:
    """The `size` best (resource, rowid, column number), best first: a row ranks by its best matching
    column; rows of equal score by resource, then in the table's own order (rowid: the build writes
    rows in primary-key order). One hit per row: rows of other department-years with the same key
    are hits of their own. Only the first `size` rowids of the best texts are read (enough: a text's
    rows already shown are fewer than the hits so far)."""
    out: list[tuple] = []
    if not len(m.score):  # no text holds the word: bounds below would name a group of nothing
        return out
    seen: set[tuple[str, int]] = set()
    # where each score's texts start in m (m is ordered by score)
    bounds = np.flatnonzero(np.r_[True, m.score[1:] != m.score[:-1], True])
    group, held = 0, np.cumsum(m.rows)
    while group < len(bounds) - 1 and len(out) < size:
        # the next scores whose texts hold `size` rows: mostly one query
        start = bounds[group]
        enough = int(np.searchsorted(held, (held[start - 1] if start else 0) + size)) + 1
        last = max(group + 1, min(len(bounds) - 1, int(np.searchsorted(bounds, enough, side="left"))))
        prefixes = rowids_of(conn, index, m.text_id[start:bounds[last]], first=size)
        for g in range(group, last):
            column = int(m.column[bounds[g]])
            resource = index.columns[column][0]
            texts = m.text_id[bounds[g]:bounds[g + 1]].tolist()
            for rowid in np.unique(np.concatenate([prefixes[t] for t in texts])).tolist():
                if len(out) >= size:
                    break
                if (resource, rowid) not in seen:
                    seen.add((resource, rowid))
                    out.append((resource, rowid, column))
        group = last
    return out


def matches(conn, index: Index, m: Matches, size: int) -> tuple[list[tuple], int]:
    """best_rows and count_rows in one visit of the database (one thread hop)."""
    return best_rows(conn, index, m, size), count_rows(conn, index, m)


async def rank_hits(db, index: Index, best: list[tuple]) -> list[Entry]:
    """The hits of `best` (best_rows) as shown, read back from the database."""
    rows = await read_rows(db, [(resource, rowid) for resource, rowid, _ in best])
    hits = []
    for resource, rowid, column_number in best:
        schema, row = i18n.schemas()[resource], rows[resource, rowid]
        column = index.columns[column_number][1]
        hits.append(Entry(
            resource=resource, row_key=roles.row_key(schema, row),
            row_path=path_from_row_pks(row, as_list(schema.get("primaryKey")), False),
            label=str(row[roles.row_label(schema)] or ""), label_en=english_label(schema, row),
            column=column, text=str(row[column]),
            scope=tuple(row[c] for c in roles.with_role(schema, "scope"))))
    return hits


def english_label(schema: dict, row: dict) -> str:
    """The row's English label where it has one beside its Chinese one, else ""."""
    english, chinese = i18n.row_label_text(schema, row, "en")
    return english if chinese is not None else ""


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
    db = datasette.databases[database]
    found = matching_texts(index, needle, table)
    best, count = await db.execute_fn(lambda conn: matches(conn, index, found, size))
    hits = await rank_hits(db, index, best)
    lang = i18n.lang_of(request)
    shown = [{
        "resource": e.resource, "resource_title": i18n.bilingual(i18n.table_title(e.resource), lang),
        "row_key": e.row_key, "label": e.label, "label_en": e.label_en, "column": e.column,
        "column_title": i18n.column_title(e.resource, e.column, lang), "text": e.text,
        "snippet": snippet(e.text, needle), "url": datasette.urls.row(database, e.resource, e.row_path),
        "scope": list(e.scope),
    } for e in hits]
    return {"q": q, "normalized": needle, "table": table, "count": count, "truncated": count > size,
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
def filters_from_request(request, database, table, datasette):
    """A table page's ?_search=WORD through the search index: the rows of the table holding a text
    that contains WORD (FTS5 trigram over the distinct texts: 3+ characters, as Datasette's own
    table search; the one search box above takes any length)."""
    search_text = request.args.get("_search")
    if search_text is None or database not in i18n.our_databases(datasette) or not _searched(table):
        return None

    async def inner():
        why = problem(search_text, None, None, i18n.lang_of(request))
        if why:
            raise BadRequest(why)
        return FilterArguments([f"rowid in ({rows_matching_sql(':search_resource', 'escape_fts(:search)')})"],
                               {"search": search_text, "search_resource": table},
                               [f'search matches "{search_text}"'],
                               {"search": search_text, "supports_search": True})

    return inner


def _searched(table: str | None) -> bool:
    schema = i18n.schemas().get(table or "")
    return bool(schema and roles.searched(schema))


@hookimpl
def register_routes(datasette):
    if not i18n.our_databases(datasette):
        return []
    return [(r"^/-/search(\.json)?$", search_view)]
