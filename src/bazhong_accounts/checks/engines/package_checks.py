"""Cross-table checks of checks/identities.py as SQL, once for every engine (DuckDB text, SQLGlot
for Spark): organisation roots and cycles, and trips vs count. Each query returns the failing
rows only, as (rn, col, v, x); the words are those of the pandas validator, written in Python.

Cycles without a recursive CTE (Spark SQL before 4.1 has none): pointer doubling. Step k holds
each unit's ancestor 2^k parents up; six self-joins reach 64 parents up, the bound
identities.organisation() walks. A unit that still has an ancestor there never reaches a root.
"""

from __future__ import annotations

from ...model import roles
from ...model.problems import Report
from ..identities import fiscal
from .definitions import lit, q, usable, view
from .identities import _key, failing_rows

ORGANISATION, TRIPS, COUNTS = "organisation", "overseas_trips", "three_public_expenses_counts"
DOUBLINGS = 6  # 2^6 = 64 parents up, identities.organisation()'s bound
DELEGATIONS = "overseas_delegations"  # the count_id the trips are counted by


def roots_sql(schema: dict) -> str:
    """Department-years without exactly one root unit: the second root's row, or the first row
    of a department-year that has none (identities.organisation). Counted by one aggregate (no
    window, which sorts every row); the second root looked for only where there are two."""
    t, g = view(ORGANISATION), q("roots_" + ORGANISATION)  # SQLGlot hoists CTEs for Spark
    scope = ("fiscal_year", "department")
    by = ", ".join(f"t.{c}" for c in scope)
    counts = (f"select {by}, sum(case when t.parent_unit_id = '' then 1 else 0 end) as roots, min(t.rn) as first, "
              f"min(case when t.parent_unit_id = '' then t.rn end) as root1 from {t} t group by {by}")
    shown = "cast(g.roots as VARCHAR) as v, g.fiscal_year || chr(31) || g.department as x"
    on = " and ".join(f"t.{c} = g.{c}" for c in scope)
    return (f"select * from (with {g} as ({counts}) "
            f"select g.first as rn, 'parent_unit_id' as col, {shown} from {g} g where g.roots = 0 "
            f"union all select min(t.rn) as rn, 'parent_unit_id' as col, {shown} from {g} g join {t} t on {on} "
            f"and t.parent_unit_id = '' and t.rn > g.root1 where g.roots > 1 "
            f"group by g.fiscal_year, g.department, g.roots) s")


def cycles_sql(schema: dict) -> str:
    """Units whose parent chain still goes on 64 parents up (pointer doubling, see above)."""
    t = view(ORGANISATION)
    parent = (f"select c.rn, min(p.rn) as up from {t} c left join {t} p on p.fiscal_year = c.fiscal_year "
              f"and p.department = c.department and {_key(schema, 'p')} = c.parent_unit_id group by c.rn")
    steps = [f"a0 as ({parent})"]
    for k in range(1, DOUBLINGS + 1):
        steps.append(f"a{k} as (select x.rn, y.up from a{k - 1} x left join a{k - 1} y on y.rn = x.up)")
    return (f"with {', '.join(steps)} select a.rn, 'parent_unit_id' as col, '' as v, '' as x "
            f"from a{DOUBLINGS} a where a.up is not null")


def trips_sql(counts: dict) -> str:
    """overseas_delegations counts that differ from the number of overseas_trips rows listed for
    their department-year (none listed: nothing to compare)."""
    value = {f["name"]: f for f in counts["fields"]}["value"]
    return (f"select c.rn, 'value' as col, cast(try_cast(c.value as BIGINT) as VARCHAR) as v, "
            f"cast(n.listed as VARCHAR) || chr(31) || c.fiscal_year || chr(31) || c.department as x "
            f"from {view(COUNTS)} c join (select fiscal_year, department, count(*) as listed from {view(TRIPS)} "
            f"group by fiscal_year, department) n on n.fiscal_year = c.fiscal_year and n.department = c.department "
            f"where c.count_id = {lit(DELEGATIONS)} and {usable(value, 'c.value')} "
            f"and n.listed <> try_cast(c.value as BIGINT)")


def package_checks(schemas: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(kind, resource, sql) of the checks whose tables the package has."""
    out = []
    if ORGANISATION in schemas and roles.row_key_fields(schemas[ORGANISATION]):
        out += [("roots", ORGANISATION, roots_sql(schemas[ORGANISATION])),
                ("cycle", ORGANISATION, cycles_sql(schemas[ORGANISATION]))]
    if TRIPS in schemas and COUNTS in schemas:
        out.append(("trips", COUNTS, trips_sql(schemas[COUNTS])))
    return out


def message(kind: str, v: str, x: str) -> str:
    if kind == "roots":
        fy, dept = x.split("\x1f")
        return f"{fiscal(fy, dept)} has {v} root units (units without parent_unit_id); expected exactly 1"
    if kind == "cycle":
        return "the parent_unit_id chain of this unit never reaches a root (cycle)"
    listed, fy, dept = x.split("\x1f")
    return f"{DELEGATIONS} is {v} but {TRIPS} lists {listed} trips for {fiscal(fy, dept)}"


def check_package(engine, loaded: dict, report: Report) -> None:
    checks = package_checks({name: t.schema for name, t in loaded.items()})
    if not checks:
        return
    for kind, t, rows, lines in failing_rows(engine, checks, loaded):
        for (_rn, col, v, x), line in zip(rows, lines):
            report.add(t.rel, line, col, message(kind, v, x), col_no=t.col_no(col))
