"""Where `make test`'s CPU goes: a pytest plugin (`-p suite_profile`, benchmarks/ on PYTHONPATH)
that writes a JSON line per test phase and per fixture set-up (wall, the process's own CPU, the
CPU of the child processes it waited for, the Spark JVM's CPU, the xdist worker), and a summary of
such a file: the suite's CPU split into the JVM, the Spark worker's Python and the rest, then CPU
by module and by fixture. suite_time.py --profile runs it:

    .venv/bin/python benchmarks/suite_time.py --profile              # make test's pytest line
    .venv/bin/python benchmarks/suite_time.py --profile --one-worker # no xdist, no Spark module

Child processes count once they have been waited for (the CLI's subprocesses, R, the wheel's
pip); Chromium's and the JVM's do not reach the worker's counters (the JVM's is read from /proc).
A fixture's CPU also counts in the test phase that made it (a set-up phase holds its fixtures).

Under xdist the main process also samples each worker's runnable threads (its JVM, Chromium and
subprocesses included) every half second: the summary's timeline says when each worker ran which
module, the core-seconds no thread of the suite wanted (what a quiet machine would leave idle; the
count does not depend on the load, as wall times do), and what a worker was in while it waited."""

from __future__ import annotations

import bisect
import collections
import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

OUT = os.environ.get("SUITE_PROFILE_OUT")
SPARK_MODULE = "test_engines_spark.py"
EVERY = 0.5  # seconds between two samples of the runnable threads


def _jvm_cpu() -> float:
    """CPU seconds of the JVM pyspark started in this process (0 when none was started)."""
    if "pyspark" not in sys.modules:
        return 0.0
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return 0.0
    try:
        fields = Path(f"/proc/{context._gateway.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # ended (the Spark fixture ends it to keep its class archive; reaped, its CPU is children's)
        return _last_jvm_cpu[0]
    _last_jvm_cpu[0] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return _last_jvm_cpu[0]


_last_jvm_cpu = [0.0]  # its CPU when last read


def _reading() -> tuple[float, float, float, float]:
    t = os.times()
    return time.time(), t.user + t.system, t.children_user + t.children_system, _jvm_cpu()


def _write(row: dict) -> None:
    if OUT:
        row["worker"] = os.environ.get("PYTEST_XDIST_WORKER", "")
        with open(OUT, "a", encoding="utf-8") as fh:  # O_APPEND: the workers' lines do not mix
            fh.write(json.dumps(row) + "\n")


def _measured(kind: str, name: str, before, **extra) -> None:
    after = _reading()
    _write({"kind": kind, "name": name, "at": before[0], "wall": after[0] - before[0], "py": after[1] - before[1],
            "children": after[2] - before[2], "jvm": after[3] - before[3], **extra})


def _phase(kind: str):
    """A hook wrapper that measures one phase (setup, call, teardown) of each test."""
    @pytest.hookimpl(hookwrapper=True)
    def measure(item):
        before = _reading()
        yield
        _measured(kind, item.nodeid, before)

    return measure


pytest_runtest_setup = _phase("setup")
pytest_runtest_call = _phase("call")
pytest_runtest_teardown = _phase("teardown")


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    before = _reading()
    yield
    _measured("fixture", fixturedef.argname, before, scope=fixturedef.scope, where=fixturedef.baseid)


def pytest_sessionstart(session):
    """Each process says its pid (the samples name a worker's processes by it); the main process
    of an xdist run samples, every EVERY seconds, how many threads of each worker's process tree
    (its JVM, Chromium, subprocesses) are runnable: on-CPU or waiting for one. That demand does
    not depend on the machine's load, as wall and CPU times do: while it is below the number of
    cores, a core of a quiet machine idles."""
    _write({"kind": "start", "name": "pid", "at": time.time(), "pid": os.getpid()})
    if OUT and not os.environ.get("PYTEST_XDIST_WORKER") and getattr(session.config.option, "numprocesses", None):
        threading.Thread(target=_sample_demand, args=(os.getpid(),), daemon=True).start()


def _sample_demand(controller: int) -> None:
    while True:
        started = time.time()
        by_worker = _runnable_by_worker(controller)
        if by_worker:
            _write({"kind": "demand", "name": "runnable", "at": started, "pids": by_worker})
        time.sleep(max(0.0, EVERY - (time.time() - started)))


def _runnable_by_worker(controller: int) -> dict[str, int]:
    """{pid of each child of the main process (an xdist worker): its tree's runnable threads}."""
    return {str(worker): sum(_runnable(pid) for pid in _tree(worker)) for worker in _children(controller)}


def _children(pid: int) -> list[int]:
    out = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    return out


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop())
        todo += _children(out[-1])
    return out


def _runnable(pid: int) -> int:
    """Threads of the process that are on a CPU or waiting for one (state R)."""
    n = 0
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, IndexError):
                n += _stat(f"/proc/{pid}/task/{task}/stat")[0] == "R"
    return n


def _stat(path: str) -> list[str]:
    """The fields of a /proc stat file after the command's name: state, ppid, ..."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read().rsplit(")", 1)[1].split()


def pytest_sessionfinish(session):
    """The process's totals: its own CPU (imports and collection included), its waited-for
    children's, the JVM's."""
    now = _reading()
    _write({"kind": "process", "name": "totals", "at": now[0], "py": now[1], "children": now[2], "jvm": now[3]})


# ---------------------------------------------------------------- the summary


def summary(rows: list[dict], top: int = 25) -> str:
    processes = [r for r in rows if r["kind"] == "process"]
    phases = [r for r in rows if r["kind"] in ("setup", "call", "teardown")]
    spark_workers = {r["worker"] for r in phases if SPARK_MODULE in r["name"]}
    jvm = sum(p["jvm"] for p in processes)
    spark_python = sum(p["py"] + p["children"] for p in processes if p["worker"] in spark_workers)
    in_spark_module = sum(r["py"] + r["children"] for r in phases if SPARK_MODULE in r["name"])
    rest = sum(p["py"] + p["children"] for p in processes if p["worker"] not in spark_workers and p["worker"])
    controller = sum(p["py"] for p in processes if not p["worker"])  # its children are the workers
    if not any(p["worker"] for p in processes):  # no xdist: the tests ran in the one process
        controller = sum(p["py"] + p["children"] for p in processes if p["worker"] not in spark_workers)
    lines = [f"CPU s: JVM {jvm:.1f} | Spark worker's Python {spark_python:.1f} (in the Spark module's tests "
             f"{in_spark_module:.1f}) | the other worker(s) {rest:.1f} | the main process {controller:.1f} | "
             f"in all {jvm + spark_python + rest + controller:.1f}"]
    for p in processes:
        lines.append(f"  process {p['worker'] or 'main'}: Python {p['py']:.1f}, children {p['children']:.1f}, "
                     f"JVM {p['jvm']:.1f}")
    lines.append(_table("module", _by(phases, lambda r: r["name"].split("::")[0]), top))
    fixtures = [r for r in rows if r["kind"] == "fixture" and r["scope"] != "function"]
    lines.append(_table("fixture (scope, where defined)",
                        _by(fixtures, lambda r: f"{r['name']} ({r['scope']}, {r['where'] or '-'})"), top))
    if any(r["kind"] == "demand" for r in rows):
        lines.append(timeline(rows))
    return "\n".join(lines)


def timeline(rows: list[dict], cores: int | None = None) -> str:
    """When each worker ran which module, and the demand samples: the core-seconds that a quiet
    machine of `cores` cores (this one's) would leave idle, and what each worker was doing while
    none of its threads was runnable (waiting on a pipe, a socket, a subprocess's output)."""
    cores = cores or os.cpu_count() or 2
    worker_of = {str(r["pid"]): r["worker"] for r in rows if r["kind"] == "start" and r["worker"]}
    phases = sorted((r for r in rows if r["kind"] in ("setup", "call", "teardown")), key=lambda r: r["at"])
    samples = sorted((r for r in rows if r["kind"] == "demand"), key=lambda r: r["at"])
    t0 = samples[0]["at"]
    lines = [f"\ntimeline (s from the first sample; {len(samples)} samples, {cores} cores)"]
    spans: dict[str, dict[str, list[float]]] = collections.defaultdict(dict)
    for r in phases:
        span = spans[r["worker"]].setdefault(r["name"].split("::")[0], [r["at"] - t0, 0.0, 0.0])
        span[1], span[2] = r["at"] + r["wall"] - t0, span[2] + r["wall"]
    for worker, modules in sorted(spans.items()):
        lines.append(f"  {worker}: " + ", ".join(f"{m.rsplit('/', 1)[-1]} {a:.0f}-{b:.0f} ({w:.0f})"
                                                  for m, (a, b, w) in modules.items()))
    own = {w: [r for r in phases if r["worker"] == w] for w in spans}
    starts = {w: [r["at"] for r in rs] for w, rs in own.items()}
    idle, waiting = 0.0, collections.Counter()
    demand_sum = 0.0
    for i, sample in enumerate(samples):
        dt = (samples[i + 1]["at"] - sample["at"]) if i + 1 < len(samples) else 0.0
        by = {worker_of.get(pid, pid): n for pid, n in sample["pids"].items()}
        demand_sum += sum(by.values()) * dt
        idle += max(0, cores - sum(by.values())) * dt
        for worker, n in by.items():
            if n == 0:
                doing = _doing(own[worker], starts[worker], sample["at"]) if worker in own else "(no test yet)"
                waiting[f"{worker} {doing}"] += dt
    span = samples[-1]["at"] - t0
    lines.append(f"  {span:.1f} s sampled: mean runnable threads {demand_sum / span:.2f}; "
                 f"core-seconds with no runnable thread of the suite (idle on a quiet machine) {idle:.1f} "
                 f"({idle / (cores * span):.0%})")
    lines += _during_spark(phases, samples, worker_of)
    lines.append("  seconds a worker had no runnable thread, by what it was in (top 15):")
    lines += [f"    {seconds:6.1f} {what}" for what, seconds in waiting.most_common(15)]
    return "\n".join(lines)


def _during_spark(phases: list[dict], samples: list[dict], worker_of: dict) -> list[str]:
    """While the Spark module ran: how often each worker's tree had a runnable thread, and how many
    (does the Spark worker leave a core to a third worker while its Python waits on the JVM?)."""
    spark = [r for r in phases if SPARK_MODULE in r["name"]]
    if not spark:
        return []
    start, end = min(r["at"] for r in spark), max(r["at"] + r["wall"] for r in spark)
    during = [s for s in samples if start <= s["at"] <= end]
    lines = [f"  during the Spark module ({end - start:.0f} s, {len(during)} samples):"]
    for worker in sorted({r["worker"] for r in phases}):
        counts = [sum(n for pid, n in s["pids"].items() if worker_of.get(pid) == worker) for s in during]
        if counts:
            busy = sum(c > 0 for c in counts) / len(counts)
            lines.append(f"    {worker}: a runnable thread in {busy:.1%} of them, {sum(counts) / len(counts):.2f} on average")
    return lines


def _doing(own: list[dict], starts: list[float], at: float) -> str:
    """The module (and phase) a worker was in at that moment, or between tests (own: its phases,
    sorted; starts: their start times)."""
    i = bisect.bisect_right(starts, at)
    if i == 0:
        return "(start-up, collection)"
    last = own[i - 1]
    if at > last["at"] + last["wall"]:
        return "(between tests)" if i < len(own) else "(done)"
    return f"{last['name'].split('::')[0].rsplit('/', 1)[-1]} {last['kind']}"


def _by(rows: list[dict], key) -> dict[str, list[float]]:
    out: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0])
    for r in rows:
        total = out[key(r)]
        total[0] += r["kind"] in ("call", "fixture")  # tests, or fixtures made
        for i, field in enumerate(("wall", "py", "children", "jvm"), 1):
            total[i] += r[field]
    return out


def _table(title: str, totals: dict[str, list[float]], top: int) -> str:
    head = f"\n{title:<70} {'n':>4} {'wall':>7} {'CPU':>7} {'own':>7} {'child':>6} {'JVM':>6}"
    ranked = sorted(totals.items(), key=lambda kv: -(kv[1][2] + kv[1][3] + kv[1][4]))
    body = [f"{k[-70:]:<70} {n:>4} {w:>7.1f} {p + c + j:>7.1f} {p:>7.1f} {c:>6.1f} {j:>6.1f}"
            for k, (n, w, p, c, j) in ranked[:top]]
    return "\n".join([head, *body])


if __name__ == "__main__":  # python benchmarks/suite_profile.py rows.jsonl: the summary of a file
    print(summary([json.loads(line) for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()]))
