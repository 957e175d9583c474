"""Spark agrees with pandas on the checks checks/engines/canonical_sql.py, frame_sql.py,
errata_refs.py and provenance_sql.py run (the broken copy of test_engines_sql_checks.py), word
for word. With PySpark installed (`make test-spark` installs it):

    .venv/bin/python -m pytest tests/checks/spark_sql_checks.py
"""

from __future__ import annotations

from bazhong_accounts.checks import engines
from test_engines import COVERED, problems, reported
from test_engines_sql_checks import broken  # noqa: F401  the fixture


def test_spark_agrees_and_reports_every_case(broken):  # noqa: F811
    from bazhong_accounts.checks.engines.backends import spark_session

    pkg, expected, pandas_result, _ = broken
    spark = engines.collect(pkg, "spark", spark_session())
    want, got = problems(pandas_result, True), problems(spark, False)
    assert got == want, (sorted(got - want), sorted(want - got))
    messages = {(p.path, p.line, p.column, p.message) for p in spark.report.problems if COVERED.search(p.message)}
    assert reported(messages, expected) == expected, sorted(expected - reported(messages, expected))
