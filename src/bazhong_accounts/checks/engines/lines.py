"""Row number -> physical CSV line, whatever the engine, without a pass over every row in Python.

Most files have one line per row: line = rn + 2. For files with newlines quoted inside cells the
load counted them per row (column NEWLINES of definitions.py, so the file is not read again), and
the engine keeps the running count of the rows that hold some (table nl_<name>): the line of a
failing row is looked up there (DuckDB: an ASOF join; another engine: the running counts fetched
once), so Python holds the lines of the failing rows only, not a map that grows with the file. A
file whose newlines are still not accounted for (blank lines, which the engines skip) is read once
with the csv module, as the pandas validator does, and its blank lines are reported.
"""

from __future__ import annotations

import bisect
import csv
from pathlib import Path

from ...model.problems import Report
from .definitions import NEWLINES, q, view


class LineMap:
    def __init__(self, rows: int, engine=None, table: str | None = None, full: list[int] | None = None):
        self.rows = rows
        self.engine, self.table = engine, table  # table: the running counts, when rows span lines
        self.full = full
        self._held: tuple[list, list] | None = None  # the running counts fetched (engines without a lookup)

    def of(self, rns) -> list[int]:
        rns = [int(rn) for rn in rns]
        if self.full is not None:
            return [self.full[rn] if rn < len(self.full) else rn + 2 for rn in rns]
        if self.table is None or not rns:
            return [rn + 2 for rn in rns]
        lookup = getattr(self.engine, "lines_of", None)
        if lookup is not None:
            return lookup(self.table, rns)
        return [rn + 2 + self._before(rn) for rn in rns]

    def _before(self, rn: int) -> int:
        """Newlines quoted in the rows before rn (bisect over the running counts)."""
        if self._held is None:
            held = sorted(self.engine.query(f"select rn, cum from {q(self.table)}"))
            self._held = ([r for r, _ in held], [c for _, c in held])
        starts, cums = self._held
        i = bisect.bisect_left(starts, rn)  # rows strictly before rn holding newlines
        return cums[i - 1] if i else 0


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
