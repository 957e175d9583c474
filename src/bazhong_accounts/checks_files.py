"""Check (a): each CSV as bytes (missing, empty, binary, JSON, encoding, BOM, line endings, header
against the schema), then parse it once with pyarrow into a `Table` of strings.

A `Table` is what every later check reads: ``text`` (one ``str`` column per field, ``""`` for an
empty cell, in file order), ``lines`` (physical line where each row starts; a quoted newline
inside a cell makes it differ from row + 2), and the typed columns the structure check adds.
"""

from __future__ import annotations

import codecs
import csv
import io
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .paths import as_list
from .problems import Report

FMT_HINT = "run `bazhong-accounts fmt` to fix"


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
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.text)

    def type_of(self, col: str) -> str:
        return self.fields[col].get("type", "string")

    def col_no(self, col: str | None) -> int | None:
        return self.header.index(col) + 1 if col in self.header else None

    @property
    def key_field(self) -> str | None:
        """The primary-key field that names a row within its fiscal year and department."""
        rest = [k for k in self.pk if k not in ("fiscal_year", "department")]
        return rest[0] if rest else None

    def row_keys(self) -> pd.Series:
        """Row key as errata and derivations name it: the key fields after fiscal_year and
        department, joined by ':' when there are several (project_kpis: project_id:row_no)."""
        rest = [k for k in self.pk if k not in ("fiscal_year", "department")] or self.pk
        keys = self.text[rest[0]]
        for k in rest[1:]:
            keys = keys + ":" + self.text[k]
        return keys

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
    elif isinstance(c, pd.Series):
        c = pa.array(c.array) if isinstance(c.dtype, pd.StringDtype) else pa.array(c.to_numpy(dtype=object))
    elif not isinstance(c, pa.Array):
        c = pa.array(np.asarray(c, dtype=object))
    if isinstance(c, pa.ChunkedArray):
        c = c.combine_chunks()
    return c if c.type == pa.large_string() else c.cast(pa.large_string())


def join_keys(*cols) -> pa.Array:
    """Several key columns as one Arrow string per row, for hash lookups (index_in, is_in)."""
    return pc.binary_join_element_wise(*map(as_arrow, cols), pa.scalar("\x1f", pa.large_string()))


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


def _line_at(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def _encoding_problem(data: bytes) -> tuple[int, str] | None:
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as e:
        line = _line_at(data, e.start)
        msg = f"not UTF-8 (byte 0x{data[e.start]:02x} on line {line})"
        try:
            data.decode("gb18030")
            msg += ": the file looks like GBK/GB18030; save it as UTF-8"
        except UnicodeDecodeError:
            msg += "; save it as UTF-8"
        return line, msg


def _header_problems(rel: str, header: list[str], fields: list[str], schema_path: str,
                     report: Report) -> bool:
    """Report missing, extra, renamed, duplicated and reordered columns. True if the rows can
    still be read by name (only the order differs)."""
    missing = [f for f in fields if f not in header]
    extra = [h for h in header if h not in fields]
    dups = sorted({h for h in header if header.count(h) > 1})
    for i, h in enumerate(header):
        if h in extra:
            if i < len(fields) and fields[i] in missing:
                report.add(rel, 1, h, f"unknown column: `{fields[i]}` expected here (renamed?)", col_no=i + 1)
            else:
                report.add(rel, 1, h, f"unexpected column: not in {schema_path}", col_no=i + 1)
    renamed = {fields[i] for i, h in enumerate(header) if h in extra and i < len(fields)}
    for f in missing:
        if f not in renamed:
            report.add(rel, 1, f, f"column missing: {schema_path} lists it (after `{fields[fields.index(f) - 1]}`)"
                       if fields.index(f) else f"column missing: {schema_path} lists it first")
    for h in dups:
        report.add(rel, 1, h, "column appears more than once in the header", col_no=header.index(h) + 1)
    if missing or extra or dups:
        return False
    if header != fields:
        report.add(rel, 1, None, "columns are not in schema order (" + ",".join(fields) + "); " + FMT_HINT)
    return True


def _scan_with_csv(rel: str, data: bytes, ncols: int, report: Report) -> bool:
    """Slow path after pyarrow refused the file: find ragged rows with the csv module."""
    text = data.decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    start, found = 1, False
    try:
        for row in reader:
            if start > 1 and row and len(row) != ncols:
                report.add(rel, start, None, f"row has {len(row)} fields, the header has {ncols} (ragged row)")
                found = True
            start = reader.line_num + 1
    except csv.Error as e:
        report.add(rel, reader.line_num, None, f"not a valid CSV: {e}")
        found = True
    return found


def read_table(root: Path, name: str, rel: str, schema: dict, schema_path: str,
               report: Report) -> Table | None:
    """Pre-read checks on the bytes, then the parse. None when the rows cannot be read."""
    path = root / rel
    fields = [f["name"] for f in schema["fields"]]
    if not path.is_file():
        report.add(rel, message=f"file missing: resource `{name}` of datapackage.json points to it")
        return None
    data = path.read_bytes()
    blank_chars = b" \t\r\n" + codecs.BOM_UTF8
    if not data[:4096].strip(blank_chars) and not data.strip(blank_chars):
        report.add(rel, message=f"empty file: expected at least the header row ({','.join(fields[:3])},…)")
        return None
    if b"\x00" in data[:65536]:
        report.add(rel, message="binary file, not a CSV (it contains NUL bytes)")
        return None
    if data.startswith(codecs.BOM_UTF8):
        report.add(rel, 1, None, f"UTF-8 byte order mark (BOM) at the start of the file; {FMT_HINT}")
        data = data[len(codecs.BOM_UTF8):]
    first_nl = data.find(b"\n")
    head = data if first_nl < 0 else data[:first_nl]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        line, msg = _encoding_problem(data)
        report.add(rel, line, None, msg)
        return None
    if data[:4096].lstrip()[:1] in (b"{", b"["):
        report.add(rel, 1, None, "not a CSV file: it looks like JSON")
        return None
    cr = data.find(b"\r")
    if cr >= 0:
        report.add(rel, _line_at(data, cr), None, f"CRLF line endings (Windows); use LF only; {FMT_HINT}")
    header = next(csv.reader([head.decode("utf-8").rstrip("\r")]))
    if len(header) == 1 and len(fields) > 1 and header[0] not in fields:
        report.add(rel, 1, None, f"not a CSV file: the first line has no commas (expected the header {','.join(fields[:3])},…)")
        return None
    if not _header_problems(rel, header, fields, schema_path, report):
        return None

    try:
        tb = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=4 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:  # ragged rows, bad quoting, bad UTF-8: the slow path
        enc = _encoding_problem(data)
        if enc:
            report.add(rel, enc[0], None, enc[1])
        elif not _scan_with_csv(rel, data, len(header), report):
            report.add(rel, message=f"not a valid CSV: {e}")
        return None

    # physical line of each row: rows before it plus the newlines quoted inside their cells
    n = tb.num_rows
    extra = np.zeros(n, dtype=np.int64)
    if data.count(b"\n") > n + 1:  # some newlines are inside quoted cells
        for col in tb.columns:
            if pc.any(pc.match_substring(col, "\n")).as_py():
                extra += pc.count_substring(col, "\n").to_numpy(zero_copy_only=False).astype(np.int64)
    lines = 2 + np.arange(n, dtype=np.int64) + np.concatenate([[0], np.cumsum(extra)[:-1]]) if n else extra

    text = tb.to_pandas(split_blocks=True)
    # a blank line parses as a row of empty cells: only rows with an empty first cell (few: it is a
    # required field everywhere) need a look at the other cells
    blank = pc.equal(tb.column(0), "").to_numpy(zero_copy_only=False) if n else np.zeros(0, dtype=bool)
    for col in tb.columns[1:] if blank.any() else []:
        blank &= pc.equal(col, "").to_numpy(zero_copy_only=False)
    if blank.any():
        raw_lines = data.split(b"\n")
        for line in lines[blank]:
            what = "blank line" if not raw_lines[line - 1].strip(b"\r") else "every cell of this row is empty"
            report.add(rel, int(line), None, what)
        text = text[~blank].reset_index(drop=True)
        lines = lines[~blank]
    table = Table(name, rel, schema, header, text, lines, data)
    table.dropped = int(blank.sum())  # rows reported and left out (their file is not canonical either)
    return table
