"""The work-output counts of the 部门概况 part as indicator drafts, and the reasons of Chinese
numerals that name rather than count (issue 12)."""

import textwrap
from pathlib import Path

import pytest

from bazhong_accounts.checks.figure_sources import numbers_in
from bazhong_accounts.extract.narrative import parse_narrative
from bazhong_accounts.extract.package import non_figure_reason

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "archive" / "bazhong-govt-office-2018-final-accounts.txt"

# counts closing their clause (件 次 篇, 余 and 以上), a count after a list marker, and the other
# quantities of the prose: a count right after another (12万多字), 45个学校 and 6个科室 (the noun
# follows), 第3名 (a rank); 25所 is no quantity (所: no unit of the report's quantities)
OVERVIEW = textwrap.dedent("""\
    通江县教育局2018年度部门决算
    第一部分  部门概况
    一、基本职能及主要工作
    全年处理请示报告120件，审核、制发公文86件。一是先后深入基层调研9次，撰写材料30余篇12万多字，每月下乡1次以上。全县共有学校25所。年内全县45个学校完成改造，全省排名第3名。
    二、机构设置
    内设6个科室。财政预算供给人员40人。
    第二部分  2018年度部门决算情况说明
    一、收入支出决算总体情况说明
    2018年度收、支总计各860.5万元。
    """)

WORK = "第一部分 部门概况 > 一、基本职能及主要工作"
EXPECTED = [  # metric_id, category, name_zh, value, unit_zh, qualifier, source_section
    ("count_overview_1_1", "work_output", "全年处理请示报告", "120", "件", "exact", WORK),
    ("count_overview_1_2", "work_output", "审核、制发公文", "86", "件", "exact", WORK),
    ("count_overview_1_3", "work_output", "先后深入基层调研", "9", "次", "exact", WORK),
    ("count_overview_1_4", "work_output", "撰写材料", "30", "篇", "more_than", WORK),
    ("count_overview_1_5", "work_output", "每月下乡", "1", "次", "at_least", WORK),
    ("count_overview_2_1", "organisation", "财政预算供给人员", "40", "人", "exact",
     "第一部分 部门概况 > 二、机构设置"),
]
COLUMNS = ("metric_id", "category", "name_zh", "value", "unit_zh", "qualifier", "source_section")


@pytest.fixture(scope="module")
def overview():
    return parse_narrative(OVERVIEW, department="tongjiang-education")


@pytest.fixture(scope="module")
def own():
    return parse_narrative(SOURCE.read_text(encoding="utf-8"))


def test_counts_of_the_overview_become_exactly_these_indicator_rows(overview):
    got = [tuple(r[c] for c in COLUMNS) for r in overview.rows["indicators"] if r["metric_id"].startswith("count_")]
    assert sorted(got) == sorted(EXPECTED)
    english = {r["name_en"] for r in overview.rows["indicators"] if r["metric_id"].startswith("count_")}
    assert english == {f"{row[2]} (English name to be added)" for row in EXPECTED}  # a draft: none invented


def test_each_count_is_located_where_it_is_printed(overview):
    spans = {s.row_key.split("|")[-1]: s for s in overview.spans if s.resource == "indicators"}
    for metric, *_, value, _unit, _q, _sec in EXPECTED:
        span = spans[metric]
        assert OVERVIEW[span.start:span.end] == value == span.printed


def test_the_other_quantities_of_the_prose_are_drafts_named_by_their_item(overview):
    """12万多字 after 30余篇, 45个学校 and 6个科室 (the noun after the count), 第3名 (a rank): each a
    row named as printed around it; 25所 (所 is no unit of the report's quantities) stays out."""
    got = sorted((r["name_zh"], r["value"], r["unit_zh"], r["qualifier"]) for r in overview.rows["indicators"]
                 if r["metric_id"].startswith("quantity_"))
    assert got == sorted([("撰写材料30余篇12万多字", "12", "万字", "more_than"),
                          ("年内全县学校完成改造", "45", "个", "exact"),
                          ("全省排名第", "3", "名", "exact"), ("内设科室", "6", "个", "exact")])
    assert "25" not in {r["value"] for r in overview.rows["indicators"]}


PROSE = textwrap.dedent("""\
    巴中市某局2018年度部门决算
    第一部分  部门概况
    一、基本职能及主要工作
    全年发文数量同比降低13.9%。回复率、办结率均达100%。每月报送排名位居全省前10，连续三年获表扬。全年信贷新增101.7亿元。
    增强“四个意识”，召开第108次常务会议，2018年5月完成。主干网络由155M升级到1000M。
    第二部分  2018年度部门决算情况说明
    一、收入支出决算总体情况说明
    2018年度收、支总计各860.5万元。
    """)


def test_shares_places_and_chinese_counts_are_quantities_but_slogans_and_dates_are_not():
    draft = parse_narrative(PROSE, department="bazhong-some-bureau")
    got = sorted((r["name_zh"], r["value"], r["unit_zh"]) for r in draft.rows["indicators"])
    assert got == sorted([
        ("全年发文数量同比降低", "-13.9", "%"), ("回复率", "100", "%"), ("办结率", "100", "%"),
        ("每月报送排名", "10", "名次"), ("连续获表扬", "3", "年"), ("全年信贷新增", "101.7", "亿元"),
        ("主干网络由升级到", "155", "M"), ("主干网络由155M升级到1000M", "1000", "M")])
    decrease, = [s for s in draft.spans if s.printed.startswith("降低")]
    assert decrease.printed == "降低13.9"  # the span states the sign the cell carries


def test_a_count_takes_the_hand_made_id_where_this_source_names_it(own):
    rows = {r["metric_id"]: r for r in own.rows["indicators"]}
    # values and ids from data/indicators.csv
    assert (rows["requests_reports_handled"]["value"], rows["requests_reports_handled"]["name_zh"]) == \
        ("1799", "全年处理请示报告")
    assert rows["documents_reviewed_issued"]["value"] == "1126"
    assert rows["documents_reviewed_issued"]["name_en"] == "Official documents reviewed and issued"
    assert (rows["inspection_activities"]["value"], rows["inspection_activities"]["qualifier"]) == ("100", "more_than")
    assert (rows["poverty_village_visits_monthly"]["value"],
            rows["poverty_village_visits_monthly"]["qualifier"]) == ("1", "at_least")
    assert rows["budgeted_staff"]["category"] == "staffing"


@pytest.mark.parametrize("text, number, reason", [
    ("省委十一届三次四次全会", "三", "meeting_number"), ("省委十一届三次四次全会", "四", "meeting_number"),
    ("增强“四个意识”", "四", "slogan"), ("做到“两个维护”", "两", "slogan"),
    ("聘请第三方机构", "三", "wording"), ("“第一责任人”职责", "一", "wording"), ("参考上一年预算", "一", "wording"),
    ("\n\t一级指标\n\t二级指标", "二", "table_heading"),
    ("召开三次会议", "三", "unclassified"),  # a count of meetings, not a plenary session's number
    ("四个方面", "四", "unclassified"),  # no quotes: a count, not a slogan
    ("支付第一年服务费", "一", "wording"), ("协助查办了一批案件", "一", "wording"), ("市、县两级共用", "两", "wording"),
    ("市委四届五次六次七次全会", "六", "meeting_number"),
    ("连续三年被表扬", "三", "unclassified"),  # a count of years: a figure
    ("第一名", "一", "unclassified"), ("一次", "一", "unclassified"), ("两个系统", "两", "unclassified"),
])
def test_chinese_numerals_that_name_get_their_reason(text, number, reason):
    start, end = next(n for n in numbers_in(text) if text[n[0]:n[1]] == number)
    assert non_figure_reason(text, start, end) == reason


def test_an_unknown_unit_is_marked_for_translation_never_left_empty():
    draft = parse_narrative(OVERVIEW.replace("每月下乡1次以上", "接待考察39批次"), department="tongjiang-education")
    row, = [r for r in draft.rows["indicators"] if r["value"] == "39"]
    assert (row["unit_zh"], row["unit_en"]) == ("批次", "批次 (to be translated)")


CHART = "支出变动情况\n\n[image: image5.png]2360\n\n2340\n\n2320\n\n2351.13\n\n2269.42\n\n20174\n\n20184\n\nL)\n"


@pytest.mark.parametrize("text, number, reason", [
    (CHART, "5", "extraction_artifact"), (CHART, "2360", "axis_tick"), (CHART, "2320", "axis_tick"),
    (CHART, "20174", "chart_label"),
    (CHART, "2351.13", "unclassified"),  # the chart's data label: a figure
    ("合计\n\n2360\n\n2340\n\n2320\n", "2340", "unclassified"),  # evenly spaced, but no chart above
    ("合计\n\n20174\n", "20174", "unclassified"),
    ("组织开展了 “5·12”地震演练", "12", "date"), ("比例为（5·12）", "12", "unclassified"),
    ("（巴府办〔2018〕1号）", "1", "document_number"), ("执行1号文件", "1", "unclassified"),
    ("主要用于以下5个方面：", "5", "list_count"), ("共5个方面", "5", "unclassified"),
    ("\t1.办结信访案件；2.承办线索查处；3.传达文件", "2", "list_ordinal"),
    ("\t1.办结信访案件；2.承办线索查处；3.传达文件", "3", "list_ordinal"),
    ("\t办结信访案件；2.承办线索查处", "2", "unclassified"),  # no item 1 before it
    ("22.基本支出：指人员支出。\n23项目支出：指在基本支出之外", "23", "list_ordinal"),
    ("21.基本支出：指人员支出。\n23项目支出：指在基本支出之外", "23", "unclassified"),  # out of sequence
])
def test_layout_non_figures_get_their_reason(text, number, reason):
    start, end = next(n for n in numbers_in(text) if text[n[0]:n[1]] == number)
    assert non_figure_reason(text, start, end) == reason


PERFORMANCE = textwrap.dedent("""\
    巴中市某局2018年度部门决算
    第二部分  2018年度部门决算情况说明
    一、收入支出决算总体情况说明
    2018年度收、支总计各860.5万元。
    十、预算绩效情况说明
    （二）项目绩效目标完成情况。
    1.宣传项目绩效目标完成情况综述。通过项目实施，节约资金3万元，完成率98%，开展培训4期。
    """)


def test_money_and_rates_of_the_performance_section_are_never_indicators():
    """In 预算绩效 a 万元 or a % is a project's (预算数, 执行数, 完成预算的); the project patterns
    read it or a person does: 4期 is a quantity, 3万元 and 98% stay out."""
    draft = parse_narrative(PERFORMANCE, department="bazhong-some-bureau")
    assert sorted((r["value"], r["unit_zh"]) for r in draft.rows["indicators"]) == [("4", "期")]
