"""Row number -> physical CSV line, whatever the engine, without a pass over every row in Python.

Most files have one line per row: line = rn + 2. For files with newlines quoted inside cells the
byte pass found the rows holding some and their running count (bytes.FileFacts.newline_rows, two
arrays: one entry per such row, not per row of the file), looked up by bisection. Where it could
not (quotes that do not pair up), the load counted them per row (column NEWLINES of
definitions.py, so the file is not read again), and the engine keeps the running count of the
rows that hold some (table nl_<name>): the line of a failing row is looked up there (DuckDB: an
ASOF join; another engine: the running counts fetched once), so Python holds the lines of the
failing rows only. A file whose newlines are still not accounted for (blank lines, which the
engines skip) is read once with the csv module, as the pandas validator does, and its blank
lines are reported.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ...model.problems import Report
from .definitions import NEWLINES, q, view


class LineMap:
    def __init__(self, rows: int, engine=None, table: str | None = None, full: list[int] | None = None,
                 held: tuple | None = None):
        self.rows = rows
        self.engine, self.table = engine, table  # table: the running counts, when rows span lines
        self.full = full
        # the running counts: (rows holding newlines, newlines up to each), sorted arrays, from the
        # byte pass or fetched from `table` (engines without a lookup)
        self._held = held

    def of(self, rns) -> list[int]:
        rns = [int(rn) for rn in rns]
        if self.full is not None:
            return [self.full[rn] if rn < len(self.full) else rn + 2 for rn in rns]
        if (self.table is None and self._held is None) or not rns:
            return [rn + 2 for rn in rns]
        lookup = getattr(self.engine, "lines_of", None)
        if self._held is None and lookup is not None:
            return lookup(self.table, rns)
        return [rn + 2 + before for rn, before in zip(rns, self._before(rns))]

    def _before(self, rns: list[int]) -> list[int]:
        """Newlines quoted in the rows before each rn (bisection of the running counts)."""
        import numpy as np

        if self._held is None:
            held = sorted(self.engine.query(f"select rn, cum from {q(self.table)}"))
            self._held = (np.array([r for r, _ in held], np.int64), np.array([c for _, c in held], np.int64))
        starts, cums = self._held
        i = np.searchsorted(starts, np.array(rns, np.int64), side="left")  # rows strictly before rn holding newlines
        return np.concatenate(([0], cums))[i].tolist()


def running_counts(resource: str) -> str:
    """SQL: each row holding quoted newlines with the newlines up to and including it."""
    return (f"select rn, sum({q(NEWLINES)}) over (order by rn rows between unbounded preceding and current row) "
            f"as cum from {view(resource)} where {q(NEWLINES)} > 0")


def line_maps(engine, files: dict, report: Report) -> dict[str, LineMap]:
    """files: name -> (facts, rows, quoted newlines, path, rel)."""
    maps = {}
    for name, (facts, rows, quoted, path, rel) in files.items():
        expected = rows + int(facts.ends_with_newline)
        if facts.newlines == expected:
            maps[name] = LineMap(rows)
        elif facts.newlines == expected + quoted and facts.newline_rows is not None:
            maps[name] = LineMap(rows, held=facts.newline_rows)
        elif facts.newlines == expected + quoted:
            table = "nl_" + name
            engine.materialize(table, running_counts(name))
            maps[name] = LineMap(rows, engine, table)
        else:
            maps[name] = LineMap(rows, full=_scan(path, rel, report))
    return maps


def _scan(path: Path, rel: str, report: Report) -> list[int]:
    """Line of each row the engines keep (blank lines skipped and reported), by the csv module."""
    starts = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        start = reader.line_num + 1
        for row in reader:
            if not row:
                report.add(rel, start, None, "blank line")
            else:
                starts.append(start)
            start = reader.line_num + 1
    return starts
