"""Spark agrees with pandas (and so with DuckDB): `make test-spark`, not part of `make test`
(minutes per run on a 2-core machine: see tests/checks/test_engines.py). Spark in local mode, one
SparkSession for the session; Java from Debian's openjdk-17-jre-headless.

    .venv/bin/python -m pytest tests/checks/spark_agreement.py
"""

from __future__ import annotations

import pytest

from test_engines import ROOT, compare
from test_engines import broken, org_and_trips, pandas_on_broken, reported  # noqa: F401  fixtures


@pytest.fixture(scope="session")
def spark():
    from bazhong_accounts.checks.engines.backends import spark_session

    return spark_session()


def test_spark_agrees_on_the_real_package(spark):
    expected, got = compare(ROOT, "spark")
    assert got == expected


def test_spark_agrees_on_a_broken_package(spark, broken, pandas_on_broken):  # noqa: F811
    expected, got = compare(broken[0], "spark", pandas_on_broken[0])
    assert got == expected, (sorted(got - expected), sorted(expected - got))


def test_spark_agrees_on_organisation_and_trips(spark, org_and_trips):  # noqa: F811
    pkg, cases = org_and_trips
    expected, got = compare(pkg, "spark")
    assert got == expected, (sorted(got - expected), sorted(expected - got))
    assert reported(got, cases) == cases, sorted(got)
