"""`bazhong-accounts export NAME --format csv|json|parquet|xlsx [--out FILE] [--excel]`.

Every format keeps the Chinese text and the exact figures:

- csv: the package's canonical CSV (UTF-8, no BOM); `--excel` prepends a UTF-8 BOM so Excel
  detects the encoding.
- json: an array of objects, UTF-8 (ensure_ascii=False); numbers are JSON numbers written from
  the decimal text ("2351.13", never 2351.1299999), dates "YYYY-MM-DD", empty cells null.
- parquet (pyarrow): money and other `number` columns as decimal128 with the column's largest
  scale; integers int64, booleans bool, dates date32; field titles/descriptions as metadata.
- xlsx (openpyxl): sheet NAME with numbers as numbers, each formatted with its printed
  decimals, plus a sheet "fields" with each column's type, title and description.

Without --out, csv and json go to standard output; parquet and xlsx to NAME.parquet / NAME.xlsx
in the current directory.
"""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from ..errors import fail
from .api import LoadError, load, path, table_schema

BOM = "\ufeff".encode("utf-8")


def _python_rows(df, schema: dict) -> list[list]:
    """Rows as plain Python values: str, int, Decimal, bool, date or None."""
    import pandas as pd

    types = [f.get("type", "string") for f in schema["fields"]]
    rows = []
    for record in df.itertuples(index=False):
        row: list = []
        for value, ftype in zip(record, types, strict=False):
            if value is None or (not isinstance(value, Decimal) and pd.isna(value)):
                row.append(None)
            elif ftype == "integer":
                row.append(int(value))
            elif ftype == "boolean":
                row.append(bool(value))
            elif ftype == "date":
                row.append(value.date())
            else:
                row.append(value)  # str or Decimal
        rows.append(row)
    return rows


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0  # NaN/Infinity: no decimals


def _json_value(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return "null"  # JSON has no NaN/Infinity
        return str(value)  # the decimal text itself: exact, no float round trip
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def to_json(df, schema: dict) -> bytes:
    names = [json.dumps(f["name"], ensure_ascii=False) for f in schema["fields"]]
    objects = ["{" + ", ".join(f"{n}: {_json_value(v)}" for n, v in zip(names, row, strict=False)) + "}"
               for row in _python_rows(df, schema)]
    return ("[\n" + ",\n".join(objects) + "\n]\n" if objects else "[]\n").encode("utf-8")


def _arrow_type(field: dict, values: list):
    import pyarrow as pa

    ftype = field.get("type", "string")
    if ftype == "integer":
        return pa.int64()
    if ftype == "boolean":
        return pa.bool_()
    if ftype == "date":
        return pa.date32()
    if ftype == "number":
        present = [v for v in values if v is not None]
        scale = max([_decimals(v) for v in present], default=0)
        whole = max([v.adjusted() + 1 for v in present if v != 0], default=1)
        return pa.decimal128(min(max(whole, 1) + scale, 38), scale)
    return pa.string()


def to_parquet(df, schema: dict, name: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _python_rows(df, schema)
    arrays, fields = [], []
    for i, field in enumerate(schema["fields"]):
        values = [r[i] for r in rows]
        atype = _arrow_type(field, values)
        if pa.types.is_decimal(atype):  # pad to the column scale; exact, only adds zeros
            q = Decimal(1).scaleb(-atype.scale)
            values = [None if v is None else v.quantize(q) for v in values]
        meta = {k: field[k] for k in ("title", "description") if field.get(k)}
        fields.append(pa.field(field["name"], atype, metadata=meta or None))
        arrays.append(pa.array(values, type=atype))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata={"resource": name}))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def to_xlsx(df, schema: dict, name: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .api import display_width

    wb = Workbook()
    ws = wb.active
    ws.title = name[:31]
    ws.append([f["name"] for f in schema["fields"]])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in _python_rows(df, schema):
        ws.append([float(v) if isinstance(v, Decimal) else v for v in row])
        for cell, v in zip(ws[ws.max_row], row, strict=False):
            if isinstance(v, Decimal) and v.is_finite():
                # openpyxl writes numbers with "%.16g", which can add float noise (9.2 ->
                # 9.199999999999999); store the decimal text itself in the numeric cell.
                cell._value = str(v)
                cell.number_format = "0." + "0" * _decimals(v) if _decimals(v) else "0"
            elif isinstance(v, date):
                cell.number_format = "yyyy-mm-dd"
    for i in range(1, len(schema["fields"]) + 1):
        width = max([display_width(str(c.value or "")) for c in ws[ws.cell(1, i).column_letter]])
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(width + 2, 50)
    ws.freeze_panes = "A2"

    meta = wb.create_sheet("fields")
    meta.append(["name", "type", "title", "description"])
    for field in schema["fields"]:
        meta.append([field["name"], field.get("type", "string"), field.get("title", ""),
                     field.get("description", "")])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_bytes(name: str, fmt: str, excel: bool = False, root=None) -> bytes:
    """The resource in the given format, as bytes. Unknown name -> KeyError listing names; a table
    `load()` rejects -> LoadError, whatever the format (csv is the file's bytes once it loads)."""
    schema = table_schema(name, root)
    df = load(name, root)
    if fmt == "csv":
        data = path(name, root).read_bytes()
        return BOM + data if excel else data
    if fmt == "json":
        return to_json(df, schema)
    if fmt == "parquet":
        return to_parquet(df, schema, name)
    if fmt == "xlsx":
        return to_xlsx(df, schema, name)
    raise ValueError(f"unknown format {fmt!r}; use csv, json, parquet or xlsx")


def write_atomically(out: Path, data: bytes) -> None:
    """All of `data` in `out`, or `out` untouched: a temp file next to it, then os.replace."""
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        fail(f"{out}: cannot write it: {e.strerror or e}")


def run(args) -> int:
    if args.out not in (None, "-") and not Path(args.out).resolve().parent.is_dir():
        fail(f"{args.out}: cannot write it: directory {Path(args.out).parent} does not exist")
    if args.excel and args.format != "csv":
        fail("--excel only changes csv output; leave it out or use --format csv")
    try:
        data = export_bytes(args.name, args.format, excel=args.excel, root=args.dir)
    except KeyError as exc:
        fail(exc.args[0])
    except LoadError as exc:  # invalid CSV
        fail(exc.one_line())
    except ValueError as exc:
        fail(str(exc))
    out = args.out
    if out is None and args.format in ("parquet", "xlsx"):
        out = f"{args.name}.{args.format}"  # binary formats never go to a terminal
    if out is None or out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomically(Path(out), data)
        print(f"wrote {out} ({len(data)} bytes)", file=sys.stderr)
    return 0
