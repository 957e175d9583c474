"""A resource read from its CSV: the text of every cell, the line where each row starts, and the
typed columns `model.typing` adds. Every check, `load()` and the site build read this one object.

A `Table` holds ``text`` (one ``str`` column per field, ``""`` for an empty cell, in file order),
``lines`` (physical line where each row starts; a quoted newline inside a cell makes it differ
from row + 2), and after typing ``typed`` and ``bad`` (cells whose text is not of the type).
"""

from __future__ import annotations

import array
import itertools
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import roles
from .descriptor import as_list
from .typing import NUMBER_RE
from ..lazy import imported, lazy

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pandas as pd
else:  # imported when first used: the SQL engines read this module's rules and words only
    pd = lazy("pandas")
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")


class Table:
    """One resource read from its CSV: text cells, line numbers and, after the structure check,
    typed columns and the cells whose text is not of the field's type."""

    def __init__(self, name: str, path: str, schema: dict, header: list[str], text: pd.DataFrame,
                 lines: np.ndarray, raw: bytes):
        self.name, self.path, self.schema, self.header = name, path, schema, header
        self.text, self.lines, self.raw = text, lines, raw
        self.fields = {f["name"]: f for f in schema["fields"]}
        self.pk = as_list(schema.get("primaryKey"))
        self.missing_values = schema.get("missingValues", [""])
        self.typed: dict[str, pd.Series] = {}
        self.bad: dict[str, np.ndarray] = {}  # cell is not of the field's type (already reported)
        self._missing: dict[str, np.ndarray] = {}
        self._dec: dict[str, np.ndarray] = {}
        self._col: dict[str, np.ndarray] = {}
        self._usable: dict[str, np.ndarray] = {}
        self._codes: dict[str, tuple] = {}
        self._arrow: dict[str, pa.Array] = {}
        self.cache: dict[str, Any] = {}  # lookups the checks build once per table (row index)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.text)

    def type_of(self, col: str) -> str:
        return self.fields[col].get("type", "string")

    def col_no(self, col: str | None) -> int | None:
        return self.header.index(col) + 1 if col in self.header else None

    def row_key_fields(self) -> list[str]:
        """The key fields naming a row within its department-year (model.roles)."""
        return roles.row_key_fields(self.schema)

    def row_keys(self) -> pd.Series:
        """Each row's key as errata, figure sources and search hits name it (roles.row_key): the
        key fields without the scope, joined by "|" when there are several (`cloud|7`)."""
        fields = self.row_key_fields()
        keys = self.text[fields[0]]
        for k in fields[1:]:
            keys = keys + roles.ROW_KEY_SEPARATOR + self.text[k]
        return keys

    def row_key(self, row: int | np.integer) -> str:
        """Row `row`'s key as text (see row_keys)."""
        return roles.ROW_KEY_SEPARATOR.join(self.col(k)[row] for k in self.row_key_fields())

    def scope(self) -> list[str]:
        """The department-year fields (role scope)."""
        return roles.scope(self.schema)

    def frame(self) -> pd.DataFrame:
        """The typed table `load()` returns: string -> "string" (missing = <NA>), integer -> Int64,
        number -> exact Decimal (None when missing), boolean -> boolean, date -> datetime64."""
        out = {}
        for name in self.fields:
            ftype = self.type_of(name)
            if ftype == "number":
                out[name] = pd.Series(self.dec(name), dtype=object)
            elif ftype == "date":
                out[name] = pd.to_datetime(self.typed[name], format="%Y-%m-%d")
            elif ftype in ("integer", "boolean"):
                out[name] = self.typed[name].reset_index(drop=True)
            else:
                out[name] = self.text[name].where(~self.missing(name)).astype("string")
        return pd.DataFrame(out)

    def col(self, name: str) -> np.ndarray:
        """A text column as a numpy array of str, for reading cells one by one (pandas .iat on
        Arrow strings costs ~20 µs a cell)."""
        if name not in self._col:
            self._col[name] = self.text[name].to_numpy(dtype=object)
        return self._col[name]

    def arrow(self, name: str) -> pa.Array:
        """A text column as one Arrow large_string array (no Python objects)."""
        if name not in self._arrow:
            self._arrow[name] = as_arrow(self.text[name])
        return self._arrow[name]

    def eq(self, name: str, value: str) -> np.ndarray:
        """Cells equal to `value`, as a numpy bool array (Arrow kernel, no Python loop)."""
        return pc.equal(self.arrow(name), value).to_numpy(zero_copy_only=False)

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(code of each cell, distinct texts): a column factorized once, for work per distinct value."""
        if name not in self._codes:
            codes, uniques = pd.factorize(self.text[name])
            self._codes[name] = (codes.astype(np.int64), np.asarray(uniques, dtype=object))
        return self._codes[name]

    def missing(self, col: str) -> np.ndarray:
        if col not in self._missing:
            s = self.text[col]
            missing = s == "" if self.missing_values == [""] else s.isin(self.missing_values)
            self._missing[col] = missing.to_numpy(dtype=bool)
        return self._missing[col]

    def usable(self, col: str) -> np.ndarray:
        """Cells with a value of the right type (once the structure check has typed the column)."""
        if col not in self._usable:
            ok = ~self.missing(col) & ~self.bad.get(col, np.zeros(len(self), bool))
            if col not in self.bad:
                return ok
            self._usable[col] = ok
        return self._usable[col]

    def dec(self, col: str) -> np.ndarray:
        """Exact values of a numeric column: Decimal, or None for empty and bad cells."""
        if col not in self._dec:
            s = self.text[col].where(self.usable(col), None)
            codes, uniques = pd.factorize(s)
            values = np.array([Decimal(u) for u in uniques] + [None], dtype=object)
            self._dec[col] = values[codes]  # code -1 (missing) picks the trailing None
        return self._dec[col]


def scaled_integers(s: pd.Series, ok: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Exact values of a decimal column as int64 times 10**scale (scale = most decimals in the
    column), 0 where not ok; None when that could overflow (then use Decimal)."""
    arr = as_arrow(s)
    # cells that are not decimals (empty, bad: masked by `ok`) read as 0
    arr = pc.if_else(pc.match_substring_regex(arr, NUMBER_RE), arr, pa.scalar("0", pa.large_string()))
    m = pc.extract_regex(arr, r"^(?P<sign>-?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?$")
    ints, fracs = m.field("int"), pc.fill_null(m.field("frac"), "")
    scale = pc.max(pc.utf8_length(fracs)).as_py() or 0
    digits = pc.max(pc.utf8_length(ints)).as_py() or 0
    if digits + scale > 17:
        return None
    value = pc.cast(ints, pa.int64()).to_numpy(zero_copy_only=False) * 10 ** scale
    if scale:
        value += pc.cast(pc.utf8_rpad(fracs, scale, "0"), pa.int64()).to_numpy(zero_copy_only=False)
    negative = pc.equal(pc.fill_null(m.field("sign"), ""), "-").to_numpy(zero_copy_only=False)
    return np.where(ok, np.where(negative, -value, value), 0), scale


def as_arrow(c) -> pa.Array:
    """A text column (pandas Series, Arrow array, list) as an Arrow large_string array; Arrow and
    Arrow-backed pandas columns are not copied through Python objects."""
    if isinstance(c, pa.ChunkedArray):
        c = c.combine_chunks()
    elif imported("pandas") and isinstance(c, pd.Series):
        c = pa.array(c.array) if isinstance(c.dtype, pd.StringDtype) else pa.array(c.to_numpy(dtype=object))
    elif isinstance(c, (list, tuple)) and all(isinstance(v, str) for v in c):
        c = _strings(c)
    elif not isinstance(c, pa.Array):
        c = pa.array(np.asarray(c, dtype=object))
    if isinstance(c, pa.ChunkedArray):
        c = c.combine_chunks()
    return c if c.type == pa.large_string() else c.cast(pa.large_string())


def _strings(values: list[str] | tuple[str, ...]) -> pa.Array:
    """Python strings as an Arrow large_string array, built from its two buffers: pa.array() asks
    pandas whether a list is one of its objects, and so imports it (0.3 s) on a path that never
    needs it (`validate --engine duckdb`, tests/checks/test_engines_imports.py)."""
    data = [v.encode() for v in values]
    offsets = array.array("q", [0])
    offsets.extend(itertools.accumulate(map(len, data)))
    return pa.LargeStringArray.from_buffers(len(data), pa.py_buffer(offsets), pa.py_buffer(b"".join(data)))


def join_keys(*cols) -> pa.Array:
    """Several key columns as one Arrow string per row, for hash lookups (index_in, is_in)."""
    return pc.binary_join_element_wise(*map(as_arrow, cols), pa.scalar("\x1f", pa.large_string()))
