"""The `redis` sink against a real Redis (127.0.0.1:6379, and a private redis-server that a test
stops and starts), read back with redis-py."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sinkbridge as sb

from .conftest import wait_for
from .sink_services import STREAM, PrivateRedis, require_service, sink_status, unique

HOSTILE = '\'); DROP TABLE x; --\n"quoted" \\ \u00e9\u4e2d'


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    require_service(6379, "Redis")
    c = redis.Redis(host="127.0.0.1", port=6379, decode_responses=True)
    yield c
    c.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    """A key prefix of the test's own; its keys are deleted after."""
    p = unique("sbtest")
    yield p
    keys = list(client.scan_iter(f"{p}*"))
    if keys:
        client.delete(*keys)


def run_rule(engine: sb.Engine, action: dict[str, Any], sql: str = "SELECT * FROM s") -> None:
    engine.create_stream(STREAM)
    engine.create_rule({"id": "r", "sql": sql, "actions": [{"redis": {"addr": "127.0.0.1:6379", **action}}]})


def test_rows_land_as_json_under_the_key_field(engine: sb.Engine, client: redis.Redis, prefix: str) -> None:
    run_rule(engine, {"field": "id", "sendSingle": True})
    rows = [{"id": f"{prefix}:{i}", "n": i, "t": i + 0.5, "ok": i % 2 == 0, "tags": ["a", i]} for i in range(50)]
    rows.append({"id": f"{prefix}:hostile", "n": -1, "t": 0.0, "ok": False, "tags": [HOSTILE]})
    engine.publish("in", rows)
    assert engine.wait_idle()
    for row in rows:
        assert json.loads(client.get(row["id"]) or "null") == row
    assert sink_status(engine, "redis_0", "connection_status") == 1
    assert sink_status(engine, "redis_0", "exceptions_total") == 0


def test_a_fixed_key_a_list_and_an_expiration(engine: sb.Engine, client: redis.Redis, prefix: str) -> None:
    engine.create_stream(STREAM)
    actions = [
        {"redis": {"addr": "tcp://127.0.0.1:6379", "key": f"{prefix}:list", "dataType": "list", "sendSingle": True}},
        {"redis": {"addr": "127.0.0.1:6379", "db": "0", "key": f"{prefix}:last", "expiration": 100}},
    ]
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": actions})
    engine.publish("in", [{"i": i} for i in range(5)])
    assert engine.wait_idle()
    # LPUSH, as eKuiper does: the newest first.
    assert [json.loads(v) for v in client.lrange(f"{prefix}:list", 0, -1)] == [{"i": i} for i in reversed(range(5))]
    # Without sendSingle each row of a result is written, as eKuiper does: the last one stays.
    assert json.loads(client.get(f"{prefix}:last") or "null") == {"i": 4}
    assert 0 < client.ttl(f"{prefix}:last") <= 100


def test_key_type_multiple_stores_each_field_under_its_own_key(
    engine: sb.Engine, client: redis.Redis, prefix: str
) -> None:
    run_rule(engine, {"keyType": "multiple", "sendSingle": True})
    engine.publish("in", {f"{prefix}:temperature": 40.9, f"{prefix}:name": HOSTILE, f"{prefix}:obj": {"a": 1}})
    assert engine.wait_idle()
    assert client.get(f"{prefix}:temperature") == "40.9"
    assert client.get(f"{prefix}:name") == HOSTILE
    assert json.loads(client.get(f"{prefix}:obj") or "null") == {"a": 1}


def test_rowkind_upserts_and_deletes(engine: sb.Engine, client: redis.Redis, prefix: str) -> None:
    run_rule(engine, {"field": "id", "rowkindField": "action", "sendSingle": True})
    engine.publish(
        "in",
        [
            {"action": "insert", "id": f"{prefix}:1", "v": 1},
            {"action": "insert", "id": f"{prefix}:2", "v": 2},
            {"action": "upsert", "id": f"{prefix}:1", "v": 10},
            {"action": "update", "id": f"{prefix}:2", "v": 20},
            {"action": "delete", "id": f"{prefix}:2"},
            {"id": f"{prefix}:3", "v": 3},  # no action: an insert
        ],
    )
    assert engine.wait_idle()
    assert json.loads(client.get(f"{prefix}:1") or "null") == {"id": f"{prefix}:1", "v": 10}
    assert client.get(f"{prefix}:2") is None
    assert json.loads(client.get(f"{prefix}:3") or "null") == {"id": f"{prefix}:3", "v": 3}


def test_a_row_without_its_key_field_is_counted_not_retried(
    engine: sb.Engine, client: redis.Redis, prefix: str
) -> None:
    run_rule(engine, {"field": "id", "sendSingle": True})
    # One publish: the rows may reach the sink in one delivery, or in two.
    engine.publish("in", [{"other": 1}, {"id": f"{prefix}:after", "v": 1}])
    assert engine.wait_idle()
    status = engine.rule_status("r")
    assert status["sink_redis_0_0_exceptions_total"] >= 1
    assert "no key field 'id'" in status["sink_redis_0_0_last_exception"]
    assert status["sink_redis_0_0_retries_total"] == 0
    assert client.get(f"{prefix}:after") is not None


def test_an_unreachable_server_is_retried_and_shows_in_the_status(plugins_dir: Path) -> None:
    # A short stop_timeout: the rule gives up its retries quickly at the end.
    with sb.Engine(plugins_dir=plugins_dir, stop_timeout=0.5) as engine:
        run_rule(engine, {"addr": "127.0.0.1:1", "key": "k", "resendInterval": 20})
        status = engine.rule_status("r")
        assert status["sink_redis_0_0_connection_status"] == -1
        assert "ConnectionError" in status["sink_redis_0_0_connection_last_disconnected_message"]
        engine.publish("in", {"i": 1})
        wait_for(lambda: sink_status(engine, "redis_0", "retries_total") >= 2, what="retries")
        assert sink_status(engine, "redis_0", "last_exception").startswith("RetryableError: ConnectionError")
        assert sink_status(engine, "redis_0", "dead_letter_total") == 0


def test_a_server_stopped_and_restarted_mid_stream_loses_nothing_with_the_cache(
    plugins_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "redis").mkdir()
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    client = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
    try:
        with sb.Engine(plugins_dir=plugins_dir, data_dir=tmp_path / "data") as engine:
            engine.create_stream(STREAM)
            action = {
                "addr": f"127.0.0.1:{server.port}",
                "field": "id",
                "sendSingle": True,
                "enableCache": True,
                "resendInterval": 50,
            }
            engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"redis": action}]})
            engine.publish("in", [{"id": f"k{i}", "i": i} for i in range(100)])
            assert engine.wait_idle()
            assert client.dbsize() == 100

            server.stop()
            engine.publish("in", [{"id": f"k{i}", "i": i} for i in range(100, 300)])
            wait_for(lambda: sink_status(engine, "redis_0", "connection_status") == -1, what="the sink to notice")
            wait_for(lambda: (sink_status(engine, "redis_0", "cache_length") or 0) > 0, what="rows cached")

            server.start()
            wait_for(lambda: client.dbsize() == 300, timeout=30, what="every row delivered")
            wait_for(lambda: sink_status(engine, "redis_0", "connection_status") == 1, what="reconnected")
            assert [json.loads(client.get(f"k{i}") or "null")["i"] for i in range(300)] == list(range(300))
            assert sink_status(engine, "redis_0", "dead_letter_total") == 0
    finally:
        client.close()
        server.stop()


def test_naming_the_sink_without_its_extra_says_which_extra_to_install(
    engine: sb.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if redis-py were not installed: importing it fails.
    for name in [m for m in sys.modules if m == "redis" or m.startswith("redis.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "sinkbridge.sinks.redis", raising=False)
    engine.create_stream(STREAM)
    with pytest.raises(sb.SinkbridgeError, match=r"pip install 'sinkbridge\[redis\]'"):
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"redis": {"key": "k"}}]})
