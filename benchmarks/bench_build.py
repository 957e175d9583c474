"""`bazhong-accounts build` at scale: wall time, CPU time and peak memory, this checkout against another.

    python benchmarks/bench_build.py [--n 10000] [--before main] [--runs 1] [--keep] [--note TEXT] [--data-dir DIR]

Writes a synthetic package of N department-years (synth.py), then runs `bazhong-accounts build DIR
--out DB` as a user does (validation included: `--engine auto` picks DuckDB for a large package)
with this checkout's code and, with --before REF, with the code of git ref REF (checked out into a
temporary worktree and put first on PYTHONPATH; the same interpreter and dependencies). Each run
is timed by benchmarks/run.py's `timed` (wall, user+system CPU, max RSS of the process tree it
waited for). Appends to benchmarks/results/build.csv with the load average, since wall times on
a shared machine are inflated by other jobs; CPU seconds much less so; the note names the commit
each row measured (and --note's text). Everything generated is
deleted afterwards unless --keep (at N = 10,000: 1.2 GB of CSV and a 2-4 GB database).
--data-dir DIR: the package DIR/engines-nN when it holds one of N department-years (written by
bench_engines.py --data-dir, read only), instead of writing one.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

from run import timed  # noqa: E402
from synth import write_synthetic  # noqa: E402

FIELDS = ["when_utc", "n", "rows", "code", "command", "seconds", "cpu_seconds", "max_rss_mb", "db_mb",
          "load_average", "exit", "note"]
BUILD = "import sys; from bazhong_accounts.cli import main; sys.exit(main(sys.argv[1:]))"


def checkout(ref: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), ref],
                   check=True, capture_output=True)
    return into


def commit_of(src: Path) -> str:
    """The short commit of the checkout holding `src` (+ when it has uncommitted changes)."""
    head = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no", "."],
                           capture_output=True, text=True)
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def build_once(label: str, src: Path, pkg: Path, out: Path, n: int, rows: int, extra: list[str],
               note: str = "") -> dict:
    shutil.rmtree(out.parent, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-c", BUILD, "build", str(pkg), "--out", str(out), *extra]
    load = os.getloadavg()[0]
    r = timed(cmd, timeout=3600, env=env)
    size = out.stat().st_size / 1e6 if out.exists() else 0
    row = {"when_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"), "n": n, "rows": rows,
           "code": label, "command": "build " + " ".join(extra), "seconds": round(r["seconds"], 1),
           "cpu_seconds": round(r["cpu_seconds"], 1), "max_rss_mb": round(r["max_rss_mb"]), "db_mb": round(size),
           "load_average": f"{load:.1f}-{os.getloadavg()[0]:.1f}", "exit": r["code"],
           "note": " ".join(filter(None, [f"commit {commit_of(src)}", note,
                                          "" if r["code"] == 0 else r["output"].strip().splitlines()[-1][:300]]))}
    print(f"  {label:28s} {row['seconds']:7.1f} s wall  {row['cpu_seconds']:7.1f} s CPU  peak {row['max_rss_mb']} MB  "
          f"db {row['db_mb']} MB  load {row['load_average']}  exit {row['exit']} {row['note']}", flush=True)
    return row


def package(n: int, work: Path, data_dir: Path | None) -> tuple[Path, int]:
    """The synthetic package of n department-years and its rows: DATA_DIR/engines-n<n> if it was
    written for n (its generated.json says so), else written into work."""
    shared = data_dir / f"engines-n{n}" if data_dir else None
    if shared and (shared / "generated.json").exists():
        generated = json.loads((shared / "generated.json").read_text(encoding="utf-8"))
        if generated.get("n") == n:
            return shared, sum(generated["counts"].values())
    pkg = work / f"n{n}"
    return pkg, sum(write_synthetic(pkg, n).values())


def append(rows: list[dict], path: Path) -> None:
    new = not path.exists()
    with path.open("a", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        if new:
            w.writeheader()
        w.writerows(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10000, help="department-years (default 10,000)")
    p.add_argument("--before", metavar="REF", help="also build with the code of this git ref (e.g. main)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--extra", default="", help="more build options, e.g. '--no-charts'")
    p.add_argument("--work-dir", type=Path, help="default: a temporary directory")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--note", default="", help="said in this checkout's rows' note, beside the commit")
    p.add_argument("--out", type=Path, default=HERE / "results" / "build.csv")
    p.add_argument("--data-dir", type=Path, help="reuse DIR/engines-nN (read only) when it was written for --n")
    args = p.parse_args(argv)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-build-"))
    work.mkdir(parents=True, exist_ok=True)
    codes = [("this checkout", ROOT / "src")]
    try:
        if args.before:
            before = checkout(args.before, work / "before")
            codes.insert(0, (f"git {args.before}", before / "src"))
        pkg, rows = package(args.n, work, args.data_dir)
        print(f"N = {args.n}: {rows} rows", flush=True)
        results = [build_once(label, src, pkg, work / "site" / "bazhong.db", args.n, rows, args.extra.split(),
                              args.note if label == "this checkout" else f"before: {args.before}")
                   for _ in range(args.runs) for label, src in codes]
    finally:
        if args.before:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "before")],
                           capture_output=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    append(results, args.out)
    print(f"appended to {args.out}")
    return 0 if all(r["exit"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
