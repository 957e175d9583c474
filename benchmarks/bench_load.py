"""`validate --engine duckdb`'s load against its floor, side by side in one process (CPU seconds of
the process, DuckDB's threads included, and wall seconds; rounds alternate the variants):

    python benchmarks/bench_load.py --data-dir /work/data            # N = 10,000, 3 rounds

- `count`: count(*) of every CSV, read in parallel (bench_engines.py's scan: no cell is built);
- `kept`: a table of the columns the checks read, per CSV, one thread each (the floor of a load
  that stores what the checks need: every kept cell built and stored);
- `load`: DuckDBEngine.load as validate calls it, one file after another (kept columns, the cell
  checks' masks, which read the columns not kept too);
- `load phase`: engines._load_all: the byte pass, two loads at once, the masks and key order asked
  meanwhile (what `validate` does before its checks).

The package is DIR/engines-n<N> as bench_engines.py --data-dir keeps it.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from bench_engines import package_bench_args

from bazhong_accounts.checks import engines
from bazhong_accounts.checks.engines import definitions as d
from bazhong_accounts.checks.engines.backends import DuckDBEngine
from bazhong_accounts.checks.engines.bytes import check_bytes
from bazhong_accounts.checks.package import Result, _load_package
from bazhong_accounts.model.problems import Report


def plans(root: Path) -> list[tuple]:
    """(name, path, header, keep, computed) of each CSV, as _load_all makes them."""
    resources = _load_package(root, Result())
    queries = engines.row_queries({name: schema for name, _, schema, _ in resources})
    out = []
    for name, rel, schema, schema_path in resources:
        facts = check_bytes(root, name, rel, schema, schema_path, Report(), False)
        keep = engines.columns_read(facts.header, name, queries)
        in_load, _ = engines.split_cell_checks(DuckDBEngine, schema, d.cell_checks(name, schema), keep)
        computed = dict(zip(engines.mask_names(in_load), d.masks(in_load)))
        computed.update(engines._quoted_cells(schema, facts))
        out.append((name, root / rel, facts.header, keep, computed))
    return out


def variants(root: Path, files: list[tuple]) -> dict:
    def count(engine):
        for _, path, header, _, _ in files:
            engine.query(f"select count(*) from {engine._read(path, header)}")

    def kept(engine):
        for name, path, header, keep, _ in files:
            engine.load(name, path, header, keep, {})

    def load(engine):
        for plan in files:
            engine.load(*plan)

    def load_phase(engine):
        resources = _load_package(root, Result())
        engines._load_all(root, engine, resources, Report())

    return {"count": count, "kept": kept, "load": load, "load phase": load_phase}


def timed(fn) -> tuple[float, float]:
    engine = DuckDBEngine()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        fn(engine)
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        engine.close()


def main() -> None:
    args, root = package_bench_args(__doc__.split("\n")[0], "bench_load")
    runs: dict[str, list] = {}
    for i in range(args.rounds):
        for label, fn in variants(root, plans(root)).items():
            wall, cpu = timed(fn)
            runs.setdefault(label, []).append((wall, cpu))
            print(f"round {i + 1} {label:11s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  load {os.getloadavg()[0]:.1f}",
                  flush=True)
    floor = statistics.median(c for _, c in runs["count"])
    for label, got in runs.items():
        cpu = statistics.median(c for _, c in got)
        print(f"median {label:11s} wall {statistics.median(w for w, _ in got):6.2f} s  cpu {cpu:6.2f} s  "
              f"= {cpu / floor:4.2f}x count's CPU")


if __name__ == "__main__":
    main()
