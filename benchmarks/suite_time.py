"""Test time of `make test`'s pytest line, here and (with --against REF) in a checkout of REF, run
one after the other so both see the same machine: wall time, CPU time (user + sys of pytest and
everything it started), the load average, and whether both collect the same test ids.

    .venv/bin/python benchmarks/suite_time.py --against main      # about 4 minutes on a quiet machine
    .venv/bin/python benchmarks/suite_time.py --profile           # and where the CPU goes (suite_profile.py)
    CI=true .venv/bin/python benchmarks/suite_time.py --against main --rounds 2 --fresh --profile

Each tree runs the pytest line of its own Makefile (so a change of workers or options is timed
as `make test` runs it); --rounds alternates the trees (REF, this, REF, this, ...) and prints the
medians; --fresh removes src/'s and tests/'s bytecode before each run, as a fresh clone has none.

Measured (stop 24, helper suite9, load 4-10 from other helpers): main's `-n 2` 449.5 s of tests,
`-n 3` 674.4 s (one pair; the load rose to 9.5 in the second). `-n 3` is not taken: with a third
worker the other two ran out of tests while the first was still in the Spark module and worksteal
gave them its remaining Spark tests, each worker starting a JVM of its own (JVM CPU 106.8 -> 177.6
s); and there is no idle core for a third worker to use: while the Spark module ran, the Spark
worker's process tree (its Python waiting on py4j, the JVM computing) had a runnable thread in
98.8 % of the samples (1.39 on average, the JVM's collector and compiler beside the driver), the
other worker in 99.0 % (1.43). The suite is bound by its CPU, not by idle time. Again at load
0.8-2.9 (CI=true, --fresh --profile): 982 passed in 163.6 s, the suite's threads runnable 2.82 on
average on 2 cores, 3.0 core-seconds (1 %) with none runnable for a core; its CPU (279 s on 164 s,
1.70 cores) leaves the rest of the two cores to the other processes of the machine, not idle.

REF's tests import REF's src/ (PYTHONPATH; the venv's editable install points at this checkout's),
except where a test starts a process without PYTHONPATH (the README examples, the wheel). The
checkout of REF is a temporary git worktree, removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the pytest line of the Makefile's test target when a tree's Makefile has none
PYTEST = ["-m", "pytest", "-n", "2", "--dist", "worksteal", "-m", "not spark_slow", "-p", "no:cacheprovider"]
# --one-worker: the tests but the Spark module's in one process, each test's CPU its own
ONE_WORKER = ["-m", "pytest", "-p", "no:xdist", "-m", "not spark_slow", "-p", "no:cacheprovider",
              "--deselect", "tests/checks/test_engines_spark.py"]


def makefile_line(tree: Path) -> list[str]:
    """The arguments after `python` of the pytest line of tree's Makefile test target (PYTEST if none)."""
    for line in (tree / "Makefile").read_text(encoding="utf-8").splitlines():
        if "-m pytest" not in line or not line.startswith("\t"):
            continue
        words = shlex.split(line.split("#", 1)[0])
        at = words.index("pytest") - 2  # ... $(BIN)/python -m pytest ...
        if words[at].endswith("/python") and "-n" in words:  # the test target's, not test-spark's
            return [*words[at + 1:], "-p", "no:cacheprovider"]
    return PYTEST


def without_bytecode(tree: Path) -> None:
    """src/'s and tests/'s __pycache__ removed: the first run of a fresh clone compiles them."""
    for part in ("src", "tests", "benchmarks"):
        for cache in (tree / part).rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def env_for(tree: Path) -> dict:
    """The environment of a run in tree: its own src/ first on the path."""
    if tree == ROOT:
        return dict(os.environ)
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tree / "src"), os.environ.get("PYTHONPATH")])))


def collected(tree: Path) -> set[str]:
    """The test ids pytest collects in tree (the same selection as the timed run)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not spark_slow",
                          "-p", "no:cacheprovider"], cwd=tree, env=env_for(tree), capture_output=True, text=True).stdout
    return {line for line in out.splitlines() if "::" in line}


def timed(tree: Path, durations: int, pytest_line: list[str] = PYTEST, profile: Path | None = None) -> dict:
    """One run of the pytest line in tree: wall and CPU seconds, the summary line, the slowest tests;
    with `profile`, suite_profile's rows written there."""
    env, extra = env_for(tree), []
    if profile:
        extra = ["-p", "suite_profile"]
        env.update(SUITE_PROFILE_OUT=str(profile),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "benchmarks"), env.get("PYTHONPATH")])))
    before, load_before, start = resource.getrusage(resource.RUSAGE_CHILDREN), load(), time.perf_counter()
    proc = subprocess.run([sys.executable, *pytest_line, *extra, "-q", f"--durations={durations}"], cwd=tree,
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = next((s for s in reversed(proc.stdout.splitlines()) if re.search(r"\d+ (passed|failed)", s)), "?")
    slowest = [s for s in proc.stdout.splitlines() if re.match(r"^\d+\.\d+s (setup|call|teardown) ", s)]
    failed = [s for s in proc.stdout.splitlines() if s.startswith(("FAILED ", "ERROR "))]
    return {"wall": wall, "cpu": cpu, "load": f"{load_before} -> {load()}", "summary": summary.strip("= "),
            "slowest": failed + slowest, "code": proc.returncode}


def checkout(ref: str) -> Path:
    tree = Path(tempfile.mkdtemp(prefix="suite-time-")) / "ref"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True,
                   capture_output=True)
    if (ROOT / "node_modules").is_dir():  # axe-core and Chart.js for the browser test
        os.symlink(ROOT / "node_modules", tree / "node_modules")
    return tree


@contextlib.contextmanager
def trees_to_time(against: str | None) -> Iterator[dict[str, Path]]:
    """{name: tree}: REF's temporary checkout first (removed at the end), then this checkout."""
    trees = {"this checkout": ROOT}
    if against:
        trees = {against: checkout(against), **trees}
    try:
        yield trees
    finally:
        if against:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(trees[against])],
                           capture_output=True)
            shutil.rmtree(trees[against].parent, ignore_errors=True)


def parser_against(doc: str) -> argparse.ArgumentParser:
    """The arguments of a script that times this checkout, and with --against a ref's too."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--against", metavar="REF", help="also time a checkout of this git ref (e.g. main)")
    return ap


def main() -> int:
    ap = parser_against(__doc__)
    ap.add_argument("--durations", type=int, default=10, help="the slowest N tests of each run")
    ap.add_argument("--profile", action="store_true", help="also the CPU split, by module and by fixture")
    ap.add_argument("--one-worker", action="store_true", help="no xdist, the Spark module left out")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each tree, alternated; medians printed")
    ap.add_argument("--fresh", action="store_true", help="no bytecode of src/ and tests/ before each run")
    ap.add_argument("--keep", metavar="DIR", type=Path, help="keep suite_profile's rows there (with --profile)")
    args = ap.parse_args()
    with trees_to_time(args.against) as trees:
        if args.against:
            ids = {name: collected(tree) for name, tree in trees.items()}
            a, b = ids.values()
            print(f"test ids: {len(a)} and {len(b)}; " + ("the same" if a == b else
                  f"only in {args.against}: {sorted(a - b)[:5]}, only here: {sorted(b - a)[:5]}"))
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for round_ in range(1, args.rounds + 1):
            for name, tree in trees.items():
                r = one_run(tree, args, f"{name.replace(' ', '-')}-{round_}")
                runs[name].append(r)
                print(f"\n{name} (round {round_}, {' '.join(r['line'][2:])}): {r['summary']} | wall {r['wall']:.1f} s"
                      f" | CPU {r['cpu']:.1f} s | load {r['load']}", flush=True)
                print("\n".join("  " + s for s in r["slowest"]))
                if r.get("profile"):
                    print(r["profile"], flush=True)
        if args.rounds > 1:
            for name, rs in runs.items():
                print(f"median of {len(rs)} {name}: wall {statistics.median(r['wall'] for r in rs):.1f} s, "
                      f"CPU {statistics.median(r['cpu'] for r in rs):.1f} s")
    return 0


def one_run(tree: Path, args, label: str) -> dict:
    """One timed run of tree's pytest line (its suite_profile summary under "profile")."""
    line = ONE_WORKER if args.one_worker else makefile_line(tree)
    if args.fresh:
        without_bytecode(tree)
    rows = Path(tempfile.mkstemp(prefix="suite-profile-", suffix=".jsonl")[1]) if args.profile else None
    r = timed(tree, args.durations, line, rows)
    r["line"] = line
    if rows:
        from suite_profile import summary

        r["profile"] = summary([json.loads(x) for x in rows.read_text(encoding="utf-8").splitlines()])
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(rows, args.keep / f"{label}.jsonl")
        rows.unlink()
    return r


if __name__ == "__main__":
    sys.exit(main())
