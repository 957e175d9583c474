"""The package as the site's SQLite side sees it: tables with their Table Schemas, typed rows
streamed from the CSVs, and what the build, the metadata and the charts ask of a table (its row
key, label, figures, facets, searched columns), all read from the schemas' roles.

build, metadata and charts import this module; it imports none of them (no import cycle).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..model import roles
from ..model.descriptor import as_list, read_descriptor, read_schema
from ..model.typing import CellError, cell_parser


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
        out = []
        for fk in self.schema.get("foreignKeys", []):
            ref = fk["reference"]
            out.append((as_list(fk["fields"]), ref.get("resource") or self.name, as_list(ref["fields"])))
        return out

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

    def iter_rows(self):
        """Typed rows (int, Decimal, bool, str, None) streamed from the CSV: a package of millions
        of rows is never held in memory."""
        return read_rows(self)


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


def read_rows(t: Table, sql: bool = False) -> Iterator:
    """Rows of the CSV typed by model.typing (the grammar `validate` and `load()` use): dicts of
    typed values, or (sql=True) lists of SQLite values in field order: numbers REAL (the plugin's
    exact sum() turns them back into the printed decimal), booleans 0/1 (Python's True/False). A
    bad cell raises BuildError ``path:line: column: message``."""
    try:
        f = t.csv_path.open(encoding="utf-8", newline="")
    except OSError as e:
        raise BuildError(f"{t.csv_path}: cannot read: {e}") from None
    names = t.field_names()
    parsers = [cell_parser(fdef, float if sql else Decimal) for fdef in t.fields]
    missing = set(t.schema.get("missingValues", [""]))
    with f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != names:
            raise BuildError(f"{t.csv_path}:1: header {header} differs from the schema fields {names}")
        start = 2
        for cells in reader:
            if len(cells) != len(names):
                raise BuildError(f"{t.csv_path}:{start}: {len(cells)} cells, expected {len(names)}")
            try:
                values = [None if cell in missing else parse(cell) for parse, cell in zip(parsers, cells, strict=True)]
            except CellError:
                _raise_bad_cell(t, names, parsers, missing, cells, start)
            start = reader.line_num + 1
            yield values if sql else dict(zip(names, values, strict=True))


def _raise_bad_cell(t: Table, names: list[str], parsers: list, missing: set[str], cells: list[str], line: int):
    """The first cell of the row that is not of its type, as a BuildError naming it."""
    for name, parse, cell in zip(names, parsers, cells, strict=True):
        if cell not in missing:
            try:
                parse(cell)
            except CellError as e:
                raise BuildError(f"{t.csv_path}:{line}: {name}: {e}") from None
    raise BuildError(f"{t.csv_path}:{line}: a cell is not of its type")  # not reached: one raised above


def sort_by_key(t: Table) -> bool:
    """Whether the site sorts the table by its row key (code, item_id, metric_id …): when one
    field names a row; a longer key (project_kpis) keeps its primary-key order, and so does a
    hierarchy (its department-years one after the other, each in tree order: site/hierarchy.py)."""
    return len(t.row_key_fields()) == 1 and not t.parent_columns()
