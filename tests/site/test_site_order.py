"""Hierarchies in order (parents before their parts, indented) on table pages and the report card;
each report-card figure titled for phones; facets only where people filter; codes labelled in the
filter sentence; Chinese column descriptions. Expected orders and values come from the CSVs and the
schemas as the tests read them, never from the site's own modules (hierarchy.tree_order is tested
on rows written here)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from decimal import Decimal

from urllib.parse import urlsplit

import pytest
from site_support import ROOT, csv_rows, resources

from bazhong_accounts.model import roles
from bazhong_accounts.site.hierarchy import tree_order

DEPT = "bazhong-govt-office"


@pytest.fixture(scope="module")
def ds(site_ds):
    return site_ds


def get(ds, path: str):
    r = asyncio.run(ds.client.get(path))
    assert r.status_code == 200, f"{path}: HTTP {r.status_code}: {r.text[:300]}"
    return r.text


def schema_of(name: str) -> dict:
    return next(r["schema"] for r in resources() if r["name"] == name)


# ---------------------------------------------------------------- tree order, on rows written here

TREE = {"fields": [{"name": "year", "role": "scope"}, {"name": "id", "role": "identifier"},
                   {"name": "up", "role": "identifier"}],
        "foreignKeys": [{"fields": "up", "reference": {"resource": "", "fields": "id"}}]}


def test_tree_order_puts_parents_first_per_department_year_and_drops_no_row():
    rows = [{"year": 1, "id": "b1", "up": "b"}, {"year": 1, "id": "a", "up": None}, {"year": 1, "id": "b", "up": "a"},
            {"year": 1, "id": "z", "up": "gone"}, {"year": 2, "id": "b", "up": "a"}, {"year": 2, "id": "a", "up": None},
            {"year": 1, "id": "x", "up": "y"}, {"year": 1, "id": "y", "up": "x"}]  # x, y: a cycle
    got = [(r["year"], r["id"], depth) for r, depth in tree_order(TREE, rows)]
    assert got == [(1, "a", 0), (1, "b", 1), (1, "b1", 2), (1, "z", 0), (1, "x", 0), (1, "y", 0),
                   (2, "a", 0), (2, "b", 1)]


def test_without_a_parent_link_the_order_is_kept():
    rows = [{"id": "b"}, {"id": "a"}]
    assert tree_order({"fields": [{"name": "id", "role": "identifier"}]}, rows) == [(rows[0], 0), (rows[1], 0)]


# ---------------------------------------------------------------- table pages and the report card


def label_cells(page: str, label: str) -> list[tuple[str, int]]:
    """(label text, depth of its indent) of each row's label cell, in page order."""
    cells = re.findall(rf'<td class="[^"]*\b{label}\b[^"]*" data-title="[^"]*"(?: style="--depth: (\d+)")?>(.*?)</td>',
                       page, flags=re.S)
    return [(html.unescape(re.sub(r"<[^>]+>", "", text)).strip(), int(depth or 0)) for depth, text in cells]


def assert_tree(name: str, shown: list[tuple[str, int]]):
    """Every row of the CSV shown once, after its parent and one indent step deeper."""
    schema = schema_of(name)
    parent, key = roles.parent_links(schema)[0]
    rows = [r for r in csv_rows(name) if r["department"] == DEPT]
    label = roles.row_label(schema)
    assert sorted(s for s, _ in shown) == sorted(r[label] for r in rows), name
    position = {r[key]: [s for s, _ in shown].index(r[label]) for r in rows}
    for r in rows:
        if r[parent] is not None:
            mine, theirs = shown[position[r[key]]], shown[position[r[parent]]]
            assert position[r[parent]] < position[r[key]], f"{name}: {r[label]} comes before its parent"
            assert mine[1] > theirs[1], f"{name}: {r[label]} is not indented under its parent"
        else:
            assert shown[position[r[key]]][1] == 0, f"{name}: the top-level row {r[label]} is indented"


@pytest.mark.parametrize("name", ["income", "three_public_expenses", "expenditure_by_function", "expenditure_by_type"])
def test_table_pages_show_parents_before_their_parts_indented(ds, name):
    label = roles.row_label(schema_of(name))
    assert_tree(name, label_cells(get(ds, f"/bazhong/{name}?_size=max"), label))


def test_named_parents_come_first(ds):
    income = [s for s, _ in label_cells(get(ds, "/bazhong/income"), "name_zh")]
    assert income.index("本年收入合计") < income.index("事业收入")
    three = [s for s, _ in label_cells(get(ds, "/bazhong/three_public_expenses"), "name_zh")]
    assert three.index("公务用车购置及运行维护费") < three.index("公务用车运行维护费")
    codes = [r["code"] for r in csv_rows("expenditure_by_function") if r["department"] == DEPT]
    names = {r["code"]: r["name_zh"] for r in csv_rows("expenditure_by_function")}
    shown = [s for s, _ in label_cells(get(ds, "/bazhong/expenditure_by_function?_size=max"), "name_zh")]
    assert shown == [names[c] for c in sorted(codes)]  # 类/款/项 codes extend their parent's: by code


def test_a_page_the_visitor_sorts_keeps_that_order_without_indent(ds):
    shown = label_cells(get(ds, "/bazhong/income?_sort_desc=amount"), "name_zh")
    amounts = {r["name_zh"]: r["amount"] for r in csv_rows("income")}
    assert [amounts[s] for s, _ in shown] == sorted(amounts.values(), reverse=True)
    assert all(depth == 0 for _, depth in shown)


def test_pages_follow_each_other_in_key_order(ds):
    """The next link of a page in tree order works (its token is the primary key); a made-up one is a 400."""
    first = get(ds, "/bazhong/income?_size=4")
    next_url = urlsplit(html.unescape(re.search(r'<a href="([^"]*_next=[^"]*)">下一页</a>', first).group(1)))
    second = get(ds, f"{next_url.path}?{next_url.query}")
    shown = [s for s, _ in label_cells(first, "name_zh") + label_cells(second, "name_zh")]
    assert len(shown) == len(set(shown)) == 8
    bad = asyncio.run(ds.client.get("/bazhong/income?_next=2018,x"))
    assert bad.status_code == 400 and "_next" in bad.text
    for sorted_page in ("/bazhong/indicators?_size=3", "/bazhong/income?_size=3&_sort_desc=amount"):
        found = re.search(r'<a href="([^"]*_next=[^"]*)">下一页</a>', get(ds, sorted_page))
        link = urlsplit(html.unescape(found.group(1)))
        assert "<td" in get(ds, f"{link.path}?{link.query}")  # the sort value, then the key: not refused


def test_report_card_sections_follow_the_same_order(ds):
    page = get(ds, f"/-/report/{DEPT}/2018")
    for name in ("income", "three_public_expenses", "expenditure_by_type"):
        section = page[page.index(f'id="{name}"'):]
        section = section[:section.index("</section>")]
        assert_tree(name, label_cells(section, "row-label"))


def test_report_card_figures_keep_their_column_title_on_a_phone(ds):
    """财政拨款收入总计 shows 2524.97, 370.14 and 17.18: each cell says which figure it is."""
    page = get(ds, f"/-/report/{DEPT}/2018")
    titles = {f["name"]: f["title"].split(" / ")[0] for f in schema_of("income")["fields"]}
    row = next(r for r in csv_rows("income") if r["item_id"] == "fiscal_total")
    tr = re.search(r"<tr>\s*<td[^>]*>.{0,200}?" + row["name_zh"] + ".*?</tr>", page, flags=re.S).group()
    for column in ("amount", "change_amount", "change_pct"):
        assert re.search(rf'data-title="{titles[column]}"><a href="[^"]+">{row[column]}</a>', tr), column
    style = get(ds, "/")  # the rule that shows data-title before the cell at phone width
    assert ".rows-and-columns td[data-title]:before { content: attr(data-title); }" in style


# ---------------------------------------------------------------- facets and the filter sentence


def test_an_english_twin_of_a_chinese_category_is_no_facet():
    schema = {"fields": [{"name": "unit_zh", "role": "category"}, {"name": "unit_en", "role": "category"},
                         {"name": "kind", "role": "category"}, {"name": "note_en", "role": "category"}]}
    assert roles.facets(schema) == ["unit_zh", "kind", "note_en"]


def test_indicators_facet_on_the_chinese_unit_only_and_the_filter_sentence_shows_labels(ds):
    page = get(ds, "/bazhong/indicators?category=work_output")
    facets = re.findall(r'class="facet-info[^"]*" id="facet-([a-z_]+)"', page)
    assert "unit_zh" in facets and "category" in facets and "unit_en" not in facets
    sentence = re.search(r'<h2 class="rows-count">(.*?)</h2>', page, flags=re.S).group(1)
    assert "工作产出（work_output）" in sentence
    english = get(ds, "/bazhong/indicators?category=work_output&_lang=en")
    assert "工作产出" not in re.search(r'<h2 class="rows-count">(.*?)</h2>', english, flags=re.S).group(1)


def english_title(table: str, column: str) -> str:
    """The English half of the column's schema title ("类别 / Category" -> "Category")."""
    return next(f["title"] for f in schema_of(table)["fields"] if f["name"] == column).split(" / ", 1)[1]


def english_words(code: str) -> str:
    """A code's English label as the site promises it: the code's own words (work_output -> Work output)."""
    return code.replace("_", " ").capitalize()


CHINESE_LABELS = json.loads((ROOT / "src/bazhong_accounts/site/i18n_zh.json").read_text(encoding="utf-8"))["codes"]


def heading(ds, path: str) -> str:
    page = get(ds, path)
    said = re.search(r'<h2 class="rows-count">(.*?)</h2>', page, flags=re.S).group(1)
    return html.unescape(re.sub(r"\s+", " ", said)).strip()


def test_an_english_heading_says_column_titles_and_code_labels_not_field_names(ds):
    """It said 'where category = "work_output" sorted by metric_id', Datasette's own English."""
    code = csv_rows("indicators")[0]["category"]
    n = sum(r["category"] == code for r in csv_rows("indicators"))
    said = heading(ds, f"/bazhong/indicators?category={code}&_sort=metric_id&_lang=en")
    title, by = english_title("indicators", "category"), english_title("indicators", "metric_id")
    assert said == f"{n} rows where {title} = “{english_words(code)}” sorted by {by}"


def test_the_filter_sentence_lists_in_values_as_labels_and_gives_no_value_to_is_not_blank(ds):
    """"in" listed the codes as typed ("share_rounding,rate_mismatch"); "is not blank" said its 1."""
    kinds = sorted({r["kind"] for r in csv_rows("errata") if r["kind"] in CHINESE_LABELS})[:2]
    n = sum(r["kind"] in kinds and bool(r["explanation_en"]) for r in csv_rows("errata"))
    path = f"/bazhong/errata?kind__in={','.join(kinds)}&explanation_en__notblank=1&_sort_desc=value_carried"
    english = heading(ds, path + "&_lang=en")
    assert english.startswith(f"{n} row")
    assert f"{english_title('errata', 'kind')} in “{english_words(kinds[0])}”, “{english_words(kinds[1])}”" in english
    assert re.search(re.escape(english_title("errata", "explanation_en")) + r" is not blank( and|,)", english), english
    assert english.endswith(f"sorted by {english_title('errata', 'value_carried')} descending")
    chinese = heading(ds, path)
    assert "、".join(f"{CHINESE_LABELS[k]}（{k}）" for k in kinds) in chinese
    assert re.search(r"不为空(，|$)", chinese), chinese


def test_an_english_heading_quotes_words_not_numbers_and_keeps_a_value_that_is_no_code(ds):
    said = heading(ds, "/bazhong/indicators?unit_zh__contains=万&value__gte=10&category=no_such_code&_lang=en")
    assert f"{english_title('indicators', 'unit_zh')} contains “万”" in said
    assert f"{english_title('indicators', 'value')} ≥ 10" in said
    assert f"{english_title('indicators', 'category')} = “no_such_code”" in said


def facet_values(page: str, column: str) -> list[tuple[str, str, str]]:
    """(link, text, count) of each value of a facet."""
    box = re.search(rf'id="facet-{column}".*?</ul>', page, flags=re.S).group()
    return [(html.unescape(a), html.unescape(t).strip(), c)
            for a, t, c in re.findall(r'<li><a href="([^"]+)">(.*?)</a> ([\d,]+)</li>', box, flags=re.S)]


def test_english_facets_show_a_code_as_its_label_and_link_by_the_code(ds):
    """They showed the code (work_output) where the Chinese page shows its label."""
    rows = csv_rows("indicators")
    want = {c: sum(r["category"] == c for r in rows) for c in {r["category"] for r in rows}}
    shown = facet_values(get(ds, "/bazhong/indicators?_facet=category&_facet=unit_zh&_lang=en"), "category")
    assert {text: int(count) for _, text, count in shown} == {english_words(c): n for c, n in want.items()}
    for link, text, _ in shown:
        code = next(c for c in want if english_words(c) == text)
        assert f"category={code}" in link, (link, text)
    units = facet_values(get(ds, "/bazhong/indicators?_facet=unit_zh&_lang=en"), "unit_zh")
    assert {text for _, text, _ in units} <= {r["unit_zh"] for r in rows}  # no code: the value as it is
    chinese = get(ds, "/bazhong/indicators?_facet=category")
    code = max(want, key=want.get)
    assert f'{CHINESE_LABELS[code]} <small class="code">{code}</small>' in chinese


def test_a_default_facet_the_visitor_also_asks_for_is_shown_once(ds):
    """errata?_facet=kind showed the kind facet twice (Datasette's default facet and the one asked for)."""
    facets = json.loads(get(ds, "/bazhong/errata.json?_size=0"))["facet_results"]
    default = next(iter(facets))
    for lang in ("zh", "en"):
        page = get(ds, f"/bazhong/errata?_facet={default}&_lang={lang}")
        assert page.count(f'id="facet-{default}"') == 1, lang


# ---------------------------------------------------------------- Chinese column descriptions


def test_every_field_has_a_chinese_description():
    """Every schema of schemas/, those no resource of this package uses yet (extract's) included."""
    paths = sorted((ROOT / "schemas").glob("*.json"))
    assert len(paths) >= len(resources())
    for path in paths:
        for f in json.loads(path.read_text(encoding="utf-8"))["fields"]:
            zh = f.get("description_zh", "")
            assert re.search(r"[\u4e00-\u9fff]", zh), f"{path.name}: field {f['name']} has no Chinese description_zh"


def test_column_descriptions_follow_the_language(ds):
    fields = {f["name"]: f for f in schema_of("income")["fields"]}
    for lang, key in (("zh", "description_zh"), ("en", "description")):
        page = html.unescape(get(ds, f"/bazhong/income?_lang={lang}"))
        box = page[page.index('class="column-descriptions"'):]
        for name in ("amount", "change_pct"):
            assert f"<dd>{fields[name][key]}</dd>" in box, (lang, name)
        assert f'title="{fields["amount"][key]}"' in page, lang


def test_a_comparison_of_reviewed_reports_has_no_draft_banner_and_a_report_against_itself_differs_by_zero(ds):
    page = get(ds, f"/-/compare/{DEPT}/2018/{DEPT}/2018")
    assert "draft-banner" not in page and "比较：" in page
    differences = re.findall(r'<td class="type-float difference" data-title="B − A">([^<]*)</td>', page)
    numbers = [d for d in differences if d != "–"]
    assert len(numbers) > 20 and all(Decimal(d) == 0 for d in numbers)
    figures = sum(1 for r in csv_rows("income") for c in roles.figures(schema_of("income")) if r[c] is not None)
    income = page[page.index('id="income"'):page.index("</section>", page.index('id="income"'))]
    assert len(re.findall(r'data-title="A"><a href="/bazhong/income/', income)) == figures


@pytest.mark.parametrize("n, pick_from_a_list", [(3, True), (201, False)])
def test_the_chooser_lists_department_years_up_to_200_then_takes_them_typed(ds, n, pick_from_a_list):
    choices = [{"department": f"d{i}", "fiscal_year": 2018, "name_zh": f"部门{i}", "name_en": f"Dept {i}",
                "database": "bazhong"} for i in range(n)]
    page = asyncio.run(ds.render_template("_compare_chooser.html", {"choices": choices, "chosen_a": "d0/2018",
                                                                    "chosen_b": "d1/2018"}))
    assert page.count("<option ") == (2 * n if pick_from_a_list else 0)
    assert ('<input id="compare-a" name="a" value="d0/2018"' in page) is not pick_from_a_list
    assert ('<option value="d1/2018" selected>部门1 2018</option>' in page) is pick_from_a_list
