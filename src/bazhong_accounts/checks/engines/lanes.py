"""The checks after the load in two lanes at once, each on a connection of its own (DuckDB).

DuckDB spreads one query over both cores, but not the Python between queries (messages, line
lookups, the known errata worded) nor the serial parts of a query (planning, the end of a hash
aggregate, lag() over a scan): a second lane's queries fill the core they leave idle. The engine's
connection runs the first lane (identities, whose known errata are read from it afterwards); a
cursor of the same database (the tables and views are shared) runs the second in a thread
(DuckDB does not hold the GIL). Each step's problems are kept apart and added to the run's in the
order given (run's `order`), so the output is the one of the checks run one after another in that
order, whichever lane ran each step. An engine without
cursors (Spark: each query is a job on the cluster already) runs the lanes one after another.
"""

from __future__ import annotations

import copy
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

from ...model.problems import Report
from ..package import _guard
from .definitions import q


def run(engine, loaded: dict, report: Report, lanes: list[list], order: list[str] | None = None) -> None:
    """lanes: lists of steps (what, fn), each called as fn(engine, loaded, report) through
    _guard; the first lane on `engine`, the others on a cursor each. The problems come out in
    `order` (the steps' names; by default lane after lane): the output of the steps run one after
    another in that order, whichever lane each ran in. A lane's steps share its report, so a step
    sees the cells reported before it in its own lane (Report.add's dedupe)."""
    own = [Report() for _ in lanes]
    found: dict[str, list] = {}  # step -> the problems it added
    if not concurrent(engine):
        for lane, mine in zip(lanes, own):
            _run_lane(lane, engine, loaded, mine, found)
    else:
        _at_once(engine, loaded, lanes, own, found)
    for what in order or [what for lane in lanes for what, _ in lane]:
        report.problems += found.pop(what, [])
    assert not found, f"steps missing from the order: {sorted(found)}"
    for mine in own:
        report.cells |= mine.cells
        if not isinstance(mine.known, list) or mine.known:
            report.known = mine.known


def _run_lane(lane: list, engine, loaded: dict, report: Report, found: dict[str, list],
              stop: threading.Event | None = None) -> None:
    for what, fn in lane:
        if stop is not None and stop.is_set():
            return
        start = len(report.problems)
        _guard(report, what, fn, engine, loaded, report)
        found[what] = report.problems[start:]


def _at_once(engine, loaded: dict, lanes: list[list], own: list[Report], found: dict[str, list]) -> None:
    """The first lane here, each other in a thread on a cursor; on Ctrl-C or SIGTERM here the
    others' queries are interrupted and their next steps not started, so the run ends at once."""
    cursors = [_cursor(engine, loaded) for _ in lanes[1:]]
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=len(cursors))
    later: list = []
    try:
        later = [pool.submit(_run_lane, lane, eng, tables, mine, found, stop)
                 for lane, (eng, tables), mine in zip(lanes[1:], cursors, own[1:])]
        _run_lane(lanes[0], engine, loaded, own[0], found)
        for f in later:
            f.result()
    except BaseException:
        stop.set()
        while not all(f.done() for f in later):  # a query may start just after an interrupt
            for eng, _ in cursors:
                eng.con.interrupt()
            wait(later, timeout=0.05)
        raise
    finally:
        pool.shutdown(wait=True)
        for eng, _ in cursors:
            eng.con.close()


def concurrent(engine) -> bool:
    """The engine runs lanes at once: its connection opens cursors (DuckDB), unless
    BAZHONG_ENGINE_LANES=1 says one after another (to measure what the lanes bring)."""
    return hasattr(getattr(engine, "con", None), "cursor") and os.environ.get("BAZHONG_ENGINE_LANES") != "1"


def on_cursor(engine):
    """A copy of the engine on a new cursor of its connection: the same tables, queries of its own."""
    other = copy.copy(engine)
    other.con = engine.con.cursor()
    return other


def _cursor(engine, loaded: dict):
    """(a copy of the engine on a cursor of its connection, the loaded resources whose line
    maps look lines up through it). The running counts
    of quoted newlines (lines.py) are temporary tables of the engine's connection, which another
    connection does not see: copied into the shared schema first (a row per row holding a
    newline)."""
    other = on_cursor(engine)
    tables = {}
    for name, t in loaded.items():
        mine = copy.copy(t)
        if t.lines.engine is not None:
            mine.lines = copy.copy(t.lines)
            mine.lines.engine = other
            if t.lines.table is not None:
                _share(engine, t.lines.table)
        tables[name] = mine
    return other, tables


def _share(engine, table: str) -> None:
    """A temporary table of the engine's connection copied into the schema every cursor sees,
    under the same name (the connection itself still reads its own temporary one first)."""
    engine.con.execute(f"create or replace table main.{q(table)} as select * from temp.main.{q(table)}")
