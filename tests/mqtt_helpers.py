"""Real MQTT peers for the tests: private Mosquitto brokers the tests start, stop and restart,
and paho-mqtt clients that publish and subscribe independently of sinkbridge."""

from __future__ import annotations

import contextlib
import getpass
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion

from .conftest import wait_for

PUBLIC_PORT = 1883


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).is_file():
        raise RuntimeError("mosquitto is not installed: run scripts/services")
    return found


class Broker:
    """A private Mosquitto on a free port of 127.0.0.1, with persistence in its folder (so a
    persistent session survives a restart) and no limit on queued messages (Mosquitto's default
    silently drops for slow subscribers)."""

    def __init__(self, folder: Path, extra: Iterable[str] = ()) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        extra = list(extra)
        anonymous = [] if any(line.startswith("allow_anonymous") for line in extra) else ["allow_anonymous true"]
        lines = [
            f"listener {self.port} 127.0.0.1",
            *anonymous,
            "max_queued_messages 0",
            "persistence true",
            f"persistence_location {folder}/",
            "autosave_interval 0",
            "sys_interval 1",
            # Started as root, Mosquitto would switch to its own user, who cannot read the test's
            # folder: stay who we are.
            f"user {getpass.getuser()}",
            *extra,
        ]
        self.conf.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.folder / "broker.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for(lambda: port_open(self.port), what=f"mosquitto on port {self.port}")
        except AssertionError as e:
            raise AssertionError(f"{e}; its log:\n{self.log()}") from None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # Mosquitto saves its persistence file on SIGTERM.
            self.process.wait(10)
        self.process = None
        wait_for(lambda: not port_open(self.port), what=f"mosquitto to close port {self.port}")

    def log(self) -> str:
        path = self.folder / "broker.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Subscriber:
    """A paho client that keeps every message it receives on a filter."""

    def __init__(
        self,
        port: int,
        topic: str,
        qos: int = 1,
        client_id: str = "",
        clean: bool = True,
        tls: dict[str, Any] | None = None,
    ) -> None:
        self.messages: list[paho.MQTTMessage] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.topic, self.qos = topic, qos
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        if tls:
            self.client.tls_set(**tls)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise AssertionError(f"could not subscribe to {topic} on port {port}")

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(self.topic, self.qos)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append(message)

    def received(self) -> list[paho.MQTTMessage]:
        with self.lock:
            return list(self.messages)

    def payloads(self) -> list[str]:
        return [m.payload.decode() for m in self.received()]

    def wait_count(self, n: int, timeout: float = 10.0) -> list[paho.MQTTMessage]:
        wait_for(lambda: len(self.received()) >= n, timeout, f"{n} messages on {self.topic}")
        return self.received()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(port: int, topic: str, payloads: Iterable[str | bytes], qos: int = 1) -> None:
    """Publishes with mosquitto_pub, one message per payload, waiting for each QoS handshake."""
    items = [p.encode() if isinstance(p, str) else p for p in payloads]
    if all(b"\n" not in p for p in items) and len(items) > 1:
        # One connection for them all: -l sends each line of stdin as a message. Mosquitto's
        # client loses messages past 65,535 lines at QoS 1, so large sets go in chunks.
        for start in range(0, len(items), 50_000):
            chunk = b"\n".join(items[start : start + 50_000]) + b"\n"
            subprocess.run(
                ["mosquitto_pub", "-p", str(port), "-t", topic, "-q", str(qos), "-l"],
                input=chunk,
                check=True,
                timeout=120,
            )
        return
    for payload in items:
        subprocess.run(
            ["mosquitto_pub", "-p", str(port), "-t", topic, "-q", str(qos), "-m", payload],
            check=True,
            timeout=30,
        )


class SteadyPublisher:
    """Publishes numbered QoS 1 messages one after the other from a thread, as a device would,
    riding out broker outages: a message not acknowledged is sent again once reconnected (so
    the broker may see it twice, which QoS 1 allows)."""

    def __init__(self, port: int, topic: str, count: int) -> None:
        self.sent = 0
        self.error: BaseException | None = None
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"steady-{port}")
        self.client.reconnect_delay_set(0.05, 0.5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.thread = threading.Thread(target=self._run, args=(topic, count), daemon=True)
        self.thread.start()

    def _run(self, topic: str, count: int) -> None:
        try:
            for n in range(count):
                while True:
                    wait_for(self.client.is_connected, timeout=30, what="the publisher to reconnect")
                    info = self.client.publish(topic, f'{{"n": {n}}}', qos=1)
                    with contextlib.suppress(RuntimeError, ValueError):
                        info.wait_for_publish(2)  # raises once disconnected: send it again
                    if info.is_published():
                        break
                self.sent = n + 1
        except BaseException as e:
            self.error = e

    def join(self, timeout: float = 60) -> None:
        self.thread.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()
        if self.error is not None:
            raise self.error
        assert not self.thread.is_alive(), "the publisher did not finish"


def clients_connected(port: int, timeout: float = 5.0) -> int:
    """How many clients the broker counts, from its $SYS topics (published every second),
    not counting the client that asks."""
    got: list[int] = []
    done = threading.Event()

    def on_message(client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        got.append(int(message.payload))
        done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.on_connect = lambda c, *args: c.subscribe("$SYS/broker/clients/connected")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        # The first value may predate a client that just connected: take one a second later.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(got) < 2:
            time.sleep(0.05)
        if not got:
            raise AssertionError("the broker published no $SYS/broker/clients/connected")
        return got[-1] - 1
    finally:
        client.disconnect()
        client.loop_stop()
