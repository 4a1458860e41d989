"""Shared fixtures: engines, the two hosts of the command line, and waiting on conditions."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sinkbridge as sb

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Polls ``condition`` until it returns something truthy; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


S = TypeVar("S", bound=socketserver.BaseServer)


@contextlib.contextmanager
def serving(server: S) -> Iterator[S]:
    """Runs a test server (such as an `http.server`) on a thread; stops and closes it after."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def read_events(path: Path) -> list[Any]:
    """The JSON lines a test sink wrote (see ``tests/sinks/recorder.py``)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def plugins_dir(tmp_path: Path) -> Path:
    """A plugins folder holding the test sinks of ``tests/sinks``."""
    folder = tmp_path / "sinks"
    shutil.copytree(ROOT / "tests" / "sinks", folder)
    return folder


@pytest.fixture
def engine(plugins_dir: Path) -> Iterator[sb.Engine]:
    """A started engine whose plugins folder holds the test sinks."""
    with sb.Engine(plugins_dir=plugins_dir) as e:
        yield e


def binary_path() -> Path:
    """The standalone binary: $SINKBRIDGE_BIN, or cargo's debug build."""
    path = Path(os.environ.get("SINKBRIDGE_BIN", ROOT / "target" / "debug" / "sinkbridge"))
    if not path.is_file():
        pytest.fail(
            f"the standalone binary is missing at {path}: run `cargo build -p sinkbridge-python --bin sinkbridge`"
        )
    return path


def console_script() -> Path:
    """The wheel's console script, next to this interpreter."""
    path = Path(sys.executable).parent / "sinkbridge"
    if not path.is_file():
        pytest.fail(f"the sinkbridge console script is missing at {path}: pip install the project")
    return path


def host_command(host: str) -> list[str]:
    """``sinkbridge`` as each host runs it: the wheel's script, or the standalone binary."""
    return [str(console_script())] if host == "wheel" else [str(binary_path())]


def host_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a host: this virtual environment active, as a user would have it."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = sys.prefix
    env.pop("PYTHONHOME", None)
    env.update(extra or {})
    return env


def run_command(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs a command to its end, as a user would in an active virtual environment."""
    return subprocess.run(args, cwd=cwd, env=env or host_env(), capture_output=True, text=True, timeout=60)


class Cli:
    """A running ``sinkbridge`` command."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], logs: Path | None = None):
        # Output goes to files, not pipes, so a chatty process never blocks on a full pipe.
        logs = logs or cwd
        self.stdout_path = logs / f"stdout-{time.monotonic_ns()}.txt"
        self.stderr_path = logs / f"stderr-{time.monotonic_ns()}.txt"
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    def wait(self, timeout: float = 20) -> int:
        return self.process.wait(timeout)


@pytest.fixture(params=["wheel", "binary"])
def host(request: pytest.FixtureRequest) -> str:
    """Each host of the command line: Python hosting the engine, and the engine hosting Python."""
    return str(request.param)


@pytest.fixture
def start_cli(tmp_path: Path) -> Iterator[Callable[..., Cli]]:
    """Starts ``sinkbridge`` under a host in ``tmp_path``; stops what is still running after."""
    started: list[Cli] = []

    def start(host: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Cli:
        cli = Cli([*host_command(host), *args], cwd or tmp_path, host_env(env), logs=tmp_path)
        started.append(cli)
        return cli

    yield start
    for cli in started:
        if cli.process.poll() is None:
            cli.process.kill()
            cli.process.wait()
