"""Canonical form and row order (checks/canonical.py) on the SQL engines.

Form: a parsed CSV serialises back to the same cells whatever its quoting, so a file with LF
ends, a final newline and no blank line is canonical when it holds exactly the quote characters
minimal quoting writes (see _check_form). The byte checks' pass (bytes.QuotedCells) pairs the
quote characters of the file and counts the cells quoted without need (no parse, no second
read); where its pairing fails, the load computes the quotes each row needs in the pass that
reads the file (CANON_QUOTES, computed(); only free-text columns, and cell by cell only on rows
holding a comma, quote or newline) and one query adds them up. Only a file that is not minimal
is read again in Python, where canonical.check_canonical finds the first line that differs and
words the message (rare: a broken file).

Order: rows sorted by the primary key as the canonical writer sorts them (numbers by value,
unparseable last, then text, ties in file order): the first row whose rank by key is not its
row number, and the row that sorts before it. Skipped where a key cell is not of its type (the
type check reports it; the order is meaningless), as canonical.py does, and where the load's
key-order pass already proved the rows in order (order_proven).
"""

from __future__ import annotations

from pathlib import Path

from ...model.descriptor import as_list
from ...model.problems import Report
from ..canonical import FMT_HINT, _quote_header
from ...model.typing import pattern_of
from .definitions import ftype, lit, q, view

CANON_QUOTES = "__quotes"  # column of each loaded table: the quote characters the row needs


def free_text(schema: dict, header: list[str]) -> list[str]:
    """The columns a valid cell of which may need quotes: strings without a pattern, and without
    an enum unless a value of it needs quotes. A cell of another column that needs them is not
    of its type (reported); its quotes then do not add up and the file is looked at again (slow
    path), so nothing is missed."""
    fields = {f["name"]: f for f in schema["fields"]}

    def may_need(f: dict) -> bool:
        enum = f.get("constraints", {}).get("enum")
        if enum is not None:
            return any(_needs_quotes(str(v)) for v in enum)
        return ftype(f) == "string" and not pattern_of(f)

    return [h for h in header if h in fields and may_need(fields[h])]


def _needs_quotes(text: str) -> bool:
    return any(c in text for c in ',"\n')


def _holds_special(cell: str) -> str:
    """SQL: the cell holds a comma, a quote or a newline (three substring tests: cheaper than a
    regular expression on every cell)."""
    return f"(contains({cell}, ',') or contains({cell}, chr(34)) or contains({cell}, chr(10)))"


def row_quotes(columns: list[str]) -> str:
    """SQL over the row `t`: the quote characters the csv module writes for the row (two around
    each cell holding a comma, quote or newline, and one more per quote inside), counted cell by
    cell only on rows holding one somewhere."""
    if not columns:
        return "cast(0 as BIGINT)"
    cells = [f"t.{q(h)}" for h in columns]
    per_cell = " + ".join(f"(case when {_holds_special(c)} then 2 + length({c}) - "
                          f"length(replace({c}, chr(34), '')) else 0 end)" for c in cells)
    anywhere = " or ".join(_holds_special(c) for c in cells)
    return f"cast(case when {anywhere} then {per_cell} else 0 end as BIGINT)"


def computed(schema: dict, header: list[str]) -> dict[str, str]:
    """The column the load computes for the form check."""
    return {CANON_QUOTES: row_quotes(free_text(schema, header))}


def _sort_keys(schema: dict, alias: str) -> list[str]:
    """SQL: what the canonical writer sorts by, in order (canonical.sort_permutation): each key
    field's value for numbers (unparseable last), then its text."""
    types = {f["name"]: ftype(f) for f in schema["fields"]}
    out = []
    for k in as_list(schema.get("primaryKey")):
        if types.get(k) in ("integer", "number"):
            out.append(f"coalesce(try_cast({alias}.{q(k)} as DOUBLE), cast('Infinity' as DOUBLE))")
        out.append(f"{alias}.{q(k)}")
    return out


def _before(schema: dict, above, this) -> str:
    """SQL: the row `this` sorts strictly before the row `above` (by _sort_keys); above(k) and
    this(k) are the SQL of key field k in each. Each key field is compared only where the two
    cells differ as text (in a sorted file, adjacent rows mostly share their year and
    department): equal texts are equal values, so the next field decides, and a number is parsed
    only on the few rows where the texts differ (CASE evaluates a branch on its own rows only)."""
    types = {f["name"]: ftype(f) for f in schema["fields"]}
    out = "false"
    for k in reversed(as_list(schema.get("primaryKey"))):
        a, b = above(k), this(k)
        differ = f"{b} < {a}"
        if types.get(k) in ("integer", "number"):
            na, nb = (f"coalesce(try_cast({x} as DOUBLE), cast('Infinity' as DOUBLE))" for x in (a, b))
            differ = f"({nb} < {na} or ({nb} = {na} and {b} < {a}))"
        out = f"(case when {b} = {a} then {out} else {differ} end)"
    return out


def unsorted_sql(name: str, schema: dict, positional: bool = False) -> str | None:
    """SQL: rows that sort before the row above them (no sort): a sorted file has none, and only
    an unsorted one is ranked (order_sql). positional (DuckDB, whose scans keep the table's
    order): each row beside the row its scan read before it, lag() over the scan without a sort
    or a join (N = 10,000: 0.13 s CPU for the 1.47 million rows of indicators, where a POSITIONAL
    JOIN of the table with itself shifted by one took 0.3 s and a join on rn 0.55 s); a pair
    that is not adjacent (never seen) counts too, so the file is then ranked, which is exact.
    Else (Spark) each row joined to the one after it on rn."""
    pk = as_list(schema.get("primaryKey"))
    if not pk:
        return None
    v = view(name)
    if not positional:
        return (f"select {lit(name)} as res, count(*) as n from {v} a join {v} b on b.rn = a.rn + 1 "
                f"where {_before(schema, lambda k: f'a.{q(k)}', lambda k: f'b.{q(k)}')}")
    above = {k: q(f"__above{i}") for i, k in enumerate(pk)}
    lags = ", ".join(f"lag(t.{q(k)}) over () as {above[k]}" for k in pk)
    pairs = f"select t.rn, {', '.join(f't.{q(k)}' for k in pk)}, lag(t.rn) over () as __above_rn, {lags} from {v} t"
    before = _before(schema, above.get, lambda k: f"p.{q(k)}")
    return (f"select {lit(name)} as res, count(*) as n from ({pairs}) p "
            f"where p.__above_rn is not null and (p.rn <> p.__above_rn + 1 or {before})")


def order_sql(name: str, schema: dict) -> str | None:
    """(rn, col, v, x) of the first row out of primary-key order (its rank by key is not its row
    number): v its key, x the key of the row that sorts before it and that row's rn."""
    pk = as_list(schema.get("primaryKey"))
    if not pk:
        return None
    shown = "'(' || " + " || ', ' || ".join(f"t.{q(k)}" for k in pk) + " || ')'"
    ranked = (f"select t.rn, row_number() over (order by {', '.join(_sort_keys(schema, 't'))}, t.rn) - 1 as pos, "
              f"{shown} as shown from {view(name)} t")
    s = q("order_" + name)  # one name per resource: SQLGlot hoists CTEs to the top for Spark
    return (f"select * from (with {s} as ({ranked}) select a.rn, '' as col, a.shown as v, "
            f"b.shown || chr(31) || cast(b.rn as VARCHAR) as x from {s} a join {s} b on b.pos = a.rn "
            f"where a.rn = (select min(c.rn) from {s} c where c.pos <> c.rn)) o")


def queries(schemas: dict[str, dict], positional: bool = False) -> list[tuple[str, str, str]]:
    """(kind, resource, sql) of the order checks, for row_queries() and check()."""
    out = []
    for name, schema in schemas.items():
        if (sql := order_sql(name, schema)) is not None:
            out += [("order", name, sql), ("unsorted", name, unsorted_sql(name, schema, positional) or "")]
    return out


def _key_cell_bad(t) -> bool:
    pk = set(as_list(t.schema.get("primaryKey")))
    return any(c.kind == "type" and c.column in pk for c in t.failed)


EXACT_IN_DOUBLE = 2 ** 53  # integers up to this size are exact as DOUBLE (_sort_keys' value)


def order_proven(t, exact: set[str] | frozenset[str] = frozenset()) -> bool:
    """The load proved the primary keys strictly increasing in file order (t.duplicates False:
    definitions.primary_key_unproven found no row whose typed key does not come after the row
    before's), by a comparison that decides as _before does: text for strings, and integers
    whose bounds (minimum, maximum, checked on every cell without failing) keep them exact as
    DOUBLE, so the value decides before the text can; `exact`: integer key columns whose values
    the engine found within those bounds (unbounded_keys). Then no row sorts before the row above
    it, and the lag() pass of unsorted_sql is not needed (N = 10,000: 0.3 s CPU)."""
    return not t.duplicates and not _failed_keys(t) and set(unbounded_keys(t)) <= set(exact)


def _failed_keys(t) -> list[str]:
    """Key columns that keep the load's order from deciding as the canonical sort: neither
    string nor integer, or failing a cell check somewhere."""
    fields = {f["name"]: f for f in t.schema["fields"]}
    failed = {c.column for c in t.failed}
    return [k for k in as_list(t.schema.get("primaryKey"))
            if ftype(fields[k]) not in ("integer", "string") or (ftype(fields[k]) == "integer" and k in failed)]


def unbounded_keys(t) -> list[str]:
    """Integer key columns whose schema bounds do not keep every value exact as DOUBLE."""
    fields = {f["name"]: f for f in t.schema["fields"]}
    out = []
    for k in as_list(t.schema.get("primaryKey")):
        c = fields[k].get("constraints", {})
        if ftype(fields[k]) == "integer" and not (
                "minimum" in c and "maximum" in c and max(abs(c["minimum"]), abs(c["maximum"])) <= EXACT_IN_DOUBLE):
            out.append(k)
    return out


def exact_in_double(engine, tables: list) -> dict[str, set[str]]:
    """resource -> its integer key columns without schema bounds whose values all lie within
    ±2**53, asked of the engine (min and max of each column, one query): in a file whose keys
    the load proved increasing, that decides its order as the bounds would, for a pass over one
    column instead of lag() over the key (N = 10,000: 0.02 s CPU against 0.13 s)."""
    parts = [f"select {lit(t.name)} as res, {lit(k)} as col, min(try_cast({q(k)} as BIGINT)) as lo, "
             f"max(try_cast({q(k)} as BIGINT)) as hi from {view(t.name)}"
             for t in tables if not t.duplicates and not _failed_keys(t) for k in unbounded_keys(t)]
    out: dict[str, set[str]] = {}
    for res, col, lo, hi in engine.query(" union all ".join(parts)) if parts else []:
        if lo is not None and -EXACT_IN_DOUBLE <= int(lo) and int(hi) <= EXACT_IN_DOUBLE:
            out.setdefault(res, set()).add(col)
    return out


def check(engine, loaded: dict, root: Path, report: Report) -> None:
    from .identities import failing_rows

    _check_form(engine, loaded, root, report)
    tables = [t for t in loaded.values() if not _key_cell_bad(t)]
    exact = exact_in_double(engine, tables)
    checks = queries({t.name: t.schema for t in tables if not order_proven(t, exact.get(t.name, set()))},
                     getattr(engine, "positional_join", False))
    if not checks:
        return
    unsorted = {res for res, n in engine.query(" union all ".join(c[2] for c in checks if c[0] == "unsorted")) if n}
    checks = [c for c in checks if c[0] == "order" and c[1] in unsorted]
    if not checks:
        return
    for _kind, t, rows, lines in failing_rows(engine, checks, loaded):
        pk = as_list(t.schema.get("primaryKey"))
        for (_rn, _col, shown, x), line in zip(rows, lines):
            before, rn = x.split("\x1f")
            report.add(t.rel, line, None, f"rows not in primary-key order ({', '.join(pk)}): {before} on line "
                                          f"{t.lines.of([int(rn)])[0]} sorts before {shown}; {FMT_HINT}")


def _check_form(engine, loaded: dict, root: Path, report: Report) -> None:
    """A file that parses to its cells is canonical when it has LF line ends, a final newline, no
    blank line and exactly the quotes minimal quoting writes: a cell quoted without need adds two
    (a cell that needs quotes has them, or it would not parse to the same cells). Files whose
    quotes do not add up are read again by the pandas check, which says where and why."""
    full = getattr(engine, "full", set())  # read again with every column: the load's column is gone
    counted = {n for n, t in loaded.items() if t.facts.needless_quotes is not None}  # by the byte pass
    parts = [f"select {lit(n)} as res, sum({row_quotes(free_text(t.schema, t.header)) if n in full else q(CANON_QUOTES)})"
             f" as n from {view(n)} t" for n, t in loaded.items() if n not in counted]
    quotes = dict(engine.query(" union all ".join(parts))) if parts else {}
    for name, t in loaded.items():
        canonical = _quote_header(t.header).count(b'"') + int(quotes.get(name) or 0)
        minimal = t.facts.needless_quotes == 0 if name in counted else t.facts.quotes == canonical
        if not t.facts.ends_with_newline or t.lines.full is not None or not minimal:
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
