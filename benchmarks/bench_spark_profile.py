"""Where the Spark tests' JVM spends its CPU: the module tests/checks/test_engines_spark.py run
once (no xdist, CI=true: no class archive) with Java Flight Recorder on, then JFR's execution
samples of every thread, split by thread and, for the driver thread, by stage (parsing,
analysis, optimisation, planning, ClosureCleaner reading and parsing class files, task
serialisation, class loading, …) and by the Spark call Python made (sql, localCheckpoint,
collect, createOrReplaceTempView).

    .venv/bin/python benchmarks/bench_spark_profile.py [-k EXPR] [--keep FILE | --jfr FILE]   # about 4 minutes

--jfr FILE reads a recording already made (no test run); --keep FILE keeps the one made. A
driver sample's stage is the first of STAGES found in its stack (ClosureCleaner before the
planning that called it; `optimise` and `plan` include what explainString made Spark compute
lazily); its entry the Spark call Python made. Percentages are of the driver's samples.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JFR = "/usr/lib/jvm/java-17-openjdk-amd64/bin/jfr"

# what a driver sample is doing, the first of these found in its stack (so ClosureCleaner's own
# class loading counts as ClosureCleaner): (name, class name ends with, method name starts with)
STAGES = (
    ("ClosureCleaner", "org.apache.spark.util.ClosureCleaner", ""),
    ("ClosureCleaner", "org.apache.spark.util.ClosureCleaner$", ""),
    ("task serialisation", "java.io.ObjectOutputStream", ""),
    ("class loading", "java.lang.ClassLoader", "loadClass"),
    ("parse", "SparkSqlParser", ""),
    ("parse", "AbstractSqlParser", ""),
    ("optimise", "QueryExecution", "lambda$optimizedPlan"),
    ("optimise", "QueryExecution", "$anonfun$optimizedPlan"),
    ("plan", "QueryExecution", "lambda$sparkPlan"),
    ("plan", "QueryExecution", "$anonfun$sparkPlan"),
    ("plan", "QueryExecution", "lambda$executedPlan"),
    ("plan", "QueryExecution", "$anonfun$executedPlan"),
    ("analyse", "QueryExecution", "assertAnalyzed"),
    ("analyse", "QueryExecution", "lambda$analyzed"),
    ("analyse", "QueryExecution", "$anonfun$analyzed"),
    ("explain string", "QueryExecution", "explainString"),
    ("plan info", "SparkPlanInfo$", ""),
    ("build RDDs", "SparkPlan", "execute"),
    ("schedule", "DAGScheduler", ""),
)
THREADS = (("driver", ("Thread-", "main")), ("executor", ("Executor task",)), ("scheduler", ("dag-scheduler",)),
           ("JIT", ("C1 CompilerThre", "C2 CompilerThre")))


def record(out: Path, select: str | None) -> None:
    """The module's tests, one process, JFR writing `out`."""
    from bazhong_accounts.checks.engines.backends import JAVA_OPTIONS

    env = dict(os.environ, CI="true", PYTHONDONTWRITEBYTECODE="",
               BAZHONG_SPARK_JAVA_OPTIONS=f"{JAVA_OPTIONS} -XX:StartFlightRecording=filename={out},settings=profile "
                                          "-XX:FlightRecorderOptions:stackdepth=2048 "
                                          "-Xlog:jfr=off")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/checks/test_engines_spark.py"]
    if select:
        cmd += ["-k", select]
    subprocess.run(cmd, cwd=ROOT, env=env, check=False)


def group(thread: str) -> str:
    return next((g for g, starts in THREADS if any(thread.startswith(x) for x in starts)), "other")


def stage(frames: list[tuple[str, str]]) -> str:
    for name, cls, method in STAGES:
        if any(c.endswith(cls) and m.startswith(method) for c, m in frames):
            return name
    return "other"


def entry(frames: list[tuple[str, str]]) -> str:
    """The Spark call Python made (py4j's target): the outermost frame of Spark's own."""
    return next((f"{c.rsplit('.', 1)[-1]}.{m}" for c, m in reversed(frames) if c.startswith("org.apache.spark")), "?")


def samples(jfr: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """(thread name, frames leaf first as (class, method)) of each execution sample."""
    text = subprocess.run([JFR, "print", "--json", "--stack-depth", "2048", "--events", "jdk.ExecutionSample", str(jfr)],
                          capture_output=True, text=True, check=True).stdout
    out = []
    for e in json.loads(text)["recording"]["events"]:
        values = e["values"]
        frames = [(f["method"]["type"]["name"].replace("/", "."), f["method"]["name"])
                  for f in values["stackTrace"]["frames"]]
        out.append(((values.get("sampledThread") or {}).get("javaName") or "?", frames))
    return out


def summarise(jfr: Path) -> None:
    rows = samples(jfr)
    by_thread = collections.Counter(group(t) for t, _ in rows)
    driver = [frames for t, frames in rows if group(t) == "driver"]
    total, n = len(rows), len(driver) or 1
    print(f"{total} samples; by thread: " + ", ".join(f"{g} {c} ({100 * c / total:.0f} %)" for g, c in by_thread.most_common()))
    stages = collections.Counter(stage(f) for f in driver)
    print("driver thread, by stage (% of its samples): " + ", ".join(f"{s} {100 * c / n:.1f}" for s, c in stages.most_common()))
    table = collections.Counter((entry(f), stage(f)) for f in driver)
    entries = collections.Counter(entry(f) for f in driver)
    print("driver thread, by the Spark call Python made, and its stages:")
    for e, c in entries.most_common(8):
        inner = ", ".join(f"{s} {100 * k / n:.1f}" for (ee, s), k in table.most_common() if ee == e)
        print(f"  {100 * c / n:5.1f} %  {e}: {inner}")
    tops = collections.Counter(f"{f[0][0]}.{f[0][1]}" for f in driver if f)
    print("driver's leaf frames, most sampled:")
    for name, c in tops.most_common(12):
        print(f"  {100 * c / n:5.1f} %  {name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", dest="select", help="pytest -k expression (default: every test of the module)")
    ap.add_argument("--jfr", type=Path, help="summarise this recording rather than make one")
    ap.add_argument("--keep", type=Path, help="write the recording here (kept)")
    args = ap.parse_args()
    if args.jfr:
        summarise(args.jfr)
        return 0
    if args.keep:
        record(args.keep.resolve(), args.select)
        summarise(args.keep)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-spark-profile-") as tmp:
        out = Path(tmp) / "spark.jfr"
        record(out, args.select)
        summarise(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
