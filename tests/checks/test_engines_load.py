"""The load of the SQL engines (checks/engines/__init__.py _load_all): DuckDB reads two files at
once, each on a cursor of its own thread, and asks each loaded table's cell masks and key order on
another cursor while the next files load. The output is the one of the files loaded one after
another (test_engines.py compares it with pandas); here, what must not hang or leak: Ctrl-C."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from bazhong_accounts.checks import engines
from bazhong_accounts.checks.engines.backends import DuckDBEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # conftest's helpers

WATCHDOG = 60  # seconds: the slow load's own end, long after any interrupt


def _hours_unless_interrupted(con, started: threading.Event, outcome: dict) -> None:
    """The first caller runs a query of hours on `con`, unless interrupted; a watchdog interrupts
    it (and says so in `outcome`) if nothing else does, so a failing run does not hang."""
    if started.is_set():
        return
    started.set()
    watchdog = threading.Timer(WATCHDOG, lambda: (outcome.setdefault("watchdog", True), con.interrupt()))
    watchdog.start()
    try:
        con.execute("select count(*) from range(1000000) a, range(1000000) b")
    except Exception as e:  # noqa: BLE001 - what duckdb raises when interrupted
        outcome["slow"] = type(e).__name__
    watchdog.cancel()


def _ctrl_c_while_preparing(monkeypatch, nth: int, started: threading.Event) -> None:
    """Ctrl-C in the main thread as it prepares the nth file's load, once the slow query runs."""
    quoted_cells, seen = engines._quoted_cells, []

    def interrupted(schema, facts):
        seen.append(schema)
        if len(seen) == nth:
            assert started.wait(30)
            raise KeyboardInterrupt
        return quoted_cells(schema, facts)

    monkeypatch.setattr(engines, "_quoted_cells", interrupted)


def _assert_interrupted(package, outcome: dict, what: str) -> None:
    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        engines.collect(package, "duckdb")
    assert "watchdog" not in outcome, f"{what} was waited for, not interrupted"
    assert "Interrupt" in outcome.get("slow", ""), outcome
    assert threading.active_count() == before


def test_ctrl_c_while_files_load_interrupts_the_loads_running(package, monkeypatch):
    started, outcome = threading.Event(), {}
    load = DuckDBEngine.load

    def slow_load(self, resource, *args):
        _hours_unless_interrupted(self._loader(), started, outcome)  # the first file
        return load(self, resource, *args)

    monkeypatch.setattr(DuckDBEngine, "load", slow_load)
    _ctrl_c_while_preparing(monkeypatch, 4, started)
    _assert_interrupted(package, outcome, "the slow load")


def test_ctrl_c_while_a_loaded_table_is_asked_interrupts_the_question(package, monkeypatch):
    """The masks and key order of a loaded table are asked on a cursor while the next files
    load: Ctrl-C there interrupts that question too."""
    started, outcome = threading.Event(), {}
    failed_cells = engines._failed_cells

    def slow_question(engine, loads):
        _hours_unless_interrupted(engine.con, started, outcome)
        return failed_cells(engine, loads)

    monkeypatch.setattr(engines, "_failed_cells", slow_question)
    _ctrl_c_while_preparing(monkeypatch, 6, started)
    _assert_interrupted(package, outcome, "the question")


def test_a_quote_inside_an_unquoted_cell_leaves_the_newlines_to_duckdb(package):
    """The byte pass cannot pair quotes when one stands inside an unquoted cell (`5"`): the load
    counts the quoted newlines row by row instead, and later lines stay exact."""
    from conftest import read_rows, write_rows

    from bazhong_accounts.checks.engines.bytes import check_bytes
    from bazhong_accounts.checks.package import Result, _load_package
    from bazhong_accounts.model.problems import Report

    header, rows, lines = read_rows(package, "projects")
    assert lines[-1] > len(rows) + 1, "projects has newlines inside quoted cells"
    rows[-1]["budget"] = "abc"
    write_rows(package, "projects", header, rows)
    path = package / "data" / "projects.csv"
    text = path.read_text(encoding="utf-8").split("\n")
    first = text[1].split(",")
    plain = [i for i, cell in enumerate(first) if cell and '"' not in cell and not cell[0].isdigit()]
    first[plain[0]] += '5"'  # unquoted: DuckDB reads the quotes as text; two, so that they would pair
    first[plain[1]] += '7"'
    path.write_text("\n".join([text[0], ",".join(first), *text[2:]]), encoding="utf-8")
    resource = next(r for r in _load_package(package, Result()) if r[0] == "projects")
    assert check_bytes(package, *resource, Report(), False).newline_rows is None
    got = [(x.path, x.line, x.column, x.message) for x in engines.collect(package, "duckdb").report.problems]
    assert ("data/projects.csv", lines[-1], "budget", '"abc" is not a number') in got, got
