"""Each SQL statement the DuckDB checks run after the load: wall and process CPU (user + sys, DuckDB's
threads included), the costliest first, and the checks phase's totals.

    python benchmarks/bench_statements.py --data-dir /work/data            # N = 10,000, about 15 s
    python benchmarks/bench_statements.py --data-dir /work/data --top 30 --dump /tmp/sql

The lanes run one after another (BAZHONG_ENGINE_LANES=1), or a statement's process CPU would hold
the other lane's too. --dump DIR writes each statement's text (NN.sql, in the order they ran) to
compare two trees' SQL (PYTHONPATH=<tree>/src).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time
from pathlib import Path

os.environ["BAZHONG_ENGINE_LANES"] = "1"

import bazhong_accounts.checks.engines as engines  # noqa: E402
from bazhong_accounts.checks.engines.backends import DuckDBEngine  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Timed:
    """DuckDBEngine.query, materialize and lines_of timed once the load has ended."""

    def __init__(self):
        self.after_load = False
        self.rows: list[tuple[float, float, str]] = []  # (wall, cpu, statement)

    def wrap(self, name: str) -> None:
        method = getattr(DuckDBEngine, name)

        def timed(engine, *args):
            if not self.after_load:
                return method(engine, *args)
            wall, used = time.perf_counter(), cpu()
            try:
                return method(engine, *args)
            finally:
                self.rows.append((time.perf_counter() - wall, cpu() - used, _text(name, args)))

        setattr(DuckDBEngine, name, timed)


def _text(name: str, args: tuple) -> str:
    if name == "lines_of":
        return f"lines_of({args[0]}, {len(args[1])} rows)"
    if name == "materialize":
        return f"[{args[0]}] {args[1]}"
    return args[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="where engines-n<N> is (bench_engines.py --data-dir)")
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--dump", type=Path, help="write each statement's SQL here")
    args = ap.parse_args()
    timed = Timed()
    for name in ("query", "materialize", "lines_of"):
        timed.wrap(name)
    load_all = engines._load_all

    def loaded(*a):
        out = load_all(*a)
        timed.after_load, timed.start = True, (time.perf_counter(), cpu())
        return out

    engines._load_all = loaded
    with engines.checked(args.data_dir / f"engines-n{args.size}", "duckdb") as result:
        known = sum(1 for _ in result.report.known)
    wall, used = time.perf_counter() - timed.start[0], cpu() - timed.start[1]
    print(f"checks after the load: wall {wall:.2f} s, CPU {used:.2f} s; {len(timed.rows)} statements: "
          f"CPU {sum(r[1] for r in timed.rows):.2f} s; {known} known errata; load average {os.getloadavg()[0]:.2f}")
    print(f"{'wall':>6} {'CPU':>6}  statement")
    for w, c, sql in sorted(timed.rows, key=lambda r: -r[1])[:args.top]:
        one_line = re.sub(r"\s+", " ", sql)
        print(f"{w:6.3f} {c:6.3f}  {one_line[:150]}")
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for i, (_, _, sql) in enumerate(timed.rows):
            (args.dump / f"{i:02d}.sql").write_text(sql, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
