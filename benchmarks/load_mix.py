"""Mixed load on the site, as readers would bring it: home, report card, table, canned query, JSON,
search, row and annotated-report pages, in turn, from many clients at once.

    python benchmarks/load_mix.py [--db site/bazhong.db] [--requests 2000] [--concurrency 50 200] [--workers N]

Serves the site as `make serve` does (`bazhong-accounts serve`, a free loopback port), waits for it
to answer and for its own warming to end (SETTLE), sends each page a few times (not counted), then sends --requests requests
for each --concurrency (clients at once, each request with a 30 s timeout) and reports requests/s,
p50, p95 and errors (a status >= 500, a timeout or a refused connection), overall and per page, with
the machine's load average (1 minute) before and after. The client runs on the same 2 cores as
the server. Writes benchmarks/results/site_load.csv (rows "all" and one per page).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
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

from bazhong_accounts.site.serve import WORKERS, serve_command, wait_until_serving  # noqa: E402

PAGES = [
    ("home", "/"),
    ("report card", "/-/report/bazhong-govt-office/2018"),
    ("table", "/bazhong/three_public_expenses"),
    ("canned query", "/bazhong/budget_deviation"),
    ("json", "/bazhong/income.json?_shape=array"),
    ("search", "/-/search?q=" + quote("接待")),
    ("row", "/bazhong/income/2018,bazhong-govt-office,total"),
    ("report", "/report/bazhong-govt-office-2018-final-accounts"),
]
FIELDS = ["concurrency", "page", "requests", "errors", "seconds", "requests_per_s", "p50_ms", "p95_ms", "max_ms",
          "workers", "load_before", "load_after"]
WARM_UP = 4  # passes over the pages before the clock starts
SETTLE = 20  # seconds for the server's own warming (site/cache.py) to end before the clock starts
TIMEOUT = 30.0


def stats(latencies: list[float]) -> dict:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"requests": len(latencies), "p50_ms": round(q[49] * 1000), "p95_ms": round(q[94] * 1000),
            "max_ms": round(max(latencies) * 1000)}


async def run_load(base: str, total: int, concurrency: int) -> list[dict]:
    """`total` requests over PAGES from `concurrency` clients: the row "all", then one per page."""
    latencies: dict[str, list[float]] = {name: [] for name, _ in PAGES}
    errors = dict.fromkeys(latencies, 0)
    queue = list(range(total))

    async def client(http: httpx.AsyncClient):
        while queue:
            name, path = PAGES[queue.pop() % len(PAGES)]
            start = time.perf_counter()
            try:
                r = await http.get(base + path)
                errors[name] += r.status_code >= 500
            except httpx.HTTPError:
                errors[name] += 1
            latencies[name].append(time.perf_counter() - start)

    load_before = os.getloadavg()[0]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    common = {"concurrency": concurrency, "seconds": round(seconds, 2), "load_before": round(load_before, 1),
              "load_after": round(os.getloadavg()[0], 1)}
    every = [x for page in latencies.values() for x in page]
    rows = [{**common, "page": "all", "errors": sum(errors.values()), "requests_per_s": round(total / seconds, 1),
             **stats(every)}]
    rows += [{**common, "page": name, "errors": errors[name], "requests_per_s": "", **stats(latencies[name])}
             for name, _ in PAGES]
    return rows


async def warm_up(base: str) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        for _ in range(WARM_UP):  # each worker process keeps its own answers
            await asyncio.gather(*(http.get(base + path) for _, path in PAGES))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=str(ROOT / "site" / "bazhong.db"))
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--out", default=str(HERE / "results" / "site_load.csv"))
    ap.add_argument("--workers", type=int, default=WORKERS, help=f"server processes (default {WORKERS}, as served)")
    args = ap.parse_args(argv)
    port = free_port()
    program = str(Path(sys.executable).parent / "bazhong-accounts")
    server = subprocess.Popen(serve_command(Path(args.db), port=port, workers=args.workers, program=program),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_serving(base, server, timeout=60):
            print("datasette serve did not start", file=sys.stderr)
            return 1
        time.sleep(SETTLE)
        asyncio.run(warm_up(base))
        rows = [row for c in args.concurrency for row in asyncio.run(run_load(base, args.requests, c))]
        for row in rows:
            row["workers"] = args.workers
    finally:
        server.terminate()
        server.wait(timeout=10)
    out = Path(args.out)
    tmp = out.with_suffix(".csv.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(out)
    for r in rows:
        print(f"{r['concurrency']:4} clients  {r['page']:13} {r['requests']:5} req  {r['errors']} errors  "
              f"p50 {r['p50_ms']:6} ms  p95 {r['p95_ms']:6} ms  max {r['max_ms']:6} ms  {r['requests_per_s']} req/s  "
              f"load {r['load_before']}→{r['load_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
