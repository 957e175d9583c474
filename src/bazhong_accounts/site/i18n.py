"""The site's two languages: Chinese by default, English with `?_lang=en` (remembered in a cookie).

Datasette 0.65 has no translation machinery, so the templates in site/templates call `_("English
text")`, which this module answers from one table (ZH). Column headers come from the Table Schema
titles ("中文 / English"), codes from CODE_LABELS. Error pages are rendered here too, so that no
error answers 500 from inside Datasette's own handler, and always in the visitor's language.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from ..model.descriptor import package_dir, read_descriptor, read_schema
from ..model import roles

LANGS = ("zh", "en")
COOKIE = "bazhong_lang"
# Text cells longer than this are shortened on table pages, with a way to expand.
SHORT_TEXT = 60

# English interface text -> Chinese. Keys are the English strings the templates pass to _().
ZH = {
    # shell
    "中文": "中文", "English": "English", "Switch language": "切换语言",
    "Search every table": "搜索全部数据表", "Search": "搜索", "home": "首页",
    "Powered by": "技术支持", "Queries took {ms} ms": "查询耗时 {ms} 毫秒",
    "Data license:": "数据许可：", "Data source:": "数据来源：", "About:": "关于：",
    "Menu": "菜单", "Charts": "图表", "All tables": "全部数据表", "Archived source text": "原文存档",
    "Canned queries": "常用查询", "Questions": "常用问题",
    "Amounts are in 万元 (10,000 yuan), exactly as printed; sums add them as decimals. "
    "Each row carries the verbatim quote of the report it comes from.":
        "金额单位为万元，与原报告印刷的数字完全一致；求和按十进制精确相加。每一行都附有其出处的报告原文。",
    "Machine-extracted rows are drafts until a person confirms them.": "机器提取的行在人工核对之前只是草稿。",
    # home / database
    "{n} rows in {t} tables": "{t} 个数据表，共 {n} 行", "Tables": "数据表", "Queries": "查询",
    "Custom SQL query": "自定义 SQL 查询", "Run SQL": "运行 SQL", "Format SQL": "格式化 SQL",
    "{n} rows": "{n} 行", "Many rows": "行数很多", "Download SQLite DB:": "下载 SQLite 数据库：",
    "hidden": "隐藏", "Columns": "列",
    # table
    "Search this table:": "在本表中搜索：", "Apply": "应用", "- remove filter -": "- 删除条件 -",
    "- column -": "- 选择列 -", "Sort...": "排序…", "Sort by {c}": "按 {c} 排序", "descending": "降序",
    "where": "条件：", "and": "并且", "sorted by {c}": "按 {c} 排序", "sorted by {c} descending": "按 {c} 降序排列",
    "search for “{q}”": "搜索“{q}”", "Next page": "下一页", "0 records": "没有记录",
    "View and edit SQL": "查看并编辑 SQL", "This data as": "数据格式：",
    "Download:": "下载：", "CSV for Excel": "CSV（Excel 用）", "CSV": "CSV", "Excel (xlsx)": "Excel（xlsx）",
    "Chinese headers": "中文表头", "Advanced export": "高级导出", "JSON shape:": "JSON 格式：",
    "default": "默认", "array": "数组", "newline-delimited": "逐行", "object": "对象",
    "CSV options:": "CSV 选项：", "download file": "下载文件", "expand labels": "展开标签",
    "stream all rows": "导出全部行", "Export CSV": "导出 CSV", "These facets timed out:": "这些分面统计超时：",
    "Suggested facets:": "推荐分面：", "Column descriptions": "列说明", "Table definition (SQL)": "表定义（SQL）",
    "show all": "展开全文", "Table actions": "表操作", "extra where clauses": "附加 where 条件", "remove": "删除",
    # filter operators (Datasette's display names)
    "=": "等于", "!=": "不等于", "contains": "包含", "ends with": "结尾是", "starts with": "开头是",
    ">": "大于", "\u2265": "大于等于", "<": "小于", "\u2264": "小于等于", "like": "like", "not like": "not like",
    "glob": "glob", "in": "属于", "not in": "不属于", "array contains": "数组包含",
    "array does not contain": "数组不包含", "date": "日期是", "is null": "为空（null）", "is not null": "不为空（null）",
    "is blank": "为空", "is not blank": "不为空", "does not contain": "不包含",
    # row
    "Links from other tables": "其他表中引用此行的记录", "{n} rows from {c} in {t}": "{t} 中 {c} 指向此行的 {n} 行",
    "Row": "行", "Link": "链接", "rowid": "行号",
    # query
    "Query parameters": "查询参数", "returning {n} rows": "返回 {n} 行", "returning more than {n} rows": "返回超过 {n} 行",
    "0 results": "没有结果", "SQL of this question": "这个问题的 SQL", "Edit SQL": "编辑 SQL",
    "Answer": "结果", "hide": "隐藏", "show": "显示",
    "This query cannot be executed because the database is immutable.": "数据库只读，不能执行这个查询。",
    # errors
    "Error {status}": "错误 {status}", "Back to the home page": "返回首页", "Go back": "返回上一页",
    "Edit the query and run it again:": "修改查询后重新运行：",
    "Technical detail": "技术细节", "Invalid SQL": "SQL 无效", "SQL Interrupted": "查询被中止",
    # search
    "Search results": "搜索结果", "{n} hits for “{q}”": "“{q}”共 {n} 条结果",
    "more than {n} hits for “{q}”: the first {n}": "“{q}”超过 {n} 条结果，只显示前 {n} 条",
    "No hits for “{q}”.": "没有找到“{q}”。", "Table": "数据表", "Row key": "行", "Matched column": "匹配的列",
    "Text": "内容", "in table": "限定数据表", "Type a word, e.g. 三公, 接待 or 电子政务云.": "输入词语，例如 三公、接待、电子政务云。",
    # charts
    "The figures of the report (图1–图7), redrawn from the data at build time. Every value printed on a chart "
    "is the exact figure of the data tables (万元, 10,000 yuan); 2017 values are the printed prior-year amounts "
    "or the 2018 amount minus the printed change.":
        "报告中的图1–图7，由数据在构建时重新绘制。图上每个数值都与数据表中的数字完全一致（单位：万元）；2017 年的数值是报告印刷的"
        "上年数，或 2018 年数减去印刷的增减额。",
    "The charts were not built. Install a CJK font (sudo apt-get install fonts-noto-cjk) and run make build.":
        "图表尚未生成。请安装中文字体（sudo apt-get install fonts-noto-cjk）后运行 make build。",
    "data:": "数据：",
}

# Messages of Datasette's exceptions -> Chinese (regex, template); the original stays beside it.
ERRORS_ZH = [
    (r"Table not found: (.*)", "找不到数据表：{0}"),
    (r"Database not found: (.*)", "找不到数据库：{0}"),
    (r"Record not found: (.*)", "找不到这一行：{0}"),
    (r"Row not found: (.*)", "找不到这一行：{0}"),
    (r"Cannot sort table by (.*)", "不能按 {0} 排序：没有这一列，或这一列不能排序。"),
    (r"Cannot use _sort and _sort_desc at the same time", "不能同时使用 _sort 和 _sort_desc。"),
    (r"Statement must be a SELECT", "只能运行 SELECT 查询（以 select 或 with 开头）。"),
    (r"SQL query took too long.*", "查询时间过长，已被中止。请缩小范围（例如指定年份或部门）。"),
    (r"404|Not found|Page not found", "找不到这个页面。"),
    (r"(?:near|no such|incomplete input|unrecognized token).*", "SQL 有错误：{0}"),
    (r"Invalid parameter (.*)", "参数无效：{0}"),
]


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


def column_title(table: str | None, column: str, lang: str) -> str:
    fields = {f["name"]: f for f in schemas().get(table or "", {}).get("fields", [])}
    title = fields[column].get("title") if column in fields else any_table_titles().get(column)
    if title is None and column in ("Link", "rowid"):  # columns Datasette adds
        return text(lang, column)
    return bilingual(title, lang) if title else column


# Chinese labels of the codes the data uses (enum values and breakdowns), shown beside the code.
CODE_LABELS = {
    "work_output": "工作产出", "staffing": "人员编制", "organisation": "机构", "performance": "绩效",
    "operating_costs": "机关运行经费", "procurement": "政府采购", "assets": "资产", "project_finance": "项目资金",
    "chart": "图表", "exact": "精确", "more_than": "多于", "at_least": "至少",
    "amount_printed_twice": "同一金额印了两次", "text_table_mismatch": "正文与表格不一致", "rate_mismatch": "比率不一致",
    "cell_repeats_budget": "单元格重复预算数", "count_mismatch": "数量不一致", "share_rounding": "占比舍入",
    "parts_sum": "分项之和", "share": "占比", "completion_rate": "完成率", "fiscal_plus_other": "财政拨款加其他",
    "none": "无", "department": "部门", "section_group": "科室组", "section": "科室",
    "administrative_body": "行政机构", "party_committee": "党组织", "public_institution": "事业单位",
    "by_category": "按类别", "by_source": "按来源", "by_type": "按类型", "by_economic_class": "按经济分类",
}


@lru_cache(maxsize=1)
def coded_columns() -> frozenset[str]:
    """Columns whose values are codes: the categories of the schemas that are not Chinese text."""
    return frozenset(c for s in schemas().values() for c in roles.with_role(s, "category")
                     if not c.endswith(("_zh", "_en")))


def code_label(column: str, value, lang: str):
    if lang == "zh" and column in coded_columns() and isinstance(value, str) and value in CODE_LABELS:
        return Markup(f'{escape(CODE_LABELS[value])} <small class="code">{escape(value)}</small>')
    return None


def number_text(value) -> str:
    """A number as the report prints it: 91 not 91.0 (REAL columns), else its shortest form."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def cell_html(column: str, cell: dict, lang: str):
    """A table-page cell: codes labelled, numbers as printed, long text shortened with a way to expand."""
    raw = cell.get("raw")
    label = code_label(column, raw, lang)
    if label is not None:
        return label
    if isinstance(raw, float):
        return number_text(raw)
    if isinstance(raw, str) and len(raw) > SHORT_TEXT and not cell.get("is_special_link_column"):
        short = escape(raw[:SHORT_TEXT]) + "…"
        return Markup(f'<details class="long-text"><summary>{short}<span class="more">{escape(text(lang, "show all"))}'
                      f'</span></summary>{escape(raw)}</details>')
    return cell["value"]


# Table pages put what a reader looks for first: the row's link, its label and figures; the
# provenance (quotes, derivation) last.
ROLE_ORDER = {"label": 1, "figure": 2, "text": 3, "category": 4, "scope": 5, "identifier": 6, "ordinal": 6,
              "attribute": 7, "provenance": 8}


def column_order(table: str | None, columns: list[str]) -> list[int]:
    """Positions of `columns` in reading order (stable within a role); Datasette's Link column first."""
    fields = {f["name"]: f for f in schemas().get(table or "", {}).get("fields", [])}
    if not fields:
        return list(range(len(columns)))
    label = roles.row_label(schemas()[table])

    def rank(i: int) -> tuple:
        f = fields.get(columns[i])
        if f is None:
            return (0, i)
        return (0 if columns[i] == label else ROLE_ORDER.get(f.get("role"), 7), i)

    return sorted(range(len(columns)), key=rank)


# ---------------------------------------------------------------- describing a filtered table


def describe(lang: str, table: str, filters, search: str, sort: str | None, sort_desc: str | None, english: str) -> str:
    """Datasette's "where … sorted by …" in the visitor's language."""
    if lang != "zh":
        return english or ""
    bits = []
    if search:
        bits.append(text(lang, "search for “{q}”", q=search))
    ops = {k: d for k, d, _ in filters.lookups()}
    for column, lookup, value in filters.selections():
        op = text(lang, ops.get(lookup, lookup))
        bits.append(f"{column_title(table, column, lang)} {op} {value}".strip())
    out = (text(lang, "where") + "，".join(bits)) if bits else ""
    if sort or sort_desc:
        key = "sorted by {c} descending" if sort_desc else "sorted by {c}"
        out = "，".join(b for b in (out, text(lang, key, c=column_title(table, sort or sort_desc, lang))) if b)
    return out


# ---------------------------------------------------------------- canned queries and tables in Chinese

QUERY_DESCRIPTIONS_ZH = {
    "budget_deviation": "预算执行与预算相差较大的每一行：有预算数和决算数的，比较两个金额（决算数大于预算数即为超预算），"
    "并列出报告印刷的完成率；只有完成率的，列出高于 100% 或低于 :threshold%（默认 50）的行。金额单位万元。"
    "可选 :fiscal_year（例如 2018）和 :department（部门编号）缩小范围。",
    "project_execution": "每个项目的预算数、执行数、按执行数/预算数计算的执行率和报告印刷的执行率，按印刷的执行率从高到低。金额单位万元。",
    "three_public_vs_prior": "“三公”经费每一行：2018 年金额、比 2017 年增减、由 金额 − 增减 推算出的 2017 年金额（推算值）和印刷的增减率。单位万元。",
    "expenditure_tree": "一份报告的一般公共预算支出，按功能分类的 类 / 款 / 项 逐级展开并缩进。金额单位万元。",
    "all_errata": "原报告中的每一处不一致：数据包采用的值、另一个值、两处原文和原因。",
    "figures_by_section": "一份报告中来源章节包含 :section（例如 三公 或 第三部分）的每一个数字，以及它所在的原文。",
    "search_like": "在全部数据表的名称、原因、目标、名词解释和原文中查找 :q（两个字也可以）。",
    "search_fulltext": "全文搜索（三个字以上）：在全部数据表中查找短语 :q。",
}

PARAMETER_LABELS = {
    "fiscal_year": ("财政年度", "Fiscal year"), "department": ("部门编号", "Department id"),
    "threshold": ("低于此完成率（%）", "Threshold (%)"), "q": ("搜索词", "Word"), "section": ("章节包含", "Section contains"),
}


def parameter_label(name: str, lang: str) -> str:
    pair = PARAMETER_LABELS.get(name)
    return (pair[0] if lang == "zh" else pair[1]) if pair else name


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


TABLE_DESCRIPTIONS_ZH = {
    "departments": "数据包收录其报告的部门。", "sources": "存档的原始文件及其校验和。",
    "income": "按来源分列的收入、合计及与上年的比较。", "expenditure_by_type": "基本支出与项目支出、人员经费与公用经费、按资金来源的合计。",
    "expenditure_by_function": "一般公共预算财政拨款支出，按功能分类的 类 / 款 / 项。",
    "classification": "数据使用的政府收支分类科目编码。",
    "three_public_expenses": "因公出国（境）费、公务用车购置及运行维护费、公务接待费：金额、占比、预算完成率、与上年比较。",
    "three_public_expenses_counts": "出国团组和人次、车辆数、接待批次和人次。", "overseas_trips": "报告列出的每一个因公出国（境）团组。",
    "projects": "有绩效报告的项目：预算、执行、目标。", "project_kpis": "每张项目支出绩效目标完成情况表的各行，空单元格保留。",
    "indicators": "报告中其他所有数字（长表）：工作产出、人员、绩效、运行经费、资产等。", "organisation": "部门的内设机构和下属单位。",
    "events": "报告引用的有日期的决定和事项。", "glossary": "第三部分 名词解释 中的名词。",
    "errata": "原报告的每一处不一致、涉及的数值以及数据包采用的值。",
}


def table_description(name: str, lang: str) -> str:
    if lang == "zh" and name in TABLE_DESCRIPTIONS_ZH:
        return TABLE_DESCRIPTIONS_ZH[name]
    return resources().get(name, {}).get("description", "")


HOME_INTRO_ZH = ("巴中市人民政府办公室 2018 年部门决算中的每一个数字，整理成有类型、注明出处的数据表。金额单位为万元，与原报告一致。")


async def home_info(datasette, lang: str) -> dict:
    """The home page: intro, the questions and the tables of our databases (row counts are cached by
    Datasette for immutable databases)."""
    dp = read_descriptor(package_dir())
    src = (dp.get("sources") or [{}])[0]
    out = {"intro": HOME_INTRO_ZH if lang == "zh" else dp.get("description", ""),
           "archive": f"/archive/{src['path'].rsplit('/', 1)[-1]}" if src.get("path") else None, "databases": []}
    meta = (datasette.metadata() or {}).get("databases", {})
    for name in sorted(our_databases(datasette)):
        counts = await datasette.databases[name].table_counts(limit=100)
        tables = [{"name": t, "title": table_title(t), "count": counts.get(t) or 0,
                   "description": table_description(t, lang)} for t in resources() if t in counts]
        queries = [{"name": q, **v} for q, v in meta.get(name, {}).get("queries", {}).items()]
        out["databases"].append({"name": name, "tables": tables, "queries": queries,
                                 "rows": sum(t["count"] for t in tables)})
    return out


def code_text(column: str, value, label, lang: str):
    shown = code_label(column, value, lang) or label
    return "-" if shown is None or shown == "" else shown


def facets_shown(table: str | None, results: list, request) -> list:
    """Facets on columns people filter by (roles.facets()) and those the visitor asked for."""
    schema = schemas().get(table or "")
    if schema is None:
        return results
    wanted = set(roles.facets(schema)) | set(request.args.getlist("_facet") if request is not None else [])
    return [f for f in results if f["name"] in wanted]


def download_url(request, fmt: str, headers: str | None = None) -> str:
    """The download of what this page shows (same filters, sort and parameters), in `fmt`."""
    if request is None:
        return "#"
    args = [(k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True)
            if k not in ("_next", "_lang", "_size")]
    args = [("path", request.path.rsplit(".", 1)[0] if request.path.endswith((".json", ".csv")) else request.path)] + args
    if headers:
        args.append(("_headers", headers))
    return f"/-/download.{fmt}?" + urlencode(args)


def template_vars(request, table: str | None) -> dict:
    lang = lang_of(request)
    return {
        "_": lambda s, **kw: text(lang, s, **kw),
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "lang_url": lambda other: url_with_lang(request, other),
        "half": lambda title: bilingual(title, lang),
        "column_title": lambda column, t=None: column_title(t or table, column, lang),
        "cell_html": lambda column, cell: cell_html(column, cell, lang),
        "describe": lambda *a: describe(lang, table, *a),
        "parameter_label": lambda name: parameter_label(name, lang),
        "query_description": lambda name, english: query_description(name, english, lang),
        "number_text": number_text,
        "column_order": lambda columns: column_order(table, [getattr(c, "get", lambda k: c)("name") for c in columns]),
        "translate_error": lambda message: translate_error(lang, str(message)),
        "table_title": table_title,
        "table_description": lambda name: table_description(name, lang),
        "code_text": lambda column, value, label: code_text(column, value, label, lang),
        "facets_shown": lambda results: facets_shown(table, results, request),
        "download_url": lambda fmt, headers=None: download_url(request, fmt, headers),
        "site_search_q": request.args.get("q") if request is not None and request.path.startswith("/-/search") else "",
    }


@hookimpl
def extra_template_vars(template, database, table, request, datasette):
    async def inner():
        out = template_vars(request, table)
        if template in ("index.html", "database.html"):
            out["home"] = await home_info(datasette, out["lang"])
        return out

    return inner


@hookimpl
def render_cell(value, column, table, database, datasette):
    """Numbers as printed (91, not 91.0) in query results too; only in our databases."""
    if isinstance(value, float) and database in our_databases(datasette):
        return number_text(value)
    return None


def our_databases(datasette) -> set[str]:
    """The databases the site's metadata describes (the plugin leaves any other one alone)."""
    return set((datasette.metadata() or {}).get("databases", {})) & set(datasette.databases)


# ---------------------------------------------------------------- the JavaScript of table pages


@lru_cache(maxsize=2)
def table_js(lang: str) -> str:
    """Datasette's table.js with its menu text in `lang`."""
    import datasette

    from pathlib import Path

    js = (Path(datasette.__file__).parent / "static" / "table.js").read_text(encoding="utf-8")
    if lang == "zh":
        for en, zh in JS_ZH.items():
            js = js.replace(en, zh)
    return js


JS_ZH = {
    ">Sort ascending<": ">升序排列<", ">Sort descending<": ">降序排列<", ">Facet by this<": ">按此列分面<",
    ">Hide this column<": ">隐藏此列<", ">Show all columns<": ">显示全部列<", ">Show not-blank rows<": ">只显示非空行<",
    '"Remove this filter"': '"删除此条件"', "Type: ": "类型：", "Null": "空值", "Distinct values": "不同取值",
    "Column actions": "列操作",
}


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


def canned_query_of(datasette, path: str) -> str | None:
    parts = path.strip("/").split("/")
    if len(parts) != 2:
        return None
    database, name = parts[0], re.sub(r"\.(json|csv)$", "", parts[1])
    if database not in our_databases(datasette):
        return None
    queries = ((datasette.metadata() or {}).get("databases", {}).get(database, {}).get("queries", {}))
    return name if name in queries else None


# The home and database pages: Datasette checks every table (the FTS shadow tables too) on each
# request, ~1 s. The database is immutable, so their answer never changes: keep it.
PAGE_CACHE: dict[tuple, tuple[dict, list[bytes]]] = {}
PAGE_CACHE_SIZE = 64


def cacheable(datasette, path: str) -> bool:
    return path == "/" or path.strip("/") in our_databases(datasette)


async def cached(app, key: tuple, scope, receive, send):
    if key in PAGE_CACHE:
        start, body = PAGE_CACHE[key]
        await send(start)
        for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        return await send({"type": "http.response.body", "body": b""})
    start_event, body = {}, []

    async def keep(event):
        if event["type"] == "http.response.start":
            start_event.update(event)
        elif event["type"] == "http.response.body" and event.get("body"):
            body.append(event["body"])
        await send(event)

    await app(scope, receive, keep)
    if start_event.get("status") == 200 and len(PAGE_CACHE) < PAGE_CACHE_SIZE:
        # Without the language cookie: each answer from the cache sets its own.
        start_event["headers"] = [h for h in start_event.get("headers", []) if h[0].lower() != b"set-cookie"]
        PAGE_CACHE[key] = (start_event, body)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def i18n_app(scope, receive, send):
            if scope.get("type") != "http":
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
            asked = request.args.get("_lang")
            extra = [_cookie_header(asked)] if asked in LANGS else []

            async def send_with_cookie(event):
                if event["type"] == "http.response.start" and extra:
                    event = {**event, "headers": [*event.get("headers", []), *extra]}
                await send(event)

            if (scope.get("method") == "GET" and cacheable(datasette, scope.get("path", ""))
                    and set(request.args) <= {"_lang"}):  # not `?sql=`: a query is not the same page
                key = (scope["path"], lang_of(request))
                return await cached(app, key, scope, receive, send_with_cookie)
            return await app(scope, receive, send_with_cookie)

        return i18n_app

    return wrap


def as_json(value) -> str:
    return json.dumps(value, ensure_ascii=False)
