"""The sink runtime: the common sink properties on Python sinks and on Rust sinks, batching,
concurrency, buffer-full policies, retries and dead letters."""

from __future__ import annotations

import builtins
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sinkbridge as sb

from .conftest import wait_for

STREAM = 'CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")'


class Keep(sb.Sink):
    """Keeps what it receives, per instance, in a list shared through the class."""

    received: ClassVar[list[Any]] = []
    configured: ClassVar[list[dict[str, Any]]] = []

    def configure(self, props: dict[str, Any]) -> None:
        Keep.configured.append(props)

    def collect(self, ctx: sb.Context, data: Any) -> None:
        Keep.received.append(data)


class KeepBatches(sb.Sink):
    batches: ClassVar[list[list[Any]]] = []

    def collect_batch(self, ctx: sb.Context, items: list[Any]) -> None:
        KeepBatches.batches.append(items)


@pytest.fixture
def engine_s(engine: sb.Engine) -> sb.Engine:
    Keep.received = []
    Keep.configured = []
    KeepBatches.batches = []
    engine.register_sink("keep", Keep)
    engine.register_sink("batches", KeepBatches)
    engine.create_stream(STREAM)
    return engine


def rule(engine: sb.Engine, action: dict[str, Any], sql: str = "SELECT * FROM s", rule_id: str = "r") -> None:
    engine.create_rule({"id": rule_id, "sql": sql, "actions": [action]})


ROWS = [{"device": "a", "t": 1, "h": 10}, {"device": "b", "t": 2, "h": 20}]


# ----- shaping -----


def test_send_single_fields_exclude_fields_and_data_field(engine_s: sb.Engine) -> None:
    rule(engine_s, {"keep": {"sendSingle": True, "fields": ["device", "x"]}}, rule_id="a")
    rule(engine_s, {"keep": {"excludeFields": ["h"]}}, rule_id="b")
    rule(engine_s, {"keep": {"dataField": "device"}}, rule_id="c")
    engine_s.publish("in", ROWS)
    wait_for(lambda: len(Keep.received) == 6, what="every item")
    received = Keep.received
    assert {"device": "a", "x": None} in received
    assert {"device": "b", "x": None} in received
    assert [{"device": "a", "t": 1}] in received
    assert "a" in received
    assert "b" in received


def test_a_data_template_renders_text_per_row_or_per_result(engine_s: sb.Engine) -> None:
    rule(engine_s, {"keep": {"sendSingle": True, "dataTemplate": "{{device}} is at {{t}}"}}, rule_id="single")
    rule(engine_s, {"keep": {"dataTemplate": "{{ data | length }} row(s): {{ data[0].device }}"}}, rule_id="list")
    rule(
        engine_s,
        {"keep": {"dataTemplate": '{"id": "{{data[0].device}}", "v": {{data[0].t}}}', "fields": ["v"]}},
        rule_id="json",
    )
    engine_s.publish("in", ROWS[0])
    wait_for(lambda: len(Keep.received) == 3, what="three items")
    assert sorted(map(str, Keep.received)) == sorted(["a is at 1", "1 row(s): a", "{'v': 1}"])


def test_omit_if_empty_skips_empty_rows(engine_s: sb.Engine) -> None:
    rule(engine_s, {"keep": {"sendSingle": True, "omitIfEmpty": True}}, sql="SELECT missing FROM s", rule_id="omit")
    rule(engine_s, {"keep": {"sendSingle": True}}, sql="SELECT missing FROM s", rule_id="keep")
    engine_s.publish("in", ROWS)
    wait_for(lambda: engine_s.rule_status("omit")["sink_keep_0_0_records_in_total"] == 2, what="both results")
    wait_for(lambda: len(Keep.received) == 2, what="the kept empty rows")
    assert Keep.received == [{}, {}]
    assert engine_s.rule_status("omit")["sink_keep_0_0_records_out_total"] == 0


def test_a_template_that_fails_for_a_row_counts_it_and_sends_it_to_the_dead_letter_topic(engine_s: sb.Engine) -> None:
    engine_s.create_stream('CREATE STREAM dead () WITH (TYPE="memory", DATASOURCE="dead")')
    rule(engine_s, {"keep": {}}, sql="SELECT * FROM dead", rule_id="dead-letters")
    rule(
        engine_s,
        {"keep": {"sendSingle": True, "dataTemplate": "{{ zone }}", "deadLetter": "dead"}},
        rule_id="zones",
    )
    engine_s.publish("in", [{"zone": "north"}, {"other": 1}, {"zone": "south"}])
    wait_for(lambda: len(Keep.received) == 3, what="two rendered rows and one dead letter")
    dead = [r for r in Keep.received if isinstance(r, list)]
    assert sorted(r for r in Keep.received if isinstance(r, str)) == ["north", "south"]
    assert len(dead) == 1
    (letter,) = dead[0]
    assert letter["rule"] == "zones"
    assert letter["sink"] == "keep_0"
    assert letter["error"].startswith("dataTemplate failed to render: undefined value")
    status = engine_s.rule_status("zones")
    assert status["sink_keep_0_0_exceptions_total"] == 1
    assert status["sink_keep_0_0_dead_letter_total"] == 1


# ----- batching and concurrency -----


def test_batch_size_hands_collect_batch_full_batches(engine_s: sb.Engine) -> None:
    rule(engine_s, {"batches": {"batchSize": 4, "lingerInterval": "10s"}})
    engine_s.publish("in", [{"i": i} for i in range(8)])
    wait_for(lambda: sum(len(b) for b in KeepBatches.batches) == 8, what="eight items")
    assert KeepBatches.batches == [[[{"i": i}] for i in range(k, k + 4)] for k in (0, 4)]


def test_linger_interval_closes_a_batch_that_is_not_full(engine_s: sb.Engine) -> None:
    rule(engine_s, {"batches": {"batchSize": 100, "lingerInterval": "200ms"}})
    engine_s.publish("in", [{"i": 1}, {"i": 2}])
    wait_for(lambda: KeepBatches.batches, what="the lingering batch")
    assert KeepBatches.batches == [[[{"i": 1}], [{"i": 2}]]]


def test_batch_size_without_collect_batch_calls_collect_per_item(engine_s: sb.Engine) -> None:
    rule(engine_s, {"keep": {"batchSize": 3, "lingerInterval": 100}})
    engine_s.publish("in", [{"i": i} for i in range(5)])
    wait_for(lambda: len(Keep.received) == 5, what="five items")
    assert Keep.received == [[{"i": i}] for i in range(5)]


def test_concurrency_runs_several_instances(engine_s: sb.Engine) -> None:
    rule(engine_s, {"keep": {"concurrency": 3, "tag": "x"}})
    assert len(Keep.configured) == 3
    assert Keep.configured[0] == {"concurrency": 3, "tag": "x"}, "configure gets every property"
    engine_s.publish("in", [{"i": i} for i in range(30)])
    wait_for(lambda: len(Keep.received) == 30, what="thirty items")
    assert sorted(r[0]["i"] for r in Keep.received) == list(range(30))
    status = engine_s.rule_status("r")
    assert sum(status[f"sink_keep_0_{n}_records_out_total"] for n in range(3)) == 30


# ----- buffers -----


def test_a_full_buffer_drops_only_when_asked_and_counts_it(engine_s: sb.Engine) -> None:
    release = threading.Event()
    seen: list[int] = []

    class Gate(sb.Sink):
        def collect(self, ctx: sb.Context, data: Any) -> None:
            release.wait(10)
            seen.append(data[0]["i"])

    engine_s.register_sink("gate", Gate)
    rule(engine_s, {"gate": {"bufferLength": 5, "bufferFullPolicy": "dropNewest"}})
    for i in range(50):
        engine_s.publish("in", {"i": i})
    wait_for(lambda: engine_s.rule_status("r")["sink_gate_0_0_buffer_dropped_total"] > 0, what="drops")
    release.set()
    status = wait_for(
        lambda: (
            (s := engine_s.rule_status("r"))["sink_gate_0_0_records_out_total"]
            + s["sink_gate_0_0_buffer_dropped_total"]
            == 50
            and s
        ),
        what="every row delivered or dropped",
    )
    assert status["sink_gate_0_0_buffer_dropped_total"] == 50 - len(seen)
    assert seen == sorted(seen), "what was kept kept its order"
    assert seen[0] == 0


# ----- failures -----


class Flaky(sb.Sink):
    """Raises RetryableError for its first `fail` calls, then records what it gets."""

    calls = 0
    received: ClassVar[list[Any]] = []

    def configure(self, props: dict[str, Any]) -> None:
        self.fail = props["fail"]

    def collect(self, ctx: sb.Context, data: Any) -> None:
        Flaky.calls += 1
        if Flaky.calls <= self.fail:
            raise sb.RetryableError(f"target down (call {Flaky.calls})")
        Flaky.received.append(data[0]["i"])


@pytest.fixture
def flaky(engine_s: sb.Engine) -> sb.Engine:
    Flaky.calls = 0
    Flaky.received = []
    engine_s.register_sink("flaky", Flaky)
    return engine_s


def test_transient_failures_are_retried_in_order_and_delivered_once(flaky: sb.Engine) -> None:
    rule(flaky, {"flaky": {"fail": 4, "resendInterval": 10}})
    flaky.publish("in", [{"i": i} for i in range(10)])
    wait_for(lambda: len(Flaky.received) == 10, what="every row")
    assert Flaky.received == list(range(10))
    status = flaky.rule_status("r")
    assert status["sink_flaky_0_0_retries_total"] == 4
    assert status["sink_flaky_0_0_exceptions_total"] == 4
    assert status["sink_flaky_0_0_records_out_total"] == 10
    assert status["sink_flaky_0_0_last_exception"].startswith("RetryableError: target down (call 4)")


@pytest.mark.parametrize("error", ["OSError", "TimeoutError", "ConnectionResetError"])
def test_os_and_timeout_errors_are_transient_too(engine_s: sb.Engine, error: str) -> None:
    received: list[Any] = []

    class Once(sb.Sink):
        failed = False

        def collect(self, ctx: sb.Context, data: Any) -> None:
            if not Once.failed:
                Once.failed = True
                raise getattr(builtins, error)("blip")
            received.append(data)

    engine_s.register_sink("once", Once)
    rule(engine_s, {"once": {"resendInterval": 10}})
    engine_s.publish("in", {"i": 1})
    wait_for(lambda: received == [[{"i": 1}]], what="the retried row")


def test_a_retry_count_gives_up_to_the_dead_letter_topic(flaky: sb.Engine) -> None:
    flaky.create_stream('CREATE STREAM dead () WITH (TYPE="memory", DATASOURCE="dead")')
    rule(flaky, {"keep": {}}, sql="SELECT * FROM dead", rule_id="dead-letters")
    rule(flaky, {"flaky": {"fail": 100, "resendInterval": 10, "retryCount": 2, "deadLetter": "dead"}})
    flaky.publish("in", {"i": 7})
    wait_for(lambda: Keep.received, what="the dead letter")
    (letter,) = Keep.received[0]
    assert letter["data"] == [{"i": 7}]
    assert letter["error"].startswith("gave up after 2 retries: RetryableError: target down (call 3)")
    assert flaky.rule_status("r")["sink_flaky_0_0_dead_letter_total"] == 1


def test_other_errors_are_not_retried(engine_s: sb.Engine) -> None:
    calls: list[Any] = []

    class Picky(sb.Sink):
        def collect(self, ctx: sb.Context, data: Any) -> None:
            calls.append(data)
            if data[0]["i"] == 1:
                raise ValueError("bad row")

    engine_s.register_sink("picky", Picky)
    rule(engine_s, {"picky": {"resendInterval": 10}})
    engine_s.publish("in", [{"i": 0}, {"i": 1}, {"i": 2}])
    wait_for(lambda: len(calls) == 3, what="three calls")
    status = engine_s.rule_status("r")
    assert status["sink_picky_0_0_retries_total"] == 0
    assert status["sink_picky_0_0_records_out_total"] == 2
    assert status["sink_picky_0_0_dead_letter_total"] == 1


def test_a_stop_gives_up_retrying_after_the_stop_timeout(plugins_dir: Path) -> None:
    with sb.Engine(plugins_dir=plugins_dir, stop_timeout=0.3) as engine:
        Flaky.calls = 0
        Flaky.received = []
        engine.register_sink("flaky", Flaky)
        engine.create_stream(STREAM)
        rule(engine, {"flaky": {"fail": 10_000, "resendInterval": 20}})
        engine.publish("in", {"i": 1})
        wait_for(lambda: Flaky.calls >= 2, what="retries")
        engine.stop_rule("r")
        status = engine.rule_status("r")
        assert status["status"] == "stopped"
        assert status["sink_flaky_0_0_dead_letter_total"] == 1
        assert "the rule stopped while retrying" in status["sink_flaky_0_0_last_exception"]


# ----- properties -----


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"log": {"colour": "red"}}, 'actions[0] (log): unknown property "colour": it has no properties of its own'),
        ({"memory": {"topic": "t", "qos": 1}}, 'unknown property "qos": its own properties are topic'),
        ({"keep": {"batchsize": 10}}, 'unknown property "batchsize": did you mean batchSize?'),
        ({"keep": {"fields": ["a"], "excludeFields": ["b"]}}, "fields and excludeFields cannot both be set"),
        ({"keep": {"dataTemplate": "{{ oops"}}, "dataTemplate: syntax error"),
        ({"keep": {"bufferFullPolicy": "dropAll"}}, "bufferFullPolicy: expected block, dropOldest or dropNewest"),
        ({"keep": {"resendAlterQueue": True}}, "resendAlterQueue: a separate resend queue is not supported"),
    ],
)
def test_bad_sink_properties_are_refused_at_rule_creation(
    engine_s: sb.Engine, action: dict[str, Any], message: str
) -> None:
    with pytest.raises(sb.RuleError) as caught:
        rule(engine_s, action)
    assert message in str(caught.value)


def test_legacy_properties_work_with_a_warning(engine_s: sb.Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="sinkbridge")
    rule(engine_s, {"keep": {"retryInterval": 50, "cacheLength": 10}})
    wait_for(
        lambda: any("retryInterval is deprecated: use resendInterval" in r.getMessage() for r in caplog.records),
        what="the deprecation warning",
    )


# ----- Rust sinks -----


def test_the_log_sink_shapes_and_encodes(engine_s: sb.Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="sinkbridge.sink.log")
    rule(
        engine_s,
        {"log": {"format": "delimited", "delimiter": ";", "hasHeader": True, "fields": ["t", "device"]}},
        rule_id="csv",
    )
    rule(engine_s, {"log": {"sendSingle": True, "dataTemplate": "{{device}}={{h}}"}}, rule_id="text")
    engine_s.publish("in", ROWS)
    expected = {
        "sink result for rule csv: t;device\n1;a",
        "sink result for rule csv: t;device\n2;b",
        "sink result for rule text: a=10",
        "sink result for rule text: b=20",
    }
    wait_for(lambda: expected <= {r.getMessage() for r in caplog.records}, what="the log lines")


def test_the_memory_sink_renders_its_topic_per_row(engine_s: sb.Engine) -> None:
    engine_s.create_stream('CREATE STREAM alerts () WITH (TYPE="memory", DATASOURCE="alerts/+")')
    rule(engine_s, {"keep": {}}, sql="SELECT * FROM alerts", rule_id="read")
    rule(engine_s, {"memory": {"topic": "alerts/{{device}}", "sendSingle": True, "fields": ["t"]}}, rule_id="write")
    engine_s.publish("in", ROWS)
    wait_for(lambda: len(Keep.received) == 2, what="two chained rows")
    assert sorted(r[0]["t"] for r in Keep.received) == [1, 2]
