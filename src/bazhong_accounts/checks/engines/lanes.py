"""The checks after the load in two lanes at once, each on a connection of its own (DuckDB).

Most of these queries read one table of fewer rows than a DuckDB row group (122,880): one thread
runs each, and a second query at the same time has the other core to itself. The engine's
connection runs the first lane (identities, whose known errata are read from it afterwards); a
cursor of the same database (the tables and views are shared) runs the second in a thread
(DuckDB does not hold the GIL). Each lane writes into a report of its own, added to the run's in
lane order, so the output is the one of the checks run one after another. An engine without
cursors (Spark: each query is a job on the cluster already) runs the lanes one after another.
"""

from __future__ import annotations

import copy
import os
from concurrent.futures import ThreadPoolExecutor

from ...model.problems import Report
from .definitions import q


def run(engine, loaded: dict, report: Report, lanes: list[list]) -> None:
    """lanes: lists of steps (what, fn), each called as fn(engine, loaded, report) through
    _guard; the first lane on `engine`, the others on a cursor each."""
    from ..package import _guard

    def run_lane(lane, eng, tables, own):
        for what, fn in lane:
            _guard(own, what, fn, eng, tables, own)

    own = [Report() for _ in lanes]
    cursors = [_cursor(engine, loaded) for _ in lanes[1:]]
    if any(c is None for c in cursors):
        for lane, mine in zip(lanes, own):
            run_lane(lane, engine, loaded, mine)
    else:
        try:
            with ThreadPoolExecutor(max_workers=len(cursors)) as pool:
                later = [pool.submit(run_lane, lane, eng, tables, mine)
                         for lane, (eng, tables), mine in zip(lanes[1:], cursors, own[1:])]
                run_lane(lanes[0], engine, loaded, own[0])
                for f in later:
                    f.result()
        finally:
            for eng, _ in cursors:
                eng.con.close()
    for mine in own:
        report.problems += mine.problems
        report.cells |= mine.cells
        if not isinstance(mine.known, list) or mine.known:
            report.known = mine.known


def concurrent(engine) -> bool:
    """The engine runs lanes at once: its connection opens cursors (DuckDB), unless
    BAZHONG_ENGINE_LANES=1 says one after another (to measure what the lanes bring)."""
    return hasattr(getattr(engine, "con", None), "cursor") and os.environ.get("BAZHONG_ENGINE_LANES") != "1"


def _cursor(engine, loaded: dict):
    """(a copy of the engine on a cursor of its connection, the loaded resources whose line
    maps look lines up through it), or None for an engine without cursors. The running counts
    of quoted newlines (lines.py) are temporary tables of the engine's connection, which another
    connection does not see: copied into the shared schema first (a row per row holding a
    newline)."""
    if not concurrent(engine):
        return None
    other = copy.copy(engine)
    other.con = engine.con.cursor()
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
