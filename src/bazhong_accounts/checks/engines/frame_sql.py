"""The row-level frame checks of checks/pandera_checks.py (FRAME_CHECKS) on the SQL engines.

FRAME_CHECKS there names each check, the fields it needs, the column it reports and its message;
this module holds only the SQL of each test (the rows that fail it), and the messages are
FRAME_CHECKS' own, given the failing row's needed fields.
"""

from __future__ import annotations

from ...model.problems import Report
from ..pandera_checks import FRAME_CHECKS
from .definitions import lit, q, typed, usable, view


def _level(fields: dict) -> tuple[str, str]:
    """(SQL: the level is a usable integer, SQL: its value)."""
    return usable(fields["level"], "t.level"), typed(fields["level"], "t.level")


def _derived_rule(fields):
    return "(t.derived = 'true') <> (t.derivation <> '')"


def _level_code(fields):
    ok, level = _level(fields)
    return f"{ok} and length(t.code) <> 2 * {level} + 1"


def _parent_code(fields):
    ok, level = _level(fields)
    own_parent = "substring(t.code, 1, greatest(length(t.code) - 2, 0))"  # a 款 or 项 without its last 2 digits
    top = f"({level} = 1 and t.parent_code = '')"
    child = f"({level} > 1 and t.parent_code <> '' and {own_parent} = t.parent_code)"
    return f"{ok} and not ({top} or {child})"


def _own_parent(key, parent):
    return lambda fields: f"t.{q(parent)} <> '' and t.{q(key)} = t.{q(parent)}"


def _period(fields):
    return "t.period_start <> '' and t.period_end <> '' and t.period_start > t.period_end"


def _breakdown_parent(fields):
    return "t.breakdown <> '' and t.parent_item_id = ''"


# FRAME_CHECKS name -> SQL (over the row `t`) that holds where the row fails the check
FAILS = {
    "derived_rule": _derived_rule,
    "level_fits_code": _level_code,
    "parent_code_fits": _parent_code,
    "item_not_own_parent": _own_parent("item_id", "parent_item_id"),
    "unit_not_own_parent": _own_parent("unit_id", "parent_unit_id"),
    "count_not_own_parent": _own_parent("count_id", "parent_count_id"),
    "period_order": _period,
    "breakdown_needs_parent": _breakdown_parent,
}


def queries(schemas: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(check name, resource, sql returning rn, col, v, x): x = the needed fields, chr(31)-joined."""
    out = []
    for name, schema in schemas.items():
        fields = {f["name"]: f for f in schema["fields"]}
        for check, (need, col, _, _) in FRAME_CHECKS.items():
            if not all(f in fields for f in need):
                continue
            x = " || chr(31) || ".join(f"t.{q(f)}" for f in need)
            out.append((check, name, f"select t.rn, {lit(col)} as col, t.{q(col)} as v, {x} as x "
                                     f"from {view(name)} t where {FAILS[check](fields)}"))
    return out


def check(engine, loaded: dict, report: Report) -> None:
    from .identities import failing_rows

    checks = queries({n: t.schema for n, t in loaded.items()})
    if not checks:
        return
    for check_name, t, rows, lines in failing_rows(engine, checks, loaded):
        need, col, _, message = FRAME_CHECKS[check_name]
        for (_rn, _col, _v, x), line in zip(rows, lines):
            row = dict(zip(need, x.split("\x1f")))
            report.add(t.rel, line, col, message(row), col_no=t.col_no(col), dedupe=True)
