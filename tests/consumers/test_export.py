"""`bazhong-accounts export`: every format written, read back, equal to load(), Chinese intact."""

import csv
import functools
import json
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bazhong_accounts as ba
from bazhong_accounts import cli

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTOR = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
NAMES = [r["name"] for r in DESCRIPTOR["resources"]]
CJK = re.compile(r"[\u4e00-\u9fff]")


def fields_of(name):
    return json.loads((ROOT / "schemas" / f"{name}.json").read_text(encoding="utf-8"))["fields"]


def canonical(value, ftype):
    """One comparable Python value per cell, whatever the format gave back."""
    if value is None or value == "":
        return None
    if ftype == "integer":
        return int(value)
    if ftype == "number":  # floats (xlsx) through their shortest repr, others as text
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    if ftype == "boolean":
        return value if isinstance(value, bool) else {"true": True, "false": False}[value]
    if ftype == "date":
        if isinstance(value, datetime):
            return value.date()
        return value if isinstance(value, date) else date.fromisoformat(value)
    return value


@functools.cache  # what load() gives, once a table (the four formats compare with it); never changed
def expected(name):
    fields = fields_of(name)
    df = ba.load(name)
    out = []
    for record in df.itertuples(index=False):
        row = []
        for v, f in zip(record, fields, strict=False):
            if v is None or (not isinstance(v, Decimal) and pd.isna(v)):
                row.append(None)
            elif f["type"] == "date":
                row.append(v.date())
            elif f["type"] == "boolean":
                row.append(bool(v))
            elif f["type"] == "integer":
                row.append(int(v))
            else:
                row.append(v)
        out.append(row)
    return out


def export(name, fmt, out: Path, *extra) -> Path:
    assert cli.main(["export", name, "--format", fmt, "--out", str(out), *extra]) == 0
    return out


def as_canonical(rows, fields):
    return [[canonical(v, f["type"]) for v, f in zip(r, fields, strict=False)] for r in rows]


def read_back(fmt, path: Path, fields):
    names = [f["name"] for f in fields]
    if fmt == "csv":
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == names
        return rows[1:]
    if fmt == "json":
        records = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        assert all(list(r) == names for r in records)
        return [[r[n] for n in names] for r in records]
    if fmt == "parquet":
        table = pq.read_table(path)
        assert table.column_names == names
        return [[r[n] for n in names] for r in table.to_pylist()]
    ws = openpyxl.load_workbook(path).worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == names
    return rows[1:]


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "xlsx"])
@pytest.mark.parametrize("name", NAMES)
def test_export_round_trip(name, fmt, tmp_path):
    fields = fields_of(name)
    path = export(name, fmt, tmp_path / f"{name}.{fmt}")
    got = as_canonical(read_back(fmt, path, fields), fields)
    assert got == expected(name)
    chinese = [v for r in got for v in r if isinstance(v, str) and CJK.search(v)]
    if any(f["name"].endswith("_zh") for f in fields):
        assert chinese, "no Chinese text came back"


@pytest.mark.parametrize("name", NAMES)
def test_json_numbers_are_the_decimal_text(name, tmp_path):
    fields = fields_of(name)
    numbers = [f["name"] for f in fields if f["type"] == "number"]
    path = export(name, "json", tmp_path / "out.json")
    text = path.read_text(encoding="utf-8")
    assert "\\u" not in text  # ensure_ascii=False: Chinese written as itself
    records = json.loads(text, parse_float=str, parse_int=str)
    with open(ROOT / "data" / f"{name}.csv", encoding="utf-8", newline="") as f:
        source = list(csv.DictReader(f))
    for record, row in zip(records, source, strict=True):
        for n in numbers:
            assert (record[n] or "") == row[n], (n, record[n], row[n])


def test_parquet_money_is_decimal128(tmp_path):
    table = pq.read_table(export("expenditure_by_function", "parquet", tmp_path / "x.parquet"))
    amount = table.schema.field("amount")
    assert pa.types.is_decimal(amount.type) and amount.type.scale == 2
    assert amount.metadata[b"title"].decode() == "决算数 / Final amount"
    assert pa.types.is_string(table.schema.field("code").type)
    assert pa.types.is_int64(table.schema.field("level").type)


def test_xlsx_numbers_keep_their_printed_decimals(tmp_path):
    path = export("expenditure_by_function", "xlsx", tmp_path / "x.xlsx")
    ws = openpyxl.load_workbook(path).worksheets[0]
    header = [c.value for c in ws[1]]
    col = header.index("amount")
    with open(ROOT / "data" / "expenditure_by_function.csv", encoding="utf-8", newline="") as f:
        texts = [r["amount"] for r in csv.DictReader(f)]
    for row, text in zip(ws.iter_rows(min_row=2), texts, strict=True):
        cell = row[col]
        assert isinstance(cell.value, (int, float))
        decimals = len(text.split(".")[1]) if "." in text else 0
        assert cell.number_format == ("0." + "0" * decimals if decimals else "0")
    # the stored XML holds the decimal text itself, not a %.16g rendering of a float
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    for text in texts:
        assert f"<v>{text}</v>" in xml


def test_csv_excel_bom(tmp_path):
    plain = export("income", "csv", tmp_path / "plain.csv").read_bytes()
    excel = export("income", "csv", tmp_path / "excel.csv", "--excel").read_bytes()
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert excel.startswith(b"\xef\xbb\xbf") and excel[3:] == plain
    assert plain == (ROOT / "data" / "income.csv").read_bytes()
    assert CJK.search(excel.decode("utf-8-sig"))


def test_json_to_stdout(capsysbinary):
    assert cli.main(["export", "glossary", "--format", "json"]) == 0
    records = json.loads(capsysbinary.readouterr().out.decode("utf-8"))
    assert len(records) == len(ba.load("glossary"))
    assert CJK.search(records[0]["term_zh"])


def test_export_unknown_name(capsys, tmp_path):
    assert cli.main(["export", "nope", "--format", "csv", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unknown resource 'nope'" in err
    assert all(n in err for n in NAMES)
    assert not (tmp_path / "x").exists()
