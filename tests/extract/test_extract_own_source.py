"""`validate` on the draft of the package's own source (the narrative outline) reports the
report's real inconsistencies and nothing else, and nothing once they are confirmed as errata
(issue 12).

The expected problems are written here from data/errata.csv (the errata whose `check` validate
runs) and the report text, never from the extractor:

- housing_share_rounding: 住房保障（类）65.25 of 2351.13 is 2.775…%, printed 2.77;
- discipline_supervision_executed_fiscal: 执纪监督问责 table, 财政拨款 8 + 其他资金 0, but 执行数 2.13;
- emergency_drills_budget_text_vs_table: 应急演练 budget 8 in the paragraph, 18 in its table
  (the table's 财政拨款 18 + 0 ≠ 8, and the table's «18» is a span of the cell carrying 8);
- emergency_drills_executed_fiscal: 应急演练 table, 财政拨款 18 + 0, but 执行数 0.43;
- special_inspection_completion_rate: 19.32 / 18 = 107.33 %, printed 100%;
- overseas_amount_two_ways: 因公出国（境）经费 22.9 and 22.89.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import OWN_SOURCE, ROOT

from bazhong_accounts.checks.validate import collect
from bazhong_accounts.model import roles

SOURCE = OWN_SOURCE

# (resource, row_key, column) of each problem, and the erratum of data/errata.csv behind it
EXPECTED = {
    ("expenditure_by_function", "221", "share_pct"): "housing_share_rounding",
    ("projects", "discipline_supervision", "executed"): "discipline_supervision_executed_fiscal",
    ("projects", "emergency_drills", "budget"): "emergency_drills_budget_text_vs_table",
    ("projects", "emergency_drills", "executed"): "emergency_drills_executed_fiscal",
    ("projects", "special_inspection", "completion_pct"): "special_inspection_completion_rate",
    ("figure_sources→projects", "emergency_drills", "budget"): "emergency_drills_budget_text_vs_table",
    ("figure_sources→three_public_expenses", "overseas", "amount"): "overseas_amount_two_ways",
}


def rows(root: Path, name: str) -> list[dict]:
    with (root / "data" / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def row_at_line(path: Path, line: int) -> dict:
    """The row starting at physical line `line` (a quoted cell may hold line breaks)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        start = 2
        for row in reader:
            if start == line:
                return row
            start = reader.line_num + 1
    raise AssertionError(f"{path}: no row starts at line {line}")


@pytest.fixture(scope="session")
def own(own_source_extracted) -> Path:
    """The own source extracted once per session."""
    run, root = own_source_extracted
    assert run.returncode == 0, run.stdout + run.stderr
    return root


@pytest.fixture(scope="session")
def problems(own) -> list:
    return list(collect(own).report.problems)


def cell_of(root: Path, problem: str) -> tuple[str, str, str]:
    """(resource, row_key, column) a problem line names: the row of the file and line it cites;
    for a span (figure_sources) the cell the span locates."""
    m = re.match(r"data/(?P<res>\w+)\.csv:(?P<line>\d+): (?P<col>\w+): ", problem)
    assert m, problem
    row = row_at_line(root / "data" / f"{m['res']}.csv", int(m["line"]))
    if m["res"] == "figure_sources":
        return f"figure_sources→{row['resource']}", row["row_key"], row["column"]
    schema = json.loads((root / "schemas" / f"{m['res']}.json").read_text(encoding="utf-8"))
    return m["res"], roles.row_key(schema, row), m["col"]


def test_validate_reports_exactly_the_reports_real_inconsistencies(own, problems):
    lines = [str(p) for p in problems]
    assert not [p for p in lines if "unclassified" in p or "neither a figure" in p], "\n".join(lines)
    assert sorted(cell_of(own, p) for p in lines) == sorted(EXPECTED), "\n".join(lines)


def test_each_expected_problem_is_an_erratum_validate_checks():
    errata = {r["erratum_id"]: r for r in csv.DictReader((ROOT / "data/errata.csv").open(encoding="utf-8"))}
    checked = {i for i, r in errata.items() if r["check"] != "none"}
    assert checked <= set(EXPECTED.values()) <= set(errata)
    # overseas_amount_two_ways checks nothing itself: its other value is what a span states


def test_confirmed_as_errata_nothing_is_left(own, tmp_path):
    """A person confirms the breaks: the hand-made errata rows go into the draft's errata."""
    root = tmp_path / "confirmed"
    shutil.copytree(own, root)
    with (ROOT / "data/errata.csv").open(encoding="utf-8", newline="") as f:
        confirmed = list(csv.DictReader(f))
    with (root / "data/errata.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(confirmed[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(confirmed)
    assert [str(p) for p in collect(root).report.problems] == []


def test_every_number_is_a_figure_or_a_non_figure_with_its_reason(own):
    reasons = [r["reason"] for r in rows(own, "non_figures")]
    assert "unclassified" not in reasons
    # the chart of 图5 (the ticks 2360 … 2220, its labels 20174 20184, the image marker)
    assert {"axis_tick", "chart_label", "extraction_artifact", "list_count"} <= set(reasons)


def test_the_kpi_grids_are_the_hand_made_project_kpis(own):
    """Each 绩效指标完成情况 row as data/project_kpis.csv has it (values from data/)."""
    columns = ("level1_zh", "level1_en", "level2_zh", "level3_zh", "expected_zh", "actual_zh",
               "expected_number", "actual_number", "number_unit_zh", "source_section")
    hand = {(r["project_id"], r["row_no"]): [r[c] for c in columns] for r in rows(ROOT, "project_kpis")}
    draft = {(r["project_id"], r["row_no"]): [r[c] for c in columns] for r in rows(own, "project_kpis")}
    assert draft == hand


def test_the_prose_quantities_take_the_hand_made_ids(own):
    """Counts followed by their noun, shares, ranks and places, 亿元 and the 附件 reports' figures,
    each with the value and unit of its hand-made row (values from data/indicators.csv)."""
    hand = {r["metric_id"]: r for r in rows(ROOT, "indicators")}
    draft = {r["metric_id"]: r for r in rows(own, "indicators")}
    for metric in ("systems_migrated_to_cloud", "documents_issued_change_pct", "suggestions_reply_rate",
                   "suggestions_satisfaction_rate", "website_submission_rank_top_n", "website_adoption_rank_top_n",
                   "website_performance_rank_sichuan", "website_commendation_consecutive_years",
                   "poverty_relending_rank_sichuan", "new_credit", "backbone_bandwidth_after", "internal_sections",
                   "key_documents_written_characters", "systems_running_on_cloud", "cloud_funds_carried_over",
                   "cloud_service_period_adjusted", "emergency_meetings_target", "overall_self_evaluation_score"):
        got = draft[metric]
        assert (got["value"], got["unit_zh"], got["qualifier"]) == \
            (hand[metric]["value"], hand[metric]["unit_zh"], hand[metric]["qualifier"]), metric


def test_review_names_the_row_of_each_problem(own):
    """review.csv's `validate` lines name the row the problem's line is (rows above it hold quotes
    with line breaks: a line is not a row)."""
    with (own / "review.csv").open(encoding="utf-8", newline="") as f:
        review = [r for r in csv.DictReader(f) if r["check"] == "validate" and r["resource"] != "figure_sources"]
    assert sorted((r["resource"], r["row_key"], r["column"]) for r in review) == \
        sorted(k for k in EXPECTED if not k[0].startswith("figure_sources"))
