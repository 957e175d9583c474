"""`validate --engine duckdb` of two source trees side by side: the engine's cost paid at every N
(interpreter, imports, planning, the provenance lane) on the real package, and the whole run at
N = 10,000.

    python benchmarks/bench_fixed_cost.py --base /work/main/src                 # the real package, 5 rounds
    python benchmarks/bench_fixed_cost.py --base /work/main/src --rounds 3 /work/data/engines-n10000

Each round runs `python -m bazhong_accounts.cli validate DIR --engine duckdb` once with
PYTHONPATH=--base and once with this tree's src/, alternated (a busy machine slows both alike),
each a fresh process timed by run.timed (wall, CPU seconds of the process and its threads, peak
memory). The two outputs must be byte-identical. Prints one line per run and the medians, and
appends them to benchmarks/results/fixed_cost.csv with the load average.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import RESULTS, timed  # noqa: E402

FIELDS = ["date", "package", "tree", "round", "seconds", "cpu_seconds", "max_rss_mb", "load_avg", "output_md5"]


def run_once(src: Path, package: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": ""}
    cmd = [sys.executable, "-m", "bazhong_accounts.cli", "validate", str(package), "--engine", "duckdb"]
    r = timed(cmd, timeout=1800, env=env)
    out = "\n".join(line for line in r["output"].splitlines() if not line.startswith("not checked by the SQL"))
    return {"seconds": r["seconds"], "cpu_seconds": r["cpu_seconds"], "max_rss_mb": r["max_rss_mb"],
            "output_md5": hashlib.md5(out.encode()).hexdigest()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("packages", nargs="*", default=[str(HERE.parent)])
    ap.add_argument("--base", required=True, help="the src/ directory to compare with (say /work/main/src)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(RESULTS / "fixed_cost.csv"))
    args = ap.parse_args()
    trees = {"base": Path(args.base), "this": HERE.parent / "src"}
    rows = []
    for package in map(Path, args.packages):
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for i in range(args.rounds):
            for name, src in trees.items():
                r = run_once(src, package) | {"date": time.strftime("%Y-%m-%d %H:%M"), "package": str(package),
                                             "tree": name, "round": i + 1, "load_avg": f"{os.getloadavg()[0]:.2f}"}
                runs[name].append(r)
                rows.append(r)
                print(f"{package.name:18s} {name:5s} round {i + 1}: {r['seconds']:6.2f} s wall, "
                      f"{r['cpu_seconds']:6.2f} s CPU, {r['max_rss_mb']:6.0f} MB, load {r['load_avg']}", flush=True)
        md5s = {r["output_md5"] for rs in runs.values() for r in rs}
        for name, rs in runs.items():
            print(f"{package.name:18s} {name:5s} median {statistics.median(r['seconds'] for r in rs):6.2f} s wall, "
                  f"{statistics.median(r['cpu_seconds'] for r in rs):6.2f} s CPU")
        print(f"{package.name:18s} outputs {'identical' if len(md5s) == 1 else 'DIFFER: ' + ', '.join(sorted(md5s))}")
    out = Path(args.out)
    new = not out.exists()
    with out.open("a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
        if new:
            w.writeheader()
        w.writerows({k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)


if __name__ == "__main__":
    main()
