"""Reading the data package from Python, and the `list` / `show` commands.

    >>> import bazhong_accounts as ba
    >>> df = ba.load("expenditure_by_function")
    >>> df.loc[df.level == 1, "amount"].sum()       # exact: money is decimal.Decimal
    Decimal('2351.13')

Column types follow each resource's Table Schema (schemas/<name>.json):

    string   -> pandas "string" dtype (read as text first: codes keep leading zeros)
    integer  -> nullable "Int64"
    number   -> object column of exact `decimal.Decimal` values, written as printed
                ("675.70" stays Decimal('675.70')); a missing cell is None. Sums are exact.
    boolean  -> nullable "boolean"
    date     -> datetime64

pandas itself is imported only when a table is loaded, so `bazhong-accounts list` stays quick.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

from ..errors import fail
from ..model.descriptor import package_dir, read_descriptor, read_schema

# ---------------------------------------------------------------- descriptor and paths

def _root(root) -> Path:
    return Path(root) if root is not None else package_dir()


def _descriptor(root=None) -> dict:
    return read_descriptor(_root(root))


def names(root=None) -> list[str]:
    """Resource names, in datapackage.json order."""
    return [r["name"] for r in _descriptor(root)["resources"]]


def _resource(name: str, root=None) -> dict:
    for r in _descriptor(root)["resources"]:
        if r["name"] == name:
            return r
    raise KeyError(f"unknown resource {name!r}; valid names: {', '.join(names(root))}")


def path(name: str, root=None) -> Path:
    """pathlib.Path of the resource's CSV file. Unknown name -> KeyError listing the names."""
    return _root(root) / _resource(name, root)["path"]


def table_schema(name: str, root=None) -> dict:
    """The resource's Table Schema (schemas/<name>.json) as a dict."""
    return read_schema(_root(root), _resource(name, root))


def _count_rows(csv_path: Path) -> int | None:
    if not csv_path.is_file():
        return None
    with open(csv_path, encoding="utf-8", newline="") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)  # csv.reader: quoted newlines are one row


def _listing(root=None) -> list[tuple[str, str, int | None]]:
    base = _root(root)
    return [(r["name"], r.get("title", ""), _count_rows(base / r["path"]))
            for r in _descriptor(root)["resources"]]


def resources(root=None):
    """DataFrame with one row per resource: name, title, rows (data rows in its CSV)."""
    import pandas as pd

    df = pd.DataFrame(_listing(root), columns=["name", "title", "rows"])
    return df.astype({"name": "string", "title": "string", "rows": "Int64"})


def package(root=None):
    """frictionless.Package of the shipped datapackage.json."""
    from frictionless import Package

    return Package(str(_root(root) / "datapackage.json"))


# ---------------------------------------------------------------- load


class LoadError(ValueError):
    """The resource does not pass the checks `validate` runs on one table; the message has one
    ``path:line: column: message`` line per problem, as `validate` prints them."""

    def __init__(self, name: str, problems: list[str]):
        super().__init__("\n".join(problems))
        self.name, self.problems = name, problems

    def one_line(self) -> str:
        """The error in one line, for the command line."""
        n = len(self.problems)
        more = f" (and {n - 1} more: `bazhong-accounts validate DIR` lists all)" if n > 1 else ""
        return f"{self.name} does not load: {self.problems[0]}{more}"


def load(name: str, root=None, validate: bool = True):
    """The resource `name` as a pandas DataFrame typed per its Table Schema.

    Money and every other `number` column hold exact `decimal.Decimal` values (None when the
    cell is empty), so ``load("expenditure_by_function").query("level == 1").amount.sum()``
    is Decimal('2351.13') with no float noise. Codes are strings ("0201" stays "0201").

    The CSV is read by the validator's own reader and typed by the one typing module
    (`model.typing`), so a cell `validate` rejects is rejected here: LoadError (a ValueError)
    with one ``path:line: column: message`` line per problem. With `validate` (the default) the
    table's primary key, pandera constraints and frame-level checks (level fits code, derived
    rule, …) run too. `root` is a package directory (default: the shipped one).
    Unknown name -> KeyError listing the valid names.
    """
    from ..checks.files import read_table
    from ..model.problems import Report
    from ..model.typing import parse_types

    base = _root(root)
    resource = _resource(name, root)
    schema = read_schema(base, resource)
    schema_path = resource["schema"] if isinstance(resource["schema"], str) else "datapackage.json"
    report = Report()
    t = read_table(base, name, resource["path"], schema, schema_path, report)
    if t is not None:
        parse_types(t, report)
    if t is not None and validate and not report.problems:
        _table_checks(t, report)
    if report.problems or t is None:
        lines = [str(p) for p in report.sorted({})] or [f"{resource['path']}: cannot be read"]
        raise LoadError(name, lines)
    return t.frame()


def _table_checks(t, report) -> None:
    """What `validate` checks within one table: primary key, then the rules of the pandera schema
    (check_constraints: the same problems as pandera's, without its 0.4 s import)."""
    from ..checks.pandera_checks import check_constraints
    from ..checks.structure import check_primary_key

    check_primary_key(t, report)
    check_constraints(t, report)


# ---------------------------------------------------------------- terminal tables

def display_width(text: str) -> int:
    """Terminal columns: CJK (east-asian wide/fullwidth) characters take two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def _truncate(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out, used = "", 0
    for c in text:
        w = display_width(c)
        if used + w > width - 1:
            break
        out, used = out + c, used + w
    return out + "…"


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap


def format_table(header: list[str], rows: list[list[str]], right: set[int] | frozenset[int] = frozenset(),
                 max_width: int = 30) -> str:
    """Plain-text table aligned by display width, long cells cut with "…"."""
    cells = [[_truncate(str(c).replace("\n", " "), max_width) for c in r] for r in [header, *rows]]
    widths = [max(display_width(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(_pad(c, widths[i], i in right) for i, c in enumerate(r)).rstrip()
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value) -> str:
    import numpy as np
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def run_list(args) -> int:
    listing = _listing(args.dir)
    rows = [[n, "" if c is None else str(c), t] for n, t, c in listing]
    print(format_table(["name", "rows", "title"], rows, right={1}, max_width=60))
    return 0


def run_show(args) -> int:
    try:
        schema = table_schema(args.name, args.dir)
        df = load(args.name, args.dir)
    except KeyError as exc:
        fail(exc.args[0])
    except LoadError as exc:  # invalid CSV
        fail(exc.one_line())
    numeric = {i for i, f in enumerate(schema["fields"]) if f.get("type") in ("integer", "number")}
    rows = [[_cell(v) for v in r] for r in df.itertuples(index=False)]
    print(format_table(list(df.columns), rows, right=numeric))
    print(f"({len(df)} rows; cells longer than 30 columns cut with …; "
          f"full text: bazhong-accounts export {args.name})")
    return 0
