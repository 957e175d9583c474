"""Mixed load on the site, as readers would bring it: home, report card, table, canned query, JSON,
search, row and annotated-report pages, in turn, from many clients at once.

    python benchmarks/load_mix.py [--db site/bazhong.db] [--requests 2000] [--concurrency 1 50 200] [--workers 2 1]

Serves the site as `make serve` does (`bazhong-accounts serve`, a free loopback port), waits for it
to answer and for its own warming to end (wait_until_idle), sends each page a few times (not counted), then sends --requests requests
for each --concurrency (clients at once, each request with a 30 s timeout) and reports requests/s,
p50, p95 and errors (a status >= 500, a timeout or a refused connection), overall and per page, with
the server's CPU time per request and the machine's load average (1 minute) before and after. The
client (plain keep-alive HTTP/1.1 connections, one per client) runs on the same 2 cores as the server. Writes benchmarks/results/site_load.csv (rows "all" and one per page).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from results_csv import write_results  # noqa: E402

from bench_site import free_port, server_cpu_seconds, wait_until_idle  # noqa: E402

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
          "server_cpu_ms_per_request", "workers", "load_before", "load_after"]
WARM_UP = 4  # passes over the pages (8 connections each) before the clock starts
SETTLE = 120  # seconds at most to wait for the server's own warming (site/cache.py) to end
TIMEOUT = 30.0


def stats(latencies: list[float]) -> dict:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"requests": len(latencies), "p50_ms": round(q[49] * 1000), "p95_ms": round(q[94] * 1000),
            "max_ms": round(max(latencies) * 1000)}


class Connection:
    """One keep-alive HTTP/1.1 connection on loopback: a load client that costs the shared cores far
    less than httpx (about a tenth), so that the server, not the client, is what is measured."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """The status of GET `path`, its body read whole (Content-Length or chunked)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:] if ":" in line)}
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readuntil(b"\r\n")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def run_load(port: int, total: int, concurrency: int, server_pid: int) -> list[dict]:
    """`total` requests over PAGES from `concurrency` clients: the row "all", then one per page."""
    latencies: dict[str, list[float]] = {name: [] for name, _ in PAGES}
    errors = dict.fromkeys(latencies, 0)
    queue = list(range(total))

    async def client():
        connection = Connection("127.0.0.1", port)
        while queue:
            name, path = PAGES[queue.pop() % len(PAGES)]
            start = time.perf_counter()
            try:
                status = await asyncio.wait_for(connection.get(path), TIMEOUT)
                errors[name] += status >= 500
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
                errors[name] += 1
                await connection.close()
            latencies[name].append(time.perf_counter() - start)
        await connection.close()

    load_before, cpu_before = os.getloadavg()[0], server_cpu_seconds(server_pid)
    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    seconds = time.perf_counter() - start
    common = {"concurrency": concurrency, "seconds": round(seconds, 2), "load_before": round(load_before, 1),
              "load_after": round(os.getloadavg()[0], 1)}
    every = [x for page in latencies.values() for x in page]
    cpu_ms = (server_cpu_seconds(server_pid) - cpu_before) * 1000 / total
    rows = [{**common, "page": "all", "errors": sum(errors.values()), "requests_per_s": round(total / seconds, 1),
             "server_cpu_ms_per_request": round(cpu_ms, 2), **stats(every)}]
    rows += [{**common, "page": name, "errors": errors[name], "requests_per_s": "", "server_cpu_ms_per_request": "",
              **stats(latencies[name])} for name, _ in PAGES]
    return rows


async def warm_up(port: int) -> None:
    """Each page from WARM_UP connections at once, so that every worker process has answered each."""
    async def client():
        connection = Connection("127.0.0.1", port)
        for _, path in PAGES:
            await connection.get(path)
        await connection.close()

    for _ in range(WARM_UP):
        await asyncio.gather(*(client() for _ in range(8)))


def measure(db: Path, workers: int, requests: int, concurrency: list[int]) -> list[dict] | None:
    """The rows of run_load for each concurrency, against a server of `workers` processes."""
    port = free_port()
    program = str(Path(sys.executable).parent / "bazhong-accounts")
    server = subprocess.Popen(serve_command(db, port=port, workers=workers, program=program),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_until_serving(f"http://127.0.0.1:{port}", server, timeout=60):
            print("bazhong-accounts serve did not start", file=sys.stderr)
            return None
        wait_until_idle(server.pid, SETTLE)
        asyncio.run(warm_up(port))
        rows = [row for c in concurrency for row in asyncio.run(run_load(port, requests, c, server.pid))]
    finally:
        server.terminate()
        server.wait(timeout=10)
    return [{**row, "workers": workers} for row in rows]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=str(ROOT / "site" / "bazhong.db"))
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 50, 200], help="1: each page alone")
    ap.add_argument("--workers", type=int, nargs="+", default=[WORKERS],
                    help=f"server processes, one run each (default {WORKERS}, as served)")
    ap.add_argument("--out", default=str(HERE / "results" / "site_load.csv"))
    args = ap.parse_args(argv)
    rows = []
    for workers in args.workers:
        measured = measure(Path(args.db), workers, args.requests, args.concurrency)
        if measured is None:
            return 1
        rows += measured
    out = Path(args.out)
    write_results(out, FIELDS, rows)
    for r in rows:
        print(f"{r['workers']} workers {r['concurrency']:4} clients  {r['page']:13} {r['requests']:5} req  "
              f"{r['errors']} errors  p50 {r['p50_ms']:6} ms  p95 {r['p95_ms']:6} ms  max {r['max_ms']:6} ms  "
              f"{r['requests_per_s']} req/s  server CPU {r['server_cpu_ms_per_request']} ms/req  "
              f"load {r['load_before']}→{r['load_after']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
