"""Where the Spark tests' JVM spends its CPU: the module tests/checks/test_engines_spark.py run
once (no xdist, CI=true: no class archive) with Java Flight Recorder on, then JFR's execution
samples of every thread, split by thread and, for the driver thread, by phase (parsing, analysis,
optimisation, planning, checkpoints, building RDDs, task serialisation, …) and by what the
leaf frames do (ClosureCleaner reading class files, class loading).

    .venv/bin/python benchmarks/bench_spark_profile.py [-k EXPR] [--jfr FILE]   # about 3 minutes

--jfr FILE reads a recording already made (no test run); --keep FILE keeps the one made. A sample belongs to the first phase
whose frame appears in its stack, read from the thread's root; so `checkpoint` is the work done
under a local checkpoint's computation whatever it is. Percentages are of the driver's samples.
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

# the driver's phases, by a frame of the stack (class, method prefix), tried root first
PHASES = (
    ("parse", ("org.apache.spark.sql.catalyst.parser.", "")),
    ("parse", ("org.apache.spark.sql.execution.SparkSqlParser", "")),
    ("analyse", ("org.apache.spark.sql.execution.QueryExecution", "assertAnalyzed")),
    ("analyse", ("org.apache.spark.sql.execution.QueryExecution", "lambda$analyzed")),
    ("analyse", ("org.apache.spark.sql.catalyst.analysis.", "")),
    ("optimise", ("org.apache.spark.sql.execution.QueryExecution", "lambda$optimizedPlan")),
    ("optimise", ("org.apache.spark.sql.catalyst.optimizer.", "")),
    ("plan", ("org.apache.spark.sql.execution.QueryExecution", "lambda$sparkPlan")),
    ("plan", ("org.apache.spark.sql.execution.QueryExecution", "lambda$executedPlan")),
    ("plan", ("org.apache.spark.sql.execution.QueryExecution$", "createSparkPlan")),
    ("plan", ("org.apache.spark.sql.execution.QueryExecution$", "prepareForExecution")),
    ("explain", ("org.apache.spark.sql.execution.QueryExecution", "explainString")),
    ("explain", ("org.apache.spark.sql.execution.QueryExecution", "simpleString")),
    ("schedule", ("org.apache.spark.scheduler.DAGScheduler", "")),
    ("schedule", ("org.apache.spark.scheduler.", "")),
    ("run job / RDDs", ("org.apache.spark.SparkContext", "runJob")),
    ("build RDDs", ("org.apache.spark.sql.execution.SparkPlan", "execute")),
    ("arrow in", ("org.apache.spark.sql.api.python.PythonSQLUtils", "")),
    ("arrow in", ("org.apache.spark.sql.execution.arrow.", "")),
    ("checkpoint", ("org.apache.spark.sql.classic.Dataset", "checkpoint")),
    ("checkpoint", ("org.apache.spark.sql.classic.Dataset", "localCheckpoint")),
    ("view", ("org.apache.spark.sql.classic.Dataset", "createOrReplaceTempView")),
    ("analyse", ("org.apache.spark.sql.classic.Dataset$", "ofRows")),
    ("collect", ("org.apache.spark.sql.Dataset", "collectToPython")),
    ("collect", ("org.apache.spark.sql.classic.Dataset", "collectToPython")),
    ("py4j", ("py4j.", "")),
)
# what the leaf frames do, whatever the phase
LEAVES = (
    ("ClosureCleaner", "org.apache.spark.util.ClosureCleaner"),
    ("class loading", "java.lang.ClassLoader.loadClass"),
    ("class loading", "java.lang.ClassLoader.defineClass"),
    ("jar reading", "java.util.zip."),
    ("serialisation", "java.io.ObjectOutputStream"),
    ("serialisation", "org.apache.spark.serializer."),
    ("tree copy", "org.apache.spark.sql.catalyst.trees.TreeNode.makeCopy"),
    ("regex", "java.util.regex."),
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
    return next((g for g, starts in THREADS if any(thread.startswith(s) for s in starts)), "other")


def frame_name(frame: dict) -> tuple[str, str]:
    method = frame["method"]
    return method["type"]["name"].replace("/", "."), method["name"]


def phase(frames: list[tuple[str, str]]) -> str:
    for cls, method in reversed(frames):  # root first
        for name, (c, m) in PHASES:
            if cls.startswith(c) and method.startswith(m):
                return name
    return "other"


def anywhere(frames: list[tuple[str, str]]) -> str:
    """The first of LEAVES found anywhere in the stack, leaf first: ClosureCleaner whatever it reads."""
    names = [f"{cls}.{method}" for cls, method in frames]
    for name, prefix in LEAVES:
        if any(n.startswith(prefix) for n in names):
            return name
    return "-"


def leaf(frames: list[tuple[str, str]]) -> str:
    for cls, method in frames:  # leaf first
        full = f"{cls}.{method}"
        for name, prefix in LEAVES:
            if full.startswith(prefix):
                return name
    return "-"


def summarise(jfr: Path) -> None:
    text = subprocess.run([JFR, "print", "--json", "--stack-depth", "400", "--events", "jdk.ExecutionSample", str(jfr)],
                          capture_output=True, text=True, check=True).stdout
    events = json.loads(text)["recording"]["events"]
    by_thread: collections.Counter = collections.Counter()
    phases: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    tops: collections.Counter = collections.Counter()
    inside: collections.Counter = collections.Counter()
    truncated = 0
    for e in events:
        values = e["values"]
        thread = (values.get("sampledThread") or {}).get("javaName") or "?"
        g = group(thread)
        by_thread[g] += 1
        if g != "driver":
            continue
        frames = [frame_name(f) for f in values["stackTrace"]["frames"]]
        truncated += bool(values["stackTrace"].get("truncated"))
        inside[anywhere(frames)] += 1
        p, lf = phase(frames), leaf(frames)
        phases[p] += 1
        leaves[(p, lf)] += 1
        if frames:
            tops[f"{frames[0][0]}.{frames[0][1]}"] += 1
    total, driver = sum(by_thread.values()), by_thread["driver"]
    print(f"{total} samples; by thread: " + ", ".join(f"{g} {n} ({100 * n / total:.0f} %)" for g, n in by_thread.most_common()))
    print("driver thread, by phase (and what its leaf frames do):")
    for p, n in phases.most_common():
        inner = ", ".join(f"{lf} {100 * m / driver:.1f}" for (pp, lf), m in leaves.most_common() if pp == p and lf != "-")
        print(f"  {p:<16} {100 * n / driver:5.1f} %   {inner}")
    print(f"driver samples with a truncated stack: {100 * truncated / driver:.1f} %")
    print("driver samples with a frame of (first found in LEAVES' order): "
          + ", ".join(f"{name} {100 * n / driver:.1f} %" for name, n in inside.most_common() if name != "-"))
    print("driver's leaf frames, most sampled:")
    for name, n in tops.most_common(25):
        print(f"  {100 * n / driver:5.1f} %  {name}")


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
