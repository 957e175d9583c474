"""Issue 11: every figure located in the report, every number accounted for, and the corrections
an independent read of the package found. Expected values come from the archived report or the
data, never from the module under test; mutation cases run the validator in-process on a broken
copy of the package."""

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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


def test_names_and_texts_as_printed():
    """Event names and project texts are verbatim substrings of the report (no condensing, no
    dropped blank line)."""
    for r in rows("events"):
        assert r["name_zh"] in TEXT, r["event_id"]
    for r in rows("projects"):
        for col in ("expected_goal_zh", "achieved_goal_zh", "outcome_zh", "problems_zh", "improvements_zh"):
            if r[col]:
                assert r[col] in TEXT, (r["project_id"], col)
