"""Unit tests of the validator's parts (in-process, fast); the command as a whole is tested by
test_validate_mutations.py."""

import codecs
import csv
import io
from argparse import Namespace
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from bazhong_accounts.checks import canonical, identities, validate
from bazhong_accounts.model.problems import Problem, Report
from bazhong_accounts.model.typing import number_problem

ROOT = Path(__file__).resolve().parents[2]
TRICKY = ["plain", "", "a,b", 'say "hi"', "two\nlines", "cr\rinside", " lead", "trail ", "中文，逗号", '"', ",", "\n"]


def test_canonical_rows_are_what_the_csv_module_writes():
    rows = [[a, b] for a in TRICKY for b in TRICKY]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    expected = buf.getvalue().encode("utf-8")
    columns = [pa.array([r[i] for r in rows]) for i in range(2)]
    assert canonical.canonical_rows(columns) == expected
    frame = pd.DataFrame({"a": [r[0] for r in rows], "b": [r[1] for r in rows]}, dtype="str")
    assert canonical.canonical_length(["a", "b"], frame) == len(b"a,b\n" + expected)


@pytest.mark.parametrize("part, base, printed, ok", [
    ("2.13", "8", "26.63", True),  # 26.625 rounds half up
    ("2.13", "8", "26.62", False),
    ("65.25", "2351.13", "2.78", True),  # 2.7753
    ("65.25", "2351.13", "2.77", False),
    ("0.43", "8", "5.4", True),  # one printed decimal: 5.375 -> 5.4
    ("19.32", "18", "100", False),  # 107.33
    ("-2.89", "25.79", "-11.21", True),  # a decline: -11.2059
    ("-1.2", "11.02", "-10.9", True),
    ("-1.2", "11.02", "10.89", False),  # wrong sign
    ("0.001", "1000", "0", True),
])
def test_rates_compare_exactly_at_the_printed_precision(part, base, printed, ok):
    result = identities.rate_ok([Decimal(part)], [Decimal(base)], [Decimal(printed)], pd.Series([printed], dtype="str"))
    assert bool(result[0]) is ok


@pytest.mark.parametrize("value, words", [
    ("６７５.7", "full-width"),
    ("1,234.5", "thousands separator; write 1234.5"),
    ("63.45%", "percent sign"),
    ("675.7万元", "has a unit (万元)"),
    ("abc", "is not a number"),
    (" 5", "spaces"),
    ("1e3", "not a plain decimal"),
])
def test_bad_numbers_are_explained(value, words):
    assert words in number_problem(value)


def test_primary_key_order_is_typed():
    schema = {"fields": [{"name": "fiscal_year", "type": "integer"}, {"name": "term_no", "type": "integer"}],
              "primaryKey": ["fiscal_year", "term_no"]}
    text = pd.DataFrame({"fiscal_year": ["2019", "2018", "2018", "2018"], "term_no": ["1", "10", "9", "2"]},
                        dtype="str")
    order = canonical.sort_permutation(text, schema)
    assert text.iloc[order]["term_no"].tolist() == ["2", "9", "10", "1"]


def test_order_check_agrees_with_the_sort():
    schema = {"fields": [{"name": "department", "type": "string"}, {"name": "row_no", "type": "integer"}],
              "primaryKey": ["department", "row_no"]}
    for depts, nos in ([["a", "a", "b"], ["2", "10", "1"]], [["a", "a", "b"], ["10", "2", "1"]],
                       [["b", "a", "a"], ["1", "2", "3"]], [["中", "a", "z"], ["1", "1", "1"]]):
        text = pd.DataFrame({"department": depts, "row_no": nos}, dtype="str")
        in_order = (canonical.sort_permutation(text, schema) == range(3)).all()
        assert canonical.is_sorted(text, schema) == in_order, (depts, nos)


def test_decimal_columns_sum_exactly_as_scaled_integers():
    from bazhong_accounts.model.table import scaled_integers

    s = pd.Series(["1.5", "-2.89", "100", "0.001", ""], dtype="str")
    values, scale = scaled_integers(s, (s != "").to_numpy())
    assert scale == 3 and values.tolist() == [1500, -2890, 100000, 1, 0]
    assert scaled_integers(pd.Series(["1" * 16 + ".25"], dtype="str"), [True]) is None  # could overflow: Decimal


def test_fmt_makes_a_file_canonical_and_keeps_the_number_text(package, capsys):
    path = package / "data/income.csv"
    header, *rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    amount = header.index("amount")
    rows[0][amount] = rows[0][amount] + ".0" if "." not in rows[0][amount] else rows[0][amount] + "0"
    kept = rows[0][amount]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL).writerows([header] + rows[::-1])
    path.write_bytes(codecs.BOM_UTF8 + buf.getvalue().encode("utf-8"))

    assert canonical.run_fmt(Namespace(dir=package, check=True)) == 1
    assert "data/income.csv: not in canonical form" in capsys.readouterr().out
    assert canonical.run_fmt(Namespace(dir=package, check=False)) == 0
    raw = path.read_bytes()
    assert not raw.startswith(codecs.BOM_UTF8) and b"\r" not in raw and raw.endswith(b"\n")
    assert kept in raw.decode("utf-8")  # 2524.970 stays 2524.970: text is never reformatted
    assert canonical.run_fmt(Namespace(dir=package, check=True)) == 0
    report = validate.collect(package).report
    assert not [p for p in report.problems if p.path == "data/income.csv" and "canonical" in p.message], report.problems
    assert not [p for p in report.problems if "primary-key order" in p.message]


def test_fmt_refuses_a_file_with_missing_columns(package, capsys):
    path = package / "data/glossary.csv"
    before = path.read_bytes()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in before.decode().split("\n")), encoding="utf-8")
    broken = path.read_bytes()
    assert canonical.run_fmt(Namespace(dir=package, check=False)) == 1
    assert "data/glossary.csv: cannot format" in capsys.readouterr().out
    assert path.read_bytes() == broken


def test_check_api_used_by_build_finds_nothing_in_the_package():
    assert validate.check(ROOT) == []


def frictionless_once(monkeypatch) -> list:
    """frictionless validates a package directory once (seconds): a second validation of the same,
    unchanged files gets the first one's report. Returns the directories it was asked for, a call each."""
    from frictionless import Package

    asked, reports, validate_package = [], {}, Package.validate

    def validated_once(self, *args, **kwargs):
        asked.append(self.basepath)
        if self.basepath not in reports:
            reports[self.basepath] = validate_package(self, *args, **kwargs)
        return reports[self.basepath]

    monkeypatch.setattr(Package, "validate", validated_once)
    return asked


def test_frictionless_cross_check_finds_the_same_cells(package, monkeypatch):
    asked = frictionless_once(monkeypatch)
    path = package / "data/three_public_expenses.csv"
    header, *rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    rows[0][header.index("amount")] = "abc"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header] + rows)
    path.write_text(buf.getvalue(), encoding="utf-8")

    result = validate.collect(package, with_frictionless=True)
    alone = Report()
    validate.run_frictionless(package, result.tables, alone)
    assert any(p.path == "data/three_public_expenses.csv" and p.line == 2 and p.column == "amount"
               for p in alone.problems), alone.problems  # frictionless sees it, at the same line and column
    assert asked == [str(package)] * 2, asked  # the cross-check ran frictionless on the package
    # ... and added nothing there: the cell has the validator's own problem only (one run, not two)
    assert [str(p) for p in result.report.problems if p.line == 2 and p.path.endswith("three_public_expenses.csv")
            ] == ['data/three_public_expenses.csv:2: amount: "abc" is not a number']


def test_a_crashing_check_is_reported_and_the_others_still_run(package, monkeypatch, capsys):
    def boom(*args):
        raise RuntimeError("kaput")

    monkeypatch.setattr(identities, "check_identities", boom)
    (package / "data/notes.csv").write_text("a\n", encoding="utf-8")
    assert validate.run(Namespace(dir=package, frictionless=False)) == 1
    out = capsys.readouterr().out
    assert "internal error in the identities check: RuntimeError: kaput" in out
    assert "data/notes.csv: CSV file not listed" in out  # the other checks ran


def test_github_annotation_escapes_its_text():
    p = Problem("data/a,b.csv", 3, "amount", "50% off\nnext", col_no=8)
    assert p.annotation() == "::error file=data/a%2Cb.csv,line=3,col=8::amount: 50%25 off%0Anext"


def test_missing_directory_is_a_message(tmp_path, capsys):
    assert validate.run(Namespace(dir=tmp_path / "nowhere", frictionless=False)) == 1
    assert "no datapackage.json" in capsys.readouterr().out

