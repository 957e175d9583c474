"""The one search box (site/search.py) at N department-years: time and memory to read its index,
and p50/p95 of a search, on synthetic packages (benchmarks/synth.py).

    python benchmarks/bench_search.py [--sizes 100,1000,10000] [--repeat 20] [--work-dir DIR] [--keep]

For each N: synth.py writes the package, `build --no-charts` the database (both skipped when the
work dir already has them; N = 10,000: about a minute, 1.2 GB of CSV and a 1 GB database), then in
process: the index is read once (seconds, resident memory added), and each word of WORDS (1, 2, 3+
characters, punctuation, a rare and a common word) is searched --repeat times through the search function itself (the
site keeps answers of repeated URLs, which would hide its cost). Writes
benchmarks/results/search_scale.csv with the load average. Deletes the work dir unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

from results_csv import write_results  # noqa: E402

from bazhong_accounts.site import search  # noqa: E402
from bazhong_accounts.site.serve import make_datasette  # noqa: E402

# 1, 2 and 3+ characters, across punctuation, a rare word (one department) and a common one (every
# synthetic row's source id)
WORDS = {"1 character": "费", "2 characters": "三公", "2 characters, 2": "接待", "5 characters": "电子政务云",
         "punctuation": "“三公”经费", "rare": "部门00007", "common": "synthetic"}
FIELDS = ["n", "rows", "index_cells", "index_texts", "index_seconds", "index_rss_mb", "searches", "p50_ms", "p95_ms",
          "max_ms", "hits_三公", "slowest_word", "p95_by_word_ms", "hits_by_word", "load_average"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def built(n: int, work: Path) -> Path:
    pkg, db = work / f"n{n}", work / f"n{n}" / "site" / "syn.db"
    if not db.exists():
        shutil.rmtree(pkg, ignore_errors=True)
        subprocess.run([sys.executable, str(HERE / "synth.py"), str(pkg), str(n)], check=True)
        subprocess.run([str(Path(sys.executable).parent / "bazhong-accounts"), "build", str(pkg), "--no-charts",
                        "--out", str(db)], check=True)
    return db


async def measure(db: Path, repeat: int) -> dict:
    ds = make_datasette([db])
    await ds.invoke_startup()
    before, start = rss_mb(), time.perf_counter()
    index = await search.index_of(ds, db.stem)
    index_seconds, index_rss = time.perf_counter() - start, rss_mb() - before
    rows = 0
    for table in search.i18n.schemas():
        rows += (await ds.databases[db.stem].execute(f'select count(*) from "{table}"')).first()[0]
    times: dict[str, list[float]] = {word: [] for word in WORDS.values()}
    hits = {}
    for _ in range(repeat):
        for word in WORDS.values():
            t0 = time.perf_counter()
            result = await search.search(ds, None, word, None, search.CAP)
            times[word].append(time.perf_counter() - t0)
            hits[word] = result["count"]
    every = [t for ts in times.values() for t in ts]
    q = statistics.quantiles(every, n=100)
    p95 = {word: round(statistics.quantiles(ts, n=20)[18] * 1000, 1) for word, ts in times.items()}
    return {"rows": rows, "index_cells": int(index.rows.sum()), "index_texts": len(index.text_id),
            "index_seconds": round(index_seconds, 2),
            "index_rss_mb": round(index_rss), "searches": len(every), "p50_ms": round(q[49] * 1000, 1),
            "p95_ms": round(q[94] * 1000, 1), "max_ms": round(max(every) * 1000, 1), "hits_三公": hits["三公"],
            "slowest_word": max(p95, key=p95.get), "p95_by_word_ms": " ".join(f"{w}={v}" for w, v in p95.items()),
            "hits_by_word": " ".join(f"{w}={v}" for w, v in hits.items())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--work-dir", type=Path)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-search-"))
    rows = []
    try:
        for n in map(int, args.sizes.split(",")):
            row = {"n": n, **asyncio.run(measure(built(n, work), args.repeat)),
                   "load_average": round(os.getloadavg()[0], 1)}
            rows.append(row)
            print(row, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    out = HERE / "results" / "search_scale.csv"
    write_results(out, FIELDS, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
