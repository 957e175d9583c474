"""Load benchmark of the Datasette site, served as `make serve` serves it.

    python benchmarks/bench_site.py [--db site/bazhong.db] [--requests 200] [--concurrency 4] [--cap 30] [--cached]
                                    [--out CSV [--append]] [--only REGEX]

Starts `bazhong-accounts serve` on a free loopback port (bazhong_accounts.site.serve.serve_command: the
immutable db, metadata.json and charts next to it, the same settings), then sends a bounded number
of requests to each URL (--requests per URL, --concurrency at a time, at most --cap seconds per URL)
and reports requests/s, p50 and p95 latency: a table page, a facet-filtered page of every table
(its first facet column), every canned query of the db's metadata.json and JSON API calls, among them
the exact `select sum(amount)` over expenditure_by_function's 类 rows (50,000 at N = 10,000), its
integer twin `sum(amount_x100)` (view expenditure_by_function_exact) and `count(*)` of the same
rows (the floor). Each request differs
by an ignored `_bench=<i>` so the site's answer cache never answers (--cached: it may).
Writes benchmarks/results/site.csv (--out; --append keeps its rows), with the server's CPU ms and
voluntary context switches per answer (threads waiting for each other, e.g. for the GIL), the load
average, the time and the commit measured; --only REGEX measures the URLs whose name matches
(`--only 'facet|query'`).
Without --db (and no site/bazhong.db) the site is built from the checkout first.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import socket
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

from results_csv import write_results  # noqa: E402

from bazhong_accounts.site.cache import WARM_DELAY  # noqa: E402
from bazhong_accounts.site.serve import serve_command, wait_until_serving  # noqa: E402
from bazhong_accounts.site.sqlite import load_package  # noqa: E402

# Sample parameters of the canned queries (an empty search matches nothing).
QUERY_PARAMS = {"q": "电子政务", "section": "三公", "threshold": "50"}
FIELDS = ["name", "url", "requests", "failures", "seconds", "requests_per_s", "p50_ms", "p95_ms", "max_ms", "capped",
          "server_cpu_ms_per_request", "server_switches_per_request", "load_average", "when_utc", "commit"]


def commit() -> str:
    """The checkout's commit (short), + when files differ from it; "" outside git."""
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty=+"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return rev


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process `pid` and its children (uvicorn's workers), from /proc."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for p in [pid, *map(int, children.read_text().split())] if children.exists() else [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def server_switches(pid: int) -> int:
    """Voluntary context switches of every thread of `pid`'s children (uvicorn's workers), from /proc:
    a thread waiting for the GIL is one; two exact sums in one worker's threads made ~600 a sum."""
    total = 0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for p in map(int, children.read_text().split()) if children.exists() else []:
        for status in Path(f"/proc/{p}/task").glob("*/status"):
            try:
                total += int(status.read_text().split("voluntary_ctxt_switches:")[1].split()[0])
            except (OSError, IndexError, ValueError):
                pass
    return total


def wait_until_idle(pid: int, settle: float = 120) -> None:
    """Until the server uses under 5 % of a core for a second (its warming has ended), `settle` s at most."""
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        before = server_cpu_seconds(pid)
        time.sleep(1)
        if server_cpu_seconds(pid) - before < 0.05:
            return


async def reach_every_worker(base: str, connections: int = 8) -> None:
    """The home page over several connections at once: uvicorn hands them to every worker."""
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        await asyncio.gather(*(client.get(base + "/") for _ in range(connections)))


def first_value(base: str, db: str, table: str, column: str) -> str | None:
    """A value of the column to filter by; None (the facet page is left out, and said so) when the
    site does not give one."""
    sql = f'select "{column}" from "{table}" where "{column}" is not null limit 1'
    try:
        r = httpx.get(f"{base}/{db}.json", params={"sql": sql, "_shape": "array"}, timeout=60)
        rows = r.json() if r.status_code == 200 else []
    except (httpx.HTTPError, ValueError) as e:
        print(f"no value of {table}.{column} to filter by: {e}", file=sys.stderr)
        return None
    return str(rows[0][column]) if rows else None


def facet_pages(base: str, db: str) -> list[tuple[str, str]]:
    """A page of each table filtered by one value of its first facet column (roles.facets) that is
    not a scope column (fiscal_year, department: those pages are the table page at N = 1)."""
    out = []
    for t in load_package(ROOT).tables.values():
        columns = [c for c in t.facet_columns() if c not in t.scope_columns()] or t.facet_columns()
        value = first_value(base, db, t.name, columns[0]) if columns else None
        if value is not None:
            out.append((f"facet {t.name}.{columns[0]}", f"/{db}/{t.name}?{quote(columns[0])}={quote(value)}"))
    return out


def urls(db: Path, base: str) -> list[tuple[str, str]]:
    meta = json.loads((db.parent / "metadata.json").read_text(encoding="utf-8"))
    name = db.stem
    category = first_value(base, name, "indicators", "category")
    level1 = "from expenditure_by_function where level = 1"  # 50,000 rows at N = 10,000
    out = [
        ("table page", f"/{name}/expenditure_by_function"),
        ("facet page", f"/{name}/indicators?category={quote(category)}"),
        ("json table", f"/{name}/income.json?_shape=array&_size=max"),
        ("json sql sum", f"/{name}.json?_shape=array&sql=" + quote(f"select sum(amount) as s {level1}")),
        ("json sql sum twin", f"/{name}.json?_shape=array&sql="
         + quote("select sum(amount_x100) as s from expenditure_by_function_exact where level = 1")),
        ("json sql count", f"/{name}.json?_shape=array&sql=" + quote(f"select count(*) as n {level1}")),
    ]
    for qname, query in meta["databases"][name]["queries"].items():
        params = "&".join(f"{k}={quote(v)}" for k, v in QUERY_PARAMS.items() if f":{k}" in query["sql"])
        out.append((f"query {qname}", f"/{name}/{qname}" + (f"?{params}" if params else "")))
    # a URL asked twice would be answered from the site's cache the second time (the same _bench
    # numbers): `facet page` is indicators' first facet value, as `facet indicators.category` is
    seen = {path for _, path in out}
    return out + [(n, path) for n, path in facet_pages(base, name) if path not in seen]


async def load(base: str, path: str, n: int, concurrency: int, cap: float, cached: bool = False) -> dict:
    """n GETs of path, `concurrency` at a time, stopping early after `cap` seconds. Unless `cached`,
    each request carries its own `_bench=<i>` (ignored by the pages), so the site's answer cache
    (i18n.cached) misses and the page is computed every time: the cost of the query itself."""
    latencies, failures, sent = [], 0, 0
    start = time.monotonic()

    async def worker(client):
        nonlocal failures, sent
        while sent < n and time.monotonic() - start < cap:
            sent += 1
            url = base + path if cached else f"{base}{path}{'&' if '?' in path else '?'}_bench={sent}"
            t0 = time.monotonic()
            try:
                r = await client.get(url)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.monotonic() - t0)
            failures += not ok

    async with httpx.AsyncClient(timeout=cap) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    seconds = time.monotonic() - start
    ms = sorted(x * 1000 for x in latencies)
    return {
        "requests": len(ms),
        "failures": failures,
        "seconds": round(seconds, 3),
        "requests_per_s": round(len(ms) / seconds, 1) if seconds else 0,
        "p50_ms": round(statistics.median(ms), 1) if ms else "",
        "p95_ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1) if ms else "",
        "max_ms": round(ms[-1], 1) if ms else "",
        "capped": len(ms) < n,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", type=Path, default=ROOT / "site" / "bazhong.db")
    p.add_argument("--requests", type=int, default=200, help="requests per URL")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--cap", type=float, default=30, help="seconds per URL at most")
    p.add_argument("--out", type=Path, default=HERE / "results" / "site.csv")
    p.add_argument("--cached", action="store_true", help="repeat the same URL (the site's answer cache answers)")
    p.add_argument("--append", action="store_true", help="keep the rows --out holds and add this run's")
    p.add_argument("--only", type=re.compile, help="only the URLs whose name matches this regex (e.g. 'facet|search')")
    args = p.parse_args(argv)

    if not args.db.exists():
        if args.db != ROOT / "site" / "bazhong.db":
            p.error(f"{args.db} does not exist")
        from bazhong_accounts.site.build import build_site

        print(f"building {args.db} ...", flush=True)
        build_site(ROOT, args.db)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    program = str(Path(sys.executable).parent / "bazhong-accounts")
    log = open(os.devnull, "w")
    server = subprocess.Popen(serve_command(args.db, port=port, program=program), stdout=log, stderr=log)
    results = []
    try:
        # a large immutable db is hashed at startup: allow minutes
        if not wait_until_serving(base, server, timeout=300):
            print("datasette serve did not start", file=sys.stderr)
            return 1
        # a worker's first request starts its warming (site/cache.py, after WARM_DELAY): reach every
        # worker, then measure once they are idle, not during it
        # uvicorn may hand every connection to one worker: again until a round warms nothing more
        # (a cold worker's warming inside the measurement made one URL's p95 vary 36-375 ms)
        for _ in range(4):
            before = server_cpu_seconds(server.pid)
            asyncio.run(reach_every_worker(base, connections=32))
            time.sleep(WARM_DELAY + 1)
            wait_until_idle(server.pid)
            if server_cpu_seconds(server.pid) - before < 0.5:
                break
        stamp = {"when_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "commit": commit()}
        for name, path in urls(args.db, base):
            if args.only and not args.only.search(name):
                continue
            httpx.get(base + path, timeout=args.cap)  # warm-up, not counted
            cpu, switches = server_cpu_seconds(server.pid), server_switches(server.pid)
            row = {"name": name, "url": path, **asyncio.run(load(base, path, args.requests, args.concurrency, args.cap, args.cached))}
            # The server's CPU per answer: what a page costs, much less inflated than its wall time
            # on a machine others load too (the load average beside it).
            row["server_cpu_ms_per_request"] = round((server_cpu_seconds(server.pid) - cpu) * 1000 / max(1, row["requests"]), 1)
            row["server_switches_per_request"] = round((server_switches(server.pid) - switches) / max(1, row["requests"]))
            row["load_average"] = round(os.getloadavg()[0], 1)
            row.update(stamp)
            results.append(row)
            print(f"{name:32} {row['requests']:4} req {row['requests_per_s']:8} req/s  p50 {row['p50_ms']:7} ms  "
                  f"p95 {row['p95_ms']:7} ms  CPU {row['server_cpu_ms_per_request']:6} ms/req  "
                  f"switches {row['server_switches_per_request']:5}/req  failures {row['failures']}" + ("  (capped)" if row["capped"] else ""),
                  flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()

    earlier = []
    if args.append and args.out.exists():
        with args.out.open(encoding="utf-8", newline="") as f:
            earlier = list(csv.DictReader(f))  # rows of an older run lack the columns added since: empty
    write_results(args.out, FIELDS, earlier + results)
    print(f"wrote {args.out}")
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
