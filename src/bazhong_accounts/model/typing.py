"""The grammar of every Table Schema type this package uses, column-wise (Arrow) and per cell, with
the message that tells a data editor how to fix a cell. `validate`, `load()`, `build`, `export`,
`diff` and `fmt` all type cells here, so a cell is valid everywhere or nowhere.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .problems import Report

if TYPE_CHECKING:
    from .table import Table

INTEGER_RE = r"^-?[0-9]{1,18}$"  # int64; longer numbers are not integers of this package
NUMBER_RE = r"^-?[0-9]+(\.[0-9]+)?$"  # a plain decimal: no sign +, exponent, separators or units


def parse_numbers(s: pd.Series, integer: bool) -> tuple[np.ndarray, pd.Series]:
    """(valid, values) of a text column: which cells are plain integers/decimals, and their
    values (Int64 / float64, missing where not valid). Arrow's cast, ten times pandas' speed."""
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
        return f'"{value}" has a percent sign; write the number only ({value.replace("%", "").strip()}): the column is in percent'
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


def _problem(field: dict, value: str) -> str:
    ftype = field.get("type", "string")
    if ftype in ("number", "integer"):
        return number_problem(value, ftype == "integer")
    if ftype == "boolean":
        tokens = field.get("trueValues", DEFAULT_TRUE)[:1] + field.get("falseValues", DEFAULT_FALSE)[:1]
        return f'"{value}" is not a boolean: write {" or ".join(tokens)}'
    if ftype == "date":
        return f'"{value}" is not a date: write YYYY-MM-DD'
    return f'"{value}" is not of type {ftype}'


def parse_types(t: Table, report: Report) -> None:
    """Type every column; report each cell whose text is not of its field's type."""
    for name, field in t.fields.items():
        s = t.text[name]
        missing = t.missing(name)
        ftype = field.get("type", "string")
        if ftype in ("integer", "number"):
            valid, typed = parse_numbers(s, ftype == "integer")
        elif ftype == "boolean":
            true, false = field.get("trueValues", DEFAULT_TRUE), field.get("falseValues", DEFAULT_FALSE)
            valid = s.isin(true + false).to_numpy(dtype=bool)
            typed = pd.Series(s.isin(true).to_numpy(), dtype="boolean").where(valid & ~missing)
        elif ftype == "date":
            dates = pd.to_datetime(s.where(~missing), format="%Y-%m-%d", errors="coerce")
            valid = (s.str.fullmatch(DATE) & dates.notna()).to_numpy(dtype=bool)
            typed = s.where(valid & ~missing)
        else:  # string (and types the package does not use): any text; empty cells are never looked at
            t.typed[name] = s
            t.bad[name] = np.zeros(len(s), dtype=bool)
            continue
        bad = ~valid & ~missing
        t.typed[name] = typed
        t.bad[name] = bad
        if bad.any():
            col_no = t.col_no(name)
            cache: dict[str, str] = {}
            cells = t.col(name)
            for i in np.flatnonzero(bad):
                value = cells[i]
                if value not in cache:
                    cache[value] = _problem(field, value)
                report.add(t.path, int(t.lines[i]), name, cache[value], col_no=col_no)
