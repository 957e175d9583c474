"""`validate --engine duckdb` as the CLI runs it, in one process: when each part runs, on which
thread, and how many cores the process uses meanwhile.

    python benchmarks/bench_timeline.py --data-dir /work/data            # N = 10,000, 1 round
    python benchmarks/bench_timeline.py --data-dir /work/data --rounds 3    # spans of the last

The CLI's own entry point (cli.main) runs the package, its output to a temporary file whose md5 is
printed (to compare two trees: PYTHONPATH=<tree>/src), with the parts wrapped to record their
start and end (seconds since the interpreter's start) and the thread CPU seconds Python's thread
spent in them (DuckDB's own worker threads are not a thread's): the loads and the questions asked
after each (AskedAfterLoad), the byte pass, each step of the two lanes (lanes.py), the known
errata worded, the output and DuckDB's close. bench_cores' Sampler reads every thread's run time
each 0.1 s: the cores in use, in 0.5 s windows, show where the run leaves a core idle. On a busy machine the
other processes take cores too: read the CPU seconds, and the load average printed. The first
round pays the imports (the CLI's: a fresh process would too); later rounds find them done.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

START = time.perf_counter()

from bench_cores import Sampler  # noqa: E402
from bench_engines import package_bench_args  # noqa: E402

import bazhong_accounts.checks.engines as engines  # noqa: E402
from bazhong_accounts import cli  # noqa: E402
from bazhong_accounts.checks import validate  # noqa: E402
from bazhong_accounts.checks.engines import backends, identities, lanes  # noqa: E402

MIN_SPAN = 0.02  # seconds: shorter spans are not printed
Span = tuple[str, str, float, float, float]  # (what, thread, start, end, thread CPU seconds)


class Recorder:
    def __init__(self):
        self.spans: list[Span] = []

    def timed(self, fn, label):
        def wrapped(*args, **kwargs):
            t, c = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spans.append((label(*args) if callable(label) else label, threading.current_thread().name,
                                   t - START, time.perf_counter() - START, time.thread_time() - c))
        return wrapped


@contextlib.contextmanager
def patched(rec: Recorder):
    """The parts wrapped for the run, put back after."""
    saved = []

    def wrap(owner, name, label=None):
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, rec.timed(getattr(owner, name), label or name))

    wrap(engines, "_load_all", "load phase")
    wrap(engines, "_bytes_checked", "byte pass (its waits included)")
    wrap(engines, "_failed_cells", lambda _e, loads: "cell masks " + ",".join(loads))
    wrap(engines, "_duplicate_keys", lambda _e, schemas: "key order " + ",".join(schemas))
    wrap(backends.DuckDBEngine, "load", lambda _s, name, *_: "load " + name)
    wrap(identities.KnownErrata, "render", "known errata worded")
    wrap(validate, "_print", "output")
    wrap(backends.DuckDBEngine, "close", "close")
    wrap(lanes, "_guard", lambda _r, what, *_: "step " + what)
    try:
        yield
    finally:
        for owner, name, fn in reversed(saved):
            setattr(owner, name, fn)


def run(root: Path, rec: Recorder, sampler: Sampler) -> tuple[float, float, str]:
    """(wall, process CPU seconds, md5 of the output) of one `validate --engine duckdb`."""
    out = Path(tempfile.mkstemp(prefix="bench-timeline-")[1])
    argv = sys.argv
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        sys.argv = ["bazhong-accounts", "validate", str(root), "--engine", "duckdb"]
        with sampler, patched(rec), open(out, "w", encoding="utf-8") as fh, contextlib.redirect_stdout(fh):
            with contextlib.suppress(SystemExit):
                cli.main()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return wall, cpu, hashlib.md5(out.read_bytes()).hexdigest()
    finally:
        sys.argv = argv
        out.unlink()


def cores(sampler: Sampler, window: float = 0.5) -> list[tuple[float, float]]:
    """(end of window, seconds since the interpreter's start; cores in use over it)."""
    out, t, end = [], sampler.samples[0][0], sampler.samples[-1][0]
    while t + window <= end:
        out.append((t + window - START, sampler.between(t, t + window)[0]))
        t += window
    return out


def main() -> int:
    args, root = package_bench_args(__doc__.split("\n\n")[0], "bench_timeline")
    runs = []
    for i in range(args.rounds):
        rec, sampler = Recorder(), Sampler(every=0.1)
        wall, cpu, md5 = run(root, rec, sampler)
        runs.append((wall, cpu))
        print(f"round {i + 1}: wall {wall:.2f} s, CPU {cpu:.2f} s (process), output md5 {md5}, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    print("start   end   wall  thread-CPU  thread                     what  (the last round, spans of "
          f"{MIN_SPAN} s or more)")
    for what, thread, t0, t1, cpu_s in sorted(rec.spans, key=lambda s: s[2]):
        if t1 - t0 >= MIN_SPAN:
            print(f"{t0:5.2f} {t1:5.2f} {t1 - t0:6.2f} {cpu_s:8.2f}    {thread[:24]:24s}   {what}")
    print("cores in use (0.5 s windows): " + " ".join(f"{t:.1f}:{c:.1f}" for t, c in cores(sampler)))
    if len(runs) > 1:
        print(f"median: wall {statistics.median(w for w, _ in runs):.2f} s, CPU {statistics.median(c for _, c in runs):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
