"""`validate` on each engine at large N, against the floor: DuckDB's bare scan of the same CSVs.

    python benchmarks/bench_engines.py --sizes 10000      # the issue's one run at N = 10,000
    python benchmarks/bench_engines.py [--sizes 10000,100000] [--engines duckdb,pandas,spark]
                                       [--frictionless-timeout 1800] [--work-dir DIR | --data-dir DIR]
    python benchmarks/bench_engines.py --sizes 10000,100000 --engines duckdb --frictionless-max 0 \
                                       --data-dir /work/bench100k    # N = 100,000 generated once, kept

For each N the synthetic package of benchmarks/synth.py is generated on disk (removed after; with
--data-dir it is kept there as DIR/engines-n<N> and a later run reuses it: N = 100,000 is 12 GB and
takes minutes to write), then,
one after another on the same files, each timed (wall and CPU seconds) with its peak memory (the
peak sum of RSS over its whole process tree, polled, so the JVM of Spark counts); every task but
frictionless runs --rounds times (3), in turn, and its row holds the medians (note: the range):

- `scan`: DuckDB counting the rows of every CSV (read_csv, all VARCHAR, parallel): no validator
  that reads the files can be faster on this machine;
- `scan cells`: DuckDB reading every cell of every CSV as text (the longest cell of each column):
  the floor of a validator on DuckDB's reader that looks at every cell (count(*) builds no cell);
- `scan keys`: the same read, each file's primary key counted distinct in it: the floor of a
  validator on DuckDB's reader that looks at every cell and proves each key unique (before any type, foreign key,
  identity or source is checked);
- `scan cells arrow`: pyarrow's streaming CSV reader reading every cell of every CSV as text, the
  other reader installed here that could serve a bounded-memory validator (quoted cells span
  lines, so it must track newlines in values);
- `scan keys arrow`: the floor of a load built on that reader: every cell read by it, two files at
  once (the largest first), each file's primary key counted distinct by DuckDB over its batches;
- `validate --engine E` for each engine (pandas only up to --pandas-max, since it holds the data in
  memory: about 4 GB at N = 10,000);
- `frictionless validate` up to --frictionless-max, cut off after --frictionless-timeout.

Appends to benchmarks/results/engines.csv (one row per N and task) and prints the issue's targets:
duckdb within 2x of the scan and 30x faster than frictionless at N = 10,000, and its peak memory at
the largest N at most 1.5x its peak at N = 10,000.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import BIN, RESULTS, _tail, timed  # noqa: E402
from synth import write_synthetic  # noqa: E402

FIELDS = ["date", "n", "rows", "csv_mb", "task", "seconds", "cpu_seconds", "max_rss_mb", "load_avg", "exit", "note"]
SCAN = """
import sys, duckdb, pathlib
con = duckdb.connect(config={"memory_limit": "2GB"})
con.execute("set enable_progress_bar = false")
rows = 0
for p in sorted(pathlib.Path(sys.argv[1]).glob("data/*.csv")):
    rows += con.execute("select count(*) from read_csv(?, all_varchar=true, header=true, parallel=true)",
                        [str(p)]).fetchone()[0]
print(rows)
"""
SCAN_CELLS = SCAN.replace("select count(*)", "select count(*), max(strlen(COLUMNS(*)))")
# every cell as text and each file's primary key counted distinct, in the same one read per file
SCAN_KEYS = """
import sys, json, duckdb, pathlib
root = pathlib.Path(sys.argv[1])
con = duckdb.connect(config={"memory_limit": "2GB"})
con.execute("set enable_progress_bar = false")
rows = 0
for r in sorted(json.loads((root / "datapackage.json").read_text(encoding="utf-8"))["resources"], key=lambda r: r["path"]):
    schema = r["schema"] if isinstance(r["schema"], dict) else json.loads((root / r["schema"]).read_text(encoding="utf-8"))
    key = schema.get("primaryKey") or []
    key = [key] if isinstance(key, str) else key
    distinct = ", count(distinct (" + ", ".join('"' + k + '"' for k in key) + "))" if key else ""
    rows += con.execute("select count(*), max(strlen(COLUMNS(*)))" + distinct +
                        " from read_csv(?, all_varchar=true, header=true, parallel=true)", [str(root / r["path"])]).fetchone()[0]
print(rows)
"""
# pyarrow's reader: every column as text, batch by batch (memory bounded like DuckDB's)
SCAN_CELLS_ARROW = """
import sys, pathlib, pyarrow, pyarrow.csv as csv
rows = 0
for p in sorted(pathlib.Path(sys.argv[1]).glob("data/*.csv")):
    names = p.open(encoding="utf-8").readline().rstrip("\\n").split(",")
    reader = csv.open_csv(p, parse_options=csv.ParseOptions(newlines_in_values=True),
                          convert_options=csv.ConvertOptions(column_types=dict.fromkeys(names, pyarrow.string())))
    rows += sum(batch.num_rows for batch in reader)
print(rows)
"""
# the same reader two files at a time, DuckDB counting each primary key over the batches as they come
SCAN_KEYS_ARROW = """
import sys, json, pathlib, duckdb, pyarrow, pyarrow.csv as csv
from concurrent.futures import ThreadPoolExecutor
root = pathlib.Path(sys.argv[1])
def rows(r):
    path = root / r["path"]
    schema = r["schema"] if isinstance(r["schema"], dict) else json.loads((root / r["schema"]).read_text(encoding="utf-8"))
    key = schema.get("primaryKey") or []
    key = [key] if isinstance(key, str) else key
    names = path.open(encoding="utf-8").readline().rstrip("\\n").split(",")
    reader = csv.open_csv(path, parse_options=csv.ParseOptions(newlines_in_values=True),
                          convert_options=csv.ConvertOptions(column_types=dict.fromkeys(names, pyarrow.string())))
    distinct = ", count(distinct (" + ", ".join('"' + k + '"' for k in key) + "))" if key else ""
    con = duckdb.connect(config={"memory_limit": "1GB", "threads": 1})
    con.execute("set enable_progress_bar = false")
    return con.execute("select count(*)" + distinct + " from reader").fetchone()[0]
resources = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))["resources"]
with ThreadPoolExecutor(2) as pool:
    print(sum(pool.map(rows, sorted(resources, key=lambda r: -(root / r["path"]).stat().st_size))))
"""


def tasks(pkg: Path, n: int, args) -> list[tuple[str, list[str], float]]:
    out = [("scan", [sys.executable, "-c", SCAN, str(pkg)], args.timeout),
           ("scan cells", [sys.executable, "-c", SCAN_CELLS, str(pkg)], args.timeout),
           ("scan keys", [sys.executable, "-c", SCAN_KEYS, str(pkg)], args.timeout),
           ("scan cells arrow", [sys.executable, "-c", SCAN_CELLS_ARROW, str(pkg)], args.timeout),
           ("scan keys arrow", [sys.executable, "-c", SCAN_KEYS_ARROW, str(pkg)], args.timeout)]
    for engine in args.engines.split(","):
        if engine == "pandas" and n > args.pandas_max:
            continue
        out.append((f"validate {engine}", [str(BIN / "bazhong-accounts"), "validate", str(pkg), "--engine", engine],
                    args.timeout))
    if n <= args.frictionless_max:
        out.append(("frictionless", [str(BIN / "frictionless"), "validate", str(pkg / "datapackage.json")],
                    args.frictionless_timeout))
    return out


GENERATED = "generated.json"  # written last: a package without it was cut off while being written


def package_bench_args(description: str, name: str) -> tuple[argparse.Namespace, Path]:
    """The arguments of a benchmark of one package this script generated and kept (--data-dir,
    --n, --rounds) and the package's folder; exits with a message when it is not there."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data-dir", required=True, help="holds engines-n<N> (bench_engines.py --data-dir)")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    root = Path(args.data_dir) / f"engines-n{args.n}"
    if not (root / GENERATED).is_file():
        sys.exit(f"{name}: no package at {root}: run bench_engines.py --sizes {args.n} --data-dir first")
    return args, root


def generated(work: Path, n: int) -> tuple[Path, dict, float | None]:
    """The synthetic package of N department-years under work: (directory, rows per resource,
    seconds it took to write, None when an earlier run's package is reused)."""
    pkg = work / f"engines-n{n}"
    if (pkg / GENERATED).is_file():
        facts = json.loads((pkg / GENERATED).read_text(encoding="utf-8"))
        if facts.get("n") == n:
            return pkg, facts["counts"], None
    t0 = time.perf_counter()
    partial = pkg.with_name(pkg.name + ".partial")  # a package is complete or not there
    counts = write_synthetic(partial, n)
    (partial / GENERATED).write_text(json.dumps({"n": n, "counts": counts}), encoding="utf-8")
    shutil.rmtree(pkg, ignore_errors=True)
    os.replace(partial, pkg)
    return pkg, counts, time.perf_counter() - t0


def bench_size(n: int, work: Path, args) -> list[dict]:
    pkg, counts, seconds = generated(work, n)
    rows = sum(counts.values())
    mb = sum(p.stat().st_size for p in (pkg / "data").glob("*.csv")) / 1e6
    base = {"date": time.strftime("%Y-%m-%d"), "n": n, "rows": rows, "csv_mb": f"{mb:.0f}"}
    # a run starts at its generate row (scripts/readme_table.py compares each task with the scan of its run)
    out = [dict(base, task="generate", seconds="" if seconds is None else f"{seconds:.1f}",
                load_avg="%.1f" % os.getloadavg()[0], note="reused (--data-dir)" if seconds is None else "")]
    print(f"N={n}: {rows} rows, {mb:.0f} MB of CSV" + (" (reused)" if seconds is None else ""), flush=True)
    try:
        for task, cmd, limit, r in rounds(tasks(pkg, n, args), args.rounds):
            passed = (0, 1) if task.startswith("validate") or task == "frictionless" else (0,)  # 1: problems found
            note = f">{limit:.0f} s: cut off" if r["timeout"] else ("" if r["code"] in passed else _tail(r["output"]))
            if r["code"] == 1 and task.startswith("validate"):
                note = "problems reported: " + _tail(r["output"], 1)
            note = "; ".join(filter(None, [r.get("spread", ""), note]))
            load = "%.1f" % os.getloadavg()[0]
            out.append(dict(base, task=task, seconds=f"{r['seconds']:.1f}", cpu_seconds=f"{r['cpu_seconds']:.1f}",
                            max_rss_mb=f"{r['max_rss_mb']:.0f}", load_avg=load, exit=r["code"], note=note))
            print(f"  {task:18s} {r['seconds']:8.1f} s  cpu {r['cpu_seconds']:8.1f} s  peak {r['max_rss_mb']:7.0f} MB"
                  f"  load {load}  {note}", flush=True)
    finally:
        if not args.data_dir:
            shutil.rmtree(pkg, ignore_errors=True)
    return out


def rounds(todo: list[tuple[str, list[str], float]], count: int):
    """Each task's result: the tasks that take seconds (all but frictionless) run `count` times,
    in turn (scan, validate, scan, validate, ...), so a machine that slows or speeds up during the
    run weighs on every task alike; each gives its median wall and CPU seconds, its largest peak,
    and in "spread" the range of its walls. Frictionless (minutes) runs once, last."""
    quick = [t for t in todo if t[0] != "frictionless"]
    runs: dict[str, list[dict]] = {task: [] for task, _, _ in quick}
    for _ in range(max(count, 1)):
        for task, cmd, limit in quick:
            runs[task].append(timed(cmd, limit))
    for task, cmd, limit in todo:
        if task == "frictionless":
            yield task, cmd, limit, timed(cmd, limit)
            continue
        done = runs[task]
        if len(done) == 1:
            yield task, cmd, limit, done[0]
            continue
        walls = sorted(r["seconds"] for r in done)
        middle = sorted(done, key=lambda r: r["seconds"])[len(done) // 2]
        yield task, cmd, limit, dict(middle, cpu_seconds=statistics.median(r["cpu_seconds"] for r in done),
                                     max_rss_mb=max(r["max_rss_mb"] for r in done),
                                     spread=f"median of {len(done)} rounds ({walls[0]:.1f}-{walls[-1]:.1f} s)")


def targets(results: list[dict]) -> list[str]:
    """The issue's targets, and each task against the duckdb engine, in wall and in CPU seconds
    (on a shared machine the CPU ratio is the steadier one)."""
    def get(n, task):
        return next((r for r in results if r["n"] == n and r["task"] == task), None)

    out = []
    small, large = min(r["n"] for r in results), max(r["n"] for r in results)
    duck, scan, fr = get(small, "validate duckdb"), get(small, "scan"), get(small, "frictionless")
    if duck:
        for r in results:
            if r["n"] == small and r.get("cpu_seconds") and r["task"] != "generate":
                out.append(f"N={small}: {r['task']:16s} {r['seconds']:>7} s wall = "
                           f"{float(r['seconds']) / float(duck['seconds']):5.2f}x duckdb; {r['cpu_seconds']:>7} s CPU = "
                           f"{float(r['cpu_seconds']) / max(float(duck['cpu_seconds']), 0.1):5.2f}x duckdb")
    if duck and scan:
        ratio = float(duck["seconds"]) / float(scan["seconds"])
        out.append(f"N={small}: duckdb {duck['seconds']} s = {ratio:.1f}x the bare scan ({scan['seconds']} s): "
                   f"{'PASS' if ratio <= 2 else 'FAIL'} (target <= 2x)")
    if duck and fr:
        cut = "cut off" in (fr["note"] or "")
        speed = float(fr["seconds"]) / float(duck["seconds"])
        out.append(f"N={small}: frictionless {'>' if cut else ''}{fr['seconds']} s = {'>' if cut else ''}{speed:.0f}x "
                   f"duckdb: {'PASS' if speed >= 30 else 'FAIL'} (target >= 30x)")
    big = get(large, "validate duckdb")
    if duck and big and large != small:
        growth = float(big["max_rss_mb"]) / float(duck["max_rss_mb"])
        out.append(f"duckdb peak memory N={large} / N={small}: {big['max_rss_mb']} / {duck['max_rss_mb']} MB = "
                   f"{growth:.2f}: {'PASS' if growth <= 1.5 else 'FAIL'} (target <= 1.5)")
    return out


def append_results(path: Path, results: list[dict]) -> None:
    """Append to the results CSV (each run keeps its date); a file with older columns is rewritten
    with the new ones, empty in its old rows, atomically."""
    rows = []
    if path.exists():
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows + results)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--engines", default="duckdb,pandas")  # spark: add it (minutes of JVM per run)
    ap.add_argument("--pandas-max", type=int, default=10000)
    ap.add_argument("--frictionless-max", type=int, default=10000)
    ap.add_argument("--frictionless-timeout", type=float, default=1800)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--rounds", type=int, default=3, help="runs of each task but frictionless, in turn; medians")
    ap.add_argument("--work-dir", help="where the packages are generated (removed after each size)")
    ap.add_argument("--data-dir", help="keep the packages here (DIR/engines-n<N>) and reuse them on a later run")
    ap.add_argument("--out", default=str(RESULTS / "engines.csv"))
    args = ap.parse_args(argv)
    work = Path(args.data_dir or args.work_dir or tempfile.mkdtemp(prefix="bazhong-engines-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in map(int, args.sizes.split(",")):
        results += bench_size(n, work, args)
    append_results(Path(args.out), results)
    for line in targets(results):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
