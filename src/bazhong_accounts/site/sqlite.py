"""The package as the site's SQLite side sees it: tables with their Table Schemas, typed rows
streamed from the CSVs, and what the build, the metadata and the charts ask of a table (its row
key, label, figures, facets, searched columns), all read from the schemas' roles.

build, metadata and charts import this module; it imports none of them (no import cycle).
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..model import roles
from ..model.descriptor import as_list, read_descriptor, read_schema
from ..model.typing import CellError, boolean_tokens, cell_parser, pattern_of


class BuildError(Exception):
    """Bad input or a failed build; the message names the file, line and column."""


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Table:
    name: str
    title: str
    description: str
    schema: dict
    csv_path: Path

    @property
    def fields(self) -> list[dict]:
        return self.schema["fields"]

    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    @property
    def primary_key(self) -> list[str]:
        return as_list(self.schema.get("primaryKey", []))

    def foreign_keys(self) -> list[tuple[list[str], str, list[str]]]:
        """(fields, target table, target fields); resource "" is the table itself."""
        return [(fields, target or self.name, target_fields)
                for fields, target, target_fields in roles.foreign_keys(self.schema)]

    def row_key_fields(self) -> list[str]:
        """The key fields that name a row within its department-year (roles.row_key_fields)."""
        return roles.row_key_fields(self.schema)

    def row_key_sql(self, alias: str = "") -> str:
        """SQL for the row key as errata and search hits name it: one field as it is, several
        joined with roles' separator (project_kpis: `cloud|7`)."""
        keys = self.row_key_fields()
        if len(keys) == 1:
            return alias + q(keys[0])
        sep = "'" + roles.ROW_KEY_SEPARATOR + "'"
        return f" || {sep} || ".join(f"cast({alias}{q(k)} as text)" for k in keys)

    def name_column(self) -> str:
        """The column that labels a row for a reader (the schema's rowLabel)."""
        return roles.row_label(self.schema)

    def fts_columns(self) -> list[str]:
        return roles.searched(self.schema)

    def facet_columns(self) -> list[str]:
        return roles.facets(self.schema)

    def figure_columns(self) -> list[str]:
        return roles.figures(self.schema)

    def scope_columns(self) -> list[str]:
        return roles.with_role(self.schema, "scope")

    def parent_columns(self) -> list[str]:
        return [parent for parent, _ in roles.parent_links(self.schema)]

    def is_fact_table(self) -> bool:
        """Rows quoted from a section of the report (the queries by section read them)."""
        return "source_section" in roles.with_role(self.schema, "provenance")

    def iter_rows(self, keep: Callable[[list[str]], bool] | None = None):
        """Typed rows (int, Decimal, bool, str, None) streamed from the CSV: a package of millions
        of rows is never held in memory. `keep(cells)`: only the records it accepts are typed."""
        return read_rows(self, keep)


@dataclass
class Package:
    dir: Path
    descriptor: dict
    tables: dict[str, Table]


def load_package(pkg_dir: str | Path) -> Package:
    """Read datapackage.json and the schemas; rows are read on demand by Table.iter_rows()."""
    pkg_dir = Path(pkg_dir)
    try:
        descriptor = read_descriptor(pkg_dir)
    except (OSError, ValueError) as e:
        raise BuildError(f"{pkg_dir / 'datapackage.json'}: cannot read: {e}") from None
    tables = {}
    for res in descriptor["resources"]:
        try:
            schema = read_schema(pkg_dir, res)
        except (OSError, ValueError) as e:
            raise BuildError(f"{pkg_dir / res['schema']}: cannot read: {e}") from None
        tables[res["name"]] = Table(
            res["name"], res.get("title", res["name"]), res.get("description", ""), schema, pkg_dir / res["path"]
        )
    return Package(pkg_dir, descriptor, tables)


def read_rows(t: Table, keep: Callable[[list[str]], bool] | None = None) -> Iterator[dict]:
    """Rows of the CSV typed by model.typing (the grammar `validate` and `load()` use): dicts of
    int, Decimal, bool, str or None. A bad cell raises BuildError ``path:line: column: message``.
    `keep(cells)`: records it refuses are skipped untyped (the charts want a few department-years
    of millions of rows). (The build does not come here: it types cells in SQL, see load_csv.)"""
    names = t.field_names()
    parsers = [cell_parser(fdef, Decimal) for fdef in t.fields]
    missing = set(t.schema.get("missingValues", [""]))
    for line, cells in csv_records(t):
        if keep is not None and not keep(cells):
            continue
        try:
            values = [None if cell in missing else parse(cell) for parse, cell in zip(parsers, cells, strict=True)]
        except CellError:
            raise BuildError(bad_cell_message(t, cells, line)) from None
        yield dict(zip(names, values, strict=True))


def csv_records(t: Table) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) of every data record; a wrong header, a record of
    the wrong length or unreadable bytes raise BuildError naming the line."""
    with _open_csv(t) as f:
        reader = _reader_after_header(t, f)
        start = 2
        try:
            for cells in reader:
                if len(cells) != len(t.fields):
                    raise BuildError(f"{t.csv_path}:{start}: {len(cells)} cells, expected {len(t.fields)}")
                yield start, cells
                start = reader.line_num + 1
        except (csv.Error, UnicodeDecodeError) as e:
            raise BuildError(f"{t.csv_path}:{start}: cannot read: {e}") from None


def _open_csv(t: Table):
    try:
        return t.csv_path.open(encoding="utf-8", newline="")
    except OSError as e:
        raise BuildError(f"{t.csv_path}: cannot read: {e}") from None


def _reader_after_header(t: Table, f) -> Any:  # a csv reader (typeshed names it _csv._reader)
    reader = csv.reader(f)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as e:
        raise BuildError(f"{t.csv_path}:1: cannot read: {e}") from None
    if header != t.field_names():
        raise BuildError(f"{t.csv_path}:1: header {header} differs from the schema fields {t.field_names()}")
    return reader


def bad_cell_message(t: Table, cells: list[str], line: int) -> str:
    """``path:line: column: message`` for the first cell of a record that is not of its type (the
    validator's words), or whose decimals the exact integer twin cannot hold."""
    missing = set(t.schema.get("missingValues", [""]))
    for fdef, cell in zip(t.fields, cells, strict=True):
        if cell in missing:
            continue
        try:
            cell_parser(fdef, str)(cell)
        except CellError as e:
            return f"{t.csv_path}:{line}: {fdef['name']}: {e}"
        problem = decimals_problem(fdef, cell)
        if problem:
            return f"{t.csv_path}:{line}: {fdef['name']}: {problem}"
    return f"{t.csv_path}:{line}: a cell is not of its type"  # not reached: the SQL and this agree


# ---------------------------------------------------------------- exact money: integer twins
#
# A number field declares `decimalPlaces` d in its Table Schema (the report's own decimals). The
# table stores the value as REAL (shown as printed: 2524.97), and the view <table>_exact shows every
# column of the table plus <field>_x<10^d>: the value times 10^d as an exact INTEGER, which SQLite's
# own sum() adds exactly, in any SQLite, with or without this package's plugin. The REAL gives the
# integer back exactly: cells have at most d decimals and at most MAX_WHOLE_DIGITS digits before the
# point (checked when loading), so round(value * 10^d) is the printed number times 10^d (the REAL is
# the double nearest to the printed decimal, what Python's float() gives). A view, not columns of
# the table: the site's pages, downloads and searches show the tables as the CSVs have them.

MAX_WHOLE_DIGITS = 13  # 10^13 * 10^2 < 2^53: every such value * 100 is an exact double


def decimal_places(field: dict) -> int | None:
    """The decimals the schema declares for a number field (None: no exact twin)."""
    d = field.get("decimalPlaces")
    return d if field.get("type") == "number" and isinstance(d, int) and 0 <= d <= 4 else None


def exact_twin(field: dict) -> str | None:
    """Name of the exact integer column of a number field: amount -> amount_x100 (decimalPlaces 2)."""
    d = decimal_places(field)
    return None if d is None else f"{field['name']}_x{10 ** d}"


def exact_view_name(t: Table) -> str:
    return t.name + "_exact"


def exact_view_sql(t: Table) -> str | None:
    """CREATE VIEW <table>_exact: the table's columns, then each number's exact integer twin."""
    twins = [f"cast(round({q(f['name'])} * {10 ** decimal_places(f)}) as integer) AS {q(exact_twin(f))}"
             for f in t.fields if exact_twin(f)]
    if not twins:
        return None
    columns = ", ".join([*map(q, t.field_names()), *twins])
    return f"CREATE VIEW {q(exact_view_name(t))} AS SELECT {columns} FROM {q(t.name)}"


def decimals_problem(field: dict, cell: str) -> str | None:
    """Why a valid number cell does not fit its exact twin (too many decimals or digits)."""
    d = decimal_places(field)
    if d is None:
        return None
    whole, _, frac = cell.lstrip("-").partition(".")
    if len(frac) > d:
        return (f'"{cell}" has {len(frac)} decimal places; the schema declares decimalPlaces {d} '
                f"(raise it in the schema if the report prints more)")
    if len(whole) > MAX_WHOLE_DIGITS:
        return f'"{cell}" has more than {MAX_WHOLE_DIGITS} digits before the decimal point'
    return None


# ---------------------------------------------------------------- typing cells in SQL
#
# The build hands csv.reader's records straight to executemany (no Python per row): each
# parameter is typed by an SQL expression with the grammar of model.typing. A cell that breaks it
# is stored as a BLOB (never a value of a CSV cell), found after the load and reported with the
# validator's message (bad_cell_message). String patterns are checked on the distinct values.

BAD = "cast({p} as blob)"


def _unsigned(p: str) -> str:
    return f"(case when {p} glob '-*' then substr({p}, 2) else {p} end)"


def _number_ok(p: str, field: dict) -> str:
    s = _unsigned(p)
    ok = (f"{s} <> '' and {s} not glob '*[^0-9.]*' and {s} not glob '*.*.*' "
          f"and {s} not glob '.*' and {s} not glob '*.'")
    d = decimal_places(field)
    if d is not None:
        ok += (f" and (instr({s}, '.') = 0 or length({s}) - instr({s}, '.') <= {d})"
               f" and instr({s} || '.', '.') - 1 <= {MAX_WHOLE_DIGITS}")
    return ok


def cell_sql(field: dict, p: str, missing: list[str], validated: bool = False) -> str:
    """SQL typing the CSV text bound to parameter `p` as model.typing does: NULL when missing, the
    typed value when valid, else the text as a BLOB (the mark of a bad cell). `validated`: the
    validator proves the cell's type (the build refuses the package otherwise), so the column's
    type affinity converts it (the grammar of model.typing is SQLite's own for numbers), and only
    what the validator does not check, a number's decimals for its exact twin, is checked here:
    a third of the load's time at N = 10,000."""
    ftype = field.get("type", "string")
    bad = BAD.format(p=p)
    if validated and ftype != "boolean":
        value = p
        d = decimal_places(field) if ftype == "number" else None
        if d is not None:
            fits = (f"(instr({p}, '.') = 0 or length({p}) - instr({p}, '.') <= {d}) "
                    f"and instr({p} || '.', '.') - ({p} glob '-*') - 1 <= {MAX_WHOLE_DIGITS}")
            value = f"case when {fits} then {p} else {bad} end"
        return f"case when {p} in ({', '.join(map(_lit, missing))}) then null else {value} end"
    if ftype == "integer":
        s = _unsigned(p)
        ok = f"{s} <> '' and {s} not glob '*[^0-9]*' and length({s}) <= 18"
        value = f"case when {ok} then cast({p} as integer) else {bad} end"
    elif ftype == "number":
        value = f"case when {_number_ok(p, field)} then cast({p} as real) else {bad} end"
    elif ftype == "boolean":
        true, false = boolean_tokens(field)
        whens = [f"when {_lit(t)} then 1" for t in true] + [f"when {_lit(t)} then 0" for t in false]
        value = f"case {p} {' '.join(whens)} else {bad} end"
    elif ftype == "date":
        # a real calendar day: SQLite carries 02-30 over to 03-02 once a modifier is applied; year 0 is not one
        value = (f"case when {p} glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' and {p} not glob '0000*' "
                 f"and date({p}, '+0 days') is {p} then {p} else {bad} end")
    else:
        value = p
    return f"case when {p} in ({', '.join(map(_lit, missing))}) then null else {value} end"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def insert_sql(t: Table, validated: bool = False) -> str:
    missing = t.schema.get("missingValues", [""])
    values = ", ".join(cell_sql(f, f"?{i}", missing, validated) for i, f in enumerate(t.fields, 1))
    return f"INSERT INTO {q(t.name)} ({', '.join(map(q, t.field_names()))}) VALUES ({values})"


def load_csv(conn: sqlite3.Connection, t: Table, through=None, validated: bool = False) -> None:
    """Stream the CSV of `t` into its (empty) table: csv.reader's records go to executemany as
    they are, typed in SQL; memory stays flat whatever the size. Raises BuildError naming the
    file, line and column of the first bad record or cell. `through(t, records)`: an iterator
    passing the records on (fts.Recorder.records notes the searched texts on the way).
    `validated`: the build refuses the package unless the validator passes it (cell_sql)."""
    with _open_csv(t) as f:
        reader = _reader_after_header(t, f)
        try:
            conn.executemany(insert_sql(t, validated), through(t, reader) if through else reader)
        except (sqlite3.ProgrammingError, csv.Error, UnicodeDecodeError):
            list(csv_records(t))  # raises the BuildError naming the record
            raise
    _check_loaded_cells(conn, t, validated)


def _check_loaded_cells(conn: sqlite3.Connection, t: Table, validated: bool = False) -> None:
    """The first bad cell of the loaded table (a BLOB, see cell_sql), then the string patterns.
    `validated`: only the cells cell_sql still checks (booleans, a number's decimals); the patterns
    are the validator's (a DISTINCT over each patterned column: seconds at N = 10,000)."""
    typed = [f["name"] for f in t.fields if f.get("type", "string") != "string"
             and (not validated or f["type"] == "boolean" or decimal_places(f) is not None)]
    if typed:
        where = " or ".join(f"typeof({q(c)}) = 'blob'" for c in typed)
        hit = conn.execute(f"SELECT rowid FROM {q(t.name)} WHERE {where} ORDER BY rowid LIMIT 1").fetchone()
        if hit:
            _raise_at_record(t, hit[0])
    for fdef in [] if validated else t.fields:
        pattern = pattern_of(fdef)
        if pattern:
            _check_pattern(conn, t, fdef["name"], re.compile(pattern))


def _check_pattern(conn: sqlite3.Connection, t: Table, column: str, pattern: re.Pattern) -> None:
    """Each distinct value once (a few thousand at most), in Python's regex grammar as validate."""
    for (value,) in conn.execute(f"SELECT DISTINCT {q(column)} FROM {q(t.name)} WHERE {q(column)} IS NOT NULL"):
        if not pattern.fullmatch(value):
            rowid = conn.execute(f"SELECT min(rowid) FROM {q(t.name)} WHERE {q(column)} = ?", (value,)).fetchone()[0]
            _raise_at_record(t, rowid)


def _raise_at_record(t: Table, rowid: int):
    """Rows are inserted in file order, so rowid n is the n-th record: read it again for its line."""
    for n, (line, cells) in enumerate(csv_records(t), 1):
        if n == rowid:
            raise BuildError(bad_cell_message(t, cells, line))
    raise BuildError(f"{t.csv_path}: record {rowid} not found again")  # the file changed meanwhile


def sort_by_key(t: Table) -> bool:
    """Whether the site sorts the table by its row key (code, item_id, metric_id …): when one
    field names a row; a longer key (project_kpis) keeps its primary-key order, and so does a
    hierarchy (its department-years one after the other, each in tree order: site/hierarchy.py)."""
    return len(t.row_key_fields()) == 1 and not t.parent_columns()
