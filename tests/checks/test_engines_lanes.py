"""The checks after the load in two lanes at once (checks/engines/lanes.py) and the type regex left
out where the load found every cell of a column of its type (identities.mark_type_checked): the
output is the one of the checks run one after another, whichever lane ends first."""

from __future__ import annotations

import threading

import pytest

from bazhong_accounts.checks.engines import lanes
from bazhong_accounts.checks.engines.backends import DuckDBEngine
from bazhong_accounts.checks.engines.definitions import Check, usable
from bazhong_accounts.checks.engines.identities import mark_type_checked
from bazhong_accounts.checks.engines.lines import LineMap
from bazhong_accounts.model.problems import Report


class Table:
    """What the lanes read of a loaded resource: its line map (and schema, failed checks)."""

    def __init__(self, lines, schema=None, failed=()):
        self.lines, self.schema, self.failed = lines, schema, list(failed)


@pytest.fixture()
def duck():
    engine = DuckDBEngine(memory_limit="100MB", threads=1)
    yield engine
    engine.close()


def test_second_lane_ends_first_but_its_problems_come_after_the_first_lanes(duck):
    second_done = threading.Event()
    seen = {}

    def first(engine, tables, report):
        assert second_done.wait(10), "the second lane did not run while the first waited"
        seen["first"] = engine
        report.add("a.csv", 2, "x", "first lane")

    def second(engine, tables, report):
        seen["second"] = engine
        report.add("a.csv", 2, "x", "second lane")
        second_done.set()

    report = Report()
    lanes.run(duck, {}, report, [[("first", first)], [("second", second)]])
    assert [p.message for p in report.problems] == ["first lane", "second lane"]
    assert seen["first"] is duck
    assert seen["second"] is not duck and seen["second"].con is not duck.con


def test_a_line_map_is_looked_up_through_the_second_lanes_own_connection(duck):
    # running counts of quoted newlines: a temporary table of the engine's connection (lines.py)
    duck.materialize("nl_t", "select * from (values (3, 2), (7, 5)) v(rn, cum)")
    loaded = {"t": Table(LineMap(10, duck, "nl_t"))}
    found = {}

    def second(engine, tables, report):
        assert tables["t"].lines.engine is engine
        found["lines"] = tables["t"].lines.of([2, 5, 9])

    lanes.run(duck, loaded, Report(), [[], [("second", second)]])
    assert found["lines"] == [4, 9, 16]  # rn + 2, + 2 after row 3, + 5 after row 7
    assert loaded["t"].lines.engine is duck  # the run's own line maps are left as they were


def test_a_failing_step_is_reported_in_its_place_and_the_others_still_run(duck):
    def broken(engine, tables, report):
        raise ValueError("boom")

    def fine(engine, tables, report):
        report.add("b.csv", 3, "y", "still checked")

    report = Report()
    lanes.run(duck, {}, report, [[("broken step", broken), ("fine", fine)], [("other", fine)]])
    assert [p.message for p in report.problems] == [
        "internal error in the broken step check: ValueError: boom (please report)", "still checked", "still checked"]


@pytest.mark.parametrize("one_after_another", ["spark", "BAZHONG_ENGINE_LANES=1"])
def test_an_engine_without_cursors_runs_the_lanes_in_order_on_itself(one_after_another, duck, monkeypatch):
    engine = object()  # Spark's engine has no connection to open a cursor on
    if one_after_another != "spark":
        engine = duck
        monkeypatch.setenv("BAZHONG_ENGINE_LANES", "1")
    calls = []

    def step(name):
        def run(eng, tables, report):
            calls.append((name, eng, threading.current_thread() is threading.main_thread()))
            report.add("c.csv", 2, None, name)
        return run

    report = Report()
    lanes.run(engine, {}, report, [[("a", step("a")), ("b", step("b"))], [("c", step("c"))]])
    assert calls == [("a", engine, True), ("b", engine, True), ("c", engine, True)]
    assert [p.message for p in report.problems] == ["a", "b", "c"]


def test_known_errata_come_from_the_lane_that_found_them(duck):
    def identities(engine, tables, report):
        report.known = iter(())  # an engine's stream (identities.KnownErrata), not a list

    report = Report()
    lanes.run(duck, {}, report, [[("identities", identities)], [("other", lambda e, t, r: None)]])
    assert not isinstance(report.known, list)


def test_only_columns_whose_type_check_failed_somewhere_keep_the_regex():
    schema = {"fields": [{"name": "amount", "type": "number"}, {"name": "share_pct", "type": "number"}]}
    failed = [Check("type", "income", "share_pct", ""), Check("required", "income", "amount", "")]
    t = Table(None, schema, failed)
    mark_type_checked({"income": t})
    amount, share = t.schema["fields"]
    assert usable(amount, "t.amount") == "(t.amount <> '')"  # a constraint failing is not a type failing
    assert "regexp_matches(t.share_pct" in usable(share, "t.share_pct")
    assert "regexp_matches" in usable(schema["fields"][0], "t.amount")  # the schema itself is left alone


def test_known_errata_are_worded_ahead_only_where_the_lanes_run_at_once(duck):
    from bazhong_accounts.checks.engines import _render_known

    class Known(list):
        rendered = 0

        def render(self):
            self.rendered += 1

    for engine, times in ((object(), 0), (duck, 1)):  # Spark's engine: one more pass for nothing
        report = Report(known=Known())
        _render_known(engine, {}, report)
        assert report.known.rendered == times


def test_ctrl_c_in_the_first_lane_interrupts_the_others_query_and_their_next_steps(duck):
    started, seen = threading.Event(), []

    def endless(engine, tables, report):  # hours unless interrupted
        started.set()
        try:
            engine.query("select count(*) from range(100000000) a, range(100000) b where a.range + b.range < 0")
        except Exception as e:
            seen.append(type(e).__name__)
            raise

    def ctrl_c(engine, tables, report):
        assert started.wait(10)
        raise KeyboardInterrupt

    second = [("endless", endless), ("next", lambda *a: seen.append("next"))]
    with pytest.raises(KeyboardInterrupt):
        lanes.run(duck, {}, Report(), [[("first", ctrl_c)], second])
    assert seen == ["InterruptException"]
