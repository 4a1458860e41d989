"""Helpers for the tests of the first-party sinks against real services on 127.0.0.1: unique
names, free ports, and a private redis-server that a test may stop and start."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import sinkbridge as sb

from .conftest import wait_for

STREAM = 'CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")'


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def service_up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def require_service(port: int, name: str) -> None:
    """Fails (does not skip) when a service the tests need is down: scripts/services starts it."""
    if not service_up(port):
        pytest.fail(f"{name} is not listening on 127.0.0.1:{port}: run scripts/services")


def sink_status(engine: sb.Engine, op: str, metric: str, rule: str = "r") -> Any:
    return engine.rule_status(rule).get(f"sink_{op}_0_{metric}")


class PrivateRedis:
    """A redis-server of the test's own on a free port, persisting to its folder, so that the
    test can stop it and start it again with its data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed: run scripts/services")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: service_up(self.port), what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
