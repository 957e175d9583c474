"""Where the SQL of definitions.py runs: DuckDB (out-of-core: a database file and a spill
directory in a temporary directory, a memory limit, CSVs read in parallel) or Spark SQL (the same
text translated by SQLGlot; local mode by default, any cluster through SPARK_REMOTE / Spark
Connect or `spark-submit`).

Both read every cell as text (``''`` for an empty cell) and number the rows of each file in file
order (``rn``, 0-based), so a failing row maps back to its CSV line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from ...errors import UserError
from .definitions import lit, q, view


WORKDIR_PREFIX = "bazhong-duckdb-"  # then the pid of the process that made it


def _remove_orphaned_workdirs() -> None:
    """Spill directories left by runs that were killed (SIGKILL, a timeout: close() never ran),
    removed by the next run: those whose process is gone."""
    for d in Path(tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*"):
        pid, dash, _ = d.name[len(WORKDIR_PREFIX):].partition("-")
        if dash and pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(d, ignore_errors=True)


class DuckDBEngine:
    name = "duckdb"
    one_scan = False  # the cell queries run only for checks that failed: one filter each
    checks_utf8 = True  # read_csv refuses invalid UTF-8: no decoding pass in Python first
    distinct_checks = True  # a kept column's cell checks run on its distinct values (split_cell_checks)
    positional_join = True  # scans keep the table's order: adjacent rows side by side (canonical_sql)
    # two files read at once, each by one thread (see load): a CSV read in parallel and stored in
    # file order costs a ninth more CPU (N = 10,000: 5.55-5.65 s against 4.86-5.0 s)
    loads_at_once = 2

    def __init__(self, memory_limit: str | None = None, threads: int | None = None):
        duckdb = _need("duckdb", "duckdb")

        _remove_orphaned_workdirs()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))
        config: dict = {"memory_limit": memory_limit or os.environ.get("BAZHONG_DUCKDB_MEMORY", "1GB"),
                  "temp_directory": str(self.workdir / "spill"), "preserve_insertion_order": True}
        if threads:
            config["threads"] = threads
        # in memory, spilling to temp_directory beyond memory_limit: a package bigger than RAM is read too
        self.con = duckdb.connect(":memory:", config=config)
        self.full: set[str] = set()  # resources read again with every column (load_full)
        self.rows_loaded: dict[str, int] = {}  # resource -> rows, as load() counted them
        self.loaders: dict[int, object] = {}  # thread -> its cursor, for the loads run at once
        self.source_pairs: dict[str, int] | None = None  # made once a run by sources_sql.source_pairs
        self._lock = threading.Lock()

    def load(self, resource: str, path: Path, header: list[str], keep: list[str],
             computed: dict[str, str]) -> str | None:
        """Read one CSV in one pass into table r_<name>: the columns `keep` (those the row checks
        read) and `computed` (name -> SQL over the row `t`, say the cell-check masks), file order
        kept (rowid = rn), behind view t_<name>; its row count in self.rows_loaded (what the statement
        returns: no count query). One thread reads the file (parallel=false) on the calling
        thread's own cursor, so loads_at_once files are read at once. Returns the reader's error
        (ragged row, bad quoting) or None."""
        con = self._loader()
        per_row = _every_cell_read({name: sql for name, sql in computed.items() if _reads_row(sql)}, header, keep)
        kept = [f"t.{q(h)}" for h in keep] + [f"{sql} as {q(name)}" for name, sql in per_row.items()]
        try:  # the columns not named are never built: projection pushdown into read_csv
            (rows,) = con.execute(f"create or replace table {q('r_' + resource)} as select {', '.join(kept) or '0 as x'} "
                                  f"from {self._read(path, header, parallel=False)} t").fetchone()
        except Exception as e:  # noqa: BLE001 - duckdb's CSV errors have no common base class
            return str(e).split("\n")[0]
        self.rows_loaded[resource] = int(rows)
        # a column the same on every row (a count the byte pass made: 0) is not stored but shown by
        # the view, in the order given (N = 10,000, indicators alone on one thread: 2.30 -> 2.06 s CPU,
        # medians of 3 at load 5; 16 bytes a row less to hold or spill)
        shown = [f"r.{q(h)}" for h in keep] + [f"r.{q(name)}" if name in per_row else f"{sql} as {q(name)}"
                                                 for name, sql in computed.items()]
        con.execute(f"create or replace view {view(resource)} as select r.rowid as rn, {', '.join(shown) or 'r.*'} "
                    f"from {q('r_' + resource)} r")
        return None

    def _loader(self):
        """The calling thread's cursor of the database (its tables and views are everyone's)."""
        with self._lock:
            if threading.get_ident() not in self.loaders:
                self.loaders[threading.get_ident()] = self.con.cursor()
            return self.loaders[threading.get_ident()]

    def interrupt_loads(self) -> None:
        """Stop the loads running in other threads (Ctrl-C, an error: _load_all)."""
        with self._lock:
            for con in self.loaders.values():
                con.interrupt()

    def load_full(self, resource: str, path: Path, header: list[str]) -> None:
        """Every column of the file behind t_<name> (rows numbered as load() numbered them), for
        the queries that find the failing cells or the quoted newlines: only when needed."""
        if resource in self.full:
            return
        self.full.add(resource)
        self.con.execute(f"create or replace table {q('f_' + resource)} as select * from {self._read(path, header)}")
        self.con.execute(f"create or replace view {view(resource)} as select rowid as rn, * from {q('f_' + resource)}")
        self.con.execute(f"drop table if exists {q('r_' + resource)}")

    @staticmethod
    def _read(path: Path, header: list[str], parallel: bool = True) -> str:
        """The CSV, every cell text: force_not_null gives '' for an empty cell, quoted or not,
        where a coalesce() over every column cost the load a tenth of its CPU."""
        columns = "{" + ", ".join(f"{lit(h)}: 'VARCHAR'" for h in header) + "}"
        return (f"read_csv({lit(str(path))}, columns={columns}, header=true, auto_detect=false, delim=',', "
                f"quote='\"', escape='\"', strict_mode=true, null_padding=false, parallel={str(parallel).lower()}, "
                f"force_not_null=[{', '.join(lit(h) for h in header)}])")

    def query(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def materialize(self, name: str, sql: str) -> None:
        """A result several queries read, computed once."""
        self.con.execute(f"create or replace temp table {q(name)} as {sql}")

    def lines_of(self, table: str, rns: list[int]) -> list[int]:
        """CSV line of each row rn, from the running counts of quoted newlines in `table`
        (lines.py): rn + 2 + the newlines of the last row before rn that holds some (ASOF join),
        so only the rows asked for come back to Python."""
        # the rows asked for as a table first: unnest() of the parameter inside the ASOF join
        # was evaluated again and again (85 s CPU for 30,000 rows; 0.07 s this way)
        self.con.execute("create or replace temp table wanted_rows as select unnest(?::BIGINT[]) as rn",
                         [sorted(set(rns))])
        found = dict(self.con.execute(f"select w.rn, w.rn + 2 + coalesce(h.cum, 0) from wanted_rows w "
                                      f"asof left join {q(table)} h on w.rn > h.rn").fetchall())
        return [int(found[rn]) for rn in rns]

    def close(self) -> None:
        for con in self.loaders.values():
            con.close()
        self.con.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


_ROW = re.compile(r'\bt\."')
UTF8 = "__utf8"  # a stored column of 0s that reads the cells nothing else reads (_every_cell_read)


def _every_cell_read(per_row: dict[str, str], header: list[str], keep: list[str]) -> dict[str, str]:
    """The computed columns, one of them also reading every column of the header that neither
    `keep` nor a computed column reads: read_csv checks the UTF-8 of the columns it builds only,
    so invalid bytes in a column no check reads (a note) had passed. The first computed column
    ORs in 0 times their lengths; with none, a TINYINT of 0s is stored (a byte a row). N = 10,000:
    about 60 MB of such cells (notes, reasons, goals) of 1.2 GB."""
    unread = [h for h in header if h not in keep and not any(f"t.{q(h)}" in sql for sql in per_row.values())]
    if not unread:
        return per_row
    zero = f"cast(0 * ({' + '.join(f'strlen(t.{q(h)})' for h in unread)}) as TINYINT)"
    if not per_row:
        return {UTF8: zero}
    first = next(iter(per_row))
    return {**per_row, first: f"({per_row[first]}) | {zero}"}


def _reads_row(sql: str) -> bool:
    """A computed column's SQL reads the row `t` (a mask, a count over cells), else it is the
    same on every row (load)."""
    return bool(_ROW.search(sql))


class EngineMissing(UserError):
    """An engine's library is not installed: `bazhong-accounts: error: …`, exit 1."""


def _need(module: str, extra: str):
    """Import an engine's library, or say how to install it (not a traceback)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise EngineMissing(f"this engine needs {module.split('.')[0]}: pip install 'bazhong-accounts[{extra}]'"
                            if extra != "duckdb" else
                            "this engine needs duckdb: pip install duckdb (pinned in constraints.txt)") from None


@lru_cache(maxsize=None)
def to_spark(sql: str) -> str:
    """The DuckDB text of a check in Spark SQL (SQLGlot)."""
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


@lru_cache(maxsize=512)
def shared_ctes(sql: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """The DuckDB text of a query in Spark SQL, each CTE read more than once taken out as a view
    to compute first: Spark inlines CTEs, so the pointer doubling of package_checks (a_k joins
    a_{k-1} with itself) would plan and run its first step 2^6 times. Returns the views (name,
    Spark SQL) in the order to make them, and the query over them. A view is named for its
    alias and its text, so one made for an earlier query of the same package is made once; the
    packages of a test share their schemas, so most texts repeat: SQLGlot translates each once."""
    import hashlib

    import sqlglot
    from sqlglot import exp

    if not re.search(r"\bwith\b", sql, re.IGNORECASE):
        return (), to_spark(sql)
    tree = sqlglot.parse_one(sql, read="duckdb")
    views: list[tuple[str, str]] = []
    for ctes in list(tree.find_all(exp.With)):  # at the top or in a branch of a union
        for cte in list(ctes.expressions):
            refs = [t for t in tree.find_all(exp.Table) if t.name == cte.alias and not t.db]
            if len(refs) < 2:
                continue
            earlier = ctes.expressions[:ctes.expressions.index(cte)]  # those read once, which it may read
            body = cte.this.sql(dialect="spark")
            if earlier:
                body = f"WITH {', '.join(c.sql(dialect='spark') for c in earlier)} {body}"
            name = f"cte_{cte.alias}_{hashlib.sha1(body.encode()).hexdigest()[:12]}"
            views.append((name, body))
            for t in refs:  # the CTE's name stays the alias its columns are qualified by
                t.set("alias", t.args.get("alias") or exp.TableAlias(this=exp.to_identifier(cte.alias)))
                t.set("this", exp.to_identifier(name))
            cte.pop()
        if not ctes.expressions:
            ctes.pop()
    return tuple(views), tree.sql(dialect="spark")


# the tokens union_branches looks at: quoted strings and names (skipped), parentheses, and the
# words that act on a whole union when they stand outside every parenthesis
_UNION_TOKENS = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|[()]|--|/\*"""
                           r"|\b(?:UNION\s+ALL|UNION|INTERSECT|EXCEPT|MINUS|WITH|ORDER\s+BY|SORT\s+BY|"
                           r"CLUSTER\s+BY|DISTRIBUTE\s+BY|LIMIT|OFFSET)\b", re.IGNORECASE)


@lru_cache(maxsize=1024)
def union_branches(text: str) -> tuple[str, ...]:
    """The branches of a Spark SQL query that is a plain `UNION ALL` of queries (nothing over the
    whole union: no WITH, ORDER BY, LIMIT, and no UNION, INTERSECT or EXCEPT beside it); () for
    any other query. The checks put a check or a table in each branch, so a branch reads one or
    two tables: SparkEngine.query remembers each branch's rows apart, and a package that changes
    a few files computes only the branches that read them. A scan of the tokens, not a parse
    (SQLGlot's parse of the 200 KB of a package's queries costs seconds of Python)."""
    depth, cuts = 0, []
    for m in _UNION_TOKENS.finditer(text):
        token = m.group(0)
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token in ("--", "/*"):
            return ()  # a comment: not what SQLGlot writes, so not worth reading
        elif depth == 0 and token[0] not in "'\"`":
            if re.fullmatch(r"UNION\s+ALL", token, re.IGNORECASE):
                cuts.append(m.span())
            else:
                return ()
    if not cuts:
        return ()
    starts = [0] + [end for _, end in cuts]
    ends = [start for start, _ in cuts] + [len(text)]
    return tuple(text[i:j].strip() for i, j in zip(starts, ends))


_SESSION = None
# the driver JVM's options (BAZHONG_SPARK_JAVA_OPTIONS replaces them): see spark_session
JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:InitialRAMPercentage=10"
# optimizer rules that never change a plan of these checks (Catalyst's rule metrics on the real and
# a synthetic package: 0 effective runs each) but are tried on every plan; the second group (stop 24,
# RuleExecutor.dumpTimeSpent over the real package: 0 of 220-1039 runs effective each, 0.55 s of the
# 11.1 s the rules took) rewrites only what these checks never write (variants, file partitions,
# struct fields, generators, comparisons with literals, filters always true or false)
QUIET_RULES = ("org.apache.spark.sql.execution.planmerging.MergeSubplans",
               "org.apache.spark.sql.catalyst.optimizer.InjectRuntimeFilter",
               "org.apache.spark.sql.execution.datasources.SchemaPruning",
               "org.apache.spark.sql.catalyst.optimizer.OptimizeOneRowRelationSubquery",
               "org.apache.spark.sql.execution.datasources.PushVariantIntoScan",
               "org.apache.spark.sql.catalyst.optimizer.SimplifyBinaryComparison",
               "org.apache.spark.sql.catalyst.optimizer.UnwrapCastInBinaryComparison",
               "org.apache.spark.sql.execution.datasources.PruneFileSourcePartitions",
               "org.apache.spark.sql.catalyst.optimizer.OptimizeUpdateFields",
               "org.apache.spark.sql.catalyst.optimizer.GenerateOptimization",
               "org.apache.spark.sql.catalyst.optimizer.PruneFilters",
               "org.apache.spark.sql.execution.dynamicpruning.PartitionPruning",
               "org.apache.spark.sql.catalyst.optimizer.ConstantPropagation",
               "org.apache.spark.sql.catalyst.optimizer.PullUpProjectAliasThroughWindow")


def spark_session():
    """One SparkSession per process: local[1] unless BAZHONG_SPARK_MASTER says otherwise or
    SPARK_REMOTE names a Spark Connect server."""
    global _SESSION
    if _SESSION is None:
        SparkSession = _need("pyspark.sql", "spark").SparkSession

        builder = SparkSession.builder.appName("bazhong-accounts validate")
        if not os.environ.get("SPARK_REMOTE"):
            builder = (builder.master(os.environ.get("BAZHONG_SPARK_MASTER", "local[1]"))
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.shuffle.partitions", os.environ.get("BAZHONG_SPARK_PARTITIONS", "1"))
                       # the checks are many small plans over small tables: compiling each
                       # expression to Java bytecode (Janino) costs more than interpreting it
                       .config("spark.sql.codegen.wholeStage", "false")
                       .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
                       # every table is one partition (load): joins and aggregates need no exchange,
                       # so no broadcast jobs and no adaptive re-planning per stage (measured: the
                       # structure query of the real package went from 127 jobs to 1)
                       .config("spark.sql.adaptive.enabled", "false")
                       .config("spark.sql.autoBroadcastJoinThreshold", "-1")
                       .config("spark.sql.ansi.enabled", "false")
                       # constraints inferred for every operator of a plan of hundreds of union
                       # branches only to add IS NOT NULL filters (InferFiltersFromConstraints: 6 %
                       # of the Catalyst rule time of the real package; the rows are the same)
                       .config("spark.sql.constraintPropagation.enabled", "false")
                       .config("spark.sql.optimizer.excludedRules", ",".join(QUIET_RULES))
                       # each query's plan is written out for the (disabled) UI's listeners: the
                       # plain tree, not the formatted one with its operator ids (2 % of JFR samples)
                       .config("spark.sql.ui.explainMode", "simple")
                       # a local driver runs seconds, not hours: the quick JIT tier only, and the
                       # serial collector (measured: a third less CPU for the real package), its heap
                       # its full size (spark.driver.memory, 1 GB) from the start, not a 64th of the
                       # RAM grown collection after collection (the collector's CPU over the real,
                       # synthetic and mutation packages: 4.8 -> 2.7 s, one run each at load 4-8)
                       .config("spark.driver.extraJavaOptions",
                               os.environ.get("BAZHONG_SPARK_JAVA_OPTIONS", JAVA_OPTIONS)))
        _SESSION = builder.getOrCreate()
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


class Remembered:
    """What Spark computed on one session, by what it was computed from (remember_results)."""

    def __init__(self):
        self.frames: dict[str, object] = {}  # fingerprint -> checkpointed DataFrame
        self.rows: dict[str, list[tuple]] = {}  # fingerprint -> the rows of a query or of a union's branch
        self.schemas: dict[str, str] = {}  # fingerprint -> the schema of a view
        self.columns: dict[str, list[tuple[str, str]]] = {}  # a union's text and its views' schemas -> its columns
        self.own: dict[str, list[tuple[str, str]]] = {}  # a union branch's text and its views' schemas -> its columns
        # temporary view -> the fingerprint of the remembered frame it shows now (SparkEngine._show)
        self.shown: dict[str, str] = {}
        self.computed = self.reused = 0  # Spark jobs run and saved (checkpoints and queries)


_REMEMBERED: dict[int, tuple[object, Remembered]] = {}  # id -> (the session, kept so its id is not reused)


def remember_results(session) -> Remembered:
    """Every SparkEngine on `session` from now on reuses what an earlier one computed from the
    same inputs: a table read from a CSV of the same bytes, a view or a query of the same text
    over views of the same fingerprints. For many packages validated in one process that share
    most files (the engine-agreement tests: the real package and its broken copies); a single
    `validate` gains nothing and keeps nothing after close()."""
    return _REMEMBERED.setdefault(id(session), (session, Remembered()))[1]


@lru_cache(maxsize=1024)
def _names(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


class SparkEngine:
    name = "spark"
    one_scan = True  # Catalyst plans hundreds of union branches slowly: one scan per resource
    checks_utf8 = False  # Spark's reader replaces invalid bytes silently: decode in Python first

    SMALL = 64 << 20  # CSV bytes below which each query runs as one task (see query)
    # A CSV below this is read by the csv module and handed to Spark as Arrow (a LocalRelation in
    # the driver: no file-scan job, no CSV reader per file); above, Spark's reader reads it (a
    # cluster reads it where it lies; Python would hold the rows twice, a few hundred MB at 16 MB)
    SMALL_FILE = 16 << 20

    def __init__(self, session=None):
        self.spark = session or spark_session()
        self.frames: list = []  # checkpointed frames, released by close()
        self.views: list[str] = []  # temporary views of CTEs and union branches (close())
        self.bytes = 0
        # remember_results() was called for the session
        self.memo = _remembered(self.spark)
        self.prints: dict[str, str] = {}  # view -> fingerprint of what it was computed from
        self.schemas: dict[str, str] = {}  # view -> its columns' names and types
        self.source_pairs: dict[str, int] | None = None  # made once a run by sources_sql.source_pairs
        self._name_call_site()

    def _name_call_site(self) -> None:
        """Spark names every RDD it makes by its call site: a JVM stack trace walked and
        formatted (5 % of the driver's CPU in JFR samples of a package), unless this thread's
        local properties give one. Given; pyspark's collect() clears the short one after each
        action, so _collect gives it again. (A Spark Connect session has no context here.)"""
        context = getattr(self.spark, "_sc", None)
        if context is not None:
            for form in ("short", "long"):
                context.setLocalProperty(f"callSite.{form}", "bazhong-accounts validate")

    def load(self, resource: str, path: Path, header: list[str], keep: list[str],
             computed: dict[str, str]) -> str | None:
        """Every column (`keep` is DuckDB's saving) and the `computed` columns, translated by
        SQLGlot, behind view t_<name>, kept once computed (a lazy local checkpoint: the first
        query that reads the table computes it). Returns the reader's error (a ragged row, bad
        quoting) or None."""
        raw, table_view = "raw_" + resource, view(resource).strip('"')
        extra = "".join(f", {sql} as {q(column)}" for column, sql in computed.items())
        text = to_spark(f"select t.*{extra} from {q(raw)} t")
        size = path.stat().st_size
        self.bytes += size
        small = size < self.SMALL_FILE
        if small:  # read here: a file the csv module refuses is refused before any Spark plan
            rows = _csv_rows(path, len(header))
            if isinstance(rows, str):
                return rows

        def table():
            df = self._local_table(rows, header) if small else self._csv_table(path, header)
            self._show(raw, df)
            return self.spark.sql(text)

        key = None
        if self.memo is not None:  # a file read here by its rows: a copy that differs only in its
            # bytes (a byte order mark, CRLF, quoting) reuses the table (and the queries over it)
            content = json.dumps(rows, ensure_ascii=False).encode() if small else path.read_bytes()
            key = _digest(content, "\0".join(header).encode(), text.encode())
        try:
            self._register(table_view, key, table)
        except Exception as e:  # noqa: BLE001 - FAILFAST's error (a ragged row) comes wrapped
            return _first_line(e)
        return None

    def _local_table(self, rows: list[list[str]], header: list[str]):
        """The rows read in Python, handed to Spark as Arrow: a LocalRelation, no file to scan
        and no job to read it (rn and the cells as the CSV reader would give them)."""
        import pyarrow as pa

        columns = [pa.array(range(len(rows)), pa.int64())]
        columns += [pa.array([r[i] for r in rows], pa.string()) for i in range(len(header))]
        return self.spark.createDataFrame(pa.Table.from_arrays(columns, names=["rn", *header])).coalesce(1)

    def _csv_table(self, path: Path, header: list[str]):
        """Spark's CSV reader, for files too big to pass through Python (SMALL_FILE)."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField, StructType

        schema = StructType([StructField(h, StringType()) for h in header])
        # multiLine: a file is one partition, so monotonically_increasing_id() numbers its rows 0..n-1
        df = self.spark.read.csv(str(path), schema=schema, header=True, multiLine=True, quote='"', escape='"',
                                 mode="FAILFAST", enforceSchema=True, encoding="UTF-8")
        # multiLine reads a file as one partition anyway; coalesce(1) says so to the planner
        # (SinglePartition), so joins and aggregates over one table need no shuffle
        return df.coalesce(1).select(F.monotonically_increasing_id().alias("rn"),
                                     *[F.coalesce(F.col(f"`{h}`"), F.lit("")).alias(h) for h in header])

    def _register(self, name: str, key: str | None, make) -> None:
        """View `name` of make()'s rows, kept on the executors once computed, the lineage cut (a
        small plan for every query that reads them). The checkpoint is lazy: the first query that
        reads the view computes it inside its own job (an eager one was a job of its own, 44 of
        the real package's 90); with remembered results, made once per fingerprint `key` and kept
        by the session, not released by close()."""
        if self.memo is None:
            df = self._one_task(make()).localCheckpoint(eager=False)
            self.frames.append(df)
        elif key in self.memo.frames:
            df = self.memo.frames[key]
            self.memo.reused += 1
        else:
            df = self.memo.frames[key] = self._one_task(make()).localCheckpoint(eager=False)
            self.memo.computed += 1
        if not self._showing(name, key):
            self._show(name, df, key)
        self.prints[name] = key
        if self.memo is not None:  # what a union over the view is typed by (_by_branch)
            self.schemas[name] = self.memo.schemas.get(key) or self.memo.schemas.setdefault(key, df.schema.simpleString())

    def _fingerprint(self, text: str) -> str | None:
        """The text and the fingerprints of the views it reads: equal fingerprints, equal rows."""
        if self.memo is None:
            return None
        read = sorted(n for n in _names(text) if n in self.prints)
        return _digest(text.encode(), *(f"{n}={self.prints[n]}".encode() for n in read))

    def load_full(self, resource: str, path: Path, header: list[str]) -> None:
        """t_<name> has every column already."""

    def query(self, sql: str) -> list[tuple]:
        text = self._without_shared_ctes(sql)
        if self.memo is None:
            return self._collect(self.spark.sql(text))
        key = self._fingerprint(text)
        if key in self.memo.rows:
            self.memo.reused += 1
        else:
            branches = union_branches(text)
            self.memo.rows[key] = (self._by_branch(text, branches) if len(branches) > 1
                                   else self._collect(self.spark.sql(text)))
            self.memo.computed += 1
        return list(self.memo.rows[key])

    def _collect(self, df) -> list[tuple]:
        rows = [tuple(r) for r in self._one_task(df).collect()]
        self._name_call_site()
        return rows

    def _by_branch(self, text: str, branches: tuple[str, ...]) -> list[tuple]:
        """The rows of a union, remembered branch by branch: only the branches whose inputs are
        new run, in one job, each row tagged with its branch; the others' rows are reused. Spark
        widens the types of a union's columns over all its branches, so a branch run without the
        others is cast to the whole union's types, and its rows are remembered by its inputs and
        those types: the rows are those of the whole query, in its order. A union whose shape is
        not known yet (_columns) runs whole."""
        columns = self._columns(text)
        if columns is None:
            todo = list(range(len(branches)))
            df = self.spark.sql(" union all ".join(f"select {i} as __branch, b{i}.* from ({b}) b{i}"
                                                   for i, b in enumerate(branches)))
            columns = self._columns(text, df.schema.fields[1:])
            keys = [self._branch_key(b, columns) for b in branches]
        else:
            keys = [self._branch_key(b, columns) for b in branches]
            todo = [i for i, k in enumerate(keys) if k not in self.memo.rows]
            if not todo:
                self.memo.reused += len(branches)
                return [r for k in keys for r in self.memo.rows[k]]
            df = self.spark.sql(" union all ".join(f"select {i} as __branch, {_cast_to(columns)} from "
                                                   f"({branches[i]}) b{i}({_positions(columns)})" for i in todo))
        self.memo.reused += len(branches) - len(todo)
        found: dict[int, list[tuple]] = {i: [] for i in todo}
        for row in self._collect(df):
            found[row[0]].append(row[1:])
        for i in todo:
            self.memo.rows[keys[i]] = found[i]
        return [r for k in keys for r in self.memo.rows[k]]

    def _branch_key(self, branch: str, columns: list[tuple[str, str]]) -> str:
        """A branch's rows are its inputs' (the fingerprint) cast to its union's columns."""
        return _digest(str(self._fingerprint(branch)).encode(), str(columns).encode())

    def _columns(self, text: str, fields=None) -> list[tuple[str, str]] | None:
        """The (name, type) of each column of a union, remembered by its text and the schemas of
        the views it reads (the same for every package of the same schemas): those given by
        `fields` of a union just analysed (or the columns themselves), or those remembered, or None."""
        key = self._typed(text)
        if fields is not None:
            self.memo.columns[key] = [f if isinstance(f, tuple) else (f.name, f.dataType.simpleString())
                                      for f in fields]
        return self.memo.columns.get(key)

    def _typed(self, text: str) -> str:
        """A query's text and the schemas of the views it reads: what its columns' types depend on."""
        return _digest(text.encode(), *(f"{n}={self.schemas[n]}".encode()
                                        for n in sorted(_names(text)) if n in self.schemas))

    def _widened(self, branches: tuple[str, ...]) -> tuple[list[tuple[str, str]], dict[int, object]]:
        """(the columns of the union of `branches`, the branches analysed here by their index).
        Each branch's own columns are remembered by its text and its views' schemas, so only a
        branch not seen before is analysed, once: its frame is returned for the caller to cast
        rather than analyse again. Where the branches differ, Spark widens their types over a
        union of typed nulls (the same rule as over the branches themselves, on a plan of a few
        nodes rather than of the whole union: the breaks of the real package, 32 KB of SQL,
        analysed twice before, once whole for its types and once branch by branch)."""
        owns, frames = [], {}
        for i, branch in enumerate(branches):
            key = self._typed(branch)
            if key not in self.memo.own:
                frames[i] = self.spark.sql(branch)
                self.memo.own[key] = [(f.name, f.dataType.simpleString()) for f in frames[i].schema.fields]
            owns.append(self.memo.own[key])
        if all(own == owns[0] for own in owns):
            return owns[0], frames
        nulls = " union all ".join("select " + ", ".join(("null" if t == "void" else f"cast(null as {t})")
                                                         + f" as `{n.replace('`', '``')}`" for n, t in own)
                                   for own in owns)
        return [(f.name, f.dataType.simpleString()) for f in self.spark.sql(nulls).schema.fields], frames

    def _one_task(self, df):
        """A union of n branches is n tasks, each deserialising the whole plan (seen in jstack;
        the event log of the real package: 29 tasks of 30-370 ms each to checkpoint one view of
        breaks, half the executors' time): one task for a small package, queries and views."""
        return df.coalesce(1) if self.bytes < self.SMALL else df

    def _without_shared_ctes(self, sql: str) -> str:
        """The query in Spark SQL, each CTE read more than once computed first as a view of its
        own (shared_ctes): a view this engine made already for the same text is not made again."""
        views, text = shared_ctes(sql)
        for name, body in views:
            if name not in self.views:
                self._register(name, self._fingerprint(body), lambda body=body: self.spark.sql(body))
                self.views.append(name)
        return text

    def materialize(self, name: str, sql: str) -> None:
        """A result several queries read, computed once."""
        text = self._without_shared_ctes(sql)
        branches = union_branches(text) if self.memo is not None else ()
        if len(branches) > 1:
            self._union_view(name, text, branches)
        else:
            self._register(name, self._fingerprint(text), lambda: self.spark.sql(text))

    def _union_view(self, name: str, text: str, branches: tuple[str, ...]) -> None:
        """View `name` of a union (the breaks of every identity), made of a view per branch, each
        remembered by its own fingerprint (as _by_branch remembers a query's rows): a package
        that changes a few files computes and analyses only the branches that read them, not the
        whole union again. Each branch is cast to the whole union's columns (_columns)."""
        columns, frames = self._columns(text), {}
        if columns is None:
            columns, frames = self._widened(branches)
            self._columns(text, columns)
        parts, positions = [], [f"c{j}" for j in range(len(columns))]
        for i, branch in enumerate(branches):
            parts.append(f"{name}_{i}")
            sql = f"select {_cast_to(columns, named=True)} from ({branch}) b({_positions(columns)})"
            # a branch _widened analysed is cast as the text says, not analysed again
            self._register(parts[-1], self._fingerprint(sql),
                           (lambda df=frames[i]: df.toDF(*positions).selectExpr(*_casts(columns, named=True)))
                           if i in frames else (lambda sql=sql: self.spark.sql(sql)))
            self.views.append(parts[-1])
        self.prints[name] = _digest(*(str(self.prints[p]).encode() for p in parts))
        union = " union all ".join(f"select * from {p}" for p in parts)
        key = _digest(union.encode(), self.prints[name].encode())
        if not self._showing(name, key):
            self._show(name, self.spark.sql(union), key)
        self.schemas[name] = str(columns)

    def _session_shown(self) -> dict:
        """The session's record of what its views show (Remembered.shown), whether or not this
        engine remembers (its memo may be switched off); empty for a session that remembers nothing."""
        memo = _remembered(self.spark)
        return memo.shown if memo is not None else {}

    def _showing(self, name: str, key: str | None) -> bool:
        """View `name` shows the remembered frame of fingerprint `key` already (_show made it)."""
        return self.memo is not None and key is not None and self.memo.shown.get(name) == key

    def _show(self, name: str, df, key: str | None = None) -> None:
        """df.createOrReplaceTempView(name): a command Spark analyses and runs, with its events
        (about 6 ms of the driver's CPU, 24 ms in a cold JVM), which callers skip where the view
        shows the remembered frame of fingerprint `key` already (_showing: the next package of a
        test, whose unchanged files and views give the same frames; the mutation cases' four
        copies made 340 views, most of them again). A view made with no key, or by an engine
        that remembers nothing, is forgotten by name."""
        shown = self._session_shown()
        shown.pop(name, None)  # forgotten first: a failed command leaves nothing known
        df.createOrReplaceTempView(name)
        if self.memo is not None and key is not None:
            shown[name] = key

    def close(self) -> None:
        """The views of CTEs and union branches dropped and the frames released; with remembered
        results both are the session's, kept for the next package (their names carry their text
        or are made again over what they show: _show)."""
        if self.memo is None:
            shown = self._session_shown()
            for name in self.views:
                shown.pop(name, None)  # the session's record, if another engine on it remembers
                self.spark.catalog.dropTempView(name)
        for df in self.frames:
            df.unpersist()


def _remembered(spark) -> "Remembered | None":
    """What remember_results() keeps for `spark`'s session, or None when it was not called."""
    return _REMEMBERED[id(spark)][1] if id(spark) in _REMEMBERED else None


def _positions(columns: list[tuple[str, str]]) -> str:
    """Names for a branch's columns by position (a branch may repeat a name): c0, c1, …"""
    return ", ".join(f"c{j}" for j in range(len(columns)))


def _cast_to(columns: list[tuple[str, str]], named: bool = False) -> str:
    """The columns c0, c1, … cast to the types of a union's columns (named as they are)."""
    return ", ".join(_casts(columns, named))


def _casts(columns: list[tuple[str, str]], named: bool = False) -> list[str]:
    def one(j: int, name: str, type_: str) -> str:
        cell = f"c{j}" if type_ == "void" else f"cast(c{j} as {type_})"  # void: a null of every branch
        return f"{cell} as `{name}`" if named else cell

    return [one(j, name, type_) for j, (name, type_) in enumerate(columns)]


def _digest(*parts: bytes) -> str:
    import hashlib

    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


def _csv_rows(path: Path, ncols: int) -> list[list[str]] | str:
    """The rows of a CSV below its header as the csv module reads them, blank lines skipped as
    Spark's reader skips them, invalid UTF-8 replaced as it replaces it; or the error that makes
    the file unreadable (files.py's ragged-row scan then says where)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(path.read_bytes().decode("utf-8", errors="replace"), newline=""))
    try:
        rows = [r for r in reader if r]
    except csv.Error as e:
        return f"not a valid CSV: {e}"
    ragged = next((r for r in rows[1:] if len(r) != ncols), None)
    return f"a row has {len(ragged)} fields, the header {ncols}" if ragged is not None else rows[1:]


def _first_line(error: Exception) -> str:
    return str(error).strip().split("\n")[0]


ENGINES = {"duckdb": DuckDBEngine, "spark": SparkEngine}
