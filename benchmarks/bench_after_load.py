"""`validate --engine duckdb` after the load: the checks and the output, side by side with the two
lanes at once (engines/lanes.py) and one after another (BAZHONG_ENGINE_LANES=1).

    python benchmarks/bench_after_load.py --data-dir /work/data          # N = 10,000, 3 rounds

The package (DIR/engines-n<N>, as bench_engines.py --data-dir keeps it) is loaded once; the loaded
tables are kept in a DuckDB file in a temporary directory (removed after), and each run copies them
into a fresh engine and times engines.checked() from the end of the load to the last output line
(wall and CPU seconds of the process, both DuckDB threads included), rounds alternating the
variants. The outputs must be byte-identical. Prints one line per run and the medians.
"""

from __future__ import annotations

import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from bench_engines import package_bench_args

import bazhong_accounts.checks.engines as engines
from bazhong_accounts.checks import validate
from bazhong_accounts.checks.engines.definitions import q, view
from bazhong_accounts.checks.engines.lines import LineMap
from bazhong_accounts.checks.package import Result, _load_package

VARIANTS = {"lanes at once": "2", "one after another": "1"}


def snapshot(root: Path, work: Path) -> None:
    """The load once: its tables into work/tables.duckdb, what Python kept of it pickled."""
    result = Result()
    resources = _load_package(root, result)
    engine = engines.ENGINES["duckdb"]()
    try:
        loaded = engines._load_all(root, engine, resources, result.report)
        tables = [n for (n,) in engine.query("select table_name from duckdb_tables() "
                                             "where database_name in ('memory', 'temp')")]
        engine.con.execute(f"attach '{work / 'tables.duckdb'}' as disk")
        for t in tables:
            engine.con.execute(f"create table disk.{q(t)} as select * from {q(t)} order by rowid")
        state = {n: (t.rel, t.schema, t.facts, t.lines.rows, t.lines.table, t.lines.full, t.lines._held, t.failed, t.duplicates)
                 for n, t in loaded.items()}
        (work / "state.pickle").write_bytes(pickle.dumps(
            {"state": state, "tables": tables, "full": engine.full, "problems": result.report.problems}))
    finally:
        engine.close()


def run_once(root: Path, work: Path, lanes: str, out: Path) -> tuple[float, float]:
    """(wall, CPU seconds) of the checks after the load and the output, on a copy of the load."""
    saved = pickle.loads((work / "state.pickle").read_bytes())
    start = {}

    def copied_load(_root, engine, _resources, report):
        engine.con.execute(f"attach '{work / 'tables.duckdb'}' as disk (read_only)")
        for t in saved["tables"]:
            temp = "temp " if t.startswith("nl_") else ""  # lines.py's running counts are temporary
            engine.con.execute(f"create {temp}table {q(t)} as select * from disk.{q(t)} order by rowid")
        engine.con.execute("detach disk")
        for t in saved["tables"]:
            if t.startswith("r_"):
                engine.con.execute(f"create view {view(t[2:])} as select rowid as rn, * from {q(t)}")
        engine.full = set(saved["full"])
        report.problems += saved["problems"]
        loaded = {}
        for n, (rel, schema, facts, rows, table, full, held, failed, duplicates) in saved["state"].items():
            t = engines.Loaded(n, rel, schema, facts, LineMap(rows, engine if table else None, table, full, held))
            t.path, t.failed, t.duplicates = root / rel, failed, duplicates
            loaded[n] = t
        start["at"] = (time.perf_counter(), time.process_time())
        return loaded

    os.environ["BAZHONG_ENGINE_LANES"] = lanes
    real_load, real_unlisted = engines._load_all, engines.report_unlisted_csvs
    engines._load_all, engines.report_unlisted_csvs = copied_load, lambda *a: None  # in the saved problems
    try:
        with open(out, "w", encoding="utf-8") as fh, redirect_stdout(fh):
            with engines.checked(root, "duckdb") as result:
                validate._print(result)
            end = (time.perf_counter(), time.process_time())
    finally:
        engines._load_all, engines.report_unlisted_csvs = real_load, real_unlisted
    return end[0] - start["at"][0], end[1] - start["at"][1]


def main() -> int:
    args, root = package_bench_args(__doc__.split("\n\n")[0], "bench_after_load")
    work = Path(tempfile.mkdtemp(prefix="bench-after-load-"))
    try:
        snapshot(root, work)
        times: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
        outputs = {}
        for i in range(args.rounds):
            for name, lanes in VARIANTS.items():
                out = work / f"{lanes}.out"
                wall, cpu = run_once(root, work, lanes, out)
                times[name].append((wall, cpu))
                outputs[name] = out.read_bytes()
                print(f"round {i + 1} {name:18s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  load {os.getloadavg()[0]:.1f}",
                      flush=True)
        for name, runs in times.items():
            print(f"median {name:18s} wall {statistics.median(w for w, _ in runs):6.2f} s  "
                  f"cpu {statistics.median(c for _, c in runs):6.2f} s")
        if len(set(outputs.values())) != 1:
            print("bench_after_load: the outputs differ between the variants", file=sys.stderr)
            return 1
        print(f"outputs identical ({len(next(iter(outputs.values())).splitlines())} lines)")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
