"""The file and memory sources, and the schema a stream applies to what they read."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sinkbridge as sb

from .conftest import wait_for


class Keep(sb.Sink):
    received: ClassVar[list[Any]] = []

    def collect(self, ctx: sb.Context, data: Any) -> None:
        Keep.received.append((time.monotonic(), data))


@pytest.fixture
def received(engine: sb.Engine) -> list[Any]:
    Keep.received = []
    engine.register_sink("keep", Keep)
    return Keep.received


def rows_of(received: list[Any]) -> list[Any]:
    return [row for _, data in received for row in data]


def file_stream(engine: sb.Engine, path: Path, extra: str = "", columns: str = "") -> None:
    engine.create_stream(f'CREATE STREAM s ({columns}) WITH (TYPE="file", DATASOURCE="{path}"{extra})')


def test_json_lines_with_malformed_lines_counted_and_skipped(
    engine: sb.Engine, received: list[Any], tmp_path: Path
) -> None:
    path = tmp_path / "readings.jsonl"
    path.write_text('{"v": 1}\n{"v": 2, oops}\n\n[1, 2]\n{"v": 3}\n')
    file_stream(engine, path)
    engine.create_rule({"id": "r", "sql": "SELECT v FROM s", "actions": [{"keep": {}}]})
    wait_for(lambda: len(received) == 2, what="the good lines")
    status = engine.rule_status("r")
    assert status["status"] == "running", "the rule keeps running after bad lines and at the end of the file"
    assert status["source_s_0_records_in_total"] == 4
    assert status["source_s_0_exceptions_total"] == 2
    assert status["source_s_0_last_exception"] == f"{path} line 4: expected a JSON object in the array, found bigint"
    assert rows_of(received) == [{"v": 1}, {"v": 3}]


def test_a_json_array_file_and_a_csv_file(engine: sb.Engine, received: list[Any], tmp_path: Path) -> None:
    array = tmp_path / "readings.json"
    array.write_text(json.dumps([{"device": "a", "t": 1}, {"device": "b", "t": 2}]))
    csv = tmp_path / "readings.csv"
    csv.write_text("device,t\nc,3\nd,4.5\n")
    engine.create_stream(f'CREATE STREAM arr () WITH (TYPE="file", DATASOURCE="{array}")')
    engine.create_stream(f'CREATE STREAM tab () WITH (TYPE="file", DATASOURCE="{csv}")')
    engine.create_rule({"id": "a", "sql": "SELECT * FROM arr", "actions": [{"keep": {}}]})
    engine.create_rule({"id": "c", "sql": "SELECT * FROM tab", "actions": [{"keep": {}}]})
    wait_for(lambda: len(received) == 4, what="four rows")
    assert sorted(rows_of(received), key=lambda r: r["device"]) == [
        {"device": "a", "t": 1},
        {"device": "b", "t": 2},
        # CSV values are text, as in eKuiper; a schema types them (next test).
        {"device": "c", "t": "3"},
        {"device": "d", "t": "4.5"},
    ]


def test_a_schema_types_csv_columns(engine: sb.Engine, received: list[Any], tmp_path: Path) -> None:
    csv = tmp_path / "readings.csv"
    csv.write_text("device,t,ok\nc,3,true\nd,hot,false\ne,4.5,1\n")
    file_stream(engine, csv, columns="device string, t float, ok boolean")
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s WHERE t > 3", "actions": [{"keep": {}}]})
    wait_for(lambda: received, what="a row")
    wait_for(lambda: engine.rule_status("r")["source_s_0_exceptions_total"] == 1, what="the bad row counted")
    assert rows_of(received) == [{"device": "e", "t": 4.5, "ok": True}]
    assert engine.rule_status("r")["source_s_0_last_exception"] == "field t: cannot convert string(hot) to float"


def test_the_file_type_comes_from_the_conf_key_and_interval_paces_rows(
    engine: sb.Engine, received: list[Any], tmp_path: Path
) -> None:
    path = tmp_path / "readings.log"
    path.write_text("".join(json.dumps({"v": v}) + "\n" for v in range(4)))
    engine.set_source_conf("file", "replay", {"fileType": "lines", "interval": "150ms"})
    file_stream(engine, path, extra=', CONF_KEY="replay"')
    engine.create_rule({"id": "r", "sql": "SELECT v FROM s", "actions": [{"keep": {}}]})
    wait_for(lambda: len(received) == 4, what="four paced rows")
    assert rows_of(received) == [{"v": v} for v in range(4)]
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(received)]
    assert min(gaps) >= 0.1, f"rows were paced by the interval: {gaps}"


def test_source_conf_errors(engine: sb.Engine, tmp_path: Path) -> None:
    path = tmp_path / "readings.jsonl"
    path.write_text("")
    with pytest.raises(sb.StreamError, match='CONF_KEY "missing" is not defined for the file source'):
        file_stream(engine, path, extra=', CONF_KEY="missing"')
    engine.set_source_conf("file", "odd", {"moveTo": "/tmp"})
    with pytest.raises(sb.StreamError, match='the file source has no property "moveTo"'):
        file_stream(engine, path, extra=', CONF_KEY="odd"')
    with pytest.raises(sb.StreamError, match='TYPE "nosuch" is not supported'):
        engine.set_source_conf("nosuch", "default", {})


def test_a_missing_file_fails_the_rule_start(engine: sb.Engine, tmp_path: Path) -> None:
    file_stream(engine, tmp_path / "absent.jsonl")
    with pytest.raises(sb.RuleError, match=r'rule "r" failed to start: stream s: cannot open .*absent.jsonl'):
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"nop": {}}]})
    assert engine.rule_status("r")["status"] == "stopped"


def test_memory_topics_with_wildcards(engine: sb.Engine, received: list[Any]) -> None:
    engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="plant/+/temp")')
    engine.create_rule({"id": "r", "sql": "SELECT v FROM s", "actions": [{"keep": {}}]})
    assert engine.publish("plant/a/temp", {"v": 1}) == 1
    assert engine.publish("plant/a/humidity", {"v": 2}) == 0
    assert engine.publish("plant/b/temp", {"v": 3}) == 1
    wait_for(lambda: len(received) == 2, what="two rows")
    assert rows_of(received) == [{"v": 1}, {"v": 3}]


def test_a_slow_sink_slows_the_publisher_instead_of_losing_rows(engine: sb.Engine) -> None:
    seen: list[int] = []

    class Slow(sb.Sink):
        def collect(self, ctx: sb.Context, data: Any) -> None:
            time.sleep(0.001)
            seen.append(data[0]["i"])

    engine.register_sink("slow", Slow)
    engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="s")')
    engine.create_rule(
        {"id": "r", "sql": "SELECT i FROM s", "actions": [{"slow": {}}], "options": {"bufferLength": 16}}
    )
    for start in range(0, 2000, 100):
        engine.publish("s", [{"i": i} for i in range(start, start + 100)])
    wait_for(lambda: len(seen) == 2000, timeout=30, what="every row")
    assert seen == list(range(2000))
