"""Row number -> physical CSV line, whatever the engine, without a pass over every row in Python.

Most files have one line per row: line = rn + 2. A file with newlines quoted inside cells asks
the engine for the rows that hold some (few), and adds them up. A file whose newlines are still
not accounted for (blank lines, which the engines skip) is read once with the csv module, as the
pandas validator does, and its blank lines are reported.
"""

from __future__ import annotations

import bisect
import csv
from itertools import accumulate
from pathlib import Path

from ...model.problems import Report
from .definitions import q, view


class LineMap:
    def __init__(self, engine, resource: str, schema: dict, facts, path: Path, rel: str, report: Report):
        self.rows = engine.query(f"select count(*) from {view(resource)}")[0][0]
        self.quoted: list[int] = []  # rows holding quoted newlines, in order
        self.before: list[int] = []  # quoted newlines up to and including each of those rows
        self.full: list[int] | None = None
        expected = self.rows + int(facts.ends_with_newline)
        if facts.newlines == expected:
            return
        per_row = " + ".join(f"(length({q(h)}) - length(replace({q(h)}, chr(10), '')))" for h in facts.header)
        held = engine.query(f"select rn, n from (select rn, {per_row} as n from {view(resource)}) s "
                            f"where n > 0 order by rn")
        if facts.newlines == expected + sum(n for _, n in held):
            self.quoted = [rn for rn, _ in held]
            self.before = list(accumulate(n for _, n in held))
            return
        self.full = _scan(path, rel, report)

    def line(self, rn: int) -> int:
        if self.full is not None:
            return self.full[rn] if rn < len(self.full) else rn + 2
        i = bisect.bisect_left(self.quoted, rn)  # rows strictly before rn holding newlines
        return rn + 2 + (self.before[i - 1] if i else 0)

    def of(self, rns) -> list[int]:
        return [self.line(int(rn)) for rn in rns]


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
