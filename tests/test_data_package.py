"""The data package itself (issue 3): archived source intact, Frictionless-valid, every row traceable
to the source. These are deliberately simple re-implementations, a cross-check on the validator."""

import csv
import hashlib
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from frictionless import Package

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
with open(ROOT / "data/sources.csv", encoding="utf-8", newline="") as _f:
    SOURCES = {r["source_id"]: r for r in csv.DictReader(_f)}


def rows(resource):
    with open(ROOT / resource["path"], encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def schema(resource):
    return json.loads((ROOT / resource["schema"]).read_text(encoding="utf-8"))


FACT_RESOURCES = [r for r in PACKAGE["resources"] if "source_quote" in {f["name"] for f in schema(r)["fields"]}]


def source_text(source_id):
    return (ROOT / SOURCES[source_id]["path"]).read_text(encoding="utf-8")


def test_archived_source_matches_its_checksum():
    for source in SOURCES.values():
        digest = hashlib.sha256((ROOT / source["path"]).read_bytes()).hexdigest()
        assert digest == source["sha256"], source["path"]


def test_source_checksum_is_the_published_one():
    # the checksum given by shared/source/README, independent of the sources table
    assert SOURCES["bazhong-govt-office-2018-final-accounts"]["sha256"] == (
        "bbb1a32527c2bb560c2e0f991382230ca3604ae55b10dfff1669c7036f4b9adf")


def test_frictionless_validates_the_package_with_keys():
    report = Package(str(ROOT / "datapackage.json")).validate()
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "note"])[:20]
    for resource in PACKAGE["resources"]:
        assert schema(resource).get("primaryKey"), f"{resource['name']} has no primary key"
    fact_names = {r["name"] for r in FACT_RESOURCES}
    for name in fact_names:
        fks = schema(next(r for r in PACKAGE["resources"] if r["name"] == name))["foreignKeys"]
        assert any(fk["reference"]["resource"] == "departments" for fk in fks), name


@pytest.mark.parametrize("resource", FACT_RESOURCES, ids=lambda r: r["name"])
def test_every_quote_excerpt_is_in_the_archived_source(resource):
    for line, row in enumerate(rows(resource), start=2):
        text = source_text(row["source_id"])
        for excerpt in row["source_quote"].split(" … "):
            assert excerpt in text, f"{resource['path']}:{line}: {excerpt[:60]!r}"


CHINESE_DIGITS = "〇一二三四五六七八九十"


@pytest.mark.parametrize("resource", FACT_RESOURCES, ids=lambda r: r["name"])
def test_every_value_stands_in_its_quote_or_the_row_is_derived(resource):
    # the figures of the report, as each schema declares them (role figure; not years, levels or
    # ordinals), and a figure is a number
    numeric = [f["name"] for f in schema(resource)["fields"] if f["role"] == "figure"]
    assert all(f["type"] in ("number", "integer") for f in schema(resource)["fields"] if f["role"] == "figure")
    for line, row in enumerate(rows(resource), start=2):
        if row["derived"] == "true":
            assert row["derivation"], f"{resource['path']}:{line}: derived without a rule"
            continue
        assert not row["derivation"], f"{resource['path']}:{line}: a rule on a row not marked derived"
        printed = {Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", row["source_quote"])}
        counted = re.findall(r"([一二三十])(?=[年项件位次])", row["source_quote"])  # 连续三年, 十项, 第一位
        printed |= {Decimal(CHINESE_DIGITS.index(c)) for c in counted}
        for column in numeric:
            if row[column]:
                assert abs(Decimal(row[column])) in printed, f"{resource['path']}:{line}: {column}={row[column]}"


def test_quote_check_catches_a_value_missing_from_its_quote():
    # the check above must be able to fail: a quote without the value is not accepted
    printed = {Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", "基本支出1491.69万元，占63.45%")}
    assert Decimal("1491.69") in printed and Decimal("1491.7") not in printed


def test_every_fact_table_has_year_and_department_in_its_primary_key():
    for resource in FACT_RESOURCES:
        key = schema(resource)["primaryKey"]
        scope = [f["name"] for f in schema(resource)["fields"] if f["role"] == "scope"]
        assert key[:2] == scope == ["fiscal_year", "department"], resource["name"]


def test_money_cells_have_no_float_noise():
    for resource in PACKAGE["resources"]:
        numeric = [f["name"] for f in schema(resource)["fields"] if f["type"] == "number"]
        for line, row in enumerate(rows(resource), start=2):
            for column in numeric:
                value = row[column]
                where = f"{resource['path']}:{line}: {column}={value}"
                assert not value or re.fullmatch(r"-?\d+(\.\d{1,2})?", value), where


def test_csv_files_are_utf8_without_bom_with_lf_endings():
    for resource in PACKAGE["resources"]:
        raw = (ROOT / resource["path"]).read_bytes()
        raw.decode("utf-8")
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw, resource["path"]


def test_readme_tables_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "scripts/readme_table.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
