"""Problems found by `bazhong-accounts validate`, and how they are printed.

One problem per line, ``path:line: column: message`` (path relative to the package directory,
line = physical CSV line, the header being line 1); line and column are left out when there is
none. Known errata are collected apart and printed as ``known: …``: a list, or (the SQL engines)
a sized iterable that reads them from the engine in output order, so that 500,000 of them at
N = 100,000 are never held at once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field


@dataclass
class Problem:
    path: str
    line: int | None = None
    column: str | None = None
    message: str = ""
    col_no: int | None = None  # 1-based position of the column, for GitHub annotations
    erratum: str | None = None  # erratum_id when the problem is a known erratum

    def __str__(self) -> str:
        return shown(self.path, self.line, self.column, self.message)

    def annotation(self, level: str = "error") -> str:
        props = [f"file={_prop(self.path)}"]
        if self.line:
            props.append(f"line={self.line}")
            if self.col_no:
                props.append(f"col={self.col_no}")
        text = f"{self.column}: {self.message}" if self.column else self.message
        if self.erratum:
            text = f"known erratum {self.erratum}: {text}"
        return f"::{level} {','.join(props)}::{_data(text)}"


def shown(path: str, line: int | None, column: str | None, message: str) -> str:
    """A problem's line of output: ``path:line: column: message`` (the SQL engines word their known
    errata with it directly, without a Problem each)."""
    where = path + (f":{line}" if line else "")
    return f"{where}: {column}: {message}" if column else f"{where}: {message}"


def known_message(message: str, erratum: str) -> str:
    """A break the errata record, worded with the erratum that records it (every engine)."""
    return f"{message} (erratum {erratum})"


def _data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    known: Collection[Problem] = field(default_factory=list)  # in output order unless a list
    cells: set = field(default_factory=set)  # (path, line, column) already reported

    def add(self, path, line=None, column=None, message="", *, col_no=None, dedupe=False) -> None:
        """Record a problem. With dedupe, skip it when the same cell already has one (pandera
        re-finding a cell the type check reported, say)."""
        line = int(line) if line is not None else None
        cell = (path, line, column)
        if dedupe and cell in self.cells:
            return
        self.cells.add(cell)
        self.problems.append(Problem(path, line, column, message, col_no))

    def add_known(self, problem: Problem) -> None:
        assert isinstance(self.known, list), "known errata streamed by an engine take no additions"
        self.known.append(problem)

    def sorted(self, order: dict[str, int]) -> list[Problem]:
        """Problems grouped by file (datapackage order), then by line; stable otherwise."""
        return sorted(self.problems, key=lambda p: (order.get(p.path, len(order)), p.path, p.line or 0))

    def sorted_known(self, order: dict[str, int]) -> Collection[Problem]:
        """Known errata by file, then line: a list sorted here, an engine's stream as it comes
        (sorted by the engine)."""
        if not isinstance(self.known, list):
            return self.known
        return sorted(self.known, key=lambda p: (order.get(p.path, 99), p.line or 0))
