"""What a Python sink's context offers beyond its ids: the connection status it reports, and the
dynamic properties rendered for each item of a `collect_batch(ctx, items, props)`."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import sinkbridge as sb

from .conftest import wait_for
from .sink_services import STREAM, sink_status


class Reporter(sb.Sink):
    """Reports what each row says about its connection."""

    def open(self, ctx: sb.Context) -> None:
        ctx.connection.connecting()

    def collect(self, ctx: sb.Context, data: Any) -> None:
        row = data[0]
        if row["up"]:
            ctx.connection.connected()
        else:
            ctx.connection.disconnected(row["why"])


class AsyncReporter(sb.Sink):
    async def collect(self, ctx: sb.Context, data: Any) -> None:
        row = data[0]
        if row["up"]:
            ctx.connection.connected()
        else:
            ctx.connection.disconnected(row["why"])


def test_a_sink_reports_its_connection_in_the_rule_status(engine: sb.Engine) -> None:
    engine.register_sink("reporter", Reporter)
    engine.create_stream(STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"reporter": {}}]})
    # open() said "connecting": the status shows 0 until the first row.
    assert sink_status(engine, "reporter_0", "connection_status") == 0
    engine.publish("in", {"up": False, "why": "connection refused by 10.0.0.9:1"})
    assert engine.wait_idle()
    status = engine.rule_status("r")
    assert status["sink_reporter_0_0_connection_status"] == -1
    assert status["sink_reporter_0_0_connection_last_disconnected_message"] == "connection refused by 10.0.0.9:1"
    assert status["sink_reporter_0_0_connection_last_disconnected_time"] > 0
    engine.publish("in", {"up": True, "why": ""})
    assert engine.wait_idle()
    status = engine.rule_status("r")
    assert status["sink_reporter_0_0_connection_status"] == 1
    assert status["sink_reporter_0_0_connection_last_connected_time"] > 0


def test_an_async_sink_reports_its_connection_too(engine: sb.Engine) -> None:
    engine.register_sink("reporter", AsyncReporter)
    engine.create_stream(STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"reporter": {}}]})
    engine.publish("in", {"up": False, "why": "gone"})
    wait_for(lambda: sink_status(engine, "reporter_0", "connection_status") == -1, what="disconnected")
    assert sink_status(engine, "reporter_0", "connection_last_disconnected_message") == "gone"
    engine.publish("in", {"up": True, "why": ""})
    wait_for(lambda: sink_status(engine, "reporter_0", "connection_status") == 1, what="connected")


def test_a_context_built_outside_an_engine_has_a_status_of_its_own() -> None:
    ctx = sb.Context("r", "op_0", 0, logging.getLogger("test"))
    assert ctx.connection.status == 1
    ctx.connection.disconnected("down")
    assert (ctx.connection.status, ctx.connection.last_message) == (-1, "down")
    ctx.connection.connected()
    assert ctx.connection.status == 1


class WithProps(sb.Sink):
    seen: ClassVar[list[tuple[Any, dict[str, str]]]] = []

    def collect_batch(self, ctx: sb.Context, items: list[Any], props: list[dict[str, str]]) -> None:
        WithProps.seen.extend(zip(items, props, strict=True))


class AsyncWithProps(sb.Sink):
    seen: ClassVar[list[tuple[Any, dict[str, str]]]] = []

    async def collect_batch(self, ctx: sb.Context, items: list[Any], props: list[dict[str, str]]) -> None:
        AsyncWithProps.seen.extend(zip(items, props, strict=True))


def test_collect_batch_with_a_props_parameter_receives_each_items_rendered_properties(engine: sb.Engine) -> None:
    WithProps.seen = []
    AsyncWithProps.seen = []
    engine.register_sink("props", WithProps)
    engine.register_sink("aprops", AsyncWithProps)
    engine.create_stream(STREAM)
    action = {"sendSingle": True, "topic": "alerts/{{ device }}", "fixed": "as is"}
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"props": action}, {"aprops": action}]})
    engine.publish("in", [{"device": "d1"}, {"device": "d2"}])
    assert engine.wait_idle()
    expected = [({"device": "d1"}, {"topic": "alerts/d1"}), ({"device": "d2"}, {"topic": "alerts/d2"})]
    assert WithProps.seen == expected
    wait_for(lambda: AsyncWithProps.seen == expected, what="the async sink's items")
