"""Windows end to end, from Python: rules read a memory stream, a Python sink receives what each
window produces, and a ManualClock moves time. Expected results are worked out by hand from
eKuiper's documented semantics."""

from __future__ import annotations

import threading
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
    return ManualClock(T0)


@pytest.fixture
def timed(plugins_dir: Path, clock: ManualClock) -> Iterator[sb.Engine]:
    Keep.results = []
    with sb.Engine(plugins_dir=plugins_dir, clock=clock) as engine:
        engine.register_sink("keep", Keep)
        engine.create_stream('CREATE STREAM demo () WITH (TYPE="memory", DATASOURCE="demo")')
        engine.create_stream('CREATE STREAM demo1 () WITH (TYPE="memory", DATASOURCE="demo1")')
        yield engine


def rule(engine: sb.Engine, sql: str) -> None:
    engine.create_rule({"id": "r", "sql": sql, "actions": [{"keep": {}}]})


def send(engine: sb.Engine, topic: str, rows: list[dict[str, Any]]) -> None:
    engine.publish(topic, rows)
    assert engine.wait_idle(10), "the engine did not settle"


def test_the_sink_extension_guides_rule_as_written(timed: sb.Engine, clock: ManualClock) -> None:
    rule(
        timed,
        "SELECT demo.temperature, demo1.temp FROM demo LEFT JOIN demo1 ON demo.timestamp = demo1.timestamp "
        "WHERE demo.temperature > demo1.temp GROUP BY demo.temperature, HOPPINGWINDOW(ss, 20, 10)",
    )
    send(timed, "demo", [{"temperature": 30, "timestamp": 1}, {"temperature": 20, "timestamp": 2}])
    send(timed, "demo1", [{"temp": 22, "timestamp": 1}, {"temp": 21, "timestamp": 2}])
    assert Keep.results == []
    clock.advance(10_000)  # the first hop: the window [-10 s, 10 s)
    assert Keep.results == [[{"temperature": 30, "temp": 22}]]
    clock.advance(10_000)  # the next hop still holds the rows: [0 s, 20 s)
    assert Keep.results == [[{"temperature": 30, "temp": 22}]] * 2
    clock.advance(10_000)  # [10 s, 30 s) holds none
    assert len(Keep.results) == 2


def test_tumbling(timed: sb.Engine, clock: ManualClock) -> None:
    rule(timed, "SELECT device, avg(t) AS a, count(*) AS n FROM demo GROUP BY device, TUMBLINGWINDOW(ss, 10)")
    send(timed, "demo", [{"device": "x", "t": 10}, {"device": "x", "t": 21}])
    clock.advance(5_000)
    send(timed, "demo", [{"device": "y", "t": 1}])
    clock.advance(5_000)
    assert Keep.results == [[{"device": "x", "a": 15, "n": 2}, {"device": "y", "a": 1, "n": 1}]]


def test_hopping(timed: sb.Engine, clock: ManualClock) -> None:
    rule(timed, "SELECT collect(n) AS ns FROM demo GROUP BY HOPPINGWINDOW(ss, 10, 5)")
    send(timed, "demo", [{"n": 1}])
    clock.advance(6_000)
    send(timed, "demo", [{"n": 2}])
    clock.advance(9_000)
    assert Keep.results == [[{"ns": [1]}], [{"ns": [1, 2]}], [{"ns": [2]}]]


def test_sliding(timed: sb.Engine, clock: ManualClock) -> None:
    rule(timed, "SELECT collect(n) AS ns FROM demo GROUP BY SLIDINGWINDOW(ss, 10)")
    send(timed, "demo", [{"n": 1}])
    clock.advance(4_000)
    send(timed, "demo", [{"n": 2}])
    clock.advance(8_000)
    send(timed, "demo", [{"n": 3}])
    assert Keep.results == [[{"ns": [1]}], [{"ns": [1, 2]}], [{"ns": [2, 3]}]]


def test_session(timed: sb.Engine, clock: ManualClock) -> None:
    rule(timed, "SELECT collect(n) AS ns FROM demo GROUP BY SESSIONWINDOW(ss, 60, 3)")
    send(timed, "demo", [{"n": 1}])
    clock.advance(2_000)
    send(timed, "demo", [{"n": 2}])
    clock.advance(2_999)
    assert Keep.results == []
    clock.advance(1)  # 3 s after the last row
    assert Keep.results == [[{"ns": [1, 2]}]]


def test_count(timed: sb.Engine) -> None:
    rule(timed, "SELECT sum(n) AS total FROM demo GROUP BY COUNTWINDOW(2)")
    send(timed, "demo", [{"n": 1}, {"n": 2}, {"n": 3}])
    assert Keep.results == [[{"total": 3}]]


def test_event_time(timed: sb.Engine) -> None:
    timed.create_stream('CREATE STREAM ev () WITH (TYPE="memory", DATASOURCE="ev", TIMESTAMP="ts")')
    timed.create_rule(
        {
            "id": "e",
            "sql": "SELECT collect(n) AS ns FROM ev GROUP BY TUMBLINGWINDOW(ss, 10)",
            "actions": [{"keep": {}}],
            "options": {"isEventTime": True, "lateTolerance": 1000},
        }
    )
    send(timed, "ev", [{"n": 1, "ts": T0 + 1_000}, {"n": 2, "ts": T0 + 10_500}])
    assert Keep.results == []  # the watermark (9 500) has not passed 10 000
    send(timed, "ev", [{"n": 3, "ts": T0 + 9_800}, {"n": 4, "ts": T0 + 11_500}])
    assert Keep.results == [[{"ns": [1, 3]}]]
    status = timed.rule_status("e")
    assert status["op_1_window_0_exceptions_total"] == 0


def test_wait_idle_waits_for_the_sinks_calls(plugins_dir: Path) -> None:
    gate = threading.Event()

    class Slow(sb.Sink):
        def collect(self, ctx: sb.Context, data: Any) -> None:
            gate.wait(10)

    with sb.Engine(plugins_dir=plugins_dir) as engine:
        engine.register_sink("slow", Slow)
        engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="s")')
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"slow": {}}]})
        engine.publish("s", {"a": 1})
        assert engine.wait_idle(0.2) is False
        gate.set()
        assert engine.wait_idle(10) is True
