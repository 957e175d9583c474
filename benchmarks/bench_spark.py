"""The Spark engine on one package, cold and warm: per round the wall time, the JVM's CPU, this
process's CPU and the Spark jobs run, each round in the same fresh JVM (round 0 pays the JIT and
the class loading). With --against REF, a checkout of REF is timed the same way, the two taking
turns, so both see the same machine; the load average is printed with each.

    .venv/bin/python benchmarks/bench_spark.py --against main      # about 3 minutes on a quiet machine

No results are remembered between rounds (backends.remember_results is not called): every round
runs every job, as a `validate --engine spark` does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from suite_time import checkout, env_for, load

ROOT = Path(__file__).resolve().parents[1]


def measure(package: str, rounds: int) -> list[dict]:
    """In this process (the tree's src/ first on the path): `rounds` runs of engines.collect."""
    from bazhong_accounts.checks import engines
    from bazhong_accounts.checks.engines.backends import spark_session

    session = spark_session()
    context = session.sparkContext
    jvm = Path(f"/proc/{context._gateway.proc.pid}/stat")  # the JVM pyspark started

    def jvm_cpu() -> float:
        fields = jvm.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def jobs() -> int:
        return context._jsc.sc().dagScheduler().nextJobId()

    out = []
    for _ in range(rounds):
        wall, jvm0, py0, jobs0 = time.perf_counter(), jvm_cpu(), sum(os.times()[:2]), jobs()
        result = engines.collect(package, "spark")
        out.append({"wall": time.perf_counter() - wall, "jvm_cpu": jvm_cpu() - jvm0,
                    "py_cpu": sum(os.times()[:2]) - py0, "jobs": jobs() - jobs0,
                    "problems": len(result.report.problems), "known": len(result.report.known)})
    return out


def run(tree: Path, package: str, rounds: int) -> list[dict]:
    """measure() in a process of its own importing `tree`'s src/ (a fresh JVM each time)."""
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); from bench_spark import measure; "
            f"print(json.dumps(measure({package!r}, {rounds})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env_for(tree),
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def trees_to_time(against: str | None):
    """{name: tree}: this checkout, after a temporary worktree of `against` (removed on leaving)."""
    if not against:
        yield {"this checkout": ROOT}
        return
    tree = checkout(against)
    try:
        yield {against: tree, "this checkout": ROOT}
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
        shutil.rmtree(tree.parent, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", metavar="REF", help="also time a checkout of this git ref (e.g. main)")
    ap.add_argument("--package", default=str(ROOT), help="the package directory (default: this checkout's)")
    ap.add_argument("--rounds", type=int, default=2, help="runs in one JVM (the first is cold)")
    ap.add_argument("--turns", type=int, default=2, help="fresh JVMs per tree, taking turns")
    args = ap.parse_args()
    with trees_to_time(args.against) as trees:
        for turn in range(args.turns):
            for name, tree in trees.items():
                before = load()
                for i, r in enumerate(run(tree, args.package, args.rounds)):
                    print(f"{name} (turn {turn}, round {i}): wall {r['wall']:.1f} s | JVM CPU {r['jvm_cpu']:.1f} s | "
                          f"Python CPU {r['py_cpu']:.1f} s | {r['jobs']} jobs | {r['problems']} problems, "
                          f"{r['known']} known | load {before}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
