"""How many cores `validate --engine duckdb` keeps busy, phase by phase, in one process:

    python benchmarks/bench_cores.py --data-dir /work/data            # N = 10,000, 3 rounds

A thread reads every thread's /proc/<pid>/task/*/schedstat (nanoseconds run, nanoseconds waited
on the run queue) each 20 ms. Per phase (the load phase, engines._load_all; the lanes, lanes.run;
the known errata printed after them) it prints the cores used (run time / wall time) and the cores
waited for (run-queue time / wall time). Used near the machine's cores with threads waiting means
the phase is bound by CPU, so wall time only falls with CPU time; used well below them with
nothing waiting means idle cores (a serial stretch) that more parallelism would fill. Waiting
counts the process's own threads beyond the cores and other processes' alike.
"""

from __future__ import annotations

import glob
import os
import statistics
import threading
import time

from bench_engines import package_bench_args

from bazhong_accounts.checks import engines
from bazhong_accounts.checks.engines import lanes

PHASES = ("load phase", "between", "lanes", "after lanes")


class Sampler:
    """Run and run-queue nanoseconds of every thread the process has had (a thread that ended
    keeps its last reading), sampled every `every` seconds."""

    def __init__(self, every: float = 0.02):
        self.every, self.seen, self.samples = every, {}, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _snap(self) -> tuple[float, int, int]:
        for f in glob.glob(f"/proc/{os.getpid()}/task/*/schedstat"):
            try:
                run, wait, _ = open(f).read().split()
            except (OSError, ValueError):  # the thread ended meanwhile
                continue
            self.seen[f] = (int(run), int(wait))
        return time.perf_counter(), sum(r for r, _ in self.seen.values()), sum(w for _, w in self.seen.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self._snap())
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self._snap())

    def between(self, start: float, end: float) -> tuple[float, float]:
        """(cores used, cores waited for) from the samples nearest start and end."""
        a = min(self.samples, key=lambda s: abs(s[0] - start))
        b = min(self.samples, key=lambda s: abs(s[0] - end))
        dt = b[0] - a[0]
        return ((b[1] - a[1]) / 1e9 / dt, (b[2] - a[2]) / 1e9 / dt) if dt > 0 else (0.0, 0.0)


def one_run(root) -> dict[str, tuple[float, float, float]]:
    """phase -> (wall seconds, cores used, cores waited for) of one validate."""
    marks: list[tuple[str, float]] = []
    load_all, run = engines._load_all, lanes.run

    def timed(label: str, after: str, fn):
        def inner(*args, **kwargs):
            marks.append((label, time.perf_counter()))
            try:
                return fn(*args, **kwargs)
            finally:
                marks.append((after, time.perf_counter()))
        return inner

    engines._load_all, lanes.run = timed("load phase", "between", load_all), timed("lanes", "after lanes", run)
    try:
        with Sampler() as sampler:
            with engines.checked(root, "duckdb") as result:
                sum(1 for _ in result.report.known)  # read and worded as the CLI prints them
            marks.append(("end", time.perf_counter()))
    finally:
        engines._load_all, lanes.run = load_all, run
    return {label: (end - start, *sampler.between(start, end))
            for (label, start), (_, end) in zip(marks, marks[1:])}


def main() -> None:
    args, root = package_bench_args(__doc__.split("\n")[0], "bench_cores")
    runs = [one_run(root) for _ in range(args.rounds)]
    for i, got in enumerate(runs):
        print(f"round {i + 1}  " + "  ".join(f"{p} {got[p][0]:.2f} s" for p in PHASES if p in got))
    print(f"load {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores; medians of {len(runs)} rounds:")
    for phase in PHASES:
        got = [r[phase] for r in runs if phase in r]
        wall, used, waited = (statistics.median(g[i] for g in got) for i in range(3))
        print(f"  {phase:12s} wall {wall:5.2f} s  cores used {used:4.2f}  waited for {waited:4.2f}")


if __name__ == "__main__":
    main()
