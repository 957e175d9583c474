"""CPU milliseconds per page of the site, in process: what a page costs the server, much less
inflated than wall times when others load the machine, and comparable side by side between two
versions of the code on the same database.

    python benchmarks/page_cpu.py --db DB [--urls benchmarks/results/site-n10000.csv] [--runs 7]
                                  [--src OTHER/src] [--metadata OTHER/metadata.json] [--out CSV [--append]]

Asks each URL of a bench_site.py CSV (its `url` column, each URL once) of the site's Datasette
(site/serve.py make_datasette) through its in-process client, `--runs` times, each with its own
`_bench=` so no answer comes from the site's cache, and reports the median CPU time of the process
(time.process_time: every thread, SQL included). --src: the code of another checkout (its
bazhong_accounts package and site templates) goes first on the path, to compare; --metadata: the
metadata to serve instead of the db's metadata.json (the canned queries live there: an older
version's queries come from its build). Prints a line a page; --out writes them as CSV.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIELDS = ["name", "url", "runs", "cpu_ms_median", "status", "code", "load_average"]


def page_urls(results: Path) -> list[tuple[str, str]]:
    with results.open(encoding="utf-8", newline="") as f:
        return list(dict.fromkeys((r["name"], r["url"]) for r in csv.DictReader(f)))


async def cpu_per_page(ds, urls: list[tuple[str, str]], runs: int, code: str) -> list[dict]:
    await ds.invoke_startup()
    out = []
    for name, url in urls:
        sep = "&" if "?" in url else "?"
        await ds.client.get(f"{url}{sep}_bench=warm")
        cpu = []
        for i in range(runs):
            start = time.process_time()
            r = await ds.client.get(f"{url}{sep}_bench={i}")
            cpu.append(time.process_time() - start)
        row = {"name": name, "url": url, "runs": runs, "cpu_ms_median": round(statistics.median(cpu) * 1000, 1),
               "status": r.status_code, "code": code, "load_average": round(os.getloadavg()[0], 1)}
        print(f"{name:44} {row['cpu_ms_median']:7} ms CPU  (status {r.status_code}, load {row['load_average']})",
              flush=True)
        out.append(row)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--urls", type=Path, default=HERE / "results" / "site-n10000.csv")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--src", type=Path, help="another checkout's src/ (compare with its code)")
    p.add_argument("--metadata", type=Path, help="serve this metadata instead of the db's metadata.json")
    p.add_argument("--out", type=Path)
    p.add_argument("--append", action="store_true", help="keep the rows --out holds and add this run's")
    args = p.parse_args(argv)
    src = (args.src or ROOT / "src").resolve()
    sys.path.insert(0, str(src))
    os.environ.setdefault("BAZHONG_ACCOUNTS_DIR", str(src.parent))
    from bazhong_accounts.site.serve import make_datasette

    metadata = json.loads(args.metadata.read_text(encoding="utf-8")) if args.metadata else None
    ds = make_datasette([args.db], metadata=metadata)
    rows = asyncio.run(cpu_per_page(ds, page_urls(args.urls), args.runs, str(src)))
    if args.out:
        sys.path.insert(0, str(HERE))
        from results_csv import write_results

        earlier = []
        if args.append and args.out.exists():
            with args.out.open(encoding="utf-8", newline="") as f:
                earlier = list(csv.DictReader(f))
        write_results(args.out, FIELDS, earlier + rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
