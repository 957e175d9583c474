"""site/cache.py: the permission shortcut keeps Datasette's answers (a table restricted by `allow`
stays restricted), and the warming fetches the site's own pages from the home page."""

from __future__ import annotations

import asyncio

from bazhong_accounts.site import cache
from bazhong_accounts.site.serve import make_datasette


def test_table_rules_sees_an_allow_block_anywhere_it_can_stand():
    assert not cache.table_rules({"databases": {"bazhong": {"tables": {"income": {"title": "x"}}}}}, "bazhong")
    assert cache.table_rules({"databases": {"bazhong": {"tables": {"income": {"allow": {"id": "a"}}}}}}, "bazhong")
    assert cache.table_rules({"tables": {"income": {"allow": False}}}, "bazhong")
    assert cache.table_rules({"databases": {"bazhong": {"tables": {"income": "odd"}}}}, "bazhong")
    assert not cache.table_rules({"databases": {"other": {"tables": {"t": {"allow": False}}}}}, "bazhong")


def test_the_lookup_answers_as_datasette_does(site_db):
    import json

    metadata = json.loads((site_db.parent / "metadata.json").read_text(encoding="utf-8"))
    open_ds = make_datasette([site_db])
    expected = open_ds._table_permission_allows("bazhong", "income")
    cache.memoize_table_permissions(open_ds)
    assert open_ds._table_permission_allows("bazhong", "income") == expected == []
    # a restricted table: the memoized lookup still says what Datasette says, and the page is refused
    metadata["databases"]["bazhong"].setdefault("tables", {}).setdefault("income", {})["allow"] = {"id": "nobody"}
    closed = make_datasette([site_db], metadata=metadata)
    asyncio.run(closed.invoke_startup())  # the startup hook memoizes
    assert hasattr(closed._table_permission_allows, "cache_info")
    assert closed._table_permission_allows("bazhong", "income") == [{"id": "nobody"}]
    assert asyncio.run(closed.client.get("/bazhong/income")).status_code == 403
    assert asyncio.run(closed.client.get("/bazhong/errata")).status_code == 200


def test_warming_fetches_the_pages_linked_from_home():
    html = ('<a href="/">home</a> <a href="/bazhong/income">t</a> <a href="/-/static/app.css">css</a> '
            '<a href="/?_lang=en">en</a> <a href="https://example.org/">out</a> <a href="//cdn/x">cdn</a> '
            '<a href="/archive/a.txt">src</a> <a href="/bazhong/income">again</a>')
    assert cache.pages_linked_from(html) == ["/", "/bazhong/income", cache.WARM_SEARCH]
