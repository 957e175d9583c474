"""`bazhong-accounts validate DIR` against `frictionless validate DIR/datapackage.json`, on the same
package: best wall time of --repeat runs each (subprocesses, as a user runs them).

    python benchmarks/bench_validate.py [DIR] [--repeat 3] [--out benchmarks/results/validate.csv]

DIR defaults to the repository's own package; give a synthetic package (benchmarks/synth.py) to
measure at scale. Prints a small table and writes the CSV (one row per command).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
FIELDS = ["package", "rows", "command", "best_seconds", "runs", "exit_code", "speedup_vs_frictionless", "note"]


def best_of(cmd: list[str], repeat: int, timeout: float) -> dict:
    times, code, out = [], None, ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"seconds": None, "code": None, "output": "", "note": f"cut off after {timeout:.0f} s"}
        times.append(time.perf_counter() - t0)
        code, out = proc.returncode, proc.stdout + proc.stderr
    return {"seconds": min(times), "code": code, "output": out, "note": ""}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir", nargs="?", default=str(ROOT), help="package directory (default: this repository)")
    p.add_argument("--repeat", type=int, default=3, help="runs per command; the best time counts")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per run at most")
    p.add_argument("--out", default=str(HERE / "results" / "validate.csv"))
    args = p.parse_args(argv)
    pkg = Path(args.dir).resolve()

    commands = {
        "bazhong-accounts validate": [str(BIN / "bazhong-accounts"), "validate", str(pkg)],
        "frictionless validate": [str(BIN / "frictionless"), "validate", str(pkg / "datapackage.json")],
    }
    results = {}
    for name, cmd in commands.items():
        print(f"timing {name} (best of {args.repeat}) …", flush=True)
        results[name] = best_of(cmd, args.repeat, args.timeout)

    m = re.search(r"(\d+) rows", results["bazhong-accounts validate"]["output"])
    rows = int(m.group(1)) if m else ""
    ref = results["frictionless validate"]["seconds"]
    label = os.path.relpath(pkg, ROOT) if pkg.is_relative_to(ROOT) else str(pkg)
    table = []
    for name, r in results.items():
        speedup = f"{ref / r['seconds']:.1f}" if ref and r["seconds"] else ""
        table.append({"package": label, "rows": rows, "command": name,
                      "best_seconds": "" if r["seconds"] is None else f"{r['seconds']:.3f}", "runs": args.repeat,
                      "exit_code": "" if r["code"] is None else r["code"], "speedup_vs_frictionless": speedup,
                      "note": r["note"]})

    print(f"\npackage {label}: {rows} rows")
    print(f"{'command':28s} {'best (s)':>9s} {'exit':>5s} {'speedup':>8s}")
    for row in table:
        print(f"{row['command']:28s} {row['best_seconds'] or 'n/a':>9s} {str(row['exit_code']):>5s} "
              f"{(row['speedup_vs_frictionless'] + 'x') if row['speedup_vs_frictionless'] else '':>8s} {row['note']}")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(table)
    os.replace(tmp, out)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
