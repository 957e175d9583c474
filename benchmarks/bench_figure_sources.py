"""What check (f), figure sources, costs `validate --engine duckdb` on a big package, side by side
in one process: the run as it is, the run without check (f) (its step a no-op and the load
keeping only the columns the other checks read: the run before check (f) came to the engines),
and the run whose load keeps check (f)'s columns but skips its step (the load's share), each
round in turn. Prints wall and CPU seconds of each run, the step's own, the medians and the least.

    python benchmarks/bench_figure_sources.py --data-dir /work/data [--n 10000] [--rounds 3]
"""

from __future__ import annotations

import resource
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engines import package_bench_args  # noqa: E402

from bazhong_accounts.checks import engines  # noqa: E402
from bazhong_accounts.checks.engines import figure_sources_sql  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextmanager
def variant(name: str, step: list):
    """The engine as `name` says, put back after."""
    queries, check = figure_sources_sql.queries, figure_sources_sql.check

    def timed(*a):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return check(*a)
        finally:
            step.append((time.perf_counter() - t0, time.thread_time() - c0))

    figure_sources_sql.check = timed
    if name != "with (f)":
        figure_sources_sql.check = lambda *a: (0, 0, 0)
    if name == "without (f)":
        figure_sources_sql.queries = lambda schemas: []
    try:
        yield
    finally:
        figure_sources_sql.queries, figure_sources_sql.check = queries, check


def main() -> None:
    args, root = package_bench_args(__doc__.split("\n")[0], "bench_figure_sources")
    names = ("with (f)", "without (f)", "(f)'s columns loaded, step skipped")
    runs: dict[str, list] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names:
            step: list = []
            with variant(name, step):
                t0, c0 = time.perf_counter(), cpu()
                with engines.checked(root, "duckdb") as result:
                    problems = len(result.report.problems)
                wall, used = time.perf_counter() - t0, cpu() - c0
            runs[name].append((wall, used))
            own = f"; step {step[0][0]:.3f} s wall, {step[0][1]:.3f} s CPU of its thread" if step else ""
            print(f"round {r + 1} {name}: {wall:.2f} s wall, {used:.2f} s CPU, {problems} problems, "
                  f"numbers {result.numbers}{own}", flush=True)
    print(f"load average {open('/proc/loadavg').read().split()[:3]}; threads {threading.active_count()}")
    for name in names:  # the least of the runs is the one other processes disturbed least
        print(f"{name}: median {statistics.median(w for w, _ in runs[name]):.2f} s wall, "
              f"{statistics.median(c for _, c in runs[name]):.2f} s CPU; least {min(w for w, _ in runs[name]):.2f} s "
              f"wall, {min(c for _, c in runs[name]):.2f} s CPU")


if __name__ == "__main__":
    main()
