"""The REST API of `sinkbridge serve`, through HTTP: every endpoint with eKuiper's paths,
bodies, status codes and messages, including the error cases."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from .conftest import ROOT, read_events, wait_for
from .server_helpers import Server

MEMORY_STREAM = 'CREATE STREAM demo (temperature float, device string) WITH (TYPE="memory", DATASOURCE="in/demo")'


def file_stream(name: str, path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return f'CREATE STREAM {name} () WITH (TYPE="file", DATASOURCE="{path}")'


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    plugins = tmp_path / "sinks"
    shutil.copytree(ROOT / "tests" / "sinks", plugins)
    srv = Server(tmp_path, plugins_dir=plugins).wait_ready()
    yield srv
    srv.kill()


def error_of(response: Any) -> tuple[int, int, str]:
    body = response.json()
    return response.status_code, body["error"], body["message"]


def test_root_and_ping(server: Server) -> None:
    root = server.get("/").json()
    assert root["version"]
    assert root["upTimeSeconds"] >= 0
    assert server.get("/ping").status_code == 200


def test_streams_create_list_describe_replace_drop(server: Server) -> None:
    created = server.post("/streams", {"sql": MEMORY_STREAM})
    assert (created.status_code, created.text) == (201, "Stream demo is created.")
    assert server.get("/streams").json() == ["demo"]
    described = server.get("/streams/demo").json()
    assert described["name"] == "demo"
    assert described["fields"] == [{"name": "temperature", "type": "float"}, {"name": "device", "type": "string"}]
    assert described["options"]["DATASOURCE"] == "in/demo"
    assert server.get("/streamdetails").json() == [{"name": "demo", "type": "memory", "format": "json"}]
    assert server.get("/streams/demo/schema").json() == {"temperature": {"type": "float"}, "device": {"type": "string"}}

    replaced = server.put("/streams/demo", {"sql": MEMORY_STREAM.replace("device string", "device string, hum bigint")})
    assert (replaced.status_code, replaced.text) == (200, "Stream demo is replaced.")
    assert len(server.get("/streams/demo").json()["fields"]) == 3
    renamed = server.put("/streams/demo", {"sql": MEMORY_STREAM.replace("demo (", "other (")})
    assert error_of(renamed)[:2] == (400, 3000)
    assert "name cannot change" in error_of(renamed)[2]
    assert len(server.get("/streams/demo").json()["fields"]) == 3

    dropped = server.delete("/streams/demo")
    assert (dropped.status_code, dropped.text) == (200, "Stream demo is dropped.")
    assert server.get("/streams").json() == []


def test_stream_errors_are_400_with_3000(server: Server) -> None:
    status, code, message = error_of(server.post("/streams", {"sql": "CREATE STREAM broken (a nosuchtype)"}))
    assert (status, code) == (400, 3000)
    assert "nosuchtype" in message
    status, code, message = error_of(server.get("/streams/nope"))
    assert (status, code) == (400, 3000)
    assert "nope" in message
    server.post("/streams", {"sql": MEMORY_STREAM})
    server.post("/rules", {"id": "r", "sql": "SELECT * FROM demo", "actions": [{"nop": {}}]})
    status, code, message = error_of(server.delete("/streams/demo"))
    assert (status, code) == (400, 3000)
    assert "read by rules r" in message


def test_tables_live_under_their_own_path(server: Server) -> None:
    table = (
        "CREATE TABLE devices (id string, room string) "
        'WITH (TYPE="memory", DATASOURCE="devices", KIND="lookup", KEY="id")'
    )
    created = server.post("/tables", {"sql": table})
    assert (created.status_code, created.text) == (201, "Table devices is created.")
    server.post("/streams", {"sql": MEMORY_STREAM})
    assert server.get("/tables").json() == ["devices"]
    assert server.get("/streams").json() == ["demo"]
    assert server.get("/tables/devices").json()["type"] == "table"
    assert server.get("/tabledetails").json() == [{"name": "devices", "type": "memory", "format": "json"}]
    status, code, message = error_of(server.get("/tables/demo"))
    assert (status, code) == (400, 3000)
    assert "demo is a stream, not a table" in message
    assert server.delete("/tables/devices").text == "Table devices is dropped."


def test_rules_lifecycle(server: Server) -> None:
    server.post("/streams", {"sql": MEMORY_STREAM})
    rule = {"id": "hot", "sql": "SELECT * FROM demo WHERE temperature > 30", "actions": [{"nop": {}}]}
    created = server.post("/rules", rule)
    assert (created.status_code, created.text) == (201, "Rule hot was created successfully.")
    assert server.get("/rules").json() == [{"id": "hot", "name": "", "status": "running", "tags": []}]
    assert server.get("/rules/hot").json() == rule
    status = server.get("/rules/hot/status").json()
    assert status["status"] == "running"
    assert "source_demo_0_records_in_total" in status
    assert list(server.get("/rules/status/all").json()) == ["hot"]
    assert server.get("/rules/hot/topo").json() == {
        "sources": ["source_demo"],
        "edges": {"source_demo": ["op_1_filter"], "op_1_filter": ["op_2_project"], "op_2_project": ["sink_nop_0"]},
    }

    assert server.post("/rules/hot/stop").text == "Rule hot was stopped."
    assert server.get("/rules/hot/status").json()["status"] == "stopped"
    assert server.post("/rules/hot/start").text == "Rule hot was started"
    assert server.post("/rules/hot/restart").text == "Rule hot was restarted"
    assert server.get("/rules/hot/status").json()["status"] == "running"

    updated = server.put("/rules/hot", {"sql": "SELECT device FROM demo", "actions": [{"nop": {}}]})
    assert (updated.status_code, updated.text) == (200, "Rule hot was updated successfully.")
    assert server.get("/rules/hot").json()["sql"] == "SELECT device FROM demo"
    mismatch = server.put("/rules/hot", {"id": "cold", "sql": "SELECT * FROM demo", "actions": [{"nop": {}}]})
    assert error_of(mismatch)[:2] == (400, 1000)

    deleted = server.delete("/rules/hot")
    assert (deleted.status_code, deleted.text) == (200, "Rule hot is dropped.")
    assert server.get("/rules").json() == []


def test_rule_errors(server: Server) -> None:
    for path, method in [
        ("/rules/ghost", "GET"),
        ("/rules/ghost", "DELETE"),
        ("/rules/ghost/start", "POST"),
        ("/rules/ghost/status", "GET"),
        ("/rules/ghost/topo", "GET"),
    ]:
        status, code, message = error_of(server.request(method, path))
        assert (status, code) == (404, 1002), path
        assert "ghost" in message
    server.post("/streams", {"sql": MEMORY_STREAM})
    status, code, message = error_of(server.post("/rules", {"id": "bad", "sql": "SELEC * FROM demo", "actions": []}))
    assert (status, code) == (400, 1000)
    status, code, message = error_of(
        server.post("/rules", {"id": "bad", "sql": "SELECT * FROM nowhere", "actions": [{"nop": {}}]})
    )
    assert (status, code) == (400, 1000)
    assert "nowhere" in message
    status, code, message = error_of(
        server.post("/rules", {"id": "bad", "sql": "SELECT * FROM demo", "actions": [{"nosuchsink": {}}]})
    )
    assert (status, code) == (400, 1000)
    assert "nosuchsink" in message
    status, code, message = error_of(server.post("/rules", {"id": "x", "sqll": "SELECT 1", "actions": []}))
    assert "sqll" in message
    assert server.get("/rules").json() == []


def test_validate(server: Server) -> None:
    server.post("/streams", {"sql": MEMORY_STREAM})
    ok = server.post("/rules/validate", {"id": "v", "sql": "SELECT * FROM demo", "actions": [{"nop": {}}]})
    assert (ok.status_code, ok.json()) == (200, {"valid": True, "sources": ["demo"]})
    bad = server.post("/rules/validate", {"id": "v", "sql": "SELECT nosuchfn(1) FROM demo", "actions": [{"nop": {}}]})
    assert bad.status_code == 422
    assert "nosuchfn" in bad.json()["message"]
    assert server.get("/rules").json() == []


def test_source_conf_keys(server: Server) -> None:
    put = server.put("/metadata/sources/mqtt/confKeys/local", {"server": "tcp://127.0.0.1:1883", "qos": 1})
    assert put.status_code == 200
    assert server.get("/metadata/sources/mqtt/confKeys/local").json() == {"server": "tcp://127.0.0.1:1883", "qos": 1}
    assert error_of(server.get("/metadata/sources/mqtt/confKeys/other"))[:2] == (404, 1002)
    assert error_of(server.put("/metadata/sources/nosuch/confKeys/k", {"a": 1}))[:2] == (400, 3000)
    assert error_of(server.put("/metadata/sources/mqtt/confKeys/k", [1, 2]))[:2] == (400, 1000)


def test_batch_requests(server: Server) -> None:
    answers = server.post(
        "/batch/req",
        [
            {"method": "POST", "path": "/streams", "body": json.dumps({"sql": MEMORY_STREAM})},
            {"method": "GET", "path": "/streams/demo"},
            {"method": "GET", "path": "/rules/ghost"},
        ],
    ).json()
    assert [a["code"] for a in answers] == [201, 200, 404]
    assert answers[0]["response"] == "Stream demo is created."
    assert json.loads(answers[1]["response"])["name"] == "demo"
    nested = server.post("/batch/req", [{"method": "POST", "path": "/batch/req", "body": "[]"}])
    assert error_of(nested)[:2] == (400, 1000)


def test_plugins_sinks_lists_the_plugins_folder_with_docstrings(server: Server) -> None:
    sinks = {s["name"]: s for s in server.get("/plugins/sinks").json()}
    assert "recorder" in sinks
    assert sinks["recorder"]["origin"].startswith("plugins folder: ")
    assert sinks["recorder"]["doc"].startswith("A sink for tests")


def test_an_ekuiper_portable_plugin_installed_over_rest_runs(server: Server, tmp_path: Path) -> None:
    archive = tmp_path / "pysam.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (ROOT / "tests" / "ekuiper" / "pysam").iterdir():
            if path.suffix in (".py", ".json"):
                z.write(path, path.name)
    installed = server.post("/plugins/portables", {"name": "pysam", "file": f"file://{archive}"})
    assert (installed.status_code, installed.text) == (201, "portable plugin pysam is created; its sinks: print, flaky")
    assert {"print", "flaky"} <= {s["name"] for s in server.get("/plugins/sinks").json()}
    again = server.post("/plugins/portables", {"name": "pysam", "file": f"file://{archive}"})
    assert error_of(again)[:2] == (400, 1000)
    remote = server.post("/plugins/portables", {"name": "other", "file": "http://example.com/x.zip"})
    assert "file://" in error_of(remote)[2]
    script = server.post("/plugins/portables", {"name": "other", "file": f"file://{archive}", "shellParas": []})
    assert "shellParas" in error_of(script)[2]

    out = tmp_path / "flaky.jsonl"
    rows = [{"i": i} for i in range(3)]
    server.post("/streams", {"sql": file_stream("numbers", tmp_path / "numbers.jsonl", rows)})
    action = {"flaky": {"path": str(out), "failures": 1, "resendInterval": 10, "sendSingle": True}}
    assert server.post("/rules", {"id": "r", "sql": "SELECT i FROM numbers", "actions": [action]}).status_code == 201
    wait_for(lambda: out.exists() and len(out.read_text().splitlines()) == 3, what="every row through the plugin")
    assert [json.loads(line) for line in out.read_text().splitlines()] == rows


def test_a_rule_created_over_rest_feeds_a_python_sink_from_the_plugins_folder(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    rows = [{"temperature": t, "device": f"d{t}"} for t in (20, 35, 40)]
    assert server.post("/streams", {"sql": file_stream("readings", tmp_path / "in.jsonl", rows)}).status_code == 201
    rule = {
        "id": "hot",
        "sql": "SELECT device FROM readings WHERE temperature > 30",
        "actions": [{"recorder": {"path": str(out)}}],
    }
    assert server.post("/rules", rule).status_code == 201
    wait_for(lambda: len([e for e in read_events(out) if e["event"] == "collect"]) == 2, what="two hot rows")
    collected = [e["data"] for e in read_events(out) if e["event"] == "collect"]
    assert collected == [[{"device": "d35"}], [{"device": "d40"}]]

    families = {f.name: f for f in text_string_to_metric_families(server.get("/metrics").text)}
    records_in = {
        (s.labels["kind"], s.labels["op"]): s.value
        for s in families["sinkbridge_records_in"].samples
        if s.labels["rule"] == "hot" and s.name == "sinkbridge_records_in_total"
    }
    assert records_in[("source", "readings")] == 3
    assert records_in[("sink", "recorder_0")] == 2
    assert [s.value for s in families["sinkbridge_rule_running"].samples] == [1]
    latency = families["sinkbridge_process_latency_seconds"]
    sink_samples = [s for s in latency.samples if s.labels["kind"] == "sink"]
    (count,) = [s.value for s in sink_samples if s.name.endswith("_count")]
    (everything,) = [s.value for s in sink_samples if s.name.endswith("_bucket") and s.labels["le"] == "+Inf"]
    assert count >= 1  # one observation per batch the sink took
    assert everything == count
    assert families["process_resident_memory_bytes"].samples[0].value > 1_000_000


def test_put_on_a_rule_delivers_what_was_buffered_for_its_sinks(server: Server, tmp_path: Path) -> None:
    (server.plugins_dir / "slow.py").write_text(
        "import json, time\nimport sinkbridge as sb\n\n"
        "class Slow(sb.Sink):\n"
        "    def collect(self, ctx, data):\n"
        "        time.sleep(0.02)\n"
        "        with open(self.props['path'], 'a') as f:\n"
        "            f.write(json.dumps(data) + '\\n')\n"
    )
    out = tmp_path / "slow.jsonl"
    rows = [{"i": i} for i in range(50)]
    server.post("/streams", {"sql": file_stream("numbers", tmp_path / "numbers.jsonl", rows)})
    rule = {"id": "r", "sql": "SELECT i FROM numbers", "actions": [{"slow": {"path": str(out)}}]}
    assert server.post("/rules", rule).status_code == 201
    wait_for(lambda: server.get("/rules/r/status").json()["source_numbers_0_records_in_total"] == 50, what="read")
    assert len(read_events(out)) < 50, "the sink should still have a backlog"
    replaced = {"sql": "SELECT i * 10 AS i FROM numbers WHERE i < 0", "actions": [{"slow": {"path": str(out)}}]}
    assert server.put("/rules/r", replaced).status_code == 200
    assert sorted(e[0]["i"] for e in read_events(out)) == list(range(50))


def test_bad_requests_get_400_naming_the_problem_and_the_server_keeps_going(server: Server) -> None:
    status, code, message = error_of(
        server.post("/streams", data=b"{not json", headers={"Content-Type": "application/json"})
    )
    assert (status, code) == (400, 1000)
    assert message.startswith("invalid body")
    status, _, message = error_of(server.post("/streams", {"sql": MEMORY_STREAM, "colour": "red"}))
    assert status == 400
    assert "colour" in message
    status, _, message = error_of(server.post("/streams", {"sql": 42}))
    assert status == 400
    assert "invalid type" in message
    status, _, message = error_of(server.post("/streams", data=b"", headers={"Content-Type": "application/json"}))
    assert (status, message) == (400, "invalid body: it is empty; send JSON")
    status, _, message = error_of(server.post("/rules", data=b"[1, 2]", headers={"Content-Type": "application/json"}))
    assert status == 400
    huge = server.post("/streams", {"sql": "x" * (2 * 1024 * 1024)})
    assert error_of(huge)[:2] == (413, 1000)
    assert error_of(server.get("/no/such/endpoint"))[:2] == (404, 1002)
    for junk in [b"\xff\xfe", b"null", b'{"sql": null}', b'"CREATE STREAM"', b"9" * 5000]:
        for path in ["/streams", "/rules", "/rules/validate", "/batch/req", "/query"]:
            assert server.post(path, data=junk, headers={"Content-Type": "application/json"}).status_code >= 400
    assert server.get("/ping").status_code == 200


def test_the_wheels_console_script_serves_too(tmp_path: Path) -> None:
    server = Server(tmp_path, host="wheel").wait_ready()
    try:
        assert server.post("/streams", {"sql": MEMORY_STREAM}).status_code == 201
        assert server.post("/rules", {"id": "r", "sql": "SELECT * FROM demo", "actions": [{"log": {}}]}).ok
        assert server.get("/rules/r/status").json()["status"] == "running"
        assert server.stop() == 0
    finally:
        server.kill()


def test_a_second_rule_with_an_id_in_use_is_refused_and_the_first_kept(server: Server) -> None:
    server.post("/streams", {"sql": MEMORY_STREAM})
    first = {"id": "r", "sql": "SELECT * FROM demo", "actions": [{"nop": {}}]}
    assert server.post("/rules", first).status_code == 201
    status, code, message = error_of(server.post("/rules", {**first, "sql": "SELECT device FROM demo"}))
    assert (status, code) == (400, 1000)
    assert "already exists" in message
    assert server.get("/rules/r").json() == first


def test_a_rule_whose_sink_fails_to_open_is_created_stopped_with_the_reason(server: Server, tmp_path: Path) -> None:
    server.post("/streams", {"sql": MEMORY_STREAM})
    rule = {
        "id": "r",
        "sql": "SELECT * FROM demo",
        "actions": [{"recorder": {"path": str(tmp_path / "o"), "fail": "open"}}],
    }
    created = server.post("/rules", rule)
    assert created.status_code == 201
    assert created.text.startswith("Rule r was created, but it failed to start: ")
    assert "cannot reach the target" in created.text
    status = server.get("/rules/r/status").json()
    assert status["status"] == "stopped"
    assert "cannot reach the target" in status["message"]
