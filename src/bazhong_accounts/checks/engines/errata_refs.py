"""Errata references (checks/identities.py errata_references) on the SQL engines: each erratum
names a resource of the package, a column of it and a row of its department-year, and carries
that cell's value (value_carried, compared as decimals, in numeric columns).

Each query returns the failing errata rows as (rn, col, v, x): col the errata column to report,
v and x what the message shows; the words are identities.py's, written in Python for the failing
rows only.
"""

from __future__ import annotations

from ...model import roles
from ...model.problems import Report
from ..identities import fiscal
from .definitions import DECIMAL, ftype, lit, q, usable, view
from .identities import _key, failing_rows

ERRATA = "errata"


def unknown_resource_sql(names: list[str]) -> str:
    listed = ", ".join(lit(n) for n in names)
    return (f"select e.rn, 'resource' as col, e.resource as v, '' as x from {view(ERRATA)} e "
            f"where e.resource not in ({listed})")


def _numeric(schema: dict) -> list[str]:
    return [f["name"] for f in schema["fields"] if ftype(f) in ("number", "integer")]


def references_sql(name: str, schema: dict, errata: dict, named: list[str] = ()) -> str:
    """Errata naming `name`: an unknown column, a row that is not there, a value that is not the
    cell's (in the numeric columns `named`, those errata name: only they need be loaded). The row
    is the first with the erratum's department-year and row key."""
    fields = {f["name"]: f for f in schema["fields"]}
    scope = roles.scope(errata)
    numeric = [fields[c] for c in named]
    cell = ("case e.\"column\" " + " ".join(f"when {lit(f['name'])} then (case when {usable(f, 'p.' + q(f['name']))} "
                                              f"then p.{q(f['name'])} end)" for f in numeric) + " end"
            if numeric else "cast(null as VARCHAR)")
    # the first row of the department-year with the erratum's key: joined, then the least rn (no
    # sort of the resource)
    on = " and ".join(f"p.{q(c)} = e.{q(c)}" for c in scope) + f" and {_key(schema, 'p')} = e.row_key"
    first = (f"select e.rn, min(p.rn) as prn from {view(ERRATA)} e join {view(name)} p on {on} "
             f"where e.resource = {lit(name)} group by e.rn")
    carried = usable({f["name"]: f for f in errata["fields"]}["value_carried"], "e.value_carried")
    joined = (f"select e.rn, e.\"column\" as ecol, e.row_key, e.value_carried, "
              f"e.fiscal_year || chr(31) || e.department as scope, m.prn, {cell} as cell, {carried} as carried "
              f"from {view(ERRATA)} e left join ({first}) m on m.rn = e.rn left join {view(name)} p on p.rn = m.prn "
              f"where e.resource = {lit(name)}")
    # an erratum naming an unknown column is reported by unknown_column_sql only (check())
    return (f"select rn, case when prn is null then 'row_key' else 'value_carried' end as col, "
            f"case when prn is null then row_key else value_carried end as v, "
            f"case when prn is null then scope || chr(31) || ecol "
            f"else cast(prn as VARCHAR) || chr(31) || ecol || chr(31) || cell end as x "
            f"from ({joined}) j where prn is null or (cell is not null and carried "
            f"and cast(cell as {DECIMAL}) <> cast(value_carried as {DECIMAL}))")


def unknown_column_sql(name: str, unknown: list[str]) -> str:
    """Errata naming a column `name` does not have (found in Python from the distinct pairs errata
    name: a query listing the resource's columns would make the load keep them all)."""
    return (f"select e.rn, 'column' as col, e.\"column\" as v, {lit(name)} as x from {view(ERRATA)} e "
            f"where e.resource = {lit(name)} and e.\"column\" in ({', '.join(lit(c) for c in unknown)})")


def queries(schemas: dict[str, dict], names: list[str], named: dict | None = None) -> list[tuple[str, str, str]]:
    """(kind, resource, sql): errata naming unknown resources, then each resource errata name
    rows of (one of the same department-year scope, with a row key). named: resource -> the
    columns errata name (none: the queries whose columns the load keeps)."""
    errata = schemas.get(ERRATA)
    if errata is None:
        return []
    out = [("resource", ERRATA, unknown_resource_sql(names)), ("named", ERRATA, NAMED)]
    for name, schema in schemas.items():
        if set(roles.scope(schema)) != set(roles.scope(errata)) or not roles.row_key_fields(schema):
            continue  # rows not named within a department-year (departments, classification)
        # statically (named None, for the load): the figures, the columns errata name in practice
        columns = roles.figures(schema) if named is None else named.get(name, [])
        if unknown := [c for c in columns if c not in {f["name"] for f in schema["fields"]}]:
            out.append((name, ERRATA, unknown_column_sql(name, unknown)))
        numeric = [c for c in columns if c in _numeric(schema)]
        out.append((name, ERRATA, references_sql(name, schema, errata, numeric)))
    return out


NAMED = f"select distinct resource, \"column\" from {view(ERRATA)}"


def _named(engine, loaded: dict, kept) -> dict[str, list[str]]:
    """resource -> the columns errata name; a resource whose load did not keep (kept(t): the
    columns it did) a numeric one of them (its value is compared) is read again in full: the load
    keeps the columns the checks name, and naming every numeric column of every resource here
    would keep them all, for a few errata."""
    named: dict[str, list[str]] = {}
    for res, col in engine.query(NAMED):
        if res in loaded:
            named.setdefault(res, []).append(col)
    for res, cols in named.items():
        t = loaded[res]
        if not set(cols) & set(_numeric(t.schema)) <= set(kept(t)):
            engine.load_full(res, t.path, t.header)
    return named


def check(engine, loaded: dict, names: list[str], kept, report: Report) -> None:
    """kept(t): the columns the load kept of resource t."""
    if ERRATA not in loaded:
        return
    named = _named(engine, loaded, kept)
    checks = [c for c in queries({n: t.schema for n, t in loaded.items()}, names, named) if c[0] != "named"]
    for target, errata, rows, lines in failing_rows(engine, checks, loaded):
        for (_rn, col, v, x), line in zip(rows, lines):
            if col == "row_key" and x.split("\x1f")[2] not in loaded[target].fields:
                continue  # the unknown column is the problem (identities.errata_references)
            report.add(errata.rel, line, col, _message(col, v, x, loaded.get(target)), col_no=errata.col_no(col))


def _message(col: str, v: str, x: str, target) -> str:
    """identities.errata_references' words; target: the Loaded resource the erratum names."""
    if col == "resource":
        return f"`{v}` is not a resource of the package"
    if col == "column":
        return f"`{v}` is not a column of {x}"
    if col == "row_key":
        fy, dept, _ = x.split("\x1f")
        return f"no row `{v}` in {target.name} for {fiscal(fy, dept)}"
    prn, column, cell = x.split("\x1f")
    return f"value_carried {v} but {target.rel} line {target.lines.of([int(prn)])[0]} has {column} = {cell}"
