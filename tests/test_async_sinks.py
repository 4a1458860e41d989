"""Async Python sinks: `async def` lifecycle methods run on the engine's asyncio loop, with at
most `concurrency` collects in flight."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import sinkbridge as sb

from .conftest import serving, wait_for

STREAM = 'CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")'


class SlowServer(http.server.ThreadingHTTPServer):
    """A local HTTP server that takes 200 ms per request and counts requests in flight."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", 0), SlowHandler)


class SlowHandler(http.server.BaseHTTPRequestHandler):
    server: SlowServer

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        time.sleep(0.2)
        with self.server.lock:
            self.server.in_flight -= 1
            self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[SlowServer]:
    with serving(SlowServer()) as srv:
        yield srv


class HttpGet(sb.Sink):
    """Sends each row's `i` to a local HTTP server with asyncio streams."""

    async def configure(self, props: dict[str, Any]) -> None:
        self.port = props["port"]

    async def collect(self, ctx: sb.Context, data: Any) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(f"GET /{data[0]['i']} HTTP/1.0\r\nHost: local\r\n\r\n".encode())
        await writer.drain()
        status = await reader.readline()
        writer.close()
        await writer.wait_closed()
        if b" 200 " not in status:
            raise sb.RetryableError(f"the server answered {status!r}")


def test_an_async_sink_keeps_concurrency_collects_in_flight(engine: sb.Engine, server: SlowServer) -> None:
    engine.register_sink("http", HttpGet)
    engine.create_stream(STREAM)
    port = server.server_address[1]
    engine.create_rule({"id": "r", "sql": "SELECT i FROM s", "actions": [{"http": {"port": port, "concurrency": 4}}]})
    engine.publish("in", [{"i": i} for i in range(12)])
    wait_for(lambda: len(server.paths) == 12, what="twelve requests")
    assert server.most_in_flight == 4
    assert sorted(server.paths) == sorted(f"/{i}" for i in range(12))
    # The server has every request before the sink's collects return: wait for those too.
    assert engine.wait_idle()
    status = engine.rule_status("r")
    assert status["sink_http_0_0_records_out_total"] == 12
    assert "sink_http_0_1_records_out_total" not in status, "one instance takes the whole concurrency"


class Flaky(sb.Sink):
    calls = 0
    received: ClassVar[list[Any]] = []

    async def collect(self, ctx: sb.Context, data: Any) -> None:
        Flaky.calls += 1
        await asyncio.sleep(0)
        if Flaky.calls <= 3:
            raise sb.RetryableError("not yet")
        Flaky.received.append(data[0]["i"])


def test_async_transient_failures_are_retried(engine: sb.Engine) -> None:
    Flaky.calls = 0
    Flaky.received = []
    engine.register_sink("flaky", Flaky)
    engine.create_stream(STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT i FROM s", "actions": [{"flaky": {"resendInterval": 10}}]})
    engine.publish("in", [{"i": 1}, {"i": 2}])
    wait_for(lambda: sorted(Flaky.received) == [1, 2], what="both rows")
    assert engine.rule_status("r")["sink_flaky_0_0_retries_total"] >= 1


class Batched(sb.Sink):
    batches: ClassVar[list[Any]] = []

    async def collect_batch(self, ctx: sb.Context, items: list[Any]) -> None:
        await asyncio.sleep(0)
        Batched.batches.append(items)


def test_an_async_collect_batch(engine: sb.Engine) -> None:
    Batched.batches = []
    engine.register_sink("batched", Batched)
    engine.create_stream(STREAM)
    engine.create_rule(
        {"id": "r", "sql": "SELECT i FROM s", "actions": [{"batched": {"batchSize": 5, "lingerInterval": "5s"}}]}
    )
    engine.publish("in", [{"i": i} for i in range(10)])
    wait_for(lambda: len(Batched.batches) == 2, what="two batches")
    assert Batched.batches == [[[{"i": i}] for i in range(k, k + 5)] for k in (0, 5)]


class BadOpen(sb.Sink):
    async def open(self, ctx: sb.Context) -> None:
        await asyncio.sleep(0)
        raise ConnectionRefusedError("no server")

    async def collect(self, ctx: sb.Context, data: Any) -> None:
        pass


def test_an_async_open_that_raises_fails_the_start_with_its_traceback(engine: sb.Engine) -> None:
    engine.register_sink("bad", BadOpen)
    engine.create_stream(STREAM)
    with pytest.raises(sb.SinkError) as caught:
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"bad": {}}]})
    message = str(caught.value)
    assert "open raised ConnectionRefusedError: no server" in message
    assert "Traceback (most recent call last)" in message
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


def test_a_factory_returning_an_async_sink_is_refused(engine: sb.Engine) -> None:
    engine.register_sink("made", lambda: Batched())
    engine.create_stream(STREAM)
    with pytest.raises(sb.SinkError, match="returned an async sink; register or name its class"):
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"made": {}}]})
