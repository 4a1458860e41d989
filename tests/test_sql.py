"""SQL as a user runs it: through a memory stream into a Python sink. The engine's own tests
cover each operator and function in depth; these check the whole path and eKuiper's rules."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import sinkbridge as sb

from .conftest import wait_for


class Keep(sb.Sink):
    received: ClassVar[list[Any]] = []

    def collect(self, ctx: sb.Context, data: Any) -> None:
        Keep.received.append(data)


@pytest.fixture
def run_sql(engine: sb.Engine) -> Any:
    Keep.received = []
    engine.register_sink("keep", Keep)
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="memory", DATASOURCE="demo")')
    count = 0

    def run(sql: str, rows: list[dict[str, Any]], expected: int, options: dict[str, Any] | None = None) -> list[Any]:
        nonlocal count
        count += 1
        rule = {"id": f"r{count}", "sql": sql, "actions": [{"keep": {}}], "options": options or {}}
        engine.create_rule(rule)
        engine.publish("demo", rows)
        wait_for(lambda: len(Keep.received) >= expected, what=f"{expected} results")
        engine.stop_rule(rule["id"])
        results = [row for data in Keep.received for row in data]
        Keep.received.clear()
        return results

    return run


READINGS = [
    {"device": "dev-1", "temperature": 23.5, "humidity": 61, "loc": {"site": "north", "tags": ["a", "b"]}},
    {"device": "dev-2", "temperature": 19.0, "humidity": 40, "loc": {"site": "south", "tags": []}},
    {"device": "pump-3", "temperature": 35.25, "humidity": 20, "loc": {"site": "north", "tags": ["c"]}},
]


def test_the_benchmark_rule(run_sql: Any) -> None:
    assert run_sql("SELECT device, temperature FROM demo WHERE temperature > 20", READINGS, 2) == [
        {"device": "dev-1", "temperature": 23.5},
        {"device": "pump-3", "temperature": 35.25},
    ]


def test_ekuiper_lexical_rules_qualified_names_and_nested_access(run_sql: Any) -> None:
    sql = (
        "SELECT demo.device, loc->site AS site, loc->tags[0] AS first_tag, `humidity` FROM demo "
        'WHERE loc->site = "north" AND device LIKE "dev-%"'
    )
    assert run_sql(sql, READINGS, 1) == [{"device": "dev-1", "site": "north", "first_tag": "a", "humidity": 61}]


def test_operators_functions_and_case(run_sql: Any) -> None:
    sql = (
        "select upper(device) as d, round(temperature * 1.8 + 32, 1) as f, humidity % 7 as m, "
        "case when temperature between 20 and 30 then 'ok' when temperature > 30 then 'hot' else 'cold' end as band, "
        "concat(loc->site, '/', device) as path, length(loc->tags) as n, coalesce(missing, 'none') as c, "
        'cast(humidity, "string") as h, substring(device, 0, 3) as kind '
        "from demo where device in ('dev-1', 'pump-3') and not humidity is null"
    )
    assert run_sql(sql, READINGS, 2) == [
        {
            "d": "DEV-1",
            "f": 74.3,
            "m": 5,
            "band": "ok",
            "path": "north/dev-1",
            "n": 2,
            "c": "none",
            "h": "61",
            "kind": "dev",
        },
        {
            "d": "PUMP-3",
            "f": 95.5,
            "m": 6,
            "band": "hot",
            "path": "north/pump-3",
            "n": 1,
            "c": "none",
            "h": "20",
            "kind": "pum",
        },
    ]


def test_unaliased_expressions_are_named_as_in_ekuiper(run_sql: Any) -> None:
    assert run_sql("SELECT abs(humidity - 50), humidity + 1, now() FROM demo", READINGS[:1], 1)[0].keys() == {
        "abs",
        "kuiper_field_0",
        "now",
    }


def test_a_row_that_fails_is_counted_and_skipped(engine: sb.Engine, run_sql: Any) -> None:
    rows = [{"v": "x"}, {"v": 5}]
    assert run_sql("SELECT v FROM demo WHERE v > 1", rows, 1) == [{"v": 5}]
    status = engine.rule_status("r1")
    assert status["op_1_filter_0_exceptions_total"] == 1
    assert status["op_1_filter_0_last_exception"] == "run Where error: invalid operation string(x) > bigint(1)"


def test_send_error_delivers_the_error_to_the_sinks(run_sql: Any) -> None:
    rows = [{"v": 0}, {"v": 2}]
    assert run_sql("SELECT 10 / v AS q FROM demo", rows, 2, options={"sendError": True}) == [
        {"error": "run Select error: q: divided by zero"},
        {"q": 5.0},
    ]


def test_count_windows_group_and_aggregate(run_sql: Any) -> None:
    rows = [
        {"device": "a", "t": 20, "h": 50},
        {"device": "b", "t": 30, "h": 40},
        {"device": "a", "t": 24, "h": 70},
        {"device": "b", "t": 31, "h": 45},
    ]
    results = run_sql(
        "SELECT device, count(*) AS n, avg(t) AS mean, max(h) AS top FROM demo "
        "GROUP BY device, COUNTWINDOW(4) HAVING avg(t) > 21 ORDER BY mean DESC",
        rows,
        1,
    )
    # One window: one result holding a row per group, in ORDER BY order.
    assert results == [
        {"device": "b", "n": 2, "mean": 30, "top": 45},
        {"device": "a", "n": 2, "mean": 22, "top": 70},
    ]


def test_a_tumbling_window_closes_on_time(engine: sb.Engine) -> None:
    Keep.received = []
    engine.register_sink("keep", Keep)
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="memory", DATASOURCE="demo")')
    engine.create_rule(
        {
            "id": "w",
            "sql": "SELECT count(*) AS n, window_end() - window_start() AS span FROM demo "
            "GROUP BY TUMBLINGWINDOW(ms, 200)",
            "actions": [{"keep": {}}],
        }
    )
    engine.publish("demo", [{"v": 1}, {"v": 2}, {"v": 3}])
    # The rows may straddle a boundary; every row is counted once, in 200 ms windows.
    windows = wait_for(lambda: sum(r[0]["n"] for r in Keep.received) == 3 and list(Keep.received), what="all rows")
    assert all(w[0]["span"] == 200 for w in windows)


def test_the_sink_extension_guides_rule_over_two_memory_streams(engine: sb.Engine) -> None:
    """The guide's rule, with its hopping window shortened (20 ms long, every 10 ms) so that
    the test does not wait 10 s; the Rust tests run it exactly as written on a manual clock."""
    Keep.received = []
    engine.register_sink("keep", Keep)
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="memory", DATASOURCE="demo")')
    engine.create_stream('CREATE STREAM demo1 () WITH (TYPE="memory", DATASOURCE="demo1")')
    engine.create_rule(
        {
            "id": "guide",
            "sql": "SELECT demo.temperature, demo1.temp FROM demo LEFT JOIN demo1 "
            "ON demo.timestamp = demo1.timestamp WHERE demo.temperature > demo1.temp "
            "GROUP BY demo.temperature, HOPPINGWINDOW(ms, 400, 200)",
            "actions": [{"keep": {}}],
        }
    )
    engine.publish("demo", [{"temperature": 30, "timestamp": 1}, {"temperature": 20, "timestamp": 2}])
    engine.publish("demo1", [{"temp": 22, "timestamp": 1}, {"temp": 21, "timestamp": 2}])
    # Rows published together may straddle a hop: wait for a window that holds both sides.
    wait_for(lambda: [{"temperature": 30, "temp": 22}] in Keep.received, what="the joined row")
    assert all(result == [{"temperature": 30, "temp": 22}] for result in Keep.received)
