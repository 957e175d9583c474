"""Check (f), figure sources, on DuckDB (checks/engines/figure_sources_sql.py): the same problems,
words and counts as the pandas validator on a small synthetic package broken once for each rule of
the check, where the engine hands the check only the rows of the located report.
The expected places and words come from the data and the archived text, never from the module
under test; the pandas validator is the reference the engine must agree with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bazhong_accounts.checks import engines, validate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "checks"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from conftest import made_once_shared, read_rows, write_rows  # noqa: E402
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
    used.add(("indicators", ind[i]["metric_id"]))
    out.append(f"indicators {ind[i]['metric_id']} `value` is empty but «{spanned[ind[i]['metric_id']]}» is located")
    # the row's unit (a category, not the field's description): 亿元 printed for a value in 万元
    k = next(k for k, r in enumerate(ind) if r["unit_zh"] == "亿元" and r["metric_id"] in spanned and k != i)
    ind[k]["unit_zh"] = "万元"
    used.add(("indicators", ind[k]["metric_id"]))
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


def _cite_another_report(pkg: Path, used: set) -> int:
    """A fact row of the located report (real) made to cite the synthetic report: its quote is
    looked for in that report's text. Returns the row's CSV line."""
    other = next(r["source_id"] for r in read_rows(pkg, "sources")[1] if r["source_id"] != SID)
    header, ind, lines = read_rows(pkg, "indicators")
    spanned = {r["row_key"] for r in read_rows(pkg, "figure_sources")[1] if r["resource"] == "indicators"}
    i = next(i for i, r in enumerate(ind) if r["source_id"] == SID and r["metric_id"] in spanned
             and ("indicators", r["metric_id"]) not in used and r["value"] and r["unit_zh"] != "万元")
    ind[i]["source_id"] = other
    write_rows(pkg, "indicators", header, ind)
    return lines[i]


def _cited_by_another_year(pkg: Path) -> str:
    """A row of the synthetic department-year made to cite the located report: its figure then
    needs a span there (the row is selected by its source, not by its department-year)."""
    header, ind, lines = read_rows(pkg, "indicators")
    i = next(i for i, r in enumerate(ind) if r["department"] != "bazhong-govt-office" and r["value"]
             and r["derived"] != "true")
    ind[i]["source_id"] = SID
    write_rows(pkg, "indicators", header, ind)
    return f"data/indicators.csv:{lines[i]}: value: figure {ind[i]['value']} has no span in data/figure_sources.csv"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A synthetic package of 2 department-years (the real one, located, and a synthetic one, not)
    broken by every case of test_figure_sources.py, one break of each other rule and a row of each
    citing the other's report; validated by pandas and by DuckDB, the rows DuckDB handed the check and the
    files it read again in full recorded."""
    from synth import write_synthetic

    from bazhong_accounts.checks.engines import figure_sources_sql
    from bazhong_accounts.checks.engines.backends import DuckDBEngine

    pkg = tmp_path_factory.mktemp("figure-rules") / "package"
    write_synthetic(pkg, 2)
    expected = [make(pkg) for make in CASES.values()]
    used = {("indicators", "arbitration_cases"), ("three_public_expenses", "overseas"),  # the cells CASES break
            ("three_public_expenses", "reception"), ("indicators", "internal_sections"),
            ("indicators", "documents_issued_change_pct"), ("indicators", "cloud_monthly_reports")}
    expected += _more_cases(pkg, used)
    line = _cite_another_report(pkg, used)
    expected.append(f"data/indicators.csv:{line}: source_quote: excerpt «")
    expected.append(_cited_by_another_year(pkg))
    seen: dict = {"read again": []}
    check, load_full = figure_sources_sql.check_figure_sources, DuckDBEngine.load_full

    def handed(tables, texts, paths, report, *skipped):
        seen.update(tables=tables, texts=texts)
        return check(tables, texts, paths, report, *skipped)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(figure_sources_sql, "check_figure_sources", handed)
        mp.setattr(DuckDBEngine, "load_full", lambda self, name, *a: (seen["read again"].append(name),
                                                                      load_full(self, name, *a)))
        duckdb = engines.collect(pkg, "duckdb")
    return pkg, expected, validate.collect(pkg), duckdb, seen


def _lines(result) -> list[str]:
    return sorted(str(p) for p in result.report.problems)


def test_duckdb_reports_every_broken_rule_as_pandas_does(runs):
    """The same lines and summary counts. The emptied cell (a required value) makes DuckDB read
    indicators.csv again in full: the check reads the rows' units from every category of that
    file, not only the ones the load kept."""
    _, expected, pandas, duckdb, seen = runs
    assert "indicators" in seen["read again"]
    got = _lines(duckdb)
    for words in expected:
        assert any(words in line for line in got), (words, [g for g in got if "figure" in g or "«" in g])
    assert got == _lines(pandas)
    assert duckdb.numbers == pandas.numbers, (duckdb.numbers, pandas.numbers)
    assert duckdb.numbers[1] > duckdb.numbers[0] > 0 and duckdb.numbers[2] == 1, "the synthetic report: not located"


def test_duckdb_hands_the_check_the_located_rows_only(runs):
    """The fact rows of the located department-year or citing its report, none of the other."""
    pkg, _, _, _, seen = runs
    tables = seen["tables"]
    handed = [(t.col("department")[r], t.col("source_id")[r]) for t in tables.values()
              if "department" in t.fields and "resource" not in t.fields for r in range(len(t))]
    assert handed and all(dept == "bazhong-govt-office" or sid == SID for dept, sid in handed), set(handed)
    assert len(tables["indicators"]) == sum(r["department"] == "bazhong-govt-office" or r["source_id"] == SID
                                            for r in read_rows(pkg, "indicators")[1])
    assert len(seen["texts"]) == 2, sorted(seen["texts"])  # the located report and the one a row cites


# ---------------------------------------------------------------- a column the check reads, dropped


def _drop_column(pkg: Path, name: str, column: str) -> None:
    """The column gone from data/<name>.csv and from its schema (with a foreign key on it), as a
    schema edited together with its file would leave them: the header check finds nothing."""
    header, rows, _ = read_rows(pkg, name)
    write_rows(pkg, name, [h for h in header if h != column], rows)
    path = pkg / "schemas" / f"{name}.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"] = [f for f in schema["fields"] if f["name"] != column]
    schema["foreignKeys"] = [k for k in schema.get("foreignKeys", []) if column not in k["fields"]]
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# (resource, column dropped) -> the one problem every engine reports at the file's header line
DROPPED = {
    ("indicators", "source_id"): "data/indicators.csv:1: source_id: column missing: check (f), figure sources, "
                                 "reads it in every fact table; add it to the schema and the file (until then the "
                                 "figures of indicators are not checked)",
    ("non_figures", "reason"): "data/non_figures.csv:1: reason: column missing: check (f), figure sources, reads "
                               "it in non_figures; add it to the schema and the file (until then check (f) does "
                               "not run)",
}


@pytest.fixture(scope="session")
def dropped(tmp_path_factory, copy_package):
    """For each DROPPED case, a copy of the package without that column, validated by pandas and
    by DuckDB; once per run (made_once_shared: worksteal splits this module's cases between the
    workers, and a module fixture was made again by each part, 3 s of CPU each)."""
    def make():
        out = {}
        for name, column in DROPPED:
            pkg = copy_package(tmp_path_factory.mktemp(f"no-{name}-{column}") / "package")
            _drop_column(pkg, name, column)
            out[(name, column)] = validate.collect(pkg), engines.collect(pkg, "duckdb")
        return out

    return made_once_shared(tmp_path_factory, "dropped-columns", make)


@pytest.mark.parametrize("case", list(DROPPED), ids="/".join)
def test_a_dropped_column_is_one_clear_problem_on_every_engine(dropped, root_validation, case):
    """Not an internal error (pandas: KeyError), not a silent skip (DuckDB left the table out, and
    every span naming it was `no row`): one problem naming the column, the same on both."""
    for result in dropped[case]:
        assert _lines(result) == [DROPPED[case]]
    pandas, duckdb = dropped[case]
    assert pandas.numbers == duckdb.numbers
    if case[0] == "indicators":  # the other tables are checked: their spans still cover the report
        real = root_validation[1].numbers
        assert pandas.numbers == real and real[0] > 0, (pandas.numbers, real)
