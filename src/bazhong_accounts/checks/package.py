"""The package as `validate` first meets it: datapackage.json and the resources' Table Schemas
read and checked (names, paths, roles), each problem reported, never raised. Shared by the pandas
validator (`checks.validate`) and the SQL engines (`checks.engines`)."""

from __future__ import annotations

import json
from pathlib import Path

from ..model.descriptor import key_problems, with_usable_keys
from ..model.problems import Report
from .structure import check_roles


class Result:
    def __init__(self):
        self.report = Report()
        self.order: dict[str, int] = {"datapackage.json": 0}
        self.tables: dict = {}
        self.resources = 0
        self.numbers = (0, 0, 0)  # numbers of the located reports: (accounted for, found), reports not located


def _guard(report: Report, what: str, fn, *a):
    """Run one check; a crash becomes a problem, and the other checks still run."""
    try:
        return fn(*a)
    except Exception as e:  # noqa: BLE001 - report, never a traceback
        report.add("datapackage.json", None, None,
                   f"internal error in the {what} check: {type(e).__name__}: {e} (please report)")


def _load_package(root: Path, result: Result) -> list[tuple[str, str, dict, str]] | None:
    report = result.report
    if not (root / "datapackage.json").is_file():
        report.add("datapackage.json", None, None, f"no datapackage.json in {root}")
        return None
    try:
        package = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        report.add("datapackage.json", None, None, f"not valid JSON: {e}")
        return None
    out, seen, unreadable = [], set(), set()
    for i, res in enumerate(package.get("resources", [])):
        name, rel, schema_ref = res.get("name"), res.get("path"), res.get("schema")
        if not name or not isinstance(rel, str) or schema_ref is None:
            report.add("datapackage.json", None, None, f"resource #{i + 1} needs a name, a path and a schema")
            continue
        if name in seen:
            report.add("datapackage.json", None, None, f"resource `{name}` is listed twice")
            continue
        seen.add(name)
        result.order.setdefault(rel, len(result.order))
        if isinstance(schema_ref, dict):
            schema, schema_path = schema_ref, "datapackage.json"
        else:
            schema_path = schema_ref
            try:
                schema = json.loads((root / schema_ref).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                report.add(schema_ref, None, None, f"schema of resource `{name}` cannot be read: {e}")
                unreadable.add(name)
                continue
        _guard(report, f"roles ({schema_path})", check_roles, schema, schema_path, report)
        out.append((name, rel, schema, schema_path))
    result.resources = len(out)
    return _keys_usable(out, unreadable, report)


def _keys_usable(resources: list, unreadable: set[str], report: Report) -> list:
    """Each key no engine could check (a field its schema or the referenced one lacks, a
    resource not listed) said once at its schema, and left out: every engine then checks the
    others alike (foreign keys refer across schemas, hence after all are read)."""
    schemas: dict[str, dict | None] = {name: schema for name, _, schema, _ in resources}
    schemas |= dict.fromkeys(unreadable)
    out = []
    for name, rel, schema, schema_path in resources:
        for field, message in key_problems(schema, name, schemas):
            report.add(schema_path, None, field, message)
        out.append((name, rel, with_usable_keys(schema, name, schemas), schema_path))
    return out


def report_unlisted_csvs(root: Path, resources, report: Report) -> None:
    """A CSV under data/ that no resource lists: data a user would never see."""
    listed = {Path(rel).as_posix() for _, rel, _, _ in resources}
    if (root / "data").is_dir():
        for p in sorted((root / "data").rglob("*.csv")):
            rel = p.relative_to(root).as_posix()
            if rel not in listed:
                report.add(rel, None, None, "CSV file not listed as a resource in datapackage.json")
