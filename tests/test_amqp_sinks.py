"""The `amqp` sink against RabbitMQ (127.0.0.1:5672, guest/guest), read back with pika."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import sinkbridge as sb

from .conftest import wait_for
from .sink_services import STREAM, require_service, sink_status, unique

URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
def channel() -> Iterator[Any]:
    require_service(5672, "RabbitMQ")
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    yield connection.channel()
    connection.close()


@pytest.fixture
def queue(channel: Any) -> Iterator[str]:
    name = unique("sbtest")
    channel.queue_declare(name, durable=True)
    yield name
    channel.queue_delete(name)


def drain(channel: Any, queue: str, count: int) -> list[tuple[Any, Any]]:
    """The first ``count`` messages of ``queue``: (properties, decoded body)."""
    got: list[tuple[Any, Any]] = []

    def more() -> bool:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            got.append((properties, json.loads(body)))
        return len(got) >= count

    wait_for(more, what=f"{count} messages in {queue}")
    return got


def run_rule(engine: sb.Engine, action: dict[str, Any]) -> None:
    engine.create_stream(STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"amqp": {"url": URL, **action}}]})


def test_rows_reach_a_queue_as_persistent_json(engine: sb.Engine, channel: Any, queue: str) -> None:
    run_rule(engine, {"routingKey": queue, "sendSingle": True})
    rows = [{"i": i, "text": "'); DROP TABLE x; --"} for i in range(40)]
    engine.publish("in", rows)
    assert engine.wait_idle()
    got = drain(channel, queue, 40)
    assert [body for _, body in got] == rows
    assert {(p.delivery_mode, p.content_type) for p, _ in got} == {(2, "application/json")}
    assert sink_status(engine, "amqp_0", "connection_status") == 1


def test_a_declared_exchange_routes_by_the_templated_routing_key(engine: sb.Engine, channel: Any, queue: str) -> None:
    exchange = unique("sbtest_x")
    run_rule(
        engine,
        {"exchange": exchange, "exchangeType": "topic", "routingKey": "alerts.{{ device }}", "sendSingle": True},
    )
    try:
        channel.queue_bind(queue, exchange, routing_key="alerts.hot")
        engine.publish("in", [{"device": "hot", "i": 1}, {"device": "cold", "i": 2}, {"device": "hot", "i": 3}])
        assert engine.wait_idle()
        assert [body for _, body in drain(channel, queue, 2)] == [{"device": "hot", "i": 1}, {"device": "hot", "i": 3}]
        # "alerts.cold" reached no queue: refused by the broker, counted, not retried.
        status = engine.rule_status("r")
        assert status["sink_amqp_0_0_exceptions_total"] >= 1
        assert "refused" in status["sink_amqp_0_0_last_exception"]
        assert status["sink_amqp_0_0_retries_total"] == 0
    finally:
        channel.exchange_delete(exchange)


def test_an_unreachable_broker_is_retried_and_shows_in_the_status(plugins_dir: Path) -> None:
    with sb.Engine(plugins_dir=plugins_dir, stop_timeout=0.5) as engine:
        engine.create_stream(STREAM)
        action = {"url": "amqp://guest:guest@127.0.0.1:1/", "routingKey": "q", "resendInterval": 20}
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"amqp": action}]})
        assert sink_status(engine, "amqp_0", "connection_status") == -1
        engine.publish("in", {"a": 1})
        wait_for(lambda: sink_status(engine, "amqp_0", "retries_total") >= 2, what="retries")
        assert sink_status(engine, "amqp_0", "last_exception").startswith("RetryableError")
