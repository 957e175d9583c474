"""The grammar of every Table Schema type this package uses, column-wise (Arrow) and per cell, with
the message that tells a data editor how to fix a cell. `validate`, `load()`, `build`, `export`,
`diff` and `fmt` all type cells here, so a cell is valid everywhere or nowhere.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from .problems import Report

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .table import Table

INTEGER_RE = r"^-?[0-9]{1,18}$"  # int64; longer numbers are not integers of this package
NUMBER_RE = r"^-?[0-9]+(\.[0-9]+)?$"  # a plain decimal: no sign +, exponent, separators or units


def parse_numbers(s: pd.Series, integer: bool) -> tuple[np.ndarray, pd.Series]:
    """(valid, values) of a text column: which cells are plain integers/decimals, and their
    values (Int64 / float64, missing where not valid). Arrow's cast, ten times pandas' speed."""
    # imported here, not above: the build's processes use the per-cell grammar only (90 MB less each)
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s)
    valid = pc.match_substring_regex(arr, INTEGER_RE if integer else NUMBER_RE)
    kept = pc.if_else(valid, arr, pa.scalar(None, arr.type))
    if integer:
        values = pc.cast(kept, pa.int64()).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    else:
        values = pc.cast(kept, pa.float64()).to_pandas()
    return valid.to_numpy(zero_copy_only=False), pd.Series(values, index=s.index)


INTEGER = r"-?[0-9]+"
NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
FULL_WIDTH = re.compile("[\uff10-\uff19\uff0e\uff0c\uff0d\uff05\u3000]")
THOUSANDS = re.compile(r"-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")
WITH_UNIT = re.compile(r"(-?[0-9][0-9.,]*)\s*([^0-9.,\s%-].*)")
DEFAULT_TRUE = ["true", "True", "TRUE", "1"]
DEFAULT_FALSE = ["false", "False", "FALSE", "0"]


def number_problem(value: str, integer: bool = False) -> str:
    """Why `value` is not a plain decimal (or integer), in words a data editor can act on."""
    what = "an integer" if integer else "a number"
    if value != value.strip():
        return f'"{value}" has leading or trailing spaces; write {value.strip()}'
    if FULL_WIDTH.search(value):
        ascii_ = unicodedata.normalize("NFKC", value)
        return f'"{value}" has full-width characters; write it in ASCII digits: {ascii_}'
    if THOUSANDS.fullmatch(value):
        return f'"{value}" has a thousands separator; write {value.replace(",", "")}'
    if "%" in value:
        number = value.replace("%", "").strip()
        return f'"{value}" has a percent sign; write the number only ({number}): the column is in percent'
    if integer and re.fullmatch(INTEGER, value):
        return f'"{value}" is too large for an integer'
    if integer and re.fullmatch(NUMBER, value):
        return f'"{value}" is not an integer'
    if re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", value):
        return f'"{value}" is not a plain decimal; write it like 675.7 (no sign +, exponent or bare point)'
    m = WITH_UNIT.fullmatch(value)
    if m:
        return f'"{value}" has a unit ({m.group(2)}); write the number only ({m.group(1)}): the unit is in the schema'
    return f'"{value}" is not {what}'


def boolean_tokens(field: dict) -> tuple[list[str], list[str]]:
    """(true tokens, false tokens) of a boolean field: its own, else the Table Schema defaults."""
    return field.get("trueValues", DEFAULT_TRUE), field.get("falseValues", DEFAULT_FALSE)


def pattern_of(field: dict) -> str | None:
    """The field's `pattern` constraint, matched against the whole cell (Table Schema semantics)."""
    return field.get("constraints", {}).get("pattern") if field.get("type", "string") == "string" else None


def pattern_problem(pattern: str, value: str) -> str:
    return f'"{value}" does not match the pattern {pattern}'


def cell_problem(field: dict, value: str) -> str:
    """Why `value` (a non-missing cell) is not of the field's type, for a data editor."""
    ftype = field.get("type", "string")
    if ftype in ("number", "integer"):
        return number_problem(value, ftype == "integer")
    if ftype == "boolean":
        true, false = boolean_tokens(field)
        return f'"{value}" is not a boolean: write {" or ".join(true[:1] + false[:1])}'
    if ftype == "date":
        return f'"{value}" is not a date: write YYYY-MM-DD'
    pattern = pattern_of(field)
    if pattern:
        return pattern_problem(pattern, value)
    return f'"{value}" is not of type {ftype}'




# ---------------------------------------------------------------- per cell


class CellError(ValueError):
    """A cell whose text is not of its field's type; the message says how to fix it."""


_INTEGER_CELL = re.compile(INTEGER_RE[1:-1])  # fullmatch: Python's `$` would accept a trailing newline
_NUMBER_CELL = re.compile(NUMBER_RE[1:-1])
_DATE_CELL = re.compile(DATE)


def _is_date(text: str) -> bool:
    if not _DATE_CELL.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def cell_parser(field: dict, number: Callable[[str], object] = Decimal) -> Callable[[str], object]:
    """text -> value for one field, the same grammar as the column-wise `type_column`: int,
    Decimal (exact, as printed; `number=float` for SQLite's REAL), bool, str (a date stays its ISO
    text) or str. A cell that is not of the type raises CellError with the validator's message.
    Missing cells are the caller's."""
    ftype = field.get("type", "string")

    def fail(text: str):
        raise CellError(cell_problem(field, text))

    if ftype == "integer":
        return lambda text: int(text) if _INTEGER_CELL.fullmatch(text) else fail(text)
    if ftype == "number":
        return lambda text: number(text) if _NUMBER_CELL.fullmatch(text) else fail(text)
    if ftype == "boolean":
        true, false = boolean_tokens(field)
        tokens = {**{t: False for t in false}, **{t: True for t in true}}
        return lambda text: tokens[text] if text in tokens else fail(text)
    if ftype == "date":
        return lambda text: text if _is_date(text) else fail(text)
    pattern = pattern_of(field)
    if pattern:
        compiled = re.compile(pattern)
        return lambda text: text if compiled.fullmatch(text) else fail(text)
    return str


# ---------------------------------------------------------------- column-wise


def type_column(field: dict, s: pd.Series, missing: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """(typed values, bad cells) of one text column: Int64 / float64 for numbers (exact values:
    `Table.dec`), nullable boolean, the text for dates and strings. Missing cells are never bad.
    A string cell breaking its pattern is bad too."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    ftype = field.get("type", "string")
    if ftype in ("integer", "number"):
        valid, typed = parse_numbers(s, ftype == "integer")
    elif ftype == "boolean":
        true, false = boolean_tokens(field)
        valid = s.isin(true + false).to_numpy(dtype=bool)
        typed = pd.Series(s.isin(true).to_numpy(), dtype="boolean", index=s.index).where(valid & ~missing)
    elif ftype == "date":
        dates = pd.to_datetime(s.where(~missing), format="%Y-%m-%d", errors="coerce")
        valid = (s.str.fullmatch(DATE) & dates.notna()).to_numpy(dtype=bool)
        typed = s.where(valid & ~missing)
    elif pattern_of(field):
        arr = pa.array(s.to_numpy(dtype=object), pa.large_string())
        valid = pc.match_substring_regex(arr, f"^(?:{pattern_of(field)})$").to_numpy(zero_copy_only=False)
        typed = s
    else:  # any text; empty cells are never looked at
        return s, np.zeros(len(s), dtype=bool)
    return typed, ~np.asarray(valid, dtype=bool) & ~missing


def parse_types(t: Table, report: Report) -> None:
    """Type every column; report each cell whose text is not of its field's type."""
    for name, field in t.fields.items():
        typed, bad = type_column(field, t.text[name], t.missing(name))
        t.typed[name] = typed
        t.bad[name] = bad
        if bad.any():
            _report_bad_cells(t, name, field, bad, report)


def _report_bad_cells(t: Table, name: str, field: dict, bad: np.ndarray, report: Report) -> None:
    col_no = t.col_no(name)
    import numpy as np

    cache: dict[str, str] = {}
    cells = t.col(name)
    for i in np.flatnonzero(bad):
        value = cells[i]
        if value not in cache:
            cache[value] = cell_problem(field, value)
        report.add(t.path, int(t.lines[i]), name, cache[value], col_no=col_no)
