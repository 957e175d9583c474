"""Spark agrees with pandas (and so with DuckDB, tests/checks/test_engines.py), in `make test`:
the real package, every mutation case (combined as test_engines.py combines them), a synthetic
package, and the organisation and trips checks, each compared to the pandas validator's problems.

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


def test_spark_agrees_on_the_real_package(spark):
    expected, got = compare(ROOT, "spark")
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
