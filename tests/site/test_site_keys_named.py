"""Where the site showed a key a reader cannot read (bazhong-govt-office, income, carryover, amount),
it shows the name in the page's language with the key small beside: the filter sentence of a table
page filtered by a linked column (department, source_id), a row page's heading and linked cells,
the database's crumb, the table, row and column errata and figure_sources name, and the canned
queries' answers and department parameter. Links, exports and the JSON API keep the keys. Expected
values come from the CSVs, datapackage.json, the Table Schemas and the built site's metadata."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import pytest
from site_support import csv_rows, resources
from site_support import get as ask


@pytest.fixture(scope="module")
def ds(site_ds):
    return site_ds


def get(ds, path: str) -> str:
    """The page's HTML (or other text), which must answer 200."""
    answer = ask(ds, path)
    assert answer.status_code == 200, f"{path}: HTTP {answer.status_code}: {answer.text[:300]}"
    return answer.text


def shown(fragment: str) -> str:
    """HTML as its text, unescaped, spaces collapsed; <small> kept (the key beside is in one)."""
    text = re.sub(r"<(?!/?small)[^>]+>", " ", fragment)
    text = re.sub(r'<small class="code">', "<small>", text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def sentence(page: str) -> str:
    return shown(re.search(r'<h2 class="rows-count">(.*?)</h2>', page, flags=re.S).group(1))


def half(title: str, lang: str) -> str:
    """One language's half of a "中文 / English" title."""
    return title.split(" / ", 1)[lang == "en"]


RESOURCES = {r["name"]: r for r in resources()}


def schema_of(name: str) -> dict:
    return RESOURCES[name]["schema"]


def table_title(name: str, lang: str) -> str:
    return half(RESOURCES[name]["title"], lang)


def column_title(table: str, column: str, lang: str) -> str:
    return half(next(f["title"] for f in schema_of(table)["fields"] if f["name"] == column), lang)


def row_label(table: str, row: dict, lang: str) -> str:
    """A row's label as a reader reads it: the rowLabel (name_zh), on an English page its _en twin
    where the table has one (project_kpis' level3_zh has none: the Chinese stays)."""
    label = schema_of(table)["rowLabel"]
    return (row.get(label[:-3] + "_en") if lang == "en" else None) or row[label]


DEPARTMENT = csv_rows("departments")[0]
SOURCE = csv_rows("sources")[0]
KEY = DEPARTMENT["department"]


def quoted(name: str, lang: str) -> str:
    """A filter sentence's value: quoted on an English page (Datasette's way), bare in Chinese."""
    return f"“{name}”" if lang == "en" else name


# ---------------------------------------------------------------- the filter sentence


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_filter_on_a_linked_column_says_the_linked_rows_name_with_the_key_beside(ds, lang):
    """It said Department = “bazhong-govt-office” where the category beside it said its label."""
    said = sentence(get(ds, f"/bazhong/indicators?department={KEY}&category=organisation&_lang={lang}"))
    assert f"{quoted(DEPARTMENT['name_' + lang], lang)} <small>{KEY}</small>" in said
    assert column_title("indicators", "department", lang) in said and f"“{KEY}”" not in said
    source = SOURCE["source_id"]
    said = sentence(get(ds, f"/bazhong/income?source_id__in={source},no-such-source&_lang={lang}"))
    assert f"{quoted(SOURCE['title_' + lang], lang)} <small>{source}</small>" in said
    assert said.endswith(quoted("no-such-source", lang))  # a key no row has: as typed, nothing beside
    # "contains" names a part of a key, not a row: as typed
    said = sentence(get(ds, f"/bazhong/income?department__contains=govt&_lang={lang}"))
    assert said.endswith(quoted("govt", lang)) and "<small>" not in said
    # the sentence is HTML now (the key in <small>): what the visitor typed stays text
    page = get(ds, f"/bazhong/income?department={quote('<b>x</b>')}&_search={quote('<i>')}&_lang={lang}")
    raw = re.search(r'<h2 class="rows-count">(.*?)</h2>', page, flags=re.S).group(1)
    assert "&lt;b&gt;x&lt;/b&gt;" in raw and "&lt;i&gt;" in raw and "<b>" not in raw and "<i>" not in raw
    keys_kept_on_a_filtered_page(ds, lang)


def keys_kept_on_a_filtered_page(ds, lang: str) -> None:
    """The filter form, the JSON and the CSV export of a filtered page keep the keys."""
    path = f"/bazhong/indicators?department={KEY}&category=organisation"
    page = get(ds, path + f"&_lang={lang}")
    assert 'name="_filter_value_1" class="filter-value" value="organisation"' in page  # the form as typed
    assert f'class="filter-value" value="{KEY}"' in page
    rows = json.loads(get(ds, f"/bazhong/indicators.json?department={KEY}&category=organisation&_shape=array"))
    expected = [r for r in csv_rows("indicators") if r["department"] == KEY and r["category"] == "organisation"]
    assert rows and {r["department"] for r in rows} == {KEY} and len(rows) == len(expected)
    exported = list(csv.DictReader(io.StringIO(get(ds, f"/-/download.csv?path=/bazhong/indicators"
                                                       f"&department={KEY}&category=organisation"))))
    assert {r["department"] for r in exported} == {KEY} and len(exported) == len(expected)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_filter_and_a_facet_on_the_tables_errata_name_say_their_titles(ds, lang):
    said = sentence(get(ds, f"/bazhong/errata?resource=income&_lang={lang}"))
    assert f" {quoted(table_title('income', lang), lang)} <small>income</small>" in said
    page = get(ds, f"/bazhong/errata?_facet=resource&_lang={lang}")
    box = re.search(r'id="facet-resource".*?</ul>', page, flags=re.S).group()
    shown_values = [(shown(label), int(n)) for label, n in re.findall(r"<li><a [^>]*>(.*?)</a> (\d+)</li>", box)]
    counts: dict[str, int] = {}
    for r in csv_rows("errata"):
        counts[r["resource"]] = counts.get(r["resource"], 0) + 1
    assert sorted(shown_values) == sorted((f"{table_title(k, lang)} <small>{k}</small>", n) for k, n in counts.items())


# ---------------------------------------------------------------- row pages and the crumb


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_row_page_heading_names_the_row_with_its_key_beside_and_labels_its_links(ds, lang):
    """It read 部门: bazhong-govt-office, and its linked cells showed bare keys."""
    page = get(ds, f"/bazhong/departments/{KEY}?_lang={lang}")
    h1 = shown(re.search(r"<h1[^>]*>(.*?)</h1>", page, flags=re.S).group(1))
    assert h1.startswith(f"{table_title('departments', lang)}: {DEPARTMENT['name_' + lang]}") and h1.endswith(
        f"<small>{KEY}</small>")
    title = re.search(r"<title>(.*?)</title>", page, flags=re.S).group(1)
    assert DEPARTMENT["name_" + lang] in html.unescape(title) and KEY not in title
    row = csv_rows("income")[0]
    page = get(ds, f"/bazhong/income/{row['fiscal_year']},{row['department']},{row['item_id']}?_lang={lang}")
    h1 = shown(re.search(r"<h1[^>]*>(.*?)</h1>", page, flags=re.S).group(1))
    assert h1.startswith(f"{table_title('income', lang)}: {row_label('income', row, lang)}")
    assert h1.endswith(f"<small>{row['fiscal_year']}, {row['department']}, {row['item_id']}</small>")
    cell = html.unescape(re.search(r'<td class="col-department [^"]*"[^>]*>(.*?)</td>', page, flags=re.S).group(1))
    assert cell.startswith(f'<a href="/bazhong/departments/{KEY}">{DEPARTMENT["name_" + lang]}</a>')
    assert cell.endswith(f"\xa0<em>{KEY}</em>")
    crumbs = shown(re.search(r'<p class="crumbs">(.*?)</p>', page, flags=re.S).group(1))
    site_title = json.loads((site_metadata(ds)).read_text(encoding="utf-8"))["databases"]["bazhong"]["title"]
    assert f" / {half(site_title, lang)} / {table_title('income', lang)}" in crumbs and "bazhong /" not in crumbs
    a_row_whose_label_is_its_key_keeps_the_key_alone(ds, lang)


def a_row_whose_label_is_its_key_keeps_the_key_alone(ds, lang: str) -> None:
    erratum = csv_rows("errata")[0]
    assert schema_of("errata")["rowLabel"] == "erratum_id"  # the premise: the label is a part of the key
    key = f"{erratum['fiscal_year']},{erratum['department']},{erratum['erratum_id']}"
    page = get(ds, f"/bazhong/errata/{key}?_lang={lang}")
    h1 = shown(re.search(r"<h1[^>]*>(.*?)</h1>", page, flags=re.S).group(1))
    assert h1 == f"{table_title('errata', lang)}: {key.replace(',', ', ')}"


def site_metadata(ds):
    """metadata.json beside the database the site serves (the build writes both)."""
    return Path(ds.databases["bazhong"].path).with_name("metadata.json")


# ---------------------------------------------------------------- errata and figure_sources


def address_cells(page: str, column: str, query: bool = False) -> list[str]:
    pattern = rf'<td class="col-{column}">(.*?)</td>' if query else rf'<td class="col-{column} [^"]*"[^>]*>(.*?)</td>'
    return [html.unescape(c) for c in re.findall(pattern, page, flags=re.S)]


@lru_cache(maxsize=None)
def rows_of(name: str) -> tuple[dict, ...]:
    return tuple(csv_rows(name))


def expected_address(row: dict, lang: str) -> tuple[str, str, str]:
    """The resource, row_key and column cells of an errata or figure_sources row, as the site should
    write them: titles and the row's label, linked, the keys beside."""
    name, key, column = row["resource"], row["row_key"], row["column"]
    schema = schema_of(name)
    scope = [f["name"] for f in schema["fields"] if f["role"] == "scope"]
    key_fields = [k for k in schema["primaryKey"] if k not in scope]
    target = next(r for r in rows_of(name) if all(str(r[f]) == str(row[f]) for f in scope)
                  and "|".join(str(r[k]) for k in key_fields) == key)
    chinese = target[schema["rowLabel"]]
    label = row_label(name, target, lang)
    beside = f' <small class="label-zh" lang="zh-CN">{chinese}</small>' if label != chinese else ""
    path = ",".join(str(target[k]) for k in schema["primaryKey"])
    return (f'<a href="/bazhong/{name}">{table_title(name, lang)}</a>\xa0<em>{name}</em>',
            f'<a href="/bazhong/{name}/{path}">{label}</a>{beside}\xa0<em>{key}</em>',
            f'{column_title(name, column, lang)} <small class="code">{column}</small>')


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_errata_and_figure_sources_name_the_table_row_and_column_of_each_cell_they_name(ds, lang):
    """They showed income | carryover | amount."""
    for table in ("errata", "figure_sources"):
        rows = csv_rows(table)
        page = get(ds, f"/bazhong/{table}?_size=max&_lang={lang}")
        got = sorted(zip(*(address_cells(page, c) for c in ("resource", "row_key", "column")), strict=True))
        assert got == sorted(expected_address(r, lang) for r in rows), table


def test_a_canned_query_names_its_departments_tables_and_rows_and_its_department_parameter(ds):
    """all_errata showed bare keys, and its department box no name."""
    errata = [r for r in csv_rows("errata") if r["department"] == KEY]
    for lang in ("en", "zh"):
        page = get(ds, f"/bazhong/all_errata?fiscal_year=&department={KEY}&_lang={lang}")
        beside = f' <small class="label-zh" lang="zh-CN">{DEPARTMENT["name_zh"]}</small>' if lang == "en" else ""
        department = f'<a href="/bazhong/departments/{KEY}">{DEPARTMENT["name_" + lang]}</a>{beside}\xa0<em>{KEY}</em>'
        assert address_cells(page, "department", query=True) == [department] * len(errata)
        got = sorted(zip(*(address_cells(page, c, query=True) for c in ("resource", "row_key", "column")), strict=True))
        assert got == sorted(expected_address(r, lang) for r in errata)
        named = re.search(r'name="department" value="[^"]*"> (.*?)</p>', page, flags=re.S).group(1)
        assert html.unescape(named) == f'<span class="parameter-named">{DEPARTMENT["name_" + lang]}{beside}</span>'
    unknown = get(ds, "/bazhong/all_errata?fiscal_year=&department=no-such-department")
    assert '<span class="parameter-named unknown">没有这个编号</span>' in unknown
    answer = json.loads(get(ds, f"/bazhong/all_errata.json?fiscal_year=&department={KEY}&_shape=array"))
    assert sorted((r["department"], r["resource"], r["row_key"]) for r in answer) == sorted(
        (r["department"], r["resource"], r["row_key"]) for r in errata)
    # arbitrary SQL stays as the database answers it
    sql = get(ds, "/bazhong?sql=" + quote("select department, resource from errata limit 1"))
    assert address_cells(sql, "department", query=True) == [KEY]



# ---------------------------------------------------------------- a row's parent


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_rows_parent_is_named_by_its_label_linked_with_its_key_beside(ds, lang):
    """income's parent_item_id showed “total” where the parent row is 收入总计."""
    rows = csv_rows("income")
    by_key = {(r["fiscal_year"], r["department"], r["item_id"]): r for r in rows}
    expected = []
    for r in rows:
        parent = by_key.get((r["fiscal_year"], r["department"], r["parent_item_id"]))
        if parent is None:
            expected.append("&nbsp;" if r["parent_item_id"] is None else r["parent_item_id"])
            continue
        label, chinese = row_label("income", parent, lang), parent["name_zh"]
        beside = f' <small class="label-zh" lang="zh-CN">{chinese}</small>' if label != chinese else ""
        expected.append(f'<a href="/bazhong/income/{parent["fiscal_year"]},{parent["department"]},{parent["item_id"]}">'
                        f'{label}</a>{beside}\xa0<em>{parent["item_id"]}</em>')
    assert any(e.startswith("<a ") for e in expected)  # the premise: some rows have a parent
    page = get(ds, f"/bazhong/income?_size=max&_lang={lang}")
    got = address_cells(page, "parent_item_id")
    assert sorted(got) == sorted(html.unescape(e) for e in expected)
    # ?_labels=off: the visitor asked for the keys; they stay bare
    bare = address_cells(get(ds, f"/bazhong/income?_size=max&_labels=off&_lang={lang}"), "parent_item_id")
    assert sorted(bare) == sorted(html.unescape("&nbsp;") if r["parent_item_id"] is None else r["parent_item_id"]
                                  for r in rows)
