"""The command line against a running server, as eKuiper's `kuiper` CLI is used: create,
show, describe, drop, start, stop, restart, getstatus and query, with human-readable output,
`--json` for scripts, and exit codes scripts can rely on."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import host_command, host_env, run_command, wait_for
from .server_helpers import Server, free_port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path).wait_ready()
    yield srv
    srv.kill()


def cli(host: str, server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return run_command([*host_command(host), "--port", str(server.port), *args], server.tmp_path)


def test_create_show_describe_and_drop(host: str, server: Server, tmp_path: Path) -> None:
    created = cli(
        host,
        server,
        "create",
        "stream",
        "demo",
        '(temperature float, device string) WITH (TYPE="memory", DATASOURCE="in")',
    )
    assert (created.returncode, created.stdout.strip()) == (0, "Stream demo is created."), created.stderr
    rule_file = tmp_path / "hot.json"
    rule_file.write_text(json.dumps({"sql": "SELECT * FROM demo WHERE temperature > 30", "actions": [{"nop": {}}]}))
    assert cli(host, server, "create", "rule", "hot", "-f", str(rule_file)).stdout.strip() == (
        "Rule hot was created successfully."
    )
    inline = '{"sql": "SELECT device FROM demo", "actions": [{"nop": {}}]}'
    assert cli(host, server, "create", "rule", "names", inline).returncode == 0

    assert cli(host, server, "show", "streams").stdout.strip() == "demo"
    table = cli(host, server, "show", "rules").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "STATUS"]
    assert [line.split() for line in table[1:]] == [["hot", "running"], ["names", "running"]]
    assert json.loads(cli(host, server, "--json", "show", "rules").stdout) == [
        {"id": "hot", "name": "", "status": "running", "tags": []},
        {"id": "names", "name": "", "status": "running", "tags": []},
    ]
    described = cli(host, server, "describe", "stream", "demo").stdout
    assert "temperature  float" in described
    assert "TYPE: memory" in described
    assert json.loads(cli(host, server, "describe", "rule", "hot").stdout)["sql"].endswith("temperature > 30")

    assert cli(host, server, "stop", "rule", "hot").stdout.strip() == "Rule hot was stopped."
    status = cli(host, server, "getstatus", "rule", "hot").stdout
    assert status.splitlines()[0].split() == ["METRIC", "VALUE"]
    assert ["status", "stopped"] in [line.split(None, 1) for line in status.splitlines()]
    assert json.loads(cli(host, server, "--json", "getstatus", "rule", "hot").stdout)["status"] == "stopped"
    assert cli(host, server, "start", "rule", "hot").stdout.strip() == "Rule hot was started"
    assert cli(host, server, "restart", "rule", "hot").stdout.strip() == "Rule hot was restarted"

    assert cli(host, server, "drop", "rule", "hot").stdout.strip() == "Rule hot is dropped."
    assert cli(host, server, "drop", "rule", "names").returncode == 0
    assert cli(host, server, "drop", "stream", "demo").stdout.strip() == "Stream demo is dropped."
    assert cli(host, server, "show", "streams").stdout.strip() == "No streams are defined."


def test_exit_codes(server: Server, tmp_path: Path) -> None:
    missing = cli("binary", server, "getstatus", "rule", "ghost")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'error: rule "ghost" not found (HTTP 404)'
    bad = cli("binary", server, "create", "stream", "s", "(x nosuchtype)")
    assert bad.returncode == 1
    assert "nosuchtype" in bad.stderr
    assert cli("binary", server, "create", "rule", "r", "{not json").returncode == 2
    assert cli("binary", server, "create", "rule", "r").returncode == 2
    assert cli("binary", server, "show", "things").returncode == 2
    down = run_command([*host_command("binary"), "--port", str(free_port()), "show", "rules"], tmp_path)
    assert down.returncode == 3
    assert "cannot reach the server" in down.stderr


def test_the_token_from_the_command_line_and_environment(tmp_path: Path) -> None:
    server = Server(tmp_path, "--auth-token", "t0k").wait_ready()
    try:
        base = [*host_command("binary"), "--port", str(server.port)]
        refused = run_command([*base, "show", "rules"], tmp_path)
        assert refused.returncode == 1
        assert "requires a token" in refused.stderr
        assert run_command([*base, "--token", "t0k", "show", "rules"], tmp_path).returncode == 0
        env = host_env({"SINKBRIDGE_AUTH_TOKEN": "t0k"})
        assert run_command([*base, "show", "rules"], tmp_path, env=env).returncode == 0
    finally:
        server.kill()


def test_query_prints_rows_as_they_come(server: Server, tmp_path: Path) -> None:
    data = tmp_path / "readings.jsonl"
    data.write_text("".join(json.dumps({"device": f"d{i}", "t": i}) + "\n" for i in range(5)))
    server.post("/streams", {"sql": f'CREATE STREAM readings () WITH (TYPE="file", DATASOURCE="{data}")'})
    out = tmp_path / "query-out.txt"
    with (
        out.open("w") as stdout,
        subprocess.Popen(
            [*host_command("binary"), "--port", str(server.port), "query"],
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=host_env(),
        ) as query,
    ):
        assert query.stdin is not None
        query.stdin.write("SELECT device FROM readings WHERE t >= 3\n")
        query.stdin.flush()
        wait_for(lambda: '{"device":"d4"}' in out.read_text(), what="the query's rows")
        assert [line for line in out.read_text().splitlines() if line.startswith("{")] == [
            '{"device":"d3"}',
            '{"device":"d4"}',
        ]
        # Ctrl-C ends the query (its temporary rule goes away) and returns to the prompt.
        query.send_signal(signal.SIGINT)
        wait_for(lambda: server.get("/rules").json() == [], what="the query's rule to go")
        query.stdin.write("SELECT nosuchfn(1) FROM readings\n")
        query.stdin.flush()
        query.stdin.close()
        assert query.wait(20) == 0
        assert query.stderr is not None
        assert "nosuchfn" in query.stderr.read()
