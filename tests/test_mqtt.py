"""The MQTT source and sink against real brokers, checked with independent clients (paho-mqtt
and mosquitto_pub): round trips, wildcards and topic lists, meta(), QoS levels, templated topics,
bad payloads, credentials, broker outages and restarts, shared subscriptions, shared streams,
TLS, and sources config files."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sinkbridge as sb

from .conftest import wait_for
from .mqtt_helpers import PUBLIC_PORT, Broker, SteadyPublisher, Subscriber, clients_connected, publish


class Keep(sb.Sink):
    """Keeps the rows it receives, in a list shared through the class."""

    rows: ClassVar[list[dict[str, Any]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def collect(self, ctx: sb.Context, data: Any) -> None:
        with Keep.lock:
            Keep.rows.extend(data if isinstance(data, list) else [data])

    @classmethod
    def take(cls) -> list[dict[str, Any]]:
        with cls.lock:
            return list(cls.rows)


@pytest.fixture
def prefix() -> str:
    """A topic prefix of the test's own on the shared broker."""
    return f"sbtest/{uuid.uuid4().hex[:10]}"


@pytest.fixture
def mqtt_engine(engine: sb.Engine) -> sb.Engine:
    Keep.rows = []
    engine.register_sink("keep", Keep)
    return engine


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


def status(engine: sb.Engine, rule_id: str = "r") -> dict[str, Any]:
    return engine.rule_status(rule_id)


# ----- round trips -----


def test_round_trip_with_wildcards_topic_lists_and_meta(mqtt_engine: sb.Engine, prefix: str) -> None:
    engine = mqtt_engine
    engine.create_stream(
        f'CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="{prefix}/in/+/temp, {prefix}/other/#", FORMAT="json")'
    )
    out = Subscriber(PUBLIC_PORT, f"{prefix}/out/#")
    engine.create_rule(
        {
            "id": "r",
            "sql": "SELECT temperature, meta(topic) AS topic, meta(qos) AS qos, meta(messageid) AS id "
            "FROM demo WHERE temperature > 20",
            "actions": [{"mqtt": {"topic": f"{prefix}/out/alerts", "sendSingle": True}}],
        }
    )
    wait_for(lambda: status(engine).get("source_demo_0_connection_status") == 1, what="the source to connect")
    publish(PUBLIC_PORT, f"{prefix}/in/a/temp", [json.dumps({"temperature": 25})])
    publish(PUBLIC_PORT, f"{prefix}/in/b/temp", [json.dumps({"temperature": 10})])
    publish(PUBLIC_PORT, f"{prefix}/in/b/humidity", [json.dumps({"temperature": 99})])  # not subscribed
    publish(PUBLIC_PORT, f"{prefix}/other/x/y", [json.dumps([{"temperature": 30}, {"temperature": 31}])], qos=0)
    got = sorted((json.loads(p) for p in [m.payload for m in out.wait_count(3)]), key=lambda r: r["temperature"])
    assert [(r["temperature"], r["topic"], r["qos"]) for r in got] == [
        (25, f"{prefix}/in/a/temp", 1),
        (30, f"{prefix}/other/x/y", 0),
        (31, f"{prefix}/other/x/y", 0),
    ]
    assert got[0]["id"] > 0  # QoS 1 messages carry their packet id
    assert got[1]["id"] == got[2]["id"]  # the rows of one message share its metadata
    assert all(m.topic == f"{prefix}/out/alerts" for m in out.received())
    s = wait_for(lambda: (st := status(engine))["sink_mqtt_0_0_records_out_total"] == 3 and st, what="metrics")
    assert s["source_demo_0_records_in_total"] == 3  # messages
    assert s["sink_mqtt_0_0_connection_status"] == 1
    out.close()


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_qos_levels_end_to_end(mqtt_engine: sb.Engine, prefix: str, qos: int) -> None:
    engine = mqtt_engine
    engine.set_source_conf("mqtt", "levels", {"qos": qos})
    engine.create_stream(f'CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="{prefix}/in", CONF_KEY="levels")')
    out = Subscriber(PUBLIC_PORT, f"{prefix}/out", qos=2)
    engine.create_rule(
        {
            "id": "r",
            "sql": "SELECT n, meta(qos) AS received_qos FROM demo",
            "actions": [{"mqtt": {"topic": f"{prefix}/out", "qos": qos, "sendSingle": True}}],
        }
    )
    wait_for(lambda: status(engine).get("source_demo_0_connection_status") == 1, what="the source to connect")
    publish(PUBLIC_PORT, f"{prefix}/in", [json.dumps({"n": i}) for i in range(20)], qos=2)
    messages = out.wait_count(20)
    assert sorted(json.loads(m.payload)["n"] for m in messages) == list(range(20))
    assert {json.loads(m.payload)["received_qos"] for m in messages} == {qos}
    assert {m.qos for m in messages} == {qos}
    out.close()


def test_protocol_version_5_and_send_meta_to_sink(mqtt_engine: sb.Engine, prefix: str) -> None:
    engine = mqtt_engine
    engine.set_source_conf("mqtt", "v5", {"protocolVersion": "5"})
    engine.create_stream(f'CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="{prefix}/in", CONF_KEY="v5")')
    engine.create_rule(
        {
            "id": "r",
            "sql": "SELECT n FROM demo",
            "actions": [{"keep": {"sendSingle": True}}],
            "options": {"sendMetaToSink": True},
        }
    )
    wait_for(lambda: status(engine).get("source_demo_0_connection_status") == 1, what="the source to connect")
    publish(PUBLIC_PORT, f"{prefix}/in", [json.dumps({"n": 1})])
    (row,) = wait_for(Keep.take, what="a row")
    assert row["n"] == 1
    assert row["__meta"]["topic"] == f"{prefix}/in"
    assert row["__meta"]["qos"] == 1


def test_templated_topic_is_rendered_per_row_and_bad_renders_are_counted(mqtt_engine: sb.Engine, prefix: str) -> None:
    engine = mqtt_engine
    engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")')
    out = Subscriber(PUBLIC_PORT, f"{prefix}/devices/#")
    engine.create_rule(
        {
            "id": "r",
            "sql": "SELECT * FROM s",
            "actions": [{"mqtt": {"topic": prefix + "/devices/{{device}}/alerts", "sendSingle": True, "qos": 0}}],
        }
    )
    wait_for(lambda: status(engine).get("sink_mqtt_0_0_connection_status") == 1, what="the sink to connect")
    engine.publish("in", [{"device": "d1", "t": 1}, {"device": "bad/+", "t": 2}, {"device": "d2", "t": 3}])
    messages = out.wait_count(2)
    assert sorted(m.topic for m in messages) == [f"{prefix}/devices/d1/alerts", f"{prefix}/devices/d2/alerts"]
    s = wait_for(lambda: (st := status(engine))["sink_mqtt_0_0_exceptions_total"] == 1 and st, what="the failure")
    assert "a topic to publish to has no wildcards" in s["sink_mqtt_0_0_last_exception"]
    out.close()


# ----- bad input -----


def test_malformed_and_oversized_payloads_are_counted_and_skipped(mqtt_engine: sb.Engine, prefix: str) -> None:
    engine = mqtt_engine
    engine.set_source_conf("mqtt", "small", {"maxPayloadSize": 64})
    engine.create_stream(f'CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="{prefix}/in", CONF_KEY="small")')
    engine.create_rule({"id": "r", "sql": "SELECT * FROM demo", "actions": [{"keep": {"sendSingle": True}}]})
    wait_for(lambda: status(engine).get("source_demo_0_connection_status") == 1, what="the source to connect")
    topic = f"{prefix}/in"
    publish(PUBLIC_PORT, topic, ["not json"])
    wait_for(lambda: status(engine)["source_demo_0_exceptions_total"] == 1, what="the first exception")
    assert "invalid JSON" in status(engine)["source_demo_0_last_exception"]
    publish(PUBLIC_PORT, topic, ["42"])
    wait_for(lambda: status(engine)["source_demo_0_exceptions_total"] == 2, what="the second exception")
    assert "expected a JSON object, found" in status(engine)["source_demo_0_last_exception"]
    publish(PUBLIC_PORT, topic, [json.dumps({"big": "x" * 100})])
    wait_for(lambda: status(engine)["source_demo_0_exceptions_total"] == 3, what="the third exception")
    assert "over maxPayloadSize (64 bytes)" in status(engine)["source_demo_0_last_exception"]
    publish(PUBLIC_PORT, topic, [json.dumps({"ok": True})])
    assert wait_for(Keep.take, what="the good row") == [{"ok": True}]
    assert status(engine)["status"] == "running"


def test_bad_properties_are_refused_by_name(mqtt_engine: sb.Engine) -> None:
    engine = mqtt_engine
    engine.set_source_conf("mqtt", "typo", {"sever": "tcp://x:1"})
    with pytest.raises(sb.StreamError, match='the mqtt source has no property "sever"'):
        engine.create_stream('CREATE STREAM a () WITH (TYPE="mqtt", DATASOURCE="t", CONF_KEY="typo")')
    with pytest.raises(sb.StreamError, match='CONF_KEY "nope" is not defined for the mqtt source'):
        engine.create_stream('CREATE STREAM a () WITH (TYPE="mqtt", DATASOURCE="t", CONF_KEY="nope")')
    with pytest.raises(sb.StreamError, match="# must be the whole last level"):
        engine.create_stream('CREATE STREAM a () WITH (TYPE="mqtt", DATASOURCE="a/#/b")')
    engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")')
    for props, message in [
        ({}, "the mqtt sink needs a topic property"),
        ({"topic": "a/#"}, "no wildcards"),
        ({"topic": "a", "qos": 3}, "qos: expected 0, 1 or 2"),
        ({"topic": "a", "server": "localhost:1883"}, "expected an address such as tcp://"),
        ({"topic": "a", "protocolVersion": "6"}, "protocolVersion"),
        ({"topic": "a", "retain": True}, "retain"),
    ]:
        with pytest.raises(sb.RuleError, match=message):
            engine.validate_rule({"id": "x", "sql": "SELECT * FROM s", "actions": [{"mqtt": props}]})


def test_bad_credentials_and_unreachable_servers_show_in_status(mqtt_engine: sb.Engine, tmp_path: Path) -> None:
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "alice", "secret"], check=True)
    broker = Broker(tmp_path / "broker", ["allow_anonymous false", f"password_file {passwords}"])
    broker.start()
    try:
        engine = mqtt_engine
        engine.set_source_conf("mqtt", "wrong", {"server": broker.server, "username": "alice", "password": "nope"})
        engine.set_source_conf("mqtt", "right", {"server": broker.server, "username": "alice", "password": "secret"})
        engine.create_stream('CREATE STREAM bad () WITH (TYPE="mqtt", DATASOURCE="t", CONF_KEY="wrong")')
        engine.create_stream('CREATE STREAM good () WITH (TYPE="mqtt", DATASOURCE="t", CONF_KEY="right")')
        engine.create_rule({"id": "bad", "sql": "SELECT * FROM bad", "actions": [{"nop": {}}]})
        engine.create_rule({"id": "good", "sql": "SELECT * FROM good", "actions": [{"keep": {}}]})
        s = wait_for(
            lambda: (st := status(engine, "bad"))["source_bad_0_connection_status"] == -1 and st,
            what="the refused connection",
        )
        # Mosquitto answers a wrong password with "not authorized".
        assert (
            "the broker refused the connection: not authorized"
            in s["source_bad_0_connection_last_disconnected_message"]
        )
        assert s["status"] == "running"  # it keeps trying
        wait_for(lambda: status(engine, "good")["source_good_0_connection_status"] == 1, what="the good login")

        engine.create_rule(
            {
                "id": "nowhere",
                "sql": "SELECT * FROM good",
                "actions": [{"mqtt": {"server": "tcp://127.0.0.1:1", "topic": "t"}}],
            }
        )
        s = wait_for(
            lambda: (st := status(engine, "nowhere"))["sink_mqtt_0_0_connection_status"] == -1 and st,
            what="the unreachable server",
        )
        assert "refused" in s["sink_mqtt_0_0_connection_last_disconnected_message"].lower()
    finally:
        broker.stop()


# ----- outages -----


def test_a_rule_whose_broker_is_down_keeps_trying_and_connects_when_it_comes(
    mqtt_engine: sb.Engine, tmp_path: Path
) -> None:
    broker = Broker(tmp_path / "broker")
    engine = mqtt_engine
    engine.set_source_conf("mqtt", "default", {"server": broker.server})
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="in")')
    engine.create_rule({"id": "r", "sql": "SELECT * FROM demo", "actions": [{"keep": {}}]})
    s = wait_for(lambda: (st := status(engine))["source_demo_0_connection_status"] == -1 and st, what="the failure")
    assert s["status"] == "running"
    assert "refused" in s["source_demo_0_connection_last_disconnected_message"].lower()
    broker.start()
    try:
        wait_for(lambda: status(engine)["source_demo_0_connection_status"] == 1, timeout=20, what="the reconnect")
        publish(broker.port, "in", [json.dumps({"n": 1})])
        assert wait_for(Keep.take, what="the row") == [{"n": 1}]
    finally:
        broker.stop()


def test_a_broker_restart_in_a_qos1_stream_loses_nothing(mqtt_engine: sb.Engine, broker: Broker) -> None:
    """10,000 numbered QoS 1 messages from a device publishing steadily, with the broker
    restarted in the middle: what was queued for the engine survives in its persistent session
    (a fixed client id), and every number arrives. Duplicates, which QoS 1 allows, are counted
    and reported."""
    engine = mqtt_engine
    engine.set_source_conf("mqtt", "default", {"server": broker.server, "clientid": "restart-test", "qos": 1})
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="numbers")')
    engine.create_rule({"id": "r", "sql": "SELECT n FROM demo", "actions": [{"keep": {"sendSingle": True}}]})
    wait_for(lambda: status(engine)["source_demo_0_connection_status"] == 1, what="the source to connect")
    total = 10_000
    publisher = SteadyPublisher(broker.port, "numbers", total)
    wait_for(lambda: len(Keep.take()) >= total // 3, timeout=30, what="a third of the stream")
    broker.stop()
    wait_for(lambda: status(engine)["source_demo_0_connection_status"] == -1, what="the engine to notice")
    assert publisher.sent < total, "the outage must come in the middle of the stream"
    broker.start()
    publisher.join()
    wait_for(lambda: len({r["n"] for r in Keep.take()}) == total, timeout=60, what="every number")
    numbers = [r["n"] for r in Keep.take()]
    assert set(numbers) == set(range(total))
    print(f"broker restart: {total} numbers delivered, {len(numbers) - total} duplicate(s)")
    assert status(engine)["source_demo_0_connection_status"] == 1


def test_a_persistent_session_keeps_what_is_published_while_the_rule_is_away(
    mqtt_engine: sb.Engine, broker: Broker
) -> None:
    engine = mqtt_engine
    engine.set_source_conf("mqtt", "default", {"server": broker.server, "clientid": "away-test", "qos": 1})
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="numbers")')
    engine.create_rule({"id": "r", "sql": "SELECT n FROM demo", "actions": [{"keep": {"sendSingle": True}}]})
    wait_for(lambda: status(engine)["source_demo_0_connection_status"] == 1, what="the source to connect")
    engine.stop_rule("r")
    publish(broker.port, "numbers", [json.dumps({"n": i}) for i in range(1000)])
    engine.start_rule("r")
    wait_for(lambda: len(Keep.take()) >= 1000, what="what was published while away")
    assert sorted(r["n"] for r in Keep.take()) == list(range(1000))


def test_publishing_while_the_broker_is_down_is_retried(mqtt_engine: sb.Engine, broker: Broker) -> None:
    engine = mqtt_engine
    engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")')
    # A persistent subscriber session keeps what is published while it reconnects.
    out = Subscriber(broker.port, "out", qos=1, client_id="retry-watcher", clean=False)
    engine.create_rule(
        {
            "id": "r",
            "sql": "SELECT n FROM s",
            "actions": [
                {"mqtt": {"server": broker.server, "topic": "out", "sendSingle": True, "resendInterval": "100ms"}}
            ],
        }
    )
    wait_for(lambda: status(engine)["sink_mqtt_0_0_connection_status"] == 1, what="the sink to connect")
    engine.publish("in", [{"n": 1}])
    out.wait_count(1)
    broker.stop()
    wait_for(lambda: status(engine)["sink_mqtt_0_0_connection_status"] == -1, what="the sink to notice")
    engine.publish("in", [{"n": 2}, {"n": 3}])
    s = wait_for(lambda: (st := status(engine))["sink_mqtt_0_0_retries_total"] > 0 and st, what="retries")
    assert "not connected to the MQTT broker" in s["sink_mqtt_0_0_last_exception"]
    broker.start()
    messages = out.wait_count(3, timeout=30)
    assert sorted(json.loads(m.payload)["n"] for m in messages) == [1, 2, 3]
    s = wait_for(lambda: (st := status(engine))["sink_mqtt_0_0_records_out_total"] == 3 and st, what="metrics")
    assert s["sink_mqtt_0_0_connection_status"] == 1
    out.close()


def test_a_publish_the_broker_does_not_acknowledge_in_time_is_retried(mqtt_engine: sb.Engine, broker: Broker) -> None:
    """A broker that hangs (stopped with SIGSTOP: the connection stays open, nothing answers)
    leaves QoS 1 publishes unacknowledged: after ackTimeout they are retried, and they arrive
    once it resumes."""
    engine = mqtt_engine
    engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")')
    out = Subscriber(broker.port, "out", qos=1)
    action = {"server": broker.server, "topic": "out", "sendSingle": True, "ackTimeout": "300ms"}
    engine.create_rule({"id": "r", "sql": "SELECT n FROM s", "actions": [{"mqtt": {**action, "resendInterval": 100}}]})
    wait_for(lambda: status(engine)["sink_mqtt_0_0_connection_status"] == 1, what="the sink to connect")
    assert broker.process is not None
    broker.process.send_signal(signal.SIGSTOP)
    try:
        engine.publish("in", [{"n": 1}])
        s = wait_for(lambda: (st := status(engine))["sink_mqtt_0_0_retries_total"] > 0 and st, what="a retry")
        assert "did not acknowledge within ackTimeout" in s["sink_mqtt_0_0_last_exception"]
    finally:
        broker.process.send_signal(signal.SIGCONT)
    wait_for(lambda: status(engine)["sink_mqtt_0_0_records_out_total"] == 1, what="the delivery")
    assert {json.loads(m.payload)["n"] for m in out.wait_count(1)} == {1}  # at least once
    out.close()


# ----- scale-out and sharing -----


def test_two_engines_split_a_shared_subscription(plugins_dir: Path, broker: Broker) -> None:
    """Two engine instances on `$share/group/topic` receive disjoint parts of the messages, whose
    union is complete: the broker spreads the load."""
    kept: list[list[int]] = [[], []]
    engines = []
    for i in range(2):

        class Part(sb.Sink):
            index = i

            def collect(self, ctx: sb.Context, data: Any) -> None:
                kept[self.index].append(data["n"])

        e = sb.Engine(plugins_dir=plugins_dir)
        e.register_sink("part", Part)
        e.set_source_conf("mqtt", "default", {"server": broker.server, "qos": 1})
        e.create_stream('CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="$share/workers/jobs")')
        e.create_rule({"id": "r", "sql": "SELECT n FROM demo", "actions": [{"part": {"sendSingle": True}}]})
        e.start()
        engines.append(e)
    try:
        for e in engines:
            wait_for(lambda e=e: status(e)["source_demo_0_connection_status"] == 1, what="both engines to connect")
        total = 10_000
        publish(broker.port, "jobs", [json.dumps({"n": i}) for i in range(total)])
        wait_for(lambda: len(kept[0]) + len(kept[1]) >= total, timeout=60, what="every message")
        first, second = set(kept[0]), set(kept[1])
        assert first, "both engines take a share"
        assert second, "both engines take a share"
        assert not first & second, "no message goes to both"
        assert first | second == set(range(total))
    finally:
        for e in engines:
            e.stop()


def test_a_shared_stream_feeds_every_rule_from_one_connection(mqtt_engine: sb.Engine, broker: Broker) -> None:
    engine = mqtt_engine
    engine.set_source_conf("mqtt", "default", {"server": broker.server})
    engine.create_stream('CREATE STREAM shared () WITH (TYPE="mqtt", DATASOURCE="in", SHARED="true")')
    engine.create_stream('CREATE STREAM own () WITH (TYPE="mqtt", DATASOURCE="in")')
    for rule_id in ["a", "b", "c"]:
        engine.create_rule(
            {"id": rule_id, "sql": f"SELECT n, '{rule_id}' AS rule FROM shared", "actions": [{"keep": {}}]}
        )
    for rule_id in ["a", "b", "c"]:
        wait_for(lambda r=rule_id: status(engine, r)["source_shared_0_connection_status"] == 1, what="connections")
    assert wait_for(lambda: clients_connected(broker.port) == 1 or None, what="one client for three rules")
    publish(broker.port, "in", [json.dumps({"n": 1})])
    rows = wait_for(lambda: len(Keep.take()) == 3 and Keep.take(), what="a row in each rule")
    assert sorted(r["rule"] for r in rows) == ["a", "b", "c"]

    # Without SHARED, each rule subscribes on its own.
    engine.create_rule({"id": "d", "sql": "SELECT n FROM own", "actions": [{"nop": {}}]})
    engine.create_rule({"id": "e", "sql": "SELECT n FROM own", "actions": [{"nop": {}}]})
    assert wait_for(lambda: clients_connected(broker.port) == 3 or None, what="a client per unshared rule")

    # The shared source stops with the last rule that reads it.
    for rule_id in ["a", "b", "c"]:
        engine.stop_rule(rule_id)
    assert wait_for(lambda: clients_connected(broker.port) == 2 or None, what="the shared client to leave")


# ----- TLS -----


def make_certificates(folder: Path) -> dict[str, Path]:
    """A test CA and a server certificate for 127.0.0.1 signed by it, made with openssl."""
    folder.mkdir()
    paths = {name: folder / f"{name}.pem" for name in ["ca", "ca_key", "server", "server_key"]}
    csr, ext = folder / "server.csr", folder / "ext.cnf"
    ext.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=sinkbridge test CA", "-keyout", str(paths["ca_key"]), "-out", str(paths["ca"]),
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(paths["server_key"]), "-out", str(csr),
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(paths["ca"]), "-CAkey", str(paths["ca_key"]),
        "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(paths["server"]),
    )  # fmt: skip
    return paths


def test_tls_with_a_test_certificate(mqtt_engine: sb.Engine, tmp_path: Path) -> None:
    certs = make_certificates(tmp_path / "certs")
    broker = Broker(
        tmp_path / "broker",
        [f"certfile {certs['server']}", f"keyfile {certs['server_key']}", f"cafile {certs['ca']}"],
    )
    broker.start()
    try:
        engine = mqtt_engine
        tls = f"ssl://127.0.0.1:{broker.port}"
        engine.set_source_conf("mqtt", "verified", {"server": tls, "rootCaPath": str(certs["ca"])})
        engine.set_source_conf("mqtt", "insecure", {"server": tls, "insecureSkipVerify": True})
        engine.set_source_conf("mqtt", "untrusted", {"server": tls})
        for key in ["verified", "insecure", "untrusted"]:
            engine.create_stream(f'CREATE STREAM {key} () WITH (TYPE="mqtt", DATASOURCE="in", CONF_KEY="{key}")')
            engine.create_rule(
                {"id": key, "sql": f"SELECT n, '{key}' AS via FROM {key}", "actions": [{"keep": {"sendSingle": True}}]}
            )
        for key in ["verified", "insecure"]:
            wait_for(lambda k=key: status(engine, k)[f"source_{k}_0_connection_status"] == 1, what=f"{key} over TLS")
        s = wait_for(
            lambda: (st := status(engine, "untrusted"))["source_untrusted_0_connection_status"] == -1 and st,
            what="the untrusted certificate",
        )
        assert "certificate" in s["source_untrusted_0_connection_last_disconnected_message"].lower()
        out = Subscriber(broker.port, "in", tls={"ca_certs": str(certs["ca"])})
        out.close()
        subprocess.run(
            ["mosquitto_pub", "-p", str(broker.port), "--cafile", str(certs["ca"]), "-t", "in", "-q", "1",
             "-m", json.dumps({"n": 7})],
            check=True, timeout=30,
        )  # fmt: skip
        rows = wait_for(lambda: len(Keep.take()) == 2 and Keep.take(), what="a row over each TLS connection")
        assert sorted(r["via"] for r in rows) == ["insecure", "verified"]
    finally:
        broker.stop()


# ----- configuration -----


def test_sources_config_file_in_ekuipers_layout(mqtt_engine: sb.Engine, broker: Broker, tmp_path: Path) -> None:
    conf = tmp_path / "mqtt.yaml"
    conf.write_text(
        f"""
default:
  qos: 1
  server: "tcp://127.0.0.1:1"
local:
  server: "{broker.server}"
"""
    )
    engine = mqtt_engine
    assert engine.load_source_conf_file(conf) == ("mqtt", ["default", "local"])
    engine.create_stream('CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="in", CONF_KEY="local")')
    engine.create_rule({"id": "r", "sql": "SELECT n, meta(qos) AS q FROM demo", "actions": [{"keep": {}}]})
    wait_for(lambda: status(engine)["source_demo_0_connection_status"] == 1, what="the named server")
    publish(broker.port, "in", [json.dumps({"n": 1})], qos=2)
    assert wait_for(Keep.take, what="the row") == [{"n": 1, "q": 1}]  # qos from the default set

    bad = tmp_path / "mqtt_source.yaml"
    bad.write_text("default: [1, 2]\n")
    with pytest.raises(sb.StreamError, match="default: expected a mapping of properties"):
        engine.load_source_conf_file(bad)
    bad.write_text("default: {qos: 1\n")
    with pytest.raises(sb.StreamError, match=r"mqtt_source\.yaml"):
        engine.load_source_conf_file(bad)
