"""`validate` on an extracted package reports the report's inconsistencies and nothing else
(issue 12), on the corpus report of the table-first outline: 中共上海市普陀区委社会工作部 2024.

The expected inconsistencies are written here from reading the PDF (pdftotext -layout of
archive/shanghai-putuo-social-work-dept-2024-final-accounts.pdf), never from the extractor:

- 一般公共预算财政拨款基本支出决算表: 人员经费合计 95.36 + 公用经费合计 10.23 = 105.59, but the
  支出决算表 and the 情况说明 print 基本支出 105.58 (page 5, 6, 9);
- 情况说明 五(二): 住房保障支出（类）29.42 万元，占 9.55%, but 29.42 / 307.82 = 9.5575… → 9.56;
- 302 商品和服务支出 10.23, but its printed lines (办公费 3.78, 差旅费 1.15, 维修（护）费 0.02,
  劳务费 0.68, 委托业务费 0.48, 福利费 1.48, 其他交通费用 2.43, 其他商品和服务支出 0.20, the
  rest 0.00) sum to 10.22;
- 情况说明 五(三): 年初预算为 0 万元 … 完成年初预算的 95.89% (307.82 / 0 is undefined; 95.89 is
  the share of the 全年预算 321.02).

validate checks the first two (identities); the last two are extract's own checks and stand in
review.csv with the first two.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from conftest import ROOT, made_once_shared

from bazhong_accounts import cli
from bazhong_accounts.checks.validate import collect
from bazhong_accounts.extract.tables import parse_tables

PUTUO = ROOT / "archive/shanghai-putuo-social-work-dept-2024-final-accounts.pdf"


@pytest.fixture(scope="module")
def putuo(tmp_path_factory) -> Path:
    """The report extracted once per run (made_once_shared: a module split between the workers
    extracted it twice). Read it only."""
    def extracted():
        root = tmp_path_factory.mktemp("putuo") / "pkg"
        assert cli.main(["extract", str(PUTUO), "--out", str(root)]) == 0
        return root

    return made_once_shared(tmp_path_factory, "putuo", extracted)


@pytest.fixture(scope="module")
def problems(tmp_path_factory, putuo) -> list[str]:
    def validated():
        return [str(p) for p in collect(putuo).report.problems]

    return made_once_shared(tmp_path_factory, "putuo-problems", validated)


@pytest.fixture(scope="module")
def text(putuo) -> str:
    return next((putuo / "archive").glob("*.txt")).read_text(encoding="utf-8")


def rows(root: Path, name: str, folder: str = "data/") -> list[dict]:
    with (root / f"{folder}{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_validate_reports_exactly_the_reports_two_inconsistencies(problems):
    assert len(problems) == 2, "\n".join(problems)
    basic, share = sorted(problems, key=lambda p: "share_pct" in p)
    assert basic.startswith("data/expenditure_by_type.csv:") and ": amount: " in basic
    assert "95.36" in basic and "10.23" in basic and "105.59" in basic and "105.58" in basic
    assert share.startswith("data/expenditure_by_function.csv:") and ": share_pct: " in share
    assert "9.55" in share and "29.42" in share and "307.82" in share


def test_each_inconsistency_is_in_the_review_file(putuo):
    review = {(r["resource"], r["row_key"], r["column"], r["value_carried"], r["value_other"])
              for r in rows(putuo, "review", folder="")}
    assert {k[:4] for k in review} == {
        ("expenditure_by_type", "basic", "amount", "105.58"),
        ("expenditure_by_function", "221", "share_pct", "9.55"),
        ("expenditure_by_economic", "302", "amount", "10.23"),
        ("expenditure_by_type", "gpb_total", "budget_completion_pct", "95.89"),
    }
    assert ("expenditure_by_economic", "302", "amount", "10.23", "10.22") in review


def test_every_number_of_the_report_is_accounted_for(putuo):
    reasons = {r["reason"] for r in rows(putuo, "non_figures")}
    assert "unclassified" not in reasons


def spans_of(root: Path, resource: str, key: str, column: str, text: str) -> list[int]:
    """Line numbers (1-based) of the cell's spans."""
    return sorted(text.count("\n", 0, int(r["start"])) + 1 for r in rows(root, "figure_sources")
                  if (r["resource"], r["row_key"], r["column"]) == (resource, key, column))


def line_of(text: str, pattern: str) -> int:
    m = re.search(pattern, text, re.M)
    assert m, pattern
    return text.count("\n", 0, m.start()) + 1


def test_a_figure_printed_in_several_tables_has_a_span_in_each(putuo, text):
    # 201 一般公共服务支出 of the 一般公共预算: its own table, and the 一般公共预算财政拨款 column
    # of the 财政拨款收入支出决算总表 (the line with 合计 264.87 and 一般公共预算 264.87), and the
    # 情况说明 (一般公共服务支出（类）264.87 万元)
    gpb_table = line_of(text, r"^ *201\s+264\.87\s+62\.63\s+202\.24\s*$")
    fiscal_summary = line_of(text, r"一、一般公共预算财政拨款\s+307\.82\s+一、一般公共服务支出\s+264\.87\s+264\.87")
    narrative = line_of(text, r"一般公共服务支出（类）264\.87")
    assert spans_of(putuo, "expenditure_by_function", "201", "amount", text) == [fiscal_summary, gpb_table,
                                                                                 narrative]
    # all funds (支出决算表) and its 类 line in the 收入支出决算总表: another quantity, another resource
    summary = line_of(text, r"一、一般公共预算财政拨款收入\s+307\.82\s+一、一般公共服务支出\s+264\.87\s*$")
    expenditure = line_of(text, r"^ *201\s+一般公共服务支出\s+264\.87\s+62\.63\s+202\.24\s*$")
    assert spans_of(putuo, "expenditure_by_function_all_funds", "201", "amount", text) == [summary, expenditure]
    assert spans_of(putuo, "expenditure_by_function_all_funds", "201", "fiscal_amount", text) == [fiscal_summary]
    income = line_of(text, r"^ *201\s+一般公共服务支出\s+264\.87\s+264\.87\s*$")
    assert spans_of(putuo, "income_by_function", "201", "fiscal_amount", text) == [income]
    # the 一般公共预算 total: the 财政拨款收入支出决算总表, its own table's 合计 line, and three
    # sentences of the 情况说明 五
    printings = [line_of(text, r"本年支出合计\s+307\.82\s+307\.82\s*$"),
                 line_of(text, r"^ *合计\s+307\.82\s+105\.58\s+202\.24\n\s*注：本表反映部门本年度一般公共预算"),
                 line_of(text, r"一般公共预算财政拨款支出 307\.82 万元，占本年支出合计"),
                 line_of(text, r"一般公共预算财政拨款支出307\.82 万元，主要用于"),
                 line_of(text, r"支出决算为 307\.82 万元，完成年初预算")]
    assert spans_of(putuo, "expenditure_by_type", "gpb_total", "amount", text) == printings


def test_the_share_of_fiscal_income_is_checked_against_a_derived_remainder(putuo):
    income = {r["item_id"]: r for r in rows(putuo, "income")}
    assert (income["fiscal"]["amount"], income["fiscal"]["share_pct"]) == ("307.82", "100.00")
    rest = income["non_fiscal"]
    assert (rest["amount"], rest["derived"], rest["derivation"]) == (
        "0.00", "true", "{income:current_year_total} - {income:fiscal}")


def test_a_repeated_printing_that_disagrees_is_a_break(text):
    """The 一般公共预算 column of the 财政拨款收入支出决算总表 printing 246.87 for 201: the draft
    keeps its own table's 264.87, and the other printing is a break for review."""
    line = re.search(r"一、一般公共服务支出\s+264\.87\s+(264\.87)", text)
    changed = text[:line.start(1)] + "246.87" + text[line.end(1):]
    d = parse_tables(changed, department="putuo", fiscal_year=2024, source_id="putuo-2024")
    breaks = [(b.resource, b.row_key, b.column, b.check, b.value_carried, b.value_other) for b in d.breaks]
    assert ("expenditure_by_function", "201", "amount", "text_table_mismatch", "264.87", "246.87") in breaks
    fn = {r["code"]: r for r in d.rows["expenditure_by_function"]}
    assert fn["201"]["amount"] == "264.87"


def test_the_same_value_under_another_label_is_not_a_printing(text):
    """Value alone never locates a figure: 264.87 is also 20139 社会工作事务's, whose spans stay its own."""
    d = parse_tables(text, department="putuo", fiscal_year=2024, source_id="putuo-2024")
    starts = {s.start for s in d.spans if (s.resource, s.row_key) == ("expenditure_by_function", "201")}
    others = {s.start for s in d.spans if (s.resource, s.row_key) == ("expenditure_by_function", "20139")}
    assert starts and others and not starts & others


def test_a_number_under_the_government_fund_column_is_its_own(text):
    """财政拨款收入支出决算总表: a 本年支出合计 printed under 政府性基金预算财政拨款 (Putuo prints
    none; placed here under that heading's centre) is gov_fund_total, never 一般公共预算's."""
    from bazhong_accounts.extract.tables import display_width

    heading = re.search(r"^( +)政府性基\s+国有资本\s*$", text, re.M)
    centre = display_width(heading.group(1)) + display_width("政府性基") / 2
    line = re.search(r"^.*本年支出合计\s+307\.82\s+307\.82$", text, re.M)
    padding = " " * round(centre - 2.5 - display_width(line.group()))
    changed = text[:line.end()] + padding + "12.00" + text[line.end():]
    d = parse_tables(changed, department="putuo", fiscal_year=2024, source_id="putuo-2024")
    ebt = {r["item_id"]: r["amount"] for r in d.rows["expenditure_by_type"]}
    assert (ebt["gov_fund_total"], ebt["gpb_total"], ebt["fiscal_current_year_total"]) == ("12.00", "307.82", "307.82")
