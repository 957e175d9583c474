"""Table pages mark the cells Datasette writes as another table's row (its label, linked, and the key
beside: `<a href=…>label</a>&nbsp;<em>key</em>`) with the class `linked`, which the site's style gives
a minimum width. Which cells those are comes from the rendered pages, not from the module."""

from __future__ import annotations

import re

import pytest
from site_support import datasette, get, resources

CELL = re.compile(r'<td class="([^"]*)"[^>]*>(.*?)</td>', re.S)


@pytest.fixture(scope="module")
def ds(site_db):
    return datasette(site_db)


def test_the_style_gives_linked_cells_a_minimum_width_except_on_phones():
    from bazhong_accounts.site.serve import templates_dir

    style = (templates_dir() / "_site_style.html").read_text(encoding="utf-8")
    wide, phone = style.split("@media only screen and (max-width: 576px)")
    assert re.search(r"td\.linked \{ min-width: \d+em; \}", wide)
    assert "td.linked { min-width: 0; }" in phone


def test_exactly_the_cells_showing_another_rows_label_are_linked(ds):
    labelled = 0
    for table in [r["name"] for r in resources()]:
        page = get(ds, f"/bazhong/{table}?_lang=en").text
        cells = CELL.findall(page.split("<tbody>", 1)[1])
        assert cells, table
        for classes, html in cells:
            shows_label = "&nbsp;<em>" in html and html.startswith("<a href=")
            labelled += shows_label
            assert ("linked" in classes.split()) == shows_label, (table, classes, html[:200])
    assert labelled  # Datasette still writes such cells (source_id, department)
