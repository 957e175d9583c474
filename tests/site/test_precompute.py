"""site/precompute.py: what the site computes before its first visitor (the chart data at build time;
Datasette's catalogue, the templates, the home page's content at start), so that the first answer
of each page type asks nothing that does not change; and the English rows and short notes of
the report card, comparison and table pages (i18n.py)."""

from __future__ import annotations

import asyncio
import html
import json
import re

import pytest
from markupsafe import Markup
from site_support import csv_rows, datasette, get

from bazhong_accounts.site import i18n, interactive

# Page types whose first answer must compile no template and ask no schema question
FIRST_PAGES = ["/", "/bazhong", "/bazhong/three_public_expenses", "/bazhong/income/2018,bazhong-govt-office,total",
               "/bazhong/budget_deviation", "/-/report/bazhong-govt-office/2018", "/charts", "/-/charts.json"]
CATALOGUE_SQL = re.compile(r"sqlite_master|pragma", re.I)


@pytest.fixture(scope="module")
def ds(site_ds):
    return site_ds


def test_after_start_the_first_answers_compile_nothing_and_ask_no_schema_question(site_db):
    fresh = datasette(site_db)  # started: the startup hook ran, no page was asked yet
    asked: list[str] = []
    db = fresh.databases["bazhong"]
    execute = db.execute

    async def counted(sql, *args, **kwargs):
        asked.append(sql + repr(args))
        return await execute(sql, *args, **kwargs)

    def no_compiling(*args, **kwargs):
        raise AssertionError("a template was compiled while answering a visitor")

    db.execute = counted
    fresh.jinja_env.compile = no_compiling
    for path in FIRST_PAGES:
        assert get(fresh, path).status_code == 200, path
    catalogue = [sql for sql in asked if CATALOGUE_SQL.search(sql)]
    assert catalogue == [], catalogue
    assert db.cached_hash is None, "the home page read the whole database file to hash it"


def test_the_home_page_lists_every_table_and_question_with_its_row_count(ds, site_db):
    page = get(ds, "/").text
    metadata = json.loads((site_db.parent / "metadata.json").read_text(encoding="utf-8"))
    for name in metadata["databases"]["bazhong"]["queries"]:
        assert f'href="/bazhong/{name}"' in page
    for table, rows in (("income", csv_rows("income")), ("three_public_expenses", csv_rows("three_public_expenses"))):
        assert re.search(rf'href="/bazhong/{table}">[^<]*</a> <small>{len(rows)} 行', page), table
    assert 'href="/-/report/bazhong-govt-office/2018"' in page
    assert get(ds, "/.json").json()["bazhong"]["tables_count"] > 0  # Datasette's own JSON stays


def test_the_build_writes_the_chart_data_the_database_gives(ds, site_db):
    built = json.loads((site_db.parent / "static" / "charts" / interactive.CHART_DATA).read_text(encoding="utf-8"))
    live = interactive.charts_of_tables(asyncio.run(interactive.chart_rows(ds, "bazhong")))
    assert built == json.loads(json.dumps(live, ensure_ascii=False))
    assert get(ds, "/-/charts.json").json() == built


def test_english_card_and_comparison_rows_show_the_english_name_with_the_chinese_beside(ds):
    income = [r for r in csv_rows("income") if r["name_en"]]
    assert income
    for path in ("/-/report/bazhong-govt-office/2018", "/-/compare/bazhong-govt-office/2018/bazhong-govt-office/2018"):
        english = get(ds, path + "?_lang=en").text
        chinese = get(ds, path).text
        for r in income:
            name_en = html.escape(r["name_en"], quote=False)
            assert f'{name_en} <small class="label-zh" lang="zh-CN">{r["name_zh"]}</small>' in english, path
            assert f'>{r["name_zh"]}<' in chinese and name_en not in chinese, path
        assert 'class="label-zh"' not in chinese


def test_a_row_without_an_english_name_keeps_its_chinese_label_alone():
    schema = i18n.schemas()["income"]
    assert i18n.row_label_text(schema, {"name_zh": "收入总计", "name_en": ""}, "en") == ("收入总计", None)
    assert i18n.row_label_text(schema, {"name_zh": "收入总计", "name_en": "Total"}, "en") == ("Total", "收入总计")
    assert i18n.row_label_text(schema, {"name_zh": "收入总计", "name_en": "Total"}, "zh") == ("收入总计", None)


def test_long_notes_are_shortened_by_their_width_and_names_never():
    chinese = "主要原因是从严执行公务接待各项规定，严格控制接待次数和接待人数。"  # 32 characters, 64 columns wide
    short = str(i18n.cell_html("note_zh", {"raw": chinese, "value": chinese}, "en", "three_public_expenses"))
    assert short.startswith('<details class="long-text"><summary>' + chinese[:20] + "…")
    assert short.endswith(f"</summary>{chinese}</details>")
    letters = "x" * 40  # 40 columns: as wide as 20 Chinese characters, not wider
    assert i18n.cell_html("note_en", {"raw": letters, "value": letters}, "en", "sources") == letters
    name = "Three public expenses (fiscal appropriation), a long English name"
    assert i18n.cell_html("name_en", {"raw": name, "value": name}, "en", "three_public_expenses") == name
    quoted = Markup('x <a class="to-report" href="/report/s#f1">→ 原文 / in the report</a>')
    long_quote = "“三公”经费" * 8
    cell = i18n.cell_html("source_quote", {"raw": long_quote, "value": quoted}, "en", "income")
    assert "long-text" in cell and cell.endswith('→ in the report</a>')


def test_an_english_table_page_shortens_its_chinese_notes(ds):
    page = get(ds, "/bazhong/three_public_expenses?_lang=en").text
    notes = [r["note_zh"] for r in csv_rows("three_public_expenses") if r["note_zh"]]
    wide = [n for n in notes if i18n.display_width(n) > i18n.SHORT_TEXT]
    assert wide
    for note in wide:
        assert f"<summary>{html.escape(i18n.within_width(note, i18n.SHORT_TEXT))}…" in page
