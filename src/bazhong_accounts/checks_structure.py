"""Check (b): what `frictionless validate` checks, done column-wise from the Table Schema: each
cell's text against its field type, primary keys and foreign keys. Column-wise with pandas and
Arrow instead of row by row, so a million rows take seconds; `validate --frictionless` also runs
frictionless itself as a cross-check.

Constraints (required, minimum, pattern, enum, …) are checked by the pandera schemas (check c).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from .checks_files import Table, join_keys, parse_numbers
from .paths import as_list
from .problems import Report

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


def _show(values) -> str:
    return ", ".join(str(v) for v in values)


def check_primary_key(t: Table, report: Report) -> None:
    if not t.pk:
        return
    ok = np.logical_and.reduce([t.usable(k) for k in t.pk])
    keys = pd.DataFrame({k: t.typed[k][ok].reset_index(drop=True) for k in t.pk})
    dup = keys.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    groups: dict[tuple, list[int]] = {}
    for r in np.flatnonzero(ok)[dup]:  # only the duplicated rows: few
        groups.setdefault(tuple(t.typed[k].iat[r] for k in t.pk), []).append(int(r))
    col = t.pk[-1]
    for rows in groups.values():
        values = [t.col(k)[rows[0]] for k in t.pk]
        lines = [int(t.lines[r]) for r in rows]
        for line in lines:
            others = ", ".join(str(x) for x in lines if x != line)
            report.add(t.path, line, col, f"duplicate primary key ({', '.join(t.pk)}) = ({_show(values)}); "
                       f"also on line {others}", col_no=t.col_no(col))


def _keys(t: Table, fields: list[str], rows: np.ndarray):
    """One string per row for the key fields, typed values written canonically (an integer field
    holding 07 matches 7), for Arrow hash lookups."""
    cols = []
    for f in fields:
        v = t.typed[f][rows]
        cols.append(v.astype("str") if t.type_of(f) in ("integer", "number") else v)
    return join_keys(*cols)


def check_foreign_keys(t: Table, tables: dict[str, Table], known: set[str], report: Report) -> None:
    for fk in t.schema.get("foreignKeys", []):
        fields = as_list(fk["fields"])
        ref = fk["reference"]
        rname = ref.get("resource") or t.name
        rfields = as_list(ref["fields"])
        if rname not in known:
            report.add(t.path, None, fields[-1], f"foreign key refers to `{rname}`, which is not a resource of datapackage.json")
            continue
        rt = tables.get(rname)
        if rt is None or any(f not in rt.typed for f in rfields):
            continue  # the referenced resource could not be read; its own problems are reported
        rows = np.logical_and.reduce([t.usable(f) for f in fields])
        if not rows.any():
            continue
        ref_rows = np.logical_and.reduce([rt.usable(f) for f in rfields])
        found = pc.is_in(_keys(t, fields, rows), value_set=_keys(rt, rfields, ref_rows)).to_numpy(zero_copy_only=False)
        if found.all():
            continue
        col = fields[-1]
        for r in np.flatnonzero(rows)[~found]:
            values = [t.col(f)[r] for f in fields]
            report.add(t.path, int(t.lines[r]), col,
                       f"unknown {rfields[-1]} {values[-1]}: no row of {rname} has ({', '.join(rfields)}) = "
                       f"({', '.join(values)})", col_no=t.col_no(col))
