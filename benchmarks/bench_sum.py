"""The exact sum over 50,000 amounts (expenditure_by_function's 类 rows at N = 10,000), in process:

    python benchmarks/bench_sum.py [--rows 50000] [--repeat 15]

Times, side by side in one run on one in-memory table of two-decimal REALs and their exact
integer twin (as the build stores them): SQLite's own sum() over the REAL (fast, float noise),
SQLite's own sum() over the twin `amount_x100` (exact, no Python), the site's plugin sum() over the
REAL (site/plugin.py DecimalSum: integers of hundredths) and the previous plugin's way, a Decimal
per row (kept here as the baseline). Median and p95 of --repeat runs; writes results/sum.csv.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from bazhong_accounts.site.plugin import DecimalSum  # noqa: E402


class DecimalPerRow:
    """The plugin's sum() before: every value through Decimal(repr(v))."""

    def __init__(self):
        self.total = None

    def step(self, v):
        if v is not None:
            d = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
            self.total = d if self.total is None else self.total + d

    def finalize(self):
        return None if self.total is None else float(self.total)


def table(path: Path, rows: int) -> None:
    rng = random.Random(14)
    conn = sqlite3.connect(path)
    conn.execute("create table t (amount real, amount_x100 integer generated always as "
                 "(cast(round(amount * 100) as integer)) virtual)")
    conn.executemany("insert into t (amount) values (?)", ((rng.randint(0, 300_000) / 100,) for _ in range(rows)))
    conn.commit()
    conn.close()


def timings(path: Path, sql: str, aggregate, repeat: int) -> tuple[list[float], object]:
    conn = sqlite3.connect(path)  # its own connection: SQLite's own sum() unless replaced
    if aggregate is not None:
        conn.create_aggregate("sum", 1, aggregate)
    out, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = conn.execute(sql).fetchone()[0]
        out.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return out, result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--out", type=Path, default=HERE / "results" / "sum.csv")
    args = p.parse_args(argv)
    path = Path(tempfile.mkdtemp(prefix="bench-sum-")) / "sum.db"
    table(path, args.rows)
    cases = [("sqlite sum(amount) REAL, inexact", "select sum(amount) from t", None),
             ("sqlite sum(amount_x100), exact", "select sum(amount_x100) from t", None),
             ("plugin sum(amount), exact (integers)", "select sum(amount) from t", DecimalSum),
             ("previous plugin, Decimal per row", "select sum(amount) from t", DecimalPerRow)]
    rows = []
    load = os.getloadavg()[0]
    for _ in range(2):  # interleaved twice, so that a burst of load hits every case
        for name, sql, agg in cases:
            ms, result = timings(path, sql, agg, args.repeat)
            rows.append((name, ms, result))
    out = []
    for name, _, _ in cases:
        ms = sorted(x for n, m, _ in rows if n == name for x in m)
        result = next(r for n, _, r in rows if n == name)
        out.append({"case": name, "rows": args.rows, "median_ms": round(statistics.median(ms), 2),
                    "p95_ms": round(ms[int(len(ms) * 0.95) - 1], 2), "result": repr(result),
                    "load_average": f"{load:.1f}"})
        print(f"{name:40s} median {out[-1]['median_ms']:8.2f} ms  p95 {out[-1]['p95_ms']:8.2f} ms  -> {result!r}")
    shutil.rmtree(path.parent)
    tmp = args.out.with_name(args.out.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(out)
    os.replace(tmp, args.out)
    print(f"wrote {args.out} (load average {load:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
