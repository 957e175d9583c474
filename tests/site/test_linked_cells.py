"""Table pages mark the cells Datasette writes as another table's row (its label, linked, and the key
beside: `<a href=…>label</a>&nbsp;<em>key</em>`) with the class `linked`, which the site's style gives
a minimum width. Which cells those are comes from the rendered pages, not from the module.
Cells holding a long value are `wide`: room on a wide screen, long words broken where they must."""

from __future__ import annotations

import re

import pytest
from site_support import get, resources

CELL = re.compile(r'<td class="([^"]*)"[^>]*>(.*?)</td>', re.S)


@pytest.fixture(scope="module")
def ds(site_ds):
    return site_ds


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


def cell_classes(html: str) -> dict[str, list[str]]:
    """The classes of the first row's cells of a table page, by column (its `col-…` class)."""
    cells = CELL.findall(html.split("<tbody>", 1)[1].split("</tr>", 1)[0])
    return {classes.split()[0].removeprefix("col-"): classes.split() for classes, _ in cells}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_long_values_are_wide_and_short_ones_not(ds, lang):
    """The source's English title (99 letters), checksum (64) and id (39) and its Chinese title
    (20 characters, as wide as 40 letters) were columns as narrow as their longest word; its
    10-character publisher, dates and year are short."""
    classes = cell_classes(get(ds, f"/bazhong/sources?_lang={lang}").text)
    for column in ("title_en", "title_zh", "sha256", "source_id", "path"):
        assert "wide" in classes[column], (column, classes[column])
    for column in ("publisher_zh", "fiscal_year", "period_start"):
        assert "wide" not in classes[column], (column, classes[column])
    # twice as wide and shown whole: the English title (99 letters) and publisher (59), the path (51),
    # the checksum (64); not the id (39), nor the note (153), shortened to 40 columns
    assert {c for c in classes if "wider" in classes[c]} == {"title_en", "publisher_en", "path", "sha256"}


def test_the_style_gives_wide_cells_room_on_a_wide_screen_and_breaks_long_words_everywhere():
    from bazhong_accounts.site.serve import templates_dir

    style = (templates_dir() / "_site_style.html").read_text(encoding="utf-8")
    everywhere, wide_screen = style.split("@media only screen and (min-width: 577px)")
    assert "td.wide { overflow-wrap: anywhere; }" in everywhere
    wide_screen = wide_screen.split("}\n  }", 1)[0]
    assert re.search(r"td\.wide \{ min-width: \d+em; \}", wide_screen)
