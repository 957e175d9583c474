"""Check (c): the pandera schema of each resource, built from its Table Schema as pandera's
`from_frictionless_schema` builds it, run lazily on the typed columns, plus dataframe-level checks
the Table Schema cannot say. Every failure case becomes
``path:line: column: message``; a cell the type check (b) already reported is not repeated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Iterator
from itertools import chain

import functools
import json
import re
import warnings


# pandera imports pyspark.pandas and pyspark.sql at import wherever PySpark is installed (for the
# Spark engine), 0.4 s of every command that checks or loads a table, and pyspark.pandas warns about
# pandas 3; this package runs pandera on pandas frames only. So pandera is imported with PySpark
# hidden (lazy's hide; pandera then leaves out its PySpark types), unless PySpark was imported first
# (the Spark engine): then the warning is silenced, only that one.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

from ..lazy import lazy  # noqa: E402

if TYPE_CHECKING:
    import numpy as np
    import pyarrow.compute as pc
    import pandas as pd
    import pandera.pandas as pa
else:  # imported when a check first runs: the SQL engines read FRAME_CHECKS only
    pd = lazy("pandas")
    np = lazy("numpy")
    pc = lazy("pyarrow.compute")
    pa = lazy("pandera.pandas", hide=("pyspark",))

from ..model.descriptor import as_list  # noqa: E402
from ..model.problems import Report  # noqa: E402
from ..model.table import Table  # noqa: E402

SKIP = {"field_uniqueness", "multiple_fields_uniqueness"}  # the primary-key check reports these
# A string's pattern is part of its type's grammar (model.typing checks it, for load() and the
# build too), so pandera does not check it a second time.
TYPING_CHECKS = {"str_matches"}

# ---------------------------------------------------------------- dataframe-level checks
# name -> (fields needed, column to report, test(table) -> ok array, message(row dict) -> str).
# The tests read the table's text columns (empty = missing) and run as pandera wide checks.


def _derived_rule(t):
    return t.eq("derived", "true") == ~t.eq("derivation", "")


def _derived_msg(row):
    if row["derived"] == "true":
        return "derived row without a derivation rule"
    return "derivation given but `derived` is false"


def _level_code(t):
    level = t.typed["level"].to_numpy(dtype=float, na_value=np.nan)
    length = t.text["code"].str.len().to_numpy()
    return np.isnan(level) | (length == 2 * level + 1)


def _parent_code(t):
    level = t.typed["level"].to_numpy(dtype=float, na_value=np.nan)
    no_parent = t.eq("parent_code", "")
    own_parent = pc.utf8_slice_codeunits(t.arrow("code"), 0, -2)  # a 款 or 项 without its last 2 digits
    same = pc.equal(own_parent, t.arrow("parent_code")).to_numpy(zero_copy_only=False)
    top = (level == 1) & no_parent
    child = (level > 1) & ~no_parent & same
    return np.isnan(level) | top | child


def _own_parent(key, parent):
    def test(t):
        same = pc.equal(t.arrow(key), t.arrow(parent)).to_numpy(zero_copy_only=False)
        return ~same | t.eq(parent, "")
    return test


def _period(t):
    before = pc.less_equal(t.arrow("period_start"), t.arrow("period_end")).to_numpy(zero_copy_only=False)
    return before | t.eq("period_start", "") | t.eq("period_end", "")


def _breakdown_parent(t):
    return t.eq("breakdown", "") | ~t.eq("parent_item_id", "")


FRAME_CHECKS = {
    "derived_rule": (("derived", "derivation"), "derivation", _derived_rule, _derived_msg),
    "level_fits_code": (("code", "level"), "level", _level_code,
                        lambda r: f"level {r['level']} does not fit code {r['code']} "
                                  "(3 digits = level 1 类, 5 = level 2 款, 7 = level 3 项)"),
    "parent_code_fits": (("code", "level", "parent_code"), "parent_code", _parent_code,
                         lambda r: f"parent_code `{r['parent_code']}` does not fit code {r['code']} at level "
                                   f"{r['level']} (a 款 or 项 has the code of its parent minus 2 digits; "
                                   "a 类 has none)"),
    "item_not_own_parent": (("item_id", "parent_item_id"), "parent_item_id", _own_parent("item_id", "parent_item_id"),
                            lambda r: "a row cannot be its own parent"),
    "unit_not_own_parent": (("unit_id", "parent_unit_id"), "parent_unit_id", _own_parent("unit_id", "parent_unit_id"),
                            lambda r: "a unit cannot be its own parent"),
    "count_not_own_parent": (("count_id", "parent_count_id"), "parent_count_id",
                             _own_parent("count_id", "parent_count_id"), lambda r: "a count cannot be its own parent"),
    "period_order": (("period_start", "period_end"), "period_end", _period,
                     lambda r: f"period_end {r['period_end']} is before period_start {r['period_start']}"),
    "breakdown_needs_parent": (("breakdown", "parent_item_id"), "breakdown", _breakdown_parent,
                               lambda r: "breakdown given on a row without parent_item_id"),
}


def _frame_checks(t: Table) -> list[pa.Check]:
    def wide(fn):
        return lambda df: pd.Series(np.asarray(fn(t), dtype=bool), index=df.index)

    return [pa.Check(wide(fn), name=name) for name, (need, _, fn, _) in FRAME_CHECKS.items()
            if all(f in t.fields for f in need)]


# ---------------------------------------------------------------- the frame pandera sees


# pandera's check for each Table Schema constraint, as from_frictionless_schema names it (a
# minimum/maximum or minLength/maxLength pair is one in_range or str_length check)
UNARY = {"maximum": "less_than_or_equal_to", "minimum": "greater_than_or_equal_to", "enum": "isin"}


def constraint_checks(field: dict) -> list[tuple[str, tuple]]:
    """(pandera check, its arguments) for each constraint of a Table Schema field, in the order
    pandera's from_frictionless_schema makes them (the failure cases follow it, and so does which
    of two problems of one cell is printed). Written here rather than called: pandera's needs
    frictionless, 0.4 s to import in every command that loads a table; tests/checks/
    test_pandera_checks.py holds the two to the same checks for every schema."""
    constraints = dict(field.get("constraints") or {})
    checks: list[tuple[str, tuple]] = []
    for name, low, high in (("in_range", "minimum", "maximum"), ("str_length", "minLength", "maxLength")):
        if low in constraints and high in constraints:
            checks.append((name, (constraints.pop(low), constraints.pop(high))))
    for kind, value in constraints.items():
        if kind in UNARY:
            checks.append((UNARY[kind], (value,)))
        elif kind in ("minLength", "maxLength"):
            checks.append(("str_length", (value, None) if kind == "minLength" else (None, value)))
        elif kind == "pattern":
            checks.append(("str_matches", (rf"^{value}$",)))
    return checks


def nullable(field: dict, schema: dict) -> bool:
    """pandera's nullable: a primary-key field or a required one may not be empty."""
    required = (field.get("constraints") or {}).get("required", False)
    return field["name"] not in as_list(schema.get("primaryKey")) and not required


@functools.lru_cache(maxsize=256)
def _rules(schema_json: str) -> tuple[tuple[str, bool, tuple], ...]:
    """(field, nullable, its checks) for each field with something to check, of a Table Schema
    given as its JSON text: made once per process for each schema content (the key is the content,
    not the file, so a schema changed in a copy gets its own rules)."""
    schema = json.loads(schema_json)
    rules = []
    for field in schema["fields"]:
        checks = tuple((name, args) for name, args in constraint_checks(field) if name not in TYPING_CHECKS)
        if checks or not nullable(field, schema):
            rules.append((field["name"], nullable(field, schema), checks))
    return tuple(rules)


@functools.lru_cache(maxsize=256)
def _columns(schema_json: str) -> dict:
    """The pandera columns of those rules, built once per schema content: a run checks 18 tables
    and the tests about 40, and building them took a third of the pandera check. pandera's
    DataFrameSchema deep-copies its columns, so the cached ones are never changed."""
    return {name: pa.Column(None, checks=[getattr(pa.Check, check)(*args) for check, args in checks],
                            nullable=can_be_empty, coerce=False, name=name)
            for name, can_be_empty, checks in _rules(schema_json)}


def _schema_json(t: Table) -> str:
    return json.dumps(t.schema, sort_keys=True, ensure_ascii=False, default=str)


def _frame(t: Table, names) -> pd.DataFrame:
    """Typed numbers, text elsewhere, NA for empty cells and for cells of the wrong type (already
    reported by check b)."""
    frame = {}
    for name in names:
        if t.type_of(name) in ("integer", "number"):
            frame[name] = t.typed[name]
        else:
            frame[name] = t.text[name].where(t.usable(name))
    return pd.DataFrame(frame)


def pandera_frame(t: Table):
    """(frame, schema): the frame of _frame, and a pandera schema.

    The schema keeps what from_frictionless_schema derives from the Table Schema (required,
    minimum/maximum, pattern, length, enum) but not its dtypes: check (b) has already typed every
    column from the same Table Schema and reported each cell that is not of its type, so pandera's
    coercion and dtype checks would only re-check that conversion (and cost a third of the run).
    Columns with nothing left to check are left out; the header check (a) covers the column set,
    and the primary-key check (b) the uniqueness, naming both lines.
    """
    columns = _columns(_schema_json(t))
    schema = pa.DataFrameSchema(columns, checks=_frame_checks(t), coerce=False, strict=False, name=t.name)
    return _frame(t, columns), schema


# ---------------------------------------------------------------- failure cases -> messages


def _bound(check: str) -> list[str]:
    return re.findall(r"-?[0-9.]+", check)


def describe(check: str, column: str, value, field: dict | None) -> str:
    name = check.split("(")[0]
    c = field.get("constraints", {}) if field else {}
    v = "" if value is None else str(value)
    if name == "not_nullable":
        return "required value missing"
    if name == "str_matches":
        return f'"{v}" does not match the pattern {c.get("pattern", check)}'
    if name == "isin":
        allowed = c.get("enum") or _bound(check)
        return f'"{v}" is not one of: {", ".join(str(a) for a in allowed)}'
    if name in ("in_range", "greater_than_or_equal_to", "less_than_or_equal_to", "greater_than", "less_than"):
        lo, hi = c.get("minimum"), c.get("maximum")
        try:
            x = float(v)
        except ValueError:
            x = None
        if lo is not None and x is not None and x < lo:
            neg = " (negative amount)" if x < 0 and lo == 0 else ""
            return f'"{v}" is below the minimum {lo}{neg}'
        if hi is not None and x is not None and x > hi:
            return f'"{v}" is above the maximum {hi}'
        return f'"{v}" is out of range ({check})'
    if name == "str_length":
        lo, hi = c.get("minLength"), c.get("maxLength")
        return f'"{v}" has {len(v)} characters; allowed: {lo if lo is not None else 0}..{hi if hi is not None else "∞"}'
    return f'"{v}" fails {check}'


def check_pandera(t: Table, report: Report) -> None:
    """Check (c) by pandera: its failure cases, each worded as a problem."""
    frame, schema = pandera_frame(t)
    try:
        schema.validate(frame, lazy=True)
        return
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    _report_cases(t, ((str(c.check), c.column, c.index, c.failure_case) for c in cases.itertuples(index=False)),
                  report)


def check_constraints(t: Table, report: Report) -> None:
    """Check (c) without pandera, for load() and the commands on one table (`show`, `export`):
    the same rules on the same frame give the same failure cases, in pandera's order, and so the
    same problems (tests/checks/test_pandera_checks.py compares the two on every mutation case);
    pandera takes 0.4 s to import, 40 % of such a command. `validate` runs pandera itself."""
    rules = _rules(_schema_json(t))
    frame = _frame(t, [name for name, _, _ in rules])
    # pandera sorts its failure cases by where they come from, the dataframe's checks first; its
    # sort is not stable, so _report_cases orders them itself (a cell both kinds report, a level
    # out of range that does not fit its code, is worded by the dataframe's check either way)
    _report_cases(t, chain(_frame_cases(t), _column_cases(frame, rules)), report)


def _column_cases(frame: pd.DataFrame, rules) -> Iterator[tuple]:
    """(check, column, row, None) of each failing cell, column by column: first its empty cells
    where it may have none, then each check in turn on the cells with a value (as pandera does:
    its checks pass NA)."""
    for name, can_be_empty, checks in rules:
        series = frame[name]
        present = series.notna().to_numpy(dtype=bool)
        if not can_be_empty:
            yield from (("not_nullable", name, int(i), None) for i in np.flatnonzero(~present))
        values = series[present]
        for check, args in checks:
            ok = _passes(values, check, args)
            label = f"{check}({', '.join(map(str, args))})"
            yield from ((label, name, int(i), None) for i in values.index[~ok])


def _passes(values: pd.Series, check: str, args: tuple) -> np.ndarray:
    """pandera's built-in check of that name on the cells with a value."""
    if check == "isin":
        ok = values.isin(args[0])
    elif check == "str_length":
        low, high = args
        length = values.str.len()
        ok = (length >= (low if low is not None else 0)) & (length <= (high if high is not None else np.inf))
    else:
        low, high = {"in_range": args, "greater_than_or_equal_to": (args[0], None),
                     "less_than_or_equal_to": (None, args[0])}[check]
        ok = pd.Series(True, index=values.index)
        if low is not None:
            ok &= values >= low
        if high is not None:
            ok &= values <= high
    return np.asarray(ok, dtype=bool)


def _frame_cases(t: Table) -> Iterator[tuple]:
    """(check, None, row, None) of each row a dataframe-level check fails, check by check."""
    for name, (need, _, fn, _) in FRAME_CHECKS.items():
        if all(f in t.fields for f in need):
            yield from ((name, None, int(i), None) for i in np.flatnonzero(~np.asarray(fn(t), dtype=bool)))


def _report_cases(t: Table, cases, report: Report) -> None:
    """Each failure case (check, column, row, failing value) as a problem at its line, one per
    cell (the words of the check that comes first: a dataframe check before the column's own,
    then the column's in schema order), added by line, column (its place), message; a cell
    already reported (the type check) is not reported again (report.add's dedupe). The order
    is the cases', not the order they come in: pandera sorts them with an unstable sort (pandas'
    quicksort on object strings reverses ties), and load (check_constraints) must print what
    validate (pandera) prints."""
    chosen: dict[tuple, tuple] = {}  # (line, column) -> (precedence, message, col_no)
    seen = set()  # (check, row): pandera gives a dataframe check's failing row once per column
    ranks: dict[str, list[str]] = {}
    for check, column, idx, failure_case in cases:
        if check in FRAME_CHECKS:
            if (check, idx) in seen:
                continue
            seen.add((check, idx))
        problem = _problem(t, check, column, idx, failure_case, ranks)
        if problem is not None:
            line, col, precedence, message, col_no = problem
            if (line, col) not in chosen or (precedence, message) < chosen[(line, col)][:2]:
                chosen[(line, col)] = (precedence, message, col_no)
    for (line, col), (_, message, col_no) in sorted(chosen.items(), key=_line_column_message):
        report.add(t.path, line, col, message, col_no=col_no, dedupe=True)


def _line_column_message(item) -> tuple:
    """Line, then column (its place in the file, as the checks run column by column), then message."""
    (line, column), (_, message, col_no) = item
    return line or 0, col_no or 0, column or "", message


def _problem(t: Table, check: str, column, idx, failure_case, ranks: dict) -> tuple | None:
    """(line, column, precedence, message, col_no) of one failure case; None for the cases the
    other checks report (keys, a value pandera could not compare)."""
    name = check.split("(")[0]
    if name in SKIP or (isinstance(failure_case, str) and failure_case.startswith("TypeError(")):
        return None
    if name in FRAME_CHECKS:
        _, col, _, message = FRAME_CHECKS[name]
        row = {f: t.col(f)[int(idx)] for f in t.fields}
        return int(t.lines[int(idx)]), col, (0, list(FRAME_CHECKS).index(name)), message(row), t.col_no(col)
    if idx is None or (isinstance(idx, float) and np.isnan(idx)):
        return None, column, (1, 0), f"pandera: {check} failed for the column", None
    i = int(idx)
    value = t.col(column)[i] if column in t.text else failure_case
    return (int(t.lines[i]), column, (1, _check_rank(t, column, name, ranks)),
            describe(check, column, value, t.fields.get(column)), t.col_no(column))


def _check_rank(t: Table, column: str, name: str, ranks: dict) -> int:
    """Where the check stands among the column's: a missing value first, then its constraints in
    the order constraint_checks makes them (`ranks`: their names by column, made once a table)."""
    if name == "not_nullable":
        return 0
    if column not in ranks:
        ranks[column] = [check for check, _ in constraint_checks(t.fields.get(column, {}))]
    names = ranks[column]
    return 1 + names.index(name) if name in names else len(names) + 1
