"""Spark agrees with pandas (and so with DuckDB, tests/checks/test_engines.py): the real package,
every mutation case (combined as test_engines.py combines them), a synthetic package, the
organisation and trips checks, and the checks the SQL engines took over from pandas (the broken
copy of test_engines_sql_checks.py, word for word), each compared to the pandas validator.

One SparkSession (local mode, Java from Debian's openjdk-17-jre-headless) serves every test; it
is started once, on the xdist worker that runs this module (conftest.py puts the module first in
the collection, so that worker starts it at once and the other takes the rest of the suite). Its
JVM maps Spark's classes from an AppCDS archive kept in the venv (class_archive: written as the
first session's JVM exits, the session waiting for it, read by the next; start 11 -> 5 s at load
6-9; not under CI=true, whose fresh clone would only pay for writing it). The session remembers
what Spark computed (backends.remember_results): the broken copies differ from the real package
in some files, so a table read from a file of the same rows, a query over tables of the same
content, and each branch of a union query (one check or one table per branch) whose tables did
not change, is computed once, for the real package (the first test); each copy runs only the
branches its changed files reach, one job per query. Each case still goes through the whole
engine: the views, Spark reading every changed file, SQLGlot's translation.

In `make test` (JVM CPU seconds per test, benchmarks/bench_spark_cases.py --against main under
CI=true, no class archive, load 3-6, stop 22; main before in brackets): the real package 28.9
(28.6, the JVM's start included), the mutation cases 24.2 (25.0: two of the four copies change 17
and 9 of the 18 files, so they cost nearly a package each), the synthetic package 12.6 (15.0:
every file new), organisation and trips 2.0 (2.6), the two readers' agreement and the JVM-free
tests. `make test-spark` adds the SQL checks word for word (8.7; 17.2) and the test of what the
session remembers (6.9; 9.1): spark_slow, as the suite's two minutes have no room left for them.
Stop 24, on a host about 1.4x slower (medians of three alternated rounds, load 3.5-5, main in
brackets): the real package 41.6 (44.9), the mutation cases 36.7 (34.6; rounds 31-38 both), the
synthetic package 21.0 (20.3), organisation and trips 2.7 (2.7), the SQL checks 12.1 (14.6), the
memo test 7.4 (10.6): `make test`'s share 105.7 (104.5), unchanged within the noise.
A package Spark has not seen costs about 25 Spark jobs over some 300 KB of Spark SQL (97
statements), and the size of its plans, not its rows, sets the cost. JFR samples of the whole
module (benchmarks/bench_spark_profile.py, CI=true, stop 24, load 6-9): the driver thread 75 % of
the JVM's CPU, the executor's tasks 13 %, the scheduler 6 %, the JIT and the collector the rest.
Of the driver's: Catalyst's analysis 27 % and parsing 8 %; optimising and planning 25 % (done
lazily in explainString when each action starts); Spark's ClosureCleaner 15 % (ASM reading the
bytecode of the class that made each closure: HashAggregateExec, SortMergeJoinExec, the
checkpoint's map, runJob; Spark has no setting to skip it); class loading 7 %; serialising the
closures and tasks 6.5 %. By the call Python made: collect 31 %, spark.sql 29 %,
localCheckpoint 18 %, createOrReplaceTempView 8 %. Catalyst's rule metrics over the real
package: 11.1 s in 140,495 rule runs, spread over many rules (ResolveReferences 1.6 s, type
coercion 0.7 s); the analyser's rules that never fire cannot be excluded. Only fewer plans would
cut it by much: one run for several packages (a case_id column in every query), untried. The
executors had spent half their time deserialising the plan once per union branch until every
view and query of a small package ran as one task (SparkEngine._one_task). The engine's
settings are measured and explained in checks/engines/backends.py (spark_session, SparkEngine).
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bazhong_accounts.checks import engines
from test_engines import COVERED, ROOT, compare, problems, reported
from test_engines import broken, org_and_trips, pandas_on_broken, synthetic  # noqa: F401  fixtures
from test_engines_sql_checks import broken as sql_checks_broken  # noqa: F401  the fixture


@pytest.fixture(scope="session")
def spark(request):
    from bazhong_accounts.checks.engines.backends import JAVA_OPTIONS, remember_results, spark_session

    # in a venv (make's .venv) the archive is kept there; not in CI, whose fresh clone never
    # reads it: writing it keeps the exiting JVM busy about 20 s of CPU after the tests
    written = None
    if sys.prefix != sys.base_prefix and not os.environ.get("CI") and "BAZHONG_SPARK_JAVA_OPTIONS" not in os.environ:
        option, written = class_archive(Path(sys.prefix))
        os.environ["BAZHONG_SPARK_JAVA_OPTIONS"] = f"{JAVA_OPTIONS} {option}"
    session = spark_session()
    remember_results(session)
    if written:
        request.addfinalizer(lambda: keep_class_archive(session.sparkContext._gateway.proc, written))
    return session


ARCHIVE, LOG_OFF = "spark-classes.jsa", "-Xlog:cds=off -Xlog:cds+dynamic=off"


def class_archive(folder: Path) -> tuple[str, Path | None]:
    """(the JVM option that maps the classes Spark loads from an archive (AppCDS) kept in
    `folder` (the venv), the file the JVM writes it to as it exits, else None). The first time
    the JVM writes it to a file of this process (spark-classes.jsa.PID), and keep_class_archive
    renames it once the JVM has finished: an archive cut short by a killed run is never read, and
    one left by a process that has died is removed. Measured at load 6-9: the JVM's start 11.0 ->
    5.4 s, the real package's JVM CPU 26.9 -> 22.5 s. A JVM that finds the archive stale (another
    Java or Spark) says so on stderr and starts without."""
    archive = folder / ARCHIVE
    for leftover in folder.glob(ARCHIVE + ".*"):
        pid = leftover.suffix[1:]
        if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):  # else another session is writing it
            leftover.unlink(missing_ok=True)
    if archive.exists():
        return f"-XX:SharedArchiveFile={archive} {LOG_OFF}", None
    written = folder / f"{ARCHIVE}.{os.getpid()}"
    return f"-XX:ArchiveClassesAtExit={written} {LOG_OFF}", written


def keep_class_archive(jvm, written: Path) -> None:
    """End the JVM (it exits when its stdin closes, as when this process ends) and wait while it
    writes the archive; keep the archive only if the JVM ended well, renamed in one step."""
    jvm.stdin.close()
    try:
        ended_well = jvm.wait(timeout=300) == 0
    except subprocess.TimeoutExpired:
        jvm.kill()
        ended_well = False
    if ended_well and written.exists():
        os.replace(written, written.with_suffix(""))
    else:
        written.unlink(missing_ok=True)


def test_spark_agrees_on_the_real_package(spark, root_validation):
    expected, got = compare(ROOT, "spark", root_validation[1])
    assert got == expected
    assert any(p[0] == "known" for p in got), "the real package has errata-covered breaks"


def test_spark_agrees_on_every_mutation_case(spark, broken, pandas_on_broken):  # noqa: F811
    for pkg, pandas_result in zip(broken, pandas_on_broken):
        expected, got = compare(pkg, "spark", pandas_result)
        assert got == expected, (pkg, sorted(got - expected), sorted(expected - got))


def test_spark_agrees_on_a_synthetic_package(spark, synthetic):  # noqa: F811
    pkg, line = synthetic
    expected, got = compare(pkg, "spark")
    assert got == expected, (sorted(got - expected), sorted(expected - got))
    assert any(p[:3] == ("data/income.csv", line, "source_id") and "is the report of" in p[3] for p in got), got


def test_spark_agrees_on_organisation_and_trips(spark, org_and_trips):  # noqa: F811
    pkg, cases = org_and_trips
    expected, got = compare(pkg, "spark")
    assert got == expected, (sorted(got - expected), sorted(expected - got))
    assert reported(got, cases) == cases, sorted(got)


@pytest.mark.spark_slow
def test_spark_agrees_on_the_sql_checks_word_for_word(spark, sql_checks_broken):  # noqa: F811
    pkg, expected, pandas_result, _ = sql_checks_broken
    result = engines.collect(pkg, "spark")
    want, got = problems(pandas_result, True), problems(result, False)
    assert got == want, (sorted(got - want), sorted(want - got))
    messages = {(p.path, p.line, p.column, p.message) for p in result.report.problems if COVERED.search(p.message)}
    assert reported(messages, expected) == expected, sorted(expected - reported(messages, expected))


@pytest.mark.spark_slow
def test_what_the_session_remembers_is_keyed_by_the_inputs(spark, package):
    """The same package again runs no Spark job and reports the same; a copy with one cell
    changed reads that file again and runs the queries that read it: the new cell is reported."""
    from conftest import read_rows, write_rows

    from bazhong_accounts.checks.engines.backends import remember_results

    memo = remember_results(spark)
    first = problems(engines.collect(package, "spark"), False)
    computed, reused = memo.computed, memo.reused
    assert problems(engines.collect(package, "spark"), False) == first
    assert memo.computed == computed and memo.reused > reused + 50, (memo.computed, memo.reused)

    header, rows, lines = read_rows(package, "projects")
    rows[-1]["budget"] = "abc"
    write_rows(package, "projects", header, rows)
    got = {(p.path, p.line, p.column, p.message) for p in engines.collect(package, "spark").report.problems}
    assert ("data/projects.csv", lines[-1], "budget", '"abc" is not a number') in got, got
    assert memo.computed > computed, "the changed file was not read again"


class _Recorder:
    """A stand-in session: the SQL each view is made of, no JVM."""

    def __init__(self):
        self.made: list[str] = []

    def sql(self, text):
        self.made.append(text)
        return self

    def localCheckpoint(self, eager):  # noqa: N802 - pyspark's name
        return self

    def coalesce(self, n):
        return self

    def createOrReplaceTempView(self, name):  # noqa: N802 - pyspark's name
        pass


def test_a_cte_read_twice_is_computed_once():
    """Spark inlines CTEs: the cycle check's six doublings (a_k joins a_(k-1) with itself) would
    plan its first step 64 times. Each CTE read twice becomes a view, its name kept as alias."""
    import json

    from bazhong_accounts.checks.engines.backends import SparkEngine
    from bazhong_accounts.checks.engines.package_checks import cycles_sql

    engine = SparkEngine(_Recorder())
    schema = json.loads((ROOT / "schemas" / "organisation.json").read_text(encoding="utf-8"))
    query = f"select 1 as x0, rn from ({cycles_sql(schema)}) s"
    out = engine._without_shared_ctes(query)
    assert [re.sub(r"_[0-9a-f]{12}$", "", v) for v in engine.views] == [f"cte_a{k}" for k in range(6)], engine.views
    a5 = engine.views[5]
    # a6 is read once: left a CTE, over the view of a5
    assert "WITH a6 AS" in out and f"FROM {a5} AS x LEFT JOIN {a5} AS y" in out and " a5 " not in out, out
    assert all(" WITH " not in s.upper() for s in engine.spark.made)
    # the same text again (the next package of a test, or another query reading the same CTE):
    # translated once, and no view made twice by one engine
    made = len(engine.spark.made)
    assert engine._without_shared_ctes(query) == out and len(engine.spark.made) == made
    once = engine._without_shared_ctes("select t.k from (with t as (select 1 as k) select t.k from t) s")
    assert "WITH t AS" in once and len(engine.views) == 6, once  # read once: left to Spark
    # a CTE read twice that reads one read once (parts_sum's brk0 and brk) takes it along
    engine._without_shared_ctes("with b0 as (select 1 as k), b as (select k from b0) "
                                "select x.k from b x join b y on true")
    assert engine.views[-1].startswith("cte_b_") and engine.spark.made[-1].startswith("WITH b0 AS"), engine.spark.made


def test_a_small_csv_is_read_in_python_or_refused_with_the_reason(tmp_path):
    """SparkEngine reads a CSV under SMALL_FILE with the csv module: the rows below the header,
    blank lines skipped and invalid UTF-8 replaced as Spark's reader does; a ragged row or a cell
    the csv module refuses is the error load() returns (files.py's scan then says where)."""
    from bazhong_accounts.checks.engines.backends import _csv_rows

    path = tmp_path / "t.csv"
    path.write_bytes(b'a,b\n1,"x\ny"\n\n2,\n3,""\n4,\xff\n')
    assert _csv_rows(path, 2) == [["1", "x\ny"], ["2", ""], ["3", ""], ["4", "\ufffd"]]
    path.write_bytes(b"a,b\n1,2\n3\n")
    assert _csv_rows(path, 2) == "a row has 1 fields, the header 2"
    path.write_bytes(b'a,b\n1,"' + b"x" * 2000 + b'"\n')  # past the csv module's field limit
    limit = csv.field_size_limit(1000)  # a process-wide setting: some library raises it
    try:
        assert _csv_rows(path, 2) == "not a valid CSV: field larger than field limit (1000)", _csv_rows(path, 2)
    finally:
        csv.field_size_limit(limit)


def test_both_readers_give_the_same_table(spark, tmp_path, monkeypatch):
    """A file read in Python (under SMALL_FILE) and by Spark's CSV reader (above it): the same
    rows, numbered alike, with the same computed column."""
    from bazhong_accounts.checks.engines.backends import SparkEngine

    path = tmp_path / "t.csv"
    path.write_bytes(b'a,b\n1,"x\ny"\n2,\n3,""\n')
    tables = []
    for small in (1 << 20, 0):
        monkeypatch.setattr(SparkEngine, "SMALL_FILE", small)
        engine = SparkEngine(spark)
        engine.memo = None  # remembered results would hand the second read the first one's table
        assert engine.load("t", path, ["a", "b"], [], {"n": "length(t.b)"}) is None
        tables.append(engine.query('select rn, a, b, n from "t_t" order by rn'))
        engine.close()
    assert tables[0] == tables[1] == [(0, "1", "x\ny", 3), (1, "2", "", 0), (2, "3", "", 0)], tables


def test_a_union_is_split_into_its_branches_only_when_nothing_acts_on_the_whole():
    from bazhong_accounts.checks.engines.backends import union_branches

    assert union_branches("SELECT 1 AS a FROM t UNION ALL (SELECT 2 FROM x UNION SELECT 3) UNION ALL "
                          "SELECT 'union all (' FROM `union all` WHERE b IN (SELECT c FROM d LIMIT 1)") == (
        "SELECT 1 AS a FROM t", "(SELECT 2 FROM x UNION SELECT 3)",
        "SELECT 'union all (' FROM `union all` WHERE b IN (SELECT c FROM d LIMIT 1)")
    for whole in ("WITH c AS (SELECT 1) SELECT * FROM c UNION ALL SELECT 2", "SELECT 1 UNION ALL SELECT 2 LIMIT 3",
                  "SELECT 1 UNION ALL SELECT 2 ORDER BY 1", "SELECT 1 UNION SELECT 2 UNION ALL SELECT 3",
                  "SELECT 1 FROM t", "SELECT 1 UNION ALL SELECT 2 -- a comment"):
        assert union_branches(whole) == (), whole


def test_a_union_remembered_branch_by_branch_gives_the_rows_of_the_whole(spark, tmp_path):
    """Branch a's `v` is an integer, branch b's a string: the union's `v` is a string. When only
    a's file changes, a runs alone and must still give strings; b's rows are reused (computed
    only once), and every answer is the one of an engine that remembers nothing."""
    from bazhong_accounts.checks.engines.backends import SparkEngine, remember_results

    sql = 'select 0 as k, cast(x as integer) as v from "t_a" union all select 1 as k, x as v from "t_b"'
    (tmp_path / "b.csv").write_text("x\nb1\n", encoding="utf-8")
    memo = remember_results(spark)
    got = []
    for a in ("x\n1\n2\n", "x\n3\n"):
        (tmp_path / "a.csv").write_text(a, encoding="utf-8")
        for remember in (True, False):
            engine = SparkEngine(spark)
            engine.memo = engine.memo if remember else None
            for name in ("a", "b"):
                assert engine.load(name, tmp_path / f"{name}.csv", ["x"], ["x"], {}) is None
            before = memo.reused
            got.append(engine.query(sql))
            got.append(memo.reused - before)
            engine.close()
    assert got[0] == got[2] == [(0, "1"), (0, "2"), (1, "b1")], got
    assert got[4] == got[6] == [(0, "3"), (1, "b1")], got
    assert got[5] == 1, "b's branch was not reused"


def test_a_union_view_made_branch_by_branch_has_the_types_of_the_whole(spark, tmp_path):
    """materialize() of a union makes a view per branch, each cast to the whole union's types,
    which SparkEngine._widened takes from the branches' own types (int and string: string; a
    null and a bigint: bigint; int and double: double): the view gives what the union itself
    gives on an engine that remembers nothing. Each branch is analysed on its own once: a union
    of the same branches and a new one analyses only the new one."""
    from bazhong_accounts.checks.engines.backends import SparkEngine, remember_results

    (tmp_path / "a.csv").write_text("x\n1\n2\n", encoding="utf-8")
    two = ('select 0 as k, cast(x as integer) as v, null as n, cast(x as int) as d from "t_a" union all '
           'select 1 as k, x as v, cast(x as bigint) as n, cast(x as double) as d from "t_a"')
    three = two + ' union all select 2 as k, 7 as v, null as n, null as d from "t_a"'
    remember_results(spark)
    got = []
    for sql in (two, three):
        for remember in (False, True):
            engine = SparkEngine(spark)
            engine.memo = engine.memo if remember else None
            assert engine.load("a", tmp_path / "a.csv", ["x"], ["x"], {}) is None
            analysed: list[str] = []
            engine.spark = _Counting(spark, analysed)
            engine.materialize("u", sql)
            rows, schema = engine.query("select * from u order by k, v"), spark.sql("select * from u").schema
            got.append((rows, schema.simpleString()))
            got.append(sum(re.fullmatch(r"SELECT \d AS k, .* FROM `t_a`", text) is not None for text in analysed))
            engine.spark = spark
            engine.close()
    assert got[0][0] == [(0, "1", None, 1.0), (0, "2", None, 2.0), (1, "1", 1, 1.0), (1, "2", 2, 2.0)], got
    assert got[0][1] == "struct<k:int,v:string,n:bigint,d:double>", got
    assert got[2] == got[0] and got[6] == got[4] and len(got[4][0]) == 6, got
    assert (got[3], got[7]) == (2, 1), "each branch analysed once on its own, then its types remembered"


class _Counting:
    """The session, each SQL text it is asked to analyse written down."""

    def __init__(self, spark, texts):
        self._spark, self._texts = spark, texts

    def sql(self, text):
        self._texts.append(text)
        return self._spark.sql(text)

    def __getattr__(self, name):
        return getattr(self._spark, name)


def test_a_class_archive_left_by_a_dead_process_is_removed_not_read(tmp_path):
    """A run killed while its JVM wrote the archive leaves spark-classes.jsa.PID, perhaps cut short:
    the next session removes it and writes its own, never reads it; one of a live process (a
    session running beside) is left alone."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    leftover, beside = tmp_path / f"spark-classes.jsa.{ended.pid}", tmp_path / f"spark-classes.jsa.{os.getppid()}"
    leftover.write_bytes(b"cut short")
    beside.write_bytes(b"being written")
    option, written = class_archive(tmp_path)
    assert not leftover.exists() and beside.read_bytes() == b"being written"
    assert not (tmp_path / "spark-classes.jsa").exists()
    assert written == tmp_path / f"spark-classes.jsa.{os.getpid()}"
    assert option == f"-XX:ArchiveClassesAtExit={written} -Xlog:cds=off -Xlog:cds+dynamic=off"


def test_a_kept_class_archive_is_read(tmp_path):
    (tmp_path / "spark-classes.jsa").write_bytes(b"classes")
    archive = tmp_path / "spark-classes.jsa"
    assert class_archive(tmp_path) == (f"-XX:SharedArchiveFile={archive} -Xlog:cds=off -Xlog:cds+dynamic=off", None)


@pytest.mark.parametrize("status", [0, 1])
def test_the_class_archive_is_kept_only_when_its_jvm_ended_well(tmp_path, status):
    """The archive takes its name in one step (os.replace) once the JVM has exited with 0; a JVM
    that failed leaves nothing behind. A stand-in for the JVM: it waits for its stdin to close (as
    Spark's gateway does), then writes the archive and exits."""
    written = tmp_path / f"spark-classes.jsa.{os.getpid()}"
    jvm = subprocess.Popen([sys.executable, "-S", "-c", "import sys; sys.stdin.read(); "
                            f"open({str(written)!r}, 'w').write('classes'); sys.exit({status})"],
                           stdin=subprocess.PIPE)
    keep_class_archive(jvm, written)
    assert jvm.returncode == status and not written.exists()
    archive = tmp_path / "spark-classes.jsa"
    assert (archive.read_text() if archive.exists() else None) == ("classes" if status == 0 else None)
