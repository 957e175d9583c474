"""Check (f), figure sources (checks/figure_sources.py), on the SQL engines: the engine selects
the few rows the check reads, and figure_sources.py's own functions run on them.

The check reads figure_sources and non_figures (one row per number of the located reports), the
errata of their department-years, the fact rows of those department-years or citing those
reports, and the archived texts. The engine returns those rows in one query (a semi-join of each
fact table on figure_sources: work and memory follow figure_sources and the located reports, not
the size of the package), with their numbers' usability decided by the engines' own type test
(definitions.usable) and the categories a row's unit is read from (unit_columns); they become
`Selected` tables, which read as model.table.Table does where the check reads them, without
pandas. So there is one definition of the check, its regular
expressions and its messages, whatever the engine. The columns it reads are named in queries()
for the load to keep (figure_sources.columns_read).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...model import roles
from ...model.problems import Report
from ..figure_sources import (READ, UNITS, archived_text, check_figure_sources, columns_read, left_out, row_unit,
                              unit_categories)
from .definitions import lit, q, usable, view
from ...lazy import lazy

if TYPE_CHECKING:
    import numpy as np
else:  # imported when first used: not before the checks start
    np = lazy("numpy")

SPANS, NON_FIGURES, SOURCES = "figure_sources", "non_figures", "sources"
UNLOCATED = ""  # the resource name of the query's row that counts the reports not located yet


class Selected:
    """Some rows of a loaded resource, in file order, as the check reads a model Table: text
    columns (numpy arrays of str), usable() of the columns read as numbers, CSV lines."""

    def __init__(self, t, columns: list[str], numbers: list[str], rows: list[tuple], units: list[str]):
        self.name, self.path, self.schema, self.fields = t.name, t.rel, t.schema, t.fields
        self.header = t.header
        rows = sorted(rows)  # (rn, values): file order
        self._col = {c: np.array([r[1][i] for r in rows], dtype=object) for i, c in enumerate(columns)}
        at = len(columns)
        self._usable = {c: np.array([r[1][at + i] == "t" for r in rows], dtype=bool) for i, c in enumerate(numbers)}
        self._col |= {c: np.array([r[1][at + len(numbers) + i] for r in rows], dtype=object)
                      for i, c in enumerate(units)}
        self.units = units
        self.lines = np.array(t.lines.of([r[0] for r in rows]) if rows else [], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.lines)

    def col(self, name: str) -> np.ndarray:
        return self._col[name]

    def usable(self, name: str) -> np.ndarray:
        return self._usable[name]

    def col_no(self, col: str | None) -> int | None:
        return self.header.index(col) + 1 if col in self.header else None

    def row_unit(self, r: int) -> str | None:
        """figure_sources.row_unit of the row, from the unit categories the engine read."""
        return row_unit(self, r, self.units)


def unit_columns(schema: dict, read_in_full: bool) -> list[str]:
    """The unit categories (figure_sources.unit_categories) the engine reads: not those whose enum
    has no unit, unless the file was read again in full. A file loaded once passed its enum
    checks (else it is read again), so no such cell holds a unit; the load keeps the others
    (N = 10,000, indicators: unit_zh and unit_en, +0.01 s CPU a load, where computing a row's
    unit in the load cost +0.13 s and keeping four categories +0.15 s)."""
    fields = {f["name"]: f for f in schema["fields"]}
    return [c for c in unit_categories(schema) if read_in_full or _may_hold_a_unit(fields[c])]


def _may_hold_a_unit(field: dict) -> bool:
    enum = field.get("constraints", {}).get("enum")
    return enum is None or any(u in enum for u in UNITS)


def _located(schemas: dict[str, dict], schema: dict) -> list[str]:
    """SQL joins, each keeping the rows (t) a way: of a department-year figure_sources names, or
    citing a report it locates. Semi-joins, not a filter with a subquery: DuckDB skips the blocks
    of other department-years in the scan (N = 10,000, indicators: 0.01 s CPU, not 0.15 s); a
    row both ways comes twice (check() keeps one)."""
    spans = view(SPANS)
    scope = [c for c in roles.scope(schema) if c in roles.scope(schemas[SPANS])]
    keys = [scope] + ([["source_id"]] if "source_id" in schema_fields(schema) else [])
    return [f"semi join (select distinct {', '.join(q(c) for c in key)} from {spans}) f on "
            + " and ".join(f"f.{q(c)} = t.{q(c)}" for c in key) for key in keys if key]


def schema_fields(schema: dict) -> set[str]:
    return {f["name"] for f in schema["fields"]}


def rows_sql(name: str, schema: dict, schemas: dict[str, dict], read_in_full: bool = False) -> str | None:
    """SQL (res, rn, v) of the rows of one resource the check reads: v the columns it reads, then
    't' or '' for each number column it reads (usable: a value of the field's type), then its
    unit categories (unit_columns)."""
    columns, numbers = columns_read(name, schema)
    fields = {f["name"]: f for f in schema["fields"]}
    if not columns or any(c not in fields for c in columns) or SPANS not in schemas:
        return None
    flags = [f"case when {usable(fields[c], 't.' + q(c))} then 't' else '' end" for c in numbers]
    joins = [""] if name in (SPANS, NON_FIGURES) else _located(schemas, schema)
    units = [f"t.{q(c)}" for c in unit_columns(schema, read_in_full)]
    values = ", ".join([f"t.{q(c)}" for c in columns] + flags + units)
    return " union all ".join(f"select {lit(name)} as res, t.rn, [{values}] as v from {view(name)} t {join}"
                              for join in joins) or None


def queries(schemas: dict[str, dict]) -> list[str]:
    """The SQL naming the columns the check reads (for the load)."""
    out = [sql for name, schema in schemas.items() if (sql := rows_sql(name, schema, schemas))]
    if SOURCES in schemas:
        out.append(f"select source_id, path from {view(SOURCES)}")
    return out


def check(engine, loaded: dict, root: Path, report: Report) -> tuple[int, int, int]:
    """Check (f) on the engine's tables: (numbers accounted for, numbers in the located reports,
    reports not located yet), as checks/figure_sources.check returns them."""
    if SPANS not in loaded:
        return 0, 0, 0
    skipped = left_out(((name, t.rel, t.schema) for name, t in loaded.items()), report)
    if skipped & set(READ):
        return 0, 0, 0
    loaded = {name: t for name, t in loaded.items() if name not in skipped}
    schemas = {n: t.schema for n, t in loaded.items()}
    readable = _readable_paths(engine, root) if SOURCES in loaded else {}
    parts = [sql for name, t in loaded.items() if (sql := rows_sql(name, t.schema, schemas, bool(t.failed)))]
    if SOURCES in loaded:
        parts.append(_sources_sql(loaded, list(readable)))
    found: dict[str, dict] = {}
    for res, rn, values in engine.query(" union all ".join(parts)):
        found.setdefault(res, {})[rn] = values  # a row selected two ways, once
    unlocated = next(iter(found.pop(UNLOCATED, {0: None})))
    found = {res: list(rows.items()) for res, rows in found.items()}
    cited = found.pop(SOURCES, [])
    tables = {name: Selected(t, *columns_read(name, t.schema), found.get(name, []),
                             unit_columns(t.schema, bool(t.failed)))
              for name, t in loaded.items() if name in found or name in (SPANS, NON_FIGURES)}
    if SOURCES in loaded:
        cited += _cited_elsewhere(engine, tables, cited)
    texts, paths = _texts(cited, readable)
    accounted, numbers = check_figure_sources(tables, texts, paths, report, skipped)
    return accounted, numbers, int(unlocated)


def _readable_paths(engine, root: Path) -> dict[str, str]:
    """Archived path -> its text, for each file the sources name that decodes (a few files)."""
    out = {}
    for (rel,) in engine.query(f"select distinct path from {view(SOURCES)}"):
        text = archived_text(root, rel)
        if text is not None:
            out[rel] = text
    return out


def _sources_sql(loaded: dict, readable: list[str]) -> str:
    """SQL (res, rn, v): the sources rows of the reports figure_sources and non_figures name (v:
    source_id, path), and a row counting the reports with a readable archived text that
    figure_sources does not name (rn: the count)."""
    s, spans = view(SOURCES), view(SPANS)
    named = " union ".join(f"select source_id from {view(n)}" for n in (SPANS, NON_FIGURES) if n in loaded)
    paths = ", ".join(map(lit, readable)) or "''"
    rows = (f"select {lit(SOURCES)} as res, s.rn, [s.source_id, s.path] as v from {s} s "
            f"where s.source_id in ({named})")
    count = (f"select {lit(UNLOCATED)} as res, count(distinct s.source_id) as rn, [''] as v from {s} s "
             f"where s.path in ({paths}) and s.source_id not in (select source_id from {spans})")
    return f"{rows} union all {count}"


def _cited_elsewhere(engine, tables: dict, cited: list[tuple]) -> list[tuple]:
    """The sources rows of the reports that selected fact rows cite and neither figure_sources
    nor non_figures names (a row citing another department-year's report: its quote is looked
    for in that text), in one more query only when there are some."""
    have = {values[0] for _, values in cited}
    more = sorted({sid for name, t in tables.items() if name not in READ for sid in t.col("source_id")} - have)
    if not more:
        return []
    rows = engine.query(f"select s.rn, [s.source_id, s.path] as v from {view(SOURCES)} s "
                        f"where s.source_id in ({', '.join(map(lit, more))})")
    return [(rn, values) for rn, values in rows]


def _texts(cited: list[tuple], readable: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """source_id -> archived text and -> its path, as figure_sources.archived_texts gives them
    (the last readable row of a source_id wins)."""
    texts, paths = {}, {}
    for _rn, (sid, rel) in sorted(cited):
        if rel in readable:
            texts[sid], paths[sid] = readable[rel], rel
    return texts, paths
