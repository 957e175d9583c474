"""The narrative Sichuan-outline parser: the round trip on the package's own source, a small
report of another department written here, contradictions as breaks, and the accuracy measures."""

import copy
import csv
import json
import re
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from bazhong_accounts.extract.accuracy import round_trip, score
from bazhong_accounts.extract.narrative import parse_narrative
from bazhong_accounts.model import roles

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "archive" / "bazhong-govt-office-2018-final-accounts.txt"
SIX = ("income", "expenditure_by_type", "expenditure_by_function", "three_public_expenses",
       "three_public_expenses_counts", "projects")

# A county education bureau (not in the package) in the same outline, with other figures, one
# 项 that carries a reason, a 收、支总计各 sentence, and one contradiction: 公务接待费 printed as
# 4万元 in the structure paragraph and as 4.2万元 in the detail paragraph.
SYNTHETIC = textwrap.dedent("""\
    通江县教育局2018年度部门决算
    第一部分  部门概况
    一、基本职能及主要工作
    负责全县教育工作。
    第二部分  2018年度部门决算情况说明
    一、收入支出决算总体情况说明
    2018年度收、支总计各860.5万元。其中：年初结转和结余60万元。与2017年相比，收、支总计各减少40.25万元，下降4.47%。主要变动原因是人员减少。
    二、收入决算情况说明
    2018年本年收入合计800.5万元，其中：一般公共预算财政拨款收入780.5万元，占97.5%；事业收入20万元，占2.5%；其他收入0万元。
    三、支出决算情况说明
    2018年本年支出合计790.3万元，其中：基本支出600.3万元，占75.96%；项目支出190万元，占24.04%。
    四、财政拨款收入支出决算总体情况说明
    2018年财政拨款收入总计800.5万元。与2017年相比，财政拨款收入总计增加10.5万元，增长1.33%。
    五、一般公共预算财政拨款支出决算情况说明
    （一）一般公共预算财政拨款支出决算总体情况。
    2018年一般公共预算财政拨款支出770.3万元，占本年支出合计的97.47%。与2017年相比，一般公共预算财政拨款支出增加5.3万元，增长0.69%。
    （二）一般公共预算财政拨款支出决算结构情况。
    2018年一般公共预算财政拨款支出770.3万元，主要用于以下2个方面：教育支出（类）700.3万元，占90.91%；住房保障（类）支出70万元，占9.09%。
    （三）一般公共预算财政拨款支出决算具体情况。
    2018年一般公共预算支出决算数为770.3万元，完成预算98.5%。其中：
    1.教育支出（类）进修及培训（款）干部教育（项）：支出决算为500.3万元，完成预算99%。
    2.教育支出（类）进修及培训（款）培训支出（项）：支出决算为200万元，完成预算95.5%，决算数小于预算数的主要原因是培训计划调整。
    3.住房保障（类）住房改革（款）住房公积金（项）：支出决算为70万元，完成预算100%。
    六、一般公共预算财政拨款基本支出决算情况说明
    2018年一般公共预算财政拨款基本支出600.3万元。其中：人员经费520.1万元，主要包括：基本工资。
    公用经费80.2万元，主要包括：办公费。
    七、“三公”经费财政拨款支出决算情况说明
    （一）“三公”经费财政拨款支出决算总体情况说明。
    2018年“三公”经费财政拨款支出决算为12.5万元，完成预算80%。
    （二）“三公”经费财政拨款支出决算具体情况说明。
    2018年“三公”经费财政拨款支出决算中，因公出国（境）经费支出决算0万元，占0%；公务用车购置及运行维护费支出决算8.5万元，占68%；公务接待费支出决算4万元，占32%。
    1.因公出国（境）经费支出0万元。
    2.公务用车购置及运行维护费支出8.5万元，完成预算85%。公务用车购置及运行维护费支出决算比2017年减少1.5万元，下降15%。
    其中：公务用车购置支出0万元。截至2018年12月31日，单位共有公务用车3辆（轿车2辆、越野车1辆）。
    公务用车运行维护费支出8.5万元。主要用于下乡调研。
    3.公务接待费支出4.2万元，完成预算84%。
    国内公务接待20批次，150人次，共计支出4.2万元。
    八、政府性基金预算支出决算情况说明
    2018年政府性基金预算拨款支出0万元。
    十、预算绩效情况说明
    （二）项目绩效目标完成情况。
    1.校园安全项目绩效目标完成情况综述。项目全年预算数为50万元，执行数为45万元，完成预算的90%。通过项目实施，校园安全得到保障。
    项目支出绩效目标完成情况表
    \t项目名称
    \t校园安全专项经费
    \t预算单位
    \t县教育局
    \t预算执行情况（万元）
    \t预算数:
    \t50万元
    \t执行数:
    \t45万元
    \t其中-财政拨款:
    \t50万元
    \t其中-财政拨款:
    \t45万元
    \t其他资金:
    \t0
    \t其他资金:
    \t0
    十一、其他重要事项的情况说明
    （一）机关运行经费支出情况。
    机关运行经费支出80.2万元。
    第三部分  名词解释
    一、财政拨款收入：指本级财政拨款。
    """)


@pytest.fixture(scope="session")
def real():
    return parse_narrative(SOURCE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def synthetic():
    return parse_narrative(SYNTHETIC, department="tongjiang-education")


def cell(draft, resource, key_field, key, column):
    rows = [r for r in draft.rows[resource] if r[key_field] == key]
    assert len(rows) == 1, f"{resource} {key}: {len(rows)} rows"
    return rows[0][column]


# ---------------------------------------------------------------- the package's own source


def test_round_trip_reproduces_the_hand_made_package(real):
    result = round_trip(real, ROOT)
    assert result["cells"] > 100  # the six resources of the department-year, counted from data/
    assert result["share"] >= 0.95, result["missing"]
    assert result["differing"] == []


def test_indicators_it_gives_equal_the_hand_made_ones(real):
    """机关运行经费, 政府采购, vehicles, performance-management and 部门概况 counts: none differs
    from data/; the only extras are counts and quantities of the prose no hand-made row names
    (count_overview_…, quantity_…)."""
    result = round_trip(real, ROOT, resources=("indicators",))
    assert result["reproduced"] >= 140 and result["differing"] == []
    assert all(e["row_key"].split("|")[-1].startswith(("count_overview_", "quantity_")) for e in result["extra"]), \
        result["extra"]


def test_every_known_contradiction_of_the_six_resources_is_a_break(real):
    with (ROOT / "data" / "errata.csv").open(encoding="utf-8") as fh:
        errata = {(e["resource"], e["row_key"], e["column"]) for e in csv.DictReader(fh) if e["resource"] in SIX}
    assert errata, "data/errata.csv names no cell of the six resources"
    assert errata <= {(b.resource, b.row_key, b.column) for b in real.breaks}


def test_every_printed_figure_is_located(real):
    text = real.text
    schemas = {name: json.loads((ROOT / "schemas" / f"{name}.json").read_text(encoding="utf-8")) for name in SIX}
    assert all(text[s.start:s.end] == s.printed for s in real.spans)
    located = {(s.resource, s.row_key, s.column) for s in real.spans}
    for name in SIX:
        for row in real.rows[name]:
            if row["derived"] == "true":
                continue
            key = roles.row_key(schemas[name], row)
            for col in ("amount", "share_pct", "change_amount", "value", "budget", "executed", "completion_pct"):
                if row.get(col):
                    assert (name, key, col) in located, (name, key, col)


def test_every_span_states_its_cells_value_or_is_a_break(real):
    """What validate reads in a span (the sign word before the number included) is the value the
    draft carries, except for the printings of the report's own contradictions (its breaks):
    `减少2.89`, never a bare `2.89` for -2.89."""
    from bazhong_accounts.checks.figure_sources import parse_printed

    schemas = {n: json.loads((ROOT / "schemas" / f"{n}.json").read_text(encoding="utf-8")) for n in real.rows}
    cells = {(n, roles.row_key(schemas[n], r)): r for n, rows in real.rows.items() for r in rows}
    broken = {(b.resource, b.row_key, b.column) for b in real.breaks}
    wrong = [s for s in real.spans if (s.resource, s.row_key, s.column) not in broken
             and parse_printed(s.printed).value != Decimal(cells[s.resource, s.row_key][s.column])]
    assert wrong == []
    overseas = {s.column: s.printed for s in real.spans if (s.resource, s.row_key) == ("three_public_expenses",
                                                                                          "overseas")}
    assert (overseas["change_amount"], overseas["change_pct"]) == ("减少2.89", "下降11.21")


def test_round_trip_counts_a_wrong_figure_as_differing(real):
    broken = copy.deepcopy(real)
    row = next(r for r in broken.rows["income"] if r["item_id"] == "total")
    row["amount"] = "3200.68"
    result = round_trip(broken, ROOT)
    assert [(d["row_key"], d["column"], d["package"], d["draft"]) for d in result["differing"]] == [
        ("total", "amount", "3200.67", "3200.68")]


# ---------------------------------------------------------------- another department, written here


def test_synthetic_report_totals_and_changes(synthetic):
    d = synthetic
    assert (d.department, d.fiscal_year) == ("tongjiang-education", 2018)
    assert d.source_id == "tongjiang-education-2018-final-accounts"
    assert cell(d, "income", "item_id", "total", "amount") == "860.5"
    assert cell(d, "income", "item_id", "total", "change_amount") == "-40.25"
    assert cell(d, "income", "item_id", "total", "change_pct") == "-4.47"
    assert cell(d, "expenditure_by_type", "item_id", "total", "amount") == "860.5"
    assert cell(d, "income", "item_id", "carryover", "amount") == "60"
    assert cell(d, "income", "item_id", "gpb", "share_pct") == "97.5"
    assert cell(d, "income", "item_id", "business", "amount") == "20"
    assert cell(d, "income", "item_id", "fiscal_total", "change_pct") == "1.33"
    assert cell(d, "expenditure_by_type", "item_id", "basic", "share_pct") == "75.96"
    assert cell(d, "expenditure_by_type", "item_id", "gpb_total", "budget_completion_pct") == "98.5"
    assert cell(d, "expenditure_by_type", "item_id", "personnel", "amount") == "520.1"
    assert cell(d, "expenditure_by_type", "item_id", "public_funds", "amount") == "80.2"
    assert cell(d, "expenditure_by_type", "item_id", "gov_fund_total", "amount") == "0"
    assert cell(d, "indicators", "metric_id", "operating_costs", "value") == "80.2"
    # 收、支总计各 equal: nothing is left over, so no year-end balance is derived
    assert not [r for r in d.rows["expenditure_by_type"] if r["item_id"] == "year_end_carryover"]


def test_synthetic_report_functions_by_classification(synthetic):
    d = synthetic
    assert cell(d, "expenditure_by_function", "code", "205", "amount") == "700.3"
    assert cell(d, "expenditure_by_function", "code", "205", "name_zh") == "教育支出（类）"
    assert cell(d, "expenditure_by_function", "code", "221", "share_pct") == "9.09"
    assert cell(d, "expenditure_by_function", "code", "2050803", "budget_completion_pct") == "95.5"
    reason = cell(d, "expenditure_by_function", "code", "2050803", "reason_zh")
    assert reason == "决算数小于预算数的主要原因是培训计划调整。"
    kuan = [r for r in d.rows["expenditure_by_function"] if r["code"] == "20508"][0]
    assert (kuan["amount"], kuan["derived"], kuan["derivation"]) == ("700.3", "true", "sum(children)")
    assert kuan["level"] == "2"


def test_synthetic_report_three_public_counts_and_projects(synthetic):
    d = synthetic
    assert cell(d, "three_public_expenses", "item_id", "vehicles", "change_amount") == "-1.5"
    assert cell(d, "three_public_expenses", "item_id", "vehicle_operation", "note_zh") == "主要用于下乡调研。"
    assert cell(d, "three_public_expenses_counts", "count_id", "vehicles_sedan", "value") == "2"
    assert cell(d, "three_public_expenses_counts", "count_id", "reception_person_times", "value") == "150"
    project = d.rows["projects"]
    assert [(p["project_id"], p["name_zh"], p["budget"], p["executed"], p["executed_fiscal"], p["completion_pct"])
            for p in project] == [("project_1", "校园安全专项经费", "50", "45", "45", "90")]
    # every row has exactly its schema's columns
    assert set(d.rows["projects"][0]) >= {"fiscal_year", "department", "source_quote", "derived"}


def test_contradiction_in_the_report_is_a_break_not_a_fix(synthetic):
    breaks = [(b.resource, b.row_key, b.column, b.check, b.value_carried, b.value_other) for b in synthetic.breaks]
    assert breaks == [("three_public_expenses", "reception", "amount", "printed_twice", "4", "4.2")]
    assert cell(synthetic, "three_public_expenses", "item_id", "reception", "amount") == "4"
    where = synthetic.breaks[0].where
    assert "七、“三公”经费财政拨款支出决算情况说明" in where and "4.2万元" in where


def test_wrong_share_is_a_break():
    text = SYNTHETIC.replace("住房保障（类）支出70万元，占9.09%", "住房保障（类）支出70万元，占9.19%")
    d = parse_narrative(text, department="tongjiang-education")
    assert ("expenditure_by_function", "221", "share_pct", "share", "9.19", "9.09") in {
        (b.resource, b.row_key, b.column, b.check, b.value_carried, b.value_other) for b in d.breaks}


def test_department_read_from_the_title_when_not_given():
    d = parse_narrative(SYNTHETIC)
    assert (d.department_name_zh, d.region_zh, d.fiscal_year) == ("通江县教育局", "通江县", 2018)
    assert d.department.startswith("dept-")


def test_not_a_narrative_report_is_one_clear_error():
    with pytest.raises(ValueError, match="no 部门决算情况说明 part found"):
        parse_narrative("一份会议纪要\n会议决定了若干事项。\n")


# ---------------------------------------------------------------- score against expected figures


def test_score_precision_recall_and_wrong(synthetic, tmp_path):
    expected = tmp_path / "expected.csv"
    expected.write_text(
        "report,resource,row_key,column,value,where\n"
        "r,income,total,amount,860.50,p.1\n"         # right (decimals compare as numbers)
        "r,income,gpb,amount,780.6,p.1\n"            # wrong
        "r,income,superior_subsidy,amount,5,p.1\n"   # not extracted
        "r,expenditure_by_economic,301,amount,1,p.1\n",  # a resource the schemas lack
        encoding="utf-8")
    precision, recall, wrong = score(synthetic, expected, ROOT)
    assert (precision, recall) == (0.5, 0.25)
    assert [(w["row_key"], w["value"], w["draft"]) for w in wrong] == [("gpb", "780.6", "780.5")]


def test_score_refuses_a_file_with_the_wrong_header(synthetic, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("resource,row_key,value\nincome,total,1\n", encoding="utf-8")
    message = r"bad\.csv: line 1: header must be report,resource,row_key,column,value,where"
    with pytest.raises(ValueError, match=message):
        score(synthetic, bad, ROOT)


def test_corpus_expected_files_are_well_formed():
    folder = ROOT / "benchmarks" / "corpus" / "expected"
    files = sorted(folder.glob("*.csv"))
    assert len(files) == 3
    for f in files:
        raw = f.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw, f
        with f.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert all(r["report"] == f.stem and r["where"].startswith(("p.", "text: ")) for r in rows), f
        assert len({(r["resource"], r["row_key"], r["column"]) for r in rows}) == len(rows), f
    for name in ("shanghai-putuo-social-work-dept-2024-final-accounts", "bazhong-govt-office-2018-final-accounts"):
        assert sum(1 for _ in (folder / f"{name}.csv").open(encoding="utf-8")) - 1 >= 30, name


def test_own_source_scores_full_precision_and_recall(real):
    precision, recall, wrong = score(real, ROOT / "benchmarks" / "corpus" / "expected" / f"{SOURCE.stem}.csv", ROOT)
    assert (precision, wrong) == (1.0, []) and recall >= 0.95


def pdf_like(text: str) -> str:
    """The synthetic report as a PDF's text layer gives it: sentences wrapped every ~20
    characters (never inside a number), spaces around numbers, blank lines, a page break."""
    out = []
    for line in text.split("\n"):
        if line.startswith("\t") or len(line) < 24:
            out.append(line)
            continue
        spaced = re.sub(r"(?<=[^\d.,])(\d+(?:\.\d+)?)(?=[^\d.])", r" \1 ", line)
        piece = ""
        for ch in spaced:
            piece += ch
            if len(piece) >= 20 and not (ch.isdigit() or ch in ". "):
                out.append(piece)
                piece = ""
        out.append(piece)
    wrapped = "\n\n".join(out)
    return wrapped.replace("\n\n七、", "\n\n\f七、")


def test_wrapped_pdf_text_gives_the_same_figures_located_in_it():
    text = pdf_like(SYNTHETIC)
    assert "万\n\n元" in text and " 97.47 %" in text and "\f" in text  # wrapped inside 万元, spaced, paged
    d = parse_narrative(text, department="tongjiang-education")
    assert cell(d, "income", "item_id", "total", "change_pct") == "-4.47"
    assert cell(d, "expenditure_by_type", "item_id", "basic", "share_pct") == "75.96"
    assert cell(d, "expenditure_by_function", "code", "2050803", "budget_completion_pct") == "95.5"
    assert cell(d, "three_public_expenses", "item_id", "vehicles", "change_amount") == "-1.5"
    assert cell(d, "three_public_expenses_counts", "count_id", "vehicles_suv", "value") == "1"
    assert cell(d, "projects", "project_id", "project_1", "completion_pct") == "90"
    assert [(b.row_key, b.check, b.value_carried, b.value_other) for b in d.breaks] == [
        ("reception", "printed_twice", "4", "4.2")]
    assert d.spans and all(text[s.start:s.end] == s.printed for s in d.spans)
    from bazhong_accounts.checks.figure_sources import parse_printed

    vehicles = next(s for s in d.spans if (s.row_key, s.column) == ("vehicles", "change_amount"))
    assert re.fullmatch(r"减少\s+1\.5", vehicles.printed)  # the sign word across the layout's space
    assert parse_printed(vehicles.printed).value == Decimal("-1.5")


def test_half_width_brackets_and_listed_vehicle_kinds():
    text = (SYNTHETIC.replace("1.教育支出（类）进修及培训（款）干部教育（项）：",
                              "1.教育支出(类)进修及培训(款)干部教育(项):")
            .replace("共有公务用车3辆（轿车2辆、越野车1辆）", "共有公务用车3辆，其中：轿车2辆、越野车1辆"))
    d = parse_narrative(text, department="tongjiang-education")
    assert cell(d, "expenditure_by_function", "code", "2050802", "amount") == "500.3"
    assert cell(d, "expenditure_by_function", "code", "2050802", "name_zh") == "干部教育(项)"
    assert cell(d, "three_public_expenses_counts", "count_id", "vehicles_sedan", "value") == "2"
    assert cell(d, "three_public_expenses_counts", "count_id", "vehicles_suv", "value") == "1"


def test_later_template_wordings():
    """单位决算, 因公出国（境）支出决算比…, a 决算数 printed without 万元."""
    text = (SYNTHETIC.replace("通江县教育局2018年度部门决算", "通江县教育局2018年度单位决算")
            .replace("决算数为770.3万元，完成预算98.5%。", "决算数为770.3，完成预算98.5%。")
            .replace("1.因公出国（境）经费支出0万元。",
                     "1.因公出国（境）经费支出0万元。因公出国（境）支出决算比2017年减少2万元，下降100%。"))
    d = parse_narrative(text)
    assert (d.department_name_zh, d.fiscal_year) == ("通江县教育局", 2018)
    assert cell(d, "expenditure_by_type", "item_id", "gpb_total", "budget_completion_pct") == "98.5"
    assert cell(d, "three_public_expenses", "item_id", "overseas", "change_amount") == "-2"
    assert cell(d, "three_public_expenses", "item_id", "overseas", "change_pct") == "-100"


def test_a_template_with_placeholders_gives_no_figure():
    """The publication template prints XX where a report prints figures: nothing to extract."""
    head, part = SYNTHETIC.split("第二部分", 1)
    template = head + "第二部分" + re.sub(r"(?<![\d年])\d+(?:\.\d+)?(?![\d年])", "XX", part.replace("2018年", "YYYY年"))
    d = parse_narrative(template.replace("YYYY年", "2018年"), department="tongjiang-education")
    assert "XX万元" in template and {name: rows for name, rows in d.rows.items() if rows} == {}
    assert d.spans == [] and d.breaks == []


@pytest.mark.parametrize("which", ["real", "wrapped"])
def test_every_quote_stands_verbatim_in_the_archived_text(which, real):
    d = real if which == "real" else parse_narrative(pdf_like(SYNTHETIC), department="tongjiang-education")
    for name, rows in d.rows.items():
        for row in rows:
            pieces = row["source_quote"].split(" … ")
            assert row["source_quote"] and all(p and p in d.text for p in pieces), (name, row["source_quote"])


@pytest.mark.parametrize("printed, wrong, expected", [
    ("下降4.47%。主要变动原因是人员减少。", "下降4.57%。主要变动原因是人员减少。",
     ("income", "total", "change_pct", "change", "-4.57", "-4.47")),
    ("人员经费520.1万元", "人员经费520.2万元",
     ("expenditure_by_type", "basic", "amount", "sum_of_children", "600.3", "600.4")),
    ("完成预算的90%", "完成预算的91%", ("projects", "project_1", "completion_pct", "completion_rate", "91", "90")),
    ("\t其中-财政拨款:\n\t45万元", "\t其中-财政拨款:\n\t44万元",
     ("projects", "project_1", "executed_fiscal", "fiscal_plus_other", "44", "45")),
    ("\t预算数:\n\t50万元", "\t预算数:\n\t55万元",
     ("projects", "project_1", "budget", "text_table_mismatch", "50", "55")),
    # 支出总计 is the spending of the year: last year's balance (860.5 + 40.25) - (790.3 - 10.3) = 120.75
    ("2018年度收、支总计各860.5万元。其中：年初结转和结余60万元。与2017年相比，收、支总计各减少40.25万元，下降4.47%。",
     "2018年度收入总计860.5万元。其中：年初结转和结余60万元。与2017年相比，收入总计减少40.25万元，下降4.47%。\n"
     "2018年度支出总计790.3万元。与2017年相比，支出总计增加10.3万元，增长1.32%。",
     ("income", "carryover", "amount", "carryover_chain", "60", "120.75")),
])
def test_each_check_turns_a_contradiction_into_a_break(printed, wrong, expected):
    assert SYNTHETIC.count(printed) == 1
    d = parse_narrative(SYNTHETIC.replace(printed, wrong), department="tongjiang-education")
    found = {(b.resource, b.row_key, b.column, b.check, b.value_carried, b.value_other) for b in d.breaks}
    assert expected in found, found


def test_windows_line_ends_and_no_break_spaces():
    text = SYNTHETIC.replace("\n", "\r\n").replace("与2017年相比", "与\xa02017\xa0年相比")
    d = parse_narrative(text, department="tongjiang-education")
    assert cell(d, "income", "item_id", "total", "change_pct") == "-4.47"
    assert cell(d, "expenditure_by_function", "code", "2050803", "amount") == "200"
    assert all(text[s.start:s.end] == s.printed for s in d.spans)


def test_sections_numbered_with_brackets():
    """A report numbering its sections （一）（二）… instead of 一、二、…"""
    part = SYNTHETIC.split("第二部分", 1)[1]
    renumbered = re.sub(r"(?m)^（[一二三四五六七八九十]+）[^\n]*\n", "", part)
    for no in ["十一", "十", "九", "八", "七", "六", "五", "四", "三", "二", "一"]:
        renumbered = renumbered.replace(f"\n{no}、", f"\n（{no}）")
    d = parse_narrative(SYNTHETIC.split("第二部分", 1)[0] + "第二部分" + renumbered, department="tongjiang-education")
    assert "\n（七）“三公”经费财政拨款支出决算情况说明" in renumbered
    assert cell(d, "three_public_expenses", "item_id", "vehicles", "change_pct") == "-15"
    assert cell(d, "expenditure_by_function", "code", "221", "amount") == "70"


def test_a_known_department_named_in_passing_is_not_the_reporting_one():
    text = SYNTHETIC.replace("负责全县教育工作。", "负责全县教育工作，配合巴中市人民政府办公室开展督查。")
    d = parse_narrative(text)
    assert d.department_name_zh == "通江县教育局" and d.department != "bazhong-govt-office"


def test_other_funds_in_a_year_of_only_general_budget_income_is_a_break():
    text = (SYNTHETIC.replace("一般公共预算财政拨款收入780.5万元，占97.5%；事业收入20万元，占2.5%；",
                              "一般公共预算财政拨款收入800.5万元，占100%；")
            .replace("\t45万元\n\t其他资金:\n\t0\n\t其他资金:\n\t0",
                     "\t45万元\n\t其他资金:\n\t0\n\t其他资金:\n\t0.5万元"))
    assert text.count("\t0.5万元") == 1
    d = parse_narrative(text, department="tongjiang-education")
    assert ("projects", "project_1", "executed_other", "fund_source", "0.5", "") in {
        (b.resource, b.row_key, b.column, b.check, b.value_carried, b.value_other) for b in d.breaks}


def test_units_projects_name_are_organisation_rows_under_the_department(real):
    with (ROOT / "data" / "projects.csv").open(encoding="utf-8") as fh:
        expected = {r["project_id"]: r["unit_id"] for r in csv.DictReader(fh) if r["department"] == real.department}
    assert {p["project_id"]: p["unit_id"] for p in real.rows["projects"]} == expected
    units = {u["unit_id"]: u for u in real.rows["organisation"]}
    assert set(expected.values()) <= set(units)
    assert [u["unit_id"] for u in units.values() if not u["parent_unit_id"]] == ["office"]
    assert all(u["source_quote"] in real.text for u in units.values())
    # a department the package does not know: the unit printed as its own name is the root
    d = parse_narrative(SYNTHETIC)
    assert [(u["unit_id"], u["parent_unit_id"], u["unit_type"], u["name_zh"]) for u in d.rows["organisation"]] == [
        ("department", "", "department", "县教育局")]
    assert d.rows["projects"][0]["unit_id"] == "department"
