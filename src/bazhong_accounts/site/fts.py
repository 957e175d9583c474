"""The site's full-text search tables (FTS5, trigram), built on every core.

Tokenizing the searched columns is most of a large build (at N = 10,000 department-years, millions
of quotes), and one SQLite connection uses one core. So each table's index is built by its own
thread into its own temporary database, reading the committed tables of the site database
(SQLite releases Python's GIL while it works), and then copied in: an FTS5 index is its shadow
tables (<name>_data, _idx, _docsize, _config), the same for a contentless table as for the
external-content table <table>_fts that Datasette searches (content="<table>", rowid = rowid).
"""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .sqlite import Table, q

# A 64 MB term buffer instead of FTS5's 1 MB: fewer, larger segments to merge (a quarter less CPU
# and a quarter smaller index at N = 1,000); memory stays bounded (one buffer per thread).
HASH_BYTES = 64 << 20
SHADOWS = ("data", "idx", "docsize", "config")


def fts_name(t: Table) -> str:
    return t.name + "_fts"


def create_sql(t: Table, contentless: bool = False) -> str:
    content = "''" if contentless else q(t.name)
    name = "x" if contentless else fts_name(t)
    return (f"CREATE VIRTUAL TABLE {q(name)} USING fts5({', '.join(map(q, t.fts_columns()))}, "
            f"content={content}, tokenize='trigram')")


def build_search_tables(db: Path, tables: list[Table], workers: int | None = None) -> None:
    """Create <table>_fts for each table with searched columns and fill its index. `db` holds the
    tables, committed, and nothing else writes to it meanwhile."""
    tables = [t for t in tables if t.fts_columns()]
    if not tables:
        return
    workers = workers or min(len(tables), os.cpu_count() or 1)
    parts = {t.name: db.with_name(f"{db.name}.fts-{t.name}") for t in tables}
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(_index_into, db, t, parts[t.name]) for t in tables]:
                future.result()  # re-raises a worker's error here
        _copy_in(db, tables, parts)
    finally:
        for p in parts.values():
            p.unlink(missing_ok=True)


def _index_into(db: Path, t: Table, part: Path) -> None:
    """The index of `t` as the contentless table `x` of a new database file `part`."""
    part.unlink(missing_ok=True)
    conn = sqlite3.connect(part)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("ATTACH ? AS site", (str(db),))  # only read
        conn.execute(create_sql(t, contentless=True))
        conn.execute(f"INSERT INTO x(x, rank) VALUES ('hashsize', {HASH_BYTES})")
        cols = ", ".join(map(q, t.fts_columns()))
        conn.execute(f"INSERT INTO x(rowid, {cols}) SELECT rowid, {cols} FROM site.{q(t.name)} ORDER BY rowid")
        conn.commit()
    finally:
        conn.close()


def _copy_in(db: Path, tables: list[Table], parts: dict[str, Path]) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        with conn:
            for t in tables:
                conn.execute(create_sql(t))
                conn.execute("ATTACH ? AS part", (str(parts[t.name]),))
                for shadow in SHADOWS:
                    target = q(f"{fts_name(t)}_{shadow}")
                    conn.execute(f"DELETE FROM main.{target}")
                    conn.execute(f"INSERT INTO main.{target} SELECT * FROM part.{q('x_' + shadow)}")
                conn.commit()
                conn.execute("DETACH part")
    finally:
        conn.close()
