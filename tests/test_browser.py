"""The site in a real browser: `bazhong-accounts serve`, as `make serve` runs it, driven by Playwright
with Debian's chromium. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bazhong_accounts.site.serve import wait_until_serving
from test_site_support import ROOT, csv_rows

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(site_db):
    port = _free_port()
    command = [str(Path(sys.executable).parent / "bazhong-accounts"), "serve", "--db", str(site_db),
               "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_serving(base, proc, timeout=20):
            said = proc.stdout.read() if proc.poll() is not None else "timeout"
            pytest.fail(f"bazhong-accounts serve did not start: {said}")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium fonts-noto-cjk); "
                    ".ci/run does this")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        pg.set_default_timeout(15000)
        yield pg
        browser.close()


def test_home_page(site, page):
    page.goto(site + "/")
    page.screenshot(path=SHOTS / "home.png", full_page=True)
    body = page.inner_text("body")
    assert "巴中市部门决算" in body and "图表 / Charts" in body
    assert "“三公”经费与上年比较" in body  # a canned query linked from the home page
    assert page.locator('a[href="/charts"]').count() >= 1


def test_table_filtered_by_a_facet(site, page):
    rows = csv_rows("indicators")
    category = max({r["category"] for r in rows}, key=lambda c: sum(r["category"] == c for r in rows))
    n = sum(r["category"] == category for r in rows)
    page.goto(site + "/bazhong/indicators")
    page.locator(f'.facet-info a:has-text("{category}")').first.click()
    page.wait_for_url(re.compile(rf"category={category}"))
    page.screenshot(path=SHOTS / "indicators-facet.png")
    body = page.inner_text("body")
    assert f"{n} row" in body and "其他指标" in body
    first = next(r for r in rows if r["category"] == category)
    assert first["name_zh"] in body


def test_canned_query(site, page):
    rows = [r for r in csv_rows("three_public_expenses") if r["change_amount"] is not None]
    page.goto(site + "/bazhong/three_public_vs_prior")
    page.screenshot(path=SHOTS / "three-public-vs-prior.png")
    body = page.inner_text("body")
    assert "“三公”经费与上年比较" in body
    for r in rows:
        assert r["name_zh"] in body and str(r["amount"] - r["change_amount"]) in body


def test_charts_page_images_load(site, page):
    page.goto(site + "/charts")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=SHOTS / "charts.png", full_page=True)
    images = page.locator("img")
    assert images.count() == 7
    widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert all(w > 0 for w in widths), widths
    assert "图5 一般公共预算财政拨款支出决算变动情况" in page.inner_text("body")


def test_full_text_search_for_a_chinese_word(site, page):
    word = "财政拨款"
    want = [r for r in csv_rows("glossary")
            if word in r["term_zh"] + r["term_en"] + r["definition_zh"] + r["source_quote"]]
    page.goto(site + "/bazhong/glossary")
    page.fill('input[name="_search"]', word)
    page.press('input[name="_search"]', "Enter")
    page.wait_for_url(re.compile(r"_search="))
    page.screenshot(path=SHOTS / "glossary-search.png")
    body = page.inner_text("body")
    assert want and f"{len(want)} row" in body
    assert all(r["term_zh"] in body for r in want)


def test_annotated_report_to_row_and_back(site, page):
    """Click a marked figure of /report/<source_id>, land on its row; follow the row's link back
    to the highlighted passage (issue 11)."""
    spans = [r for r in csv_rows("figure_sources") if r["row_key"] == "reception_batches"]
    first = min(spans, key=lambda r: r["start"])
    page.goto(site + "/report/bazhong-govt-office-2018-final-accounts")
    page.screenshot(path=SHOTS / "report.png")
    mark = page.locator(f"#f-{first['start']}")
    assert mark.inner_text() == first["printed"]
    assert "three_public_expenses_counts · value = 39" in mark.get_attribute("title")
    mark.click()
    page.wait_for_url(re.compile(r"/bazhong/three_public_expenses_counts/2018,bazhong-govt-office,reception_batches"))
    page.screenshot(path=SHOTS / "report-row.png")
    assert "国内公务接待批次" in page.inner_text("body")
    page.locator("a.to-report").first.click()
    page.wait_for_url(re.compile(r"/report/bazhong-govt-office-2018-final-accounts\?row="))
    page.screenshot(path=SHOTS / "report-highlighted.png")
    highlighted = page.locator("a.fig.hl")
    assert highlighted.count() == len(spans)
    assert highlighted.first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 225, 77)"
