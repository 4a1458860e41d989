"""What survives a restart: streams, tables, rules and each rule's desired state, kept in
SQLite under the data directory, for the server (stopped by SIGTERM or killed) and for the
Python `Engine(data_dir=...)`."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
import sinkbridge as sb

from .conftest import ROOT, read_events, wait_for
from .server_helpers import Server

STREAM = 'CREATE STREAM demo (temperature float) WITH (TYPE="memory", DATASOURCE="in/demo")'
TABLE = 'CREATE TABLE rooms (id string, room string) WITH (TYPE="memory", DATASOURCE="rooms", KIND="lookup", KEY="id")'


def define(server: Server, out: Path) -> None:
    assert server.put("/metadata/sources/mqtt/confKeys/local", {"server": "tcp://127.0.0.1:1883"}).ok
    assert server.post("/streams", {"sql": STREAM}).status_code == 201
    assert server.post("/tables", {"sql": TABLE}).status_code == 201
    recorder = {"recorder": {"path": str(out)}}
    for rule_id in ("keeps_running", "stays_stopped", "updated"):
        rule = {"id": rule_id, "sql": "SELECT * FROM demo", "actions": [recorder]}
        assert server.post("/rules", rule).status_code == 201
    assert server.post("/rules/stays_stopped/stop").ok
    new_sql = {"sql": "SELECT temperature FROM demo WHERE temperature > 0", "actions": [{"nop": {}}]}
    assert server.put("/rules/updated", new_sql).ok
    assert server.post("/streams", {"sql": STREAM.replace("demo", "gone")}).ok
    assert server.delete("/streams/gone").ok


def check_restored(server: Server) -> None:
    assert server.get("/streams").json() == ["demo"]
    assert server.get("/tables").json() == ["rooms"]
    assert server.get("/metadata/sources/mqtt/confKeys/local").json() == {"server": "tcp://127.0.0.1:1883"}
    states = {r["id"]: r["status"] for r in server.get("/rules").json()}
    assert states == {"keeps_running": "running", "stays_stopped": "stopped", "updated": "running"}
    assert server.get("/rules/updated").json()["sql"] == "SELECT temperature FROM demo WHERE temperature > 0"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_definitions_and_states_survive_a_restart(tmp_path: Path, stop: signal.Signals) -> None:
    plugins = tmp_path / "sinks"
    shutil.copytree(ROOT / "tests" / "sinks", plugins)
    out = tmp_path / "events.jsonl"
    first = Server(tmp_path, plugins_dir=plugins).wait_ready()
    try:
        define(first, out)
        code = first.stop(stop)
    finally:
        first.kill()
    if stop == signal.SIGTERM:
        assert code == 0, first.cli.stderr
        # A graceful stop closes every sink that was open.
        assert [e["event"] for e in read_events(out)].count("close") == 3
    second = Server(tmp_path, plugins_dir=plugins).wait_ready()
    try:
        check_restored(second)
        assert second.post("/rules/stays_stopped/start").ok
        assert second.stop() == 0
    finally:
        second.kill()
    third = Server(tmp_path, plugins_dir=plugins).wait_ready()
    try:
        assert {r["id"]: r["status"] for r in third.get("/rules").json()}["stays_stopped"] == "running"
        assert third.delete("/rules/stays_stopped").ok
    finally:
        third.stop()
        third.kill()
    fourth = Server(tmp_path, plugins_dir=plugins).wait_ready()
    try:
        assert "stays_stopped" not in {r["id"] for r in fourth.get("/rules").json()}
    finally:
        fourth.kill()


def test_a_rule_that_cannot_come_back_is_logged_and_kept(tmp_path: Path) -> None:
    """A rule whose sink is gone after the restart is reported, and comes back once it is there."""
    plugins = tmp_path / "sinks"
    shutil.copytree(ROOT / "tests" / "sinks", plugins)
    first = Server(tmp_path, plugins_dir=plugins).wait_ready()
    try:
        first.post("/streams", {"sql": STREAM})
        rule = {"id": "r", "sql": "SELECT * FROM demo", "actions": [{"recorder": {"path": str(tmp_path / "o")}}]}
        assert first.post("/rules", rule).status_code == 201
        assert first.stop() == 0
    finally:
        first.kill()
    (plugins / "recorder.py").rename(tmp_path / "recorder.py")
    second = Server(tmp_path, plugins_dir=plugins).wait_ready()
    try:
        assert second.get("/rules").json() == []
        assert second.stop() == 0
        assert "not restored: rule r" in second.cli.stderr
    finally:
        second.kill()
    (tmp_path / "recorder.py").rename(plugins / "recorder.py")
    third = Server(tmp_path, plugins_dir=plugins).wait_ready()
    try:
        assert [r["id"] for r in third.get("/rules").json()] == ["r"]
    finally:
        third.kill()


class Collecting(sb.Sink):
    rows: list[object] = []  # noqa: RUF012 - shared on purpose, reset by the test

    def collect(self, ctx: sb.Context, data: object) -> None:
        Collecting.rows.append(data)


def test_the_python_engine_persists_and_restores_with_a_data_dir(tmp_path: Path) -> None:
    Collecting.rows = []
    with sb.Engine(data_dir=tmp_path / "data") as engine:
        engine.register_sink("collecting", Collecting)
        engine.set_source_conf("file", "replay", {"interval": "1ms"})
        engine.create_stream(STREAM)
        engine.create_rule({"id": "on", "sql": "SELECT * FROM demo", "actions": [{"collecting": {}}]})
        engine.create_rule({"id": "off", "sql": "SELECT * FROM demo", "actions": [{"collecting": {}}]})
        engine.stop_rule("off")
    engine = sb.Engine(data_dir=tmp_path / "data")
    try:
        # Streams come back at once; rules at the first start, once the sinks are registered.
        assert engine.streams() == ["demo"]
        assert engine.rules() == []
        engine.register_sink("collecting", Collecting)
        engine.start()
        assert {r["id"]: r["status"] for r in engine.rules()} == {"on": "running", "off": "stopped"}
        engine.publish("in/demo", {"temperature": 21.5})
        wait_for(lambda: Collecting.rows == [[{"temperature": 21.5}]], what="the restored rule's result")
        engine.delete_rule("on")
    finally:
        engine.stop()
    again = sb.Engine(data_dir=tmp_path / "data")
    again.register_sink("collecting", Collecting)
    again.start()
    try:
        assert [r["id"] for r in again.rules()] == ["off"]
    finally:
        again.stop()


def test_an_engine_without_a_data_dir_keeps_nothing(tmp_path: Path) -> None:
    with sb.Engine() as engine:
        engine.create_stream(STREAM)
    with sb.Engine() as engine:
        assert engine.streams() == []
