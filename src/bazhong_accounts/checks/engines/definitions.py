"""Every row-level check of `validate`, written once as SQL (DuckDB dialect) from the Table Schemas.

Each resource is a view ``t_<name>`` with a column ``rn`` (0-based row of the CSV, file order)
and one VARCHAR column per field, ``''`` for an empty cell (missing value). A check is a query
that returns the rows that fail it, as

    (rn, col, v, x)    rn = row, col = column to report, v = the cell, x = detail for the message

and a *kind* that `messages.py` turns into the same words the pandas validator prints, in Python
but only for the failing rows. The Spark engine runs the same text translated by SQLGlot: there
is one definition of each check, not one per engine.

The grammar of the types is model/typing.py's (INTEGER_RE, NUMBER_RE), the constraints those of
the Table Schemas (required, enum, pattern, minimum, maximum, minLength, maxLength), the keys the
schemas' primaryKey and foreignKeys.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...model.descriptor import as_list
from ...model.typing import INTEGER_RE, NUMBER_RE, pattern_of

DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DECIMAL = "DECIMAL(38, 10)"  # Spark's widest exact type; the package prints at most 2 decimals


@dataclass(frozen=True)
class Check:
    kind: str  # what went wrong, the key of its message in messages.py
    resource: str
    column: str | None  # the field the check is about (its Table Schema field), if one
    sql: str


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text) -> str:
    """A SQL string literal (DuckDB: backslashes are plain characters; SQLGlot escapes them for Spark)."""
    return "'" + str(text).replace("'", "''") + "'"


def view(resource: str) -> str:
    return q("t_" + resource)


def ftype(field: dict) -> str:
    return field.get("type", "string")


def valid(field: dict, col: str) -> str:
    """SQL: the non-empty cell `col` is of the field's type (the grammar of model/typing.py)."""
    t = ftype(field)
    if t == "integer":
        return f"regexp_matches({col}, {lit(INTEGER_RE)})"
    if t == "number":
        return f"regexp_matches({col}, {lit(NUMBER_RE)})"
    if t == "boolean":
        tokens = field.get("trueValues", ["true", "True", "TRUE", "1"]) + field.get(
            "falseValues", ["false", "False", "FALSE", "0"])
        return f"{col} in ({', '.join(map(lit, tokens))})"
    if t == "date":
        return f"(regexp_matches({col}, {lit(DATE_RE)}) and try_cast({col} as DATE) is not null)"
    pattern = pattern_of(field)
    if pattern:  # a string's pattern is part of its type (model/typing.py), matched on the whole cell
        return f"regexp_matches({col}, {lit('^(?:' + pattern + ')$')})"
    return "true"


TYPE_CHECKED = "x-typeCheckedEverywhere"  # on an engine's copy of a field: no cell failed its type check


def usable(field: dict, col: str, all_valid: bool = False) -> str:
    """SQL: the cell has a value of the right type. all_valid (or the field marked TYPE_CHECKED,
    identities.mark_type_checked): the column's type check failed nowhere, so a value is enough
    (no regex again)."""
    check = "true" if all_valid or field.get(TYPE_CHECKED) else valid(field, col)
    return f"({col} <> '')" if check == "true" else f"({col} <> '' and {check})"


def typed(field: dict, col: str) -> str:
    """SQL: the cell's value, for comparisons and keys (07 and 7 are the same integer)."""
    t = ftype(field)
    if t == "integer":
        return f"try_cast({col} as BIGINT)"
    if t == "number":
        return f"try_cast({col} as {DECIMAL})"
    return col


def _cell(resource: str, kind: str, field: dict, where: str) -> Check:
    """A check of one cell: `where` (its sql) holds for the cells that fail; see cells()."""
    return Check(kind, resource, field["name"], where)


def type_checks(resource: str, schema: dict) -> list[Check]:
    out = []
    for f in schema["fields"]:
        col = "t." + q(f["name"])  # the table's alias in cells()
        check = valid(f, col)
        if check != "true":
            out.append(_cell(resource, "type", f, f"{col} <> '' and not {check}"))
    return out


def constraint_checks(resource: str, schema: dict) -> list[Check]:
    """What pandera checks from the Table Schema's constraints, on cells of the right type."""
    out = []
    for f in schema["fields"]:
        c, col = f.get("constraints", {}), "t." + q(f["name"])  # the table's alias in cells()
        # a cell of the wrong type is reported by its type check first and, like pandas, not
        # again (Report de-duplicates by cell): no need to repeat the type's regex here
        ok = f"{col} <> ''"
        if c.get("required"):
            out.append(_cell(resource, "required", f, f"{col} = ''"))
        if "minimum" in c:
            out.append(_cell(resource, "range", f, f"{ok} and {typed(f, col)} < {c['minimum']}"))
        if "maximum" in c:
            out.append(_cell(resource, "range", f, f"{ok} and {typed(f, col)} > {c['maximum']}"))
        # pattern: part of the type of a string (type_checks)
        if "enum" in c:
            values = ", ".join(lit(v) for v in c["enum"])
            out.append(_cell(resource, "enum", f, f"{ok} and {col} not in ({values})"))
        # a minLength of 1 cannot fail on a non-empty cell (an empty one is `required`'s): no
        # check, where it had counted the characters of every quote of every row while loading
        if int(c.get("minLength", 0)) > 1:
            out.append(_cell(resource, "length", f, f"{ok} and length({col}) < {int(c['minLength'])}"))
        if "maxLength" in c:
            out.append(_cell(resource, "length", f, f"{ok} and length({col}) > {int(c['maxLength'])}"))
    return out


def _fields(schema: dict) -> dict[str, dict]:
    return {f["name"]: f for f in schema["fields"]}


def primary_key_check(resource: str, schema: dict) -> list[Check]:
    """Rows whose typed primary key another row has too; x = the key as text, to group them."""
    pk = as_list(schema.get("primaryKey"))
    if not pk:
        return []
    fields = _fields(schema)
    keys = [f"{typed(fields[k], q(k))} as k{i}" for i, k in enumerate(pk)]
    on = " and ".join(f"d.k{i} = t.k{i}" for i in range(len(pk)))
    all_ok = " and ".join(usable(fields[k], q(k)) for k in pk)
    shown = " || ', ' || ".join(q(k) for k in pk)
    # one name per resource: SQLGlot hoists CTEs to the top for Spark, where the key queries of
    # two resources in one union would otherwise read each other's rows
    rows, dups = q("pk_rows_" + resource), q("pk_dups_" + resource)
    sql = (f"select * from (with {rows} as (select rn, {shown} as shown, {', '.join(keys)} from {view(resource)} "
           f"where {all_ok}), {dups} as (select {', '.join(f'k{i}' for i in range(len(pk)))} from {rows} "
           f"group by {', '.join(f'k{i}' for i in range(len(pk)))} having count(*) > 1) "
           f"select t.rn, {lit(pk[-1])} as col, t.shown as v, "
           f"{' || chr(31) || '.join(f'cast(t.k{i} as VARCHAR)' for i in range(len(pk)))} as x "
           f"from {rows} t semi join {dups} d on {on}) k")
    return [Check("primary_key", resource, pk[-1], sql)]


def foreign_key_checks(resource: str, schema: dict, schemas: dict[str, dict], all_valid=lambda res, col: False) -> list[Check]:
    """Rows whose foreign key names no row of the referenced resource; v = the values shown.
    all_valid(resource, column): no cell of the column failed its type check."""
    out = []
    fields = _fields(schema)
    for n, fk in enumerate(schema.get("foreignKeys", [])):
        cols = as_list(fk["fields"])
        ref = fk["reference"]
        rname = ref.get("resource") or resource
        rcols = as_list(ref["fields"])
        if rname not in schemas:
            continue  # reported by the runner without a line: the resource does not exist
        rfields = _fields(schemas[rname])
        if any(c not in fields for c in cols) or any(c not in rfields for c in rcols):
            continue
        mine = " and ".join(usable(fields[c], "c." + q(c), all_valid(resource, c)) for c in cols)
        theirs = " and ".join(usable(rfields[c], q(c), all_valid(rname, c)) for c in rcols)
        ref_keys = ", ".join(f"{typed(rfields[c], q(c))} as k{i}" for i, c in enumerate(rcols))
        on = " and ".join(f"r.k{i} = {typed(fields[c], 'c.' + q(c))}" for i, c in enumerate(cols))
        shown = " || ', ' || ".join("c." + q(c) for c in cols)
        sql = (f"select c.rn, {lit(cols[-1])} as col, {shown} as v, c.{q(cols[-1])} as x "
               f"from {view(resource)} c anti join "
               f"(select distinct {ref_keys} from {view(rname)} where {theirs}) r on {on} where {mine}")
        out.append(Check(f"foreign_key:{n}", resource, cols[-1], sql))
    return out


def cells(resource: str, checks: list[Check], one_scan: bool = True) -> list[Check]:
    """The cell checks of one resource as one query. one_scan (Spark): each row meets the list
    of checks (k, column, kind), and a CASE on k picks the check's condition, so Spark plans
    one scan per resource, not hundreds. Else (DuckDB, whose column scans are cheap): a union
    of one filter per check."""
    if not checks:
        return []
    if not one_scan:
        return [Check("cells", resource, None, " union all ".join(
            f"select t.rn, {lit(c.column)} as col, t.{q(c.column)} as v, {lit(c.kind)} as x "
            f"from {view(resource)} t where {c.sql}" for c in checks))]
    values = ", ".join(f"({k}, {lit(c.column)}, {lit(c.kind)})" for k, c in enumerate(checks))
    cell = " ".join(f"when {k} then t.{q(c.column)}" for k, c in enumerate(checks))
    fails = " ".join(f"when {k} then ({c.sql})" for k, c in enumerate(checks))
    sql = (f"select t.rn, c.col, case c.k {cell} end as v, c.x from {view(resource)} t "
           f"cross join (values {values}) as c(k, col, x) where case c.k {fails} else false end")
    return [Check("cells", resource, None, sql)]


def structure_checks(schemas: dict[str, dict], one_scan: bool = True, failed: dict[str, list[Check]] | None = None,
                     duplicates: set[str] | None = None) -> list[Check]:
    """Types, keys and constraints of every resource, in the order the pandas validator runs
    them (types, then keys, then constraints), so the same cell is reported by the same check.
    failed (the cell checks the masks saw fail) and duplicates (resources whose keys are not
    proven unique) leave out the queries that would find nothing."""
    def cell_checks_of(name, schema, kinds):
        checks = cell_checks(name, schema) if failed is None else failed.get(name, [])
        return [c for c in checks if (c.kind == "type") == (kinds == "type")]

    def all_valid(name, col):
        return failed is not None and name in schemas and not any(
            c.kind == "type" and c.column == col for c in failed.get(name, []))

    out = []
    for name, schema in schemas.items():
        out += cells(name, cell_checks_of(name, schema, "type"), one_scan)
    for name, schema in schemas.items():
        if duplicates is None or name in duplicates:
            out += primary_key_check(name, schema)
        out += foreign_key_checks(name, schema, schemas, all_valid)
    for name, schema in schemas.items():
        out += cells(name, cell_checks_of(name, schema, "constraints"), one_scan)
    return out


def cell_checks(resource: str, schema: dict) -> list[Check]:
    """Every check of one cell of the resource, types before constraints (the pandas order)."""
    return type_checks(resource, schema) + constraint_checks(resource, schema)


MASK_BITS = 62  # cell checks per mask column (a BIGINT, sign bit left alone)


def masks(checks: list[Check]) -> list[str]:
    """SQL, one expression per MASK_BITS checks: bit i set when check i fails on the row. The
    load computes them while it reads the file, so a valid file costs one pass for all its cell
    checks, and bit_or() over the column tells which checks (if any) need their rows found."""
    out = []
    for start in range(0, len(checks), MASK_BITS):
        part = checks[start:start + MASK_BITS]
        kind = _mask_type(len(part))
        out.append(" | ".join(f"(case when {c.sql} then cast({1 << i} as {kind}) else cast(0 as {kind}) end)"
                              for i, c in enumerate(part)))
    return out


def _mask_type(bits: int) -> str:
    """The narrowest signed integer holding `bits` bits (sign bit left alone): the load stores the
    mask of every row (N = 100,000: 6 bytes a row less for a SMALLINT than a BIGINT, 31 million
    rows kept under the memory limit rather than spilled)."""
    return next(kind for kind, width in (("TINYINT", 7), ("SMALLINT", 15), ("INTEGER", 31), ("BIGINT", 63))
                if bits <= width)


def failing(checks: list[Check], bits: list) -> list[Check]:
    """The checks whose bits are set in the bit_or() of each mask column."""
    return [c for i, c in enumerate(checks) if (int(bits[i // MASK_BITS] or 0) >> (i % MASK_BITS)) & 1]


NEWLINES = "__nl"  # column of each loaded table: the newlines quoted inside the row's cells


def newlines_in_row(columns: list[str]) -> str:
    """SQL over the row `t`: newlines quoted inside the row's cells of `columns` (counted only on
    rows holding one), computed while the file is read, so that lines.py maps a row to its
    physical line without reading the file again."""
    if not columns:
        return "cast(0 as BIGINT)"
    cols = [f"t.{q(h)}" for h in columns]
    held = " or ".join(f"contains({c}, chr(10))" for c in cols)
    count = " + ".join(f"(length({c}) - length(replace({c}, chr(10), '')))" for c in cols)
    return f"(case when {held} then {count} else 0 end)"


def _after(fields: dict, pk: list[str], before, after) -> str:
    """SQL: the key `after(k)` comes strictly after the key `before(k)`, field by field: equal
    text is an equal value (no cast: most adjacent rows share their year and department),
    different text compared as typed values (07 and 7 are the same integer; NULL, so not
    proven, for a cell not of its type). One CASE, the first field that differs deciding: each
    WHEN is asked only of the rows the ones before found equal, where the nested ANDs and ORs
    had compared every field of every row three times (N = 10,000, indicators: 0.20 -> 0.13 s
    CPU). The same as those: no cell is NULL (an empty one is '') and the row before a first
    row is filtered out by the caller."""
    whens = " ".join(f"when {after(k)} <> {before(k)} then {typed(fields[k], after(k))} > {typed(fields[k], before(k))}"
                     for k in pk)
    return f"(case {whens} else false end)"


def primary_key_unproven(resource: str, schema: dict, in_scan_order: bool = False) -> str | None:
    """SQL: (res, n) with n the rows whose typed primary key does not come strictly after the
    row before's (file order). 0 proves every key unique in one pass, with no hash or group-by
    of the keys (in a strictly increasing sequence no value comes twice: each comparison that
    decides is made on typed cells that differ); more (rows out of order, a key cell empty or
    not of its type) runs primary_key_check (exact) to find the duplicates, if any. The row
    before comes from lag(); in_scan_order (DuckDB): over () in the order of the scan, a
    streaming window (N = 10,000: 0.13 s CPU for the 1.47 million rows of indicators, where the
    hash of every key cost 0.5 s and a positional join of the keys 0.46 s); a row whose `rn`
    is not one more than the row before's counts too, so an order that was not file order
    can only send the file to the exact query. Else over (order by rn)."""
    pk = as_list(schema.get("primaryKey"))
    if not pk:
        return None
    window = "over ()" if in_scan_order else "over (order by t.rn)"
    before = [f"lag(t.{q(k)}) {window} as {q('__before_' + k)}" for k in pk]
    rows = (f"select t.rn, lag(t.rn) {window} as __before_rn, {', '.join('t.' + q(k) for k in pk)}, "
            f"{', '.join(before)} from {view(resource)} t")
    after = _after(_fields(schema), pk, lambda k: "b." + q("__before_" + k), lambda k: "b." + q(k))
    return (f"select {lit(resource)} as res, count(*) as n from ({rows}) b where b.__before_rn is not null "
            f"and (b.__before_rn <> b.rn - 1 or not coalesce({after}, false))")
