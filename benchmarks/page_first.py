"""The first answer of each page type, before anything is kept: what a visitor waits for when the
server has not warmed it (site/cache.py warms the pages linked from the home page at start).

    python benchmarks/page_first.py [--db site/bazhong.db] [--db site/corpus/corpus.db]

In process (Datasette's own client, no network), a new Datasette per page type so that no other
page has filled a cache; then the same URL again (answered from memory). Writes
benchmarks/results/page_first.csv with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from results_csv import write_results  # noqa: E402

from load_mix import PAGES  # noqa: E402

from bazhong_accounts.site.serve import make_datasette  # noqa: E402

MORE = [("database", "/bazhong"), ("charts", "/charts"), ("table, English", "/bazhong/three_public_expenses?_lang=en"),
        ("table, sorted", "/bazhong/indicators?_sort_desc=value")]
FIELDS = ["page", "url", "status", "first_ms", "first_cpu_ms", "again_ms", "load_average"]


async def first_and_again(dbs: list[Path], url: str) -> tuple[int, float, float, float]:
    """Status, first answer's wall and CPU ms (the process's CPU: the database thread included; on
    a loaded machine the CPU time is inflated much less than the wall time), the same URL again."""
    ds = make_datasette(dbs)
    await ds.invoke_startup()
    await ds.client.get("/robots.txt")  # Datasette's own first-request set-up, not the page's
    start, cpu = time.perf_counter(), time.process_time()
    r = await ds.client.get(url)
    first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    await ds.client.get(url)
    return r.status_code, first * 1000, first_cpu * 1000, (time.perf_counter() - start) * 1000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", action="append", type=Path)
    args = ap.parse_args(argv)
    dbs = args.db or [ROOT / "site" / "bazhong.db"]
    rows = []
    for name, url in [*PAGES, *MORE]:
        status, first, cpu, again = asyncio.run(first_and_again(dbs, url))
        rows.append({"page": name, "url": url, "status": status, "first_ms": round(first, 1),
                     "first_cpu_ms": round(cpu, 1), "again_ms": round(again, 1),
                     "load_average": round(os.getloadavg()[0], 1)})
        print(f"{name:16} {status}  first {first:7.1f} ms (CPU {cpu:6.1f} ms)  again {again:5.1f} ms")
    out = HERE / "results" / "page_first.csv"
    write_results(out, FIELDS, rows)
    return 1 if any(r["status"] >= 500 for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
