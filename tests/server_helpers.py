"""A `sinkbridge serve` process for tests: started on a free port with its own data directory,
reached over HTTP with `requests`, stopped by the test that started it."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path
from typing import Any

import requests

from .conftest import Cli, host_command, host_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """A running server. ``args`` are extra `serve` arguments; the port, data and plugins
    folders are set unless ``settings_given`` says the arguments (or a config file) set them."""

    def __init__(
        self,
        tmp_path: Path,
        *args: str,
        host: str = "binary",
        data_dir: Path | None = None,
        plugins_dir: Path | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
        token: str | None = None,
        settings_given: bool = False,
    ):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir or tmp_path / "data"
        self.plugins_dir = plugins_dir or tmp_path / "sinks"
        self.plugins_dir.mkdir(exist_ok=True)
        self.token = token
        self.host = host
        self.tmp_path = tmp_path
        defaults = ["--data-dir", str(self.data_dir), "--bind", f"127.0.0.1:{self.port}"]
        self.args = [
            *host_command(host),
            "--plugins-dir",
            str(self.plugins_dir),
            "serve",
            *([] if settings_given else defaults),
            *args,
        ]
        self.env = env
        self.cli = Cli(self.args, tmp_path, host_env(env), logs=tmp_path)

    def wait_ready(self, timeout: float = 30.0) -> Server:
        deadline = time.monotonic() + timeout
        while True:
            if self.cli.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.cli.process.returncode}:\n{self.cli.stderr}")
            try:
                requests.get(f"{self.base}/ping", timeout=1)
                return self
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the server did not answer within {timeout}s:\n{self.cli.stderr}") from None
                time.sleep(0.05)

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.token is not None and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        data = kwargs.pop("data", None)
        if body is not None:
            return requests.request(method, self.base + path, json=body, headers=headers, timeout=30, **kwargs)
        return requests.request(method, self.base + path, data=data, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        return self.cli.stop(sig)

    def kill(self) -> None:
        if self.cli.process.poll() is None:
            self.cli.process.kill()
            self.cli.process.wait()
