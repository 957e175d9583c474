"""Check (a): each CSV as bytes (missing, empty, binary, JSON, encoding, BOM, line endings, header
against the schema), then parse it once with pyarrow into a `Table` of strings.

A `Table` is what every later check reads: ``text`` (one ``str`` column per field, ``""`` for an
empty cell, in file order), ``lines`` (physical line where each row starts; a quoted newline
inside a cell makes it differ from row + 2), and the typed columns the structure check adds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import codecs
import csv
import io
from pathlib import Path

from ..model.problems import Report
from ..model.table import Table
from ..lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pandas as pd
else:  # imported when first used: the SQL engines read this module's rules and words only
    pd = lazy("pandas")
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")
    pacsv = lazy("pyarrow.csv")

FMT_HINT = "run `bazhong-accounts fmt` to fix"


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
    fields = [f["name"] for f in schema["fields"]]
    data = _read_bytes(root / rel, name, rel, fields, report)
    if data is None:
        return None
    header = _read_header(rel, data, fields, schema_path, report)
    if header is None:
        return None
    tb = _parse(rel, data, header, report)
    if tb is None:
        return None
    lines = _row_lines(tb, data)
    text, lines, dropped = _drop_blank_rows(rel, tb, data, lines, report)
    table = Table(name, rel, schema, header, text, lines, data)
    table.dropped = dropped  # rows reported and left out (their file is not canonical either)
    return table


def _read_bytes(path: Path, name: str, rel: str, fields: list[str], report: Report) -> bytes | None:
    """The file's bytes without a BOM (reported); None when it is missing, empty or binary."""
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
    return data


def _read_header(rel: str, data: bytes, fields: list[str], schema_path: str, report: Report) -> list[str] | None:
    """The header row, checked against the schema (and the file against JSON, encoding and CRLF);
    None when the rows cannot be read by name."""
    first_nl = data.find(b"\n")
    head = data if first_nl < 0 else data[:first_nl]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        problem = _encoding_problem(data)
        if problem:  # always: the header is not UTF-8
            report.add(rel, problem[0], None, problem[1])
        return None
    if data[:4096].lstrip()[:1] in (b"{", b"["):
        report.add(rel, 1, None, "not a CSV file: it looks like JSON")
        return None
    cr = data.find(b"\r")
    if cr >= 0:
        report.add(rel, _line_at(data, cr), None, f"CRLF line endings (Windows); use LF only; {FMT_HINT}")
    header = next(csv.reader([head.decode("utf-8").rstrip("\r")]))
    if len(header) == 1 and len(fields) > 1 and header[0] not in fields:
        report.add(rel, 1, None, "not a CSV file: the first line has no commas "
                   f"(expected the header {','.join(fields[:3])},…)")
        return None
    if not _header_problems(rel, header, fields, schema_path, report):
        return None
    return header


def _parse(rel: str, data: bytes, header: list[str], report: Report) -> pa.Table | None:
    """Every cell as a string, by pyarrow; None (problems reported) when the CSV is broken."""
    try:
        return pacsv.read_csv(
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


def _row_lines(tb: pa.Table, data: bytes) -> np.ndarray:
    """Physical line of each row: rows before it plus the newlines quoted inside their cells."""
    n = tb.num_rows
    extra = np.zeros(n, dtype=np.int64)
    if data.count(b"\n") > n + 1:  # some newlines are inside quoted cells
        for col in tb.columns:
            if pc.any(pc.match_substring(col, "\n")).as_py():
                extra += pc.count_substring(col, "\n").to_numpy(zero_copy_only=False).astype(np.int64)
    return 2 + np.arange(n, dtype=np.int64) + np.concatenate([[0], np.cumsum(extra)[:-1]]) if n else extra


def _drop_blank_rows(rel: str, tb: pa.Table, data: bytes, lines: np.ndarray,
                     report: Report) -> tuple[pd.DataFrame, np.ndarray, int]:
    """(text, lines, rows dropped): blank lines and rows of empty cells reported and left out."""
    n = tb.num_rows
    text = tb.to_pandas(split_blocks=True)
    # a blank line parses as a row of empty cells: only rows with an empty first cell (few: it is a
    # required field everywhere) need a look at the other cells
    blank = pc.equal(tb.column(0), "").to_numpy(zero_copy_only=False) if n else np.zeros(0, dtype=bool)
    for col in tb.columns[1:] if blank.any() else []:
        blank &= pc.equal(col, "").to_numpy(zero_copy_only=False)
    if not blank.any():
        return text, lines, 0
    raw_lines = data.split(b"\n")
    for line in lines[blank]:
        what = "blank line" if not raw_lines[line - 1].strip(b"\r") else "every cell of this row is empty"
        report.add(rel, int(line), None, what)
    return text[~blank].reset_index(drop=True), lines[~blank], int(blank.sum())
