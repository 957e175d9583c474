"""Fresh clone to a served site: `git clone` of this checkout's committed branch into a temporary
folder, then `make serve` there until the home page answers, timed step by step.

    python benchmarks/first_start.py [--port 8001] [--cold-cache] [--keep]

Each command `make` runs goes through a timing shell (make's SHELL), so the breakdown is of the
Makefile's own steps, in wall-clock and CPU seconds; steps that run side by side (`make -j3`)
overlap, so they add up to more than the total. --cold-cache gives uv an empty cache (every wheel downloaded again). The machine's load
average is recorded beside the times. Writes benchmarks/results/first_start.csv.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from results_csv import write_results  # noqa: E402

from bench_site import free_port  # noqa: E402

# make's SHELL: runs the recipe line with bash and appends "seconds<TAB>command" to $FIRST_START_LOG
TIMING_SHELL = """#!/bin/bash
shift  # make calls SHELL -c 'command'
times=$(mktemp)
/usr/bin/time -o "$times" -f '%e\\t%U\\t%S' bash -c "$1"
code=$?
IFS=$'\\t' read -r wall user sys < <(tail -n 1 "$times")
rm -f "$times"
printf '%s\\t%s\\t%s\\t%s\\n' "$(date +%s.%N)" "$wall" "$(echo "$user + $sys" | bc)" \\
  "$(echo "$1" | tr '\\n\\t' '  ' | cut -c1-150)" >> "$FIRST_START_LOG"
exit $code
"""
FIELDS = ["step", "seconds", "cpu_seconds", "load_average"]
TIMEOUT = 600


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def steps(log: Path) -> list[tuple[float, float, float, str]]:
    """(epoch it ended, seconds, CPU seconds, command) of each recipe line make ran to its end (not
    the server). CPU seconds (user + system, children included) hardly depend on the machine's load."""
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        end, seconds, cpu, command = line.split("\t", 3)
        out.append((float(end), float(seconds), float(cpu), command))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=None, help="default: 8001, or a free port when 8001 is busy")
    ap.add_argument("--cold-cache", action="store_true", help="uv starts with an empty cache")
    ap.add_argument("--keep", action="store_true", help="keep the clone")
    args = ap.parse_args(argv)
    port = args.port or (8001 if not answers("http://127.0.0.1:8001/robots.txt") else free_port())
    branch = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="first-start-"))
    shell, log = work / "timing-shell", work / "steps.tsv"
    shell.write_text(TIMING_SHELL, encoding="utf-8")
    shell.chmod(0o755)
    env = {**os.environ, "FIRST_START_LOG": str(log)}
    if args.cold_cache:
        env["UV_CACHE_DIR"] = str(work / "uv-cache")
    load_before = os.getloadavg()[0]
    start, epoch = time.monotonic(), time.time()
    subprocess.run(["git", "clone", "--quiet", "--branch", branch, str(ROOT), str(work / "x")], check=True)
    cloned = time.monotonic() - start
    make = subprocess.Popen(["make", "serve", f"SHELL={shell}", f"PORT={port}"], cwd=work / "x", env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while not answers(f"http://127.0.0.1:{port}/") and make.poll() is None:
            if time.monotonic() - start > TIMEOUT:
                print(f"no answer after {TIMEOUT} s", file=sys.stderr)
                return 1
            time.sleep(0.1)
        total, answered = time.monotonic() - start, time.time()
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
    if make.returncode not in (None, 0, -signal.SIGTERM, 2):
        print(f"make serve failed ({make.returncode}); see {work}", file=sys.stderr)
    load = f"{load_before:.1f}–{os.getloadavg()[0]:.1f}"
    rows = [{"step": "git clone", "seconds": round(cloned, 1), "cpu_seconds": "", "load_average": load}]
    done = steps(log)
    rows += [{"step": command, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "load_average": load}
             for _, seconds, cpu, command in done]
    last = max([end for end, _, _, _ in done], default=epoch)
    rows.append({"step": "bazhong-accounts serve: start to the first page", "seconds": round(answered - last, 1),
                 "cpu_seconds": "", "load_average": load})
    rows.append({"step": "fresh clone to the first page (total)" + (" (uv cache empty)" if args.cold_cache else ""),
                 "seconds": round(total, 1), "cpu_seconds": "", "load_average": load})
    out = HERE / "results" / "first_start.csv"
    write_results(out, FIELDS, rows)
    for r in rows:
        print(f"{r['seconds']:7.1f} s  (CPU {r['cpu_seconds']:>5} s)  {r['step']}")
    print(f"load average {load}; wrote {out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
