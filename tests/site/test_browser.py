"""The site in a real browser: `bazhong-accounts serve`, as `make serve` runs it, driven by Playwright
with Debian's chromium-headless-shell (Chromium's headless browser: the same Blink as the full
browser's headless mode, for a quarter less CPU: 18 against 24 CPU seconds for this module). Chinese
by default, English with ?_lang=en and the switch; search, the over-budget question, axe-core (from
npm, run inside the page), phone width, and no request leaving the site. Screenshots of each page
type at desktop and phone size go to test-artifacts/screenshots/."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_site_i18n import ENGLISH, PAGES
from site_support import ROOT, csv_rows

from bazhong_accounts.site.serve import wait_until_serving

CHROMIUM = "/usr/bin/chromium-headless-shell"
SHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 375, "height": 812}
COMPARISON = "/-/compare/bazhong-govt-office/2018/bazhong-govt-office/2018"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(site_db):
    """`bazhong-accounts serve`, started: (its address, the process). Chromium starts while it boots."""
    port = _free_port()
    command = [str(Path(sys.executable).parent / "bazhong-accounts"), "serve", "--db", str(site_db),
               "--port", str(port), "--workers", "1"]  # one worker: the other core runs the other tests
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_for(server) -> str:
    base, proc = server
    if not wait_until_serving(base, proc, timeout=60):
        said = proc.stdout.read() if proc.poll() is not None else "timeout"
        pytest.fail(f"bazhong-accounts serve did not start: {said}")
    return base


@pytest.fixture(scope="module")
def site(server, browser):
    """The address of the site, serving (the browser fixture waited for it)."""
    return server[0]


class Browser:
    """One Chromium page, with every request URL it made (to check none leaves the site)."""

    def __init__(self, context, page):
        self.context, self.page, self.requests = context, page, []
        page.on("request", lambda r: self.requests.append(r.url))

    def open(self, url: str, size=None):
        self.page.set_viewport_size(size or {"width": 1280, "height": 900})
        self.page.goto(url, wait_until="domcontentloaded")
        return self.page


@pytest.fixture(scope="module")
def browser(server):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium-headless-shell "
                    "(apt-get install -y chromium-headless-shell fonts-noto-cjk); .ci/run does this")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = chromium.new_context(locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15000)
        b = Browser(context, page)
        site = wait_for(server)
        yield b
        chromium.close()
        outside = [u for u in b.requests if not u.startswith(site) and not u.startswith("data:")]
        assert outside == [], f"requests that left the site: {outside[:5]}"


def visible(page) -> str:
    """The page's text and its buttons' labels."""
    return page.inner_text("body") + " " + " ".join(page.locator("input[type=submit]").evaluate_all(
        "els => els.map(e => e.value)"))


def test_every_page_type_in_both_languages_with_screenshots(site, browser):
    browser.context.clear_cookies()
    for kind, (path, english) in PAGES.items():
        name = kind.replace(" ", "-")
        page = browser.open(site + path)
        assert page.locator("html").get_attribute("lang") == "zh-CN", kind
        text = visible(page)  # once a page: each call is two round trips to the browser
        shown = [s for s in ENGLISH if s in text]
        assert shown == [], f"{kind}: English interface text in Chinese mode: {shown}"
        page.screenshot(path=SHOTS / f"{name}-zh-desktop.png")
        page.set_viewport_size(PHONE)  # the same page reflowed at phone width
        page.screenshot(path=SHOTS / f"{name}-zh-phone.png")
        page = browser.open(site + path + ("&" if "?" in path else "?") + "_lang=en")
        text = visible(page)
        missing = [s for s in english if s not in text]
        assert missing == [], f"{kind}: missing with ?_lang=en: {missing}"
        browser.context.clear_cookies()


def test_the_switch_persists(site, browser):
    browser.context.clear_cookies()
    page = browser.open(site + "/bazhong/income")
    page.click("a.lang-switch")
    page.wait_for_url(re.compile(r"_lang=en"))
    assert "Powered by" in page.inner_text("body")
    page = browser.open(site + "/bazhong/projects")  # no ?_lang: the cookie decides
    assert page.locator("html").get_attribute("lang") == "en" and "Powered by" in page.inner_text("body")
    page.click("a.lang-switch")
    page.wait_for_url(re.compile(r"_lang=zh"))
    page = browser.open(site + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN" and "技术支持" in page.inner_text("body")


def test_column_headers_are_chinese(site, browser):
    browser.context.clear_cookies()
    page = browser.open(site + "/bazhong/three_public_expenses")
    heads = page.locator("th[data-column]").all_inner_texts()
    fields = json.loads((ROOT / "schemas" / "three_public_expenses.json").read_text(encoding="utf-8"))["fields"]
    for f in fields:
        assert any(f["title"].split(" / ")[0] in h and f["name"] in h for h in heads), f["name"]
    # the column menu Datasette's JavaScript draws
    page.locator('th[data-column="amount"] .dropdown-menu-icon').click()
    menu = page.locator(".dropdown-menu").last
    assert "升序排列" in menu.inner_text() and "Sort ascending" not in menu.inner_text()


@pytest.mark.parametrize("word,row", [("三公", "“三公”经费"), ("接待", "公务接待费"),
                                      ("电子政务云", "电子政务云政府购买服务经费")])
def test_the_search_box_finds_short_words(site, browser, word, row):
    page = browser.open(site + "/")
    page.fill("#site-search-q", word)
    page.press("#site-search-q", "Enter")
    page.wait_for_url(re.compile(r"/-/search\?q="))
    assert page.locator(f'td a:has-text("{row}")').count() >= 1
    if word == "接待":
        page.screenshot(path=SHOTS / "search-jiedai.png", full_page=True)
        page.locator('td a:has-text("公务接待费")').first.click()
        page.wait_for_url(re.compile(r"/bazhong/three_public_expenses/"))
        assert "公务接待费" in page.inner_text("body")


def test_over_budget_lists_the_special_inspection(site, browser):
    project = next(r for r in csv_rows("projects") if r["name_zh"] == "专项督查督办经费")
    page = browser.open(site + "/bazhong/budget_deviation")
    row = page.locator('tr:has-text("专项督查督办经费")')
    assert row.count() == 1
    text = row.inner_text()
    assert f"{project['executed']}" in text and f"{project['budget'].normalize():f}" in text
    # the answer comes before the SQL, which is collapsed
    assert page.locator("details.query-sql").get_attribute("open") is None


@pytest.mark.parametrize("path", ["/", "/bazhong", "/bazhong/indicators?category=work_output",
                                  "/bazhong/budget_deviation", "/-/search?q=%E6%8E%A5%E5%BE%85", "/charts",
                                  "/-/report/bazhong-govt-office/2018", COMPARISON])
def test_no_serious_accessibility_violations(site, browser, path):
    page = browser.open(site + path)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                           ".map(v => ({id: v.id, impact: v.impact, n: v.nodes.length, "
                           "target: v.nodes[0].target.join(' ')}))")
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert bad == [], bad


@pytest.mark.parametrize("path, name", [("/", "home"), ("/-/report/bazhong-govt-office/2018", "report-card"),
                                        (COMPARISON, "comparison")])
def test_home_report_card_and_comparison_fit_a_phone(site, browser, path, name):
    page = browser.open(site + path, PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=SHOTS / f"{name}-phone-full.png", full_page=True)
    assert width <= PHONE["width"], width


def before_text(page, selector: str) -> list[str]:
    """What each matching cell shows before its content (its ::before), as the reader sees it."""
    return page.locator(selector).evaluate_all(
        "els => els.map(e => getComputedStyle(e, '::before').content.replace(/^\"|\"$/g, ''))")


def test_on_a_phone_each_report_card_figure_says_which_figure_it_is(site, browser):
    """财政拨款收入总计: 2524.97, 370.14 and 17.18, each under its own column title."""
    row = next(r for r in csv_rows("income") if r["item_id"] == "fiscal_total")
    fields = json.loads((ROOT / "schemas" / "income.json").read_text(encoding="utf-8"))["fields"]
    titles = {f["name"]: f["title"].split(" / ")[0] for f in fields}
    page = browser.open(site + "/-/report/bazhong-govt-office/2018", PHONE)
    tr = f'#income tr:has(a:text-is("{row["name_zh"]}"))'
    shown = dict(zip(page.locator(f"{tr} td").all_inner_texts(), before_text(page, f"{tr} td"), strict=True))
    for column in ("amount", "change_amount", "change_pct"):
        assert shown[f"{row[column]}"] == titles[column], (column, shown)
    page.locator(tr).screenshot(path=SHOTS / "report-card-row-phone.png")
    page = browser.open(site + "/-/report/bazhong-govt-office/2018")  # at desktop width: a plain table
    assert set(before_text(page, f"{tr} td")) == {"none"}


def test_table_filtered_by_a_facet(site, browser):
    rows = csv_rows("indicators")
    category = max({r["category"] for r in rows}, key=lambda c: sum(r["category"] == c for r in rows))
    n = sum(r["category"] == category for r in rows)
    page = browser.open(site + "/bazhong/indicators")
    page.locator(f'.facet-info a:has-text("{category}")').first.click()
    page.wait_for_url(re.compile(rf"category={category}"))
    body = page.inner_text("body")
    assert f"{n} 行" in body and "其他指标" in body
    first = next(r for r in rows if r["category"] == category)
    assert first["name_zh"] in body


def test_canned_query(site, browser):
    rows = [r for r in csv_rows("three_public_expenses") if r["change_amount"] is not None]
    page = browser.open(site + "/bazhong/three_public_vs_prior")
    body = page.inner_text("body")
    assert "“三公”经费与上年比较" in body
    for r in rows:
        assert r["name_zh"] in body and str(r["amount"] - r["change_amount"]) in body


def test_charts_are_drawn_in_the_browser_with_exact_values(site, browser):
    page = browser.open(site + "/charts")
    page.wait_for_function("window.bazhongCharts && window.bazhongCharts.length === 7")
    # a PNG still loading is not yet complete; a broken one is complete with no width
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    widths = page.locator("img").evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert len(widths) == 7 and all(w > 0 for w in widths), widths  # the PNGs stay as the fallback
    assert "图5 一般公共预算财政拨款支出决算变动情况" in page.inner_text("body")
    # 图7: its largest bar, hovered, shows the exact amount of the CSV
    parts = sorted((r for r in csv_rows("three_public_expenses") if r["parent_item_id"] == "total"),
                   key=lambda r: -r["amount"])
    want = f"{parts[0]['amount']} 万元"
    tip = page.locator("figure[id^=fig7] .chart-tooltip")
    for _ in range(3):  # the page may still be settling (fonts, scrolling): aim again
        box = page.evaluate("""() => {
            const chart = window.bazhongCharts[6];
            chart.canvas.scrollIntoView({block: "center"});
            const bar = chart.getDatasetMeta(0).data[0], r = chart.canvas.getBoundingClientRect();
            return {x: r.left + (bar.x + bar.base) / 2, y: r.top + bar.y};
        }""")
        page.mouse.move(box["x"] - 20, box["y"] - 5)
        page.mouse.move(box["x"], box["y"], steps=4)
        if want in tip.inner_text():
            break
        page.wait_for_timeout(300)
    assert parts[0]["name_zh"] in tip.inner_text() and want in tip.inner_text(), tip.inner_text()
    page.screenshot(path=SHOTS / "charts-hover.png")
    # 图1 by keyboard: the first bar is the 2017 total income (printed, or amount - change)
    total = next(r for r in csv_rows("income") if r["item_id"] == "total")
    prior = total["prior_year_amount"] or total["amount"] - total["change_amount"]
    page.focus("figure[id^=fig1] canvas")
    page.keyboard.press("ArrowRight")
    assert f"{prior} 万元" in page.locator("figure[id^=fig1] .chart-tooltip").inner_text()
    outside = [u for u in browser.requests if "chart" in u and not u.startswith(site)]
    assert outside == []  # the charting library comes from the site


@pytest.mark.parametrize("size", [None, PHONE], ids=["desktop", "phone"])
def test_parts_are_indented_under_their_parent(site, browser, size):
    """收入总计 › 本年收入合计 › 事业收入: each one step further right, at both sizes."""
    page = browser.open(site + "/bazhong/income", size)
    lefts = [page.locator(f'td.col-name_zh:text-is("{name}")').evaluate(
        "td => { const r = document.createRange(); r.selectNodeContents(td.lastChild);"
        " return r.getBoundingClientRect().left - td.getBoundingClientRect().left; }")
        for name in ("收入总计", "本年收入合计", "事业收入")]
    assert lefts[0] < lefts[1] < lefts[2], lefts
    page.screenshot(path=SHOTS / f"income-tree-{'phone' if size else 'desktop'}.png")
    if size:  # and the indent costs no horizontal scrolling
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_linked_source_name_wraps_into_two_lines_at_most(site, browser, lang):
    """source_id and department show the other row's name, linked, and its key: given a minimum width
    (was 83 px wide in English, the source's full name in 9 lines, rows 225 px tall)."""
    page = browser.open(f"{site}/bazhong/expenditure_by_function?level=1&_lang={lang}")
    # lines: the rectangles' distinct tops (English text that wraps at a space has one more rectangle,
    # the space's, at the end of its first line)
    lines = page.locator("table.rows-and-columns tbody tr:first-child td.linked a").evaluate_all(
        "links => links.map(a => new Set([...a.getClientRects()].map(r => Math.round(r.top))).size)")
    assert len(lines) == 2 and max(lines) <= 2, lines


ROW_HEIGHTS = ("() => [...document.querySelectorAll('table.rows-and-columns tbody tr')]"
               ".map(tr => tr.getBoundingClientRect().height)")
OVERFLOW = "() => { const w = document.querySelector('.table-wrapper'); return w.scrollWidth - w.clientWidth; }"


@pytest.mark.parametrize("table, lang", [("sources", "zh"), ("sources", "en"), ("three_public_expenses", "zh")])
def test_a_tables_rows_are_a_few_lines_and_fit_a_phone(site, browser, table, lang):
    """At 1280 px the source's row was 225 px (English) and 249 px (Chinese) tall, its title and id in
    columns as narrow as their longest word; 公务用车运行维护费, indented, a character a line (225 px).
    On a phone the source's checksum ran 205 px out of its card."""
    page = browser.open(f"{site}/bazhong/{table}?_lang={lang}")
    line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('tbody td')).lineHeight)")
    assert max(page.evaluate(ROW_HEIGHTS)) <= 5 * line, (page.evaluate(ROW_HEIGHTS), line)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # the table scrolls in its frame
    page.set_viewport_size(PHONE)
    assert page.evaluate(OVERFLOW) <= 0


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", ["/bazhong/errata", "/bazhong/errata/2018,bazhong-govt-office,cloud_systems_count"])
def test_errata_in_both_explanations_scroll_no_page_sideways(site, browser, path, lang):
    """explanation_zh beside explanation_en: the page never scrolls sideways, on a desktop (the
    table scrolls in its frame) or on a phone (each row a card)."""
    for size in ({"width": 1280, "height": 900}, PHONE):
        page = browser.open(f"{site}{path}?_lang={lang}", size)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], size
        if size is PHONE:
            assert page.evaluate(OVERFLOW) <= 0


def test_compound_keys_fit_a_phone(site, browser):
    page = browser.open(f"{site}/bazhong/figure_sources", PHONE)  # its keys ran 181 px out of their cards
    assert page.evaluate(OVERFLOW) <= 0


@pytest.mark.parametrize("path", ["/bazhong", "/bazhong/income", "/bazhong?sql=selec+1"])
def test_on_a_phone_a_form_label_is_one_line(site, browser, path):
    """Datasette gives every form label 15% of the line: "Custom SQL query" and "Search this table:"
    were 3 to 4 lines on a phone, the error page's "Edit the query and run it again:" 6."""
    page = browser.open(f"{site}{path}{'&' if '?' in path else '?'}_lang=en", PHONE)
    heights = page.locator("main label:not(.visually-hidden):not(.small-screen-only)").evaluate_all(
        "labels => labels.map(l => l.getBoundingClientRect().height / parseFloat(getComputedStyle(l).lineHeight))")
    assert heights and max(heights) < 2, heights


def test_on_a_phone_a_long_title_takes_less_than_a_third_of_the_screen(site, browser):
    """The English comparison's title, two department names, was 8 lines of 2rem: 384 of 812 px."""
    page = browser.open(f"{site}{COMPARISON}?_lang=en", PHONE)
    height = page.locator("h1").evaluate("h => h.getBoundingClientRect().height")
    assert height < PHONE["height"] / 3, height


def test_on_a_phone_every_english_chart_name_is_shown_whole(site, browser):
    """Chart.js cut the long English names at the canvas's left edge (Fig. 2's widest was 275 px on an
    axis of 188) and skipped those that did not fit."""
    page = browser.open(f"{site}/charts?_lang=en", PHONE)
    page.wait_for_function("window.bazhongCharts && window.bazhongCharts.length === 7")
    axes = page.evaluate("""() => window.bazhongCharts.map(chart => {
        const axis = chart.scales[chart.options.indexAxis], ctx = chart.ctx;
        ctx.save();
        ctx.font = Chart.helpers.toFont(axis.options.ticks.font).string;
        const widest = Math.max(...axis.ticks.flatMap(t => [].concat(t.label)).map(l => ctx.measureText(l).width));
        ctx.restore();
        return {names: chart.data.labels.length, shown: axis.ticks.length, widest, room: axis.width};
    })""")
    for axis in axes:
        assert axis["shown"] == axis["names"] and axis["widest"] <= axis["room"], axes


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_row_page_shows_a_line_a_column_with_its_title(site, browser, lang):
    """A row page was a table of one row, 2,000 px wide for a source: now a line a column, its title
    beside it, within the screen."""
    fields = json.loads((ROOT / "schemas" / "sources.json").read_text(encoding="utf-8"))["fields"]
    titles = [f["title"].split(" / ")[0 if lang == "zh" else -1] for f in fields]
    source = csv_rows("sources")[0]
    page = browser.open(f"{site}/bazhong/sources/{source['source_id']}?_lang={lang}")
    assert sorted(before_text(page, "table.rows-and-columns td")) == sorted(titles)
    assert page.evaluate(OVERFLOW) <= 0
