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


def test_ctrl_c_while_files_load_interrupts_the_loads_running(package, monkeypatch):
    started, outcome = threading.Event(), {}
    load, quoted_cells = DuckDBEngine.load, engines._quoted_cells

    def slow_load(self, resource, *args):
        if not started.is_set():  # the first file: a query of hours, unless interrupted
            started.set()
            cursor = self._loader()
            watchdog = threading.Timer(WATCHDOG, lambda: (outcome.setdefault("watchdog", True), cursor.interrupt()))
            watchdog.start()  # the run must not wait for it: if nothing else does, the watchdog interrupts
            try:
                cursor.execute("select count(*) from range(1000000) a, range(1000000) b")
            except Exception as e:  # noqa: BLE001 - what duckdb raises when interrupted
                outcome["slow"] = type(e).__name__
            watchdog.cancel()
        return load(self, resource, *args)

    seen = []

    def interrupted(schema, facts):
        seen.append(schema)
        if len(seen) == 4:  # the main thread prepares the fourth file: Ctrl-C
            assert started.wait(30)
            raise KeyboardInterrupt
        return quoted_cells(schema, facts)

    monkeypatch.setattr(DuckDBEngine, "load", slow_load)
    monkeypatch.setattr(engines, "_quoted_cells", interrupted)
    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        engines.collect(package, "duckdb")
    assert "watchdog" not in outcome, "the slow load was waited for, not interrupted"
    assert "Interrupt" in outcome.get("slow", ""), outcome
    assert threading.active_count() == before


def test_ctrl_c_while_a_loaded_table_is_asked_interrupts_the_question(package, monkeypatch):
    """The masks and key order of a loaded table are asked on a cursor while the next files
    load: Ctrl-C there interrupts that question too."""
    started, outcome = threading.Event(), {}
    failed_cells, quoted_cells = engines._failed_cells, engines._quoted_cells

    def slow_question(engine, loads):
        if not started.is_set():
            started.set()
            watchdog = threading.Timer(WATCHDOG, lambda: (outcome.setdefault("watchdog", True), engine.con.interrupt()))
            watchdog.start()
            try:
                engine.query("select count(*) from range(1000000) a, range(1000000) b")
            except Exception as e:  # noqa: BLE001 - what duckdb raises when interrupted
                outcome["slow"] = type(e).__name__
            watchdog.cancel()
        return failed_cells(engine, loads)

    seen = []

    def interrupted(schema, facts):
        seen.append(schema)
        if len(seen) == 6:
            assert started.wait(30)
            raise KeyboardInterrupt
        return quoted_cells(schema, facts)

    monkeypatch.setattr(engines, "_failed_cells", slow_question)
    monkeypatch.setattr(engines, "_quoted_cells", interrupted)
    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        engines.collect(package, "duckdb")
    assert "watchdog" not in outcome, "the question was waited for, not interrupted"
    assert "Interrupt" in outcome.get("slow", ""), outcome
    assert threading.active_count() == before


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
