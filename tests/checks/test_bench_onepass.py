"""benchmarks/bench_onepass.py, the one-pass prototype whose timings benchmarks/HISTORY.md quotes
(stop 25), finds what `validate` finds of the checks it covers: on the package only its known
row-level breaks, and each check's problem when fed one (the tables stored as at N = 10,000)."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bazhong_accounts.checks.engines.backends import DuckDBEngine

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_onepass  # noqa: E402
from conftest import read_rows, write_rows  # noqa: E402

KEPT_AS_TEXT = ("sources", "departments", "classification", "figure_sources", "non_figures")  # under 8 MB


def problems(root: Path) -> dict[str, int]:
    """What the prototype found, but the pairs it looked at and the known breaks."""
    plan = bench_onepass.plans(root)
    for name, p in plan.items():  # at N = 10,000 only these tables are small enough to keep their text
        p.small = name in KEPT_AS_TEXT
    engine = DuckDBEngine()
    try:
        found = bench_onepass.onepass(root, plan, engine)
    finally:
        engine.close()
    found["row breaks"] -= found.pop("row breaks known")
    return {k: v for k, v in found.items() if v and k != "figure pairs"}


def edit(pkg: Path, name: str, change) -> None:
    header, rows, _ = read_rows(pkg, name)
    change(rows)
    write_rows(pkg, name, header, rows)


def first(rows, **where):
    return next(r for r in rows if all(r[k] == v if isinstance(v, str) else v(r[k]) for k, v in where.items()))


def unknown_department(rows):
    first(rows)["department"] = "no-such-department"


def quote_not_in_archive(rows):
    first(rows, derived="false")["source_quote"] = "no such words"


def part_changed(rows):
    row = first(rows, parent_item_id=bool, derived="false", amount=bool)
    row["amount"] = str(Decimal(row["amount"]) + 1)


def keys_swapped(rows):
    rows[0], rows[1] = rows[1], rows[0]


def unknown_row_key(rows):
    first(rows, resource="income")["row_key"] = "no_such_row"


def fiscal_part_changed(rows):
    row = first(rows, budget_fiscal=bool)
    row["budget_fiscal"] = str(Decimal(row["budget_fiscal"]) + 1)


def test_the_package_has_only_its_known_breaks(package):
    assert problems(package) == {}


@pytest.mark.parametrize("name, change, expected", [
    # a key cell changed: its row out of key order too
    ("indicators", unknown_department, {"foreign keys", "source of another department-year", "unordered"}),
    ("indicators", quote_not_in_archive, {"quotes not in the archive", "figures not in their quote"}),
    ("income", part_changed, {"parts of parents", "figures not in their quote"}),
    ("income", keys_swapped, {"unordered"}),
    ("errata", unknown_row_key, {"errata references"}),
    ("projects", fiscal_part_changed, {"row breaks", "figures not in their quote"}),
])
def test_each_check_finds_its_problem(package, name, change, expected):
    edit(package, name, change)
    assert set(problems(package)) == expected
