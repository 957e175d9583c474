"""`make bench`: how validation, the build and the site scale with the number of department-years.

For each N (default 10, 1000, 10000; `--sizes 10,100` for a quick run) this generates the synthetic
package of benchmarks/synth.py into a work directory (a temporary directory unless --work-dir), then
times, in the same run and on the same files:

- `bazhong-accounts validate DIR` against `frictionless validate DIR/datapackage.json` (frictionless
  gets a generous time limit; a run cut off by it is recorded as ">T s");
- the identities alone as SQL group-bys on DuckDB (benchmarks/duckdb_identities.py DIR);
- `bazhong-accounts build DIR --out DB`;
- the Datasette site served as `make serve` serves it (bazhong_accounts.site.serve.serve_command,
  loopback, free port): p50/p95 of the URLs of benchmarks/bench_site.py (a table page, a filtered
  facet page, two JSON calls and every canned query of the generated metadata.json), with a bounded
  number of requests (--requests per URL, concurrency 2, --url-cap seconds per URL at most).

Then, for --engine-sizes (default 10000,100000), benchmarks/bench_engines.py: `validate --engine E`
per engine against DuckDB's bare scan of the same CSVs, and frictionless (30 minutes at most).

Writes benchmarks/results/scale.csv and benchmarks/results/scale.png, prints time per row at each
N, the growth from the second largest to the largest N, and the issue's targets as PASS/FAIL.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

from synth import write_synthetic  # noqa: E402

DB_NAME = "bazhong"
FIELDS = ["n", "rows", "csv_mb", "task", "seconds", "us_per_row", "max_rss_mb", "p50_ms", "p95_ms", "requests",
          "failures", "note"]


# ---------------------------------------------------------------- commands


def _session_rss(sid: int) -> int:
    """Bytes resident in every process of session sid (a command and all its children, a JVM too)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # fields after the name: state, ppid, pgrp, session, ...
                with open(f"/proc/{entry.name}/statm") as fh:
                    total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    return total


def timed(cmd: list[str], timeout: float) -> dict:
    """Run cmd: wall time, CPU time (user + system, children included), peak memory (the larger of
    the max RSS of the processes waited for and the peak sum of RSS over the whole process tree,
    polled every 50 ms), exit code, and whether the time limit cut it off (the whole process
    group is killed then)."""
    with tempfile.TemporaryFile("w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        cut, tree = False, 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                cut = True
                break
            tree = max(tree, _session_rss(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        log.seek(0)
        return {"seconds": seconds, "code": None if cut else proc.returncode, "timeout": cut,
                "output": log.read(), "max_rss_mb": max(usage.ru_maxrss * 1024, tree) / 2**20,
                "cpu_seconds": usage.ru_utime + usage.ru_stime}


def _tail(text: str, n: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-n:])


# ---------------------------------------------------------------- the site


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(db: Path, port: int) -> list[str]:
    """The `make serve` command line, from the site's own helper."""
    from bazhong_accounts.site.serve import serve_command as site_serve_command

    return site_serve_command(db, port=port, program=str(BIN / "bazhong-accounts"))


def measure_site(db: Path, requests: int, cap: float) -> dict[str, dict]:
    port = _free_port()
    log = db.with_suffix(".serve.log")
    with open(log, "w") as fh:
        server = subprocess.Popen(serve_command(db, port), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        from bazhong_accounts.site.serve import wait_until_serving

        base = f"http://127.0.0.1:{port}"
        if not wait_until_serving(base, server, timeout=300):  # a large immutable db is hashed at start-up
            raise RuntimeError(f"datasette did not start: {_tail(log.read_text())}")
        # The site helper's URL list and load loop (benchmarks/bench_site.py), at concurrency 2.
        import asyncio

        import bench_site
        import httpx

        out = {}
        for name, path in bench_site.urls(db, base):
            httpx.get(base + path, timeout=cap)  # warm-up, not counted
            out[name] = dict(asyncio.run(bench_site.load(base, path, requests, 2, cap)), path=path)
        return out
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


# ---------------------------------------------------------------- one size


def bench_size(n: int, work: Path, args) -> list[dict]:
    pkg = work / f"n{n}"
    db = work / f"site-n{n}" / f"{DB_NAME}.db"
    t0 = time.perf_counter()
    counts = write_synthetic(pkg, n)
    gen = time.perf_counter() - t0
    rows = sum(counts.values())
    mb = sum(p.stat().st_size for p in (pkg / "data").glob("*.csv")) / 1e6
    base = {"n": n, "rows": rows, "csv_mb": f"{mb:.1f}"}
    out = [dict(base, task="generate", seconds=gen)]
    print(f"N={n}: {rows} rows, {mb:.1f} MB of CSV, generated in {gen:.1f} s", flush=True)

    tasks = [
        ("validate", [str(BIN / "bazhong-accounts"), "validate", str(pkg)], args.timeout),
        ("frictionless", [str(BIN / "frictionless"), "validate", str(pkg / "datapackage.json")], args.frictionless_timeout),
        ("duckdb", [sys.executable, str(HERE / "duckdb_identities.py"), str(pkg)], args.timeout),
        ("build", [str(BIN / "bazhong-accounts"), "build", str(pkg), "--out", str(db)], args.timeout),
    ]
    for task, cmd, limit in tasks:
        r = timed(cmd, limit)
        note = f">{limit:.0f} s: cut off by the time limit" if r["timeout"] else (
            "" if r["code"] == 0 else f"exit {r['code']}: {_tail(r['output'])}")
        out.append(dict(base, task=task, seconds=r["seconds"], max_rss_mb=r["max_rss_mb"], note=note,
                        timeout=r["timeout"]))
        shown = f">{limit:.0f}" if r["timeout"] else f"{r['seconds']:.1f}"
        print(f"  {task:13s} {shown} s  peak {r['max_rss_mb']:.0f} MB  {note}", flush=True)

    if db.exists() and not args.no_site:
        for name, m in measure_site(db, args.requests, args.url_cap).items():
            note = m["path"] + (f"; {m['failures']} non-200" if m["failures"] else "")
            out.append(dict(base, task=f"site {name}", p50_ms=m["p50_ms"], p95_ms=m["p95_ms"],
                            requests=m["requests"], failures=m["failures"], note=note))
            print(f"  {name:60s} p50 {m['p50_ms']:7.1f} ms  p95 {m['p95_ms']:7.1f} ms  "
                  f"({m['requests']} requests{', %d failed' % m['failures'] if m['failures'] else ''})", flush=True)
    for r in out:
        if r.get("seconds") is not None:
            r["us_per_row"] = r["seconds"] / rows * 1e6
    if not args.keep:
        shutil.rmtree(pkg, ignore_errors=True)
        shutil.rmtree(db.parent, ignore_errors=True)
    return out


# ---------------------------------------------------------------- report


def write_csv(results: list[dict], path: Path) -> None:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else ("" if v is None else v)

    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in results:
            w.writerow({k: fmt(r.get(k)) for k in FIELDS})
    os.replace(tmp, path)


def write_chart(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.8))
    for task, style in (("validate", "o-"), ("frictionless", "s-"), ("duckdb", "d-"), ("build", "^-"), ("generate", "x--")):
        pts = [(r["n"], r["us_per_row"], r.get("timeout")) for r in results if r["task"] == task]
        if pts:
            a.plot([p[0] for p in pts], [p[1] for p in pts], style, label=task)
            for x, y, cut in pts:
                if cut:
                    a.annotate("time limit", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    a.set(xscale="log", yscale="log", xlabel="department-years N", ylabel="µs per row",
          title="Time per row (lower is better; flat = linear)")
    a.legend()
    a.grid(True, which="both", alpha=0.3)
    sites = sorted({r["task"] for r in results if r["task"].startswith("site ")})
    colors = plt.get_cmap("tab20").colors
    for i, task in enumerate(sites):
        pts = [(r["n"], r["p95_ms"]) for r in results if r["task"] == task]
        b.plot([p[0] for p in pts], [p[1] for p in pts], "osD^v<>ph*"[i % 10] + "-", color=colors[i % 20],
               label=task[5:][:40])
    b.axhline(200, color="red", linestyle=":", label="target 200 ms")
    b.set(xscale="log", yscale="log", xlabel="department-years N", ylabel="p95 (ms)", title="Site p95 per page")
    b.legend(fontsize=6)
    b.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, dpi=110, format="png")
    os.replace(tmp, path)


def summary(results: list[dict], sizes: list[int]) -> list[str]:
    """Time per row at each N, the growth between the two largest N, and the issue's targets."""
    lines = []
    big = max(sizes)
    prev = sorted(sizes)[-2] if len(sizes) > 1 else None
    by = {(r["n"], r["task"]): r for r in results}
    for task in ("generate", "validate", "frictionless", "duckdb", "build"):
        cells = []
        for n in sizes:
            r = by.get((n, task))
            if r:
                cells.append(f"N={n}: {'>' if r.get('timeout') else ''}{r['us_per_row']:.1f} µs/row")
        lines.append(f"{task:13s} " + ", ".join(cells))
        if prev and (prev, task) in by and (big, task) in by:
            ratio = by[(big, task)]["us_per_row"] / by[(prev, task)]["us_per_row"]
            lines.append(f"{'':13s} growth of time per row, N={big} vs N={prev}: {ratio:.2f}x")
    v, f = by.get((big, "validate")), by.get((big, "frictionless"))
    if v and f:
        speedup = f["seconds"] / v["seconds"]
        ok = speedup >= 10 and not v.get("note")
        lines.append(f"target validate >= 10x faster than frictionless at N={big}: "
                     f"{'>' if f.get('timeout') else ''}{speedup:.1f}x {'PASS' if ok else 'FAIL'}"
                     + (" (validate failed: " + v["note"] + ")" if v.get("note") else ""))
    if prev:
        for task in ("validate", "build"):
            if (prev, task) in by and (big, task) in by:
                ratio = by[(big, task)]["us_per_row"] / by[(prev, task)]["us_per_row"]
                lines.append(f"target {task} time per row at N={big} within 1.5x of N={prev}: "
                             f"{ratio:.2f}x {'PASS' if ratio <= 1.5 else 'FAIL'}")
    # the target covers every canned query and the facet page; other pages are reported only
    site = [r for r in results if r["n"] == big and r["task"].startswith(("site query ", "site facet page"))]
    slow = [(r["task"], r["p95_ms"], r.get("failures")) for r in site if r["p95_ms"] >= 200 or r.get("failures")]
    if site:
        lines.append(f"target site p95 < 200 ms for every canned query and the facet page at N={big}: "
                     f"{'PASS' if not slow else 'FAIL'}"
                     + "".join(f"\n  {t[5:]}: p95 {p:.0f} ms{', %d non-200' % fl if fl else ''}" for t, p, fl in slow))
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10,1000,10000", help="comma-separated N (department-years)")
    p.add_argument("--work-dir", help="where to write the synthetic packages (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the generated packages and databases")
    p.add_argument("--timeout", type=float, default=3600, help="time limit of validate and build, seconds")
    p.add_argument("--frictionless-timeout", type=float, default=3600, help="time limit of frictionless, seconds")
    p.add_argument("--requests", type=int, default=50, help="requests per URL")
    p.add_argument("--url-cap", type=float, default=30, help="seconds per URL at most")
    p.add_argument("--no-site", action="store_true", help="skip the Datasette measurements")
    p.add_argument("--out", default=str(RESULTS), help="directory for scale.csv and scale.png")
    p.add_argument("--engine-sizes", default="10000,100000",
                   help="N for validate per engine against DuckDB's bare scan (bench_engines.py); '' to skip")
    args = p.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="bazhong-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in sizes:
            results += bench_size(n, work, args)
            write_csv(results, out_dir / "scale.csv")  # partial results survive an interrupted run
    finally:
        if not args.work_dir and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    write_chart(results, out_dir / "scale.png")
    print(f"\nwrote {out_dir / 'scale.csv'}, {out_dir / 'scale.png'}")
    for line in summary(results, sizes):
        print(line)
    if args.engine_sizes:  # the engines at large N (hours on 2 cores at N = 100,000)
        import bench_engines

        bench_engines.main(["--sizes", args.engine_sizes, "--out", str(out_dir / "engines.csv"),
                            "--frictionless-timeout", str(min(args.frictionless_timeout, 1800))]
                           + (["--work-dir", str(args.work_dir)] if args.work_dir else []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
