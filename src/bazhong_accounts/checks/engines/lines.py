"""Row number -> physical CSV line, whatever the engine, without a pass over every row in Python.

Most files have one line per row: line = rn + 2. For files with newlines quoted inside cells the
engine lists the rows that hold some (few; one query for all files, which reads every column of
those files again: the load kept only some), and they are added up. A
file whose newlines are still not accounted for (blank lines, which the engines skip) is read
once with the csv module, as the pandas validator does, and its blank lines are reported.
"""

from __future__ import annotations

import bisect
import csv
from itertools import accumulate
from pathlib import Path

from ...model.problems import Report
from .definitions import lit, newlines_in_row, view


class LineMap:
    def __init__(self, rows: int, held: list[tuple[int, int]] | None = None, full: list[int] | None = None):
        self.rows = rows
        held = sorted(held or [])
        self.quoted = [rn for rn, _ in held]  # rows holding quoted newlines, in order
        self.before = list(accumulate(n for _, n in held))  # newlines up to and including each
        self.full = full

    def line(self, rn: int) -> int:
        if self.full is not None:
            return self.full[rn] if rn < len(self.full) else rn + 2
        i = bisect.bisect_left(self.quoted, rn)  # rows strictly before rn holding newlines
        return rn + 2 + (self.before[i - 1] if i else 0)

    def of(self, rns) -> list[int]:
        return [self.line(int(rn)) for rn in rns]


def _newlines_per_row(resource: str, header: list[str]) -> str:
    return (f"select {lit(resource)} as res, rn, n from (select rn, {newlines_in_row(header)} as n "
            f"from {view(resource)} t) s where n > 0")


def line_maps(engine, files: dict, report: Report) -> dict[str, LineMap]:
    """files: name -> (facts, rows, path, rel)."""
    maps, odd = {}, {}
    for name, (facts, rows, _path, _rel) in files.items():
        expected = rows + int(facts.ends_with_newline)
        if facts.newlines == expected:
            maps[name] = LineMap(rows)
        else:
            odd[name] = expected
    if not odd:
        return maps
    held: dict[str, list] = {n: [] for n in odd}
    for name in odd:  # the load kept only some columns: the newlines can be in any
        facts, _rows, path, _rel = files[name]
        engine.load_full(name, path, facts.header)
    sql = " union all ".join(_newlines_per_row(n, files[n][0].header) for n in odd)
    for res, rn, n in engine.query(sql):
        held[res].append((rn, n))
    for name, expected in odd.items():
        facts, rows, path, rel = files[name]
        if facts.newlines == expected + sum(n for _, n in held[name]):
            maps[name] = LineMap(rows, held[name])
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
