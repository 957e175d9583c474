"""The site for Chinese readers, in process: Chinese by default and English with ?_lang=en on every
page type, Chinese column headers, errors that answer 4xx in the visitor's language (never 500), the
one search box, the over-budget question and the downloads. Expected values come from the CSVs and
the Table Schemas."""

from __future__ import annotations

import asyncio
import csv
import gc
import html
import io
import json
import re
import unicodedata
from decimal import Decimal
from urllib.parse import quote

import pytest
from site_support import ROOT, csv_rows, resources

# Datasette's English interface text, as it shows on its pages.
ENGLISH = ["Report card", "Comparison", "Next page", "Advanced export",
           "rows where", "Custom SQL query", "Query parameters", "Powered by",
           "Run SQL", "This data as", "Search:", "Data license", "Data source", "Queries took", "Apply",
           "sorted by", "Format SQL", "0 records", "Error 404", "Links from other tables", "Table actions",
           "a figure of the package", "figures located"]

# Each page type, and the English strings it shows with ?_lang=en.
PAGES = {
    "home": ("/", ["Powered by", "Data license", "Data source"]),
    "database": ("/bazhong", ["Custom SQL query", "Run SQL", "Powered by"]),
    "table": ("/bazhong/indicators?category=work_output&_size=5&_sort=metric_id",
              ["Next page", "Advanced export", "rows where", "sorted by", "Apply", "Powered by"]),
    "row": ("/bazhong/departments/bazhong-govt-office", ["Links from other tables", "This data as"]),
    "query": ("/bazhong?sql=" + quote("select item_id, amount from income"),
              ["Custom SQL query", "Run SQL", "Format SQL"]),
    "canned query": ("/bazhong/budget_deviation", ["Query parameters", "Run SQL", "Powered by"]),
    "charts": ("/charts", ["Powered by"]),
    "report card": ("/-/report/bazhong-govt-office/2018", ["Powered by", "Report card"]),
    "comparison": ("/-/compare/bazhong-govt-office/2018/bazhong-govt-office/2018", ["Powered by", "Comparison"]),
    "search": ("/-/search?q=" + quote("三公"), ["Powered by"]),
    "annotated report": ("/report/bazhong-govt-office-2018-final-accounts",
                         ["a figure of the package", "figures located"]),
    "error": ("/a/b/c/d/e/f", ["Error 404", "Powered by"]),
}


@pytest.fixture(scope="module")
def ds(site_ds):
    return site_ds


def get(ds, path: str, **kw):
    return asyncio.run(ds.client.get(path, **kw))


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles or tags, but the buttons' text."""
    buttons = " ".join(re.findall(r'<input type="submit" value="([^"]*)"', page))
    page = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))) + " " + buttons


def schema_of(name: str) -> dict:
    return next(r["schema"] for r in resources() if r["name"] == name)


# ---------------------------------------------------------------- two languages


@pytest.mark.parametrize("kind", PAGES)
def test_every_page_type_is_chinese_by_default_and_english_on_request(ds, kind):
    path, english = PAGES[kind]
    zh = get(ds, path)
    assert zh.status_code in (200, 404) and '<html lang="zh-CN">' in zh.text, kind
    shown = [s for s in ENGLISH if s in visible_text(zh.text)]
    assert shown == [], f"{kind}: English interface text in Chinese mode: {shown}"
    assert re.search(r"[\u4e00-\u9fff]", visible_text(zh.text))
    en = get(ds, path + ("&" if "?" in path else "?") + "_lang=en")
    assert en.status_code == zh.status_code and '<html lang="en">' in en.text
    missing = [s for s in english if s not in visible_text(en.text)]
    assert missing == [], f"{kind}: missing with ?_lang=en: {missing}"


def test_english_pages_punctuate_in_english(ds):
    """The database page's column lists were joined with 、, an error's title followed ： and "derived"
    stood in （） on English pages; the home page's example words were 三公、接待、电子政务云 in either
    language."""
    columns = [f["title"].split(" / ")[1] for f in schema_of("income")["fields"]]
    en = visible_text(get(ds, "/bazhong?_lang=en").text)
    assert "Columns: " + ", ".join(columns) in en
    zh = visible_text(get(ds, "/bazhong").text)
    assert "列：" + "、".join(f["title"].split(" / ")[0] for f in schema_of("income")["fields"]) in zh
    assert "Error 400: Invalid SQL" in visible_text(get(ds, "/bazhong?sql=selec+1&_lang=en").text)
    assert "错误 400：SQL 无效" in visible_text(get(ds, "/bazhong?sql=selec+1").text)
    assert 'placeholder="e.g. 三公, 接待, reception"' in get(ds, "/?_lang=en").text
    assert 'placeholder="三公、接待、电子政务云"' in get(ds, "/").text
    comparison = PAGES["comparison"][0]
    assert "B − A (derived)" in visible_text(get(ds, comparison + "?_lang=en").text)
    assert "B − A （推算）" in visible_text(get(ds, comparison).text)


def test_one_row_is_one_row_not_one_rows(ds):
    """The sources table's heading read "1 rows sorted by source_id"."""
    total = next(r for r in csv_rows("income") if r["item_id"] == "total")
    one = f"/bazhong/income?fiscal_year={total['fiscal_year']}&department={total['department']}&item_id=total"
    shown = visible_text(get(ds, one + "&_lang=en").text)
    assert re.search(r"(?<![\d,])1 row\b", shown) and not re.search(r"(?<![\d,])1 rows", shown)
    assert "1 行" in visible_text(get(ds, one).text)
    n = len(csv_rows("income"))
    assert f"{n:,} rows" in visible_text(get(ds, "/bazhong/income?_lang=en").text)


def test_the_switch_links_the_other_language_and_the_cookie_remembers_it(ds):
    page = get(ds, "/bazhong/income").text
    assert 'class="lang-switch" href="/bazhong/income?_lang=en"' in page
    en = get(ds, "/bazhong/income?_lang=en")
    assert "bazhong_lang=en" in en.headers["set-cookie"] and "Path=/" in en.headers["set-cookie"]
    again = get(ds, "/bazhong/income", cookies={"bazhong_lang": "en"})
    assert '<html lang="en">' in again.text and "Powered by" in again.text
    back = get(ds, "/bazhong/income?_lang=zh", cookies={"bazhong_lang": "en"})
    assert '<html lang="zh-CN">' in back.text and "bazhong_lang=zh" in back.headers["set-cookie"]
    assert '<html lang="zh-CN">' in get(ds, "/bazhong/income", cookies={"bazhong_lang": "xx"}).text


def test_column_headers_show_the_chinese_title_with_the_field_name_beside(ds):
    page = get(ds, "/bazhong/three_public_expenses").text
    heads = re.findall(r'<th [^>]*data-column="([^"]+)"[^>]*>(.*?)</th>', page, flags=re.S)
    assert heads
    titles = {f["name"]: f["title"].split(" / ")[0] for f in schema_of("three_public_expenses")["fields"]}
    titles["Link"] = "链接"  # Datasette's link to each row
    for name, cell in heads:
        text = visible_text(cell)
        assert titles[name] in text and name in text, (name, text)
    en = get(ds, "/bazhong/three_public_expenses?_lang=en").text
    fields = schema_of("three_public_expenses")["fields"]
    amount = next(f["title"].split(" / ")[1] for f in fields if f["name"] == "amount")
    assert amount in visible_text(en)


def test_codes_show_their_chinese_label_and_numbers_show_as_printed(ds):
    page = visible_text(get(ds, "/bazhong/indicators?category=work_output&_size=5").text)
    assert "工作产出 work_output" in page
    rows = [r for r in csv_rows("projects") if r["budget"] == r["budget"].to_integral_value()]
    page = get(ds, "/bazhong/projects").text
    assert rows and all(f">{r['budget'].normalize():f}<" in page for r in rows)
    assert not re.search(r">\d+\.0<", page)


def test_every_code_a_schema_allows_has_a_chinese_label():
    # a Chinese page shows a code without a label as the bare English code (errata's
    # balance_does_not_chain, every non_figures reason did): the schemas' enums are the codes
    labels = json.loads((ROOT / "src/bazhong_accounts/site/i18n_zh.json").read_text(encoding="utf-8"))["codes"]
    unlabelled = [f"{path.name} {field['name']}: {code}"
                  for path in sorted((ROOT / "schemas").glob("*.json"))
                  for field in json.loads(path.read_text(encoding="utf-8"))["fields"]
                  for code in field.get("constraints", {}).get("enum", [])
                  if isinstance(code, str) and code not in labels]
    assert not unlabelled, unlabelled


def test_every_table_has_a_chinese_description():
    # a Chinese page showed figure_sources' and non_figures' English description
    tables = json.loads((ROOT / "src/bazhong_accounts/site/i18n_zh.json").read_text(encoding="utf-8"))["tables"]
    assert [r["name"] for r in resources() if r["name"] not in tables] == []


def test_shortened_quotes_keep_their_link_to_the_annotated_report(ds):
    page = get(ds, "/bazhong/three_public_expenses").text
    quotes = [r["source_quote"] for r in csv_rows("three_public_expenses") if len(r["source_quote"]) > 60]
    assert quotes and all(html.escape(q, quote=False) in page for q in quotes)  # whole, behind "展开全文"
    links = re.findall(r'</details> <a class="to-report" href="/report/[^"]+">→ 原文</a>', page)
    assert len(links) == len(quotes)


def test_a_row_page_shows_its_long_texts_whole(ds):
    """A row page shortened its quote behind "show all" as a table page does; its reader came for it."""
    row = next(r for r in csv_rows("three_public_expenses") if len(r["source_quote"]) > 60)
    for lang in ("zh", "en"):
        key = f"{row['fiscal_year']},{row['department']},{row['item_id']}"
        page = get(ds, f"/bazhong/three_public_expenses/{key}?_lang={lang}").text
        cell = re.search(r'<td class="col-source_quote[^"]*"[^>]*>(.*?)</td>', page, re.S).group(1)
        assert cell.startswith(html.escape(row["source_quote"], quote=False)) and "<details" not in cell, cell[:300]
    table = get(ds, "/bazhong/three_public_expenses").text
    assert '<details class="long-text">' in table


# ---------------------------------------------------------------- no 500s

BAD = [
    "/a/b/c/d/e/f", "/bazhong/three_public_expenses/a/b/c", "/bazhong/three_public_expenses?_sort=nosuchcol",
    "/bazhong/three_public_expenses?_sort_desc=nosuchcol", "/bazhong/budget_deviation?threshold=abc",
    "/bazhong/budget_deviation.json?threshold=abc", "/bazhong/budget_deviation?fiscal_year=20x8",
    "/bazhong/search_like?q=" + "长" * 1000, "/bazhong?sql=selec+1", "/bazhong?sql=" + quote("select * from nosuch"),
    "/bazhong/nosuch", "/nosuch", "/bazhong/income/2018,nosuch,nosuch",
    "/bazhong/income/2018%2Cbazhong-govt-office%2Ctotal",  # a key's commas sent encoded: was a 500
    "/bazhong/income?_sort=amount&_sort_desc=amount",
    "/-/search?q=", "/-/search?q=" + "三" * 1000, "/-/search?q=%25", "/-/search?q=_", "/-/search?q=%22",
    "/-/search?q='", "/-/search.json?q=", "/-/search?q=x&table=nosuch", "/-/search?q=x&_size=abc",
    "/-/download.csv?path=/etc/passwd", "/-/download.xlsx", "/bazhong/income.json?_sort=nosuchcol",
    "/bazhong/income?_size=abc", "/bazhong/income?_next=garbage", "/bazhong/income?_facet=nosuch",
    "/bazhong/income?_col=nosuch", "/bazhong/income?_where=nosuch=1", "/bazhong/income?_search=%22",
    "/bazhong/income?_facet_date=x", "/bazhong?sql=select+'", "/-/report/nosuch/2018",
    "/-/download.csv?path=/bazhong/income&_sort=nosuch",
    "/bazhong/income?_facet=%7Bx", "/bazhong/income?_facet_array=name_zh",  # a 500, and "Invalid SQL: malformed JSON"
]


@pytest.mark.parametrize("path", BAD)
def test_bad_requests_answer_4xx_in_the_visitors_language(ds, path):
    r = get(ds, path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
    if path.split("?")[0].endswith(".json"):
        assert r.json()["ok"] is False and re.search(r"[\u4e00-\u9fff]", r.json()["error"])
    else:
        assert '<html lang="zh-CN">' in r.text and "Traceback" not in r.text
        assert 'href="/"' in r.text  # a way back
    en = get(ds, path + ("&" if "?" in path else "?") + "_lang=en")
    assert en.status_code == r.status_code


def test_a_bad_parameter_is_refused_not_read_as_zero(ds):
    r = get(ds, "/bazhong/budget_deviation?threshold=abc")
    assert r.status_code == 400 and "threshold" in visible_text(r.text) and "abc" in visible_text(r.text)
    assert get(ds, "/bazhong/budget_deviation?threshold=80").status_code == 200
    assert get(ds, "/bazhong/budget_deviation?threshold=").status_code == 200


# Datasette ran a facet the table cannot have, answered "Invalid SQL" (or a 500 for JSON it could not
# read), and left its other facets' coroutines never awaited: "RuntimeWarning: coroutine
# 'ArrayFacet.facet_results' was never awaited": an error here (raised where the coroutine is
# collected, it reaches pytest as an unraisable exception, an error too).
@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("query, said", [
    ("_facet=nosuch", "Invalid _facet “nosuch”: table income has no such column"),
    ("_facet_date=x", "Invalid _facet_date “x”: table income has no such column"),
    ("_facet=amount&_facet=%7B%22column%22%3A%22nosuch%22%7D", "table income has no such column"),
    ("_facet=%7Bx", "Invalid _facet “{x”"),
    ("_facet_array=name_zh", "column name_zh holds no lists (JSON arrays); use _facet=name_zh"),
])
def test_a_facet_the_table_cannot_have_is_refused_naming_the_parameter(ds, query, said):
    r, zh = get(ds, f"/bazhong/income?{query}&_lang=en"), get(ds, f"/bazhong/income?{query}")
    gc.collect()  # an abandoned coroutine warns when it is collected
    assert r.status_code == 400 and said in visible_text(r.text), (r.status_code, visible_text(r.text)[:300])
    assert zh.status_code == 400 and "无效" in visible_text(zh.text)


def test_facets_the_table_can_have_still_answer(ds):
    for query in ("_facet=amount", "_facet=%7B%22column%22%3A%22name_zh%22%7D", "_facet_date=name_zh",
                  "_facet_size=max"):
        assert get(ds, f"/bazhong/income?{query}&_lang=en").status_code == 200, query


@pytest.mark.parametrize("query", ["item_id__in=[x", "item_id__notin=%5B%7B%7D%5D"])
def test_an_in_filter_that_is_no_json_list_is_refused_naming_it(ds, query):
    """Datasette reads an "in" value starting with "[" as a JSON list: "[x" was a 500 (JSONDecodeError)."""
    key, value = query.split("=")
    r, zh = get(ds, f"/bazhong/income?{query}&_lang=en"), get(ds, f"/bazhong/income?{query}")
    assert r.status_code == 400 and f"Invalid {key}" in visible_text(r.text), (r.status_code, r.text[:300])
    assert zh.status_code == 400 and key in visible_text(zh.text) and "无效" in visible_text(zh.text)
    row = csv_rows("income")[0]["item_id"]
    for fine in (f'["{row}"]', row, f"{row},nosuch"):
        assert get(ds, f"/bazhong/income?item_id__in={quote(fine)}").status_code == 200, fine


def test_an_sql_typo_gives_the_editor_back(ds):
    sql = "selec * from income"
    r = get(ds, "/bazhong?sql=" + quote(sql))
    assert r.status_code == 400
    assert re.search(r'<textarea id="sql-editor" name="sql"[^>]*>' + re.escape(sql) + "</textarea>", r.text)
    assert 'action="/bazhong"' in r.text and "SELECT" in r.text


# ---------------------------------------------------------------- one search box


def normalized(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", s).casefold() if unicodedata.category(c)[0] not in "PSZC")


def expected_hits(word: str) -> set[tuple[str, str]]:
    """(resource, row key) of every row whose label, text or provenance contains `word`, punctuation aside."""
    want = set()
    for res in resources():
        fields = res["schema"]["fields"]
        cols = [f["name"] for f in fields if f["role"] in ("label", "text", "provenance") and f["type"] == "string"]
        scope = {f["name"] for f in fields if f["role"] == "scope"}
        key = [k for k in res["schema"]["primaryKey"] if k not in scope] or res["schema"]["primaryKey"]
        for r in csv_rows(res["name"]):
            if any(normalized(word) in normalized(r[c] or "") for c in cols):
                want.add((res["name"], "|".join(str(r[k]) for k in key)))
    return want


@pytest.mark.parametrize("word", ["三公", "接待", "电子政务云", "“三公”经费", "三公经费", "Reception"])
def test_search_finds_every_row_with_the_word(ds, word):
    data = get(ds, f"/-/search.json?q={quote(word)}&_size=500").json()
    want = expected_hits(word)
    assert want and {(h["resource"], h["row_key"]) for h in data["hits"]} == want and data["count"] == len(want)
    for h in data["hits"][:5]:
        assert normalized(word) in normalized(h["text"]) and h["column"]
        assert get(ds, h["url"]).status_code == 200


def test_an_english_search_page_names_each_row_in_english_with_the_chinese_beside(ds):
    """An English reader saw only 公务接待费; now Official reception, 公务接待费 beside (as table pages)."""
    row = next(r for r in csv_rows("three_public_expenses") if r["name_zh"] == "公务接待费")
    en = get(ds, "/-/search?q=" + quote("公务接待费") + "&_lang=en").text
    assert (f'>{html.escape(row["name_en"])}</a> <small class="label-zh" lang="zh-CN">{row["name_zh"]}</small>'
            in en)
    zh = get(ds, "/-/search?q=" + quote("公务接待费")).text
    assert f'>{row["name_zh"]}</a><br>' in zh and row["name_en"] not in visible_text(zh)


@pytest.mark.parametrize("path", ["/-/search.json?q=qzxqzx", "/-/search?q=qzxqzx",
                                  "/-/search.json?q=qzxqzx&table=income"])
def test_a_word_in_no_row_finds_nothing_without_an_error(ds, path):
    assert not expected_hits("qzxqzx")
    answer = get(ds, path)
    assert answer.status_code == 200, answer.text[:300]
    if path.startswith("/-/search.json"):
        assert answer.json()["count"] == 0 and answer.json()["hits"] == []


def test_search_ranks_labels_first_caps_and_links(ds):
    data = get(ds, "/-/search.json?q=" + quote("三公")).json()
    assert data["hits"][0]["label"] == "“三公”经费"  # the exact label first
    assert len(get(ds, "/-/search.json?q=" + quote("三公") + "&_size=3").json()["hits"]) == 3
    page = get(ds, "/-/search?q=" + quote("接待")).text
    assert "<mark>接待</mark>" in page
    assert 'href="/bazhong/three_public_expenses/2018,bazhong-govt-office,reception"' in page
    one = get(ds, "/-/search.json?q=" + quote("接待") + "&table=three_public_expenses").json()
    assert {h["resource"] for h in one["hits"]} == {"three_public_expenses"}


def test_every_page_has_the_search_box(ds):
    for kind, (path, _) in PAGES.items():
        assert 'action="/-/search"' in get(ds, path).text, kind


# ---------------------------------------------------------------- the over-budget question


def test_over_budget_lists_amounts_over_the_budget_with_the_printed_rate(ds):
    over = [r for r in csv_rows("projects") if r["executed"] > r["budget"]]
    assert any(r["name_zh"] == "专项督查督办经费" for r in over)
    rows = get(ds, "/bazhong/budget_deviation.json?_shape=array").json()
    for p in over:
        hit = next(r for r in rows if r["resource"] == "projects" and r["row_key"] == p["project_id"])
        assert Decimal(repr(hit["amount"])) == p["executed"] and Decimal(str(hit["budget"])) == p["budget"]
        assert Decimal(str(hit["completion_pct"])) == p["completion_pct"]
    assert "专项督查督办经费" in visible_text(get(ds, "/bazhong/budget_deviation").text)


# ---------------------------------------------------------------- downloads


def as_printed(v) -> str:
    return "" if v is None else f"{v.normalize():f}" if isinstance(v, Decimal) else str(v)


@pytest.mark.parametrize("fmt", ["excel.csv", "csv"])
def test_csv_downloads_read_back_with_chinese_and_numbers_as_printed(ds, fmt):
    r = get(ds, f"/-/download.{fmt}?path=/bazhong/three_public_expenses")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf") == (fmt == "excel.csv")
    assert (b"\r\n" in r.content) == (fmt == "excel.csv")
    got = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    want = csv_rows("three_public_expenses")
    bools = {f["name"] for f in schema_of("three_public_expenses")["fields"] if f["type"] == "boolean"}
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        for k, v in w.items():
            assert g[k] == (str(int(v)) if k in bools else as_printed(v)), (k, g[k], v)


def test_xlsx_and_chinese_headers_read_back(ds):
    from openpyxl import load_workbook

    r = get(ds, "/-/download.xlsx?path=/bazhong/projects&_headers=zh")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    header, *rows = list(ws.values)
    titles = [f["title"].split(" / ")[0] for f in schema_of("projects")["fields"]]
    assert list(header) == titles
    want = csv_rows("projects")
    budget = [f["name"] for f in schema_of("projects")["fields"]].index("budget")
    for row, w in zip(rows, want, strict=True):
        assert Decimal(str(row[budget])) == w["budget"] and "name_zh" in w and w["name_zh"] in row
        if w["budget"] == w["budget"].to_integral_value():
            assert isinstance(row[budget], int)


def test_a_canned_query_downloads_with_its_parameters(ds):
    r = get(ds, "/-/download.csv?path=/bazhong/search_like&q=" + quote("接待") + "&fiscal_year=&department=")
    got = list(csv.DictReader(io.StringIO(r.text)))
    assert got and all("接待" in row["matched_text"] for row in got)
    page = get(ds, "/bazhong/three_public_expenses").text
    assert 'href="/-/download.excel.csv?path=%2Fbazhong%2Fthree_public_expenses"' in page


# ---------------------------------------------------------------- the report card


def test_report_card_shows_each_figure_linked_and_derives_the_three_public_total_prior_year(ds):
    home = get(ds, "/").text
    assert 'href="/-/report/bazhong-govt-office/2018"' in home
    page = get(ds, "/-/report/bazhong-govt-office/2018").text
    rows = {r["item_id"]: r for r in csv_rows("three_public_expenses")}
    parts = [r for r in rows.values() if r["parent_item_id"] == "total"]
    prior = sum(r["prior_year_amount"] if r["prior_year_amount"] is not None else r["amount"] - r["change_amount"]
                for r in parts)
    assert rows["total"]["prior_year_amount"] is None and prior == Decimal("108.16")
    total_row = re.search(r"<tr>\s*<td[^>]*><a href=\"/bazhong/three_public_expenses/2018,bazhong-govt-office,total\">"
                          r".*?</tr>", page, flags=re.S)
    assert total_row and f">{prior}" in total_row.group() and "推算" in total_row.group()
    for r in csv_rows("income"):
        assert f'href="/bazhong/income/2018,bazhong-govt-office,{r["item_id"]}"' in page
        assert f">{as_printed(r['amount'])}<" in page
    for r in csv_rows("projects"):
        assert r["name_zh"] in page and f">{as_printed(r['executed'])}<" in page
    assert get(ds, "/-/report/bazhong-govt-office/1999").status_code == 404
    assert get(ds, "/-/report/nosuch/2018").status_code == 404


# ---------------------------------------------------------------- interactive charts


def test_chart_data_holds_the_exact_figures_and_the_library_is_served_by_the_site(ds):
    charts = {c["figure"]: c for c in get(ds, "/-/charts.json").json()}
    assert sorted(charts) == list(range(1, 8))
    parts = sorted((r for r in csv_rows("three_public_expenses") if r["parent_item_id"] == "total"
                    and r["breakdown"] == "by_category"), key=lambda r: -r["amount"])
    assert charts[7]["labels_zh"] == [r["name_zh"] for r in parts]
    assert charts[7]["series"][0]["values"] == [as_printed(r["amount"]) for r in parts]
    total = next(r for r in csv_rows("income") if r["item_id"] == "total")
    prior = total["prior_year_amount"] or total["amount"] - total["change_amount"]
    assert charts[1]["series"][0]["values"][0] == as_printed(prior)
    assert charts[1]["series"][1]["values"][0] == as_printed(total["amount"])
    js = get(ds, "/-/vendor/chart.umd.js")
    assert js.status_code == 200 and "Chart" in js.text[:2000]
    page = get(ds, "/charts").text
    assert '<script src="/-/vendor/chart.umd.js">' in page and "http" not in re.sub(r'href="[^"]*"', "", page)


def test_on_a_phone_each_cell_is_preceded_by_its_chinese_column_title(ds):
    """Table and row pages give each cell its column's title (shown before it at phone width, whatever
    the column order); query pages print it per position."""
    income = next(r for r in resources() if r["name"] == "income")
    titles = {f["name"]: f["title"].split(" / ")[0] for f in income["schema"]["fields"]}
    for path in ("/bazhong/income/2018,bazhong-govt-office,total", "/bazhong/income"):
        cells = re.findall(r'<td class="col-([a-z_]+) [^"]*" data-title="([^"]*)"', get(ds, path).text)
        assert {c for c, _ in cells} == set(titles), path
        assert all(title == titles[column] for column, title in cells), path
    text = get(ds, "/bazhong?sql=" + quote("select item_id, amount from income")).text
    assert f'td:nth-of-type(1):before {{ content: "{titles["item_id"]}' in text
    style = (ROOT / "site" / "templates" / "_site_style.html").read_text(encoding="utf-8")
    assert ".rows-and-columns td[data-title]:before { content: attr(data-title); }" in style


# Parameters that make each canned query answer rows (the search queries need a word).
QUERY_ARGS = {"search_like": "q=" + quote("接待"), "search_fulltext": "q=" + quote("接待费")}


def test_every_column_of_every_question_has_a_title_in_both_languages(ds):
    """A Chinese reader saw row_label, computed_pct, printed_pct, difference_pct, prior_year_implied,
    column_name, matched_text and snippet as the questions' column titles."""
    queries = get(ds, "/-/metadata.json").json()["databases"]["bazhong"]["queries"]
    for name in queries:
        args = QUERY_ARGS.get(name, "")
        columns = get(ds, f"/bazhong/{name}.json?{args}").json()["columns"]
        for lang in ("zh", "en"):
            heads = re.findall(r'<th class="col-[^"]*" scope="col">(.*?)<small class="field-name">([^<]*)</small>',
                               get(ds, f"/bazhong/{name}?{args}&_lang={lang}").text)
            assert [column for _, column in heads] == columns, (name, lang)
            untitled = [column for title, column in heads if title.strip() == column]
            assert untitled == [], (name, lang, untitled)
            if lang == "zh":
                assert all(re.search(r"[\u4e00-\u9fff]", title) for title, _ in heads), (name, heads)


# ---------------------------------------------------------------- errata explained in both languages


@pytest.mark.parametrize("path", ["/bazhong/errata", "/bazhong/errata/2018,bazhong-govt-office,housing_share_rounding"])
def test_a_chinese_page_explains_errata_in_chinese_under_its_title(ds, path):
    """Chinese pages showed explanation_en under 说明: now explanation_zh is under 说明 and the
    English one under 说明（英文）, as name_zh and name_en (the schema's titles, in the page's language)."""
    e = next(r for r in csv_rows("errata") if r["erratum_id"] == "housing_share_rounding")
    for lang, titles in (("zh", {"explanation_zh": "说明", "explanation_en": "说明（英文）"}),
                         ("en", {"explanation_zh": "Explanation (Chinese)",
                                 "explanation_en": "Explanation (English)"})):
        page = get(ds, path + ("?_lang=en" if lang == "en" else "")).text
        for column, title in titles.items():
            td = rf'<td class="col-{column} [^"]*" data-title="{re.escape(title)}"[^>]*>(.*?)</td>'
            cells = re.findall(td, page, re.S)
            assert any(e[column] in html.unescape(c) for c in cells), (lang, column)


def test_the_search_box_finds_an_erratum_by_its_chinese_explanation(ds):
    word = "封顶处理"  # only in an explanation_zh
    want = expected_hits(word)
    assert want == {("errata", "special_inspection_completion_rate")}
    data = get(ds, f"/-/search.json?q={quote(word)}").json()
    assert {(h["resource"], h["row_key"]) for h in data["hits"]} == want
    assert {h["column"] for h in data["hits"]} == {"explanation_zh"}
