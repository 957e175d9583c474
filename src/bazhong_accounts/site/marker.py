"""Which SQLite databases this package built: the build stamps SQLite's own `application_id`
header field (offset 68, meant for exactly this: "utilities such as file(1) can determine the
specific file type"), and the Datasette plugin acts only on databases that carry it. No database
names to keep in step, and the stamp survives copying or renaming the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# "BZAC" as a big-endian 32-bit integer
APPLICATION_ID = int.from_bytes(b"BZAC", "big")


def mark(conn: sqlite3.Connection) -> None:
    """Stamp the database of `conn` as built by bazhong-accounts."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def is_ours(conn: sqlite3.Connection) -> bool:
    """True when the main database of `conn` carries the stamp (False for :memory: and others)."""
    try:
        return conn.execute("PRAGMA main.application_id").fetchone()[0] == APPLICATION_ID
    except sqlite3.Error:
        return False


def file_is_ours(path: str | Path) -> bool:
    """The same test on a file, opened read-only (it is never created or changed)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return is_ours(conn)
    finally:
        conn.close()
