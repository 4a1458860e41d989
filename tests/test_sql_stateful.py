"""The SQL that keeps state or reshapes results, as a user sees it: through memory streams into a
Python sink, time moved by a ManualClock. Expected results are worked by hand from eKuiper's
documentation and rule tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sinkbridge as sb
from sinkbridge.testing import ManualClock

# 2026-01-01T00:00:00Z in Unix milliseconds: every window boundary lines up with it.
T0 = 1_767_225_600_000


class Keep(sb.Sink):
    results: ClassVar[list[Any]] = []

    def collect(self, ctx: sb.Context, data: Any) -> None:
        Keep.results.append(data)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + 3_000)


@pytest.fixture
def engine(plugins_dir: Path, clock: ManualClock) -> Iterator[sb.Engine]:
    Keep.results = []
    with sb.Engine(plugins_dir=plugins_dir, clock=clock) as engine:
        engine.register_sink("keep", Keep)
        engine.create_stream('CREATE STREAM demo () WITH (TYPE="memory", DATASOURCE="demo")')
        engine.create_stream('CREATE STREAM ev () WITH (TYPE="memory", DATASOURCE="ev", TIMESTAMP="ts")')
        yield engine


def rule(engine: sb.Engine, sql: str, **options: Any) -> None:
    engine.create_rule({"id": "r", "sql": sql, "actions": [{"keep": {}}], "options": options})


def send(engine: sb.Engine, topic: str, rows: list[dict[str, Any]]) -> None:
    engine.publish(topic, rows)
    assert engine.wait_idle(10), "the engine did not settle"


TEMPS = [
    {"ts": ts, "temperature": t, "humidity": h}
    for ts, t, h in [(1, 23, 88), (2, 23, 88), (3, 23, 88), (4, 25, 88), (5, 25, 90), (6, 25, 91)]
]


def test_unnest_makes_one_result_of_several_rows(engine: sb.Engine) -> None:
    rule(engine, "SELECT unnest(x), c FROM demo")
    send(engine, "demo", [{"x": [{"a": 1, "b": 2}, {"a": 3, "b": 4}], "c": 5}, {"x": [], "c": 6}])
    assert Keep.results == [[{"c": 5, "a": 1, "b": 2}, {"c": 5, "a": 3, "b": 4}]]


def test_changed_cols_reports_what_changed(engine: sb.Engine) -> None:
    rule(engine, 'SELECT ts, CHANGED_COLS("c_", true, temperature, humidity) FROM demo')
    send(engine, "demo", TEMPS)
    assert Keep.results == [
        [{"ts": 1, "c_temperature": 23, "c_humidity": 88}],
        [{"ts": 2}],
        [{"ts": 3}],
        [{"ts": 4, "c_temperature": 25}],
        [{"ts": 5, "c_humidity": 90}],
        [{"ts": 6, "c_humidity": 91}],
    ]


def test_last_hit_counts_rows_that_passed_where_at_their_event_time(engine: sb.Engine) -> None:
    rule(
        engine,
        "SELECT *, last_hit_time() AS lt, last_hit_count() AS lc, event_time() AS et FROM ev WHERE size < 3 AND lc < 2",
        isEventTime=True,
    )
    rows = [{"size": 3, "ts": 10}, {"size": 2, "ts": 20}, {"size": 5, "ts": 30}, {"size": 1, "ts": 40}]
    send(engine, "ev", [*rows, {"size": 1, "ts": 50}])
    assert Keep.results == [
        [{"size": 2, "ts": 20, "lt": 0, "lc": 0, "et": 20}],
        [{"size": 1, "ts": 40, "lt": 20, "lc": 1, "et": 40}],
    ]


def test_row_number_invisible_fields_and_deduplicate_in_a_window(engine: sb.Engine) -> None:
    rule(
        engine,
        "SELECT d, row_number() AS n, t * 10 AS k INVISIBLE, deduplicate(t, true) AS firsts "
        "FROM demo GROUP BY d, COUNTWINDOW(4) ORDER BY k DESC",
    )
    send(engine, "demo", [{"d": "x", "t": 1}, {"d": "y", "t": 5}, {"d": "x", "t": 1}, {"d": "x", "t": 2}])
    # Groups x (first row t=1) and y (t=5) are numbered in order, then sorted on k.
    assert Keep.results == [
        [
            {"d": "y", "n": 2, "firsts": [{"d": "y", "t": 5}]},
            {"d": "x", "n": 1, "firsts": [{"d": "x", "t": 1}, {"d": "x", "t": 2}]},
        ]
    ]


def test_row_number_over_a_partition(engine: sb.Engine) -> None:
    rule(
        engine,
        "SELECT a, b, row_number() OVER (PARTITION BY a ORDER BY b DESC) AS rn FROM demo GROUP BY COUNTWINDOW(3)",
    )
    send(engine, "demo", [{"a": 2, "b": 1}, {"a": 1, "b": 1}, {"a": 2, "b": 5}])
    assert Keep.results == [[{"a": 1, "b": 1, "rn": 1}, {"a": 2, "b": 5, "rn": 1}, {"a": 2, "b": 1, "rn": 2}]]


def test_analytic_functions_and_window_hits(engine: sb.Engine, clock: ManualClock) -> None:
    # lag sees each row as it arrives, before WHERE and the window; event_time() of a window
    # is its end, and last_agg_hit_time() the end of the last window that passed HAVING.
    rule(
        engine,
        "SELECT collect(t) AS ts, collect(lag(t)) AS prevs, event_time() - 1767225600000 AS et, "
        "last_agg_hit_count() AS lc, last_agg_hit_time() AS lt FROM demo WHERE t > 1 "
        "GROUP BY TUMBLINGWINDOW(ss, 10)",
    )
    send(engine, "demo", [{"t": 1}, {"t": 2}])
    clock.advance_to(T0 + 10_000)
    send(engine, "demo", [{"t": 3}])
    clock.advance_to(T0 + 20_000)
    assert Keep.results == [
        [{"ts": [2], "prevs": [1], "et": 10_000, "lc": 0, "lt": 0}],
        [{"ts": [3], "prevs": [2], "et": 20_000, "lc": 1, "lt": T0 + 10_000}],
    ]


def test_a_table_joins_each_window(engine: sb.Engine, clock: ManualClock) -> None:
    engine.create_stream('CREATE TABLE rooms () WITH (TYPE="memory", DATASOURCE="rooms", KIND="lookup", KEY="id")')
    rule(
        engine,
        "SELECT demo.id, rooms.room, count(*) AS n FROM demo LEFT JOIN rooms ON demo.id = rooms.id "
        "GROUP BY demo.id, TUMBLINGWINDOW(ss, 10) ORDER BY demo.id",
    )
    send(engine, "rooms", [{"id": 1, "room": "hall"}])
    send(engine, "demo", [{"id": 1}, {"id": 2}, {"id": 1}])
    send(engine, "rooms", [{"id": 2, "room": "lab"}, {"id": 1, "room": "attic"}])
    clock.advance_to(T0 + 10_000)
    assert Keep.results == [[{"id": 1, "room": "attic", "n": 2}, {"id": 2, "room": "lab", "n": 1}]]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT abs(unnest(a)) FROM demo", "unnest() makes rows of its own"),
        ("SELECT last_hit_count() FROM demo GROUP BY COUNTWINDOW(2)", "use last_agg_hit_count()"),
        ("SELECT deduplicate(a, 1) FROM demo GROUP BY COUNTWINDOW(2)", "deduplicate(): the second argument"),
        ('SELECT changed_cols("c_", true, a) AS x FROM demo', "changed_cols() names its columns"),
        ("SELECT row_number(a) FROM demo", "row_number() takes no arguments"),
        ("SELECT * INVISIBLE FROM demo", "INVISIBLE applies to an expression"),
    ],
)
def test_a_wrong_call_is_refused_when_the_rule_is_created(engine: sb.Engine, sql: str, message: str) -> None:
    with pytest.raises(sb.SqlError, match=None) as caught:
        rule(engine, sql)
    assert message in str(caught.value)
