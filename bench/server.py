"""The server scenario: many rules on one shared stream, managed over REST.

A release `sinkbridge serve` (bench/.venv's) gets one `SHARED` memory stream and `--rules`
rules over REST, each `SELECT * FROM s WHERE temperature > <its own threshold>` into `nop`.
A feeder rule replays 1,000 rows from a file into the stream's topic through a `memory` sink,
and every rule sees them. Reported: the time to create the rules, the server's resident memory
per rule (its RSS with the rules, less its RSS before them, over the count), and the time from
a restart to a server that answers with every rule back and running.

eKuiper publishes 400-500 KB per rule; the targets are 50 KB per rule and a restart under 10 s.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = 1_000
STREAM = 'CREATE STREAM s (device string, temperature float) WITH (TYPE="memory", DATASOURCE="bench/in", SHARED="true")'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Api:
    """One keep-alive connection to the server."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        payload = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        return response.status, response.read()

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, data = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return data


class Server:
    def __init__(self, sinkbridge: Path, data_dir: Path, port: int, log: Path) -> None:
        self.port = port
        self.started = time.perf_counter()
        self.log = log.open("a")
        self.process = subprocess.Popen(
            [
                str(sinkbridge),
                "--log-level",
                "warning",
                "serve",
                "--data-dir",
                str(data_dir),
                "--bind",
                f"127.0.0.1:{port}",
            ],
            stdout=self.log,
            stderr=self.log,
        )

    def wait_ready(self, timeout: float = 300) -> float:
        """Seconds from the start until the server answers."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return time.perf_counter() - self.started
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.01)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(300)
        self.log.close()


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def run(sinkbridge: Path, rules: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sinkbridge-bench-server-") as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "rows.jsonl"
        data.write_text(
            "".join(json.dumps({"device": f"d{i % 100}", "temperature": i % 50}) + "\n" for i in range(ROWS))
        )
        port = free_port()
        server = Server(sinkbridge, tmp_path / "data", port, tmp_path / "server.log")
        server.wait_ready()
        api = Api(port)
        time.sleep(1)  # let the freshly started process settle before the baseline
        before_kb = rss_kb(server.process.pid)
        api.ok(
            "POST",
            "/streams",
            {"sql": STREAM},
        )
        began = time.perf_counter()
        for i in range(rules):
            rule = {"id": f"r{i}", "sql": f"SELECT * FROM s WHERE temperature > {i % 50}", "actions": [{"nop": {}}]}
            api.ok("POST", "/rules", rule)
        create_seconds = time.perf_counter() - began

        api.ok("POST", "/streams", {"sql": f'CREATE STREAM feed () WITH (TYPE="file", DATASOURCE="{data}")'})
        api.ok(
            "POST",
            "/rules",
            {"id": "feeder", "sql": "SELECT * FROM feed", "actions": [{"memory": {"topic": "bench/in"}}]},
        )

        def all_in(rule_id: str) -> bool:
            status = json.loads(api.ok("GET", f"/rules/{rule_id}/status"))
            return bool(status["source_s_0_records_in_total"] == ROWS)

        wait_for(lambda: all_in("r0") and all_in(f"r{rules - 1}"), 300, "every rule to read the rows")
        after_kb = rss_kb(server.process.pid)
        api.conn.close()
        server.stop()

        restarted = Server(sinkbridge, tmp_path / "data", port, tmp_path / "server.log")
        restart_seconds = restarted.wait_ready()
        api = Api(port)
        listed = json.loads(api.ok("GET", "/rules"))
        running = sum(1 for r in listed if r["status"] == "running")
        api.conn.close()
        restarted.stop()
        return {
            "rules": rules,
            "create_seconds": create_seconds,
            "rss_before_mb": before_kb / 1024,
            "rss_after_mb": after_kb / 1024,
            "kb_per_rule": (after_kb - before_kb) / rules,
            "restart_seconds": restart_seconds,
            "running_after_restart": running,
            "listed_after_restart": len(listed),
        }


def report(result: dict[str, Any]) -> None:
    rules = result["rules"]
    print(f"\n{rules:,} rules over REST on one SHARED memory stream, each SELECT ... WHERE into nop; {ROWS:,} rows")
    print(f"created in {result['create_seconds']:.1f} s ({rules / result['create_seconds']:,.0f} rules/s)")
    print(
        f"RSS {result['rss_before_mb']:.1f} MB before, {result['rss_after_mb']:.1f} MB after: "
        f"{result['kb_per_rule']:.1f} KB per rule"
    )
    print(
        f"restart: {result['restart_seconds']:.2f} s to answer with {result['running_after_restart']:,} of "
        f"{result['listed_after_restart']:,} rules running"
    )
    targets = [
        (f"{result['kb_per_rule']:.1f} KB per rule <= 50 KB", result["kb_per_rule"] <= 50),
        (f"restart {result['restart_seconds']:.2f} s < 10 s", result["restart_seconds"] < 10),
        ("every rule back", result["running_after_restart"] == rules + 1),  # and the feeder
    ]
    print("targets: " + "; ".join(f"{text} {'met' if met else 'MISSED'}" for text, met in targets))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sinkbridge", default=str(Path(__file__).resolve().parent / ".venv" / "bin" / "sinkbridge"))
    parser.add_argument("--rules", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("VIRTUAL_ENV", str(Path(args.sinkbridge).resolve().parent.parent))
    report(run(Path(args.sinkbridge), args.rules))
