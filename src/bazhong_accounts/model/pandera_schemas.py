"""pandera DataFrameSchemas derived from the Table Schemas in schemas/*.json.

The Table Schema stays the single source of truth: `dataframe_schema()` starts from
`pandera.io.pandas_io.from_frictionless_schema` (columns, required/nullable, primary-key
uniqueness, minimum/maximum, pattern, minLength, enum, strict column set) and changes only
what that mapping gets wrong for our CSVs:

- integer -> nullable ``Int64``: pandera's ``int64`` cannot hold the empty cells of an
  optional integer column.
- boolean -> checked on the CSV text against the field's trueValues/falseValues: pandera maps
  it to ``bool``, and coercing the strings "true"/"false" to bool makes every non-empty cell True.
- date -> pandera maps it to ``string`` with no check; we add an ISO ``YYYY-MM-DD`` check.
- number stays ``float64`` (pandera's mapping): the range checks run on floats, while the exact
  decimal values are what `bazhong_accounts.load` returns and the validator's identities use.

Validate the frame returned by `read_text()` (every cell a string, empty cell = missing);
`describe_failures()` turns pandera's SchemaErrors into "file, line N, column C: check failed
for 'value'" lines (`read_text` records each row's CSV line in ``frame.attrs["lines"]``):

    frame = read_text("data/income.csv", "schemas/income.json")
    try:
        dataframe_schema("schemas/income.json").validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        print(describe_failures(exc, "data/income.csv", frame))

Users of the package rarely need this module: `bazhong_accounts.load()` runs it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.io.pandas_io import from_frictionless_schema


def load_table_schema(schema: str | Path | dict) -> dict:
    """A Table Schema as a dict, from a dict or a JSON file path."""
    if isinstance(schema, dict):
        return schema
    return json.loads(Path(schema).read_text(encoding="utf-8"))


def _iso_date(s: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
    return parsed.notna() | s.isna()


def dataframe_schema(schema: str | Path | dict) -> pa.DataFrameSchema:
    """pandera schema for one resource, built from its Table Schema (dict or path)."""
    table_schema = load_table_schema(schema)
    df_schema = from_frictionless_schema(table_schema)
    columns = dict(df_schema.columns)
    for field in table_schema["fields"]:
        name, ftype = field["name"], field.get("type", "string")
        old = columns[name]
        if ftype == "integer":
            dtype, checks = "Int64", old.checks
        elif ftype == "boolean":
            tokens = field.get("trueValues", ["true"]) + field.get("falseValues", ["false"])
            dtype, checks = "string", [pa.Check.isin(tokens)]
        elif ftype == "date":
            dtype, checks = "string", old.checks + [pa.Check(_iso_date, name="iso_date")]
        else:
            continue
        columns[name] = pa.Column(
            dtype, checks=checks, nullable=old.nullable, unique=old.unique, coerce=True,
            required=True, name=name, title=old.title, description=old.description)
    return pa.DataFrameSchema(
        columns, coerce=df_schema.coerce, strict=df_schema.strict, unique=df_schema.unique)


def read_text(csv_path: str | Path, schema: str | Path | dict) -> pd.DataFrame:
    """The CSV as written: every cell a string (codes keep leading zeros), missing = <NA>.

    ``frame.attrs["lines"][i]`` is the CSV line number where row i starts (quoted newlines
    inside a cell make it differ from i + 2).
    """
    table_schema = load_table_schema(schema)
    frame = pd.read_csv(
        csv_path, dtype="string", keep_default_na=False,
        na_values=table_schema.get("missingValues", [""]), encoding="utf-8")
    with open(csv_path, encoding="utf-8", newline="") as f:
        reader, lines, start = csv.reader(f), [], 1
        for _ in reader:
            lines.append(start)
            start = reader.line_num + 1
    frame.attrs["lines"] = lines[1:]  # drop the header row
    return frame


def describe_failures(exc, csv_path: str | Path, frame: pd.DataFrame, limit: int = 20) -> str:
    """One line per failed cell of a pandera SchemaErrors: file, line, column, check, value."""
    lines = frame.attrs.get("lines", [])
    out = []
    for case in exc.failure_cases.itertuples(index=False):
        if isinstance(case.failure_case, str) and case.failure_case.startswith("TypeError("):
            continue  # a check that ran on a column whose coercion already failed above
        where = f"{csv_path}"
        if case.index is not None and not pd.isna(case.index) and int(case.index) < len(lines):
            where += f", line {lines[int(case.index)]}"
        column = f", column {case.column}" if isinstance(case.column, str) else ""
        msg = f"{where}{column}: {case.check} failed for {case.failure_case!r}"
        if msg not in out:
            out.append(msg)
    more = f"\n… and {len(out) - limit} more" if len(out) > limit else ""
    return "\n".join(out[:limit]) + more
