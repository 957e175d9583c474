"""Issue 11: every figure located in the report, every number accounted for, and the corrections
an independent read of the package found. Expected values come from the archived report or the
data, never from the module under test; mutation cases run the validator in-process on a broken
copy of the package."""

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import made_once_shared, read_rows, write_rows
from bazhong_accounts.checks.provenance import explanation_numbers, explanations_problem

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "archive/bazhong-govt-office-2018-final-accounts.txt"
TEXT = (ROOT / SOURCE).read_bytes().decode("utf-8")


def rows(name: str, root: Path = ROOT) -> list[dict]:
    with open(root / "data" / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def by(name: str, key: str) -> dict:
    return {r[key]: r for r in rows(name)}


# ---------------------------------------------------------------- corrections of the audit


def test_decreases_printed_as_降低_or_下降_are_negative():
    """Every indicator whose quote prints 降低/下降 right before its value carries it negative,
    as the package's own convention does for change_pct (下降11.21% -> -11.21)."""
    seen = 0
    for r in rows("indicators"):
        magnitude = format(abs(Decimal(r["value"])).normalize(), "f")
        if re.search(rf"(降低|下降){re.escape(magnitude)}%", r["source_quote"]):
            seen += 1
            assert Decimal(r["value"]) < 0, f"{r['metric_id']}: printed as a decrease, carried {r['value']}"
    assert seen >= 2  # documents_issued_change_pct and meetings_change_pct at least
    ind = by("indicators", "metric_id")
    assert Decimal(ind["documents_issued_change_pct"]["value"]) == Decimal("-13.9")
    assert Decimal(ind["meetings_change_pct"]["value"]) == Decimal("-3")


def test_kpi_numbers_are_printed_in_their_own_cell():
    """A KPI figure stands in the cell it belongs to: actual_number inside actual_zh, expected
    inside expected_zh (the cloud table prints 131 in the 三级指标 cell; 实际完成指标值 is empty)."""
    for r in rows("project_kpis"):
        for num, cell in (("actual_number", "actual_zh"), ("expected_number", "expected_zh")):
            if r[num]:
                assert r[num] in r[cell], f"{r['project_id']}|{r['row_no']}: {num} {r[num]} not in {cell}"
    row7 = next(r for r in rows("project_kpis") if r["project_id"] == "e_government_cloud" and r["row_no"] == "7")
    assert row7["actual_number"] == "" and "131" in row7["level3_zh"]


def test_cloud_systems_erratum_points_at_where_131_is():
    e = by("errata", "erratum_id")["cloud_systems_count"]
    assert "level3_zh" in e["explanation_en"] and "actual_number = 131" not in e["explanation_en"]
    assert e["quote_other"] in TEXT and "131" in e["quote_other"]
    carried = by("indicators", "metric_id")
    assert carried["systems_running_on_cloud"]["value"] == "131"


def test_ranks_have_rank_units():
    """第6名, 第一位: a rank, not persons."""
    for r in rows("indicators"):
        if re.search(r"第\S{1,3}[名位]", r["source_quote"]) and r["unit_zh"] in ("名", "位"):
            if re.search(rf"第({r['value']}|[一二三四五六七八九十]+)({r['unit_zh']})", r["source_quote"]):
                assert r["unit_en"] == "rank", r["metric_id"]
    assert by("indicators", "metric_id")["website_performance_rank_sichuan"]["unit_en"] == "rank"


def test_one_fact_one_row():
    """The 39 reception batches, the 10 vehicles held and the cloud funds 496.8/65.4 each live in
    one row; the duplicates are gone (their resource descriptions say where the fact lives)."""
    ind = by("indicators", "metric_id")
    for gone in ("visiting_delegations_received", "vehicles_held", "cloud_funds_allocated", "cloud_funds_paid"):
        assert gone not in ind
    counts = by("three_public_expenses_counts", "count_id")
    assert counts["reception_batches"]["value"] == "39" and counts["vehicles"]["value"] == "10"
    assert all(r["amount"] != "496.8" for r in rows("events"))
    cloud = by("projects", "project_id")["e_government_cloud"]
    assert (cloud["budget"], cloud["executed"]) == ("496.8", "65.4")
    fig = rows("figure_sources")
    where = {(f["resource"], f["row_key"], f["column"]) for f in fig if f["printed"] == "39"}
    assert where == {("three_public_expenses_counts", "reception_batches", "value")}


@pytest.mark.parametrize("metric_id, printed, value", [
    ("website_commendation_consecutive_years", "连续三年", "3"),
    ("provincial_livelihood_projects", "十项民生工程", "10"),
    ("city_livelihood_matters", "十件民生实事", "10"),
    ("poverty_relending_rank_sichuan", "第一位", "1"),
    ("relocation_loan_balance_rank_sichuan", "第二位", "2"),
])
def test_figures_in_chinese_numerals_are_rows(metric_id, printed, value):
    r = by("indicators", "metric_id")[metric_id]
    assert printed in TEXT and printed in r["source_quote"] and r["value"] == value


def test_new_errata_with_kinds_and_doubtful_ones_said_so():
    e = by("errata", "erratum_id")
    assert e["carry_over_does_not_chain"]["kind"] == "balance_does_not_chain"
    # the 2017 year-end balance implied by the printed totals and changes
    implied = (Decimal("3200.67") - Decimal("545.53")) - (Decimal("2351.13") - Decimal("81.71"))
    assert Decimal(e["carry_over_does_not_chain"]["value_other"]) == implied == Decimal("385.72")
    assert "年初结转和结余675.7万元" in TEXT and "支出总计增加81.71万元" in TEXT and "收入总计增加545.53万元" in TEXT
    assert e["other_funds_vs_all_general_budget"]["kind"] == "fund_source_mismatch"
    assert "其他资金:\n\t1.32万元" in TEXT
    assert e["operating_costs_wage_explanation"]["kind"] == "explanation_contradicts_definition"
    for eid in ("carry_over_does_not_chain", "other_funds_vs_all_general_budget", "operating_costs_wage_explanation"):
        assert e[eid]["explanation_en"].startswith("Contradiction"), eid
    for eid in ("inspection_activities_count", "special_inspection_completion_rate"):
        assert e[eid]["explanation_en"].startswith("Doubtful"), eid
        assert e[eid]["explanation_zh"].startswith("存疑，并非已证实的矛盾"), eid
    for eid in ("carry_over_does_not_chain", "other_funds_vs_all_general_budget", "operating_costs_wage_explanation"):
        assert e[eid]["explanation_zh"].startswith("矛盾："), eid


def test_every_erratum_is_explained_in_chinese_with_the_numbers_of_the_english():
    """Chinese pages showed the English explanation: each erratum has its own Chinese one, which
    cites the English one's numbers as written, each as often (provenance.explanation_numbers)."""
    rows = list(by("errata", "erratum_id").values())
    assert rows
    for r in rows:
        zh = r["explanation_zh"]
        assert re.search(r"[\u4e00-\u9fff]", zh) and zh != r["explanation_en"], r["erratum_id"]
        assert explanation_numbers(zh) == explanation_numbers(r["explanation_en"]), r["erratum_id"]


@pytest.mark.parametrize(("text", "numbers"), [
    ("增加545.53 → 2655.14，675.7万元，2.7753%", ["2.7753", "2655.14", "545.53", "675.7"]),
    ("675.70 is not 675.7", ["675.7", "675.70"]),  # decimals as written: a translation repeats them
    ("100余次 (100-odd) 第7行 e_government_cloud|7", ["100", "7", "7"]),  # 100-odd: an English word
    ("三级指标 (level-3 indicator), level3_zh, 五项", []),  # words and Chinese numerals are not numbers
    ("６７５.７万元, (8 + 0), −2.89", ["0", "2.89", "675.7", "8"]),  # full-width digits; sign aside
])
def test_the_numbers_an_explanation_cites(text, numbers):
    assert explanation_numbers(text) == numbers


def test_explanations_citing_different_numbers_say_which():
    assert explanations_problem("结余385.72万元，印为675.7万元", "385.72, printed as 675.7") is None
    assert explanations_problem("结余385.27万元", "a balance of 385.72万元 (2017)") == (
        "explanation_zh and explanation_en cite different numbers: only in explanation_zh: 385.27; "
        "only in explanation_en: 2017, 385.72")
    twice = explanations_problem("675.7，675.7", "675.7")
    assert twice and twice.endswith("only in explanation_zh: 675.7; only in explanation_en: none")


def test_names_and_texts_as_printed():
    """Event names and project texts are verbatim substrings of the report (no condensing, no
    dropped blank line)."""
    for r in rows("events"):
        assert r["name_zh"] in TEXT, r["event_id"]
    for r in rows("projects"):
        for col in ("expected_goal_zh", "achieved_goal_zh", "outcome_zh", "problems_zh", "improvements_zh"):
            if r[col]:
                assert r[col] in TEXT, (r["project_id"], col)


@pytest.mark.parametrize("printed, value, unit", [
    ("减少2.89万元", "-2.89", "万元"), ("下降11.21%", "-11.21", "%"), ("增长3.6%", "3.6", "%"),
    ("减少 2.89 万元", "-2.89", "万元"), ("下降\n  11.21%", "-11.21", "%"),  # a PDF's layout between them
    ("13.16 %", "13.16", "%"), ("44.95亿元", "44.95", "亿元"), ("２５２４.９７", "2524.97", None),
    ("三", "3", None), ("十", "10", None), ("十九", "19", None), ("二十", "20", None), ("一百零八", "108", None),
])
def test_what_a_span_states(printed, value, unit):
    from bazhong_accounts.checks.figure_sources import parse_printed

    p = parse_printed(printed)
    assert (p.value, p.unit) == (Decimal(value), unit)


@pytest.mark.parametrize("printed", ["2.89万", "约3%", "3.6%。", "", "减少"])
def test_a_span_that_is_not_one_number_is_refused(printed):
    from bazhong_accounts.checks.figure_sources import parse_printed

    assert parse_printed(printed) is None


# ---------------------------------------------------------------- the validator on broken copies


def problems(pkg: Path) -> list[str]:
    from bazhong_accounts.checks.validate import collect

    result = collect(pkg)
    return [str(p) for p in result.report.problems]


def where_in_source(start: int) -> tuple[int, int]:
    """1-based line and column of TEXT[start], computed here, not by the module under test."""
    line = TEXT.count("\n", 0, start) + 1
    return line, start - (TEXT.rfind("\n", 0, start) + 1) + 1


def span_row(rows_, resource, row_key, column):
    want = (resource, row_key, column)
    return next(i for i, r in enumerate(rows_) if (r["resource"], r["row_key"], r["column"]) == want)


@pytest.fixture(scope="module")
def real_run(validated_root):
    """`validate` on the package itself, in-process: (exit code, output)."""
    return validated_root.returncode, validated_root.stdout


def test_the_real_package_accounts_for_every_number(real_run):
    code, out = real_run
    numbers = re.search(r"numbers in the report: (\d+) of (\d+) accounted for \(100 %\)", out)
    assert code == 0 and numbers, out[-800:]
    assert numbers.group(1) == numbers.group(2)
    # every span and non-figure is one of the numbers counted, and none is counted twice
    located = {int(r["start"]) for r in rows("non_figures")} | {int(r["start"]) for r in rows("figure_sources")}
    assert int(numbers.group(2)) <= len(located)


# Each case breaks one thing in one copy of the package (the cases touch different rows; the one
# that deletes rows runs first so that the others' line numbers hold), the validator runs once on
# it, and each test looks for its own message: file, line and column.
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


@case
def figure_cell_without_span(pkg):
    header, fs, _ = read_rows(pkg, "figure_sources")
    write_rows(pkg, "figure_sources", header, [r for r in fs if r["row_key"] != "arbitration_cases"])
    _, ind, lines = read_rows(pkg, "indicators")
    line = lines[next(i for i, r in enumerate(ind) if r["metric_id"] == "arbitration_cases")]
    return (f"data/indicators.csv:{line}: value: figure 14 has no span in data/figure_sources.csv: "
            "say where the report prints it")


@case
def shifted_span(pkg):
    header, fs, lines = read_rows(pkg, "figure_sources")
    i = span_row(fs, "three_public_expenses", "overseas", "share_pct")
    start, end = int(fs[i]["start"]) + 1, int(fs[i]["end"]) + 1
    fs[i]["start"], fs[i]["end"] = str(start), str(end)
    write_rows(pkg, "figure_sources", header, fs)
    return (f"data/figure_sources.csv:{lines[i]}: printed: the source has «{TEXT[start:end]}» at {start}..{end}, "
            "not «22.12%»")


@case
def printed_value_is_not_the_cell(pkg):
    """The span of internal_sections (14) points at another number: 72 staff."""
    header, fs, lines = read_rows(pkg, "figure_sources")
    i = span_row(fs, "indicators", "internal_sections", "value")
    at = TEXT.index("供给人员72人") + len("供给人员")
    fs[i].update(start=str(at), end=str(at + 2), printed="72")
    write_rows(pkg, "figure_sources", header, fs)
    return (f"data/figure_sources.csv:{lines[i]}: printed: «72» states 72, but indicators internal_sections `value` "
            "is 14 and no erratum of that cell gives 72")


@case
def sign_against_the_printed_decrease(pkg):
    """The audit's bug: 降低13.9% carried as +13.9."""
    header, ind, _ = read_rows(pkg, "indicators")
    next(r for r in ind if r["metric_id"] == "documents_issued_change_pct")["value"] = "13.9"
    write_rows(pkg, "indicators", header, ind)
    _, fs, lines = read_rows(pkg, "figure_sources")
    i = span_row(fs, "indicators", "documents_issued_change_pct", "value")
    return (f"data/figure_sources.csv:{lines[i]}: printed: «降低13.9%» states -13.9, but indicators "
            "documents_issued_change_pct `value` is 13.9 and no erratum of that cell gives -13.9")


@case
def number_left_unaccounted(pkg):
    header, nf, _ = read_rows(pkg, "non_figures")
    gone = next(r for r in nf if r["printed"] == "108")  # 第108次常务会议
    write_rows(pkg, "non_figures", header, [r for r in nf if r is not gone])
    assert TEXT[int(gone["start"]):int(gone["end"])] == "108"
    line, col = where_in_source(int(gone["start"]))
    return (f"{SOURCE}:{line}: col {col}: number «108» is neither a figure (data/figure_sources.csv) nor a "
            "non-figure (data/non_figures.csv) of bazhong-govt-office-2018-final-accounts: locate it or say why it "
            "is not a figure")


@case
def spans_disagree_without_erratum(pkg):
    """22.89 (detail paragraph) vs 22.9 carried: fine only while overseas_amount_two_ways covers it."""
    header, er, _ = read_rows(pkg, "errata")
    write_rows(pkg, "errata", header, [r for r in er if r["erratum_id"] != "overseas_amount_two_ways"])
    _, fs, lines = read_rows(pkg, "figure_sources")
    i = next(i for i, r in enumerate(fs) if r["row_key"] == "overseas" and r["printed"] == "22.89万元")
    return (f"data/figure_sources.csv:{lines[i]}: printed: «22.89万元» states 22.89, but three_public_expenses "
            "overseas `amount` is 22.9 and no erratum of that cell gives 22.89")


@case
def quote_excerpt_outside_the_passage(pkg):
    header, ind, lines = read_rows(pkg, "indicators")
    i = next(i for i, r in enumerate(ind) if r["metric_id"] == "cloud_monthly_reports")
    ind[i]["source_quote"] += " … 第三部分  名词解释"  # in the report, far from 运行月报12期
    write_rows(pkg, "indicators", header, ind)
    return (f"data/indicators.csv:{lines[i]}: source_quote: excerpt «第三部分  名词解释» is not in the passage of "
            "the row's figures (within 300 characters of a span in data/figure_sources.csv)")


@case
def printed_in_another_unit(pkg):
    """The span of reception's amount (9.82万元) moved onto its share, 9.49%."""
    header, fs, lines = read_rows(pkg, "figure_sources")
    i = span_row(fs, "three_public_expenses", "reception", "amount")
    at = TEXT.index("9.49%")
    fs[i].update(start=str(at), end=str(at + 5), printed="9.49%")
    write_rows(pkg, "figure_sources", header, fs)
    return (f"data/figure_sources.csv:{lines[i]}: printed: «9.49%» is in %, but three_public_expenses `amount` "
            "is in 万元")


@pytest.fixture(scope="session")
def broken(tmp_path_factory, copy_package):
    """Every case of CASES broken in one copy, validated; once per run (made_once_shared: worksteal
    splits this module's cases between the workers)."""
    def make():
        pkg = copy_package(tmp_path_factory.mktemp("broken") / "package")
        expected = {name: make(pkg) for name, make in CASES.items()}
        return expected, set(problems(pkg))

    return made_once_shared(tmp_path_factory, "figure-sources-broken", make)


@pytest.mark.parametrize("name", list(CASES))
def test_each_broken_rule_fails_with_file_line_column(broken, name):
    expected, found = broken
    near = sorted(p for p in found if "figure" in p or "col " in p)[:20]
    assert any(p.startswith(expected[name]) for p in found), "\n".join(near)


# ---------------------------------------------------------------- the annotated report on the site


@pytest.fixture(scope="module")
def ds(site_db):
    from site_support import datasette

    return datasette(site_db)


def page(ds, path: str) -> str:
    from site_support import get

    r = get(ds, path)
    assert r.status_code == 200, f"{path}: HTTP {r.status_code}"
    return r.text


def test_report_page_marks_every_figure_and_non_figure(ds):
    import html as html_lib

    body = page(ds, "/report/bazhong-govt-office-2018-final-accounts")
    fig, non = rows("figure_sources"), rows("non_figures")
    for f in fig:
        assert f'id="f-{f["start"]}"' in body, f
    assert all(f'id="n-{n["start"]}"' in body for n in non)
    # a figure links to its row page and names resource, column and value on hover
    s = next(f for f in fig if f["row_key"] == "overseas" and f["column"] == "change_amount")
    anchor = re.search(rf'<a id="f-{s["start"]}"[^>]*>', body).group()
    assert 'href="/bazhong/three_public_expenses/2018,bazhong-govt-office,overseas"' in anchor
    assert "three_public_expenses · change_amount = -2.89" in html_lib.unescape(anchor)
    # a number that is not a figure says why
    n = next(n for n in non if n["printed"] == "108")
    assert f'<span id="n-{n["start"]}" class="nf" tabindex="0" title="not a figure: meeting_number">108</span>' in body
    # the figure an erratum covers (22.89 printed for 22.9) is marked and links to the erratum
    odd = next(f for f in fig if f["printed"] == "22.89万元")
    anchor = re.search(rf'<a id="f-{odd["start"]}"[^>]*>.*?</a><a class="erratum-link" href="([^"]+)"', body)
    assert anchor and "erratum" in anchor.group() and anchor.group(1).endswith("overseas_amount_two_ways")
    # the text is the archived text: tags removed and entities decoded, the report comes back
    report = body.split('<div class="report" lang="zh-CN">')[1].split("</div>")[0]
    assert html_lib.unescape(re.sub(r"<[^>]+>", "", report)).replace("勘误", "") == TEXT


def test_report_page_is_titled_in_the_page_language(ds):
    """English pages titled the report in Chinese: now its English title, the Chinese beside; Chinese
    pages as they were."""
    import html as html_lib

    src = next(r for r in rows("sources") if r["source_id"] == "bazhong-govt-office-2018-final-accounts")
    en = page(ds, "/report/bazhong-govt-office-2018-final-accounts?_lang=en")
    english = html_lib.escape(src["title_en"])
    assert f"<title>{english} · annotated report</title>" in en
    assert f'<h1>{english} <small class="label-zh" lang="zh-CN">{src["title_zh"]}</small></h1>' in en
    zh = page(ds, "/report/bazhong-govt-office-2018-final-accounts")
    assert f"<title>{src['title_zh']} · 原文标注</title>" in zh and f"<h1>{src['title_zh']}</h1>" in zh
    assert src["title_en"] not in html_lib.unescape(zh)


def test_report_page_says_why_an_erratum_in_the_page_language(ds):
    """An erratum's mark says its explanation on hover: the Chinese one on a Chinese page, the
    English one on an English page (the link said 勘误 on both)."""
    import html as html_lib

    e = next(r for r in rows("errata") if r["erratum_id"] == "overseas_amount_two_ways")
    said = (("zh", "explanation_zh", "勘误 {id}：{why}"), ("en", "explanation_en", "Erratum {id}: {why}"))
    for lang, column, words in said:
        body = page(ds, "/report/bazhong-govt-office-2018-final-accounts" + ("?_lang=en" if lang == "en" else ""))
        link = re.search(r'<a class="erratum-link" href="[^"]*overseas_amount_two_ways" '
                         r'title="([^"]*)"[^>]*>([^<]*)</a>', body)
        assert link, lang
        assert html_lib.unescape(link.group(1)) == words.format(id=e["erratum_id"], why=e[column])
        assert link.group(2) == ("勘误" if lang == "zh" else "Erratum")


def test_report_page_unknown_source_is_a_404(ds):
    from site_support import get

    assert get(ds, "/report/no-such-report").status_code == 404


def test_row_page_links_back_to_the_highlighted_passage(ds):
    body = page(ds, "/bazhong/indicators/2018,bazhong-govt-office,arbitration_cases")
    s = next(f for f in rows("figure_sources") if f["row_key"] == "arbitration_cases")
    link = f'/report/bazhong-govt-office-2018-final-accounts?row=indicators%7Carbitration_cases#f-{s["start"]}'
    assert f'href="{link}"' in body
    back = page(ds, link.split("#")[0])
    assert re.search(rf'<a id="f-{s["start"]}" class="fig hl"', back)
