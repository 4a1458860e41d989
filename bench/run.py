#!/usr/bin/env python3
"""sinkbridge benchmarks, side by side with what users would write instead.

    python3 bench/run.py                 # build a release wheel into bench/.venv, run, print
    python3 bench/run.py --no-install    # reuse bench/.venv as it is
    python3 bench/run.py --rows 200000   # a smaller data set
    python3 bench/run.py --only mqtt     # only the MQTT scenarios
    python3 bench/run.py --only server   # only the server scenario (10,000 rules over REST)
    python3 bench/run.py --only sql-sinks --rows 200000   # the sql and redis sinks (sql_sinks.py)

Each scenario runs in its own process, so that its peak RSS is its own (read with wait4).
Figures are rows per second over the whole input, best of ``--repeat`` runs, and the ratio to
the plain Python script measured in the same run: these machines are shared and noisy, so only
ratios from one run mean anything.

The MQTT scenarios take the same JSON lines as messages, published with QoS 0 by mosquitto_pub
to a private Mosquitto on loopback, and compare the engine with mosquitto_sub writing to
/dev/null (the broker's own delivery rate) and a plain paho-mqtt subscriber script, in messages
per second from the publisher's start to the last message processed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pwd
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import server as server_scenario
import sql_sinks
import windows
from stopwatch import Stopwatch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv"
DATA = HERE / "data"

SQL = "SELECT device, temperature FROM s WHERE temperature > 20"
MQTT_SQL = "SELECT device, temperature FROM demo WHERE temperature > 20"
TOPIC = "bench/readings"


# ----- data -----


def generate(rows: int) -> tuple[Path, int]:
    """The input file, made once per size: JSON lines of sensor readings. Returns the file and
    how many rows pass the filter."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"readings-{rows}.jsonl"
    meta = DATA / f"readings-{rows}.json"
    if path.exists() and meta.exists():
        return path, int(json.loads(meta.read_text())["passing"])
    rng = random.Random(42)
    passing = 0
    with path.open("w") as out:
        for i in range(rows):
            temperature = round(rng.uniform(10.0, 35.0), 1)
            passing += temperature > 20
            out.write(
                json.dumps(
                    {
                        "device": f"dev-{rng.randrange(10_000)}",
                        "temperature": temperature,
                        "humidity": rng.randrange(20, 90),
                        "ts": 1_700_000_000_000 + i,
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
    meta.write_text(json.dumps({"passing": passing}))
    return path, passing


# ----- scenarios (each runs in a child process) -----


def new_engine(data_dir: str | None = None) -> Any:
    """An engine with the benchmark's sinks registered."""
    import sinkbridge as sb

    engine = sb.Engine(data_dir=data_dir)
    for name, cls in SINKS.items():
        engine.register_sink(name, cls)
    return engine


def run_engine(
    path: Path, expected: int, action: dict[str, Any], done: Any = None, data_dir: str | None = None
) -> dict[str, float]:
    """Runs the benchmark rule with one action; returns the time from the engine's start to the
    last row delivered (`done` is set by a Python sink, else the status is polled)."""
    engine = new_engine(data_dir)
    engine.create_stream(f'CREATE STREAM s () WITH (TYPE="file", DATASOURCE="{path}")')
    key = next(iter(action))
    watch = Stopwatch()
    engine.start()
    engine.create_rule({"id": "bench", "sql": SQL, "actions": [action]})
    if done is not None:
        if not done.wait(600):
            raise SystemExit("the rule did not deliver every row")
    else:
        while engine.rule_status("bench")[f"sink_{key}_0_0_records_out_total"] < expected:
            time.sleep(0.002)
    timed = watch.result()
    engine.stop()
    return timed


DONE = threading.Event()
EXPECTED = 0


def _count(n: int) -> None:
    global EXPECTED
    EXPECTED -= n
    if EXPECTED <= 0:
        DONE.set()


def _sinks() -> dict[str, Any]:
    import sinkbridge as sb

    class Count(sb.Sink):
        """Counts rows, as the plain script's sink does."""

        def collect(self, ctx: sb.Context, data: Any) -> None:
            _count(len(data))

    class CountBatch(sb.Sink):
        def collect_batch(self, ctx: sb.Context, items: list[Any]) -> None:
            _count(sum(len(data) for data in items))

    class AsyncCountBatch(sb.Sink):
        async def collect_batch(self, ctx: sb.Context, items: list[Any]) -> None:
            _count(sum(len(data) for data in items))

    return {"count": Count, "count_batch": CountBatch, "async_count_batch": AsyncCountBatch}


SINKS: dict[str, Any] = {}


def python_scenario(action: dict[str, Any], cache: bool = False) -> Any:
    def scenario(path: Path, expected: int) -> dict[str, Any]:
        global EXPECTED

        SINKS.update(_sinks())
        EXPECTED = expected
        with tempfile.TemporaryDirectory() as data_dir:
            return run_engine(path, expected, action, DONE, data_dir if cache else None)

    return scenario


def scenario_file_sink(path: Path, expected: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        action = {"file": {"path": f"{out}/rows.jsonl", "sendSingle": True}}
        timed = run_engine(path, expected, action)
        with open(f"{out}/rows.jsonl", "rb") as written:
            lines = sum(1 for _ in written)
    assert lines == expected, lines
    return timed


class PlainCount:
    """The plain scripts' sink: counts rows, as the Python sinks given to the engine do."""

    def __init__(self) -> None:
        self.count = 0

    def collect(self, ctx: Any, data: Any) -> None:
        self.count += len(data)


def scenario_plain_python(path: Path, expected: int) -> dict[str, Any]:
    """What a user would write without sinkbridge: read lines, json.loads, filter, project,
    and call the same kind of sink's collect with one row at a time."""
    sink = PlainCount()
    watch = Stopwatch()
    with path.open("rb") as lines:
        for line in lines:
            row = json.loads(line)
            if row["temperature"] > 20:
                sink.collect(None, [{"device": row["device"], "temperature": row["temperature"]}])
    timed = watch.result()
    assert sink.count == expected
    return timed


SCENARIOS = {
    "plain Python script": scenario_plain_python,
    "Python sink, collect": python_scenario({"count": {}}),
    "Python sink, collect_batch (1000)": python_scenario({"count_batch": {"batchSize": 1000, "lingerInterval": 10}}),
    "  the same, enableCache on": python_scenario(
        {"count_batch": {"batchSize": 1000, "lingerInterval": 10, "enableCache": True}}, cache=True
    ),
    "async Python sink, collect_batch (1000)": python_scenario(
        {"async_count_batch": {"batchSize": 1000, "lingerInterval": 10}}
    ),
    "Rust file sink (JSON lines)": scenario_file_sink,
}
BASELINE = "plain Python script"


# The MQTT subscribers wait for the last message, but not forever: no message for FIRST_MESSAGE
# seconds after subscribing, or none for STALL seconds after the first, means messages were lost.
FIRST_MESSAGE = 60.0
STALL = 5.0


def wait_until(done: threading.Event, received: Callable[[], int]) -> bool:
    """Waits for `done` while messages keep coming; False when they stopped coming first."""
    last, since = received(), time.monotonic()
    while not done.wait(0.05):
        count = received()
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since > (STALL if last else FIRST_MESSAGE):
            return False
    return True


def scenario_mqtt_engine(path: Path, expected: int, broker: dict[str, Any]) -> dict[str, Any]:
    """The benchmark rule on an MQTT stream into the counting Python sink (`collect`). Done
    when the sink has seen every passing row; the source must also have had every message."""
    global EXPECTED
    SINKS.update(_sinks())
    EXPECTED = expected
    engine = new_engine()
    # The source's qos defaults to 1: the scenario is QoS 0 end to end.
    server = f"tcp://127.0.0.1:{broker['port']}"
    engine.set_source_conf("mqtt", "default", {"server": server, "qos": 0, "clientid": broker["client_id"]})
    engine.create_stream(f'CREATE STREAM demo () WITH (TYPE="mqtt", DATASOURCE="{TOPIC}", FORMAT="json")')
    engine.start()
    engine.create_rule({"id": "bench", "sql": MQTT_SQL, "actions": [{"count": {}}]})

    def received() -> int:
        return int(engine.rule_status("bench")["source_demo_0_records_in_total"])

    delivered = wait_until(DONE, received)
    finished = time.monotonic()
    count = received()
    # The sink has every passing row; the rows after the last of them that did not pass are
    # counted in by now or within moments.
    while delivered and count < broker["messages"] and time.monotonic() < finished + STALL:
        time.sleep(0.005)
        count = received()
    engine.stop()
    return {"finished": finished, "received": count, "delivered": expected - EXPECTED}


def scenario_mqtt_paho(path: Path, expected: int, broker: dict[str, Any]) -> dict[str, Any]:
    """What a user would write without sinkbridge: a paho-mqtt subscriber whose on_message does
    json.loads, the filter and the projection, and calls the same kind of sink's collect."""
    import paho.mqtt.client as mqtt

    sink = PlainCount()
    done = threading.Event()
    received = 0
    finished = 0.0

    def on_connect(client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        client.subscribe(TOPIC, qos=0)

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        nonlocal received, finished
        row = json.loads(message.payload)
        if row["temperature"] > 20:
            sink.collect(None, [{"device": row["device"], "temperature": row["temperature"]}])
        received += 1  # the benchmark's bookkeeping, not the user's
        if received == broker["messages"]:
            finished = time.monotonic()
            done.set()

    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=broker["client_id"])
    client.on_connect = on_connect
    client.on_message = on_message
    client.connect("127.0.0.1", broker["port"])
    client.loop_start()
    if not wait_until(done, lambda: received):
        finished = time.monotonic()
    client.disconnect()
    client.loop_stop()
    return {"finished": finished, "received": received, "delivered": sink.count}


MQTT_SUB = "mosquitto_sub > /dev/null"
MQTT_PAHO = "paho-mqtt script"
MQTT_ENGINE = "sinkbridge, Python sink collect"
MQTT_CHILDREN = {MQTT_PAHO: scenario_mqtt_paho, MQTT_ENGINE: scenario_mqtt_engine}
# Each scenario's client id (with the run's number), by which the broker's log names it.
MQTT_SCENARIOS = {MQTT_SUB: "sub", MQTT_PAHO: "paho", MQTT_ENGINE: "engine"}


def start_child(name: str, path: Path, expected: int, *extra: str) -> subprocess.Popen[str]:
    """Starts one scenario in a fresh process."""
    return subprocess.Popen(
        [
            str(VENV / "bin" / "python"),
            __file__,
            *("--child", name, "--data", str(path), "--expected", str(expected)),
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def reap(process: subprocess.Popen[Any]) -> tuple[int, float]:
    """Waits for a process; returns its exit code and its peak RSS in MB."""
    _, status, usage = os.wait4(process.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024


def finish_child(name: str, process: subprocess.Popen[str]) -> dict[str, Any]:
    """Waits for a scenario's process; returns its result and peak RSS."""
    assert process.stdout is not None
    output = process.stdout.read()
    status, peak_rss_mb = reap(process)
    if status != 0:
        raise SystemExit(f"scenario {name!r} failed")
    result: dict[str, Any] = json.loads(output)
    result["peak_rss_mb"] = peak_rss_mb
    return result


def run_child(name: str, path: Path, expected: int) -> dict[str, Any]:
    """Runs one scenario in a fresh process; returns its result and peak RSS."""
    return finish_child(name, start_child(name, path, expected))


# ----- the MQTT broker and publisher -----

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Broker:
    """A private Mosquitto on a free loopback port, for one bench run.

    `max_queued_messages 0` and `max_queued_bytes 0` lift its limits on what waits for a
    subscriber: by default it holds 1000 messages for each, QoS 0 ones included, and silently
    drops the rest, and every subscriber here is slower than the publisher.

    Its log names each subscription as the broker makes it, which is how a run knows that its
    subscriber is ready before the publisher starts: mosquitto_sub has no other way to say so,
    and a client's own "connected" may come before the broker has handled its SUBSCRIBE.
    Mosquitto is single-threaded, so once that line is written the subscription is in place for
    every message that the broker reads after it. (The log goes to a file, which Mosquitto
    flushes line by line, as it does not when logging to a pipe; `user` keeps it from dropping
    root, when run as root, to a user that could not write there.)"""

    SUBSCRIBED = re.compile(r"^\d+: (\S+) (\d) (\S+)$")  # "<time>: <client id> <qos> <topic>"

    def __init__(self) -> None:
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="sinkbridge-bench-")
        self.log_path = Path(self._dir.name) / "mosquitto.log"
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 0\n"
            "persistence false\n"
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
            f"log_dest file {self.log_path}\n"
            "log_type error\n"
            "log_type warning\n"
            "log_type notice\n"
            "log_type subscribe\n"
        )
        with (Path(self._dir.name) / "mosquitto.out").open("wb") as out:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    why = self.log(20)
                    self.close()
                    raise SystemExit(f"mosquitto did not start:\n{why}") from None
                time.sleep(0.02)

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._dir.cleanup()

    def log(self, last: int) -> str:
        """The last lines of what Mosquitto wrote, for error messages."""
        lines: list[str] = []
        for name in ("mosquitto.out", "mosquitto.log"):
            with contextlib.suppress(OSError):
                lines += (Path(self._dir.name) / name).read_text(errors="replace").splitlines()
        return "\n".join(lines[-last:])

    def wait_subscribed(self, client_id: str, subscriber: subprocess.Popen[Any], timeout: float = 30) -> None:
        """Waits until the broker has `client_id`'s subscription to TOPIC."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(FileNotFoundError), self.log_path.open() as log:
                for line in log:
                    match = self.SUBSCRIBED.match(line.rstrip("\n"))
                    if match and match[1] == client_id and match[3] == TOPIC:
                        if match[2] != "0":
                            raise SystemExit(f"the subscriber {client_id} subscribed with QoS {match[2]}, not 0")
                        return
            if subscriber.poll() is not None:
                raise SystemExit(f"the subscriber {client_id} exited before subscribing")
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the subscriber {client_id} did not subscribe; the broker's log:\n{self.log(20)}")
            time.sleep(0.01)


class Publisher:
    """mosquitto_pub sending each line of the file as one QoS 0 message (`-l`: the loss past
    65,535 lines that tests/mqtt_helpers.py works around is at QoS 1, and every run here checks
    that each message arrived)."""

    def __init__(self, port: int, path: Path, client_id: str) -> None:
        self.finished = 0.0
        with path.open("rb") as lines:
            self.started = time.monotonic()
            self.process = subprocess.Popen(
                ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-i", client_id, "-t", TOPIC, "-q", "0", "-l"],
                stdin=lines,
            )
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        self.process.wait()
        self.finished = time.monotonic()

    def join(self, timeout: float) -> float | None:
        """The seconds mosquitto_pub took; None if it failed."""
        self._waiter.join(timeout)
        if self._waiter.is_alive():
            self.process.kill()
            self._waiter.join()
            return None
        return self.finished - self.started if self.process.returncode == 0 else None


def run_mqtt(broker: Broker, name: str, path: Path, expected: int, messages: int, run: int) -> dict[str, Any]:
    """One run of one MQTT scenario. The subscriber starts; once the broker has its
    subscription, the publisher starts; the time is from the publisher's start to the
    subscriber's last message processed (all three alike, so that the ratios are fair)."""
    client_id = f"bench-{MQTT_SCENARIOS[name]}-{run}"
    deadline = 60 + messages // 10_000
    process: subprocess.Popen[Any]
    if name == MQTT_SUB:
        command = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-i", client_id, "-t", TOPIC]
        process = subprocess.Popen(
            [*command, "-q", "0", "-C", str(messages), "-W", str(deadline)], stdout=subprocess.DEVNULL
        )
    else:
        conf = json.dumps({"port": broker.port, "client_id": client_id, "messages": messages})
        process = start_child(name, path, expected, "--broker", conf)
    publisher = None
    try:
        broker.wait_subscribed(client_id, process)
        publisher = Publisher(broker.port, path, f"bench-pub-{run}")
        if name == MQTT_SUB:
            status, peak_rss_mb = reap(process)
            # -C: it exits 0 once it has had every message; -W: 27 when the time is up.
            received = messages if status == 0 else None
            result = {"finished": time.monotonic(), "received": received, "peak_rss_mb": peak_rss_mb}
        else:
            result = finish_child(name, process)
        result["published_seconds"] = publisher.join(deadline)
    except BaseException:
        for running in (process, publisher.process if publisher else None):
            if running is not None and running.poll() is None:
                running.kill()
                running.wait()
        raise
    result["seconds"] = result["finished"] - publisher.started
    result["complete"] = result["received"] == messages and result.get("delivered", expected) == expected
    return result


# ----- windows -----


def run_windows_section(args: argparse.Namespace) -> None:
    """bench/windows.py's scenarios, each in its own process, best of --repeat."""
    path, _ = generate(args.rows)
    expected = windows.closed_windows(args.rows)
    results = best_of_rounds(
        list(windows.SCENARIOS),
        lambda name: finish_child(name, start_child(name, path, expected, "--windows")),
        args.repeat,
    )
    print(
        f"\n{args.rows:,} JSON lines, 10,000 devices, event time, {expected:,} windows closed by "
        f"`{windows.WINDOW_SQL}`; best of {args.repeat}\n"
    )
    print_rates(results, results[windows.SCRIPT], args.rows)


# ----- the sql and redis sinks -----


def run_sql_sinks_section(args: argparse.Namespace) -> None:
    """bench/sql_sinks.py's scenarios, each in its own process, best of --repeat; every row of
    the data set goes to the database."""
    path, _ = generate(args.rows)
    results = best_of_rounds(
        list(sql_sinks.SCENARIOS),
        lambda name: finish_child(name, start_child(name, path, args.rows, "--sql-sinks")),
        args.repeat,
    )
    print(f"\n{args.rows:,} rows through `{sql_sinks.SQL}` into PostgreSQL and Redis; best of {args.repeat}\n")
    print(f"{'scenario':<42} {'rows/s':>12} {'vs script':>10} {'peak RSS':>10}")
    targets = []
    for name, result in results.items():
        rate = args.rows / result["seconds"]
        baseline = sql_sinks.BASELINES.get(name, name)
        ratio = rate / (args.rows / results[baseline]["seconds"])
        print(f"{name:<42} {rate:>12,.0f} {ratio:>9.2f}x {result['peak_rss_mb']:>8.1f} MB")
        if baseline != name:
            targets.append(f"{name}: {ratio:.2f}x >= 5x {'met' if ratio >= 5 else 'MISSED'}")
    print("targets: " + "; ".join(targets))


# ----- the harness -----


def install() -> None:
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    print("building and installing a release wheel into bench/.venv ...", file=sys.stderr)
    subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"{ROOT}[redis,postgres]",
            "paho-mqtt>=2.1,<3",
        ],
        check=True,
    )


def best_of_rounds(names: list[str], run: Callable[[str], dict[str, Any]], repeat: int) -> dict[str, dict[str, Any]]:
    """Runs each scenario `repeat` times, round by round (one run of each per round), so that a
    busy spell of this shared machine slows one round of every scenario alike rather than all
    the runs of one scenario. Returns each one's fastest run, with its largest peak RSS."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(repeat):
        for name in names:
            runs[name].append(run(name))
    results: dict[str, dict[str, Any]] = {}
    for name, done in runs.items():
        best = min(done, key=lambda r: r["seconds"])
        best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in done)
        results[name] = best
    return results


def run_files(args: argparse.Namespace) -> None:
    path, expected = generate(args.rows)
    names = [name for name in SCENARIOS if not args.only or name == BASELINE or args.only in name]
    results = best_of_rounds(names, lambda name: run_child(name, path, expected), args.repeat)

    print(f"\n{args.rows:,} JSON lines, {expected:,} pass `{SQL}`; best of {args.repeat}\n")
    print_rates(results, results[BASELINE], args.rows)


def print_rates(results: dict[str, dict[str, Any]], baseline: dict[str, Any], rows: int) -> None:
    """Rows/s and its ratio to the baseline's, and the CPU time per row (every thread of the
    scenario's process, over the timed span; of the fastest run) and its ratio, which the
    machine's load moves much less."""
    print(f"{'scenario':<42} {'rows/s':>12} {'vs script':>10} {'CPU/row':>9} {'CPU vs script':>14} {'peak RSS':>10}")
    for name, result in results.items():
        rate = rows / result["seconds"]
        cpu = result["cpu_seconds"] / rows * 1e6
        cpu_ratio = baseline["cpu_seconds"] / result["cpu_seconds"]
        print(
            f"{name:<42} {rate:>12,.0f} {rate * baseline['seconds'] / rows:>9.2f}x {cpu:>6.2f} us "
            f"{cpu_ratio:>13.2f}x {result['peak_rss_mb']:>8.1f} MB"
        )


def run_mqtt_section(args: argparse.Namespace) -> None:
    missing = [tool for tool in (MOSQUITTO, "mosquitto_pub", "mosquitto_sub") if shutil.which(tool) is None]
    if missing:
        why = f"the MQTT scenarios need {', '.join(missing)} (apt-get install mosquitto mosquitto-clients)"
        if args.only:
            raise SystemExit(why)
        print(f"\nMQTT scenarios skipped: {why}")
        return
    messages = args.mqtt_messages
    path, expected = generate(messages)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in MQTT_SCENARIOS}
    with Broker() as broker:
        # Round by round, so that the three scenarios of a round see about the same machine.
        for run in range(args.repeat):
            for name in MQTT_SCENARIOS:
                runs[name].append(run_mqtt(broker, name, path, expected, messages, run))
    version = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True).stdout.splitlines()[0]

    rates: dict[str, float] = {}
    for name, results in runs.items():
        complete = [r["seconds"] for r in results if r["complete"]]
        if complete:
            rates[name] = messages / min(complete)
    published = [r["published_seconds"] for results in runs.values() for r in results if r["published_seconds"]]

    def ratio(name: str, baseline: str) -> str:
        return f"{rates[name] / rates[baseline]:.2f}x" if name in rates and baseline in rates else "-"

    print(
        f"\n{messages:,} JSON messages, QoS 0, {version} on loopback, {expected:,} pass `{MQTT_SQL}`; "
        f"best of {args.repeat}"
    )
    if published:
        print(f"mosquitto_pub alone: {messages / min(published):,.0f} msgs/s, the best of its {len(published)} runs\n")
    print(f"{'scenario':<42} {'msgs/s':>12} {'vs mosquitto_sub':>17} {'vs paho':>8} {'peak RSS':>10}")
    for name, results in runs.items():
        rate = f"{rates[name]:,.0f}" if name in rates else "lost"
        peak = max(r["peak_rss_mb"] for r in results)
        print(f"{name:<42} {rate:>12} {ratio(name, MQTT_SUB):>17} {ratio(name, MQTT_PAHO):>8} {peak:>8.1f} MB")
    for name, results in runs.items():
        for run, r in enumerate(results, 1):
            if r["published_seconds"] is None:
                print(f"{name}, run {run}: mosquitto_pub failed or did not finish")
            if r["complete"]:
                continue
            if r["received"] is None:
                print(f"{name}, run {run}: not every message came before mosquitto_sub's -W deadline")
            else:
                print(
                    f"{name}, run {run}: {r['received']:,} of {messages:,} messages in, "
                    f"{r['delivered']:,} of {expected:,} rows delivered"
                )
    if MQTT_ENGINE in rates:
        engine, peak = rates[MQTT_ENGINE], max(r["peak_rss_mb"] for r in runs[MQTT_ENGINE])
        targets = [
            (f"{ratio(MQTT_ENGINE, MQTT_SUB)} mosquitto_sub >= 0.90x", engine >= 0.9 * rates.get(MQTT_SUB, math.inf)),
            (f"{ratio(MQTT_ENGINE, MQTT_PAHO)} paho >= 3.50x", engine >= 3.5 * rates.get(MQTT_PAHO, math.inf)),
            (f"{peak:.1f} MB < 40 MB", peak < 40),
        ]
        print("targets: " + "; ".join(f"{text} {'met' if met else 'MISSED'}" for text, met in targets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--mqtt-messages", type=int, default=200_000, help="messages for the MQTT scenarios")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario; the best counts")
    parser.add_argument("--no-install", action="store_true", help="reuse bench/.venv without rebuilding")
    parser.add_argument(
        "--only",
        help="run only the file scenarios whose name contains this text (and the script); "
        "`--only mqtt` runs only the MQTT scenarios, `--only windows` only the windows ones, "
        "`--only server` only the server one, `--only sql-sinks` only the sql and redis sinks' (bench/sql_sinks.py)",
    )
    parser.add_argument("--rules", type=int, default=10_000, help="rules for the server scenario")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--broker", help=argparse.SUPPRESS)
    parser.add_argument("--windows", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sql-sinks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.windows:
            result = windows.SCENARIOS[args.child](Path(args.data), args.expected)
        elif args.sql_sinks:
            result = sql_sinks.SCENARIOS[args.child](Path(args.data), args.expected)
        elif args.broker:
            result = MQTT_CHILDREN[args.child](Path(args.data), args.expected, json.loads(args.broker))
        else:
            result = SCENARIOS[args.child](Path(args.data), args.expected)
        print(json.dumps(result))
        return

    only = (args.only or "").lower()
    if not args.no_install:
        install()
    if only not in ("mqtt", "windows", "server", "sql-sinks"):
        run_files(args)
    if args.only is None or only == "mqtt":
        run_mqtt_section(args)
    if args.only is None or only == "windows":
        run_windows_section(args)
    if args.only is None or only == "server":
        server_scenario.report(server_scenario.run(VENV / "bin" / "sinkbridge", args.rules))
    if args.only is None or only == "sql-sinks":
        run_sql_sinks_section(args)


if __name__ == "__main__":
    main()
