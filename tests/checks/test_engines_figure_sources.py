"""Check (f), figure sources, on DuckDB (checks/engines/figure_sources_sql.py): the same problems,
words and counts as the pandas validator on a copy broken once for each rule of the check, and on
a small synthetic package, where the engine hands the check only the rows of the located report.
The expected places and words come from the data and the archived text, never from the module
under test; the pandas validator is the reference the engine must agree with.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bazhong_accounts.checks import engines, validate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "checks"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from conftest import read_rows, write_rows  # noqa: E402
from test_figure_sources import CASES, SOURCE, TEXT  # noqa: E402  the pandas check's broken cases, reused

SID = "bazhong-govt-office-2018-final-accounts"


def _more_cases(pkg: Path, used: set) -> list[str]:
    """One break for each rule CASES does not break, each on a span of its own that CASES leaves
    alone (`used`: the cells CASES breaks): path:line: column: words of each problem expected."""
    edited: set[int] = set()
    before: dict = {}  # the span's row as it was

    def span(change, pick=lambda r: True) -> int:
        """change(row) on the first span of an amount not broken yet; its CSV line."""
        header, fs, lines = read_rows(pkg, "figure_sources")
        i = next(i for i, r in enumerate(fs) if lines[i] not in edited and r["column"] == "amount"
                 and (r["resource"], r["row_key"]) not in used and pick(r))
        before.update(fs[i])
        change(fs[i])
        write_rows(pkg, "figure_sources", header, fs)
        edited.add(lines[i])
        return lines[i]

    n = len(TEXT)
    out = [f"data/figure_sources.csv:{span(lambda r: r.update(start=str(n + 5), end=str(n + 8)))}: end: "
           f"span {n + 5}..{n + 8} is outside the source text ({n} characters)"]
    line = span(lambda r: r.update(row_key="no_such_row"))
    out.append(f"data/figure_sources.csv:{line}: row_key: no row `no_such_row` of 2018 bazhong-govt-office in "
               f"`{before['resource']}` (a fact table)")
    line = span(lambda r: r.update(column="source_quote"))
    out.append(f"data/figure_sources.csv:{line}: column: `source_quote` is not a figure column of "
               f"`{before['resource']}`")
    derived = next(r for r in read_rows(pkg, "expenditure_by_type")[1] if r["derived"] == "true" and r["amount"])
    line = span(lambda r: r.update(resource="expenditure_by_type", row_key=derived["item_id"]))
    out.append(f"data/figure_sources.csv:{line}: row_key: expenditure_by_type {derived['item_id']} is derived: its "
               "rule is its provenance, it has no span")
    # the character of the text before a figure taken into its span: not one number
    line = span(lambda r: r.update(start=str(int(r["start"]) - 1), printed=TEXT[int(r["start"]) - 1:int(r["end"])]),
                lambda r: not TEXT[int(r["start"]) - 1].isspace() and TEXT[int(r["start"]) - 1] not in "增减下降长少低")
    widened = TEXT[int(before["start"]) - 1:int(before["end"])]
    out.append(f"data/figure_sources.csv:{line}: printed: «{widened}» is not one number")
    # a cell emptied whose span stays
    header, ind, _ = read_rows(pkg, "indicators")
    _, fs, _ = read_rows(pkg, "figure_sources")
    spanned = {r["row_key"]: r["printed"] for r in fs if r["resource"] == "indicators" and r["column"] == "value"}
    i = next(i for i, r in enumerate(ind) if r["metric_id"] in spanned and (("indicators", r["metric_id"]) not in used))
    ind[i]["value"] = ""
    out.append(f"indicators {ind[i]['metric_id']} `value` is empty but «{spanned[ind[i]['metric_id']]}» is located")
    # the row's unit (a category, not the field's description): 亿元 printed for a value in 万元
    k = next(k for k, r in enumerate(ind) if r["unit_zh"] == "亿元" and r["metric_id"] in spanned and k != i)
    ind[k]["unit_zh"] = "万元"
    out.append(f"«{spanned[ind[k]['metric_id']]}» states ")
    out.append(f"but indicators {ind[k]['metric_id']} `value` is {ind[k]['value']} and no erratum of that cell gives ")
    write_rows(pkg, "indicators", header, ind)
    # non_figures: a draft row without a reason, and one whose printed text is not the text's
    header, nf, nf_lines = read_rows(pkg, "non_figures")
    draft = next(r for r in nf if r["reason"] == "year")
    draft["reason"] = "unclassified"
    line_no = TEXT.count("\n", 0, int(draft["start"])) + 1
    col = int(draft["start"]) - (TEXT.rfind("\n", 0, int(draft["start"])) + 1) + 1
    out.append(f"{SOURCE}:{line_no}: col {col}: number «{draft['printed']}» of {SID} is `unclassified`")
    j = next(j for j, r in enumerate(nf) if r["reason"] == "heading_number" and r["printed"] == "一")
    nf[j]["printed"] = "二"
    out.append(f"data/non_figures.csv:{nf_lines[j]}: printed: the source has «一» at {nf[j]['start']}..{nf[j]['end']}, "
               "not «二»")
    write_rows(pkg, "non_figures", header, nf)
    return out


@pytest.fixture(scope="module")
def every_rule_broken(tmp_path_factory, copy_package):
    """A copy with every case of test_figure_sources.py and one break of each other rule."""
    pkg = copy_package(tmp_path_factory.mktemp("figure-rules") / "package")
    expected = [make(pkg) for make in CASES.values()]
    used = {("indicators", "arbitration_cases"), ("three_public_expenses", "overseas"),  # the cells CASES break
            ("three_public_expenses", "reception"), ("indicators", "internal_sections"),
            ("indicators", "documents_issued_change_pct"), ("indicators", "cloud_monthly_reports")}
    expected += _more_cases(pkg, used)
    return pkg, expected


def _lines(result) -> list[str]:
    return sorted(str(p) for p in result.report.problems)


def test_duckdb_reports_every_broken_rule_as_pandas_does(every_rule_broken, monkeypatch):
    """The emptied cell (a required value) makes DuckDB read indicators.csv again in full: the
    check reads the rows' units from every category of that file, not only the ones the load kept."""
    from bazhong_accounts.checks.engines.backends import DuckDBEngine

    pkg, expected = every_rule_broken
    read_again, load_full = [], DuckDBEngine.load_full
    monkeypatch.setattr(DuckDBEngine, "load_full", lambda self, name, *a: (read_again.append(name),
                                                                           load_full(self, name, *a)))
    pandas, duckdb = validate.collect(pkg), engines.collect(pkg, "duckdb")
    assert "indicators" in read_again
    got = _lines(duckdb)
    for words in expected:
        assert any(words in line for line in got), (words, [g for g in got if "figure" in g or "«" in g])
    assert got == _lines(pandas)
    assert duckdb.numbers == pandas.numbers and duckdb.numbers[1] > duckdb.numbers[0] > 0, duckdb.numbers


@pytest.fixture(scope="module")
def synthetic_citing_another_report(tmp_path_factory):
    """4 department-years (the real one located, 3 synthetic ones not); a fact row of the real
    report cites a synthetic report: its quote is looked for in that report's text."""
    from synth import write_synthetic

    pkg = tmp_path_factory.mktemp("figure-synth") / "package"
    write_synthetic(pkg, 4)
    _, sources, _ = read_rows(pkg, "sources")
    other = next(r["source_id"] for r in sources if r["source_id"] != SID)
    header, ind, lines = read_rows(pkg, "indicators")
    spanned = {r["row_key"] for r in read_rows(pkg, "figure_sources")[1] if r["resource"] == "indicators"}
    i = next(i for i, r in enumerate(ind) if r["source_id"] == SID and r["metric_id"] in spanned)
    ind[i]["source_id"] = other
    write_rows(pkg, "indicators", header, ind)
    return pkg, lines[i], len({r["source_id"] for r in sources}) - 1


def test_duckdb_hands_the_check_the_located_rows_only(synthetic_citing_another_report, monkeypatch):
    from bazhong_accounts.checks.engines import figure_sources_sql

    pkg, line, unlocated = synthetic_citing_another_report
    seen = {}
    original = figure_sources_sql.check_figure_sources

    def spy(tables, texts, paths, report):
        seen.update(tables=tables, texts=texts)
        return original(tables, texts, paths, report)

    monkeypatch.setattr(figure_sources_sql, "check_figure_sources", spy)
    pandas, duckdb = validate.collect(pkg), engines.collect(pkg, "duckdb")
    assert _lines(duckdb) == _lines(pandas)
    assert duckdb.numbers == pandas.numbers and duckdb.numbers[2] == unlocated == 3, duckdb.numbers
    assert any(p.startswith(f"data/indicators.csv:{line}: source_quote: excerpt «") for p in _lines(duckdb))
    tables = seen["tables"]
    years = {(t.col("fiscal_year")[r], t.col("department")[r]) for t in tables.values()
             if "department" in t.fields and "resource" not in t.fields for r in range(len(t))}
    assert years == {("2018", "bazhong-govt-office")}, years
    assert len(tables["indicators"]) == sum(r["department"] == "bazhong-govt-office"
                                            for r in read_rows(pkg, "indicators")[1])
    assert len(seen["texts"]) == 2, sorted(seen["texts"])  # the located report and the one cited
