"""The site's two languages: Chinese by default, English with `?_lang=en` (remembered in a cookie).

Datasette 0.65 has no translation machinery, so the templates in site/templates call `_("English
text")`, which this module answers from one table (ZH). Column headers come from the Table Schema
titles ("中文 / English"), codes from CODE_LABELS (in English, the code's own words), a link to
another table's row from that row's English label (english_names: Datasette labels it in Chinese).
Where a page showed a key a reader cannot read, it shows the name in the page's language, the key
small beside: a filter's value on a linked column (describe), a row page's heading and links, the
table, row and column errata name (CELL_ADDRESS), a row's parent, a canned query's departments.
Links, exports and the JSON keep the keys.
Error pages are rendered here too, so that no error answers 500 from inside Datasette's own
handler, and always in the visitor's language.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from collections import OrderedDict
from functools import lru_cache
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.filters import InFilter
from datasette.utils import tilde_encode, to_css_class
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from ..model import roles
from ..model.descriptor import as_list, package_dir, read_descriptor, read_schema
from . import hierarchy
from .marker import file_is_ours

LANGS = ("zh", "en")
COOKIE = "bazhong_lang"
# Text cells wider than this are shortened on table pages, with a way to expand: display columns,
# a Chinese character counting two (it is as wide as two Latin letters), so 20 Chinese characters
# or 40 letters; a cell's column is narrow, and a longer quote made rows 300-500 px tall.
SHORT_TEXT = 40

# The Chinese text lives in i18n_zh.json: interface text (keys: the English strings the templates
# pass to _()), error messages, code labels, descriptions of queries and tables, table.js text.
ZH_FILE = Path(__file__).with_name("i18n_zh.json")
_ZH_DATA = json.loads(ZH_FILE.read_text(encoding="utf-8"))
ZH: dict[str, str] = _ZH_DATA["interface"]
# Messages of Datasette's exceptions -> Chinese (regex, template); the original stays beside it.
ERRORS_ZH: list[tuple[str, str]] = [(p, zh) for p, zh in _ZH_DATA["errors"]]

def text(lang: str, s: str, **kw) -> str:
    """`s` in `lang`, with {placeholders} filled."""
    out = ZH.get(s, s) if lang == "zh" else s
    return out.format(**kw) if kw else out


def lang_of(request) -> str:
    """?_lang= first, then the cookie, then Chinese."""
    if request is None:
        return "zh"
    asked = request.args.get("_lang")
    if asked in LANGS:
        return asked
    return request.cookies.get(COOKIE) if request.cookies.get(COOKIE) in LANGS else "zh"


def translate_error(lang: str, message: str) -> str:
    if lang != "zh":
        return message
    for pattern, zh in ERRORS_ZH:
        m = re.fullmatch(pattern, message.strip(), re.S)
        if m:
            return zh.format(*(m.groups() or (message,)))
    return "出错了：" + message


def bilingual(title: str | None, lang: str) -> str:
    """The Chinese or English half of a "中文 / English" title (the whole when it has no " / ")."""
    parts = re.split(r"\s*/\s+", title or "", maxsplit=1)  # "类/款/项" has no space: not a separator
    if len(parts) < 2:
        return title or ""
    return parts[0] if lang == "zh" else parts[1]


# ---------------------------------------------------------------- columns and codes from the schemas


@lru_cache(maxsize=1)
def schemas() -> dict[str, dict]:
    root = package_dir()
    return {r["name"]: read_schema(root, r) for r in read_descriptor(root)["resources"]}


@lru_cache(maxsize=1)
def any_table_titles() -> dict[str, str]:
    """Column name -> its most common title across the schemas (for query results: `name_zh` is
    名称 in most tables, 部门名称 only in departments)."""
    from collections import Counter

    seen: dict[str, Counter] = {}
    for schema in schemas().values():
        for f in schema["fields"]:
            seen.setdefault(f["name"], Counter())[f.get("title", f["name"])] += 1
    return {name: titles.most_common(1)[0][0] for name, titles in seen.items()}


@lru_cache(maxsize=4096)
def fields_of(table: str | None) -> dict[str, dict]:
    """The fields of a table's schema by name ({} for a table that has none)."""
    return {f["name"]: f for f in schemas().get(table or "", {}).get("fields", [])}


# Titles of the columns the canned queries name themselves (row_label, computed_pct, …): no schema has them.
QUERY_COLUMN_TITLES: dict[str, str] = _ZH_DATA["query_columns"]


@lru_cache(maxsize=4096)  # every cell of a table page asks it
def column_title(table: str | None, column: str, lang: str) -> str:
    fields = fields_of(table)
    title = (fields[column].get("title") if column in fields
             else any_table_titles().get(column) or QUERY_COLUMN_TITLES.get(column))
    if title is None and column in ("Link", "rowid"):  # columns Datasette adds
        return text(lang, column)
    return bilingual(title, lang) if title else column


def row_label_text(schema: dict, row: dict, lang: str) -> tuple[str, str | None]:
    """A row's label in `lang` and, on an English page, the Chinese one beside it (else None): the
    schema's rowLabel (name_zh mostly), or on an English page its English twin (name_en) where the
    row has one; a row without it keeps its Chinese label alone."""
    label = roles.row_label(schema)
    chinese = "" if row.get(label) is None else str(row[label])
    twin = english_twin(schema) if lang == "en" else None
    english = row.get(twin) if twin else None
    if not english:
        return chinese, None
    return str(english), chinese or None


def english_twin(schema: dict) -> str | None:
    """The English twin of the schema's rowLabel (name_zh -> name_en) when the schema has one."""
    label = roles.row_label(schema)
    twin = column_in(schema, label, "en")
    return twin if twin != label else None


def column_in(schema: dict, column: str, lang: str) -> str:
    """The column that says `column` in `lang`: on an English page the English twin of a Chinese
    column (name_zh -> name_en, explanation_zh -> explanation_en) where the schema has one."""
    twin = column[:-3] + "_en" if lang == "en" and column.endswith("_zh") else None
    return twin if twin in {f["name"] for f in schema.get("fields", [])} else column


def column_description(table: str | None, column: str, lang: str) -> str:
    """The field's description in `lang`: the schema's `description_zh` on the Chinese site."""
    field: dict = fields_of(table).get(column, {})
    return field.get("description_zh" if lang == "zh" else "description") or field.get("description", "")


def tree_rows(table: str | None, display_rows: list, sorted_by: str | None) -> list[tuple]:
    """A table page's rows with their depth: in tree order (parents first) unless the visitor
    sorted the page by a column, which then decides (depth 0)."""
    schema = schemas().get(table or "")
    if sorted_by or schema is None:
        return [(r, 0) for r in display_rows]
    values = [{c["column"]: c.get("raw") for c in r.cells} for r in display_rows]
    rows = dict(zip(map(id, values), display_rows, strict=True))
    return [(rows[id(v)], depth) for v, depth in hierarchy.tree_order(schema, values)]


# Chinese labels of the codes the data uses (enum values and breakdowns), shown beside the code.
CODE_LABELS: dict[str, str] = _ZH_DATA["codes"]


@lru_cache(maxsize=1)
def coded_columns() -> frozenset[str]:
    """Columns whose values are codes: the categories of the schemas that are not Chinese text."""
    return frozenset(c for s in schemas().values() for c in roles.with_role(s, "category")
                     if not c.endswith(("_zh", "_en")))


@lru_cache(maxsize=1)
def labelled_codes() -> frozenset[str]:
    """The codes that have a label: those the schemas' category columns enumerate and those the
    Chinese labels name (breakdowns such as by_category, which no enum lists)."""
    enums = (v for s in schemas().values() for f in s["fields"] if roles.role(f) == "category"
             for v in f.get("constraints", {}).get("enum", []))
    return frozenset(CODE_LABELS) | frozenset(enums)


def english_label(code: str) -> str:
    """A code's English label: its own words (work_output → Work output). The schemas name their
    codes in English words and give them no other English label, so there is no second table."""
    return code.replace("_", " ").capitalize()


def code_label_text(column: str, value, lang: str) -> str | None:
    """The label of a code of a coded column in `lang`, or None (not a code, or a code without one)."""
    if column not in coded_columns() or not isinstance(value, str):
        return None
    if lang == "zh":
        return CODE_LABELS.get(value)
    return english_label(value) if value in labelled_codes() else None


def code_text_plain(column: str, value, lang: str) -> str:
    """A value of a filter sentence or an English facet: a code as its label, in Chinese with the
    code beside (工作产出（work_output）); any other value as it is."""
    label = code_label_text(column, value, lang)
    if label is None:
        return value
    return f"{label}（{value}）" if lang == "zh" else label


def code_label(column: str, value, lang: str):
    """A cell of a code (and a Chinese facet value): its label in `lang`, the code small beside."""
    label = code_label_text(column, value, lang)
    if label is None:
        return None
    return code_beside(label, value)


def number_text(value) -> str:
    """A number as the report prints it: 91 not 91.0 (REAL columns), else its shortest form."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def char_width(ch: str) -> int:
    """2 for a wide (Chinese, full-width) character, else 1."""
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def display_width(s: str) -> int:
    return sum(map(char_width, s))


def wider_than(s: str, width: int) -> bool:
    """display_width(s) > width, counting only where the length does not tell."""
    return len(s) > width or (2 * len(s) > width and display_width(s) > width)


def within_width(s: str, width: int) -> str:
    """The longest start of `s` whose display width is at most `width`."""
    used = 0
    for i, ch in enumerate(s):
        used += char_width(ch)
        if used > width:
            return s[:i]
    return s


# A cell whose value is wider than this (display columns, as SHORT_TEXT) is `wide`, and `wider` when
# it is shown whole and twice as wide: on a wide screen it gets room (_site_style.html). A table wider
# than the screen gives each column its longest word: the English source title was 113 px wide, in
# 9 lines, and an id broke at every hyphen.
WIDE_TEXT = 24

# Roles of the columns whose long text is shortened: notes, explanations, quotes (names stay whole)
SHORTENED_ROLES = ("text", "provenance")


@lru_cache(maxsize=4096)
def shortened_column(table: str | None, column: str) -> bool:
    """True when a long text of `column` is shortened: its role is one of SHORTENED_ROLES (or the
    column is none of the table's fields)."""
    field = fields_of(table).get(column)
    return field is None or roles.role(field) in SHORTENED_ROLES


def cell_html(column: str, cell: dict, lang: str, table: str | None = None, whole: bool = False,
              names: dict | None = None):
    """A table-page cell: codes labelled, numbers as printed, long text shortened with a way to expand
    (`whole`: never, on a row page, whose reader came for that row); a link to another table's row
    in English where `names` (english_names' answer for this column) has the row."""
    raw = cell.get("raw")
    label = code_label(column, raw, lang)
    if label is not None:
        return label
    if names and raw in names:
        return in_english(cell["value"], names[raw])
    shown = cell["value"]
    # report.py links a figure, and a quote, to its place in the annotated report: keep the link.
    link = TO_REPORT.search(str(shown)) if isinstance(shown, Markup) else None
    if link is not None:
        html = str(shown).replace("原文 / in the report", "原文" if lang == "zh" else "in the report")
        if lang == "zh":
            html = html.replace(TO_REPORT_TITLE, f'title="{ZH.get("where the report prints it")}"')
        shown = Markup(html)
        link = TO_REPORT.search(html)
    if isinstance(raw, float):
        if link is not None:
            return Markup(str(shown).replace(f">{escape(str(raw))}</a>", f">{number_text(raw)}</a>"))
        return number_text(raw)
    if (not whole and isinstance(raw, str) and wider_than(raw, SHORT_TEXT) and not cell.get("is_special_link_column")
            and shortened_column(table, column)):
        short = escape(within_width(raw, SHORT_TEXT)) + "…"
        return Markup(f'<details class="long-text"><summary>{short}<span class="more">{escape(text(lang, "show all"))}'
                      f'</span></summary>{escape(raw)}</details>' + (f" {link.group()}" if link else ""))
    return shown


def width_class(table: str | None, cell: dict) -> str:
    """" wide", " wide wider" or "" (see WIDE_TEXT); a shortened text is never wider."""
    raw = cell.get("raw")
    if raw.__class__ is not str or not wider_than(raw, WIDE_TEXT):
        return ""
    shown_whole = cell.get("is_special_link_column") or not shortened_column(table, cell["column"])
    return " wide wider" if shown_whole and wider_than(raw, 2 * WIDE_TEXT) else " wide"


TO_REPORT = re.compile(r'<a class="to-report"[^>]*>[^<]*</a>')
TO_REPORT_TITLE = 'title="where the report prints it"'


@lru_cache(maxsize=4096)
def cell_class(column: str, value_type: str) -> str:
    return f"col-{to_css_class(column)} type-{value_type}"


@lru_cache(maxsize=4096)
def labelled_columns(table: str | None) -> frozenset[str]:
    """The columns Datasette shows as the other table's row: its label, linked, and the key beside
    (foreign keys of one field to another table's whole primary key). Their cells get the class
    `linked` and a minimum width (_site_style.html): a source's full name wrapped into 9 lines."""
    return frozenset(link_targets(table))


@lru_cache(maxsize=4096)
def link_targets(table: str | None) -> dict[str, tuple[str, str]]:
    """labelled_columns' columns -> (the table, the key column) each links to."""
    return {fields[0]: (target, target_fields[0])
            for fields, target, target_fields in roles.foreign_keys(schemas().get(table or "", {}))
            if target not in ("", table) and len(fields) == 1
            and target_fields == as_list(schemas().get(target, {}).get("primaryKey"))}


READ_AT_ONCE = 500  # keys per query (SQLite's limit of parameters was 999)


async def english_names(datasette, database: str, table: str | None, column: str, keys) -> dict:
    """Key -> (English label, Chinese label) of the rows that `column` of `table` links to and that
    have an English label (row_label_text's rule). Datasette labels such a link with the other
    table's rowLabel (its label column: name_zh), whatever the page's language."""
    labels = await linked_labels(datasette, database, table, column, keys, "en")
    return {key: names for key, names in labels.items() if names[1] is not None}


async def linked_labels(datasette, database: str, table: str | None, column: str, keys, lang: str) -> dict:
    """Key -> row_label_text's answer in `lang` ((label, the Chinese beside it or None)) of the rows
    that `column` of `table` links to; a key no row has, or whose row has no label, is left out."""
    target, key_column = link_targets(table)[column]
    return await labels_of_keys(datasette, database, target, key_column, keys, lang)


async def linked_names(datasette, database: str, table: str | None, display_rows: list, lang: str) -> dict:
    """Column -> english_names' answer, for the linked cells of an English page's rows ({} in Chinese):
    those Datasette labelled (a Markup link; a row page and ?_labels=off show the bare key)."""
    columns = labelled_columns(table) if lang == "en" else frozenset()
    keys: dict[str, list] = {c: [] for c in columns}
    for row in display_rows:
        for cell in row.cells:
            if cell["column"] in keys and isinstance(cell["value"], Markup):
                keys[cell["column"]].append(cell.get("raw"))
    return {c: await english_names(datasette, database, table, c, k) for c, k in keys.items() if k}


async def label_row_page_links(datasette, database: str, table: str | None, display_rows: list) -> None:
    """A row page's linked cells written as Datasette writes them on table pages, the other row's
    Chinese label linked and the key beside (it leaves them bare keys on row pages), so that they
    read as names in either language (linked_names puts the English one on an English page)."""
    for column in labelled_columns(table):
        bare = [c for r in display_rows for c in r.cells
                if c["column"] == column and c.get("raw") is not None and not isinstance(c["value"], Markup)]
        labels = await linked_labels(datasette, database, table, column, [c["raw"] for c in bare], "zh")
        target = datasette.urls.table(database, link_targets(table)[column][0])
        for cell in bare:
            if cell["raw"] in labels:
                href = f"{target}/{tilde_encode(str(cell['raw']))}"
                cell["value"] = key_beside(labels[cell["raw"]][0], cell["raw"], href)


# errata and figure_sources name a cell of another table by these fields: the table, the row's key
# within its department-year (roles.row_key) and the column. The page shows the table's title, the
# row's label (linked to the row) and the column's title, each with its key beside.
CELL_ADDRESS = ("resource", "row_key", "column")


@lru_cache(maxsize=256)
def addresses_cells(table: str | None) -> bool:
    """True when `table`'s rows name cells of other tables (its fields hold CELL_ADDRESS and a scope)."""
    fields = fields_of(table)
    return all(f in fields for f in CELL_ADDRESS) and bool(roles.scope(schemas()[table or ""]))


async def name_cell_addresses(datasette, database: str, table: str | None, display_rows: list, lang: str) -> None:
    """The CELL_ADDRESS cells of a table or row page's rows named (name_addresses)."""
    if addresses_cells(table):
        await name_addresses(datasette, database, [{c["column"]: c for c in r.cells} for r in display_rows], lang)


async def name_addresses(datasette, database: str, rows: list[dict], lang: str) -> None:
    """CELL_ADDRESS cells (rows: column -> cell, a dict with "raw" and "value") written as names in
    `lang`, each key beside: a link to the table under its title, a link to the row under its label
    (where the row has its table's scope fields), the column's title. A value that names no table,
    row or column stays as it is."""
    resource, row_key, column = CELL_ADDRESS
    rows = [r for r in rows if resource in r and r[resource].get("raw") in schemas()]
    wanted: dict[str, dict] = {}
    for r in rows:
        scope = roles.scope(schemas()[r[resource]["raw"]])
        if row_key in r and scope and all(f in r for f in scope):
            year = tuple(r[f].get("raw") for f in scope)
            wanted.setdefault(r[resource]["raw"], {}).setdefault(year, set()).add(str(r[row_key].get("raw")))
    labels = {name: await row_labels(datasette, database, name, keys, lang) for name, keys in wanted.items()}
    hrefs = {name: datasette.urls.table(database, name) for name in {r[resource]["raw"] for r in rows}}
    for r in rows:
        name = r[resource]["raw"]
        r[resource]["value"] = key_beside(half_title(name, lang), name, hrefs[name])
        r[resource]["linked"] = True
        if name in labels:
            scope = roles.scope(schemas()[name])
            found = labels[name].get((*(r[f].get("raw") for f in scope), str(r[row_key].get("raw"))))
            if found is not None:
                (label, chinese), path = found
                r[row_key]["value"] = key_beside(label, r[row_key]["raw"], f"{hrefs[name]}/{path}", chinese)
                r[row_key].update(linked=True, named=(label, chinese) if chinese else None)
        if column in r and r[column].get("raw") in fields_of(name):
            r[column]["value"] = code_beside(column_title(name, r[column]["raw"], lang), r[column]["raw"])


def named_parents(table: str | None) -> list[str]:
    """The columns of `table` that hold a row's parent (roles.parent_links) by the whole row key
    within the department-year (income's parent_item_id: an item_id)."""
    schema = schemas().get(table or "")
    if schema is None:
        return []
    return [parent for parent, key in roles.parent_links(schema) if roles.row_key_fields(schema) == [key]]


async def name_parent_cells(datasette, database: str, table: str | None, display_rows: list, lang: str) -> None:
    """A page's cells that hold a row's parent (named_parents) written as the parent row's label in
    `lang`, linked to it, the key beside (as a link to another table's row); a key no row of the
    department-year has stays as it is."""
    parents = named_parents(table)
    if not parents:
        return
    scope = roles.scope(schemas()[table or ""])
    rows = [{c["column"]: c for c in r.cells} for r in display_rows]
    rows = [r for r in rows if all(f in r for f in scope) and any(r.get(p, {}).get("raw") is not None for p in parents)]
    wanted: dict[tuple, set] = {}
    for r in rows:
        keys = wanted.setdefault(tuple(r[f].get("raw") for f in scope), set())
        keys.update(str(r[p]["raw"]) for p in parents if p in r and r[p].get("raw") is not None)
    labels = await row_labels(datasette, database, table or "", wanted, lang)
    href = datasette.urls.table(database, table or "")
    for r in rows:
        for cell in (r[p] for p in parents if p in r and r[p].get("raw") is not None):
            found = labels.get((*(r[f].get("raw") for f in scope), str(cell["raw"])))
            if found is not None:
                (label, chinese), path = found
                cell["value"] = key_beside(label, cell["raw"], f"{href}/{path}", chinese)
                cell.update(linked=True, named=(label, chinese) if chinese else None)


@lru_cache(maxsize=1)
def linked_everywhere() -> dict[str, tuple[str, str]]:
    """Column name -> (table, key column) of the foreign keys that link to the same table wherever a
    table has one by that name (department, source_id): how a query answer's column of that name
    is read."""
    seen: dict[str, set] = {}
    for table in schemas():
        for column, target in link_targets(table).items():
            seen.setdefault(column, set()).add(target)
    return {column: next(iter(targets)) for column, targets in seen.items() if len(targets) == 1}


async def labels_of_keys(datasette, database: str, target: str, key_column: str, keys, lang: str) -> dict:
    """linked_labels' answer for the rows of `target` whose `key_column` is one of `keys`."""
    schema = schemas()[target]
    label, twin = roles.row_label(schema), english_twin(schema)
    wanted = list(dict.fromkeys(k for k in keys if k is not None))
    if not wanted:
        return {}
    read = f'"{label}"' + (f', "{twin}"' if twin and lang == "en" else "")
    select = f'select "{key_column}" as key, {read} from "{target}" where "{key_column}" in '
    out = {}
    for start in range(0, len(wanted), READ_AT_ONCE):
        chunk = wanted[start:start + READ_AT_ONCE]
        for row in (await datasette.databases[database].execute(select + f"({', '.join('?' * len(chunk))})",
                                                                  chunk)).rows:
            names = row_label_text(schema, dict(row), lang)
            if names[0]:
                out[row["key"]] = names
    return out


async def name_query_answer(datasette, database: str, columns: list[str], rows: list, display_rows: list,
                            lang: str) -> list[list]:
    """A canned query's display rows with the keys its columns hold named as on table pages: a linked
    column (linked_everywhere: department, source_id) as the linked row's label, linked, the key
    beside; a table, row and column (CELL_ADDRESS) by their titles and labels. The answer's JSON and
    CSV are Datasette's, unchanged."""
    cells = [{c: {"column": c, "raw": raw, "value": shown} for c, raw, shown in zip(columns, row, display, strict=True)}
             for row, display in zip(rows, display_rows, strict=True)]
    for column in (c for c in columns if c in linked_everywhere()):
        target, key_column = linked_everywhere()[column]
        labels = await labels_of_keys(datasette, database, target, key_column, [r[column]["raw"] for r in cells], lang)
        href = datasette.urls.table(database, target)
        shown = {key: key_beside(label, key, f"{href}/{tilde_encode(str(key))}", chinese)
                 for key, (label, chinese) in labels.items()}
        for r in cells:
            r[column]["value"] = shown.get(r[column]["raw"], r[column]["value"])
    await name_addresses(datasette, database, cells if all(f in columns for f in CELL_ADDRESS)
                         else [{CELL_ADDRESS[0]: r[CELL_ADDRESS[0]]} for r in cells if CELL_ADDRESS[0] in r], lang)
    return [[r[c]["value"] for c in columns] for r in cells]


def code_beside(text: str, key) -> Markup:
    """`text` with the key small beside it (as code_label writes a code's label)."""
    return Markup(f'{escape(text)} <small class="code">{escape(key)}</small>')


def half_title(name: str, lang: str) -> str:
    return bilingual(table_title(name), lang)


@lru_cache(maxsize=4096)  # a page repeats its department and tables; Markup.format cost 10 µs a call
def key_beside(label: str, key, href: str, chinese: str | None = None) -> Markup:
    """A link under `label` (the Chinese beside it when given) with the key after it, as Datasette
    writes a linked cell: <a href="…">label</a>&nbsp;<em>key</em>."""
    beside = chinese_beside(chinese) if chinese else ""
    return Markup(f'<a href="{escape(href)}">{escape(label)}</a>{beside}&nbsp;<em>{escape(key)}</em>')


PARAMETERS_AT_ONCE = 900  # parameters per query (SQLite's limit was 999); each department-year a term


async def row_labels(datasette, database: str, name: str, wanted: dict, lang: str) -> dict:
    """(scope values…, row key) -> (row_label_text's answer, the row's path) of the rows of table
    `name` that `wanted` names (a department-year, the tuple of its scope fields' values -> the row
    keys wanted in it, roles.row_key's text) and that have a label."""
    schema = schemas()[name]
    scope, pk, key_fields = roles.scope(schema), as_list(schema.get("primaryKey")), roles.row_key_fields(schema)
    label, twin = roles.row_label(schema), english_twin(schema)
    read = ", ".join(f'"{c}"' for c in dict.fromkeys([*pk, label, *([twin] if twin and lang == "en" else [])]))
    out: dict = {}
    for where, parameters in year_terms(scope, key_fields, wanted):
        result = await datasette.databases[database].execute(f'select {read} from "{name}" where {where}', parameters)
        for row in map(dict, result.rows):
            year = tuple(row[f] for f in scope)
            key = roles.row_key(schema, row)
            names = row_label_text(schema, row, lang) if key in wanted.get(year, ()) else ("", None)
            if names[0]:
                out[(*year, key)] = (names, ",".join(tilde_encode(str(row[k])) for k in pk))
    return out


def year_terms(scope: list[str], key_fields: list[str], wanted: dict):
    """(where, parameters) of the queries that read `wanted`'s rows: one term a department-year,
    (a = ? and b = ? [and key in (…)]), joined by "or", so that SQLite searches the primary key's
    index for each (a row value "in (values …)" scanned the whole table). A row key of one field
    narrows the term to the wanted keys; one of several (cloud|7) is matched after reading."""
    terms: list[str] = []
    parameters: list = []
    for year, keys in wanted.items():
        if len(year) != len(scope) or not scope:
            continue
        term = [f'"{c}" = ?' for c in scope] + ([f'"{key_fields[0]}" in ({", ".join("?" * len(keys))})']
                                                if len(key_fields) == 1 else [])
        if terms and len(parameters) + len(year) + len(keys) > PARAMETERS_AT_ONCE:
            yield " or ".join(terms), parameters
            terms, parameters = [], []
        terms.append("(" + " and ".join(term) + ")")
        parameters += [*year, *(sorted(keys) if len(key_fields) == 1 else [])]
    if terms:
        yield " or ".join(terms), parameters


def row_name(table: str | None, row, primary_key_values: list, lang: str) -> Markup | None:
    """A row page's heading after the table's title: the row's label in `lang` (the Chinese beside on
    an English page), or None when it has none or the label is a part of the key (erratum_id)."""
    schema = schemas().get(table or "")
    if schema is None or row is None:
        return None
    label, chinese = row_label_text(schema, dict(row), lang)
    if not label or label in primary_key_values:
        return None
    return label_beside(label, chinese) if chinese else escape(label)


def label_beside(english: str, chinese: str) -> Markup:
    """The English label, the Chinese one small beside it (as _cells.html's row_label macro writes it)."""
    return escape(english) + chinese_beside(chinese)


def chinese_beside(chinese: str) -> Markup:
    return Markup(f' <small class="label-zh" lang="zh-CN">{escape(chinese)}</small>')


# The text of the link Datasette writes in a linked cell: <a href="…">label</a>&nbsp;<em>key</em>
LINK_TEXT = re.compile(r'(<a href="[^"]*">)[^<]*(</a>)')


def in_english(shown, names: tuple[str, str]) -> Markup:
    """A linked cell with its link's text in English, the Chinese small beside it after the link (as
    search.html shows a hit's label); the link and key as they were."""
    if not isinstance(shown, Markup):  # not a link Datasette wrote (?_labels=off): text, kept escaped
        return shown
    english, chinese = names
    # plain strings: a str added to a Markup is escaped, Datasette's <a> with it
    text, beside = str(escape(english)), str(chinese_beside(chinese))
    return Markup(LINK_TEXT.sub(lambda m: m.group(1) + text + m.group(2) + beside, str(shown), count=1))


def cell_style(indent: int, named: tuple[str, str] | None) -> str:
    """A cell's style attribute: the depth of an indented label; the width a linked row's English
    label wants to fit two lines (`--name`, in ch: half its display width; _site_style.html caps it)."""
    props = ([f"--depth: {indent}"] if indent else []) + ([f"--name: {display_width(named[0]) // 2 + 1}ch"]
                                                          if named else [])
    return f' style="{"; ".join(props)}"'


def row_label_column(table: str | None) -> str | None:
    return roles.row_label(schemas()[table]) if table in schemas() else None


def rows_html(table: str | None, display_rows: list, order: list[int], sorted_by: str | None, lang: str,
              whole: bool = False, names: dict | None = None) -> Markup:
    """A table page's <tr> rows, as _cells.html's `cell` macro writes a cell (title on phones, the
    label indented by its depth), built here: Datasette renders templates in async mode, where a
    macro call per cell cost 60-110 ms of a 50-row page at N = 10,000 (benchmarks/bench_site.py).
    `names`: linked_names' answer, for an English page."""
    label_column, linked, names = row_label_column(table), labelled_columns(table), names or {}
    out = []
    for row, depth in tree_rows(table, display_rows, sorted_by):
        out.append("<tr>")
        for i in order:
            cell = row.cells[i]
            column = cell["column"]
            indent = depth if column == label_column else 0
            # an English label (name_addresses marks the cells it links, and names in English)
            named = names[column].get(cell.get("raw")) if column in names else cell.get("named")
            style = cell_style(indent, named) if indent or named else ""
            indented = " indented" if indent else ""
            indented += (" linked named" if named else " linked") if column in linked or cell.get("linked") else ""
            indented += width_class(table, cell)
            out.append(f'<td class="{cell_class(column, cell["value_type"])}{indented}" '
                       f'data-title="{escape(column_title(table, column, lang))}"{style}>'
                       f"{escape(cell_html(column, cell, lang, table, whole, names.get(column)))}</td>")
        out.append("</tr>")
    return Markup("\n".join(out))


async def canned_rows_html(datasette, database: str | None, columns: list[str], display_rows: list,
                           rows: list | None, lang: str) -> Markup:
    """query_rows_html's rows; a canned query's (`rows`: its raw rows) with their keys named."""
    if rows is not None and datasette is not None and database is not None:
        display_rows = await name_query_answer(datasette, database, columns, rows, display_rows, lang)
    return query_rows_html(columns, display_rows)


def query_rows_html(columns: list[str], display_rows: list) -> Markup:
    """A query answer's <tr> rows (as query.html wrote them with a Jinja loop per cell)."""
    classes = [f"col-{to_css_class(c)}" for c in columns]
    rows = ("".join(f'<td class="{c}">{escape(td)}</td>' for c, td in zip(classes, row)) for row in display_rows)
    return Markup("\n".join(f"<tr>{cells}</tr>" for cells in rows))


# Table pages put what a reader looks for first: the row's link, its label and figures; the
# provenance (quotes, derivation) last.
ROLE_ORDER = {"label": 1, "figure": 2, "text": 3, "category": 4, "scope": 5, "identifier": 6, "ordinal": 6,
              "attribute": 7, "provenance": 8}


def column_order(table: str | None, columns: list[str]) -> list[int]:
    """Positions of `columns` in reading order (stable within a role); Datasette's Link column first."""
    fields = {f["name"]: f for f in schemas().get(table or "", {}).get("fields", [])}
    if not fields:
        return list(range(len(columns)))
    label = roles.row_label(schemas()[table or ""])

    def rank(i: int) -> tuple:
        f = fields.get(columns[i])
        if f is None:
            return (0, i)
        return (0 if columns[i] == label else ROLE_ORDER.get(f.get("role"), 7), i)

    return sorted(range(len(columns)), key=rank)


# ---------------------------------------------------------------- describing a filtered table


async def describe(datasette, database: str | None, lang: str, table: str | None, filters, search: str,
                   sort: str | None, sort_desc: str | None) -> Markup:
    """Datasette's "where … sorted by …" in the visitor's language, saying column titles, code labels
    and the names of linked rows where Datasette's own English names fields, codes and keys ("sorted
    by metric_id", "department = bazhong-govt-office")."""
    ops = {key: (display, no_argument) for key, display, no_argument in filters.lookups()}
    selections = list(filters.selections())
    names = await filter_names(datasette, database, table, selections, lang)
    bits = [said(lang, "search matches “{q}”", q=search)] if search else []
    bits += [filter_text(table, column, lookup, value, ops.get(lookup, (lookup, False)), lang, names.get(column, {}))
             for column, lookup, value in selections]
    where = said(lang, "where {filters}", filters=listed(bits, lang)) if bits else Markup("")
    by = sort or sort_desc
    if not by:
        return where
    key = "sorted by {c} descending" if sort_desc else "sorted by {c}"
    sorted_by = said(lang, key, c=column_title(table, by, lang))
    return Markup("，" if lang == "zh" else " ").join(b for b in (where, sorted_by) if b)


def said(lang: str, s: str, **kw) -> Markup:
    """text(lang, s) with its {placeholders} filled, escaped unless already Markup."""
    return Markup(escape(text(lang, s))).format(**kw)


def listed(bits: list, lang: str) -> Markup:
    """Clauses joined as each language lists them: "a，b，c"; "a, b and c" (as Datasette's English)."""
    if lang == "zh" or len(bits) < 2:
        return Markup("，").join(bits)
    return Markup(", ").join(bits[:-1]) + Markup(" and ") + bits[-1]


# The lookups whose value is the whole of a linked row's key (a "contains" one is a part of it).
KEY_LOOKUPS = ("exact", "not", "in", "notin")


def filter_values(lookup: str, value: str) -> list[str]:
    """The values of one filter: an "in" filter's list, else the value itself."""
    return [str(v) for v in InFilter().split_value(value)] if lookup in ("in", "notin") else [value]


async def filter_names(datasette, database: str | None, table: str | None, selections: list, lang: str) -> dict:
    """Column -> linked_labels' answer for the keys that filters on a linked column name, and for
    the tables a filter on CELL_ADDRESS's table column names (their titles)."""
    keys: dict[str, list] = {}
    tables = CELL_ADDRESS[0] if addresses_cells(table) else None
    for column, lookup, value in selections:
        if (column in labelled_columns(table) or column == tables) and lookup in KEY_LOOKUPS:
            keys.setdefault(column, []).extend(filter_values(lookup, value))
    titled = keys.pop(tables) if tables in keys else []
    names = {tables: {k: (half_title(k, lang), None) for k in titled if k in schemas()}} if titled else {}
    if datasette is None or database is None:
        return names
    return names | {c: await linked_labels(datasette, database, table, c, k, lang) for c, k in keys.items()}


def filter_text(table: str | None, column: str, lookup: str, value: str, op: tuple[str, bool], lang: str,
                names: dict | None = None) -> Markup:
    """One filter of the sentence: column title, operator (Datasette's display, and whether it takes
    no argument), and its value or values as labels (none for "is null" and the like, whose value
    is a mere 1); `names`: filter_names' answer for this column (a linked row's name, key beside)."""
    display, no_argument = op
    shown = escape(f"{column_title(table, column, lang)} {text(lang, display)}".strip())
    if no_argument:
        return shown
    names = names if lookup in KEY_LOOKUPS else None
    values = [value_text(column, v, lang, names) for v in filter_values(lookup, value)]
    return shown + Markup(" ") + Markup("、" if lang == "zh" else ", ").join(values)


def value_text(column: str, value: str, lang: str, names: dict | None = None) -> Markup:
    """A filter's value: the code's label, or the linked row's name with its key small beside; on an
    English page quoted unless a number, as Datasette does (“Work output”, 2018)."""
    named = (names or {}).get(value)
    shown = named[0] if named else code_text_plain(column, value, lang)
    quoted = shown if lang == "zh" or NUMBER.fullmatch(value) else f"“{shown}”"
    return code_beside(quoted, value) if named else escape(quoted)


NUMBER = re.compile(r"-?\d+(\.\d+)?")


# ---------------------------------------------------------------- canned queries and tables in Chinese

QUERY_DESCRIPTIONS_ZH: dict[str, str] = _ZH_DATA["queries"]

PARAMETER_LABELS = {
    "fiscal_year": ("财政年度", "Fiscal year"), "department": ("部门编号", "Department id"),
    "threshold": ("低于此完成率（%）", "Threshold (%)"), "q": ("搜索词", "Word"),
    "section": ("章节包含", "Section contains"),
}


def parameter_label(name: str, lang: str) -> str:
    pair = PARAMETER_LABELS.get(name)
    return (pair[0] if lang == "zh" else pair[1]) if pair else name


async def parameter_named(datasette, database: str | None, name: str, value, lang: str) -> Markup:
    """Beside a canned query's parameter that holds a linked key (linked_everywhere: department), the
    name of the row it picks in `lang`, or that no row has it; nothing for any other parameter."""
    key = value.strip() if isinstance(value, str) else ""
    if name not in linked_everywhere() or not key or datasette is None or database is None:
        return Markup("")
    target, key_column = linked_everywhere()[name]
    named = (await labels_of_keys(datasette, database, target, key_column, [key], lang)).get(key)
    if named is None:
        return Markup('<span class="parameter-named unknown">{}</span>').format(text(lang, "no row has this id"))
    shown = label_beside(*named) if named[1] else escape(named[0])
    return Markup('<span class="parameter-named">{}</span>').format(shown)


def query_description(name: str | None, english: str | None, lang: str) -> str:
    if lang == "zh" and name in QUERY_DESCRIPTIONS_ZH:
        return QUERY_DESCRIPTIONS_ZH[name]
    return english or ""


# ---------------------------------------------------------------- the language switch


def url_with_lang(request, lang: str) -> str:
    """The current page in `lang` (the cookie then remembers the choice)."""
    if request is None:
        return f"/?_lang={lang}"
    args = [(k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True) if k != "_lang"]
    return request.path + "?" + urlencode(args + [("_lang", lang)])


@lru_cache(maxsize=1)
def resources() -> dict[str, dict]:
    root = package_dir()
    return {r["name"]: r for r in read_descriptor(root)["resources"]}


def table_title(name: str) -> str:
    return resources().get(name, {}).get("title", name)


def database_title(datasette, name: str) -> str:
    """The database's "中文 / English" title from the metadata (its name when it has none)."""
    meta = (datasette.metadata() or {}).get("databases", {}).get(name, {}) if datasette is not None else {}
    return meta.get("title") or name


TABLE_DESCRIPTIONS_ZH: dict[str, str] = _ZH_DATA["tables"]


def table_description(name: str, lang: str) -> str:
    if lang == "zh" and name in TABLE_DESCRIPTIONS_ZH:
        return TABLE_DESCRIPTIONS_ZH[name]
    return resources().get(name, {}).get("description", "")


HOME_INTRO_ZH: str = _ZH_DATA["home_intro"]


async def department_years(datasette, database: str) -> list[dict]:
    db = datasette.databases[database]
    sql = ("select s.department, s.fiscal_year, d.name_zh, d.name_en from sources s "
           "join departments d using (department) order by s.department, s.fiscal_year")
    return [dict(r) for r in (await db.execute(sql)).rows]


async def home_info(datasette, lang: str) -> dict:
    """The home page: intro, the questions and the tables of our databases, computed once per
    language (the databases and the metadata do not change while the site serves)."""
    kept_home = kept(datasette, "home")
    if lang not in kept_home:
        kept_home[lang] = await home_content(datasette, lang)
    return kept_home[lang]


async def home_content(datasette, lang: str) -> dict:
    """home_info's content (row counts are cached by Datasette for immutable databases)."""
    dp = read_descriptor(package_dir())
    src = (dp.get("sources") or [{}])[0]
    databases: list[dict] = []
    out = {"intro": HOME_INTRO_ZH if lang == "zh" else dp.get("description", ""),
           "archive": f"/archive/{src['path'].rsplit('/', 1)[-1]}" if src.get("path") else None,
           "databases": databases}
    meta = (datasette.metadata() or {}).get("databases", {})
    for name in sorted(our_databases(datasette)):
        counts = await datasette.databases[name].table_counts(limit=100)
        tables = [{"name": t, "title": table_title(t), "count": counts.get(t) or 0,
                   "description": table_description(t, lang)} for t in resources() if t in counts]
        queries = [{"name": q, **v} for q, v in meta.get(name, {}).get("queries", {}).items()]
        databases.append({"name": name, "tables": tables, "queries": queries,
                          "rows": sum(int(t["count"]) for t in tables)})
    return out


def code_text(column: str, value, label, lang: str):
    """A facet value: a code as its label (the code beside on a Chinese page), else Datasette's label."""
    shown = (code_label if lang == "zh" else code_label_text)(column, value, lang) or label
    return "-" if shown is None or shown == "" else shown


def facets_shown(table: str | None, results: list, request) -> list:
    """Facets on columns people filter by (roles.facets()) and those the visitor asked for."""
    schema = schemas().get(table or "")
    if schema is None:
        return results
    wanted = set(roles.facets(schema)) | set(request.args.getlist("_facet") if request is not None else [])
    # A column once: Datasette lists a default facet again when the visitor also asks for it (_facet=kind).
    first: dict[str, dict] = {}
    for f in results:
        if f["name"] in wanted:
            first.setdefault(f["name"], f)
    return list(first.values())


def table_titles_facet(table: str | None, facet: dict, lang: str) -> dict:
    """A facet of the column naming tables (CELL_ADDRESS's first, on errata and figure_sources) with
    each table's title as its label, the key small beside; any other facet as it is."""
    if not addresses_cells(table) or facet["name"] != CELL_ADDRESS[0]:
        return facet
    return {**facet, "results": [
        {**v, "label": code_beside(half_title(v["value"], lang), v["value"])} if v["value"] in schemas() else v
        for v in facet["results"]]}


async def facets_in_lang(datasette, database: str, table: str | None, results: list, request, lang: str) -> list:
    """facets_shown's facets; on an English page a facet of a linked column labels its values with
    the English labels, the Chinese beside (Datasette's label is the Chinese one); in either language
    a facet of the tables errata name (CELL_ADDRESS) says their titles, the key beside; links unchanged."""
    shown = [table_titles_facet(table, facet, lang) for facet in facets_shown(table, results, request)]
    if lang != "en":
        return shown
    out = []
    for facet in shown:
        if facet["name"] in labelled_columns(table):
            names = await english_names(datasette, database, table, facet["name"],
                                        [v["value"] for v in facet["results"]])
            facet = {**facet, "results": [{**v, "label": label_beside(*names[v["value"]])} if v["value"] in names
                                          else v for v in facet["results"]]}
        out.append(facet)
    return out


def download_url(request, fmt: str, headers: str | None = None) -> str:
    """The download of what this page shows (same filters, sort and parameters), in `fmt`."""
    if request is None:
        return "#"
    args = [(k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True)
            if k not in ("_next", "_lang", "_size")]
    page = request.path.rsplit(".", 1)[0] if request.path.endswith((".json", ".csv")) else request.path
    args = [("path", page), *args]
    if headers:
        args.append(("_headers", headers))
    return f"/-/download.{fmt}?" + urlencode(args)


def labels_off(request) -> bool:
    """True when the visitor asked for keys, not labels (Datasette's ?_labels=off): they stay bare."""
    return request is not None and request.args.get("_labels", "").lower() in ("off", "false", "0")


def template_vars(request, table: str | None, row_page: bool = False, datasette=None,
                  database: str | None = None) -> dict:
    """The template functions; `datasette` and `database` for those that read the database (async:
    Jinja awaits what they return)."""
    lang = lang_of(request)

    async def page_rows_html(display_rows, order, sorted_by):
        if not labels_off(request):
            if row_page:
                await label_row_page_links(datasette, database, table, display_rows)
            await name_cell_addresses(datasette, database, table, display_rows, lang)
            await name_parent_cells(datasette, database, table, display_rows, lang)
        names = await linked_names(datasette, database, table, display_rows, lang)
        return rows_html(table, display_rows, order, sorted_by, lang, whole=row_page, names=names)

    return {
        "_": lambda s, **kw: text(lang, s, **kw),
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "lang_url": lambda other: url_with_lang(request, other),
        "half": lambda title: bilingual(title, lang),
        "column_title": lambda column, t=None: column_title(t or table, column, lang),
        "cell_html": lambda column, cell: cell_html(column, cell, lang, table),
        "describe": lambda *a: describe(datasette, database, lang, table, *a),
        "parameter_label": lambda name: parameter_label(name, lang),
        "parameter_named": lambda name, value: parameter_named(datasette, database, name, value, lang),
        "query_description": lambda name, english: query_description(name, english, lang),
        "number_text": number_text,
        "rows_text": lambda n: text(lang, "{n} row" if n == 1 else "{n} rows", n=f"{n:,}"),  # "1 rows" read wrong
        "column_description": lambda column: column_description(table, column, lang),
        "query_rows_html": lambda columns, display_rows, rows=None: canned_rows_html(
            datasette, database, columns, display_rows, rows, lang),
        "rows_html": page_rows_html,
        "column_order": lambda columns: column_order(table, [c["name"] for c in columns]),
        "translate_error": lambda message: translate_error(lang, str(message)),
        "table_title": table_title,
        "database_title": lambda name: bilingual(database_title(datasette, name), lang) or name,
        "row_name": lambda row, keys: row_name(table, row, keys, lang),
        "table_description": lambda name: table_description(name, lang),
        "code_text": lambda column, value, label: code_text(column, value, label, lang),
        "facets_shown": lambda results: facets_in_lang(datasette, database, table, results, request, lang),
        "download_url": lambda fmt, headers=None: download_url(request, fmt, headers),
        "site_search_q": request.args.get("q") if request is not None and request.path.startswith("/-/search") else "",
    }


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    if not our_databases(datasette):
        return {}

    async def inner():
        out = template_vars(request, table, row_page=template == "row.html", datasette=datasette, database=database)
        if template in ("index.html", "database.html"):
            out["home"] = await home_info(datasette, out["lang"])
        return out

    return inner


@hookimpl
def render_cell(value, column, table, database, datasette):
    """Numbers as printed (91, not 91.0) in query results, in our databases. Table and row pages
    format their cells in cell_html (report.py links their figures to the annotated report)."""
    if table is None and isinstance(value, float) and database in our_databases(datasette):
        return number_text(value)
    return None


def kept(datasette, name: str) -> OrderedDict:
    """A dict that lives as long as this Datasette (its immutable databases' derived data: the
    search index, report cards, answers). On the instance, not keyed by id(): ids are reused."""
    store = datasette.__dict__.setdefault("_bazhong_site", {})
    return store.setdefault(name, OrderedDict())


def our_databases(datasette) -> frozenset[str]:
    """The databases this package built (the build's stamp, marker.py); the plugin leaves any other
    one, and a Datasette serving none of ours, alone."""
    ours, key = kept(datasette, "ours"), tuple(datasette.databases)
    if key not in ours:
        ours[key] = frozenset(name for name, db in datasette.databases.items() if db.path and file_is_ours(db.path))
    return ours[key]


# ---------------------------------------------------------------- the JavaScript of table pages


@lru_cache(maxsize=2)
def table_js(lang: str) -> str:
    """Datasette's table.js with its menu text in `lang`."""
    from pathlib import Path

    import datasette

    js = (Path(datasette.__file__).parent / "static" / "table.js").read_text(encoding="utf-8")
    if lang == "zh":
        for en, zh in JS_ZH.items():
            js = js.replace(en, zh)
    return js


JS_ZH: dict[str, str] = _ZH_DATA["javascript"]


async def table_js_route(request):
    lang = request.url_vars["lang"]
    return Response(table_js(lang), content_type="application/javascript; charset=utf-8",
                    headers={"cache-control": "max-age=3600"})


@hookimpl
def register_routes():
    return [(r"^/-/i18n/table-(?P<lang>zh|en)\.js$", table_js_route)]


# ---------------------------------------------------------------- errors in the visitor's language


USER_ERRORS = r"Cannot sort|Cannot use _sort|_col=|_nocol="


def error_status(exception) -> tuple[int, str, str | None]:
    from datasette.utils.asgi import Base400
    from datasette.views.base import DatasetteError

    if isinstance(exception, Base400):
        return exception.status, str(exception.args[0] if exception.args else exception), None
    if isinstance(exception, DatasetteError):
        message = re.sub(r"\s+", " ", re.sub(r"<textarea.*?</textarea>|<script.*?</script>|<[^>]+>", " ",
                                             str(exception.message), flags=re.S)).strip()
        # Datasette raises these with its default status 500, but the visitor asked for them.
        status = 400 if exception.status == 500 and re.match(USER_ERRORS, message) else exception.status
        return status, message, exception.title
    if isinstance(exception, sqlite3.ProgrammingError) and "binding parameter" in str(exception):
        # a row URL whose key has fewer parts than the primary key (its commas sent as %2C, say):
        # Datasette runs the lookup without them; for the visitor there is no such row
        return 404, f"Record not found: {exception}", None
    return 500, str(exception), None


async def error_response(datasette, request, status: int, message: str, title: str | None = None,
                         localized: bool = False) -> Response:
    """`localized`: the message is already in the visitor's language."""
    lang = lang_of(request)
    shown = message if localized else translate_error(lang, message)
    if request.path.split("?")[0].endswith(".json"):
        return Response.json({"ok": False, "error": shown, "status": status,
                              "title": title}, status=status)
    sql = request.args.get("sql") if request.args.get("sql") is not None else None
    database = next(iter(our_databases(datasette)), None)
    html = await datasette.render_template(
        ["error.html"],
        {"status": status, "error": message, "error_shown": shown, "title": title,
         "sql": sql, "sql_database": database},
        request=request,
    )
    return Response.html(html, status=status)


def error_page(datasette, request, exception):
    async def inner():
        status, message, title = error_status(exception)
        if status >= 500:
            import traceback

            traceback.print_exception(exception)
        return await error_response(datasette, request, status, message, title)

    return inner


@hookimpl(hookwrapper=True)
def handle_exception(datasette, request, exception):
    """Every error page in the visitor's language, with a way back and the SQL editor where it applies.
    It replaces Datasette's own handler, which answers 500 on a plain 404 (it prints the exception
    with `rich` outside an except block) and renders our templates without their variables."""
    outcome = yield
    if our_databases(datasette):
        outcome.force_result([error_page(datasette, request, exception)])


# ---------------------------------------------------------------- the cookie and the parameters


def _cookie_header(lang: str) -> tuple[bytes, bytes]:
    c = SimpleCookie()
    c[COOKIE] = lang
    c[COOKIE]["path"] = "/"
    c[COOKIE]["max-age"] = 365 * 24 * 3600
    c[COOKIE]["samesite"] = "Lax"
    return b"set-cookie", c[COOKIE].OutputString().encode()


# Canned-query parameters and what a valid value looks like (empty always means "all").
PARAMETER_RULES = {
    "threshold": (re.compile(r"-?\d+(\.\d+)?"), "a number such as 50", "一个数字，例如 50"),
    "fiscal_year": (re.compile(r"\d{4}"), "a year such as 2018", "四位数的年份，例如 2018"),
    "department": (re.compile(r"[a-z0-9]+(-[a-z0-9]+)*"), "a department id such as bazhong-govt-office",
                   "部门编号，例如 bazhong-govt-office"),
}
MAX_PARAMETER = 200


def parameter_problem(name: str, value: str, lang: str) -> str | None:
    """What is wrong with one canned-query parameter, or None."""
    if len(value) > MAX_PARAMETER:
        return (f"参数 {name} 太长（{len(value)} 个字符，最多 {MAX_PARAMETER}）" if lang == "zh"
                else f"Parameter {name} is too long ({len(value)} characters, at most {MAX_PARAMETER})")
    rule = PARAMETER_RULES.get(name)
    if rule is None or value.strip() == "" or rule[0].fullmatch(value.strip()):
        return None
    return (f"参数 {name} 的值 “{value}” 无效：应为{rule[2]}，或留空" if lang == "zh"
            else f"Invalid parameter {name}: “{value}” is not {rule[1]} (or empty)")


def table_page_of(datasette, path: str) -> tuple[str, str] | None:
    """(database, table) when `path` is the page of a table of ours that has a Table Schema, else None."""
    parts = path.strip("/").split("/")
    if len(parts) != 2:
        return None
    database, table = parts[0], re.sub(r"\.(json|csv)$", "", parts[1])
    if database not in our_databases(datasette) or table not in schemas():
        return None
    return database, table


def next_problem(datasette, path: str, args, lang: str) -> str | None:
    """What is wrong with a table page's `_next` token, or None. Datasette ignores a token of the
    wrong length when the page is in primary-key order (a silent first page): its parts must be the
    sort column's value, if the page is sorted, then the primary key's."""
    token = args.get("_next")
    page = table_page_of(datasette, path) if token is not None else None
    if page is None:
        return None
    database, table = page
    schema = schemas()[table]
    meta = (datasette.metadata() or {}).get("databases", {}).get(database, {}).get("tables", {}).get(table, {})
    sorted_by = args.get("_sort") or args.get("_sort_desc") or meta.get("sort") or meta.get("sort_desc")
    expected = len(as_list(schema.get("primaryKey"))) + (1 if sorted_by else 0)
    if len(token.split(",")) == expected:
        return None
    return (f"参数 _next 的值 “{token}” 无效：应为上一页“下一页”链接中的值" if lang == "zh"
            else f"Invalid _next “{token}”: use the value of the previous page's next link")


# The facet parameters (Datasette's facet types); the array facet needs a column of JSON lists.
FACET_PARAMETERS = ("_facet", "_facet_date", "_facet_array")


def facet_column(value: str) -> str | None:
    """The column a facet parameter names: the value itself, or the "column" (else "simple") of a
    JSON object, as Datasette reads it; None when the JSON is not such an object."""
    if not value.startswith("{"):
        return value
    try:
        config = json.loads(value)
    except ValueError:
        return None
    column = config.get("column") or config.get("simple") if isinstance(config, dict) else None
    return column if isinstance(column, str) else None


def facet_problem(datasette, path: str, query_string: str, lang: str) -> str | None:
    """What is wrong with a table page's facet parameters, or None. Datasette answered a facet by a
    column the table lacks with "Invalid SQL", a JSON one it cannot read with a 500, and left its
    other facets' coroutines never awaited (a RuntimeWarning each in the server's log)."""
    page = table_page_of(datasette, path) if "_facet" in query_string else None
    if page is None:
        return None
    fields = fields_of(page[1])
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key not in FACET_PARAMETERS:
            continue
        column = facet_column(value)
        if column not in fields:
            return (f"参数 {key} 的值 “{value}” 无效：表 {page[1]} 没有这一列" if lang == "zh"
                    else f"Invalid {key} “{value}”: table {page[1]} has no such column")
        if key == "_facet_array" and fields[column].get("type") != "array":
            return (f"参数 {key} 无效：{column} 列不是列表（JSON 数组），请用 _facet={column}" if lang == "zh"
                    else f"Invalid {key}: column {column} holds no lists (JSON arrays); use _facet={column}")
    return None


def json_list_of_values(value: str) -> bool:
    """True when `value` is a JSON list of strings and numbers (what an "in" filter may hold)."""
    try:
        values = json.loads(value)
    except ValueError:
        return False
    return isinstance(values, list) and all(isinstance(v, (str, int, float)) for v in values)


def in_filter_problem(datasette, path: str, query_string: str, lang: str) -> str | None:
    """What is wrong with a table page's "in" and "not in" filters, or None. Datasette reads a value
    that starts with "[" as a JSON list and answered 500 when it was none (?category__in=[x)."""
    page = table_page_of(datasette, path) if "in=" in query_string else None
    if page is None:
        return None
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key.endswith(("__in", "__notin")) and value.startswith("[") and not json_list_of_values(value):
            return (f"参数 {key} 的值 “{value}” 无效：应为 JSON 列表（如 [\"a\", \"b\"]），或以逗号分隔的值"
                    if lang == "zh" else
                    f"Invalid {key} “{value}”: write a JSON list such as [\"a\", \"b\"], or values separated by commas")
    return None


def canned_query_of(datasette, path: str) -> str | None:
    parts = path.strip("/").split("/")
    if len(parts) != 2:
        return None
    database, name = parts[0], re.sub(r"\.(json|csv)$", "", parts[1])
    if database not in our_databases(datasette):
        return None
    queries = ((datasette.metadata() or {}).get("databases", {}).get(database, {}).get("queries", {}))
    return name if name in queries else None


# Answers kept in memory: the database is immutable, so a page's answer never changes (the home
# and database pages take ~1 s: Datasette checks every table, FTS shadow tables included). Least
# recently used first out; only 200 answers of at most MAX_CACHED_BODY bytes, CACHE_BYTES in all.
CACHE_BYTES = 64_000_000
MAX_CACHED_BODY = 1_000_000
NOT_CACHED = ("/-/static/", "/-/i18n/", "/charts/", "/-/download")


def cacheable(scope) -> bool:
    path = scope.get("path", "")
    return scope.get("method") == "GET" and not path.startswith(NOT_CACHED)


async def cached(datasette, app, key: tuple, scope, receive, send):
    cache = kept(datasette, "answers")
    if key in cache:
        cache.move_to_end(key)
        start, chunks = cache[key]
        await send(start)
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        return await send({"type": "http.response.body", "body": b""})
    start_event: dict = {}
    body: list[bytes] = []

    async def keep(event):
        if event["type"] == "http.response.start":
            start_event.update(event)
        elif event["type"] == "http.response.body" and event.get("body"):
            body.append(event["body"])
        await send(event)

    await app(scope, receive, keep)
    size = sum(map(len, body))
    if start_event.get("status") == 200 and size <= MAX_CACHED_BODY:
        # Without cookies: each answer from the cache sets its own language cookie.
        start_event["headers"] = [h for h in start_event.get("headers", []) if h[0].lower() != b"set-cookie"]
        sizes = kept(datasette, "answer sizes")
        cache[key], sizes[key] = (start_event, body), size
        while sum(sizes.values()) > CACHE_BYTES:
            oldest, _ = cache.popitem(last=False)
            sizes.pop(oldest, None)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def i18n_app(scope, receive, send):
            if scope.get("type") != "http" or not our_databases(datasette):
                return await app(scope, receive, send)
            from datasette.utils.asgi import Request

            # Outside Datasette's CSRF middleware: templates still ask for a token.
            request = Request({**scope, "csrftoken": lambda: ""}, receive)
            if canned_query_of(datasette, scope.get("path", "")):
                lang = lang_of(request)
                for name, value in parse_qsl(request.query_string, keep_blank_values=True):
                    problem = parameter_problem(name, value, lang)
                    if problem:
                        response = await error_response(datasette, request, 400, problem, localized=True)
                        return await response.asgi_send(send)
            problem = (next_problem(datasette, scope.get("path", ""), request.args, lang_of(request))
                       or facet_problem(datasette, scope.get("path", ""), request.query_string, lang_of(request))
                       or in_filter_problem(datasette, scope.get("path", ""), request.query_string, lang_of(request)))
            if problem:
                response = await error_response(datasette, request, 400, problem, localized=True)
                return await response.asgi_send(send)
            asked = request.args.get("_lang")
            extra = [_cookie_header(asked)] if asked in LANGS else []

            async def send_with_cookie(event):
                if event["type"] == "http.response.start" and extra:
                    event = {**event, "headers": [*event.get("headers", []), *extra]}
                await send(event)

            if cacheable(scope):
                # the host too: Datasette writes absolute links (facets, pagination) with it
                key = (scope["path"], scope.get("query_string", b""), lang_of(request), request.host)
                return await cached(datasette, app, key, scope, receive, send_with_cookie)
            return await app(scope, receive, send_with_cookie)

        return i18n_app

    return wrap


def as_json(value) -> str:
    return json.dumps(value, ensure_ascii=False)
