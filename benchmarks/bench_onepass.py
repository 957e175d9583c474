"""The floor of a one-pass DuckDB validator (issue 14), a measuring prototype, not an engine:

    python benchmarks/bench_onepass.py --data-dir /work/data            # N = 10,000, 3 rounds

In one process, alternated round by round: `scan` (bench_engines.py's SCAN: count(*) of every
CSV, read in parallel), `onepass` (below), `validate` (cli.main(["validate", DIR, "--engine",
"duckdb"]), stdout to /dev/null), and onepass's first part with nothing computed (`pass: cells`:
every cell still built, backends._every_cell_read), with the masks only (`pass: masks`) and
with only the masks today's load computes (`pass: split`: the kept columns' checks left out),
and with those and the kept columns' checks where a cell differs from the row before's
(`pass: lagged`);
CPU seconds of the process (getrusage: every thread), wall seconds, medians, and each step's.

1. the engine's byte pass and two loads at once (LoadsAtOnce, DuckDBEngine.load: read_csv with
   _read's options, one thread a file), each load storing compact columns only: every cell
   check's mask (all of them: no kept text to check on distinct values), the key order asked in
   the stream (lag() over the scan), the primary key, each foreign key (a parent column within
   its department-year), each row key errata name and the department-year as 64-bit hash(), the
   numbers as DECIMAL, the row-level identities (X = X_fiscal + X_other, change = amount - prior
   year) as a flag, the other kept text columns as hash(); hash(quote), and the quote's text only
   where the row before had another (source, quote): the distinct quotes, mostly. Tables under 8
   MB of CSV (sources, departments, classification, figure_sources, non_figures) keep their text.
2. the cross-row checks on those tables: masks and key order (bit_or, sum), keys distinct
   where not in order, foreign keys as anti-joins on hashes, parts of parents (sums per parent
   and group joined to the parent's value), the row-level breaks matched to errata on hashes,
   errata references, a row's source of its own department-year, quotes in the archived text
   (provenance_sql's own query on the distinct quotes) and figures in quotes (provenance_sql's
   tokeniser on the distinct (quote, figure) pairs).

What onepass leaves out: messages and line numbers (only for failing rows), the share and rate
identities, stale errata, ordinals, organisation and trips, canonical form, frame checks,
derivations, figure sources, the errata's own figures in quotes and the numbers of their two
explanations (stop 25), the known errata worded, and any confirmation of a hash against its text.
Its answers are counts, printed once for a look (a valid package: all 0 but the 30,000 row-level
breaks, each matched to its erratum).
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import time
from pathlib import Path

from bench_engines import SCAN, package_bench_args

from bazhong_accounts import cli
from bazhong_accounts.checks import engines
from bazhong_accounts.checks.engines import definitions as d
from bazhong_accounts.checks.engines import provenance_sql
from bazhong_accounts.checks.engines.backends import DuckDBEngine
from bazhong_accounts.checks.engines.definitions import DECIMAL, lit, q, view
from bazhong_accounts.checks.package import Result, _load_package
from bazhong_accounts.model import roles
from bazhong_accounts.model.descriptor import as_list
from bazhong_accounts.model.problems import Report

STEPS: dict[str, list[tuple[float, float]]] = {}  # step -> (wall, CPU) of each run


@contextlib.contextmanager
def step(label: str):
    wall, c = time.perf_counter(), cpu()
    yield
    STEPS.setdefault(label, []).append((time.perf_counter() - wall, cpu() - c))


SMALL = 8 << 20  # a CSV under this keeps its text columns (sources: 7 MB, departments, ...)
FD = "__fd"  # hash(fiscal_year, department): the department-year of a row


def col(c: str) -> str:
    return f"t.{q(c)}"


def hashed(cols: list[str], nonempty: bool = False) -> str:
    """hash() of the cells; nonempty: NULL where one is empty (a foreign key not given)."""
    h = f"hash({', '.join(col(c) for c in cols)})"
    given = " and ".join(f"{col(c)} <> ''" for c in cols)
    return f"case when {given} then {h} end" if nonempty else h


class Plan:
    """What one table stores (name -> SQL over the row t) and what the checks after it read."""

    def __init__(self, name: str, schema: dict, size: int):
        self.name, self.schema, self.small = name, schema, size < SMALL
        self.fields = {f["name"]: f for f in schema["fields"]}
        self.pk = as_list(schema.get("primaryKey"))
        self.hashes: dict[str, str] = {}  # SQL -> stored column, one column per distinct hash
        self.fks: list[tuple[str, str, str]] = []  # (child column, parent resource, parent column)
        self.keys: dict[tuple[str, ...], str] = {}  # key fields -> column, for the references to it
        self.rowwise: list[tuple[str, ...]] = []  # the columns of each bit of __rowbreak (compact)

    def hash_col(self, cols: list[str], prefix: str, nonempty: bool = False) -> str:
        sql = hashed(cols, nonempty)
        return self.hashes.setdefault(sql, f"{prefix}{len(self.hashes)}")


def plans(root: Path) -> dict[str, Plan]:
    resources = _load_package(root, Result())
    out = {name: Plan(name, schema, (root / rel).stat().st_size) for name, rel, schema, _ in resources}
    for p in out.values():
        scope = roles.scope(p.schema)
        if p.pk:
            p.keys[tuple(p.pk)] = p.hash_col(p.pk, "__h")
        for fields, target, targets in roles.foreign_keys(p.schema):
            # a parent column names a row of the same department-year (the parts' join)
            child, parent = (scope + fields, scope + targets) if target == "" else (fields, targets)
            owner = out[target or p.name]
            owner.keys.setdefault(tuple(parent), owner.hash_col(parent, "__h"))
            p.fks.append((p.hash_col(child, "__h", nonempty=True), target or p.name, owner.keys[tuple(parent)]))
    for p in out.values():
        errata_key(p)
    return out


def errata_key(p: Plan) -> str | None:
    """The column holding hash(fiscal_year, department, row key) (row keys with one field only)."""
    rk = roles.row_key_fields(p.schema)
    if len(rk) != 1 or roles.scope(p.schema) != ["fiscal_year", "department"]:
        return None
    return p.hash_col(["fiscal_year", "department"] + rk, "__h")


def compact(p: Plan, header: list[str], keep: list[str], facts, what: str = "all") -> dict[str, str]:
    """The columns one load stores: name -> SQL over the row t. what: "cells" nothing (the load
    still reads every cell: backends._every_cell_read), "masks" the masks and quoted cells only,
    "split" the masks today's load computes (split_cell_checks: not the kept columns' checks),
    "lagged" those and the kept columns' checks asked only where the cell differs from the row
    before's, "all-order-quotes" all but the parts named (order, quotes, texts, numbers, keys)."""
    if what == "cells":
        return {}
    checks = d.cell_checks(p.name, p.schema)
    if what in ("split", "lagged"):
        checks, later = engines.split_cell_checks(DuckDBEngine, p.schema, checks, keep)
    out = dict(zip(engines.mask_names(checks), d.masks(checks)))
    out.update(engines._quoted_cells(p.schema, facts))
    if what == "lagged":  # a column's checks in one mask (a few, under MASK_BITS)
        out.update({f"__kmask{i}": f"case when lag({col(c)}) over () = {col(c)} then 0 else {d.masks(group)[0]} end"
                    for i, (c, group) in enumerate(later.items())})
    if what in ("masks", "split", "lagged"):
        return out
    drop = what.split("-")[1:]  # "all-order-quotes": a part left out, to see what it costs
    if p.pk and "order" not in drop:  # 1 where the key does not come strictly after the row before's (the first row: 0)
        after = d._after(p.fields, p.pk, lambda k: f"lag({col(k)}) over ()", col)
        out["__disorder"] = f"cast(lag(1) over () is not null and not coalesce({after}, false) as TINYINT)"
    if {"fiscal_year", "department"} <= set(keep):
        out[FD] = hashed(["fiscal_year", "department"])
    if p.small:
        out.update({c: col(c) for c in keep})
    else:
        numbers = [c for c in keep if d.ftype(p.fields[c]) in ("number", "integer")]
        if "numbers" not in drop:
            out.update({c: f"try_cast(nullif({col(c)}, '') as {DECIMAL})" for c in numbers})
        if "derived" in keep:
            out["derived"] = f"{col('derived')} = 'true'"
        # (the columns an erratum of it may name, SQL: the row breaks it)
        rowwise = [((c, c + "_fiscal", c + "_other"), f"coalesce({n(c)} <> {n(c + '_fiscal')} + {n(c + '_other')}, false)")
                   for c in numbers if c + "_fiscal" in numbers and c + "_other" in numbers]
        if {"amount", "prior_year_amount", "change_amount"} <= set(numbers):
            rowwise.append((("change_amount", "amount", "prior_year_amount"), f"coalesce({n('change_amount')} <> {n('amount')} - {n('prior_year_amount')}, false)"))
        p.rowwise = [c for c, _ in rowwise]
        if rowwise and "numbers" not in drop:
            out["__rowbreak"] = " + ".join(f"cast({b} as TINYINT) * {1 << i}" for i, (_, b) in enumerate(rowwise))
        if "source_quote" in keep and "quotes" not in drop:
            pair = hashed(["source_id", "source_quote"])  # not stored: the stream's test of a new quote
            out["__q"] = hashed(["source_quote"])
            out["__qtext"] = f"case when lag({pair}) over () is distinct from {pair} then {col('source_quote')} end"
        done = set(numbers) | {"derived", "fiscal_year", "department", "source_quote"}
        if "texts" not in drop:
            out.update({c: f"hash({col(c)})" for c in keep if c not in done})
        if p.name == "errata":  # what matching and wording errata read, as text
            out.update({c: col(c) for c in ("resource", "row_key", "column", "check") if c in keep})
            out["__ref"] = hashed(["fiscal_year", "department", "row_key"])
    if "keys" not in drop:
        out.update({name: sql for sql, name in p.hashes.items()})
    return out


def n(c: str) -> str:
    return f"try_cast(nullif({col(c)}, '') as {DECIMAL})"


def onepass(root: Path, plan: dict[str, Plan], engine: DuckDBEngine, what: str = "all") -> dict[str, int]:
    """(1) the loads, (2) the checks (what = "all" only); returns what each check found (counts)."""
    report = Report()
    resources = _load_package(root, Result())
    queries = engines.row_queries({name: schema for name, _, schema, _ in resources})
    loads = []
    engine.con.execute("set enable_progress_bar = false")
    with step(f"1 byte pass and loads ({what})"), engines.LoadsAtOnce(engine) as loader:
        started = loader.order(root, resources)
        for (name, rel, _, _), facts in zip(started, engines._bytes_checked(root, engine, started, report)):
            keep = engines.columns_read(facts.header, name, queries)
            loads.append(loader.load((name, root / rel, facts.header, [], compact(plan[name], facts.header, keep, facts, what)),
                                     then=lambda: None))
        errors = [e for e in map(loader.result, loads) if e]
    assert not errors and not report.problems, (errors, report.problems[:3])
    return checks(root, plan, engine) if what == "all" else {}


def checks(root: Path, plan: dict[str, Plan], engine: DuckDBEngine) -> dict[str, int]:
    found: dict[str, int] = {}
    con = engine.con

    def count(label: str, sql: str) -> None:
        with step("2 " + label.split(" ")[0] if label.startswith("pk ") else "2 " + label):
            found[label] = int(con.execute(sql).fetchone()[0] or 0)

    cols = {p.name: {c for (c,) in con.execute(f"select column_name from (describe {view(p.name)})").fetchall()}
            for p in plan.values()}
    # masks and key order, one query for all tables
    parts = []
    for p in plan.values():
        masks = [c for c in cols[p.name] if c.startswith("__mask")]
        bits = " | ".join(f"bit_or({q(m)})" for m in masks) or "0"
        disorder = "sum(__disorder)" if "__disorder" in cols[p.name] else "0"
        parts.append(f"select {lit(p.name)} as res, {bits} as bits, {disorder} as dis from {view(p.name)}")
    unordered = []
    with step("2 masks and key order"):
        answers = con.execute(" union all ".join(parts)).fetchall()
    for res, bits, dis in answers:
        found["cells " + res] = int(bits)
        if dis:
            unordered.append(res)
    for res in unordered:  # keys proven unique by their order need nothing more
        count("pk " + res, f"select count(*) - count(distinct {plan[res].keys[tuple(plan[res].pk)]}) from {view(res)}")
    found["unordered"] = len(unordered)
    # anti join, not `not exists`: indicators' key to departments 0.04 s against 0.15 s wall
    fk = [f"select count(*) as n from {view(p.name)} c anti join {view(target)} x on x.{parent} = c.{child} "
          f"where c.{child} is not null"
          for p in plan.values() for child, target, parent in p.fks]
    count("foreign keys", f"select sum(n) from ({' union all '.join(fk)})")
    # parts of parents: the sum of each (parent, group) against the parent's value
    sums = []
    for p in plan.values():
        value, group = roles.main_figure(p.schema), "c.breakdown" if "breakdown" in cols[p.name] else "0"
        for parent_field, _ in roles.parent_links(p.schema) if value and not p.small else []:
            child = p.hashes[hashed(roles.scope(p.schema) + [parent_field], nonempty=True)]
            key = p.keys[tuple(p.pk)]
            sums.append(f"select count(*) as n from (select c.{child} as par, {group} as grp, sum(c.{q(value)}) as total "
                        f"from {view(p.name)} c where c.{child} is not null group by all) g join {view(p.name)} x "
                        f"on x.{key} = g.par where x.{q(value)} is not null and x.{q(value)} <> g.total "
                        f"and not (x.derived and x.derivation = hash('sum(children)'))")
    count("parts of parents", f"select sum(n) from ({' union all '.join(sums)})")
    # row-level breaks (computed in the load) matched to errata by (department-year, row key)
    e = plan["errata"]
    matched = [f"select count(*) as n, count(e.rn) as known from {view(p.name)} x left join {view('errata')} e "
               f"on e.__ref = x.{errata_key(p)} and e.resource = {lit(p.name)} and e.\"column\" in ({', '.join(map(lit, c))}) "
               f"where x.__rowbreak & {1 << i} <> 0"
               for p in plan.values() if "__rowbreak" in cols[p.name] and errata_key(p) for i, c in enumerate(p.rowwise)]
    with step("2 row breaks matched to errata"):
        breaks, known = con.execute(f"select sum(n), sum(known) from ({' union all '.join(matched)})").fetchone()
    found["row breaks"], found["row breaks known"] = int(breaks or 0), int(known or 0)
    refs = [f"select count(*) as n from {view('errata')} e anti join {view(p.name)} x on x.{errata_key(p)} = e.__ref "
            f"where e.resource = {lit(p.name)}"
            for p in plan.values() if errata_key(p) and p.name != e.name]
    count("errata references", f"select sum(n) from ({' union all '.join(refs)})")
    src = plan["sources"].keys[("source_id",)]
    own = [f"select count(*) as n from {view(p.name)} x join {view('sources')} s on s.{src} = x.{c} "
           f"where x.{FD} <> s.{FD}" for p in plan.values() if not p.small and FD in cols[p.name]
           for c, target, _ in p.fks if target == "sources"]
    count("source of another department-year", f"select sum(n) from ({' union all '.join(own)})")
    # quotes: the distinct (source, quote) with their file, then provenance_sql's own queries
    quoted = [p for p in plan.values() if "__q" in cols[p.name]]
    with step("2 quotes kept, sources joined"):
        con.execute("create or replace temp table quotes as select distinct res, __q, path, quote from ("
                    + " union all ".join(f"select {lit(p.name)} as res, x.__q, s.path, x.__qtext as quote from {view(p.name)} x "
                                         f"join {view('sources')} s on s.{src} = x.{srccol(p)} where x.__qtext is not null"
                                         for p in quoted) + ")")
        con.execute(f"create or replace temp table {q(provenance_sql.PAIRS)} as "
                    f"select res, 'source_quote' as col, path, quote from quotes")
        provenance_sql.load_archive(engine, root)
    count("quotes not in the archive", f"select count(*) from ({provenance_sql.failing_pairs_sql()})")
    pairs = []
    for p in quoted:
        derived = "not x.derived" if "derived" in cols[p.name] else "true"
        pairs += [f"select distinct x.__q, {lit(c)} as col, x.{q(c)} as v from {view(p.name)} x "
                  f"where {derived} and x.{q(c)} is not null" for c in roles.figures(p.schema) if c in cols[p.name]]
    with step("2 figures in quotes"):  # the value as the CSV wrote it: DECIMAL's trailing zeros cut
        rows = con.execute(f"select p.col, rtrim(rtrim(cast(p.v as VARCHAR), '0'), '.'), q.quote from ({' union all '.join(pairs)}) p "
                           f"join (select distinct __q, quote from quotes) q on q.__q = p.__q").fetchall()
        found["figure pairs"] = len(rows)
        found["figures not in their quote"] = len(provenance_sql._missing_figures(rows))
    return found


def srccol(p: Plan) -> str:
    return next(c for c, target, _ in p.fks if target == "sources")


def scan(root: Path) -> None:
    """bench_engines.py's SCAN, in this process."""
    code = SCAN.replace("sys.argv[1]", repr(str(root)))
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        exec(compile(code, "scan", "exec"), {})


def validate(root: Path) -> None:
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        cli.main(["validate", str(root), "--engine", "duckdb"])


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn) -> tuple[float, float]:
    wall, c = time.perf_counter(), cpu()
    fn()
    return time.perf_counter() - wall, cpu() - c


def main() -> None:
    args, root = package_bench_args(__doc__.split("\n")[0], "bench_onepass")
    plan = plans(root)
    shown: dict[str, int] = {}

    def run_onepass(what: str) -> None:
        engine = DuckDBEngine()
        try:
            shown.update(onepass(root, plan, engine, what))
        finally:
            engine.close()

    variants = {"scan": lambda: scan(root), "onepass": lambda: run_onepass("all"), "validate": lambda: validate(root),
                "pass: cells": lambda: run_onepass("cells"), "pass: masks": lambda: run_onepass("masks"),
                "pass: split": lambda: run_onepass("split"), "pass: lagged": lambda: run_onepass("lagged")}
    runs: dict[str, list] = {}
    for i in range(args.rounds):
        for label, fn in variants.items():
            wall, c = timed(fn)
            runs.setdefault(label, []).append((wall, c))
            print(f"round {i + 1} {label:11s} wall {wall:6.2f} s  cpu {c:6.2f} s  load {os.getloadavg()[0]:.1f}", flush=True)
        if i == 0:
            print("onepass found:", shown, flush=True)
    floor = {k: statistics.median(x[k] for x in runs["scan"]) for k in (0, 1)}
    for label, got in runs.items():
        w, c = statistics.median(x[0] for x in got), statistics.median(x[1] for x in got)
        print(f"median {label:11s} wall {w:6.2f} s  cpu {c:6.2f} s  = {w / floor[0]:4.2f}x the scan's wall, "
              f"{c / floor[1]:4.2f}x its CPU ({len(got)} rounds)")
    for label, got in STEPS.items():
        print(f"step {label:40s} wall {statistics.median(x[0] for x in got):5.2f} s  "
              f"cpu {statistics.median(x[1] for x in got):5.2f} s ({len(got)} runs)")


if __name__ == "__main__":
    main()
