"""A narrative report extracted without --department: the department (id, Chinese name, region)
and the year come from the report itself. Expected values are data/departments.csv's row."""

from __future__ import annotations

import csv

import pytest

from bazhong_accounts.extract.package import parse
from bazhong_accounts.extract.readers import ReportError, ReportText, read_report
from conftest import OWN_SOURCE as REPORT
from conftest import ROOT


def department_row(department: str) -> dict[str, str]:
    with (ROOT / "data" / "departments.csv").open(encoding="utf-8") as f:
        return next(r for r in csv.DictReader(f) if r["department"] == department)


def test_narrative_report_names_its_department_without_the_option():
    draft, name, region = parse(read_report(REPORT), None, None)
    row = department_row("bazhong-govt-office")
    assert (draft.department, name, region, draft.fiscal_year) == ("bazhong-govt-office", row["name_zh"],
                                                                   row["region_zh"], 2018)
    assert draft.source_id == "bazhong-govt-office-2018-final-accounts"


def test_cli_extract_without_department_writes_the_package(own_source_extracted):
    """`extract REPORT --out DIR` (conftest runs it once for this and test_extract_own_source.py)."""
    run, pkg = own_source_extracted
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok " in run.stdout and "bazhong-govt-office 2018" in run.stdout
    with (pkg / "data" / "departments.csv").open(encoding="utf-8") as f:
        assert [r["department"] for r in csv.DictReader(f)] == ["bazhong-govt-office"]


def test_narrative_report_naming_no_department_asks_for_the_option(tmp_path):
    # the outline without any organisation name: one clear message naming the file
    text = ("2018年度部门决算\n第二部分 2018年度部门决算情况说明\n一、收入决算情况说明\n"
            "本年收入合计100.00万元。\n")
    report = ReportText(tmp_path / "anon.txt", text, "text/plain")
    with pytest.raises(ReportError, match=r"anon\.txt: no department name found"):
        parse(report, None, None)
