"""`bazhong-accounts diff`: exactly the changes made to a copy of the package are reported."""

import csv
import json
import shutil
from pathlib import Path

import pytest

from bazhong_accounts import cli
from bazhong_accounts.consumers.diff import diff_packages

ROOT = Path(__file__).resolve().parents[2]


def copy_package(dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "datapackage.json", dest)
    for sub in ("data", "schemas"):
        shutil.copytree(ROOT / sub, dest / sub)
    return dest


def read_rows(csv_path):
    with open(csv_path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_rows(csv_path, rows):
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def key_of(name, header, row):
    schema = json.loads((ROOT / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
    return tuple(row[header.index(k)] for k in schema["primaryKey"])


@pytest.fixture
def packages(tmp_path):
    return copy_package(tmp_path / "old"), copy_package(tmp_path / "new")


def test_one_cell_changed_one_row_added_one_removed(packages, capsys):
    old, new = packages
    # change one cell
    path = new / "data" / "expenditure_by_function.csv"
    rows = read_rows(path)
    header = rows[0]
    col = header.index("name_en")
    before, rows[1][col] = rows[1][col], rows[1][col] + " (revised)"
    changed_key = key_of("expenditure_by_function", header, rows[1])
    write_rows(path, rows)
    # add a row: a copy of the last glossary term under a new term_no
    path = new / "data" / "glossary.csv"
    rows = read_rows(path)
    g_header = rows[0]
    extra = list(rows[-1])
    extra[g_header.index("term_no")] = str(max(int(r[g_header.index("term_no")]) for r in rows[1:]) + 1)
    extra[g_header.index("term_zh")] = "新增名词"
    write_rows(path, rows + [extra])
    added_key = key_of("glossary", g_header, extra)
    # remove a row
    path = new / "data" / "project_kpis.csv"
    rows = read_rows(path)
    removed_key = key_of("project_kpis", rows[0], rows[-1])
    write_rows(path, rows[:-1])

    d = diff_packages(old, new)
    assert d.resources_added == [] and d.resources_removed == []
    touched = {t.name: t for t in d.tables if not t.empty()}
    assert set(touched) == {"expenditure_by_function", "glossary", "project_kpis"}

    ebf = touched["expenditure_by_function"]
    assert ebf.changed == [(changed_key, "name_en", before, before + " (revised)")]
    assert ebf.added == [] and ebf.removed == []

    glossary = touched["glossary"]
    assert [tuple(r[k] for k in glossary.key) for r in glossary.added] == [added_key]
    assert glossary.removed == [] and glossary.changed == []

    kpis = touched["project_kpis"]
    assert [tuple(r[k] for k in kpis.key) for r in kpis.removed] == [removed_key]
    assert kpis.added == [] and kpis.changed == []

    assert cli.main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert f"{before} | {before} (revised)" in out
    assert "| expenditure_by_function | 0 | 0 | 1 | 1 |" in out
    assert "| glossary | 1 | 0 | 0 | 0 |" in out
    assert "| project_kpis | 0 | 1 | 0 | 0 |" in out
    assert "新增名词" in out
    assert "`" + " / ".join(removed_key) + "`" in out


def test_numbers_compare_as_decimals(packages):
    old, new = packages
    path = new / "data" / "expenditure_by_function.csv"
    rows = read_rows(path)
    col = rows[0].index("amount")
    rows[1][col] = rows[1][col] + ("0" if "." in rows[1][col] else ".0")  # same value
    rows[2][col] = str(float(rows[2][col]) + 1)  # a corrected figure
    write_rows(path, rows)
    [ebf] = [t for t in diff_packages(old, new).tables if not t.empty()]
    assert [(c, a, b) for _, c, a, b in ebf.changed] == [
        ("amount", read_rows(old / "data" / "expenditure_by_function.csv")[2][col], rows[2][col])]


def test_columns_and_resources_added_and_removed(packages, capsys):
    old, new = packages
    # rename a column in the schema and the CSV header
    schema_path = new / "schemas" / "income.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    [note] = [f for f in schema["fields"] if f["name"] == "note_zh"]
    note["name"] = "remark_zh"
    schema_path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    rows = read_rows(new / "data" / "income.csv")
    rows[0][rows[0].index("note_zh")] = "remark_zh"
    write_rows(new / "data" / "income.csv", rows)
    # drop one resource, add another (a copy of departments under a new name)
    descriptor = json.loads((new / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"] = [r for r in descriptor["resources"] if r["name"] != "events"]
    extra = dict(descriptor["resources"][0], name="departments_copy")
    descriptor["resources"].append(extra)
    (new / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")

    d = diff_packages(old, new)
    assert d.resources_added == ["departments_copy"]
    assert d.resources_removed == ["events"]
    [income] = [t for t in d.tables if not t.empty()]
    assert income.name == "income"
    assert income.columns_added == [("remark_zh", "string")]
    assert income.columns_removed == [("note_zh", "string")]
    assert income.added == income.removed == [] and income.columns_retyped == []
    # the renamed column's values are not compared, so no cell is reported as changed
    assert income.changed == []

    assert cli.main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "Resource added: `departments_copy`" in out
    assert "Resource removed: `events`" in out
    assert "Column added: `remark_zh`" in out and "Column removed: `note_zh`" in out


def test_identical_packages(packages, capsys):
    old, new = packages
    assert cli.main(["diff", str(old), str(new)]) == 0
    assert "No differences." in capsys.readouterr().out


def test_not_a_package(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["diff", str(tmp_path / "empty"), str(ROOT)]) == 1
    err = capsys.readouterr().err
    assert "no datapackage.json" in err and "Traceback" not in err


def test_numbers_are_compared_by_the_packages_grammar():
    from bazhong_accounts.consumers.diff import _parser, _same

    number = _parser({"name": "x", "type": "number"})
    assert _same("675.70", "675.7", number)  # one value, written two ways
    assert not _same("675.7", "6.757e2", number)  # not a number of this package: a change
    assert not _same("675.7", "675.8", number)
    assert _same("true", "True", _parser({"name": "x", "type": "boolean"}))  # Table Schema's default tokens
    assert not _same("a", "A", _parser({"name": "x", "type": "string"}))
