"""Spark agrees with pandas (and so with DuckDB, tests/checks/test_engines.py): the real package,
every mutation case (combined as test_engines.py combines them), a synthetic package, and the
organisation and trips checks, each compared to the pandas validator's problems.

Every case is marked `spark_slow` and runs with `make test-spark` (about 6 minutes on a quiet
2-core machine, most of it Spark planning the generated SQL): with them `make test` took 163 s of
tests, past its two minutes (115 s without). `make test` keeps the JVM-free test of the CTE rewrite.

One SparkSession (local mode, Java from Debian's openjdk-17-jre-headless) serves every test of
the session; it is started once, on the xdist worker that runs this module (the tests sit early in
the collection, so worksteal leaves them on one worker). Its cost and the engine's settings are
measured and explained in checks/engines/backends.py (spark_session, SparkEngine).
"""

from __future__ import annotations

import pytest

from test_engines import ROOT, compare, reported
from test_engines import broken, org_and_trips, pandas_on_broken, synthetic  # noqa: F401  fixtures


@pytest.fixture(scope="session")
def spark():
    from bazhong_accounts.checks.engines.backends import spark_session

    return spark_session()


@pytest.mark.spark_slow
def test_spark_agrees_on_the_real_package(spark):
    expected, got = compare(ROOT, "spark")
    assert got == expected
    assert any(p[0] == "known" for p in got), "the real package has errata-covered breaks"


@pytest.mark.spark_slow
def test_spark_agrees_on_every_mutation_case(spark, broken, pandas_on_broken):  # noqa: F811
    for pkg, pandas_result in zip(broken, pandas_on_broken):
        expected, got = compare(pkg, "spark", pandas_result)
        assert got == expected, (pkg, sorted(got - expected), sorted(expected - got))


@pytest.mark.spark_slow
def test_spark_agrees_on_a_synthetic_package(spark, synthetic):  # noqa: F811
    pkg, line = synthetic
    expected, got = compare(pkg, "spark")
    assert got == expected, (sorted(got - expected), sorted(expected - got))
    assert any(p[:3] == ("data/income.csv", line, "source_id") and "is the report of" in p[3] for p in got), got


@pytest.mark.spark_slow
def test_spark_agrees_on_organisation_and_trips(spark, org_and_trips):  # noqa: F811
    pkg, cases = org_and_trips
    expected, got = compare(pkg, "spark")
    assert got == expected, (sorted(got - expected), sorted(expected - got))
    assert reported(got, cases) == cases, sorted(got)


class _Recorder:
    """A stand-in session: the SQL each view is made of, no JVM."""

    def __init__(self):
        self.made: list[str] = []

    def sql(self, text):
        self.made.append(text)
        return self

    def localCheckpoint(self, eager):  # noqa: N802 - pyspark's name
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
    out = engine._without_shared_ctes(f"select 1 as x0, rn from ({cycles_sql(schema)}) s")
    assert engine.views == [f"cte_{k}_a{k}" for k in range(6)], engine.views
    # a6 is read once: left a CTE, over the view of a5
    assert "WITH a6 AS" in out and "FROM cte_5_a5 AS x LEFT JOIN cte_5_a5 AS y" in out and " a5 " not in out, out
    assert all(" WITH " not in s.upper() for s in engine.spark.made)
    once = engine._without_shared_ctes("select t.k from (with t as (select 1 as k) select t.k from t) s")
    assert "WITH t AS" in once and len(engine.views) == 6, once  # read once: left to Spark
    # a CTE read twice that reads one read once (parts_sum's brk0 and brk) takes it along
    engine._without_shared_ctes("with b0 as (select 1 as k), b as (select k from b0) "
                                "select x.k from b x join b y on true")
    assert engine.views[-1] == "cte_6_b" and engine.spark.made[-1].startswith("WITH b0 AS"), engine.spark.made[-1]
