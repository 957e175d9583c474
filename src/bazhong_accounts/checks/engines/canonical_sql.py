"""Canonical form and row order (checks/canonical.py) on the SQL engines.

Form: a parsed CSV serialises back to the same cells whatever its quoting, and minimal quoting
is the shortest form, so a file is canonical when its byte length is the canonical length
(canonical.check_canonical's argument). The load computes each row's canonical length in the
same pass that reads the file (CANON_LENGTH, computed()); one query adds them up. Only a file whose
length differs is read again in Python, where canonical.check_canonical finds the first line that
differs and words the message (rare: a broken file).

Order: rows sorted by the primary key as the canonical writer sorts them (numbers by value,
unparseable last, then text, ties in file order): the first row whose rank by key is not its
row number, and the row that sorts before it. Skipped where a key cell is not of its type (the
type check reports it; the order is meaningless), as canonical.py does.
"""

from __future__ import annotations

from pathlib import Path

from ...model.descriptor import as_list
from ...model.problems import Report
from ..canonical import FMT_HINT, _quote_header
from .definitions import ftype, lit, q, view

CANON_LENGTH = "__canon"  # column of each loaded table: the row's canonical length in bytes
NEEDS_QUOTES = '[,"\n]'  # what makes the csv module quote a cell (QUOTE_MINIMAL, LF)


def _octets(col: str) -> str:
    return f"octet_length(encode({col}))"


def row_length(header: list[str]) -> str:
    """SQL over the row `t`: bytes of the row as the csv module writes it (cells, quotes around a
    cell that needs them and one more per doubled quote, commas, newline). The per-cell quoting
    is looked at only on rows holding a comma, quote or newline somewhere."""
    cells = [f"t.{q(h)}" for h in header]
    text = " + ".join(_octets(c) for c in cells)
    quoting = " + ".join(f"(case when regexp_matches({c}, {lit(NEEDS_QUOTES)}) then 2 + length({c}) - "
                         f"length(replace({c}, chr(34), '')) else 0 end)" for c in cells)
    joined = " || ".join(cells)
    return (f"cast({text} + {len(header)} + (case when regexp_matches({joined}, {lit(NEEDS_QUOTES)}) "
            f"then {quoting} else 0 end) as BIGINT)")


def computed(header: list[str]) -> dict[str, str]:
    """The column the load computes for the form check."""
    return {CANON_LENGTH: row_length(header)}


def order_sql(name: str, schema: dict) -> str | None:
    """(rn, col, v, x) of the first row out of primary-key order: v its key, x the key of the row
    that sorts before it and that row's rn."""
    pk = as_list(schema.get("primaryKey"))
    if not pk:
        return None
    types = {f["name"]: ftype(f) for f in schema["fields"]}
    order = []
    for k in pk:
        if types.get(k) in ("integer", "number"):
            order.append(f"try_cast(t.{q(k)} as DOUBLE) nulls last")
        order.append(f"t.{q(k)}")
    shown = "'(' || " + " || ', ' || ".join(f"t.{q(k)}" for k in pk) + " || ')'"
    ranked = (f"select t.rn, row_number() over (order by {', '.join(order)}, t.rn) - 1 as pos, {shown} as shown "
              f"from {view(name)} t")
    s = q("order_" + name)  # one name per resource: SQLGlot hoists CTEs to the top for Spark
    return (f"select * from (with {s} as ({ranked}) select a.rn, '' as col, a.shown as v, "
            f"b.shown || chr(31) || cast(b.rn as VARCHAR) as x from {s} a join {s} b on b.pos = a.rn "
            f"where a.rn = (select min(c.rn) from {s} c where c.pos <> c.rn)) o")


def queries(schemas: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(kind, resource, sql) of the order checks, for row_queries() and check()."""
    return [("order", name, sql) for name, schema in schemas.items() if (sql := order_sql(name, schema))]


def _key_cell_bad(t) -> bool:
    pk = set(as_list(t.schema.get("primaryKey")))
    return any(c.kind == "type" and c.column in pk for c in t.failed)


def check(engine, loaded: dict, root: Path, report: Report) -> None:
    from .identities import failing_rows

    _check_form(engine, loaded, root, report)
    checks = queries({n: t.schema for n, t in loaded.items() if not _key_cell_bad(t)})
    if not checks:
        return
    for _kind, t, rows, lines in failing_rows(engine, checks, loaded):
        pk = as_list(t.schema.get("primaryKey"))
        for (_rn, _col, shown, x), line in zip(rows, lines):
            before, rn = x.split("\x1f")
            report.add(t.rel, line, None, f"rows not in primary-key order ({', '.join(pk)}): {before} on line "
                                          f"{t.lines.line(int(rn))} sorts before {shown}; {FMT_HINT}")


def _check_form(engine, loaded: dict, root: Path, report: Report) -> None:
    """Files whose length is not their canonical length, or without a final newline, are read
    again by the pandas check, which says where and why."""
    full = getattr(engine, "full", set())  # read again with every column: the load's column is gone
    parts = [f"select {lit(n)} as res, sum({row_length(t.header) if n in full else q(CANON_LENGTH)}) as n "
             f"from {view(n)} t" for n, t in loaded.items()]
    if not parts:
        return
    lengths = dict(engine.query(" union all ".join(parts)))
    for name, t in loaded.items():
        canonical = len(_quote_header(t.header)) + int(lengths.get(name) or 0)
        if canonical != t.path.stat().st_size or not t.facts.ends_with_newline:
            _form_problem(root, t, report)


def _form_problem(root: Path, t, report: Report) -> None:
    from ..canonical import check_canonical
    from ..files import read_table
    from ...model.typing import parse_types

    scratch = Report()  # the file's other problems are the engine's to report
    table = read_table(root, t.name, t.rel, t.schema, "", scratch)
    if table is None:
        return
    parse_types(table, scratch)
    own = Report()
    check_canonical(table, own)
    for p in own.problems:
        if p.message.startswith("not in canonical form"):
            report.add(p.path, p.line, p.column, p.message)
