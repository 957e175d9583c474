"""The site's search index: each distinct searched text once, with the rows that hold it.

National data repeats its texts massively (科目 names, section names, source ids: at N = 1,000
department-years 51 million characters of searched cells hold 0.6 million distinct ones), so the
index keeps each distinct text of a searched column (model/roles.py searched()) once, in the table
`search_fts_texts`, with the rowids of the rows holding it; the FTS5 trigram table `search_fts`
indexes those texts only. A per-row index of every table (the build's former <table>_fts) was most
of a large build's time and half its database.

The rows are recorded while the CSV streams into SQLite (load_csv hands its records through
`Recorder.records`): a dictionary lookup per cell, no second pass over the table. Rowids are the
CSV's record numbers (the build inserts rows in file order into rowid tables).

search_fts_texts: id, resource, column, text (as published), norm (normalize(text): how the search
box compares), rows (how many rows hold it), first_rowid; search_fts_rowids, by the same id: rowids
(JSON array, ascending: json_each() in SQL) and rowids_i32 (the same as 32-bit little-endian
integers, which the search box reads). Apart, because a scan of the texts (the search box's start,
a LIKE over them) would otherwise read every text's rowids, gigabytes at N = 10,000.
Datasette hides both tables (its rule: names starting with an FTS table's name).
"""

from __future__ import annotations

import sqlite3
import sys
import unicodedata
from array import array
from collections.abc import Iterable, Iterator

from .sqlite import Table, q

FTS = "search_fts"
TEXTS = "search_fts_texts"
ROWIDS = "search_fts_rowids"  # apart: a scan of the texts then reads small records, not the rowids
PART_IDS = 1 << 32  # the text ids of the build's part i start at i * PART_IDS (copied in as they are)


def normalize(s: str) -> str:
    """Text without punctuation, symbols or spaces, case folded: how the query and the text compare."""
    return "".join(c for c in unicodedata.normalize("NFKC", s).casefold()
                   if unicodedata.category(c)[0] not in "PSZC")


def create_sql() -> list[str]:
    return [
        f"CREATE TABLE {q(TEXTS)} (id INTEGER PRIMARY KEY, resource TEXT NOT NULL, \"column\" TEXT NOT NULL, "
        "text TEXT NOT NULL, norm TEXT NOT NULL, rows INTEGER NOT NULL, first_rowid INTEGER NOT NULL)",
        f"CREATE TABLE {q(ROWIDS)} (id INTEGER PRIMARY KEY, rowids TEXT NOT NULL, rowids_i32 BLOB NOT NULL)",
        f"CREATE VIRTUAL TABLE {q(FTS)} USING fts5(text, content={q(TEXTS)}, content_rowid='id', tokenize='trigram')",
    ]


class Recorder:
    """Collects, per searched column of the table being loaded, each distinct text's rowids."""

    def __init__(self, conn: sqlite3.Connection, create: bool | str = True, part: int = 0):
        """`create`: the tables (True), the texts and rowids tables only ("texts": a part of the
        build), none. `part`: the build's part number (its text ids start at part * PART_IDS)."""
        self.conn = conn
        self.pending: tuple[Table, list[str], list[dict[str, array]]] | None = None
        self.next_id = part * PART_IDS + 1
        for sql in create_sql()[: {True: 3, "texts": 2}.get(create, 0)]:
            conn.execute(sql)

    def records(self, t: Table, records: Iterable[list[str]]) -> Iterator[list[str]]:
        """`records` passed on unchanged, the searched cells of each noted by its rowid."""
        names = t.field_names()
        columns = t.fts_columns()
        if not columns:
            yield from records
            return
        missing = set(t.schema.get("missingValues", [""])) - {""}
        found: list[dict[str, array]] = [{} for _ in columns]
        width = len(names)
        # (cell index, its texts' rowids) per searched column; get() rather than try/except: a
        # quarter less CPU per row (3.2 M rows at N = 10,000)
        searched = list(zip([names.index(c) for c in columns], found))
        for rowid, cells in enumerate(records, 1):
            if len(cells) == width:  # a short record: SQLite refuses it, load_csv names its line
                for i, by_text in searched:
                    text = cells[i]
                    if text and text not in missing:
                        rowids = by_text.get(text)
                        if rowids is None:
                            by_text[text] = array("i", [rowid])
                        else:
                            rowids.append(rowid)
            yield cells
        self.pending = (t, columns, found)

    def flush(self) -> None:
        """Write what `records` collected (after the load: not while its statement runs)."""
        if self.pending is None:
            return
        t, columns, found = self.pending
        self.pending = None
        texts = [(column, text, rowids) for column, by_text in zip(columns, found) for text, rowids in by_text.items()]
        ids = range(self.next_id, self.next_id + len(texts))
        self.next_id += len(texts)
        # generators, not lists: each text's rowids as JSON exist one at a time (at N = 10,000 the
        # lists were 130 MB more at the peak of a loading process)
        self.conn.executemany(f'INSERT INTO {q(TEXTS)} (id, resource, "column", text, norm, rows, first_rowid) '
                              "VALUES (?, ?, ?, ?, ?, ?, ?)",
                              ((i, t.name, column, text, normalize(text), len(rowids), rowids[0])
                               for i, (column, text, rowids) in zip(ids, texts)))
        self.conn.executemany(f"INSERT INTO {q(ROWIDS)} (id, rowids, rowids_i32) VALUES (?, ?, ?)",
                              ((i, "[" + ",".join(map(str, rowids)) + "]", _little_endian(rowids))
                               for i, (_, _, rowids) in zip(ids, texts)))

    def finish(self) -> None:
        """Index the distinct texts (trigram: what the canned full-text queries match)."""
        self.conn.execute(f"INSERT INTO {q(FTS)} (rowid, text) SELECT id, text FROM {q(TEXTS)}")
        # the canned searches read one table's texts per branch
        self.conn.execute(f"CREATE INDEX {q(TEXTS + '_resource')} ON {q(TEXTS)} (resource)")


def _little_endian(rowids: array) -> bytes:
    if sys.byteorder == "little":
        return rowids.tobytes()
    out = array("i", rowids)
    out.byteswap()
    return out.tobytes()


def rows_matching_sql(resource_param: str, match_param: str) -> str:
    """SQL for the rowids of one table's rows with a searched text matching an FTS5 query (trigram:
    3+ characters): what the table pages' ?_search= and the canned full-text queries use."""
    return (f"select j.value from {q(TEXTS)} s join {q(ROWIDS)} r on r.id = s.id, json_each(r.rowids) j "
            f"where s.resource = {resource_param} "
            f"and s.id in (select rowid from {q(FTS)} where {q(FTS)} match {match_param})")

