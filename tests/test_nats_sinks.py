"""The `nats` sink against NATS (127.0.0.1:4222, with JetStream), read back with nats-py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
import sinkbridge as sb

from .conftest import wait_for
from .sink_services import STREAM, require_service, sink_status, unique

SERVER = "nats://127.0.0.1:4222"


@pytest.fixture(autouse=True)
def nats_up() -> None:
    require_service(4222, "NATS")


def run_rule(engine: sb.Engine, action: dict[str, Any]) -> None:
    engine.create_stream(STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"nats": {"server": SERVER, **action}}]})


async def receive(subject: str, count: int, publish: Callable[[], None]) -> list[tuple[str, Any]]:
    """Subscribes to ``subject``, runs ``publish``, and returns the first ``count`` messages."""
    nc = await nats.connect(SERVER)
    got: list[tuple[str, Any]] = []
    done = asyncio.Event()

    async def on_message(msg: Any) -> None:
        got.append((msg.subject, json.loads(msg.data)))
        if len(got) >= count:
            done.set()

    await nc.subscribe(subject, cb=on_message)
    await nc.flush()
    await asyncio.get_running_loop().run_in_executor(None, publish)
    await asyncio.wait_for(done.wait(), 10)
    await nc.close()
    return got


def test_core_nats_publishes_each_row_on_its_templated_subject(engine: sb.Engine) -> None:
    prefix = unique("sbtest")
    run_rule(engine, {"subject": prefix + ".{{ device }}", "sendSingle": True})
    rows = [{"device": f"d{i % 3}", "i": i, "text": "'); DROP TABLE x; --"} for i in range(30)]
    got = asyncio.run(receive(prefix + ".>", 30, lambda: engine.publish("in", rows)))
    assert got == [(f"{prefix}.{r['device']}", r) for r in rows]
    assert sink_status(engine, "nats_0", "connection_status") == 1


def test_without_send_single_a_message_carries_a_whole_result(engine: sb.Engine) -> None:
    subject = unique("sbtest")
    run_rule(engine, {"subject": subject})
    got = asyncio.run(receive(subject, 1, lambda: engine.publish("in", {"a": 1})))
    assert got == [(subject, [{"a": 1}])]


async def with_stream(name: str, body: Callable[[Any], Awaitable[Any]]) -> Any:
    nc = await nats.connect(SERVER)
    js = nc.jetstream()
    await js.add_stream(name=name, subjects=[name + ".>"])
    try:
        return await body(js)
    finally:
        await js.delete_stream(name)
        await nc.close()


def test_jetstream_stores_every_message_acknowledged(engine: sb.Engine) -> None:
    name = unique("SBTEST")
    run_rule(engine, {"subject": name + ".{{ device }}", "sendSingle": True, "jetstream": True})

    async def body(js: Any) -> list[Any]:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: engine.publish("in", [{"device": "d", "i": i} for i in range(50)])
        )
        await asyncio.get_running_loop().run_in_executor(None, engine.wait_idle)
        info = await js.stream_info(name)
        assert info.state.messages == 50
        return [json.loads((await js.get_msg(name, seq)).data) for seq in range(1, 51)]

    assert asyncio.run(with_stream(name, body)) == [{"device": "d", "i": i} for i in range(50)]
    assert sink_status(engine, "nats_0", "exceptions_total") == 0


def test_jetstream_without_a_stream_for_the_subject_is_counted_not_retried(engine: sb.Engine) -> None:
    run_rule(engine, {"subject": unique("nostream"), "jetstream": True})
    engine.publish("in", {"a": 1})
    assert engine.wait_idle()
    status = engine.rule_status("r")
    assert status["sink_nats_0_0_exceptions_total"] == 1
    assert "no JetStream stream" in status["sink_nats_0_0_last_exception"]
    assert status["sink_nats_0_0_retries_total"] == 0


def test_an_unreachable_server_is_retried_and_shows_in_the_status(plugins_dir: Path) -> None:
    with sb.Engine(plugins_dir=plugins_dir, stop_timeout=0.5) as engine:
        engine.create_stream(STREAM)
        action = {"server": "nats://127.0.0.1:1", "subject": "x", "resendInterval": 20}
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"nats": action}]})
        assert sink_status(engine, "nats_0", "connection_status") == -1
        engine.publish("in", {"a": 1})
        wait_for(lambda: sink_status(engine, "nats_0", "retries_total") >= 2, what="retries")
        assert sink_status(engine, "nats_0", "last_exception").startswith("RetryableError")
