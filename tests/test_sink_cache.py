"""The sink disk cache (`enableCache`): what reaches a sink whose target is down is kept on disk
until it lands, through restarts and crashes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sinkbridge as sb

from .conftest import read_events, wait_for

STREAM = 'CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")'


class Target(sb.Sink):
    """A target that is down (transient errors) until `up` is set."""

    up = False
    received: ClassVar[list[Any]] = []

    def collect(self, ctx: sb.Context, data: Any) -> None:
        if not Target.up:
            raise sb.RetryableError("target down")
        Target.received.append(data)


@pytest.fixture
def cached(plugins_dir: Path, tmp_path: Path) -> Any:
    Target.up = False
    Target.received = []
    engine = sb.Engine(data_dir=tmp_path / "data", plugins_dir=plugins_dir)
    engine.register_sink("target", Target)
    engine.create_stream(STREAM)
    engine.start()
    yield engine
    engine.stop()


def status_of(engine: sb.Engine, key: str) -> Any:
    return engine.rule_status("r")[f"sink_target_0_0_{key}"]


def test_enable_cache_needs_a_data_directory(engine: sb.Engine) -> None:
    engine.create_stream(STREAM)
    with pytest.raises(sb.RuleError, match="enableCache needs a data directory"):
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"log": {"enableCache": True}}]})


def test_cached_items_are_resent_in_order_once_the_target_recovers(cached: sb.Engine) -> None:
    action = {"target": {"enableCache": True, "resendInterval": 20, "resendIndicatorField": "resent"}}
    cached.create_rule({"id": "r", "sql": "SELECT i FROM s", "actions": [action]})
    cached.publish("in", [{"i": i} for i in range(20)])
    wait_for(lambda: status_of(cached, "cache_length") == 20, what="everything cached")
    assert Target.received == []
    Target.up = True
    wait_for(lambda: len(Target.received) == 20, what="everything resent")
    assert Target.received == [[{"i": i, "resent": True}] for i in range(20)]
    wait_for(lambda: status_of(cached, "cache_length") == 0, what="an empty cache")
    assert status_of(cached, "retries_total") >= 1
    # Healthy again: new data goes straight through, unmarked.
    cached.publish("in", {"i": 99})
    wait_for(lambda: Target.received[-1] == [{"i": 99}], what="the next row")


def test_the_cache_keeps_the_newest_max_disk_cache_items(cached: sb.Engine) -> None:
    action = {"target": {"enableCache": True, "maxDiskCache": 5, "resendInterval": 20}}
    cached.create_rule({"id": "r", "sql": "SELECT i FROM s", "actions": [action]})
    for i in range(12):
        cached.publish("in", {"i": i})
    wait_for(lambda: status_of(cached, "cache_dropped_total") == 7, what="the oldest dropped")
    assert status_of(cached, "cache_length") == 5
    Target.up = True
    wait_for(lambda: len(Target.received) == 5, what="the kept items")
    assert [r[0]["i"] for r in Target.received] == [7, 8, 9, 10, 11]


def test_a_restarted_rule_resumes_from_the_cache_unless_cleaned(cached: sb.Engine) -> None:
    action = {"target": {"enableCache": True, "resendInterval": 20}}
    cached.create_rule({"id": "r", "sql": "SELECT i FROM s", "actions": [action]})
    cached.publish("in", [{"i": 1}, {"i": 2}])
    wait_for(lambda: status_of(cached, "cache_length") == 2, what="two cached items")
    cached.stop_rule("r")
    Target.up = True
    cached.start_rule("r")
    wait_for(lambda: len(Target.received) == 2, what="the cache resent after the restart")
    assert Target.received == [[{"i": 1}], [{"i": 2}]]

    Target.up = False
    cached.create_rule(
        {
            "id": "clean",
            "sql": "SELECT i FROM s",
            "actions": [{"target": {"enableCache": True, "cleanCacheAtStop": True}}],
        }
    )
    cached.publish("in", {"i": 3})
    wait_for(lambda: cached.rule_status("clean")["sink_target_0_0_cache_length"] >= 1, what="a cached item")
    cached.stop_rule("clean")
    assert cached.rule_status("clean")["sink_target_0_0_cache_length"] == 0


def test_resend_priority_minus_one_tries_new_data_first(cached: sb.Engine) -> None:
    action = {"target": {"enableCache": True, "resendInterval": "1h", "resendPriority": -1}}
    cached.create_rule({"id": "r", "sql": "SELECT i FROM s", "actions": [action]})
    cached.publish("in", {"i": 1})
    wait_for(lambda: status_of(cached, "cache_length") == 1, what="the old item cached")
    Target.up = True
    cached.publish("in", {"i": 2})
    # The new row is delivered at once; the old one waits for the (hour-long) resend interval.
    wait_for(lambda: Target.received == [[{"i": 2}]], what="the new row first")
    assert status_of(cached, "cache_length") == 1


CRASH_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import sinkbridge as sb

    data_dir, down_flag, out, phase = sys.argv[1:5]

    class Target(sb.Sink):
        def collect(self, ctx, data):
            if Path(down_flag).exists():
                raise sb.RetryableError("target down")
            with open(out, "a") as f:
                f.write(json.dumps(data) + "\\n")

    engine = sb.Engine(data_dir=data_dir)
    engine.register_sink("target", Target)
    if phase == "fill":
        engine.create_stream('CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")')
    # On resume, the stream and the rule come back from the data directory by themselves.
    engine.start()
    if phase == "fill":
        engine.create_rule({"id": "r", "sql": "SELECT i FROM s",
                            "actions": [{"target": {"enableCache": True, "resendInterval": 20}}]})
        engine.publish("in", [{"i": i} for i in range(50)])
        while engine.rule_status("r")["sink_target_0_0_cache_length"] < 50:
            time.sleep(0.01)
    print("ready", flush=True)
    time.sleep(600)
    """
)


def test_cached_items_survive_a_crash(tmp_path: Path) -> None:
    """The engine process is killed (SIGKILL) while the target is down; restarted after the
    target recovers, it delivers every row."""
    script = tmp_path / "app.py"
    script.write_text(CRASH_SCRIPT)
    data_dir, down, out = tmp_path / "data", tmp_path / "down", tmp_path / "out.jsonl"
    down.touch()
    args = [sys.executable, str(script), str(data_dir), str(down), str(out)]
    with subprocess.Popen([*args, "fill"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as first:
        try:
            assert first.stdout is not None
            assert first.stdout.readline().strip() == "ready"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            first.kill()
    assert not out.exists()
    down.unlink()
    with subprocess.Popen([*args, "resume"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as second:
        try:
            wait_for(lambda: len(read_events(out)) == 50, what="every row after the restart")
        finally:
            second.kill()
    assert [json.loads(line)[0]["i"] for line in out.read_text().splitlines()] == list(range(50))
