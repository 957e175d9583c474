"""`bazhong-accounts build`: the SQLite database, Datasette metadata and charts of the site.

Everything is derived from datapackage.json and the Table Schemas: column types, NOT NULL,
primary and foreign keys, indexes and full-text search tables. The build writes to temporary
files next to the targets and moves them into place only when everything succeeded, so a failed
build leaves the previous site untouched. A package that does not validate is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..model.descriptor import as_list, read_descriptor, read_schema
from ..errors import fail
from .marker import mark

SQL_TYPES = {"integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT", "string": "TEXT"}

# Text columns indexed for full-text search: names, reasons, goals, definitions, quotes.
FTS_EXTRA = {"source_quote", "quote_carried", "quote_other", "explanation_en"}
# Columns people filter by (besides foreign keys, enums and parent columns).
FILTER_COLUMNS = ("fiscal_year", "department", "level", "breakdown", "resource", "derived", "source_section")
# Counters that are not figures of the report (the validator skips them too).
NOT_FIGURES = {"fiscal_year", "row_no", "term_no", "trip_no"}


class BuildError(Exception):
    """Bad input or a failed build; the message names the file, line and column."""


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

    def key_column(self) -> str:
        """The column that identifies a row within a fiscal year and department."""
        rest = [c for c in self.primary_key if c not in ("fiscal_year", "department")]
        return rest[-1] if rest else self.primary_key[-1]

    def name_column(self) -> str | None:
        for c in ("name_zh", "term_zh", "title_zh", "destinations_zh", "level3_zh", "explanation_en"):
            if c in self.field_names():
                return c
        return None

    def fts_columns(self) -> list[str]:
        return [
            f["name"]
            for f in self.fields
            if f["type"] == "string" and (f["name"].endswith(("_zh", "_en")) or f["name"] in FTS_EXTRA)
        ]

    def facet_columns(self) -> list[str]:
        names = self.field_names()
        out = [c for c in FILTER_COLUMNS if c in names]
        out += [f["name"] for f in self.fields if f.get("constraints", {}).get("enum") and f["name"] not in out]
        return out

    def figure_columns(self) -> list[str]:
        return [f["name"] for f in self.fields if f["type"] in ("number", "integer") and f["name"] not in NOT_FIGURES]

    def is_fact_table(self) -> bool:
        return "source_section" in self.field_names()

    def iter_rows(self):
        """Typed rows (int, Decimal, bool, str, None) streamed from the CSV: a package of millions
        of rows is never held in memory."""
        return _read_rows(self)


@dataclass
class Package:
    dir: Path
    descriptor: dict
    tables: dict[str, Table]


# ---------------------------------------------------------------- loading


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


def _read_rows(t: Table, sql: bool = False):
    """Rows of the CSV: dicts of typed values, or (sql=True) lists of SQLite values in field order."""
    try:
        f = t.csv_path.open(encoding="utf-8", newline="")
    except OSError as e:
        raise BuildError(f"{t.csv_path}: cannot read: {e}") from None
    names = t.field_names()
    convert = [_converter(fdef, sql) for fdef in t.fields]
    missing = set(t.schema.get("missingValues", [""]))
    with f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != names:
            raise BuildError(f"{t.csv_path} line 1: header {header} differs from the schema fields {names}")
        for cells in reader:
            if len(cells) != len(names):
                raise BuildError(f"{t.csv_path} line {reader.line_num}: {len(cells)} cells, expected {len(names)}")
            try:
                values = [None if cell in missing else conv(cell) for conv, cell in zip(convert, cells)]
            except ValueError:
                for name, conv, cell in zip(names, convert, cells):  # find the culprit for the message
                    try:
                        None if cell in missing else conv(cell)
                    except ValueError as e:
                        raise BuildError(f"{t.csv_path} line {reader.line_num}, column {name}: {e}") from None
                raise
            yield values if sql else dict(zip(names, values))


NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def _converter(fdef: dict, sql: bool):
    """cell -> value for one field; raises ValueError naming the bad cell. For SQLite numbers are
    REAL (the plugin's exact sum() turns them back into the printed decimal) and booleans 0/1."""
    kind = fdef["type"]

    def integer(cell):
        if not cell.lstrip("-").isdigit():
            raise ValueError(f"{cell!r} is not an integer")
        return int(cell)

    def number(cell):
        if not NUMBER.fullmatch(cell):
            raise ValueError(f"{cell!r} is not a number")
        return float(cell) if sql else Decimal(cell)

    true, false = fdef.get("trueValues", ["true"]), fdef.get("falseValues", ["false"])

    def boolean(cell):
        if cell in true:
            return 1 if sql else True
        if cell in false:
            return 0 if sql else False
        raise ValueError(f"{cell!r} is not a boolean")

    def date(cell):
        dt.date.fromisoformat(cell)  # raises ValueError naming the bad date
        return cell

    return {"integer": integer, "number": number, "boolean": boolean, "date": date}.get(kind, str)


# ---------------------------------------------------------------- SQL


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_foreign_keys(t: Table, tables: dict[str, Table]) -> list[tuple[list[str], str, list[str]]]:
    """Foreign keys as SQLite can enforce them: the referenced columns must be the target's primary
    key. A schema key on part of it (parent_item_id -> item_id, meaning within the same fiscal year
    and department) is widened with the rest of the target key, which both tables share."""
    out = []
    for fields, target, target_fields in t.foreign_keys():
        pk = tables[target].primary_key
        prefix = pk[: len(pk) - len(target_fields)]
        if pk != target_fields and pk[len(prefix):] == target_fields and all(c in t.field_names() for c in prefix):
            fields, target_fields = prefix + fields, pk
        if target_fields != pk:
            raise BuildError(
                f"{target}: foreign key {fields} of {t.name} references {target_fields}, which is not the "
                f"primary key {pk} of {target}; SQLite cannot enforce it"
            )
        out.append((fields, target, target_fields))
    return out


def create_table_sql(t: Table, tables: dict[str, Table]) -> str:
    cols = []
    for f in t.fields:
        if f["type"] not in SQL_TYPES:
            raise BuildError(f"{t.name}: field {f['name']} has type {f['type']!r}; the build knows {sorted(SQL_TYPES)}")
        not_null = " NOT NULL" if f.get("constraints", {}).get("required") else ""
        cols.append(f"  {q(f['name'])} {SQL_TYPES[f['type']]}{not_null}")
    if t.primary_key:
        cols.append(f"  PRIMARY KEY ({', '.join(map(q, t.primary_key))})")
    for fields, target, target_fields in sql_foreign_keys(t, tables):
        cols.append(
            f"  FOREIGN KEY ({', '.join(map(q, fields))}) REFERENCES {q(target)} ({', '.join(map(q, target_fields))})"
        )
    return f"CREATE TABLE {q(t.name)} (\n" + ",\n".join(cols) + "\n)"


def index_columns(t: Table, tables: dict[str, Table], extra: list[tuple[str, ...]] = ()) -> list[tuple[str, ...]]:
    """Indexes on foreign keys, parent columns, facet columns and the site's sort order (the key
    column, then the primary key: Datasette's ORDER BY), minus those the primary key covers.
    A facet column outside the key also gets (column, sort order): a page filtered by it (e.g.
    category = work_output, a million rows at scale) reads its first rows in order instead of
    sorting all of them; the one-column index stays, being the cheapest to count and facet on.
    `extra`: what the canned queries need (site_metadata.query_indexes)."""
    key = t.key_column()
    order = (key, *[c for c in t.primary_key if c != key])
    wanted = [order] if sort_by_key(t) else []
    wanted += [tuple(fields) for fields, _, _ in sql_foreign_keys(t, tables)]
    wanted += [(c,) for c in t.field_names() if c.startswith("parent_")]
    wanted += [(c,) for c in t.facet_columns()]
    if sort_by_key(t):
        wanted += [(c, *order) for c in t.facet_columns() if c not in t.primary_key]
    wanted += [tuple(cols) for cols in extra]
    pk = tuple(t.primary_key)
    out = []
    for cols in wanted:
        if cols != pk[: len(cols)] and cols not in out:
            out.append(cols)
    return out


def sort_by_key(t: Table) -> bool:
    """Whether the site sorts the table by its key column (code, item_id, metric_id …): for keys of
    (year, department, id); a longer key (project_kpis) keeps its primary-key order."""
    return len(t.primary_key) <= 3


def write_database(pkg: Package, path: Path) -> None:
    from .metadata import query_indexes

    extra = query_indexes(pkg)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")  # speed; the file is a temporary one until os.replace
    mark(conn)  # the plugin acts only on databases carrying this stamp
    try:
        with conn:
            for t in pkg.tables.values():
                conn.execute(create_table_sql(t, pkg.tables))
                names = t.field_names()
                conn.executemany(
                    f"INSERT INTO {q(t.name)} VALUES ({', '.join('?' * len(names))})", _read_rows(t, sql=True)
                )
                for cols in index_columns(t, pkg.tables, [c for name, c in extra if name == t.name]):
                    conn.execute(
                        f"CREATE INDEX {q('idx_' + t.name + '_' + '_'.join(cols))} ON {q(t.name)} ({', '.join(map(q, cols))})"
                    )
                fts = t.fts_columns()
                if fts:
                    # External-content FTS5 table named <table>_fts: Datasette finds it by content="<table>".
                    conn.execute(
                        f"CREATE VIRTUAL TABLE {q(t.name + '_fts')} USING fts5("
                        f"{', '.join(map(q, fts))}, content={q(t.name)}, tokenize='trigram')"
                    )
                    conn.execute(f"INSERT INTO {q(t.name + '_fts')}({q(t.name + '_fts')}) VALUES ('rebuild')")
        problems = conn.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            table, rowid, target, _ = problems[0]
            pk = pkg.tables[table].primary_key
            key = conn.execute(f"SELECT {', '.join(map(q, pk))} FROM {q(table)} WHERE rowid = ?", (rowid,)).fetchone()
            raise BuildError(
                f"{pkg.tables[table].csv_path}, data row {rowid}: {dict(zip(pk, key or ()))} refers to a "
                f"missing row of {target} ({len(problems)} dangling foreign key(s) in all)"
            )
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


def row_counts(path: Path, pkg: Package) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {name: conn.execute(f"SELECT count(*) FROM {q(name)}").fetchone()[0] for name in pkg.tables}
    finally:
        conn.close()


# ---------------------------------------------------------------- validation and the command


def validation_problems(pkg_dir: Path) -> list[str]:
    """Ask the project's validator; its own API if it has `check(dir)`, else its command."""
    try:
        from ..checks import validate
    except ImportError as e:
        return [f"the validator cannot be imported: {e}"]
    if hasattr(validate, "check"):
        return [str(p) for p in validate.check(pkg_dir)]
    proc = subprocess.run(
        [sys.executable, "-m", "bazhong_accounts.cli", "validate", str(pkg_dir)],
        capture_output=True,
        text=True,
    )
    if proc.returncode == 0:
        return []
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return lines[-20:] or [f"validator exited with status {proc.returncode}"]


def build_site(pkg_dir: str | Path, out: str | Path, charts: bool = True) -> dict:
    """Build db, metadata.json (next to the db) and static/charts/ (next to the db), atomically
    per file: nothing is replaced unless every part was built. Returns the metadata."""
    from . import metadata as site_metadata

    pkg_dir, out = Path(pkg_dir), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pkg = load_package(pkg_dir)
    suffix = f".tmp{os.getpid()}"
    tmp_db = out.with_name(out.name + suffix)
    meta_path = out.parent / "metadata.json"
    tmp_meta = meta_path.with_name(meta_path.name + suffix)
    charts_dir = out.parent / "static" / "charts"
    tmp_charts = charts_dir.with_name(charts_dir.name + suffix)
    try:
        for p in (tmp_db, tmp_meta):
            p.unlink(missing_ok=True)
        write_database(pkg, tmp_db)
        metadata = site_metadata.build_metadata(pkg, db_name=out.stem, row_counts=row_counts(tmp_db, pkg))
        tmp_meta.write_text(json.dumps(metadata, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        if charts:
            from . import charts as charts_mod

            shutil.rmtree(tmp_charts, ignore_errors=True)
            charts_mod.build_charts(pkg, tmp_charts)
        # Everything built: move into place. Without charts, old ones would show stale figures.
        old = charts_dir.with_name(charts_dir.name + ".old" + suffix)
        if charts_dir.exists():
            os.replace(charts_dir, old)
        if charts:
            os.replace(tmp_charts, charts_dir)
        shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp_meta, meta_path)
        os.replace(tmp_db, out)
    finally:
        tmp_db.unlink(missing_ok=True)
        tmp_meta.unlink(missing_ok=True)
        shutil.rmtree(tmp_charts, ignore_errors=True)
    return metadata


def run(args) -> int:
    pkg_dir = Path(args.dir)
    out = Path(args.out)
    problems = validation_problems(pkg_dir)
    if problems:
        fail(f"build refused: {pkg_dir} does not validate ({len(problems)} problem{'s' if len(problems) != 1 else ''}, the first: {problems[0]}); "
             f"{out} left as it was; see: bazhong-accounts validate {pkg_dir}")
    charts = not getattr(args, "no_charts", False)
    try:
        build_site(pkg_dir, out, charts=charts)
    except (BuildError, sqlite3.Error, OSError) as e:  # ChartError is a BuildError
        fail(f"build failed, {out} left as it was: {e}")
    print(f"build: wrote {out}, {out.parent / 'metadata.json'}" + (f", {out.parent / 'static' / 'charts'}/" if charts else ""))
    return 0
