"""The build's search index (site/fts.py): each distinct searched text once, with exactly the rows
of its table that hold it. Expected values come from the CSVs (csv module, record numbers), never
from the build."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import struct

import pytest
from site_support import ROOT, resources


def searched(schema) -> list[str]:
    return [f["name"] for f in schema["fields"] if f.get("role") in ("label", "text", "provenance")
            and f.get("type", "string") == "string"]


def expected_index() -> dict[tuple[str, str, str], list[int]]:
    """(resource, column, text) -> the record numbers (rowids) of the CSV rows holding it."""
    want: dict[tuple[str, str, str], list[int]] = {}
    for res in resources():
        cols = searched(res["schema"])
        with (ROOT / res["path"]).open(encoding="utf-8", newline="") as f:
            for n, row in enumerate(csv.DictReader(f), 1):
                for c in cols:
                    if row[c]:
                        want.setdefault((res["name"], c, row[c]), []).append(n)
    return want


def index_problems(conn: sqlite3.Connection, want: dict) -> list[str]:
    """Where the database's index and the tables differ (texts, rowids, counts, both encodings)."""
    out = []
    got = {}
    for resource, column, text, rows, first, rowids, blob in conn.execute(
            'select resource, "column", text, rows, first_rowid, rowids, rowids_i32 '
            "from search_fts_texts s left join search_fts_rowids r using (id)"):
        ids = json.loads(rowids) if rowids else []
        got[resource, column, text] = ids
        if rows != len(ids) or list(struct.unpack(f"<{len(ids)}i", blob)) != ids or first != ids[0]:
            out.append(f"{resource}.{column} {text!r}: counts or encodings disagree")
    out += [f"missing or wrong: {k}" for k in want if got.get(k) != want[k]]
    out += [f"not in the CSV: {k}" for k in got if k not in want]
    for resource, column, text in want:  # the rowids name the rows holding the text
        ids = got.get((resource, column, text)) or []
        where = f"rowid in ({','.join(map(str, ids))})"
        cells = conn.execute(f'select "{column}" from "{resource}" where {where}').fetchall()
        if any(c != text for (c,) in cells) or len(cells) != len(ids):
            out.append(f"{resource}.{column} {text!r}: rowids name other rows")
    return out


@pytest.fixture(scope="module")
def want():
    return expected_index()


def test_the_index_holds_every_searched_cell_once_with_its_rows(site_db, want):
    conn = sqlite3.connect(site_db)
    assert want and index_problems(conn, want) == []
    # the trigram index over the distinct texts finds what the CSV holds
    word = "财政拨款"
    income = next(r for r in resources() if r["name"] == "income")
    n = sum(1 for k, ids in want.items() if k[0] == "income" and word in k[2] for _ in ids)
    got = conn.execute("select sum(s.rows) from search_fts_texts s where s.id in "
                       "(select rowid from search_fts where search_fts match ?) and s.resource = 'income'",
                       (f'"{word}"',)).fetchone()[0]
    assert income and n and got == n


@pytest.mark.parametrize("break_it", [
    "update income set source_quote = source_quote || '改动过' where rowid = 1",
    "update search_fts_rowids set rowids = '[1]' where id = (select max(id) from search_fts_texts where rows > 1)",
    "update search_fts_rowids set rowids_i32 = x'ffff0000' where id = 6",
    "update search_fts_texts set rows = rows + 1 where id = 3",
    "update search_fts_texts set first_rowid = first_rowid + 1 where id = 4",
    "delete from search_fts_texts where id = 5",
])
def test_the_check_above_sees_a_broken_index(site_db, want, tmp_path, break_it):
    copy = tmp_path / "copy.db"
    shutil.copy(site_db, copy)
    conn = sqlite3.connect(copy)
    conn.execute(break_it)
    assert index_problems(conn, want)
