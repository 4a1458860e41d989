"""The ``sinkbridge`` command under both hosts: the wheel's console script (Python hosts the
engine) and the standalone binary (the engine hosts Python)."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, Cli, host_command, read_events, run_command, wait_for
from .mqtt_helpers import PUBLIC_PORT, publish


def test_the_quickstart_runs(host: str, start_cli: Callable[..., Cli]) -> None:
    cli = start_cli(host, "run", "examples/quickstart.json", cwd=ROOT)
    wait_for(lambda: "too hot #2:" in cli.stdout, what="two hot readings")
    assert cli.stop() == 0, cli.stderr
    out = cli.stdout
    assert "[hot] too hot: waiting for results" in out
    assert "[hot] too hot #1: device=dev-" in out
    assert "temperature=" in out
    assert "humidity=" in out
    assert "result(s), done" in out.splitlines()[-1], "the sink was closed on SIGTERM"
    assert "running 1 rule(s) from examples/quickstart.json" in cli.stderr


def ruleset_file(tmp_path: Path, content: dict[str, Any]) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_stops_cleanly_and_closes_sinks(
    host: str, sig: int, start_cli: Callable[..., Cli], tmp_path: Path, plugins_dir: Path
) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text('{"v": 1}\n{"v": 2}\n')
    out = tmp_path / "events.jsonl"
    rules = ruleset_file(
        tmp_path,
        {
            "streams": {"s": f'CREATE STREAM s () WITH (TYPE="file", DATASOURCE="{data}")'},
            "rules": {
                # eKuiper's exports hold rules as strings of JSON: both forms are accepted.
                "r": json.dumps({"id": "r", "sql": "SELECT v FROM s", "actions": [{"recorder": {"path": str(out)}}]}),
            },
        },
    )
    cli = start_cli(host, "--plugins-dir", str(plugins_dir), "run", str(rules))
    wait_for(lambda: len(read_events(out)) == 4, what="configure, open and two results")
    assert cli.stop(sig) == 0, cli.stderr
    assert [e["event"] for e in read_events(out)] == ["configure", "open", "collect", "collect", "close"]


STREAM = 'CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="s")'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"streams": {"s": 'CREATE STREAM s (a int) WITH (DATASOURCE="x")'}}, "streams.s: invalid stream statement"),
        (
            {"streams": {"s": STREAM}, "rules": {"r": {"sql": "SELECT * FROM s", "actions": [{"nosuch": {}}]}}},
            'rules.r: actions[0]: unknown sink "nosuch"; searched the built-in sinks',
        ),
        (
            {
                "streams": {"s": STREAM},
                "rules": {"r": {"sql": "SELECT * FROM s", "actions": [{"log": {}}], "options": {"bufferLen": 1}}},
            },
            "rules.r: options.bufferLen: unknown option",
        ),
        (
            {"streams": {"s": STREAM}, "rules": {"r": {"sql": "SELECT * FROM s WHERE", "actions": [{"log": {}}]}}},
            "rules.r: sql: invalid SQL",
        ),
        ({"streams": {"s": STREAM}, "rules": {"r": {"sql": "SELECT * FROM s"}}}, "rules.r: actions: is required"),
        (
            {
                "streams": {"s": STREAM},
                "rules": {"r": {"sql": "SELECT * FROM s", "actions": [{"recorder": {"path": "x", "fail": "open"}}]}},
            },
            'rule "r" failed to start: actions[0] (recorder): open raised ConnectionRefusedError',
        ),
        ({"rules": [1]}, "rules: expected an object, found array"),
        ({"tables": {}}, "tables: unknown section"),
    ],
)
def test_errors_in_the_file_name_the_rule_or_stream_and_exit_1(
    host: str, content: dict[str, Any], message: str, tmp_path: Path, plugins_dir: Path
) -> None:
    rules = ruleset_file(tmp_path, content)
    done = run_command([*host_command(host), "--plugins-dir", str(plugins_dir), "run", str(rules)], tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"error: {rules}: " in done.stderr
    assert message in done.stderr


def test_a_file_that_cannot_be_read(host: str, tmp_path: Path) -> None:
    done = run_command([*host_command(host), "run", str(tmp_path / "absent.json")], tmp_path)
    assert done.returncode == 1
    assert f"error: cannot read {tmp_path / 'absent.json'}:" in done.stderr


def test_version_and_usage(host: str, tmp_path: Path) -> None:
    version = run_command([*host_command(host), "--version"], tmp_path)
    assert (version.returncode, version.stdout) == (0, "sinkbridge 0.1.0\n")
    usage = run_command([*host_command(host), "frobnicate"], tmp_path)
    assert usage.returncode == 2
    assert "unrecognized subcommand 'frobnicate'" in usage.stderr
    helped = run_command([*host_command(host), "run", "--help"], tmp_path)
    assert helped.returncode == 0
    assert "--plugins-dir <DIR>" in helped.stdout


def test_the_scale_out_example_splits_the_stream_over_two_instances(start_cli: Callable[..., Cli]) -> None:
    """examples/mqtt: two instances, one under each host, share one subscription."""
    args = ["--sources-dir", "examples/mqtt/etc/sources", "run", "examples/mqtt/rules.json"]
    instances = [start_cli(host, *args, cwd=ROOT) for host in ["wheel", "binary"]]
    for cli in instances:
        wait_for(lambda cli=cli: "connected to the MQTT broker" in cli.stderr, what="both instances to subscribe")
    readings = [json.dumps({"device": f"dev-{i}", "temperature": 35}) for i in range(40)]
    publish(PUBLIC_PORT, "sensors/line-1", readings)

    def devices(cli: Cli) -> set[str]:
        return set(re.findall(r"device=(dev-\d+)\s+temperature=35\s+topic=sensors/line-1", cli.stdout))

    wait_for(lambda: len(devices(instances[0]) | devices(instances[1])) == 40, what="every reading")
    first, second = (devices(cli) for cli in instances)
    assert first, "each instance takes a share"
    assert second, "each instance takes a share"
    assert not first & second
    for cli in instances:
        assert cli.stop() == 0, cli.stderr
