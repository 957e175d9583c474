"""`validate --engine duckdb`'s load against its floor, side by side in one process (CPU seconds of
the process, DuckDB's threads included, and wall seconds; rounds alternate the variants):

    python benchmarks/bench_load.py --data-dir /work/data            # N = 10,000, 3 rounds

- `count`: count(*) of every CSV, read in parallel (bench_engines.py's scan: no cell is built);
- `kept`: a table of the columns the checks read, per CSV, one thread each (the floor of a load
  that stores what the checks need: every kept cell built and stored);
- `load`: DuckDBEngine.load as validate calls it, one file after another (kept columns, the cell
  checks' masks, which read the columns not kept too);
- `load phase`: engines._load_all: the byte pass, two loads at once, the masks and key order asked
  meanwhile (what `validate` does before its checks);
- `load 1 thread`: `load` with DuckDB's database at threads=1 (each load on its caller's thread only);
- `arrow load`, `arrow load 1 thread`: `load` with each CSV read by pyarrow's streaming reader
  (`open_csv`, every column text, '' never null, UTF-8 checked, quoted newlines allowed) instead
  of DuckDB's read_csv, DuckDB running the same select over the batches (stop 25's prototype,
  not taken: N = 10,000 at load 2.4-3.7, medians of 3 and of 4 rounds, CPU `load` 3.09 / 3.31 s,
  `load 1 thread` 2.93 / 3.00, `arrow load` 3.69 / 5.23, `arrow load 1 thread` 2.63 / 2.84: pyarrow
  parses for more CPU than read_csv on one thread, 1.36 s against 1.03 s for count(*), and DuckDB
  copying its strings in costs about what building its own does);
- `- byte pass`, `- asked`: the load phase with the byte pass made beforehand, and with nothing
  asked after the loads: what each costs the phase (N = 10,000, 2 rounds at load 4-5: the phase
  7.1 s CPU, 6.2 without the byte pass, 5.9 without the questions; `load`, one file after
  another, 4.9: two loads at once cost nothing more, the pass and the questions are the rest).

The package is DIR/engines-n<N> as bench_engines.py --data-dir keeps it.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

from bench_engines import package_bench_args

from bazhong_accounts.checks import engines
from bazhong_accounts.checks.engines import definitions as d
from bazhong_accounts.checks.engines.backends import DuckDBEngine
from bazhong_accounts.checks.engines.bytes import check_bytes
from bazhong_accounts.checks.package import Result, _load_package
from bazhong_accounts.model.problems import Report


def plans(root: Path) -> list[tuple]:
    """(name, path, header, keep, computed) of each CSV, as _load_all makes them."""
    resources = _load_package(root, Result())
    queries = engines.row_queries({name: schema for name, _, schema, _ in resources})
    out = []
    for name, rel, schema, schema_path in resources:
        facts = check_bytes(root, name, rel, schema, schema_path, Report(), False)
        keep = engines.columns_read(facts.header, name, queries)
        in_load, _ = engines.split_cell_checks(DuckDBEngine, schema, d.cell_checks(name, schema), keep)
        computed = dict(zip(engines.mask_names(in_load), d.masks(in_load)))
        computed.update(engines._quoted_cells(schema, facts))
        out.append((name, root / rel, facts.header, keep, computed))
    return out


def variants(root: Path, files: list[tuple]) -> dict:
    def count(engine):
        for _, path, header, _, _ in files:
            engine.query(f"select count(*) from {engine._read(path, header)}")

    def kept(engine):
        for name, path, header, keep, _ in files:
            engine.load(name, path, header, keep, {})

    def load(engine):
        for plan in files:
            engine.load(*plan)

    def arrow_load(engine):
        with patched(DuckDBEngine, "_read", staticmethod(_arrow_source(engine))):
            load(engine)

    def load_phase(engine):
        resources = _load_package(root, Result())
        engines._load_all(root, engine, resources, Report())

    return {"count": count, "kept": kept, "load": load, "load 1 thread": (load, 1),
            "arrow load": arrow_load, "arrow load 1 thread": (arrow_load, 1), "load phase": load_phase,
            "- byte pass": _without_byte_pass(root, load_phase), "- asked": _without_questions(load_phase)}


def _arrow_source(engine):
    """A stand-in for DuckDBEngine._read: the CSV as a pyarrow reader registered on the loading
    thread's cursor, named in the FROM clause in place of read_csv."""
    import pyarrow
    import pyarrow.csv as pcsv

    def source(path: Path, header: list[str], parallel: bool = True) -> str:
        reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1),
                               parse_options=pcsv.ParseOptions(newlines_in_values=True),
                               convert_options=pcsv.ConvertOptions(
                                   column_types=dict.fromkeys(header, pyarrow.string()), check_utf8=True,
                                   strings_can_be_null=False, quoted_strings_can_be_null=False))
        name = f"arrow_{abs(hash(str(path)))}"
        engine._loader().register(name, reader)
        return f'"{name}"'
    return source


def _without_byte_pass(root: Path, load_phase):
    """The load phase with each file's byte pass made beforehand (its facts handed over as made):
    what the pass costs the phase."""
    made: dict = {}
    for name, rel, schema, schema_path in _load_package(root, Result()):
        made[name] = check_bytes(root, name, rel, schema, schema_path, Report(), False)

    def phase(engine):
        with patched(engines, "check_bytes", lambda _root, name, *_: made[name]):
            load_phase(engine)
    return phase


def _without_questions(load_phase):
    """The load phase asking nothing after each load (no masks, no key order): what the
    questions cost it."""
    def phase(engine):
        with patched(engines.AskedAfterLoad, "_ask", staticmethod(lambda _engine, _loads: ({}, set(), Report()))):
            load_phase(engine)
    return phase


@contextmanager
def patched(owner, name: str, value):
    before = owner.__dict__[name]
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, before)


def timed(fn) -> tuple[float, float]:
    fn, threads = fn if isinstance(fn, tuple) else (fn, None)
    engine = DuckDBEngine(threads=threads)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        fn(engine)
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        engine.close()


def main() -> None:
    args, root = package_bench_args(__doc__.split("\n")[0], "bench_load")
    runs: dict[str, list] = {}
    for i in range(args.rounds):
        for label, fn in variants(root, plans(root)).items():
            wall, cpu = timed(fn)
            runs.setdefault(label, []).append((wall, cpu))
            print(f"round {i + 1} {label:19s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  load {os.getloadavg()[0]:.1f}",
                  flush=True)
    floor = statistics.median(c for _, c in runs["count"])
    for label, got in runs.items():
        cpu = statistics.median(c for _, c in got)
        print(f"median {label:19s} wall {statistics.median(w for w, _ in got):6.2f} s  cpu {cpu:6.2f} s  "
              f"= {cpu / floor:4.2f}x count's CPU")


if __name__ == "__main__":
    main()
