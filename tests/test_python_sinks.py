"""Python sinks, under both hosts: Python importing the engine, and the standalone binary
embedding Python. Each test runs the same ruleset (a file source feeding the test sinks of
``tests/sinks``) under each host and checks what the sink saw."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sinkbridge as sb

from .conftest import Cli, binary_path, host_env, read_events, run_command, wait_for


@pytest.fixture(params=["engine", "binary"])
def sink_host(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def load(engine: sb.Engine, ruleset: dict[str, Any]) -> None:
    for source_type, confs in ruleset.get("sourceConfig", {}).items():
        for key, props in confs.items():
            engine.set_source_conf(source_type, key, props)
    for sql in ruleset.get("streams", {}).values():
        engine.create_stream(sql)
    for rule_id, rule in ruleset.get("rules", {}).items():
        engine.create_rule({"id": rule_id, **rule})


class Running:
    """A ruleset running under a host."""

    def __init__(self, host: str, ruleset: dict[str, Any], plugins_dir: Path, workdir: Path, env: dict[str, str]):
        self.host = host
        self.engine: sb.Engine | None = None
        self.cli: Cli | None = None
        if host == "engine":
            self.engine = sb.Engine(plugins_dir=plugins_dir)
            load(self.engine, ruleset)
            self.engine.start()
        else:
            path = workdir / "rules.json"
            path.write_text(json.dumps(ruleset))
            self.cli = Cli(
                [str(binary_path()), "--plugins-dir", str(plugins_dir), "run", str(path)], workdir, host_env(env)
            )

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()
        elif self.cli is not None:
            assert self.cli.stop() == 0, self.cli.stderr


@pytest.fixture
def launch(sink_host: str, plugins_dir: Path, tmp_path: Path) -> Any:
    started: list[Running] = []

    def start(ruleset: dict[str, Any], env: dict[str, str] | None = None) -> Running:
        running = Running(sink_host, ruleset, plugins_dir, tmp_path, env or {})
        started.append(running)
        return running

    yield start
    for running in started:
        if running.engine is not None:
            running.engine.stop()
        if running.cli is not None and running.cli.process.poll() is None:
            running.cli.process.kill()
            running.cli.process.wait()


def start_failure(sink_host: str, ruleset: dict[str, Any], plugins_dir: Path, workdir: Path) -> str:
    """Starts a ruleset that must fail to start; returns the error the user sees."""
    if sink_host == "engine":
        engine = sb.Engine(plugins_dir=plugins_dir)
        load(engine, ruleset)
        with pytest.raises(sb.SinkError) as caught:
            engine.start()
        engine.stop()
        assert isinstance(caught.value.__cause__, BaseException), "the sink's exception is the cause"
        return str(caught.value)
    path = workdir / "rules.json"
    path.write_text(json.dumps(ruleset))
    done = run_command([str(binary_path()), "--plugins-dir", str(plugins_dir), "run", str(path)], workdir)
    assert done.returncode == 1, done.stderr
    return done.stderr


def readings(tmp_path: Path, values: list[int]) -> Path:
    path = tmp_path / "readings.jsonl"
    path.write_text("".join(json.dumps({"v": v, "device": f"d{v}"}) + "\n" for v in values))
    return path


def ruleset(data: Path, action: dict[str, Any], sql: str = "SELECT v, device FROM readings") -> dict[str, Any]:
    return {
        "streams": {"readings": f'CREATE STREAM readings () WITH (TYPE="file", DATASOURCE="{data}")'},
        "rules": {"r1": {"sql": sql, "actions": [action]}},
    }


def events_of(path: Path, kind: str) -> list[Any]:
    return [e for e in read_events(path) if e["event"] == kind]


def test_lifecycle_order_context_and_data(launch: Callable[..., Running], tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    data = readings(tmp_path, [1, 2, 3])
    running = launch(
        ruleset(
            data, {"recorder": {"path": str(out), "extra": {"k": [1, 2]}}}, sql="SELECT v FROM readings WHERE v > 1"
        )
    )
    wait_for(lambda: len(events_of(out, "collect")) == 2, what="two results")
    running.stop()
    events = read_events(out)
    assert [e["event"] for e in events] == ["configure", "open", "collect", "collect", "close"]
    assert events[0]["props"] == {"path": str(out), "extra": {"k": [1, 2]}}
    assert events[1] == {
        "event": "open",
        "rule_id": "r1",
        "op_id": "recorder_0",
        "instance_id": 0,
        "logger": "sinkbridge.rule.r1.recorder_0",
        "thread": events[1]["thread"],
    }
    # Every call of one instance happens on the same worker thread, not the caller's.
    threads = {e["thread"] for e in events if "thread" in e}
    assert len(threads) == 1
    assert threads.pop().startswith("sinkbridge-sink:r1:recorder_0")
    assert [e["data"] for e in events if e["event"] == "collect"] == [[{"v": 2}], [{"v": 3}]]


def test_a_sink_that_raises_in_collect_keeps_receiving(launch: Callable[..., Running], tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    data = readings(tmp_path, [1, 2, 3, 4])
    running = launch(ruleset(data, {"recorder": {"path": str(out), "fail": {"collect": 2}}}))
    wait_for(lambda: len(events_of(out, "collect")) == 3, what="the rows after the failing one")
    if running.engine is not None:
        status = running.engine.rule_status("r1")
        assert status["sink_recorder_0_0_records_in_total"] == 4
        assert status["sink_recorder_0_0_records_out_total"] == 3
        assert status["sink_recorder_0_0_exceptions_total"] == 1
        assert status["sink_recorder_0_0_last_exception"].startswith(
            "RuntimeError: refusing [{'v': 2, 'device': 'd2'}]"
        )
        assert "recorder.py" in status["sink_recorder_0_0_last_exception"], "the message says where it was raised"
    running.stop()
    assert [e["data"][0]["v"] for e in events_of(out, "collect")] == [1, 3, 4]
    assert read_events(out)[-1]["event"] == "close"


@pytest.mark.parametrize("call", ["configure", "open"])
def test_a_sink_that_raises_in_configure_or_open_fails_the_start_with_its_traceback(
    sink_host: str, call: str, plugins_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "events.jsonl"
    data = readings(tmp_path, [1])
    message = start_failure(
        sink_host, ruleset(data, {"recorder": {"path": str(out), "fail": call}}), plugins_dir, tmp_path
    )
    assert 'rule "r1" failed to start: actions[0] (recorder):' in message
    assert f"{call} raised" in message
    assert "Traceback (most recent call last)" in message
    assert "recorder.py" in message
    expected = "ValueError: bad configuration" if call == "configure" else "ConnectionRefusedError: cannot reach"
    assert expected in message
    # close is not called on a sink whose configure or open raised.
    assert events_of(out, "close") == []
    assert events_of(out, "collect") == []


def test_collect_batch_receives_queued_results_in_one_call(launch: Callable[..., Running], tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    data = readings(tmp_path, list(range(50)))
    running = launch(ruleset(data, {"batched": {"path": str(out)}}, sql="SELECT v FROM readings"))
    wait_for(lambda: sum(len(e["items"]) for e in events_of(out, "batch")) == 50, what="50 results")
    running.stop()
    items = [item for e in events_of(out, "batch") for item in e["items"]]
    assert items == [[{"v": v}] for v in range(50)]


def test_a_package_in_the_plugins_folder(launch: Callable[..., Running], tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    running = launch(ruleset(readings(tmp_path, [7]), {"pkgsink": {"path": str(out)}}))
    wait_for(lambda: read_events(out), what="a result")
    running.stop()
    assert read_events(out) == [{"event": "collect", "data": [{"v": 7, "device": "d7"}], "via": "package"}]


def write_module_sink(folder: Path) -> None:
    (folder / "myapp").mkdir()
    (folder / "myapp" / "__init__.py").write_text("")
    (folder / "myapp" / "alerts.py").write_text(
        "import json\n"
        "import sinkbridge as sb\n\n"
        "class Alert(sb.Sink):\n"
        "    def configure(self, props):\n"
        "        self.path = props['path']\n"
        "        self.threshold = props.get('threshold', 30)\n"
        "    def collect(self, ctx, data):\n"
        "        with open(self.path, 'a') as out:\n"
        "            hot = [r for r in data if r['v'] > self.threshold]\n"
        "            out.write(json.dumps({'event': 'collect', 'hot': hot}) + '\\n')\n"
    )


def test_a_module_path(launch: Callable[..., Running], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    write_module_sink(lib)
    monkeypatch.syspath_prepend(str(lib))
    out = tmp_path / "events.jsonl"
    action = {"myapp.alerts:Alert": {"path": str(out), "threshold": 5}}
    running = launch(ruleset(readings(tmp_path, [3, 8]), action), env={"PYTHONPATH": str(lib)})
    wait_for(lambda: len(read_events(out)) == 2, what="two results")
    running.stop()
    assert [e["hot"] for e in read_events(out)] == [[], [{"v": 8, "device": "d8"}]]


def write_distribution(site: Path) -> None:
    """An installed distribution that declares a sink entry point, as pip would leave it."""
    write_module_sink(site)
    info = site / "myapp_sinks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myapp-sinks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[sinkbridge.sinks]\nalert = myapp.alerts:Alert\n")


def test_an_entry_point(launch: Callable[..., Running], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write_distribution(site)
    monkeypatch.syspath_prepend(str(site))
    out = tmp_path / "events.jsonl"
    running = launch(ruleset(readings(tmp_path, [31]), {"alert": {"path": str(out)}}), env={"PYTHONPATH": str(site)})
    wait_for(lambda: read_events(out), what="a result")
    running.stop()
    assert read_events(out) == [{"event": "collect", "hot": [{"v": 31, "device": "d31"}]}]


def test_the_binary_imports_from_the_active_virtual_environment(tmp_path: Path, plugins_dir: Path) -> None:
    """The binary finds sinkbridge and the plugins' imports in $VIRTUAL_ENV, and nowhere else."""
    probe = plugins_dir / "probe.py"
    probe.write_text(
        "import json, sys\n"
        "import sinkbridge as sb\n\n"
        "class Probe(sb.Sink):\n"
        "    def configure(self, props):\n"
        "        self.path = props['path']\n"
        "    def collect(self, ctx, data):\n"
        "        with open(self.path, 'a') as out:\n"
        "            out.write(json.dumps({'prefix': sys.prefix, 'sinkbridge': sb.__file__}) + '\\n')\n"
    )
    out = tmp_path / "events.jsonl"
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(ruleset(readings(tmp_path, [1]), {"probe": {"path": str(out)}})))
    cli = Cli([str(binary_path()), "--plugins-dir", str(plugins_dir), "run", str(rules)], tmp_path, host_env())
    wait_for(lambda: read_events(out), what="a result")
    assert cli.stop() == 0
    seen = read_events(out)[0]
    assert os.path.realpath(seen["prefix"]) == os.path.realpath(sys.prefix)
    assert os.path.realpath(seen["sinkbridge"]) == os.path.realpath(sb.__file__)

    # Without an environment that has sinkbridge, running rules is refused with a clear message.
    env = host_env()
    env.pop("VIRTUAL_ENV")
    env["PYTHONNOUSERSITE"] = "1"
    done = run_command([str(binary_path()), "run", str(rules)], tmp_path, env)
    assert done.returncode == 1
    assert "the sinkbridge Python package cannot be imported" in done.stderr
    assert "VIRTUAL_ENV" in done.stderr


def test_an_async_sink_runs_on_the_engines_event_loop(launch: Callable[..., Running], tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    running = launch(
        ruleset(readings(tmp_path, [1, 2]), {"asyncsink": {"path": str(out)}}, sql="SELECT v FROM readings")
    )
    wait_for(lambda: len(events_of(out, "collect")) == 2, what="two results")
    running.stop()
    events = read_events(out)
    assert [e["event"] for e in events] == ["configure", "open", "collect", "collect", "close"]
    assert {e["thread"] for e in events if "thread" in e} == {"sinkbridge-asyncio"}
    assert [e["data"] for e in events_of(out, "collect")] == [[{"v": 1}], [{"v": 2}]]
