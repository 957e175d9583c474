"""bazhong_accounts.load / resources / package / path, and the `list` and `show` commands."""

import csv
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import bazhong_accounts as ba
from bazhong_accounts import cli
from bazhong_accounts.consumers import api

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTOR = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
NAMES = [r["name"] for r in DESCRIPTOR["resources"]]


def copy_package(dest: Path) -> Path:
    """A writable copy of the checkout's data package."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "datapackage.json", dest)
    for sub in ("data", "schemas"):
        shutil.copytree(ROOT / sub, dest / sub)
    return dest


def read_rows(csv_path: Path) -> list[list[str]]:
    with open(csv_path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_rows(csv_path: Path, rows: list[list[str]]) -> None:
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def schema_of(name):
    return json.loads((ROOT / "schemas" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NAMES)
def test_every_resource_loads_typed_and_passes_pandera(name):
    schema = schema_of(name)
    df = ba.load(name)
    assert list(df.columns) == [f["name"] for f in schema["fields"]]
    assert len(df) == len(read_rows(ROOT / "data" / f"{name}.csv")) - 1
    for field in schema["fields"]:
        col, ftype = df[field["name"]], field["type"]
        if ftype == "integer":
            assert col.dtype == "Int64", field["name"]
        elif ftype == "boolean":
            assert col.dtype == "boolean", field["name"]
        elif ftype == "date":
            assert pd.api.types.is_datetime64_any_dtype(col), field["name"]
        elif ftype == "number":
            assert col.dtype == object
            assert all(v is None or isinstance(v, Decimal) for v in col), field["name"]
        else:
            assert isinstance(col.dtype, pd.StringDtype), field["name"]


@pytest.mark.parametrize("name", NAMES)
def test_number_cells_are_the_csv_text_exactly(name):
    schema = schema_of(name)
    numbers = [f["name"] for f in schema["fields"] if f["type"] == "number"]
    rows = read_rows(ROOT / "data" / f"{name}.csv")
    header, body = rows[0], rows[1:]
    df = ba.load(name)
    for col in numbers:
        texts = [r[header.index(col)] for r in body]
        assert [("" if v is None else str(v)) for v in df[col]] == texts


def test_money_sums_exactly():
    by_function = ba.load("expenditure_by_function")
    by_type = ba.load("expenditure_by_type")
    classes = by_function[by_function.level == 1]
    assert len(classes) > 1
    for (year, dept), group in classes.groupby(["fiscal_year", "department"]):
        total = group.amount.sum()
        assert isinstance(total, Decimal)
        gpb = by_type[(by_type.fiscal_year == year) & (by_type.department == dept)
                      & (by_type.item_id == "gpb_total")].amount
        assert len(gpb) == 1
        assert total == gpb.iloc[0]


def test_codes_keep_leading_zeros(tmp_path):
    pkg = copy_package(tmp_path / "pkg")
    rows = read_rows(pkg / "data" / "departments.csv")
    rows[1][rows[0].index("department")] = "0201"
    write_rows(pkg / "data" / "departments.csv", rows)
    df = ba.load("departments", root=pkg)
    assert df.department.iloc[0] == "0201"
    assert isinstance(df.department.dtype, pd.StringDtype)


def test_function_codes_are_strings():
    df = ba.load("expenditure_by_function")
    text_codes = [r[2] for r in read_rows(ROOT / "data" / "expenditure_by_function.csv")[1:]]
    assert list(df.code) == text_codes


def test_invalid_cell_names_file_line_and_column(tmp_path):
    pkg = copy_package(tmp_path / "pkg")
    rows = read_rows(pkg / "data" / "income.csv")
    rows[3][rows[0].index("amount")] = "abc"
    write_rows(pkg / "data" / "income.csv", rows)
    with pytest.raises(ValueError) as exc:
        ba.load("income", root=pkg)
    assert str(exc.value).startswith('data/income.csv:4: amount: "abc"')


def test_unknown_name_lists_valid_names():
    with pytest.raises(KeyError) as exc:
        ba.load("no_such_table")
    for name in NAMES:
        assert name in str(exc.value)
    with pytest.raises(KeyError):
        ba.path("no_such_table")


def test_resources_package_and_path():
    res = ba.resources()
    assert list(res.name) == NAMES
    assert list(res.title) == [r["title"] for r in DESCRIPTOR["resources"]]
    for name, rows in zip(res.name, res.rows, strict=False):
        assert rows == len(read_rows(ba.path(name))) - 1
    assert ba.package().resource_names == NAMES
    for name in NAMES:
        assert ba.path(name) == ROOT / "data" / f"{name}.csv"
        assert ba.path(name).is_file()


def test_version_matches_datapackage_and_changelog():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    top = re.search(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M)
    assert top, "CHANGELOG.md has no released version heading"
    assert DESCRIPTOR["version"] == ba.__version__ == top.group(1)


def test_cli_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for r in DESCRIPTOR["resources"]:
        rows = len(read_rows(ROOT / r["path"])) - 1
        assert re.search(rf"^{r['name']}\s+{rows}\s+", out, re.M), r["name"]
        assert r["title"][:6] in out


def _columns_start(separator: str) -> list[int]:
    return [m.start() for m in re.finditer(r"-+", separator)]


def test_cli_show_aligns_chinese(capsys):
    assert cli.main(["show", "expenditure_by_function"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, separator, body = lines[0], lines[1], lines[2:-1]
    starts = _columns_start(separator)
    assert len(starts) == len(schema_of("expenditure_by_function")["fields"])
    assert len(body) == len(ba.load("expenditure_by_function"))
    assert any(re.search(r"[\u4e00-\u9fff]", line) for line in body)
    names_zh = list(ba.load("expenditure_by_function").name_zh)
    name_col = [f["name"] for f in schema_of("expenditure_by_function")["fields"]].index("name_zh")
    for i, line in enumerate([header, *body]):
        cells = []  # one entry per terminal column: a wide character takes two
        for c in line:
            cells += [c, ""] if api.display_width(c) == 2 else [c]
        for start in starts[1:]:
            if start < len(cells):  # trailing empty cells are stripped
                assert cells[start - 1] == " ", line
        if i:  # the Chinese name starts exactly under its header, whatever came before
            start = starts[name_col]
            assert "".join(cells[start:start + 8]) == names_zh[i - 1][:4], line
    assert max(api.display_width(c.strip()) for line in body for c in line.split("  ")) <= 30


def test_cli_show_unknown_name(capsys):
    assert cli.main(["show", "nope"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unknown resource 'nope'" in err
    assert all(name in err for name in NAMES)


def test_cli_show_and_export_of_a_bad_cell_say_it_in_one_line(tmp_path, capsys):
    pkg = copy_package(tmp_path / "pkg")
    rows = read_rows(pkg / "data" / "income.csv")
    for r in (1, 2):
        rows[r][rows[0].index("amount")] = "6.757e2"
    write_rows(pkg / "data" / "income.csv", rows)
    for argv in (["show", "income", str(pkg)], ["export", "income", str(pkg)]):
        assert cli.main(argv) == 1, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert 'income does not load: data/income.csv:2: amount: "6.757e2"' in err
        assert "(and 1 more: `bazhong-accounts validate DIR` lists all)" in err
