"""Mixed load on the site, as readers would bring it: home, report card, table, canned query, JSON,
search and row pages, in turn, from many clients at once.

    python benchmarks/load_mix.py [--db site/bazhong.db] [--requests 2000] [--concurrency 50 200]

Serves the site as `make serve` does (a free loopback port), sends --requests requests for each
--concurrency (clients at once, each request with a 30 s timeout) and reports requests/s, p50, p95
and errors (a status >= 500, a timeout or a refused connection). Writes benchmarks/results/site_load.csv.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from bench_site import free_port  # noqa: E402

from bazhong_accounts.site.serve import serve_command, wait_until_serving  # noqa: E402

PAGES = [
    ("home", "/"),
    ("report card", "/-/report/bazhong-govt-office/2018"),
    ("table", "/bazhong/three_public_expenses"),
    ("canned query", "/bazhong/budget_deviation"),
    ("json", "/bazhong/income.json?_shape=array"),
    ("search", "/-/search?q=" + quote("接待")),
    ("row", "/bazhong/income/2018,bazhong-govt-office,total"),
]
FIELDS = ["concurrency", "requests", "errors", "seconds", "requests_per_s", "p50_ms", "p95_ms", "max_ms"]
TIMEOUT = 30.0


async def run_load(base: str, total: int, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    queue = list(range(total))

    async def client(http: httpx.AsyncClient):
        nonlocal errors
        while queue:
            i = queue.pop()
            url = base + PAGES[i % len(PAGES)][1]
            start = time.perf_counter()
            try:
                r = await http.get(url)
                if r.status_code >= 500:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    return {"concurrency": concurrency, "requests": total, "errors": errors, "seconds": round(seconds, 2),
            "requests_per_s": round(total / seconds, 1), "p50_ms": round(q[49] * 1000),
            "p95_ms": round(q[94] * 1000), "max_ms": round(max(latencies) * 1000)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=str(ROOT / "site" / "bazhong.db"))
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[50, 200])
    args = ap.parse_args(argv)
    port = free_port()
    datasette = str(Path(sys.executable).parent / "datasette")
    server = subprocess.Popen(serve_command(Path(args.db), port=port, datasette=datasette),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_serving(base, server, timeout=60):
            print("datasette serve did not start", file=sys.stderr)
            return 1
        for _, path in PAGES:  # warm up: first answers fill the caches
            httpx.get(base + path, timeout=TIMEOUT)
        rows = [asyncio.run(run_load(base, args.requests, c)) for c in args.concurrency]
    finally:
        server.terminate()
        server.wait(timeout=10)
    out = HERE / "results" / "site_load.csv"
    tmp = out.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(out)
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
