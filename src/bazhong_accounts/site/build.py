"""`bazhong-accounts build`: the SQLite database, Datasette metadata and charts of the site.

Everything is derived from datapackage.json and the Table Schemas: column types, NOT NULL,
primary and foreign keys, indexes and full-text search tables. The build writes to temporary
files next to the targets and moves them into place only when everything succeeded, so a failed
build leaves the previous site untouched. A package that does not validate is refused.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..errors import fail
from .fts import ROWIDS, TEXTS, Recorder
from .marker import mark
from .sqlite import BuildError, Package, Table, exact_view_sql, load_csv, load_package, q, sort_by_key

__all__ = ["BuildError", "build_site", "load_package", "run"]

CACHE_KIB = 64 * 1024
# while a table loads: its rows are appended, and so are its key's, nearly all in order; a bigger
# cache only grows the process (at N = 10,000: 71 MB more for the same CPU), while DuckDB validates
# beside it at the build's peak. CREATE INDEX sorts in memory of CACHE_KIB.
LOAD_CACHE_KIB = 8 * 1024
SQL_TYPES = {"integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT", "string": "TEXT"}


# ---------------------------------------------------------------- SQL


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


def index_columns(t: Table, tables: dict[str, Table],
                  extra: list[tuple[str, ...]] | tuple = ()) -> list[tuple[str, ...]]:
    """Indexes on foreign keys, parent columns, facet columns and the site's sort order (the row
    key, then the primary key: Datasette's ORDER BY), minus those the primary key covers.
    A facet column outside the key gets (column, sort order, every number column): a page
    filtered by it (e.g. category = work_output, a million rows at scale) reads its first rows in
    order instead of sorting all of them, and sums filtered by it never read the table. No index
    is the leading part of another (_without_prefixes): the one-column facet index went (at
    N = 10,000 a bare filtered count of indicators takes 177 ms instead of 108 ms, yet bench_site's
    facet pages kept their server CPU per request).
    `extra`: what the canned queries need (site_metadata.query_indexes)."""
    key = t.row_key_fields()
    # Datasette's ORDER BY of the table page: the row key first where the site sorts by it, else
    # the primary key (a hierarchy: expenditure_by_function?level=1 sorted 50,000 rows without it)
    order = (*key, *[c for c in t.primary_key if c not in key]) if sort_by_key(t) else tuple(t.primary_key)
    wanted = [order] if sort_by_key(t) else []
    wanted += [tuple(fields) for fields, _, _ in sql_foreign_keys(t, tables)]
    wanted += [(c,) for c in t.parent_columns()]
    wanted += [(c,) for c in t.facet_columns()]
    # sums by a category (sum(amount) where level = 1: 50,000 of 240,000 rows at N = 10,000) read
    # this index alone instead of every row of the table: 10 ms instead of 260 ms. One index per
    # facet column serves both its pages in order and its sums (the numbers after the sort order).
    numbers = [f["name"] for f in t.fields if f["type"] == "number"]
    wanted += [(c, *order, *[n for n in numbers if n != c]) for c in t.facet_columns() if c not in t.primary_key]
    wanted += [tuple(cols) for cols in extra]
    return _without_prefixes(wanted, tuple(t.primary_key))


def _without_prefixes(wanted: list[tuple[str, ...]], pk: tuple[str, ...]) -> list[tuple[str, ...]]:
    """`wanted` less repeats and each index that is the leading part of another (or of the primary
    key): the longer one answers the same lookups, counts and orders. Each costs the build a sort
    of the whole table (at N = 10,000, 1-3 s of CPU for indicators' 1.47 M rows)."""
    out: list[tuple[str, ...]] = []
    for cols in wanted:
        longer = [w for w in [pk, *wanted] if len(w) > len(cols) and w[: len(cols)] == cols]
        if cols != pk and not longer and cols not in out:
            out.append(cols)
    return out


# Past this much CSV the tables load in PARTS processes at once (each into its own file, then
# copied in by SQLite's transfer optimisation); a small package loads in the process itself.
PARALLEL_BYTES = 50 << 20
PARTS = 2


def write_database(pkg: Package, path: Path, validated: bool = False, parts: int | None = None,
                   charts_dir: Path | None = None) -> bool:
    """`validated`: the package's cell types are proved by the validator running beside
    (sqlite.cell_sql). `parts`: how many processes load the tables (default by size).
    `charts_dir`: where a part of a large build draws the charts, beside the load (they read the
    CSVs, not the database). Returns whether it drew them (a one-process build does not)."""
    from .metadata import query_indexes

    if parts is None:
        size = sum(t.csv_path.stat().st_size for t in pkg.tables.values() if t.csv_path.exists())
        parts = min(PARTS, os.cpu_count() or 1) if size > PARALLEL_BYTES else 1
    conn = _connect_for_writing(path)
    mark(conn)  # the plugin acts only on databases carrying this stamp
    drawing: list[Part] = []  # the other processes, drawing the charts once their tables are copied in
    try:
        with conn:
            search_texts = Recorder(conn)  # the search index: each distinct searched text, its rows (fts.py)
            if parts > 1:
                _load_in_parts(conn, pkg, path, parts, validated, charts_dir, drawing)
            else:
                load_tables(conn, pkg, list(pkg.tables), query_indexes(pkg), validated)
            for t in pkg.tables.values():
                if exact_view_sql(t):  # <table>_exact: exact integer twins of the numbers (sqlite.py)
                    conn.execute(exact_view_sql(t))
        # the validator beside checks the foreign keys (the build refuses what it does not pass)
        problems = [] if validated else conn.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            table, rowid, target, _ = problems[0]
            pk = pkg.tables[table].primary_key
            key = conn.execute(f"SELECT {', '.join(map(q, pk))} FROM {q(table)} WHERE rowid = ?", (rowid,)).fetchone()
            raise BuildError(
                f"{pkg.tables[table].csv_path}, data row {rowid}: {dict(zip(pk, key or (), strict=False))} refers to a "
                f"missing row of {target} ({len(problems)} dangling foreign key(s) in all)"
            )
        search_texts.finish()
        conn.execute("PRAGMA analysis_limit = 1000")  # statistics from a sample: seconds, not minutes
        conn.execute("ANALYZE")
        conn.commit()
        for part in drawing:
            part.wait()
    finally:
        for part in drawing:
            part.stop()
        conn.close()
    return parts > 1 and charts_dir is not None


def _connect_for_writing(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    # speed: the file is a temporary one until os.replace, so no journal and no fsync; the page
    # cache is bounded (64 MB), so memory stays flat at any size
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    # CREATE INDEX sorts in this thread alone: a sorter thread took 20 % more CPU per index (at
    # N = 10,000, 3.4-4.0 s instead of 2.8-3.0 s for one of indicators) and no core is idle
    # then: the validator, the other process and this one share the two
    conn.execute("PRAGMA threads = 0")
    return conn


def load_tables(conn: sqlite3.Connection, pkg: Package, names: list[str], extra, validated: bool,
                search_texts: Recorder | None = None) -> None:
    """Create, load and index the tables `names` (indexes after the load: one sort each instead of
    updates row by row); their searched texts into `search_texts` (default: a Recorder of conn)."""
    search_texts = search_texts or Recorder(conn, create=False)
    for name in names:
        t = pkg.tables[name]
        conn.execute(create_table_sql(t, pkg.tables))
        conn.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
        load_csv(conn, t, search_texts.records, validated)
        search_texts.flush()
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        create_indexes(conn, t, pkg, extra)


def create_indexes(conn: sqlite3.Connection, t: Table, pkg: Package, extra) -> None:
    for cols in index_columns(t, pkg.tables, [c for name, c in extra if name == t.name]):
        conn.execute(f"CREATE INDEX {q('idx_' + t.name + '_' + '_'.join(cols))} ON {q(t.name)} ({', '.join(map(q, cols))})")


def _load_in_parts(conn: sqlite3.Connection, pkg: Package, path: Path, parts: int, validated: bool,
                   charts_dir: Path | None, started: list[Part]) -> None:
    """The first group of tables loaded here, each other group at the same time by a process of its
    own into its own file (SQLite uses one core per connection), then copied in: `INSERT INTO t
    SELECT * FROM part.t` into an empty table with the same columns and indexes is SQLite's transfer
    optimisation, which copies the records of the table and of each index as they are (no parsing,
    typing or sorting again). Rowids are kept. The first other process then draws the charts into
    `charts_dir` (the main one holds the largest table and the validator) while its tables are
    copied in; the processes are appended to `started`, which the caller waits for and stops."""
    from .metadata import query_indexes

    extra = query_indexes(pkg)
    here, *elsewhere = _balanced(pkg, parts)
    charts_dirs = [charts_dir] + [None] * (len(elsewhere) - 1)
    try:
        for number, (names, charts) in enumerate(zip(elsewhere, charts_dirs), 1):
            started.append(Part(pkg, names, path.with_name(f"{path.name}.part{number}"), validated, number, charts))
        load_tables(conn, pkg, here, extra, validated)
        for part in started:
            part.wait_for_tables()
            for name in part.names:
                conn.execute(create_table_sql(pkg.tables[name], pkg.tables))
                create_indexes(conn, pkg.tables[name], pkg, extra)
            conn.commit()
            conn.execute("ATTACH ? AS part", (str(part.file),))
            for name in part.names:
                conn.execute(f"INSERT INTO main.{q(name)} SELECT * FROM part.{q(name)}")
            for table in (TEXTS, ROWIDS):  # the part's text ids are its own (fts.PART_IDS)
                conn.execute(f"INSERT INTO main.{table} SELECT * FROM part.{table}")
            conn.commit()
            conn.execute("DETACH part")
            part.file.unlink()
    finally:
        for part in started:
            part.file.unlink(missing_ok=True)


class Part:
    """A process of its own writing the tables `names` into `file` (write_part), then drawing the
    charts into `charts_dir` if given. It says on a pipe of its own when its tables are written,
    so that they are copied in while it draws. Its stderr goes to a file (read when it failed), not
    a pipe nobody reads while it draws."""

    def __init__(self, pkg: Package, names: list[str], file: Path, validated: bool, number: int,
                 charts_dir: Path | None):
        self.names, self.file = names, file
        self.stderr = tempfile.TemporaryFile("w+")
        readable, ready = os.pipe()
        self.ready = os.fdopen(readable, "rb", buffering=0)
        try:
            # a process of its own (python -m this module), not forked: the validator's thread
            # (DuckDB) runs in this process meanwhile
            args = [str(pkg.dir), names, str(file), validated, number, str(charts_dir) if charts_dir else None, ready]
            self.process = subprocess.Popen([sys.executable, "-m", "bazhong_accounts.site.build", json.dumps(args)],
                                            stderr=self.stderr, text=True, pass_fds=(ready,))
        finally:
            os.close(ready)  # the child's copy stays open: EOF here when it exits

    def wait_for_tables(self) -> None:
        """Until the process has written its tables (BuildError if it failed instead)."""
        written = self.ready.read(1)
        self.ready.close()
        if not written:
            self.wait()
            raise BuildError("a part of the build stopped before writing its tables")

    def wait(self) -> None:
        """Until the process has ended (its charts drawn); BuildError with its last words if it failed."""
        self.process.wait()
        self.stderr.seek(0)
        err = self.stderr.read().strip()
        if err or self.process.returncode:
            raise BuildError(err.splitlines()[-1] if err else "a part of the build failed")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.ready.close()
        self.stderr.close()


def write_part(pkg_dir: str, names: list[str], part: str, validated: bool, number: int,
               charts_dir: str | None = None, ready_fd: int | None = None) -> None:
    """Part `number` of the database (in a process of its own): the tables `names`, loaded and
    indexed; then a byte on `ready_fd` (they can be copied in); then the charts into `charts_dir`."""
    from .metadata import query_indexes

    pkg = load_package(pkg_dir)
    Path(part).unlink(missing_ok=True)
    conn = _connect_for_writing(Path(part))
    try:
        with conn:
            load_tables(conn, pkg, names, query_indexes(pkg), validated, Recorder(conn, create="texts", part=number))
    finally:
        conn.close()
    if ready_fd is not None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)
    if charts_dir:
        from . import charts

        charts.build_charts(pkg, charts_dir)


def _balanced(pkg: Package, parts: int) -> list[list[str]]:
    """The tables in `parts` groups of about equal CSV size (largest first into the lightest group)."""
    sizes = {name: (t.csv_path.stat().st_size if t.csv_path.exists() else 0) for name, t in pkg.tables.items()}
    groups: list[list[str]] = [[] for _ in range(parts)]
    weight = [0] * parts
    for name in sorted(sizes, key=lambda n: -sizes[n]):
        i = weight.index(min(weight))
        groups[i].append(name)
        weight[i] += sizes[name]
    return [g for g in groups if g]


def row_counts(path: Path, pkg: Package) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {name: conn.execute(f"SELECT count(*) FROM {q(name)}").fetchone()[0] for name in pkg.tables}
    finally:
        conn.close()


# ---------------------------------------------------------------- validation and the command


def validation_problems(pkg_dir: Path, engine: str = "auto") -> list[str]:
    """Ask the project's validator. `auto`: pandas for a small package, DuckDB past
    checks.engines.AUTO_BYTES of CSV (pandas holds about 4x the data in memory; DuckDB streams)."""
    from ..checks import engines, validate

    engine = engines.choose(pkg_dir, engine)
    if engine == "pandas":
        return [str(p) for p in validate.check(pkg_dir)]
    # checked(), not collect(): the known errata (500,000 at N = 100,000) stay in the engine unread
    with _environ(MEMORY_ENV, os.environ.get(MEMORY_ENV, VALIDATE_MEMORY)), engines.checked(pkg_dir, engine) as result:
        problems = [str(p) for p in result.report.sorted(result.order)]
    engines.print_note()
    return problems


# DuckDB's memory limit while the build validates (it spills beyond it): the whole build stays
# under 1 GB (at N = 10,000: validate 767 MB peak with 500MB, 2.4 GB with validate's own 3GB; the
# build's processes together, the database written beside, 985 MB. With 300MB DuckDB's structure
# check ran out of memory: it does not spill)
MEMORY_ENV, VALIDATE_MEMORY = "BAZHONG_DUCKDB_MEMORY", "500MB"


@contextmanager
def _environ(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


class Refused(BuildError):
    """The package does not validate (and the build is no draft): nothing was replaced."""

    def __init__(self, problems: list[str]):
        super().__init__(problems[0])
        self.problems = problems


def build_site(pkg_dir: str | Path, out: str | Path, charts: bool = True, draft: list[str] | None = None,
               validate: Callable[[], list[str]] | None = None, draft_ok: bool = False) -> dict:
    """Build db, metadata.json (next to the db) and static/charts/ (next to the db), atomically
    per file: nothing is replaced unless every part was built. Returns the metadata.
    `draft`: the validation problems of a package built anyway (build --draft); the database's
    metadata records them and says "draft", which the site's pages show (site/draft.py).
    `validate`: the validator, run in a thread beside the database write (DuckDB works on other
    cores while SQLite loads); its problems refuse the build (raise Refused) unless `draft_ok`,
    when they become `draft`."""
    from . import metadata as site_metadata

    pkg_dir, out = Path(pkg_dir), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = f".tmp{os.getpid()}"
    tmp_db = out.with_name(out.name + suffix)
    meta_path = out.parent / "metadata.json"
    tmp_meta = meta_path.with_name(meta_path.name + suffix)
    charts_dir = out.parent / "static" / "charts"
    tmp_charts = charts_dir.with_name(charts_dir.name + suffix)
    pool = ThreadPoolExecutor(max_workers=1)
    validating = pool.submit(validate) if validate else None
    try:
        pkg = load_package(pkg_dir)
        for p in (tmp_db, tmp_meta):
            p.unlink(missing_ok=True)
        shutil.rmtree(tmp_charts, ignore_errors=True)
        try:
            # a build that refuses an invalid package can leave the types to the validator
            charts_drawn = write_database(pkg, tmp_db, validated=validate is not None and not draft_ok,
                                          charts_dir=tmp_charts if charts else None)
        except (BuildError, sqlite3.Error, OSError):
            _refuse_if_invalid(validating, draft_ok)  # a package that does not validate says so first
            raise
        problems = _refuse_if_invalid(validating, draft_ok)
        if validating and draft_ok:
            draft = problems
        metadata = site_metadata.build_metadata(pkg, db_name=out.stem, row_counts=row_counts(tmp_db, pkg))
        if draft is not None:
            metadata["databases"][out.stem].update({"draft": True, "validation_problems": draft})
        tmp_meta.write_text(json.dumps(metadata, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        if charts:
            from . import charts as charts_mod, precompute

            if not charts_drawn:
                charts_mod.build_charts(pkg, tmp_charts)
            precompute.write_chart_data(tmp_db, tmp_charts)  # what /-/charts.json serves
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
        pool.shutdown(wait=True)
        tmp_db.unlink(missing_ok=True)
        tmp_meta.unlink(missing_ok=True)
        shutil.rmtree(tmp_charts, ignore_errors=True)
    return metadata


def _refuse_if_invalid(validating: Future | None, draft_ok: bool) -> list[str]:
    """The validator's problems (none without one); Refused when there are some and no draft is asked."""
    problems = validating.result() if validating else []
    if problems and not draft_ok:
        raise Refused(problems)
    return problems


def run(args) -> int:
    pkg_dir = Path(args.dir)
    out = Path(args.out)
    engine, draft = getattr(args, "engine", "auto"), getattr(args, "draft", False)
    charts = not getattr(args, "no_charts", False)
    try:
        metadata = build_site(pkg_dir, out, charts=charts, validate=lambda: validation_problems(pkg_dir, engine),
                              draft_ok=draft)
    except Refused as e:
        n = len(e.problems)
        fail(f"build refused: {pkg_dir} does not validate ({n} problem{'s' if n != 1 else ''}, the first: {e.problems[0]}); "
             f"{out} left as it was; see: bazhong-accounts validate {pkg_dir}")
    except (BuildError, sqlite3.Error, OSError) as e:  # ChartError is a BuildError
        fail(f"build failed, {out} left as it was: {e}")
    problems = metadata["databases"][out.stem].get("validation_problems") or []
    if problems:
        # a machine-extracted package carries its reports' own contradictions: built, and said so
        print(f"build --draft: {pkg_dir} has {len(problems)} validation problem{'s' if len(problems) != 1 else ''}, "
              f"recorded in {out.parent / 'metadata.json'}; the first: {problems[0]}", file=sys.stderr)
    charts_note = f", {out.parent / 'static' / 'charts'}/" if charts else ""
    print(f"build: wrote {out}, {out.parent / 'metadata.json'}{charts_note}")
    return 0


if __name__ == "__main__":  # a part of a large build (write_part), in a process of its own
    try:
        write_part(*json.loads(sys.argv[1]))
    except BuildError as e:
        print(e, file=sys.stderr)
        sys.exit(3)
