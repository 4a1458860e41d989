"""The Engine API from Python: streams, rules, status, publishing, lifecycle."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sinkbridge as sb

from .conftest import read_events, wait_for


class Collect(sb.Sink):
    """Keeps what it receives in a list shared through the class."""

    received: ClassVar[list[Any]] = []
    closed = 0

    def collect(self, ctx: sb.Context, data: Any) -> None:
        Collect.received.append(data)

    def close(self, ctx: sb.Context) -> None:
        Collect.closed += 1


@pytest.fixture
def collected(engine: sb.Engine) -> list[Any]:
    Collect.received = []
    Collect.closed = 0
    engine.register_sink("collect", Collect)
    return Collect.received


MEMORY_STREAM = 'CREATE STREAM demo () WITH (TYPE="memory", DATASOURCE="sensors/demo")'


def test_the_package_exports_its_api() -> None:
    assert sb.__version__ == "0.1.0"
    for error in (sb.SqlError, sb.RuleError, sb.StreamError, sb.SinkError):
        assert issubclass(error, sb.SinkbridgeError)
    for error in (sb.SqlError, sb.RuleError, sb.StreamError):
        assert issubclass(error, ValueError)
    assert issubclass(sb.SinkError, RuntimeError)
    assert issubclass(sb.RetryableError, sb.SinkError)
    assert set(sb.__all__) >= {"Engine", "Sink", "Context", "SinkbridgeError", "RetryableError"}


def test_streams_are_created_described_listed_and_dropped(engine: sb.Engine) -> None:
    assert (
        engine.create_stream(
            "CREATE STREAM demo (id bigint, tags array(string), pos struct(x float, y float)) "
            'WITH (TYPE="memory", DATASOURCE="d", TIMESTAMP="ts", TIMESTAMP_FORMAT="yyyy-MM-dd", SHARED="true")'
        )
        == "demo"
    )
    engine.create_stream('CREATE STREAM other () WITH (TYPE="memory", DATASOURCE="o")')
    assert engine.streams() == ["demo", "other"]
    described = engine.describe_stream("demo")
    assert described["fields"] == [
        {"name": "id", "type": "bigint"},
        {"name": "tags", "type": "array(string)"},
        {"name": "pos", "type": "struct(x float, y float)"},
    ]
    assert described["options"]["TIMESTAMP"] == "ts"
    assert described["options"]["TIMESTAMP_FORMAT"] == "yyyy-MM-dd"
    assert described["options"]["SHARED"] == "true"
    assert engine.describe_stream("other")["fields"] is None
    engine.drop_stream("other")
    assert engine.streams() == ["demo"]
    with pytest.raises(sb.StreamError, match='stream "other" not found'):
        engine.drop_stream("other")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ('CREATE STREAM s (a int) WITH (DATASOURCE="x")', "expected a field type (bigint, float, string"),
        ('CREATE STREAM s () WITH (DATASOURCE="x", COLOUR="red")', "unknown option COLOUR"),
        ('CREATE STREAM s () WITH (TYPE="memory")', "option DATASOURCE is required"),
        ('CREATE STREAM s () WITH (TYPE="kafka", DATASOURCE="x")', 'TYPE "kafka" is not supported'),
        ('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="a/#/b")', "# must be the whole last level"),
        ('CREATE STREAM s () WITH (TYPE="file", DATASOURCE="x.txt")', "cannot tell the type of x.txt"),
        ('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="x", SHARED="maybe")', "option SHARED"),
    ],
)
def test_bad_streams_say_what_is_wrong(engine: sb.Engine, sql: str, message: str) -> None:
    with pytest.raises((sb.StreamError, sb.SqlError), match=None) as caught:
        engine.create_stream(sql)
    assert message in str(caught.value)
    assert engine.streams() == []


def test_a_stream_read_by_a_rule_cannot_be_dropped(engine: sb.Engine) -> None:
    engine.create_stream(MEMORY_STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT * FROM demo", "actions": [{"nop": {}}]})
    with pytest.raises(sb.StreamError, match="stream demo is read by rules r"):
        engine.drop_stream("demo")


def test_a_rule_feeds_a_python_sink_and_reports_status(engine: sb.Engine, collected: list[Any]) -> None:
    engine.create_stream(MEMORY_STREAM)
    rule_id = engine.create_rule(
        {
            "id": "hot",
            "sql": "SELECT device, temperature FROM demo WHERE temperature > 30",
            "actions": [{"collect": {}}, {"log": {}}],
        }
    )
    assert rule_id == "hot"
    assert (
        engine.publish("sensors/demo", [{"device": "a", "temperature": 31.5}, {"device": "b", "temperature": 20}]) == 1
    )
    assert engine.publish("sensors/demo", {"device": "c", "temperature": 40, "humidity": 3}) == 1
    wait_for(lambda: len(collected) == 2, what="two results")
    assert collected == [[{"device": "a", "temperature": 31.5}], [{"device": "c", "temperature": 40}]]
    status = engine.rule_status("hot")
    assert status["status"] == "running"
    for op in ("source_demo_0", "op_1_filter_0", "op_2_project_0", "sink_collect_0_0", "sink_log_1_0"):
        for metric in ("records_in_total", "records_out_total", "exceptions_total", "last_exception"):
            assert f"{op}_{metric}" in status
    assert status["source_demo_0_records_in_total"] == 3
    assert status["op_1_filter_0_records_out_total"] == 2
    assert status["sink_collect_0_0_records_out_total"] == 2
    assert engine.rules() == [{"id": "hot", "name": "", "status": "running", "tags": []}]


def test_the_log_sink_writes_ekuipers_line_to_python_logging(
    engine: sb.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="sinkbridge.sink.log")
    engine.create_stream(MEMORY_STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT a FROM demo", "actions": [{"log": {}}]})
    engine.publish("sensors/demo", {"a": 1})
    wait_for(
        lambda: any(r.getMessage() == 'sink result for rule r: [{"a":1}]' for r in caplog.records),
        what="the log line",
    )


def test_rules_chain_through_memory_sinks(engine: sb.Engine, collected: list[Any]) -> None:
    engine.create_stream(MEMORY_STREAM)
    engine.create_stream('CREATE STREAM hot () WITH (TYPE="memory", DATASOURCE="alerts/hot")')
    engine.create_rule({"id": "second", "sql": "SELECT upper(device) AS d FROM hot", "actions": [{"collect": {}}]})
    engine.create_rule(
        {
            "id": "first",
            "sql": "SELECT device FROM demo WHERE t > 1",
            "actions": [{"memory": {"topic": "alerts/hot"}}],
        }
    )
    engine.publish("sensors/demo", [{"device": "x", "t": 2}, {"device": "y", "t": 0}])
    wait_for(lambda: collected == [[{"d": "X"}]], what="the chained result")


def test_send_nil_field(engine: sb.Engine, collected: list[Any]) -> None:
    engine.create_stream(MEMORY_STREAM)
    engine.create_rule({"id": "a", "sql": "SELECT x, y FROM demo", "actions": [{"collect": {}}]})
    engine.create_rule(
        {"id": "b", "sql": "SELECT x, y FROM demo", "actions": [{"collect": {}}], "options": {"sendNilField": True}}
    )
    engine.publish("sensors/demo", {"x": 1, "y": None})
    wait_for(lambda: len(collected) == 2, what="both results")
    assert sorted(collected, key=lambda result: len(result[0])) == [[{"x": 1}], [{"x": 1, "y": None}]]


def test_values_cross_into_python_with_their_types(engine: sb.Engine, collected: list[Any]) -> None:
    engine.create_stream(MEMORY_STREAM)
    engine.create_rule(
        {
            "id": "r",
            "sql": 'SELECT *, cast(raw, "bytea") AS b, cast(ms, "datetime") AS at FROM demo',
            "actions": [{"collect": {}}],
        }
    )
    row = {
        "i": -3,
        "f": 2.5,
        "s": "é",
        "t": True,
        "n": None,
        "a": [1, [2]],
        "o": {"k": {"z": 1}},
        "raw": "aGk=",
        "ms": 1700000000123,
    }
    engine.publish("sensors/demo", row)
    wait_for(lambda: collected, what="a result")
    (result,) = collected[0]
    at = result.pop("at")
    assert result == {**row, "b": b"hi"}
    assert at.isoformat() == "2023-11-14T22:13:20.123000+00:00"


def test_rows_of_different_shapes_reach_python_with_their_own_keys(engine: sb.Engine, collected: list[Any]) -> None:
    # A row's dict reuses the key strings of the row before where they match position by
    # position: rows whose keys differ, or come in another order, must still get their own.
    engine.create_stream(MEMORY_STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT * FROM demo", "actions": [{"collect": {}}]})
    rows = [
        {"a": 1, "b": 2},
        {"b": 3, "a": 4},
        {"a": 5},
        {"c": 6, "a": 7, "b": {"a": 8, "d": 9}},
        {"a": 1, "b": 2},
    ]
    engine.publish("sensors/demo", rows)
    wait_for(lambda: sum(len(result) for result in collected) == len(rows), what="every row")
    received = [row for result in collected for row in result]
    assert received == rows
    assert [list(row) for row in received] == [list(row) for row in rows]


def test_publish_rejects_what_is_not_rows(engine: sb.Engine) -> None:
    engine.create_stream(MEMORY_STREAM)
    with pytest.raises(TypeError, match="publish takes a dict or a list of dicts, found int"):
        engine.publish("sensors/demo", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="item 1 is a str"):
        engine.publish("sensors/demo", [{"a": 1}, "x"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="dict keys must be strings"):
        engine.publish("sensors/demo", {1: 2})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="cannot convert a set"):
        engine.publish("sensors/demo", {"a": {1}})
    with pytest.raises(sb.StreamError, match="no wildcards"):
        engine.publish("sensors/+", {"a": 1})
    assert engine.publish("nobody/listens", {"a": 1}) == 0


@pytest.mark.parametrize(
    ("rule", "error", "message"),
    [
        ({"sql": "SELECT * FROM demo", "actions": [{"log": {}}]}, sb.RuleError, "rule: id: is required"),
        ({"id": "r", "actions": [{"log": {}}]}, sb.RuleError, 'rule "r": sql: is required'),
        ({"id": "r", "sql": "SELECT * FROM demo"}, sb.RuleError, 'rule "r": actions: is required'),
        ({"id": "r", "sql": 1, "actions": []}, sb.RuleError, 'rule "r": sql: expected a string, found number'),
        (
            {"id": "r", "sql": "SELECT * FROM demo", "actions": [{"log": {}}], "options": {"sendNil": True}},
            sb.RuleError,
            'rule "r": options.sendNil: unknown option',
        ),
        (
            {"id": "r", "sql": "SELECT * FROM demo", "actions": [{"log": {}}], "options": {"qos": "1"}},
            sb.RuleError,
            'rule "r": options.qos: expected an integer, found string',
        ),
        (
            {"id": "r", "sql": "SELECT * FROM demo", "actions": [{"log": {}}], "colour": 1},
            sb.RuleError,
            'rule "r": colour: unknown field',
        ),
        (
            {"id": "r", "sql": "SELECT * FROM demo WHERE", "actions": [{"log": {}}]},
            sb.SqlError,
            'rule "r": sql: invalid SQL: sql parser error: Expected: an expression, found: EOF',
        ),
        (
            {"id": "r", "sql": "SELECT nosuch(a) FROM demo", "actions": [{"log": {}}]},
            sb.SqlError,
            "unknown function nosuch() in nosuch(a)",
        ),
        (
            {"id": "r", "sql": "SELECT avg(a) FROM demo WHERE count(*) > 1", "actions": [{"log": {}}]},
            sb.SqlError,
            "the aggregate function count() cannot be used in WHERE, found count(*); use HAVING",
        ),
        (
            {"id": "r", "sql": "SELECT a FROM demo JOIN demo AS d2 ON demo.a = d2.a", "actions": [{"log": {}}]},
            sb.SqlError,
            "a JOIN of streams needs a window in GROUP BY",
        ),
        (
            {"id": "r", "sql": "SELECT * FROM nope", "actions": [{"log": {}}]},
            sb.RuleError,
            "stream nope does not exist",
        ),
        (
            {"id": "r", "sql": "SELECT * FROM demo", "actions": [{"memory": {}}]},
            sb.RuleError,
            "the memory sink needs a topic property",
        ),
    ],
)
def test_bad_rules_name_the_field_at_fault(
    engine: sb.Engine, rule: dict[str, Any], error: type[Exception], message: str
) -> None:
    engine.create_stream(MEMORY_STREAM)
    with pytest.raises(error) as caught:
        engine.create_rule(rule)
    assert message in str(caught.value)
    with pytest.raises(error):
        engine.validate_rule(rule)
    assert engine.rules() == []


def test_a_rule_may_be_given_as_json_text(engine: sb.Engine) -> None:
    engine.create_stream(MEMORY_STREAM)
    engine.create_rule('{"id": "r", "sql": "SELECT * FROM demo", "actions": [{"nop": {}}]}')
    with pytest.raises(sb.RuleError, match="rule: invalid JSON"):
        engine.create_rule("{not json")
    assert [r["id"] for r in engine.rules()] == ["r"]


def test_stop_start_and_delete_rules(engine: sb.Engine, collected: list[Any]) -> None:
    engine.create_stream(MEMORY_STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT a FROM demo", "actions": [{"collect": {}}]})
    engine.stop_rule("r")
    status = engine.rule_status("r")
    assert status["status"] == "stopped"
    assert status["message"] == "canceled manually"
    assert Collect.closed == 1
    assert engine.publish("sensors/demo", {"a": 1}) == 0
    engine.start_rule("r")
    engine.publish("sensors/demo", {"a": 2})
    wait_for(lambda: collected == [[{"a": 2}]], what="the result after restart")
    engine.delete_rule("r")
    assert Collect.closed == 2
    assert engine.rules() == []
    for call in (engine.start_rule, engine.stop_rule, engine.delete_rule, engine.rule_status):
        with pytest.raises(sb.RuleError, match='rule "r" not found'):
            call("r")


def test_triggered_false_and_the_engine_lifecycle(plugins_dir: Path) -> None:
    engine = sb.Engine(plugins_dir=plugins_dir)
    engine.register_sink("collect", Collect)
    Collect.received = []
    engine.create_stream(MEMORY_STREAM)
    engine.create_rule({"id": "auto", "sql": "SELECT a FROM demo", "actions": [{"collect": {}}]})
    engine.create_rule({"id": "manual", "sql": "SELECT a FROM demo", "triggered": False, "actions": [{"collect": {}}]})
    assert {r["id"]: r["status"] for r in engine.rules()} == {"auto": "stopped", "manual": "stopped"}
    with engine:
        assert {r["id"]: r["status"] for r in engine.rules()} == {"auto": "running", "manual": "stopped"}
        # On a started engine, a new rule starts at once.
        engine.create_rule({"id": "late", "sql": "SELECT a FROM demo", "actions": [{"nop": {}}]})
        assert engine.rule_status("late")["status"] == "running"
    assert {r["status"] for r in engine.rules()} == {"stopped"}


def test_engine_data_dir_is_created(tmp_path: Path) -> None:
    engine = sb.Engine(data_dir=tmp_path / "state")
    assert (tmp_path / "state").is_dir()
    assert engine.data_dir == str(tmp_path / "state")


def test_run_blocks_until_stop_from_another_thread(engine: sb.Engine) -> None:
    timer = threading.Timer(0.3, engine.stop)
    timer.start()
    engine.run()
    timer.join()


RUN_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import sinkbridge as sb

    class Marker(sb.Sink):
        def configure(self, props):
            self.path = props["path"]
        def _write(self, event):
            with open(self.path, "a") as out:
                out.write(json.dumps({"event": event}) + "\\n")
        def open(self, ctx):
            self._write("open")
        def collect(self, ctx, data):
            pass
        def close(self, ctx):
            self._write("close")

    engine = sb.Engine()
    engine.register_sink("marker", Marker)
    engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="s")')
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"marker": {"path": sys.argv[1]}}]})
    engine.run()
    print("run returned", flush=True)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_stops_cleanly_on_ctrl_c_and_sigterm(tmp_path: Path, sig: int) -> None:
    script = tmp_path / "app.py"
    script.write_text(RUN_SCRIPT)
    out = tmp_path / "events.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(script), str(out)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: read_events(out), what="the sink to open")
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "run returned" in stdout
    assert [e["event"] for e in read_events(out)] == ["open", "close"]


def test_an_engine_left_running_closes_its_sinks_at_exit(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(RUN_SCRIPT.replace("engine.run()", "engine.start()"))
    out = tmp_path / "events.jsonl"
    done = subprocess.run(
        [sys.executable, str(script), str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert [e["event"] for e in read_events(out)] == ["open", "close"]


def test_a_sink_stuck_in_collect_stalls_only_its_rule(plugins_dir: Path) -> None:
    release = threading.Event()
    calls: list[Any] = []

    class Stuck(sb.Sink):
        def collect(self, ctx: sb.Context, data: Any) -> None:
            calls.append(data)
            release.wait(60)

    with sb.Engine(plugins_dir=plugins_dir, stop_timeout=0.5) as engine:
        engine.register_sink("stuck", Stuck)
        engine.register_sink("collect", Collect)
        Collect.received = []
        engine.create_stream(MEMORY_STREAM)
        engine.create_stream('CREATE STREAM other () WITH (TYPE="memory", DATASOURCE="other")')
        engine.create_rule({"id": "stuck", "sql": "SELECT a FROM demo", "actions": [{"stuck": {}}]})
        engine.create_rule({"id": "fine", "sql": "SELECT a FROM other", "actions": [{"collect": {}}]})
        engine.publish("sensors/demo", {"a": 1})
        wait_for(lambda: calls, what="the stuck call")
        # Another rule keeps flowing, and management calls keep answering.
        engine.publish("other", {"a": 2})
        wait_for(lambda: Collect.received == [[{"a": 2}]], what="the other rule's result")
        status = engine.rule_status("stuck")
        assert status["status"] == "running"
        # The stuck call shows in the status.
        in_flight = "sink_stuck_0_0_collect_in_flight_ms"
        wait_for(lambda: engine.rule_status("stuck")[in_flight] > 0, what="the call in flight")
        # Stopping gives up on the stuck sink after stop_timeout instead of hanging.
        engine.stop_rule("stuck")
        assert engine.rule_status("stuck")["status"] == "stopped"
    release.set()


def test_stop_timeout_must_be_a_duration() -> None:
    with pytest.raises(ValueError, match="stop_timeout must be a number of seconds"):
        sb.Engine(stop_timeout=-1)
