"""Who gets in, and what a request can do: the bearer token, the refusal to listen beyond
loopback without one, the module allow-list, and the config file and environment settings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import requests

from .conftest import host_command, run_command
from .server_helpers import Server, free_port

STREAM = 'CREATE STREAM demo () WITH (TYPE="memory", DATASOURCE="in")'


def test_a_token_is_required_on_every_endpoint_but_ping(tmp_path: Path) -> None:
    server = Server(tmp_path, "--auth-token", "s3cret").wait_ready()
    try:
        base = server.base
        assert requests.get(f"{base}/ping", timeout=5).status_code == 200
        for path in ["/", "/streams", "/rules", "/metrics", "/plugins/sinks", "/rules/x/status"]:
            missing = requests.get(base + path, timeout=5)
            assert missing.status_code == 401, path
            assert "Authorization: Bearer" in missing.json()["message"]
        wrong = requests.get(f"{base}/rules", headers={"Authorization": "Bearer nope"}, timeout=5)
        assert (wrong.status_code, wrong.json()["message"]) == (401, "the token is wrong")
        ok = requests.get(f"{base}/rules", headers={"Authorization": "Bearer s3cret"}, timeout=5)
        assert (ok.status_code, ok.json()) == (200, [])
    finally:
        server.kill()


def test_the_token_from_the_environment(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SINKBRIDGE_AUTH_TOKEN": "from-env"}).wait_ready()
    try:
        assert requests.get(f"{server.base}/rules", timeout=5).status_code == 401
        server.token = "from-env"
        assert server.get("/rules").status_code == 200
    finally:
        server.kill()


def test_listening_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    result = run_command(
        [*host_command("binary"), "serve", "--data-dir", str(tmp_path / "d"), "--bind", f"0.0.0.0:{free_port()}"],
        tmp_path,
    )
    assert result.returncode == 1
    assert "reachable from other machines" in result.stderr
    assert "--auth-token" in result.stderr
    assert not (tmp_path / "d").exists(), "nothing should start"


def test_module_path_sinks_need_their_package_allowed(tmp_path: Path) -> None:
    package = tmp_path / "pkgs" / "acme"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "alerts.py").write_text(
        "import sinkbridge as sb\n\nclass Alert(sb.Sink):\n    def collect(self, ctx, data):\n        pass\n"
    )
    rule = {"id": "r", "sql": "SELECT * FROM demo", "actions": [{"acme.alerts:Alert": {}}]}
    env = {"PYTHONPATH": str(tmp_path / "pkgs")}
    closed = Server(tmp_path, env=env).wait_ready()
    try:
        closed.post("/streams", {"sql": STREAM})
        refused = closed.post("/rules", rule)
        assert (refused.status_code, refused.json()["error"]) == (400, 1000)
        assert "allowed_modules" in refused.json()["message"]
        assert "acme.alerts:Alert" in refused.json()["message"]
        assert closed.post("/rules/validate", rule).status_code == 422
        # Built-in and plugins-folder sinks are always allowed.
        assert closed.post("/rules", {**rule, "actions": [{"nop": {}}]}).status_code == 201
    finally:
        closed.kill()
    opened = Server(tmp_path, "--allowed-modules", "acme", env=env, data_dir=tmp_path / "data2").wait_ready()
    try:
        opened.post("/streams", {"sql": STREAM})
        assert opened.post("/rules", rule).status_code == 201
    finally:
        opened.kill()


def test_settings_come_from_the_config_file_and_flags_override_it(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "sinkbridge.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            data_dir = "{tmp_path / "from-file"}"
            bind = "127.0.0.1:{port}"
            auth_token = "file-token"
            max_body_bytes = 2048
            """
        )
    )
    server = Server(
        tmp_path,
        "--config",
        str(config),
        settings_given=True,
        port=port,
        token="env-token",
        env={"SINKBRIDGE_AUTH_TOKEN": "env-token"},
    ).wait_ready()
    try:
        # The environment's token overrides the file's; the file's limit and folder apply.
        assert server.get("/rules").status_code == 200
        file_token = {"Authorization": "Bearer file-token"}
        assert requests.get(f"{server.base}/rules", headers=file_token, timeout=5).status_code == 401
        assert server.post("/streams", {"sql": STREAM + " " * 3000}).status_code == 413
        assert server.post("/streams", {"sql": STREAM}).status_code == 201
        assert (tmp_path / "from-file" / "catalog.db").is_file()
        assert server.stop() == 0
    finally:
        server.kill()


def test_a_bad_config_file_names_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('data_dir = "d"\nbnid = "127.0.0.1:1"\n')
    result = run_command([*host_command("binary"), "serve", "--config", str(config)], tmp_path)
    assert result.returncode == 1
    assert "bnid" in result.stderr
