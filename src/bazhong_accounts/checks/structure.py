"""Check (b): what `frictionless validate` checks, done column-wise from the Table Schema: each
cell's text against its field type, primary keys and foreign keys. Column-wise with pandas and
Arrow instead of row by row, so a million rows take seconds; `validate --frictionless` also runs
frictionless itself as a cross-check.

Constraints (required, minimum, pattern, enum, …) are checked by the pandera schemas (check c).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import roles
from ..model.descriptor import as_list
from ..model.problems import Report
from ..model.table import Table, join_keys
from ..lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pyarrow.compute as pc
    import pandas as pd
else:  # imported when first used: the SQL engines read this module's rules and words only
    pd = lazy("pandas")
    np = lazy("numpy")
    pc = lazy("pyarrow.compute")


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


def check_foreign_keys(t: Table, tables: dict[str, Table], report: Report) -> None:
    """Rows whose foreign key names no row of the referenced resource. The keys that cannot be
    checked (a resource or a field not there) are said at the schema and left out (checks.package)."""
    for fk in t.schema.get("foreignKeys", []):
        fields = as_list(fk["fields"])
        ref = fk["reference"]
        rname = ref.get("resource") or t.name
        rfields = as_list(ref["fields"])
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


def check_roles(schema: dict, schema_path: str, report: Report) -> None:
    """Every field has a known `role` and the schema a `rowLabel` naming one of its fields: the
    site, the checks and load() read them (model.roles)."""
    for field, message in roles.problems(schema):
        report.add(schema_path, None, field, message)
