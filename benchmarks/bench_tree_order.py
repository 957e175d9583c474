"""Table pages of hierarchical tables in tree order (parents first, the site's default) against a
sort by the row key (the default before), and the report card and comparison pages, at N
department-years.

    python benchmarks/bench_tree_order.py [--n 1000] [--repeat 15]

Writes the synthetic package (synth.py) and its database into a temporary directory, deleted
afterwards (N = 1,000: about 550 MB, a minute or two to build); asks each page in-process
(Datasette's test client, no network) --repeat times, each with a distinct query string so that no
answer comes from the site's cache, and prints the median milliseconds. Record the load average:
timings taken while other work runs are inflated; compare the two columns of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests"))

# (table, filter): the default page and a page filtered by a facet
PAGES = [("income", ""), ("income", "breakdown=by_source"), ("three_public_expenses", "breakdown=by_use"),
         ("expenditure_by_function", ""), ("expenditure_by_function", "level=3")]


def median_ms(ds, path: str, repeat: int) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        r = asyncio.run(ds.client.get(path + ("&" if "?" in path else "?") + f"_bench={i}"))
        times.append((time.perf_counter() - start) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code}")
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="department-years (default 1000)")
    p.add_argument("--repeat", type=int, default=15, help="requests per page (default 15)")
    args = p.parse_args(argv)
    import synth
    from site_support import datasette

    from bazhong_accounts.model import roles
    from bazhong_accounts.site.build import build_site
    from bazhong_accounts.site.i18n import schemas

    work = Path(tempfile.mkdtemp(prefix="bench-tree-"))
    try:
        synth.main([str(work / "pkg"), str(args.n)])
        db = work / "site" / "bazhong.db"
        build_site(work / "pkg", db, charts=False)
        ds = datasette(db)
        print(f"N = {args.n}, load average {os.getloadavg()[0]:.1f}; median ms of {args.repeat} requests")
        for table, where in PAGES:
            key = roles.row_key_fields(schemas()[table])[0]
            page = f"/bazhong/{table}" + (f"?{where}" if where else "")
            tree, by_key = median_ms(ds, page, args.repeat), median_ms(
                ds, page + ("&" if where else "?") + f"_sort={key}", args.repeat)
            print(f"  {page:50s} tree order {tree:7.1f}   sorted by {key} {by_key:7.1f}")
        for name, page in (("report card", "/-/report/bazhong-govt-office/2018"),
                           ("comparison", "/-/compare/bazhong-govt-office/2018/synthetic-00000/2019")):
            print(f"  {name:50s} {median_ms(ds, page, args.repeat):7.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
