"""Check (c), the pandera schemas: built from the Table Schemas as pandera's own
from_frictionless_schema builds them (without importing frictionless), and built once per schema
content in a process, never reused for a schema that changed."""

import csv
import json
import shutil
from pathlib import Path

import pytest

import bazhong_accounts as ba
from bazhong_accounts.checks import pandera_checks
from bazhong_accounts.consumers import api
from bazhong_accounts.lazy import hidden
from bazhong_accounts.model.problems import Report
from conftest import run_in_process

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = sorted((ROOT / "schemas").glob("*.json"))

# every constraint pandera maps, alone, paired and mixed, in both orders, and both spellings of a key
EVERY_CONSTRAINT = {
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "low", "type": "integer", "constraints": {"minimum": 1}},
        {"name": "high", "type": "integer", "constraints": {"maximum": 5}},
        {"name": "both", "type": "number", "constraints": {"maximum": 100, "required": True, "minimum": 0}},
        {"name": "short", "type": "string", "constraints": {"maxLength": 3}},
        {"name": "long", "type": "string", "constraints": {"minLength": 1}},
        {"name": "mixed", "type": "string",
         "constraints": {"enum": ["ab", "cd"], "pattern": "[a-z]+", "maxLength": 4, "minLength": 1}},
        {"name": "kind", "type": "string", "constraints": {"required": True, "enum": ["x", "y"]}},
        {"name": "free", "type": "string"},
        {"name": "optional", "type": "string", "constraints": {"required": False, "pattern": "[0-9]+"}},
    ],
    "primaryKey": "id",
}
CASES = [pytest.param(json.loads(p.read_text(encoding="utf-8")), id=p.stem) for p in SCHEMAS] + [
    pytest.param(EVERY_CONSTRAINT, id="every-constraint"),
    pytest.param(dict(EVERY_CONSTRAINT, primaryKey=["id", "free"]), id="two-field-key"),
]


def pandera_reference(schema: dict) -> dict:
    """field -> (nullable, [(check, statistics)]) as pandera's from_frictionless_schema makes them."""
    from frictionless import Schema

    with hidden("pyspark"):
        from pandera.io.pandas_io import from_frictionless_schema
    derived = from_frictionless_schema(Schema(json.loads(json.dumps(schema))))
    return {name: (col.nullable, [(c.name, c.statistics) for c in col.checks]) for name, col in derived.columns.items()}


def ours(schema: dict) -> dict:
    check = pandera_checks.pa.Check
    return {f["name"]: (pandera_checks.nullable(f, schema),
                        [(name, getattr(check, name)(*args).statistics) for name, args in
                         pandera_checks.constraint_checks(f)])
            for f in schema["fields"]}


@pytest.mark.parametrize("schema", CASES)
def test_the_checks_are_pandera_from_frictionless_schemas_own(schema):
    assert ours(schema) == pandera_reference(schema)


def test_the_comparison_sees_a_check_that_differs():
    # the test above must fail when a mapping is wrong: a maximum taken for a minimum, say
    wrong = json.loads(json.dumps(EVERY_CONSTRAINT))
    theirs = pandera_reference(wrong)
    wrong["fields"][2]["constraints"] = {"minimum": 5}
    assert ours(wrong) != theirs
    assert theirs["high"] == (True, [("less_than_or_equal_to", {"max_value": 5})])
    assert theirs["both"] == (False, [("in_range", {"min_value": 0, "max_value": 100,
                                                    "include_min": True, "include_max": True})])


def copy_of_the_package(dest: Path) -> Path:
    shutil.copy(ROOT / "datapackage.json", dest)
    for part in ("data", "schemas"):
        shutil.copytree(ROOT / part, dest / part)
    return dest


def test_a_schema_changed_in_a_copy_is_checked_by_its_new_rule_in_the_same_process(tmp_path):
    ba.load("events")  # the shipped schema's pandera columns are now built, and kept
    pkg = copy_of_the_package(tmp_path)
    meetings, start = [], 2  # (meeting number, the line its row starts on)
    with open(pkg / "data" / "events.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            if row["meeting_no"]:
                meetings.append((int(row["meeting_no"]), start))
            start = reader.line_num + 1
    top, line = max(meetings)
    schema_path = pkg / "schemas" / "events.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    field = next(f for f in schema["fields"] if f["name"] == "meeting_no")
    field["constraints"]["maximum"] = top - 1  # the copy's rule: the biggest meeting number breaks it
    schema_path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    with pytest.raises(api.LoadError) as err:
        ba.load("events", root=pkg)
    assert err.value.problems == [f'data/events.csv:{line}: meeting_no: "{top}" is above the maximum {top - 1}']
    ba.load("events")  # and the shipped schema is still checked by its own rule


def problems_both_ways(t) -> tuple[list[str], list[str]]:
    """The problems of check (c) on table t: by pandera (validate), by check_constraints (load)."""
    by_pandera, by_rules = Report(), Report()
    pandera_checks.check_pandera(t, by_pandera)
    pandera_checks.check_constraints(t, by_rules)
    return [str(p) for p in by_pandera.problems], [str(p) for p in by_rules.problems]


def changed(pkg: Path, t) -> bool:
    """The table's file or schema in pkg differs from the checkout's."""
    schema = next(r["schema"] for r in json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))["resources"]
                  if r["path"] == t.path)
    return any(not (ROOT / rel).is_file() or (pkg / rel).read_bytes() != (ROOT / rel).read_bytes()
               for rel in (t.path, schema))


def test_load_finds_what_pandera_finds_on_every_mutation_case(mutation_groups, root_validation):
    # the tables of the checkout once, then in each group's copy the tables its cases changed
    tables = [("checkout", t) for t in root_validation[1].tables.values()]
    for group in mutation_groups.groups:
        tables += [(group.cases, t) for t in group.result.tables.values() if changed(group.package, t)]
    found = 0
    for cases, t in tables:
        by_pandera, by_rules = problems_both_ways(t)
        assert by_rules == by_pandera, (cases, t.path)
        found += len(by_pandera)
    assert found >= 5, found  # the cases do break constraints (a comparison of nothing proves nothing)


def read_typed(pkg: Path, name: str):
    from bazhong_accounts.checks.files import read_table
    from bazhong_accounts.model.typing import parse_types

    resource = next(r for r in json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))["resources"]
                    if r["name"] == name)
    schema = json.loads((pkg / resource["schema"]).read_text(encoding="utf-8"))
    report = Report()
    t = read_table(pkg, name, resource["path"], schema, resource["schema"], report)
    parse_types(t, report)
    return t


def break_rows(pkg: Path, name: str, rows: int, **cells: str) -> None:
    """Set the cells (column=value) of the first `rows` rows of the resource's CSV."""
    path = pkg / "data" / f"{name}.csv"
    with open(path, encoding="utf-8", newline="") as f:
        header, *body = list(csv.reader(f))
    for row in body[:rows]:
        for column, value in cells.items():
            row[header.index(column)] = value
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *body])


def test_two_failures_of_one_cell_are_worded_as_pandera_words_the_first(tmp_path):
    # level 4 breaks its range and does not fit its code (one cell, two checks: which one is
    # printed follows pandera's order); an empty quote, a negative amount, a derived row without
    # its rule, a share above 100, on two rows; a kind of erratum no enum lists
    pkg = copy_of_the_package(tmp_path)
    break_rows(pkg, "expenditure_by_function", 2, level="4", amount="-1.00", source_quote="", derived="true",
               derivation="", share_pct="100.01")
    break_rows(pkg, "errata", 1, kind="typo")

    by_pandera, by_rules = problems_both_ways(read_typed(pkg, "expenditure_by_function"))
    assert by_rules == by_pandera
    where = "data/expenditure_by_function.csv"
    assert f"{where}:2: level: level 4 does not fit code 201 (3 digits = level 1 类, 5 = level 2 款, " \
           "7 = level 3 项)" in by_pandera  # not "above the maximum"
    for line in (2, 3):
        assert {f'{where}:{line}: amount: "-1.00" is below the minimum 0 (negative amount)',
                f"{where}:{line}: source_quote: required value missing",
                f'{where}:{line}: share_pct: "100.01" is above the maximum 100',
                f"{where}:{line}: derivation: derived row without a derivation rule"} <= set(by_pandera), by_pandera
    by_pandera, by_rules = problems_both_ways(read_typed(pkg, "errata"))
    assert by_rules == by_pandera
    assert [p for p in by_pandera if ": kind: " in p] == [
        'data/errata.csv:2: kind: "typo" is not one of: ' + ", ".join(
            next(f for f in json.loads((ROOT / "schemas/errata.json").read_text(encoding="utf-8"))["fields"]
                 if f["name"] == "kind")["constraints"]["enum"])]


def test_validate_and_load_print_one_order_whatever_order_pandera_gives(package, monkeypatch):
    # 20 lines with two problems each (40 failure cases: pandera's sort is unstable past 16), with
    # pandera's ties handed over in the other order, as its quicksort on object strings leaves
    # them: validate (pandera) prints check (c)'s problems in the order load (check_constraints)
    # does, by line, then column (its place in the file), then message
    from pandera.backends.pandas import base

    consolidate = base.consolidate_failure_cases
    monkeypatch.setattr(base, "consolidate_failure_cases", lambda errors: consolidate(errors).iloc[::-1].sort_values(
        "schema_context", ascending=False, kind="stable"))
    break_rows(package, "expenditure_by_function", 20, budget_completion_pct="-1", basic_amount="-1")
    with pytest.raises(api.LoadError) as err:
        ba.load("expenditure_by_function", root=package)
    loaded = err.value.problems
    run = run_in_process("validate", package)
    where = "data/expenditure_by_function.csv"
    expected = [f'{where}:{line}: {column}: "-1" is below the minimum 0 (negative amount)'
                for line in range(2, 22) for column in ("budget_completion_pct", "basic_amount")]
    assert loaded == expected  # the schema lists budget_completion_pct before basic_amount
    assert [line for line in run.stdout.splitlines() if line in set(expected)] == expected
