"""Each test of tests/checks/test_engines_spark.py (every Spark case, `spark_slow` or not), one
xdist-free pytest run per tree: per test the wall time, the JVM's CPU, the Python CPU and the
Spark jobs run, and the load average. The JVM's CPU is what the machine's load does not inflate
(the wall time it does). With --against REF, a checkout of REF is timed the same way first.

    .venv/bin/python benchmarks/bench_spark_cases.py --against main   # about 5 minutes on a quiet machine
    CI=true .venv/bin/python benchmarks/bench_spark_cases.py --against main --rounds 3   # alternated, medians

The measuring is a pytest plugin (this module, `-p bench_spark_cases`): it reads the JVM's CPU
from /proc once the session fixture has started it, in all and by its threads' groups (THREADS:
the driver's parsing, Catalyst and job set-up; the executor's tasks; the JIT; the collector).
It also measures a whole suite: `PYTHONPATH=benchmarks BENCH_SPARK_CASES_OUT=rows.jsonl
PYTEST_ADDOPTS="-p bench_spark_cases" make test` writes a row per test, with its xdist worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench_spark import trees_to_time
from suite_time import env_for, load

ROOT = Path(__file__).resolve().parents[1]
OUT = os.environ.get("BENCH_SPARK_CASES_OUT")  # where the plugin writes its rows (JSON lines)


def _jvm_cpu() -> float:
    """CPU seconds of the JVM pyspark started in this process (0 before it starts)."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return 0.0
    fields = Path(f"/proc/{context._gateway.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# the JVM's threads by what they do (their names in /proc/PID/task/*/stat)
THREADS = (("driver", ("Thread-", "java")), ("executor", ("Executor task",)), ("JIT", ("CompilerThre",)),
           ("GC", ("VM Thread", "GC Thread")), ("scheduler", ("dag-scheduler",)))


def _jvm_threads() -> dict[str, float]:
    """CPU seconds of the JVM's threads by THREADS' groups (and `other`): the driver runs the
    parsing, Catalyst's analysis and planning and the jobs' set-up (py4j's Thread-N, one per
    Python thread), the executor the tasks, the JIT and the serial collector their own threads."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    out = dict.fromkeys([g for g, _ in THREADS] + ["other"], 0.0)
    if context is None:
        return out
    for task in Path(f"/proc/{context._gateway.proc.pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # a thread that ended meanwhile
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        group = next((g for g, starts in THREADS if any(name.startswith(x) or x in name for x in starts)), "other")
        out[group] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def _groups(before: dict[str, float], after: dict[str, float], jvm_cpu: float) -> dict[str, float]:
    """Each group's CPU between two readings; the JIT's is what the JVM spent less the others':
    its compiler threads come and go (UseDynamicNumberOfCompilerThreads), taking their CPU along
    from /proc/PID/task, not from the process's total."""
    out = {g: after[g] - before[g] for g in after if g != "JIT"}
    return {"JIT": jvm_cpu - sum(out.values()), **out}


def _jobs() -> int:
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    return context._jsc.sc().dagScheduler().nextJobId() if context is not None else 0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Setup, call and teardown of one test, measured together (the session fixture's JVM start
    goes to the first test)."""
    wall, jvm, py, jobs, before = time.perf_counter(), _jvm_cpu(), sum(os.times()[:2]), _jobs(), load()
    threads = _jvm_threads()
    yield
    if OUT:
        after = _jvm_threads()
        row = {"test": item.name, "wall": time.perf_counter() - wall, "jvm_cpu": _jvm_cpu() - jvm,
               "threads": _groups(threads, after, _jvm_cpu() - jvm),
               "py_cpu": sum(os.times()[:2]) - py, "jobs": _jobs() - jobs, "load": before,
               "worker": os.environ.get("PYTEST_XDIST_WORKER", ""),
               "slow": item.get_closest_marker("spark_slow") is not None}
        with open(OUT, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


def run(tree: Path, out: Path) -> int:
    """The module's tests in `tree` (its src/ first on the path), one process, no xdist."""
    env = dict(env_for(tree), BENCH_SPARK_CASES_OUT=str(out),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "benchmarks"), env_for(tree).get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "bench_spark_cases",
                           "-m", "spark_slow or not spark_slow", "tests/checks/test_engines_spark.py"],
                          cwd=tree, env=env, capture_output=True, text=True)
    print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-2000:], flush=True)
    return proc.returncode


def _split(threads: dict[str, float]) -> str:
    return ", ".join(f"{g} {cpu:.1f}" for g, cpu in threads.items())


def _print(name: str, rows: list[dict]) -> None:
    print(f"{name}:")
    for r in rows:
        print(f"  {r['test']:<62} wall {r['wall']:6.1f} s | JVM CPU {r['jvm_cpu']:6.1f} s | "
              f"Python CPU {r['py_cpu']:5.1f} s | {r['jobs']:4d} jobs | load {r['load']}")
        print(f"  {'':<62} JVM threads: {_split(r['threads'])}")
    for label, chosen in (("all", rows), ("in make test (not spark_slow)", [r for r in rows if not r.get("slow")])):
        total = {k: sum(r[k] for r in chosen) for k in ("wall", "jvm_cpu", "py_cpu", "jobs")}
        print(f"  {label:<62} wall {total['wall']:6.1f} s | JVM CPU {total['jvm_cpu']:6.1f} s | "
              f"Python CPU {total['py_cpu']:5.1f} s | {total['jobs']:4d} jobs", flush=True)
    groups = {g: sum(r["threads"][g] for r in rows) for g in rows[0]["threads"]} if rows else {}
    print(f"  {'':<62} JVM threads: {_split(groups)}", flush=True)


def _medians(runs: dict[str, list[list[dict]]]) -> None:
    """Per tree, the median over the rounds of each test's JVM CPU, and of the totals."""
    print("medians over the rounds (JVM CPU s):")
    for name, rounds in runs.items():
        by_test: dict[str, list[float]] = {}
        for rows in rounds:
            for r in rows:
                by_test.setdefault(r["test"], []).append(r["jvm_cpu"])
        fast = [sum(r["jvm_cpu"] for r in rows if not r.get("slow")) for rows in rounds]
        every = [sum(r["jvm_cpu"] for r in rows) for rows in rounds]
        print(f"  {name}: in make test {statistics.median(fast):.1f} ({', '.join(f'{x:.1f}' for x in fast)}), "
              f"all {statistics.median(every):.1f}")
        for test, values in by_test.items():
            print(f"    {test:<62} {statistics.median(values):6.1f}  ({', '.join(f'{x:.1f}' for x in values)})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", metavar="REF", help="also time a checkout of this git ref (e.g. main)")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each tree, taking turns (medians printed)")
    args = ap.parse_args()
    failed = 0
    runs: dict[str, list[list[dict]]] = {}
    with trees_to_time(args.against) as trees:
        for _ in range(args.rounds):
            for name, tree in trees.items():
                out = Path(f"/tmp/bench_spark_cases.{os.getpid()}.jsonl")
                out.unlink(missing_ok=True)
                failed |= run(tree, out)
                rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
                out.unlink(missing_ok=True)
                runs.setdefault(name, []).append(rows)
                _print(name, rows)
    if args.rounds > 1:
        _medians(runs)
    return failed


if __name__ == "__main__":
    sys.exit(main())
