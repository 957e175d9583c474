"""`validate DIR --engine duckdb|spark`: the checks of `validate` on an SQL engine.

Flow: the byte checks of each CSV in Python (bytes.py, streamed, in a thread ahead of the loads;
they also find the rows holding quoted newlines), each CSV read by the engine in one pass into a
table of the columns the row checks name (row_queries) and the cell checks' masks, rows numbered
in file order (DuckDB: two files at once, the biggest first, LoadsAtOnce; it masks only the
columns it does not keep, and checks a kept column on its distinct values: split_cell_checks);
what the masks say and whether primary keys strictly increase in file order, so are unique
(definitions.primary_key_unproven), asked of each table as soon as it is loaded (AskedAfterLoad).
A valid package stops there for its cells and keys (fast path); a failing cell check reads that
file again with every column and runs only those checks as queries that name the rows, and keys
not proven unique run the exact key query on the key columns kept (slow path). Keys, identities, errata,
ordinals and sources run as SQL on the tables, the checks after the structure's in two lanes at
once on DuckDB (lanes.py), the known errata worded in one of them. For the failing rows only:
the physical CSV line (lines.py) and the message (messages.py). The output is the pandas
validator's (``path:line: column: message``), so the engines can be compared line for line.

What the SQL engines check is listed in COVERED; NOT_COVERED (empty now: every check runs) would
be printed on stderr at each run so nobody mistakes a pass for more than it is.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from ...model.descriptor import as_list
from ...model.problems import Report
from ...model.typing import pattern_of
from ..package import Result, _guard, _load_package, report_unlisted_csvs
from . import definitions as d
from .backends import ENGINES
from . import canonical_sql, errata_refs, figure_sources_sql, frame_sql, lanes, provenance_sql
from .bytes import check_bytes
from .identities import break_queries as identities_sql
from .identities import check_identities, check_rows, mark_type_checked, matched_sql, ordinal_checks, source_checks
from .lines import line_maps
from .package_checks import check_package
from .package_checks import package_checks as package_sql
from .definitions import lit, q, view
from .messages import cell_message, foreign_key_message, primary_key_message

COVERED = ("files (bytes, encoding, header)", "types", "constraints", "primary keys", "foreign keys",
           "identities with errata", "stale errata", "ordinals", "a row's source is its department-year's",
           "organisation roots and cycles", "trips vs count", "canonical form and row order",
           "row-level frame checks", "errata references",
           "provenance (archived sources and checksums, quotes, numbers in quotes, derivations, errata figures, the numbers of errata explanations)",
           "figure sources (spans, numbers of the report accounted for)")
NOT_COVERED: tuple[str, ...] = ()
DEDUPE = {"required", "pattern", "enum", "range", "length"}  # pandera's: skip a cell already reported


class Loaded:
    """A resource the engine could read: its schema, path, header and line map."""

    def __init__(self, name, rel, schema, facts, lines):
        self.name, self.rel, self.schema, self.facts, self.lines = name, rel, schema, facts, lines
        self.fields = {f["name"]: f for f in schema["fields"]}
        self.header = facts.header
        self.path = None  # set by _load_all: the CSV, read again when a cell check fails
        self.failed: list = []  # set by _load_all: the cell checks that fail on some row
        self.duplicates = True  # set by _load_all: False when the keys are proven unique

    def col_no(self, col):
        return self.header.index(col) + 1 if col in self.header else None


def row_queries(schemas: dict[str, dict]) -> list[str]:
    """The SQL of every check that reads tables row by row (keys, identities, errata, ordinals,
    sources): the columns they name are the ones a load keeps. A new check over the tables adds
    its SQL here, or its columns are not loaded."""
    breaks = identities_sql(schemas)
    out = [c.sql for c in d.structure_checks(schemas, failed={}, duplicates=set())]  # those read the full file
    out += [sql for name, schema in schemas.items() if (sql := d.primary_key_unproven(name, schema))]
    out += breaks + [q for q in matched_sql(" union all ".join(breaks) or "select 1", True) if q]
    out += [sql for _, _, sql in package_sql(schemas)]  # organisation and trips
    out += [c[2] for c in canonical_sql.queries(schemas) + frame_sql.queries(schemas) + errata_refs.queries(schemas, [])]
    out += provenance_sql.queries(schemas) + figure_sources_sql.queries(schemas)
    return out + [sql for _, sql in ordinal_checks(schemas) + source_checks(schemas)]


_WORD = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_]*)')


def columns_read(header: list[str], resource: str, queries: list[str]) -> list[str]:
    """The columns of the header named anywhere in a query that reads the resource's view (a
    superset of what it reads: a word in a string literal only keeps a column too many)."""
    words: set[str] = set()
    for sql in queries:
        if view(resource) in sql:
            words |= _words(sql)
    return [h for h in header if h in words]


@lru_cache(maxsize=1024)
def _words(sql: str) -> frozenset[str]:
    """The identifiers of a query (each query is read for every resource: parsed once). The
    cache holds more than a package's queries (N = 10,000: 267; at 256 every call of
    columns_read, file after file, found the ones it needed evicted and parsed them again)."""
    return frozenset(quoted.replace('""', '"') if quoted else word for quoted, word in _WORD.findall(sql))


def mask_names(checks) -> list[str]:
    return [f"__mask{i}" for i in range(len(d.masks(checks)))]


def _load_all(root: Path, engine, resources, report: Report) -> dict[str, Loaded]:
    """Byte checks, then each readable CSV read by the engine in one pass: the columns the row
    checks read and the cell-check masks; what the masks and the key order say (AskedAfterLoad);
    row counts and line maps from the load and the byte pass (one query for all files where
    they could not count: a Spark job costs seconds, whatever its size)."""
    schemas = {name: schema for name, _, schema, _ in resources}
    names = list(schemas)
    queries = row_queries(schemas)
    read, loads = {}, []
    with AskedAfterLoad(engine) as asked, LoadsAtOnce(engine) as loader:
        started = loader.order(root, resources)
        for (name, rel, schema, _), facts in zip(started, _bytes_checked(root, engine, started, report)):
            if facts is None:
                continue
            keep = columns_read(facts.header, name, queries)
            in_load, _ = split_cell_checks(engine, schema, d.cell_checks(name, schema), keep)
            computed = dict(zip(mask_names(in_load), d.masks(in_load)))
            computed.update(_quoted_cells(schema, facts))
            loading = loader.load((name, root / rel, facts.header, keep, computed),
                                  then=lambda name=name, schema=schema, keep=keep: asked.loaded(name, schema, keep))
            loads.append((name, rel, schema, facts, keep, loading))
        loads.sort(key=lambda load: names.index(load[0]))
        for name, rel, schema, facts, keep, loading in loads:  # in file order, whichever ends first
            error = loader.result(loading)
            if error is not None:
                _ragged(root, rel, len(facts.header), error, report)
                continue
            read[name] = (rel, schema, facts, keep)
        counts = _counts(engine, read, root, report)
        failed, duplicates = asked.answers(list(counts), report)
    maps = line_maps(engine, {n: (read[n][2], *counts[n], root / read[n][0], read[n][0]) for n in counts}, report)
    loaded = {n: Loaded(n, read[n][0], read[n][1], read[n][2], maps[n]) for n in counts}
    for t in loaded.values():
        t.path, t.failed = root / t.rel, failed.get(t.name, [])
        t.duplicates = t.name in duplicates
    return loaded


def _stop(futures: list, interrupt) -> None:
    """On an error or Ctrl-C: the futures not begun cancelled, the running ones interrupted
    until they end (interrupt() may come before a query starts: asked again)."""
    for f in futures:
        f.cancel()
    while not all(f.done() for f in futures):
        interrupt()
        wait(futures, timeout=0.05)


class LoadsAtOnce:
    """engine.load() of several files at once in threads (the engine's loads_at_once: DuckDB
    reads each file on one thread, cheaper than one file on all of them), or one after another
    here (Spark). On an error or Ctrl-C the loads not started are dropped and the running ones
    interrupted."""

    def __init__(self, engine):
        self.engine = engine
        at_once = getattr(engine, "loads_at_once", 1)
        self.pool = ThreadPoolExecutor(max_workers=at_once) if at_once > 1 else None
        self.started: list = []

    def __enter__(self) -> LoadsAtOnce:
        return self

    def __exit__(self, kind, *_) -> None:
        if self.pool is None:
            return
        if kind is not None:
            _stop(self.started, self.engine.interrupt_loads)
        self.pool.shutdown(wait=True)

    def order(self, root: Path, resources: list) -> list:
        """The order to read the files in: the biggest first when several load at once, so that
        the last to end is a small one (N = 10,000: indicators.csv, 40 % of the bytes and 12th of
        18, ended alone a second after the others), but the second biggest before it: a load
        waits for its file's byte pass, and the second's is short, so it loads while the
        biggest's byte pass runs (N = 10,000: one core had idled 0.56 s; 0.13 s less wall over six
        alternated runs); else the package's order (the problems of each file keep their order:
        the byte pass adds them file by file, the output sorts by file)."""
        if self.pool is None:
            return resources
        biggest = sorted(resources, key=lambda r: -((root / r[1]).stat().st_size if (root / r[1]).is_file() else 0))
        return biggest[1:2] + biggest[:1] + biggest[2:]

    def load(self, args: tuple, then):
        """A future of engine.load(*args), or its result when loads run here; then() called as
        soon as the file is loaded without an error (in the thread that loaded it)."""
        def loaded():
            error = self.engine.load(*args)
            if error is None:
                then()
            return error

        if self.pool is None:
            return loaded()
        self.started.append(self.pool.submit(loaded))
        return self.started[-1]

    def result(self, loading):
        return loading.result() if self.pool is not None else loading


class AskedAfterLoad:
    """What the columns the load computed say, asked before any file is read again in full: the
    cell checks that fail somewhere (_failed_cells) and the tables whose keys are not proven
    unique (_duplicate_keys). On an engine with cursors (DuckDB) each table is asked on a cursor
    as soon as it is loaded, while the next file loads: the loads leave part of the cores idle
    (between statements, the serial end of each), and lag() of the key order runs on one core.
    Elsewhere one query each for all files at the end (a Spark job costs seconds)."""

    def __init__(self, engine):
        self.engine, self.loads, self.asked = engine, {}, {}
        self.cursor = self.pool = None
        if lanes.concurrent(engine):
            self.cursor = lanes.on_cursor(engine)
            self.pool = ThreadPoolExecutor(max_workers=1)

    def __enter__(self) -> AskedAfterLoad:
        return self

    def __exit__(self, kind, *_) -> None:
        if self.pool is None:
            return
        if kind is not None:  # an error or Ctrl-C: the question asked now is interrupted, not waited for
            _stop(list(self.asked.values()), self.cursor.con.interrupt)
        self.pool.shutdown(wait=True)
        self.cursor.con.close()

    def loaded(self, name: str, schema: dict, keep: list[str]) -> None:
        self.loads[name] = (schema, keep)
        if self.pool is not None:
            self.asked[name] = self.pool.submit(self._ask, self.cursor, {name: (schema, keep)})

    def answers(self, names: list[str], report: Report) -> tuple[dict[str, list], set[str]]:
        """(the failing cell checks of each resource, the resources whose keys may repeat:
        those where the question failed too)."""
        if self.pool is None:
            parts = [(names, self._ask(self.engine, {n: self.loads[n] for n in names}))]
        else:
            parts = [([n], self.asked[n].result()) for n in names]
        failed: dict[str, list] = {}
        duplicates: set[str] = set()
        for asked, (cells, keys, own) in parts:
            report.problems += own.problems
            failed |= cells or {}
            duplicates |= set(asked) if keys is None else keys
        return failed, duplicates

    @staticmethod
    def _ask(engine, loads: dict[str, tuple[dict, list[str]]]) -> tuple[dict | None, set[str] | None, Report]:
        own = Report()  # kept apart: a thread's problems are added in order by answers()
        cells = _guard(own, "cell masks", _failed_cells, engine, loads)
        keys = _guard(own, "key order", _duplicate_keys, engine, {n: schema for n, (schema, _) in loads.items()})
        return cells, keys, own


def _quoted_cells(schema: dict, facts) -> dict[str, str]:
    """The columns the load computes about quoted cells: newlines (lines.py) and the quotes of
    the canonical form, each only where the byte pass could not tell (bytes.QuotedCells: the
    quoting did not pair up), or, for newlines, where some cell holds one (then lines.py needs
    them row by row). Where the byte pass counted, the column is 0 and no cell is looked at
    (N = 10,000: about 2 s CPU of DuckDB less). Newlines are counted in the free-text columns
    only, the ones the quotes read too (DuckDB tests each cell once for both): a newline in
    another column breaks its type, and the file's newlines then do not add up, so lines.py
    reads the file with the csv module (exact). Where the byte pass paired the quotes it found
    the rows holding newlines too (FileFacts.newline_rows): no cell is looked at for them."""
    zero = "cast(0 as BIGINT)"
    free_text = canonical_sql.free_text(schema, facts.header) if facts.quotes else []
    newlines = zero if not free_text or _newlines_counted(facts) else d.newlines_in_row(free_text)
    counted = not free_text or facts.needless_quotes is not None
    return {d.NEWLINES: newlines, **({canonical_sql.CANON_QUOTES: zero} if counted else
                                     canonical_sql.computed(schema, facts.header))}


def _newlines_counted(facts) -> bool:
    """The byte pass found the file's quoted newlines, row by row (lines.py needs no column)."""
    return facts.quoted_newlines == 0 or facts.newline_rows is not None


def _bytes_checked(root: Path, engine, resources, report: Report):
    """The byte checks' facts of each file in order; the next file's pass runs in a thread while
    the engine reads this one (the engine does not hold the GIL), its problems kept apart and
    added in file order."""
    def one(resource):
        name, rel, schema, schema_path = resource
        own = Report()
        return _guard(own, f"file ({rel})", check_bytes, root, name, rel, schema, schema_path, own,
                      not engine.checks_utf8), own

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        for facts, own in pool.map(one, resources):
            report.problems += own.problems
            report.cells |= own.cells
            yield facts
    finally:  # on an error or Ctrl-C the files not begun are not read (the one being read is)
        pool.shutdown(wait=True, cancel_futures=True)


def _counts(engine, read: dict, root: Path, report: Report) -> dict[str, tuple[int, int]]:
    """Rows of each table and the newlines quoted in its cells: from the load and the byte pass
    where they counted them (DuckDB's load returns its rows), else one query for the others; a
    file the engine reads lazily (Spark) and then refuses is found one by one and reported like
    a ragged file."""
    rows = getattr(engine, "rows_loaded", {})
    newlines = {n: int(facts.quoted_newlines or 0) for n, (_, _, facts, _) in read.items() if _newlines_counted(facts)}
    known = {n: (rows[n], newlines[n]) for n in read if n in rows and n in newlines}
    rest = [n for n in read if n not in known]
    if not rest:
        return known

    def counted(n):
        nl = newlines[n] if n in newlines else f"coalesce(sum({q(d.NEWLINES)}), 0)"
        return f"select {lit(n)} as res, count(*) as n, {nl} as nl from {view(n)}"

    try:
        return known | {res: (int(n), int(nl)) for res, n, nl in engine.query(" union all ".join(map(counted, rest)))}
    except Exception:  # noqa: BLE001 - some file is malformed: find which
        counts = known
        for n, (rel, _, facts, _) in ((n, read[n]) for n in rest):
            try:
                counts[n] = tuple(int(x) for x in engine.query(counted(n))[0][1:])
            except Exception as e:  # noqa: BLE001
                _ragged(root, rel, len(facts.header), str(e).split("\n")[0], report)
        return counts


def _ragged(root: Path, rel: str, ncols: int, error: str, report: Report) -> None:
    """The engine refused the file: find the ragged rows with the csv module (files.py's message)."""
    from ..files import _scan_with_csv
    from .bytes import encoding_problem

    if encoding_problem(root / rel, rel, report):
        return
    if not _scan_with_csv(rel, (root / rel).read_bytes(), ncols, report):
        report.add(rel, message=f"not a valid CSV: {error}")


def split_cell_checks(engine, schema: dict, checks: list, keep: list[str]) -> tuple[list, dict[str, list]]:
    """(the cell checks the load computes row by row as masks, the checks of each kept column
    run after the load on the column's distinct values). An engine with `distinct_checks`
    (DuckDB) checks a column it keeps anyway, whose type is a regular expression or a cast, on
    its distinct values: a few years, departments and codes among millions of rows (N = 10,000:
    about 1 s CPU less, a tenth of the load). A free-text column stays a mask: `= ''` costs
    nothing per row, a hash of long distinct texts would. Spark masks every check in its one
    load (each query is a job)."""
    if not getattr(engine, "distinct_checks", False):
        return checks, {}
    fields = {f["name"]: f for f in schema["fields"]}
    later: dict[str, list] = {}
    for c in checks:
        if c.column in keep and _matched_by_regex(fields[c.column]):
            later.setdefault(c.column, []).append(c)
    return [c for c in checks if c.column not in later], later


def _matched_by_regex(field: dict) -> bool:
    """The field's type check is a regular expression (definitions.valid): numbers, dates, patterns."""
    return d.ftype(field) in ("integer", "number", "date") or bool(pattern_of(field))


def _failed_cells(engine, loads: dict[str, tuple[dict, list[str]]]) -> dict[str, list]:
    """The cell checks that failed somewhere, per resource, in one small query for all files:
    bit_or() of the masks the load computed, and of the masks of each kept column's checks over
    its distinct values (a cell check reads one cell: it fails on some row if and only if it
    fails on some distinct value of its column). loads: name -> (schema, columns kept)."""
    parts, groups, checks = [], {}, {}
    for name, (schema, keep) in loads.items():
        checks[name] = d.cell_checks(name, schema)
        in_load, later = split_cell_checks(engine, schema, checks[name], keep)
        groups[(name, "")] = in_load
        if bits := ", ".join(f"bit_or({q(m)})" for m in mask_names(in_load)):
            parts.append(f"select {lit(name)} as res, '' as grp, [{bits}] as bits from {view(name)}")
        for col, group in later.items():
            groups[(name, col)] = group
            bits = ", ".join(f"bit_or({m})" for m in d.masks(group))
            parts.append(f"select {lit(name)} as res, {lit(col)} as grp, [{bits}] as bits "
                         f"from (select distinct t.{q(col)} from {view(name)} t) t")
    if not parts:
        return {}
    failing = set()
    for res, grp, bits in engine.query(" union all ".join(parts)):
        failing.update(d.failing(groups[(res, grp)], bits))
    return {name: [c for c in cs if c in failing] for name, cs in checks.items() if any(c in failing for c in cs)}


def _duplicate_keys(engine, schemas: dict[str, dict]) -> set[str]:
    """Resources where two rows may share a primary key: those whose keys do not strictly
    increase in file order (one pass over adjacent rows, one query for all files; a canonical
    file is sorted by its key, so a valid package needs no hash or group-by of its keys)."""
    in_order = getattr(engine, "positional_join", False)  # its scans keep the table's order
    parts = [sql for name, schema in schemas.items() if (sql := d.primary_key_unproven(name, schema, in_order))]
    return {res for res, n in engine.query(" union all ".join(parts)) if n} if parts else set()


def _run_structure(engine, loaded: dict[str, Loaded], report: Report) -> None:
    """All type, key and constraint checks in one query (x0 = which check); the rows reported in
    check order, as the pandas validator does, so its de-duplication picks the same message.
    Only the cell checks that failed run, each on every column of its file, read again, and the
    exact primary-key query only where the keys are not proven unique (on the key columns the
    load kept): a valid package pays neither."""
    schemas = {name: t.schema for name, t in loaded.items()}
    failed = {name: t.failed for name, t in loaded.items() if t.failed}
    duplicates = {name for name, t in loaded.items() if t.duplicates}
    _read_in_full(engine, loaded)
    checks = d.structure_checks(schemas, engine.one_scan, failed, duplicates)
    if not checks:
        return
    sql = " union all ".join(f"select {i} as x0, rn, col, v, x from ({c.sql}) s{i}" for i, c in enumerate(checks))
    found: dict[int, list] = {}
    for i, rn, col, v, x in engine.query(sql):
        found.setdefault(i, []).append((rn, col, v, x))
    for i in sorted(found):
        check, rows = checks[i], sorted(found[i])
        t = loaded[check.resource]
        lines = t.lines.of([r[0] for r in rows])
        if check.kind == "primary_key":
            _primary_key(t, rows, lines, report)
            continue
        for (_rn, col, v, x), line in zip(rows, lines):
            if check.kind.startswith("foreign_key"):
                fk = t.schema["foreignKeys"][int(check.kind.split(":")[1])]
                report.add(t.rel, line, col, foreign_key_message(fk, t.name, v, x), col_no=t.col_no(col))
            else:  # x: the kind of the cell check
                report.add(t.rel, line, col, cell_message(x, t.fields[col], v), col_no=t.col_no(col),
                           dedupe=x in DEDUPE)


def _read_in_full(engine, loaded: dict[str, Loaded]) -> None:
    """The files whose cell checks failed, read again with every column (engine.load_full, once
    each): before the checks run in lanes, so that no lane finds a table replaced under it
    (canonical_sql reads the load's own columns of the others). Keys not proven unique need no
    second read: the load kept the key columns (row_queries names them)."""
    for name in sorted(n for n, t in loaded.items() if t.failed):
        t = loaded[name]
        engine.load_full(name, t.path, t.header)


def _primary_key(t: Loaded, rows, lines, report: Report) -> None:
    groups: dict[str, list] = {}
    for (_rn, col, shown, key), line in sorted(zip(rows, lines), key=lambda p: p[0][0]):
        groups.setdefault(key, []).append((line, col, shown))
    pk = as_list(t.schema.get("primaryKey"))
    for members in groups.values():
        shown = members[0][2]
        for line, col, _ in members:
            others = [m[0] for m in members if m[0] != line]
            report.add(t.rel, line, col, primary_key_message(pk, shown, others), col_no=t.col_no(col))


def _render_known(engine, loaded: dict, report: Report) -> None:
    """The known errata worded while the other lane's queries run (KnownErrata.render); on an
    engine that runs the lanes one after another it would be one more pass, so they are worded
    as they are printed."""
    if lanes.concurrent(engine) and hasattr(report.known, "render"):
        report.known.render()


def collect(root: str | Path, engine: str = "duckdb", session=None) -> Result:
    """Every check the engine covers on the package in `root`, as validate.collect() returns it:
    the known errata made a list (the CLI streams them instead: checked())."""
    with checked(root, engine, session) as result:
        result.report.known = list(result.report.known)
    return result


@contextmanager
def checked(root: str | Path, engine: str = "duckdb", session=None) -> Iterator[Result]:
    """Every check the engine covers, the engine kept open meanwhile: result.report.known reads
    the known errata from it in output order, a page at a time (identities.KnownErrata). The
    engine is closed (DuckDB's spill directory removed) on leaving, error and Ctrl-C included."""
    root = Path(root)
    result = Result()
    report = result.report
    resources = _load_package(root, result)
    if resources is None:
        yield result
        return
    backend = ENGINES[engine](session) if engine == "spark" and session else ENGINES[engine]()
    try:
        loaded = _load_all(root, backend, resources, report)
        report_unlisted_csvs(root, resources, report)
        _guard(report, "reading again", _read_in_full, backend, loaded)
        mark_type_checked(loaded)  # the row checks below need not match a type the load found everywhere
        names = [r[0] for r in resources]

        def kept(t):
            return columns_read(t.header, t.name, row_queries({n: x.schema for n, x in loaded.items()}))

        steps = {
            "structure": _run_structure,
            "frame checks": frame_sql.check,  # after the structure, before identities: dedupe
            "identities": lambda e, ts, r: check_identities(e, ts, r, result.order),
            "ordinals and sources": check_rows,
            "organisation and trips": check_package,
            "known errata": _render_known,  # read from the identities' report: same lane
            "canonical form and row order": lambda e, ts, r: canonical_sql.check(e, ts, root, r),
            "errata references": lambda e, ts, r: errata_refs.check(e, ts, names, kept, r),
            "provenance": lambda e, ts, r: provenance_sql.check(e, ts, root, names, r),
            "figure sources": lambda e, ts, r: _figure_sources(e, ts, root, r, result),
        }  # the output's order; two lanes at once on DuckDB of about the same length, in this order on Spark
        lanes.run(backend, loaded, report, [
            [(s, steps[s]) for s in ("structure", "frame checks", "identities", "known errata")],
            [(s, steps[s]) for s in ("canonical form and row order", "errata references", "provenance",
                                     "ordinals and sources", "organisation and trips", "figure sources")]],
                  order=list(steps))
        result.rows = sum(t.lines.rows for t in loaded.values())  # type: ignore[attr-defined]
        yield result
    finally:
        backend.close()


def _figure_sources(engine, loaded: dict, root: Path, report: Report, result: Result) -> None:
    """Check (f); its counts go to the summary line, as the pandas validator's do."""
    result.numbers = figure_sources_sql.check(engine, loaded, root, report)


AUTO_BYTES = 256 << 20  # above this much CSV, pandas' memory (about 4x the data) is the limit


def choose(root: str | Path, engine: str) -> str:
    """The engine `--engine auto` means for this package: pandas when small, else DuckDB."""
    if engine != "auto":
        return engine
    data = Path(root) / "data"
    size = sum(p.stat().st_size for p in data.rglob("*.csv")) if data.is_dir() else 0
    return "duckdb" if size > AUTO_BYTES else "pandas"


def note() -> str:
    return "not checked by the SQL engines (use --engine pandas): " + "; ".join(NOT_COVERED)


def print_note() -> None:
    if NOT_COVERED:
        print(note(), file=sys.stderr)
