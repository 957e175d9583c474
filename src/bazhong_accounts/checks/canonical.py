"""Canonical CSV form, checked by `validate` and written by `bazhong-accounts fmt [--check] [DIR]`.

Canonical = UTF-8 without BOM, LF line ends (one after every row, the last one too), one header
row, columns in schema order, rows sorted by the primary key (typed: integers numerically),
minimal quoting as the csv module writes it. Cell text is never changed: 675.70 stays 675.70.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import codecs
import csv
import io
import os
from pathlib import Path

from ..errors import fail
from ..model.descriptor import as_list, read_descriptor, read_schema
from ..model.problems import Report
from ..model.table import as_arrow
from ..model.typing import parse_numbers
from ..lazy import lazy

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

FMT_HINT = "run `bazhong-accounts fmt` to fix"


def _text(s: str):
    """A large_string scalar (made when needed: pyarrow imports pandas to make the first one)."""
    return pa.scalar(s, pa.large_string())


def sort_permutation(text: pd.DataFrame, schema: dict) -> np.ndarray:
    """Row order that sorts `text` (string cells) by the primary key. Integer and number key
    fields sort by value (unparseable cells last), ties and string fields by their text."""
    pk = as_list(schema.get("primaryKey"))
    if not pk or len(text) < 2:
        return np.arange(len(text))
    types = {f["name"]: f.get("type", "string") for f in schema["fields"]}
    keys = {}
    for i, k in enumerate(pk):
        if types.get(k) in ("integer", "number"):
            keys[f"{i}n"] = parse_numbers(text[k], False)[1].reset_index(drop=True)  # as float: ordering only
        keys[f"{i}s"] = text[k].reset_index(drop=True)
    frame = pd.DataFrame({name: pd.Series(col).reset_index(drop=True) for name, col in keys.items()})
    return frame.sort_values(list(frame.columns), kind="stable", na_position="last").index.to_numpy()


def _quote_header(names: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(names)
    return buf.getvalue().encode("utf-8")


def _needs_quotes(col: pa.Array) -> pa.Array:
    """Cells the csv module quotes (QUOTE_MINIMAL, lineterminator "\n"): a comma, a quote or a newline."""
    return pc.match_substring_regex(col, '[,"\n]')


def canonical_rows(columns: list) -> bytes:
    """The rows as the csv module writes them (QUOTE_MINIMAL, LF), built with Arrow kernels so
    a million rows take a second."""
    if not columns or len(columns[0]) == 0:
        return b""
    quoted = []
    for col in columns:
        col = pa.array(col).cast(pa.large_string())
        needs = _needs_quotes(col)
        if pc.any(needs).as_py():
            wrapped = pc.binary_join_element_wise(_text('"'), pc.replace_substring(col, '"', '""'), _text('"'), _text(""))
            col = pc.if_else(needs, wrapped, col)
        quoted.append(col)
    rows = pc.binary_join_element_wise(*quoted, pa.scalar(",", pa.large_string()))
    rows = pc.binary_join_element_wise(rows, _text(""), _text("\n"))  # row + "\n"
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset: rows.offset + len(rows) + 1]
    return rows.buffers()[2].to_pybytes()[offsets[0]: offsets[-1]]


def canonical_bytes(header: list[str], text: pd.DataFrame) -> bytes:
    return _quote_header(header) + canonical_rows([pa.array(text[h]) for h in header])


def _cell_bytes(col: pa.Array) -> tuple[int, int, pa.Array]:
    """(start, end, array) of the UTF-8 bytes of all cells of a string column, one after
    another, read from Arrow's offsets: the total length costs nothing."""
    col = as_arrow(col)
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int64)
    return int(offsets[col.offset]), int(offsets[col.offset + len(col)]), col


def canonical_length(header: list[str], text: pd.DataFrame, may_need_quotes: bool = True) -> int:
    """Byte length of canonical_bytes(), without building it: each cell's UTF-8 length, plus 2
    for the quotes around a cell that needs them, plus 1 per doubled quote; commas; newlines.
    A file without any '"' has no cell that needs quotes (it would have been quoted)."""
    total = len(_quote_header(header)) + len(text) * len(header)  # n-1 commas and a newline per row
    for h in header:
        start, end, col = _cell_bytes(text[h])
        total += end - start
        if may_need_quotes and end > start:
            raw = bytes(memoryview(col.buffers()[2])[start:end])
            if b"," in raw or b'"' in raw or b"\n" in raw:  # only then look cell by cell
                total += 2 * (pc.sum(pc.cast(_needs_quotes(col), pa.int64())).as_py() or 0)
                total += raw.count(b'"')
    return total


def is_sorted(text: pd.DataFrame, schema: dict) -> bool:
    """Rows already in the order sort_permutation() gives, checked pairwise in one pass (no sort):
    the same keys, compared the same way (numbers by value, then text)."""
    pk = as_list(schema.get("primaryKey"))
    n = len(text)
    if not pk or n < 2:
        return True
    types = {f["name"]: f.get("type", "string") for f in schema["fields"]}
    undecided = np.ones(n - 1, dtype=bool)
    for k in pk:
        keys = []
        if types.get(k) in ("integer", "number"):
            keys.append(parse_numbers(text[k], False)[1].to_numpy(dtype=float, na_value=np.inf))
        keys.append(as_arrow(text[k]))
        for a in keys:
            if isinstance(a, np.ndarray):
                before, after = a[:-1], a[1:]
                lt, gt = after < before, after > before
            else:
                before, after = a.slice(0, n - 1), a.slice(1)
                lt = pc.less(after, before).to_numpy(zero_copy_only=False)
                gt = pc.greater(after, before).to_numpy(zero_copy_only=False)
            if (undecided & lt).any():
                return False
            undecided &= ~gt
            if not undecided.any():
                return True
    return True


def check_canonical(t, report: Report) -> None:
    """Formatting (re-serialising the cells reproduces the file) and primary-key order.

    A parsed CSV serialises back to the same cells whatever its quoting, and minimal quoting is
    the shortest form, so a file whose length is the canonical length (with LF ends, checked
    before, and a final newline) is canonical; only when lengths differ is the canonical text
    built, to find the first line that differs."""
    data = t.raw[len(codecs.BOM_UTF8):] if t.raw.startswith(codecs.BOM_UTF8) else t.raw
    reported = b"\r" in data or t.raw.startswith(codecs.BOM_UTF8) or t.dropped  # reported already
    if not reported and (canonical_length(t.header, t.text, b'"' in data) != len(data) or not data.endswith(b"\n")):
        canon = canonical_bytes(t.header, t.text)
        m = min(len(canon), len(data))
        diff = np.flatnonzero(np.frombuffer(canon, np.uint8, m) != np.frombuffer(data, np.uint8, m))
        pos = int(diff[0]) if len(diff) else m
        line = data.count(b"\n", 0, pos) + 1
        if pos == len(data) and len(canon) > len(data):
            why = "no newline at the end of the file"
        elif data[pos:pos + 1] == b'"' or canon[pos:pos + 1] == b'"':
            why = "quoting differs from minimal quoting"
        else:
            why = "the text differs from what the csv module writes"
        report.add(t.path, line, None, f"not in canonical form: {why}; {FMT_HINT}")
    if any(t.bad.get(k, np.zeros(0, bool)).any() for k in t.pk):
        return  # a key cell is not of its type (reported): its order is meaningless
    if is_sorted(t.text, t.schema):
        return
    perm = sort_permutation(t.text, t.schema)
    out = np.flatnonzero(perm != np.arange(len(perm)))
    if len(out):
        i = int(out[0])
        j = int(perm[i])

        def key(r):
            return "(" + ", ".join(str(t.col(k)[r]) for k in t.pk) + ")"

        report.add(t.path, int(t.lines[i]), None,
                   f"rows not in primary-key order ({', '.join(t.pk)}): {key(j)} on line {int(t.lines[j])} "
                   f"sorts before {key(i)}; {FMT_HINT}")


# ---------------------------------------------------------------- fmt


def format_file(path: Path, schema: dict) -> tuple[bytes | None, str | None]:
    """(canonical bytes, None), or (None, why it cannot be formatted)."""
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        return None, f"not UTF-8 (byte 0x{raw[e.start]:02x} on line {line}); convert it first"
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]  # [] = blank line
    except csv.Error as e:
        return None, f"not a valid CSV: {e}"
    if not rows:
        return None, "empty file"
    header, body = rows[0], rows[1:]
    fields = [f["name"] for f in schema["fields"]]
    if sorted(header) != sorted(fields):
        return None, "its columns differ from the schema's (only their order can be fixed)"
    if any(len(r) != len(header) for r in body):
        return None, "some rows do not have as many fields as the header"
    frame = pd.DataFrame(body, columns=header, dtype="str")[fields] if body else pd.DataFrame(columns=fields)
    frame = frame.iloc[sort_permutation(frame, schema)]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    writer.writerows(frame.itertuples(index=False, name=None))
    return buf.getvalue().encode("utf-8"), None


def run_fmt(args) -> int:
    root = Path(args.dir)
    try:
        package = read_descriptor(root)
    except (OSError, ValueError) as e:
        fail(f"{root / 'datapackage.json'}: cannot read it: {e}")
    changed = failed = 0
    for res in package.get("resources", []):
        rel = res.get("path")
        path = root / rel
        if not path.is_file():
            print(f"{rel}: file missing, skipped")
            failed += 1
            continue
        schema = read_schema(root, res)
        new, why = format_file(path, schema)
        if new is None:
            print(f"{rel}: cannot format: {why}")
            failed += 1
        elif new != path.read_bytes():
            changed += 1
            if args.check:
                print(f"{rel}: not in canonical form")
            else:
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_bytes(new)
                os.replace(tmp, path)
                print(f"{rel}: reformatted")
    verb = "would be reformatted" if args.check else "reformatted"
    print(f"{changed} file(s) {verb}" + (f", {failed} could not be formatted" if failed else ""))
    return 1 if failed or (args.check and changed) else 0

