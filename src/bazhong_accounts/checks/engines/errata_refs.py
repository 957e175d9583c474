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


def references_sql(name: str, schema: dict, errata: dict) -> str:
    """Errata naming `name`: an unknown column, a row that is not there, a value that is not the
    cell's. The row is the first with the erratum's department-year and row key."""
    fields = {f["name"]: f for f in schema["fields"]}
    scope = roles.scope(errata)
    numeric = [f for f in schema["fields"] if ftype(f) in ("number", "integer")]
    cell = ("case e.\"column\" " + " ".join(f"when {lit(f['name'])} then (case when {usable(f, 'p.' + q(f['name']))} "
                                              f"then p.{q(f['name'])} end)" for f in numeric) + " end"
            if numeric else "cast(null as VARCHAR)")
    rows = (f"select p.rn as prn, {', '.join(f'p.{q(c)}' for c in scope)}, {_key(schema, 'p')} as pkey, "
            f"{', '.join(f'p.{q(f)}' for f in (x['name'] for x in numeric)) or '0 as nothing'}, "
            f"row_number() over (partition by {', '.join(f'p.{q(c)}' for c in scope)}, {_key(schema, 'p')} "
            f"order by p.rn) as k from {view(name)} p")
    on = " and ".join(f"p.{q(c)} = e.{q(c)}" for c in scope) + " and p.pkey = e.row_key and p.k = 1"
    known = "e.\"column\" in (" + ", ".join(lit(f) for f in fields) + ")"
    carried = usable({f["name"]: f for f in errata["fields"]}["value_carried"], "e.value_carried")
    joined = (f"select e.rn, e.\"column\" as ecol, e.row_key, e.value_carried, e.fiscal_year || chr(31) || e.department as scope, "
              f"p.prn, {cell} as cell, {known} as known, {carried} as carried "
              f"from {view(ERRATA)} e left join ({rows}) p on {on} where e.resource = {lit(name)}")
    return (f"select rn, case when not known then 'column' when prn is null then 'row_key' "
            f"else 'value_carried' end as col, "
            f"case when not known then ecol when prn is null then row_key else value_carried end as v, "
            f"case when not known then {lit(name)} when prn is null then scope "
            f"else cast(prn as VARCHAR) || chr(31) || ecol || chr(31) || cell end as x "
            f"from ({joined}) j where not known or prn is null or (cell is not null and carried "
            f"and cast(cell as {DECIMAL}) <> cast(value_carried as {DECIMAL}))")


def queries(schemas: dict[str, dict], names: list[str]) -> list[tuple[str, str, str]]:
    """(kind, resource, sql): errata naming unknown resources, then each resource errata name
    rows of (one of the same department-year scope, with a row key)."""
    errata = schemas.get(ERRATA)
    if errata is None:
        return []
    out = [("resource", ERRATA, unknown_resource_sql(names))]
    for name, schema in schemas.items():
        if set(roles.scope(schema)) != set(roles.scope(errata)) or not roles.row_key_fields(schema):
            continue  # rows not named within a department-year (departments, classification)
        out.append((name, ERRATA, references_sql(name, schema, errata)))
    return out


def check(engine, loaded: dict, names: list[str], report: Report) -> None:
    checks = queries({n: t.schema for n, t in loaded.items()}, names)
    if not checks:
        return
    for target, errata, rows, lines in failing_rows(engine, checks, loaded):
        for (_rn, col, v, x), line in zip(rows, lines):
            report.add(errata.rel, line, col, _message(col, v, x, loaded.get(target)), col_no=errata.col_no(col))


def _message(col: str, v: str, x: str, target) -> str:
    """identities.errata_references' words; target: the Loaded resource the erratum names."""
    if col == "resource":
        return f"`{v}` is not a resource of the package"
    if col == "column":
        return f"`{v}` is not a column of {x}"
    if col == "row_key":
        fy, dept = x.split("\x1f")
        return f"no row `{v}` in {target.name} for {fiscal(fy, dept)}"
    prn, column, cell = x.split("\x1f")
    return f"value_carried {v} but {target.rel} line {target.lines.line(int(prn))} has {column} = {cell}"
