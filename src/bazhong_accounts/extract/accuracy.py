"""How well a `Draft` reproduces what a person established: the hand-made package (round trip)
and the expected-figures files of the report corpus (benchmarks/corpus/expected/*.csv).

Figures compare as decimals (17.70 equals 17.7); a cell counts by the resource's primary key,
so a figure in the wrong row is a wrong figure."""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..model import roles
from ..model.descriptor import package_dir, read_descriptor, read_schema
from .draft import Draft

ROUND_TRIP_RESOURCES = ("income", "expenditure_by_type", "expenditure_by_function", "three_public_expenses",
                        "three_public_expenses_counts", "projects")


def same(a: str, b: str) -> bool:
    try:
        return Decimal(a) == Decimal(b)
    except InvalidOperation:
        return a == b


def schemas(root: Path) -> dict[str, tuple[dict, dict]]:
    desc = read_descriptor(root)
    return {r["name"]: (r, read_schema(root, r)) for r in desc["resources"]}


def draft_cells(draft: Draft, name: str, schema: dict) -> dict[str, dict[str, str]]:
    """row key -> the draft's row of resource `name`."""
    return {roles.row_key(schema, row): row for row in draft.rows.get(name, [])}


def round_trip(draft: Draft, package: str | Path | None = None,
               resources: tuple[str, ...] = ROUND_TRIP_RESOURCES) -> dict:
    """Share of the hand-made package's numeric cells (of the draft's department-year) the draft
    reproduces exactly, by primary key, and the cells it gives another value (`differing`, each
    with whether a break of the draft names it). `extra`: figures the draft has where the package
    has none."""
    root = Path(package) if package else package_dir()
    known = schemas(root)
    flagged = {(b.resource, b.row_key, b.column) for b in draft.breaks}
    missing: list[dict] = []
    differing: list[dict] = []
    extra: list[dict] = []
    per_resource: dict[str, dict[str, int]] = {}
    for name in resources:
        resource, schema = known[name]
        mine = draft_cells(draft, name, schema)
        with (root / resource["path"]).open(encoding="utf-8", newline="") as fh:
            theirs = [r for r in csv.DictReader(fh)
                      if r["fiscal_year"] == str(draft.fiscal_year) and r["department"] == draft.department]
        seen = set()
        n = ok = 0
        for row in theirs:
            key = roles.row_key(schema, row)
            seen.add(key)
            got = mine.get(key, {})
            for col in roles.figures(schema):
                cell = {"resource": name, "row_key": key, "column": col, "package": row[col], "draft": got.get(col, "")}
                if row[col] == "":
                    if cell["draft"]:
                        extra.append(cell)
                    continue
                n += 1
                if not cell["draft"]:
                    missing.append(cell)
                elif same(cell["draft"], row[col]):
                    ok += 1
                else:
                    differing.append({**cell, "break": (name, key, col) in flagged})
        extra += [{"resource": name, "row_key": k, "column": c, "package": "", "draft": r[c]}
                  for k, r in mine.items() if k not in seen for c in roles.figures(schema) if r.get(c)]
        per_resource[name] = {"cells": n, "reproduced": ok}
    cells = sum(p["cells"] for p in per_resource.values())
    reproduced = sum(p["reproduced"] for p in per_resource.values())
    return {"cells": cells, "reproduced": reproduced, "share": reproduced / cells if cells else 1.0,
            "missing": missing, "differing": differing, "extra": extra, "per_resource": per_resource}


def read_expected(path: str | Path) -> list[dict[str, str]]:
    """An expected-figures file: report,resource,row_key,column,value,where."""
    with Path(path).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    need = ["report", "resource", "row_key", "column", "value", "where"]
    if rows and list(rows[0]) != need:
        raise ValueError(f"{path}: line 1: header must be {','.join(need)}")
    return rows


def scorecard(draft: Draft, expected_csv: str | Path, known: dict[str, dict]) -> dict:
    """The draft against an expected-figures file, `known` being the Table Schemas by resource:
    precision (of the figures the draft gives at the expected keys, the share equal to the expected
    value), recall (the share of expected figures the draft gives equal), the `wrong` figures (with
    the draft's value) and the `missing` ones. Nothing extracted at those keys counts as precision
    1.0; nothing expected, recall 1.0."""
    expected = read_expected(expected_csv)
    mine = {name: draft_cells(draft, name, schema) for name, schema in known.items()}
    given = right = 0
    wrong: list[dict] = []
    missing: list[dict] = []
    for e in expected:
        got = mine.get(e["resource"], {}).get(e["row_key"], {}).get(e["column"], "")
        if not got:  # also a resource the schemas do not hold yet: the draft cannot give it
            missing.append(e)
            continue
        given += 1
        if same(got, e["value"]):
            right += 1
        else:
            wrong.append({**e, "draft": got})
    return {"expected": len(expected), "extracted_at_keys": given, "right": right,
            "precision": right / given if given else 1.0, "recall": right / len(expected) if expected else 1.0,
            "wrong": wrong, "missing": missing}


def score(draft: Draft, expected_csv: str | Path, package: str | Path | None = None) -> tuple[float, float, list[dict]]:
    """(precision, recall, wrong) of scorecard() with the schemas of the package's resources."""
    root = Path(package) if package else package_dir()
    card = scorecard(draft, expected_csv, {name: schema for name, (_, schema) in schemas(root).items()})
    return card["precision"], card["recall"], card["wrong"]
