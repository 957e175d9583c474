"""English pages show English where Chinese pages show labels: a code's cell its English label with
the code small beside (as the Chinese cell shows 工作产出 work_output), and a link to another table's
row (Datasette labels it with that table's Chinese rowLabel, name_zh) that row's English label with
the Chinese beside, in cells and in facets; links, sorting and exports unchanged. Expected values
come from the CSVs and the Table Schemas. (Row pages, where Datasette leaves a linked key bare, are
labelled the same way: test_site_keys_named.py.)"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import re
from collections import Counter

import pytest
from datasette.app import Datasette
from markupsafe import Markup
from site_support import ROOT, csv_rows, resources

from bazhong_accounts.site import i18n

CHINESE_LABELS = json.loads((ROOT / "src/bazhong_accounts/site/i18n_zh.json").read_text(encoding="utf-8"))["codes"]


@pytest.fixture(scope="module")
def ds(site_ds):
    return site_ds


def get(ds, path: str) -> str:
    r = asyncio.run(ds.client.get(path))
    assert r.status_code == 200, f"{path}: HTTP {r.status_code}: {r.text[:300]}"
    return r.text


def schema_of(name: str) -> dict:
    return next(r["schema"] for r in resources() if r["name"] == name)


def english_words(code: str) -> str:
    """A code's English label as the site promises it: its own words (work_output -> Work output)."""
    return code.replace("_", " ").capitalize()


def cells(page: str, column: str) -> list[str]:
    """The unescaped inner HTML of each cell of `column` on a table or row page."""
    return [html.unescape(c) for c in re.findall(rf'<td class="col-{column} [^"]*"[^>]*>(.*?)</td>', page, flags=re.S)]


def beside(english: str, chinese: str) -> str:
    return f'{english} <small class="label-zh" lang="zh-CN">{chinese}</small>'


def linked(href: str, key: str, english: str, chinese: str) -> str:
    """An English linked cell: the English label linked, the Chinese small beside, the key (Datasette's)."""
    return f'<a href="{href}">{english}</a> <small class="label-zh" lang="zh-CN">{chinese}</small>\xa0<em>{key}</em>'


def labels_of(table: str, key_column: str) -> dict[str, tuple[str, str]]:
    """Key -> (English, Chinese) label of the rows of `table`: its rowLabel and the label's _en twin."""
    label = schema_of(table)["rowLabel"]
    return {r[key_column]: (r[label[:-3] + "_en"], r[label]) for r in csv_rows(table)}


# ---------------------------------------------------------------- codes


def test_an_english_cell_of_a_code_shows_its_english_label_with_the_code_small_beside(ds):
    """It showed the bare code (work_output) where the facet said "Work output" and the Chinese cell
    工作产出 with the code small beside; the exports stay codes and the page sorts by the code."""
    codes = sorted(r["category"] for r in csv_rows("indicators"))
    field = next(f for f in schema_of("indicators")["fields"] if f["name"] == "category")
    assert set(codes) <= set(field["constraints"]["enum"])  # each has a label
    path = "/bazhong/indicators?_size=max&_sort=category"
    assert cells(get(ds, path + "&_lang=en"), "category") == [f'{english_words(c)} <small class="code">{c}</small>'
                                                               for c in codes]
    assert cells(get(ds, path), "category") == [f'{CHINESE_LABELS[c]} <small class="code">{c}</small>' for c in codes]
    exported = json.loads(get(ds, "/bazhong/indicators.json?_shape=array&_size=max&_sort=category&_lang=en"))
    assert [r["category"] for r in exported] == codes
    table = list(csv.DictReader(io.StringIO(get(ds, "/bazhong/indicators.csv?_size=max&_sort=category&_lang=en"))))
    assert [r["category"] for r in table] == codes


# ---------------------------------------------------------------- links to another table's row


def test_english_linked_cells_show_the_other_rows_english_label_with_the_chinese_beside(ds):
    """Datasette labelled them with name_zh (title_zh) on English pages too; the link and key stay."""
    rows = csv_rows("income")
    for column, target, key in (("department", "departments", "department"), ("source_id", "sources", "source_id")):
        labels = labels_of(target, key)
        english = cells(get(ds, "/bazhong/income?_size=max&_lang=en"), column)
        assert sorted(english) == sorted(linked(f"/bazhong/{target}/{r[column]}", r[column], *labels[r[column]])
                                         for r in rows), column
        chinese = cells(get(ds, "/bazhong/income?_size=max&_lang=zh"), column)
        assert sorted(chinese) == sorted(f'<a href="/bazhong/{target}/{r[column]}">{labels[r[column]][1]}</a>'
                                         f"\xa0<em>{r[column]}</em>" for r in rows), column
    # where the visitor asks for bare keys (?_labels=off) they stay bare, and no wider; a row page
    # labels them as the table page does (test_site_keys_named.py)
    row = rows[0]
    page = get(ds, "/bazhong/income?_labels=off&_lang=en")
    assert set(cells(page, "department")) == {row["department"]} and " named" not in page


def facet_values(page: str, column: str) -> list[tuple[str, str, int]]:
    """(link, unescaped inner HTML, count) of each value of a facet."""
    box = re.search(rf'id="facet-{column}".*?</ul>', page, flags=re.S).group()
    return [(html.unescape(a), html.unescape(t).strip(), int(c.replace(",", "")))
            for a, t, c in re.findall(r'<li><a href="([^"]+)">(.*?)</a> ([\d,]+)</li>', box, flags=re.S)]


def test_an_english_department_facet_shows_the_english_name_with_the_chinese_beside_and_links_by_the_key(ds):
    """It showed the Chinese name alone (Datasette labels a foreign-key facet with name_zh)."""
    labels = labels_of("departments", "department")
    counts = Counter(r["department"] for r in csv_rows("indicators"))
    for lang in ("en", "zh"):
        shown = facet_values(get(ds, f"/bazhong/indicators?_facet=department&_lang={lang}"), "department")
        assert sorted((text, n) for _, text, n in shown) == sorted(
            (beside(*labels[k]) if lang == "en" else labels[k][1], n) for k, n in counts.items()), lang
        for link, text, _ in shown:
            key = next(k for k in counts if text.startswith(labels[k][lang == "zh"]))
            assert re.search(rf"[?&]department={re.escape(key)}(&|$)", link), (link, text)


def test_english_names_are_read_from_the_data_and_a_row_without_one_keeps_its_chinese_label():
    """row_label_text's rule: the English label where the linked row has one, else nothing to change."""
    ds = Datasette(memory=True)
    db = ds.add_memory_database("site9_english_names")
    asyncio.run(db.execute_write_script(
        "create table departments (department text primary key, name_zh text, name_en text);"
        "insert into departments values ('a', '甲部门', 'Department A & B'), ('b', '乙部门', ''),"
        " ('c', '丙部门', null);"))
    keys = ["a", "b", "c", "x", None, "a"]
    got = asyncio.run(i18n.english_names(ds, "site9_english_names", "income", "department", keys))
    assert got == {"a": ("Department A & B", "甲部门")}
    shown = Markup('<a href="/db/departments/a">甲部门</a>&nbsp;<em>a</em>')
    cell = {"column": "department", "raw": "a", "value": shown}
    shown_en = str(i18n.cell_html("department", cell, "en", "income", names=got))
    assert html.unescape(shown_en) == linked("/db/departments/a", "a", "Department A & B", "甲部门")
    assert "Department A &amp; B</a>" in shown_en  # escaped once: neither raw nor twice
    assert i18n.cell_html("department", {**cell, "raw": "b"}, "en", "income", names=got) == shown
    # ?_labels=off: the key as text, no link Datasette wrote; it stays text (escaped when shown)
    plain = i18n.cell_html("department", {"column": "department", "raw": "a", "value": "<a>"}, "en", "income",
                           names=got)
    assert plain == "<a>" and not isinstance(plain, Markup)
