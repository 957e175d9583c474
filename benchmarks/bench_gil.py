"""Two exact sums at once in one process: what a second SQL thread in a site worker costs.

    python benchmarks/bench_gil.py [--rows 50000] [--repeat 20] [--out CSV] [--note TEXT]

sqlite3 releases the GIL while SQLite steps and takes it again for every row an aggregate written
in Python (site/plugin.py DecimalSum) steps through. Two such sums in two threads of one process,
on two free cores, hand the GIL over row by row. Side by side in one run, on one file of --rows
two-decimal REALs (the 类 rows of expenditure_by_function at N = 10,000): one thread alone; two
threads at once, each with its own connection (Datasette's default of 3 SQL threads, when two
requests reach one worker); the same two sums queued on one SQL thread (serve.SETTINGS
num_sql_threads = 1). Reports the process's CPU per sum (user + system), its voluntary context
switches per sum and the wall time per sum; appends to results/gil.csv with the load average.
The handover shows only where both threads run at once: on a machine whose cores other jobs
keep busy the threads seldom do, and the two ways cost about the same there (see the load average).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from bazhong_accounts.site.plugin import register_exact_sum  # noqa: E402

FIELDS = ["when_utc", "rows", "way", "sums", "cpu_ms_per_sum", "system_ms_per_sum", "switches_per_sum",
          "wall_ms_per_sum", "load_average", "note"]
SQL = "select sum(amount) from t"


def write_table(path: Path, rows: int) -> None:
    rng = random.Random(14)
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (amount real)")
        conn.executemany("insert into t values (?)", ((rng.randrange(-10**8, 10**9) / 100,) for _ in range(rows)))


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True, check_same_thread=False)
    register_exact_sum(conn)
    return conn


def sums(conn: sqlite3.Connection, n: int) -> None:
    for _ in range(n):
        conn.execute(SQL).fetchall()


def own_threads(path: Path, threads: int, n: int) -> None:
    """`threads` threads at once, each with its own connection, n sums each."""
    workers = [threading.Thread(target=sums, args=(connect(path), n)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def one_sql_thread(path: Path, n: int) -> None:
    """Two callers at once, as two requests in one worker, both queued on one SQL thread (one connection)."""
    with ThreadPoolExecutor(1) as sql_thread:
        conn = sql_thread.submit(connect, path).result()
        callers = [threading.Thread(target=lambda: [sql_thread.submit(sums, conn, 1).result() for _ in range(n)])
                   for _ in range(2)]
        for c in callers:
            c.start()
        for c in callers:
            c.join()


def measured(way: str, run, count: int, rows: int, note: str = "") -> dict:
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    run()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    per = 1000 / count
    row = {"when_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "rows": rows, "way": way, "sums": count,
           "cpu_ms_per_sum": round((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * per, 1),
           "system_ms_per_sum": round((after.ru_stime - before.ru_stime) * per, 1),
           "switches_per_sum": round((after.ru_nvcsw - before.ru_nvcsw) / count),
           "wall_ms_per_sum": round(wall * per, 1), "load_average": round(os.getloadavg()[0], 1), "note": note}
    print(f"{way:36} CPU {row['cpu_ms_per_sum']:6} ms/sum (system {row['system_ms_per_sum']:5})  "
          f"switches {row['switches_per_sum']:5}/sum  wall {row['wall_ms_per_sum']:6} ms/sum  "
          f"load {row['load_average']}", flush=True)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=20, help="sums per thread")
    p.add_argument("--out", type=Path, default=HERE / "results" / "gil.csv")
    p.add_argument("--note", default="", help="said in each row (how the machine was)")
    args = p.parse_args(argv)
    n = args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sums.db"
        write_table(path, args.rows)
        sums(connect(path), 2)  # the file in the OS cache
        results = [
            measured("one thread alone", lambda: own_threads(path, 1, n), n, args.rows, args.note),
            measured("two threads at once (3 SQL threads)", lambda: own_threads(path, 2, n), 2 * n, args.rows, args.note),
            measured("two callers, one SQL thread", lambda: one_sql_thread(path, n), 2 * n, args.rows, args.note),
        ]
    new = not args.out.exists()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        if new:
            w.writeheader()
        w.writerows(results)
    print(f"appended to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
