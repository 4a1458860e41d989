"""The built-in `file` and `rest` sinks, checked with independent readers: Python's json, csv
and gzip modules for files, and a local HTTP server (http.server) for requests."""

from __future__ import annotations

import csv
import gzip
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sinkbridge as sb

from .conftest import serving, wait_for

STREAM = 'CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")'
ROWS = [{"device": "a", "t": 1.5}, {"device": "b", "t": 2}, {"device": "a", "t": 3}]


@pytest.fixture
def s(engine: sb.Engine) -> sb.Engine:
    engine.create_stream(STREAM)
    return engine


def run_rule(engine: sb.Engine, action: dict[str, Any], rows: list[dict[str, Any]] = ROWS) -> None:
    engine.create_rule({"id": "r", "sql": "SELECT device, t FROM s", "actions": [action]})
    engine.publish("in", rows)
    wait_for(lambda: engine.rule_status("r")["sink_" + next(iter(action)) + "_0_0_records_out_total"] == len(rows))
    engine.stop_rule("r")


# ----- file -----


def test_json_lines(s: sb.Engine, tmp_path: Path) -> None:
    out = tmp_path / "out" / "rows.jsonl"
    run_rule(s, {"file": {"path": str(out), "sendSingle": True}})
    assert [json.loads(line) for line in out.read_text().splitlines()] == ROWS


def test_a_json_array_is_valid_once_the_file_closes(s: sb.Engine, tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    run_rule(s, {"file": {"path": str(out), "fileType": "json", "sendSingle": True}})
    assert json.loads(out.read_text()) == ROWS


def test_csv_with_a_header(s: sb.Engine, tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    run_rule(s, {"file": {"path": str(out), "fileType": "csv", "hasHeader": True, "delimiter": ";"}})
    with out.open() as f:
        assert list(csv.reader(f, delimiter=";")) == [["device", "t"], ["a", "1.5"], ["b", "2"], ["a", "3"]]


def test_rolling_by_count_with_gzip_and_a_path_per_device(s: sb.Engine, tmp_path: Path) -> None:
    action = {
        "file": {
            "path": str(tmp_path / "{{device}}.jsonl"),
            "sendSingle": True,
            "rollingCount": 1,
            "rollingNamePattern": "suffix",
            "compression": "gzip",
        }
    }
    run_rule(s, action)
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) == 3, files
    assert {f.name.split("-")[0] for f in files} == {"a", "b"}
    rows = [json.loads(gzip.decompress(f.read_bytes())) for f in files]
    assert sorted(rows, key=lambda r: (r["device"], r["t"])) == sorted(ROWS, key=lambda r: (r["device"], r["t"]))


def test_file_sink_properties_are_checked(s: sb.Engine) -> None:
    with pytest.raises(sb.RuleError, match="the file sink needs a path property"):
        s.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"file": {}}]})
    with pytest.raises(sb.RuleError, match="fileType: expected lines, json or csv"):
        s.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"file": {"path": "x", "fileType": "xml"}}]})


# ----- rest -----


class Recorder(http.server.ThreadingHTTPServer):
    """Records requests; answers `fail_with` for the first `failures` of them."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures = 0
        self.fail_with = 503
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Recorder

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        with self.server.lock:
            failing = self.server.failures > 0
            if failing:
                self.server.failures -= 1
            else:
                self.server.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
        status = self.server.fail_with if failing else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_GET = answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Recorder]:
    with serving(Recorder()) as srv:
        yield srv


def test_rest_posts_json_with_templated_url_and_headers(s: sb.Engine, server: Recorder) -> None:
    action = {
        "rest": {
            "url": server.url + "/devices/{{device}}",
            "method": "put",
            "headers": {"X-Temp": "{{t}}", "Authorization": "Bearer token"},
            "sendSingle": True,
        }
    }
    run_rule(s, action)
    assert [(r["method"], r["path"]) for r in server.requests] == [
        ("PUT", "/devices/a"),
        ("PUT", "/devices/b"),
        ("PUT", "/devices/a"),
    ]
    assert [json.loads(r["body"]) for r in server.requests] == ROWS
    first = server.requests[0]["headers"]
    assert first["content-type"] == "application/json"
    assert first["x-temp"] == "1.5"
    assert first["authorization"] == "Bearer token"


def test_rest_form_and_text_bodies(s: sb.Engine, server: Recorder) -> None:
    run_rule(s, {"rest": {"url": server.url, "bodyType": "form", "sendSingle": True}}, ROWS[:1])
    assert server.requests[0]["body"] == "device=a&t=1.5"
    assert server.requests[0]["headers"]["content-type"] == "application/x-www-form-urlencoded"


def test_rest_retries_5xx_and_network_errors_in_order(s: sb.Engine, server: Recorder) -> None:
    server.failures = 3
    s.create_rule(
        {
            "id": "r",
            "sql": "SELECT device, t FROM s",
            "actions": [{"rest": {"url": server.url, "sendSingle": True, "resendInterval": 10}}],
        }
    )
    s.publish("in", ROWS)
    wait_for(lambda: len(server.requests) == 3, what="every row after the failures")
    assert [json.loads(r["body"]) for r in server.requests] == ROWS
    status = s.rule_status("r")
    assert status["sink_rest_0_0_retries_total"] == 3
    assert "answered 503 Service Unavailable" in status["sink_rest_0_0_last_exception"]


def test_rest_does_not_retry_4xx(s: sb.Engine, server: Recorder) -> None:
    server.failures = 1
    server.fail_with = 400
    s.create_rule(
        {"id": "r", "sql": "SELECT device, t FROM s", "actions": [{"rest": {"url": server.url, "sendSingle": True}}]}
    )
    s.publish("in", ROWS)
    wait_for(lambda: len(server.requests) == 2, what="the two rows after the bad one")
    status = s.rule_status("r")
    assert status["sink_rest_0_0_retries_total"] == 0
    assert status["sink_rest_0_0_dead_letter_total"] == 1


def test_rest_to_a_server_that_is_down_caches_until_it_is_up(plugins_dir: Path, tmp_path: Path) -> None:
    srv = Recorder()
    port = srv.server_address[1]
    srv.server_close()  # nothing listens on the port for now
    with sb.Engine(data_dir=tmp_path / "data", plugins_dir=plugins_dir) as engine:
        engine.create_stream(STREAM)
        action = {
            "rest": {
                "url": f"http://127.0.0.1:{port}/in",
                "sendSingle": True,
                "enableCache": True,
                "resendInterval": 20,
            }
        }
        engine.create_rule({"id": "r", "sql": "SELECT device, t FROM s", "actions": [action]})
        engine.publish("in", ROWS)
        wait_for(lambda: engine.rule_status("r")["sink_rest_0_0_cache_length"] == 3, what="three cached rows")
        with serving(Recorder(port)) as server:
            wait_for(lambda: len(server.requests) == 3, what="the cached rows")
            assert [json.loads(r["body"]) for r in server.requests] == ROWS


def test_rest_sink_properties_are_checked(s: sb.Engine) -> None:
    with pytest.raises(sb.RuleError, match="url: expected an http:// or https:// address"):
        s.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"rest": {"url": "ftp://x"}}]})
    with pytest.raises(sb.RuleError, match="method: expected GET, POST, PUT, PATCH or DELETE"):
        s.create_rule(
            {"id": "r", "sql": "SELECT * FROM s", "actions": [{"rest": {"url": "http://x", "method": "BREW"}}]}
        )
