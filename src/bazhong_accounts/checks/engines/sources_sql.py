"""One pass over each resource that cites sources, for two checks: the quotes verbatim in the
archived file (provenance_sql) and a row's source is its department-year's (identities.source_checks).

The pass groups the rows by (archived file, quote): the quotes check looks each pair up once, and
the group says whether some row of it is not of its source's department-year, so a resource where
none is runs no source query of its own.
"""

from __future__ import annotations

from ...model import roles
from .definitions import lit, q, view

SOURCES = "sources"
PAIRS = "quote_pairs"  # engine table: the distinct (resource, quote column, file, quote) and `differs`
QUOTED = (("source_quote", None), ("quote_carried", "errata"))  # (quote column, only in resource)


def source_differs(schemas: dict[str, dict], name: str) -> str | None:
    """SQL over a row `t` of the resource and a row `s` of sources with its source_id: they are
    not of the same department-year; None where the resource has no such check."""
    if SOURCES not in schemas:
        return None
    scope = roles.scope(schemas[SOURCES])
    names = {f["name"] for f in schemas[name]["fields"]}
    if name == SOURCES or "source_id" not in names or not set(scope) <= set(roles.scope(schemas[name])):
        return None
    return "(" + " or ".join(f"s.{q(c)} <> t.{q(c)}" for c in scope) + ")"


def quoted(schemas: dict[str, dict]) -> list[tuple[str, str]]:
    """(quote column, resource) of the quotes checked."""
    out = []
    for name, schema in schemas.items():
        fields = {f["name"] for f in schema["fields"]}
        out += [(col, name) for col, only in QUOTED if col in fields and "source_id" in fields and only in (None, name)]
    return out


def pairs_sql(name: str, col: str, differs: str | None) -> str:
    """(res, col, path, quote, differs): each distinct (archived file, quote) of the resource's
    rows, in one pass that serves two checks: the quotes (each pair looked up once: many
    department-years cite one file with the same words) and a row's source is its
    department-year's (differs: 1 where some row of the pair fails source_differs,
    so a resource where none does needs no query of its own; N = 10,000: 0.2 s CPU less)."""
    t, s = view(name), view(SOURCES)
    flag = f"max(case when {differs} then 1 else 0 end)" if differs else "0"
    return (f"select {lit(name)} as res, {lit(col)} as col, s.path, t.{q(col)} as quote, {flag} as differs "
            f"from {t} t join {s} s on s.source_id = t.source_id group by s.path, t.{q(col)}")


def source_pairs(engine, loaded: dict) -> dict[str, int]:
    """The pairs of every quoted resource made an engine table once (PAIRS), by whichever check
    asks first (kept on the engine, engine.source_pairs: a lane's checks share it); returns
    resource -> 1 when some row is not of its source's department-year (source_differs), else 0."""
    if engine.source_pairs is None:
        schemas = {n: t.schema for n, t in loaded.items()}
        parts = [pairs_sql(name, col, source_differs(schemas, name)) for col, name in quoted(schemas)]
        engine.source_pairs = {}
        if SOURCES in loaded and parts:
            engine.materialize(PAIRS, " union all ".join(parts))
            engine.source_pairs = {res: int(n) for res, n in engine.query(
                f"select res, max(differs) from {q(PAIRS)} group by res")}
    return engine.source_pairs
