"""The one model of the package: one typing grammar for validate, load() and the build; the roles
of the Table Schemas, checked; no import cycles. In-process and fast (one validate run)."""

from __future__ import annotations

import ast
import csv
import functools
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bazhong_accounts as ba
from bazhong_accounts.checks import validate
from bazhong_accounts.model.typing import CellError, cell_parser, type_column
from bazhong_accounts.site import build
from bazhong_accounts.site.sqlite import BuildError, cell_sql, load_csv, load_package

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "bazhong_accounts"

# One bad cell per type: (type, resource, column, data row (1 = first), text). Written here, not
# taken from the code under test.
BAD_CELLS = [
    ("number", "income", "amount", 1, "6.757e2"),
    ("number", "three_public_expenses", "amount", 1, "２５２４.97"),
    ("integer", "three_public_expenses_counts", "value", 1, "5.0"),
    ("boolean", "glossary", "derived", 1, "yes"),
    ("date", "sources", "period_end", 1, "2018-02-30"),
    ("string pattern", "expenditure_by_type", "breakdown", 1, "By-Type"),
]


def _rewrite(path: Path, change) -> None:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    change(rows)
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


@pytest.fixture(scope="module")
def broken(tmp_path_factory, copy_package):
    """A package with every cell of BAD_CELLS written in, and what validate says of it."""
    pkg = copy_package(tmp_path_factory.mktemp("bad-cells") / "pkg")
    for _, resource, column, row, text in BAD_CELLS:
        def change(rows, column=column, row=row, text=text):
            rows[row][rows[0].index(column)] = text
        _rewrite(pkg / "data" / f"{resource}.csv", change)
    problems = [str(p) for p in validate.collect(pkg).report.problems]
    return pkg, problems


@pytest.mark.parametrize("ftype, resource, column, row, text", BAD_CELLS, ids=[f"{c[0]}-{c[4]}" for c in BAD_CELLS])
def test_a_bad_cell_is_rejected_by_validate_load_and_build(broken, ftype, resource, column, row, text):
    pkg, problems = broken
    where = f"data/{resource}.csv:{row + 1}: {column}: \"{text}\""  # header = line 1
    said = [p for p in problems if p.startswith(where)]
    assert said, (where, problems)
    with pytest.raises(ValueError) as exc:
        ba.load(resource, root=pkg)
    assert said[0] in str(exc.value).splitlines()  # the same words as validate
    tables = load_package(pkg).tables
    conn = sqlite3.connect(":memory:")
    conn.execute(build.create_table_sql(tables[resource], tables))
    with pytest.raises(BuildError) as exc:
        load_csv(conn, tables[resource])  # the build's loader types cells in SQL: the same words
    assert str(exc.value) == f"{pkg / 'data' / resource}.csv:{row + 1}: {column}: {said[0].split(': ', 2)[2]}"


def test_build_site_stops_at_a_bad_cell(broken, tmp_path):
    pkg, _ = broken
    out = tmp_path / "site" / "x.db"
    with pytest.raises(BuildError, match=r'\.csv:[0-9]+: [a-z_]+: "'):
        build.build_site(pkg, out, charts=False)
    assert not out.exists()


# text -> valid? per type, written here; both the per-cell and the column-wise grammar must agree
GRAMMAR = {
    "number": {"675.7": True, "-2.89": True, "0": True, "6.757e2": False, "+1": False, "1.": False, ".5": False,
               "1,234": False, "２５": False, " 1": False, "1\n": False, "5%": False, "NaN": False, "inf": False},
    "integer": {"5": True, "-3": True, "5.0": False, "1e3": False, "９": False, "1" * 19: False, "": None},
    "boolean": {"true": True, "false": True, "yes": False, "True": False, "1": False},
    "date": {"2018-12-31": True, "2018-02-30": False, "2018-1-1": False, "20181231": False, "2018-12-31\n": False},
    "string": {"by_type": True, "By-Type": False, "by_type\n": False, "by__type": False},
}
FIELDS = {
    "number": {"name": "x", "type": "number"},
    "integer": {"name": "x", "type": "integer"},
    "boolean": {"name": "x", "type": "boolean", "trueValues": ["true"], "falseValues": ["false"]},
    "date": {"name": "x", "type": "date"},
    "string": {"name": "x", "type": "string", "constraints": {"pattern": "^[a-z0-9]+(_[a-z0-9]+)*$"}},
}


@pytest.mark.parametrize("ftype", GRAMMAR)
def test_per_cell_and_column_wise_grammars_agree(ftype):
    field = FIELDS[ftype]
    cells = [c for c, ok in GRAMMAR[ftype].items() if ok is not None]
    _, bad = type_column(field, pd.Series(cells, dtype=object), np.zeros(len(cells), dtype=bool))
    parse = cell_parser(field)
    for text, is_bad in zip(cells, bad, strict=False):
        assert is_bad == (not GRAMMAR[ftype][text]), (ftype, text)
        if GRAMMAR[ftype][text]:
            parse(text)
        else:
            with pytest.raises(CellError, match=r'^"'):
                parse(text)
    if ftype != "string":  # the build types cells in SQL (patterns: on distinct values, in Python)
        conn = sqlite3.connect(":memory:")
        stored = [conn.execute(f"select typeof({cell_sql(field, '?1', [''])})", (c,)).fetchone()[0] for c in cells]
        assert [t == "blob" for t in stored] == [not GRAMMAR[ftype][c] for c in cells], ftype


def test_the_default_boolean_tokens_are_table_schemas():
    parse = cell_parser({"name": "x", "type": "boolean"})
    assert [parse(t) for t in ("true", "True", "TRUE", "1", "false", "False", "FALSE", "0")] == [True] * 4 + [False] * 4
    with pytest.raises(CellError):
        parse("yes")


def test_load_runs_the_frame_level_checks(copy_package, tmp_path):
    pkg = copy_package(tmp_path / "pkg")
    rows = {}

    def change(r):
        i = r[0].index("level")
        r[1][i] = "2" if r[1][i] == "1" else "1"  # the code's length says otherwise
        rows["line"] = 2

    _rewrite(pkg / "data" / "expenditure_by_function.csv", change)
    with pytest.raises(ValueError, match=r"expenditure_by_function\.csv:2: level: level [0-9] does not fit code"):
        ba.load("expenditure_by_function", root=pkg)
    ba.load("expenditure_by_function", root=pkg, validate=False)  # the text is of its types


# ---------------------------------------------------------------- roles


def _set_role(name, role):
    def mutate(schema):
        field = next(f for f in schema["fields"] if f["name"] == name)
        if role is None:
            field.pop("role")
        else:
            field["role"] = role
    return mutate


# (schema, mutation, field named, words of the message); one schema each, so one validate run
ROLE_MUTATIONS = [
    ("income", _set_role("amount", None), "amount", "has no `role`"),
    ("projects", _set_role("budget", "money"), "budget", "unknown role `money`"),
    ("events", _set_role("name_zh", "figure"), "name_zh", "a figure must be a number"),
    ("glossary", lambda s: s.pop("rowLabel"), None, "no `rowLabel`"),
    ("indicators", lambda s: s.update(rowLabel="title"), None, "rowLabel `title` is not a field"),
]


@pytest.fixture(scope="module")
def bad_roles(tmp_path_factory, copy_package):
    pkg = copy_package(tmp_path_factory.mktemp("bad-roles") / "pkg")
    for resource, mutate, _, _ in ROLE_MUTATIONS:
        path = pkg / "schemas" / f"{resource}.json"
        schema = json.loads(path.read_text(encoding="utf-8"))
        mutate(schema)
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")
    return validate.collect(pkg).report.problems


@pytest.mark.parametrize("resource, mutate, field, message", ROLE_MUTATIONS, ids=[m[3] for m in ROLE_MUTATIONS])
def test_validate_checks_roles_and_row_labels(bad_roles, resource, mutate, field, message):
    said = [p for p in bad_roles if p.path == f"schemas/{resource}.json"]
    assert [(p.column, message in p.message) for p in said] == [(field, True)], [str(p) for p in bad_roles]


def test_every_schema_declares_roles_and_a_row_label():
    for path in sorted((ROOT / "schemas").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["rowLabel"] in [f["name"] for f in schema["fields"]], path.name
        assert all(f.get("role") for f in schema["fields"]), path.name


# ---------------------------------------------------------------- the import graph


def _imports(path: Path, module: str) -> set[str]:
    """Modules of the package `module` imports anywhere (function-level too), except under
    `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for stmt in node.body for n in ast.walk(stmt)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if not node.level and not target.startswith("bazhong_accounts"):
                continue
            out.add(target)
            out |= {f"{target}.{alias.name}" for alias in node.names}  # `from . import roles`: a module
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("bazhong_accounts")}
    return out


@functools.cache
def _graph() -> dict[str, set[str]]:
    modules = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = path
    return {m: {i for i in _imports(p, m) if i in modules and i != m} for m, p in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, as a path that returns to its start; None if there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> list[str] | None:
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (found := visit(n, path + [n])):
                return found
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m, [m])):
            return found
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycles():
    graph = _graph()
    # the graph is read: lazy imports inside functions count (build imports metadata in one)
    assert "bazhong_accounts.site.sqlite" in graph["bazhong_accounts.site.metadata"]
    assert "bazhong_accounts.site.metadata" in graph["bazhong_accounts.site.build"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


# the folders in the order the data flows; a module may import its own folder's and earlier ones
LAYERS = ["model", "checks", "extract", "site", "consumers"]


def test_modules_import_only_their_own_or_earlier_folders():
    def layer(module: str) -> int | None:
        parts = module.split(".")
        return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None

    for module, imported in _graph().items():
        mine = layer(module)
        for other in imported:
            theirs = layer(other)
            if mine is not None and theirs is not None:
                assert theirs <= mine, f"{module} imports {other}, of a later folder"


def test_a_row_is_named_by_its_key_fields_joined_with_a_bar():
    """errata.row_key names a project_kpis row `project|row` (schemas/errata.json says so)."""
    from bazhong_accounts.checks.files import read_table
    from bazhong_accounts.checks.identities import Rows
    from bazhong_accounts.model.problems import Report
    from bazhong_accounts.model.typing import parse_types

    schema = json.loads((ROOT / "schemas" / "project_kpis.json").read_text(encoding="utf-8"))
    report = Report()
    t = read_table(ROOT, "project_kpis", "data/project_kpis.csv", schema, "schemas/project_kpis.json", report)
    parse_types(t, report)
    with open(ROOT / "data" / "project_kpis.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    last = rows[-1]
    where = ([last["fiscal_year"]] * 2, [last["department"]] * 2)
    found = Rows(t).find(*where, [f"{last['project_id']}|{last['row_no']}", f"{last['project_id']}:{last['row_no']}"])
    assert list(found) == [len(rows) - 1, -1] and not report.problems
