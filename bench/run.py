#!/usr/bin/env python3
"""sinkbridge benchmarks, side by side with what users would write instead.

    python3 bench/run.py                 # build a release wheel into bench/.venv, run, print
    python3 bench/run.py --no-install    # reuse bench/.venv as it is
    python3 bench/run.py --rows 200000   # a smaller data set

Each scenario runs in its own process, so that its peak RSS is its own (read with wait4).
Figures are rows per second over the whole input, best of ``--repeat`` runs, and the ratio to
the plain Python script measured in the same run: these machines are shared and noisy, so only
ratios from one run mean anything.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv"
DATA = HERE / "data"

SQL = "SELECT device, temperature FROM s WHERE temperature > 20"


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


def run_engine(
    path: Path, expected: int, action: dict[str, Any], done: Any = None, data_dir: str | None = None
) -> float:
    """Runs the benchmark rule with one action; returns the seconds from the engine's start to
    the last row delivered (`done` is set by a Python sink, else the status is polled)."""
    import sinkbridge as sb

    engine = sb.Engine(data_dir=data_dir)
    for name, cls in SINKS.items():
        engine.register_sink(name, cls)
    engine.create_stream(f'CREATE STREAM s () WITH (TYPE="file", DATASOURCE="{path}")')
    key = next(iter(action))
    started = time.perf_counter()
    engine.start()
    engine.create_rule({"id": "bench", "sql": SQL, "actions": [action]})
    if done is not None:
        if not done.wait(600):
            raise SystemExit("the rule did not deliver every row")
    else:
        while engine.rule_status("bench")[f"sink_{key}_0_0_records_out_total"] < expected:
            time.sleep(0.002)
    elapsed = time.perf_counter() - started
    engine.stop()
    return elapsed


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
        import tempfile

        SINKS.update(_sinks())
        EXPECTED = expected
        with tempfile.TemporaryDirectory() as data_dir:
            return {"seconds": run_engine(path, expected, action, DONE, data_dir if cache else None)}

    return scenario


def scenario_file_sink(path: Path, expected: int) -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        action = {"file": {"path": f"{out}/rows.jsonl", "sendSingle": True}}
        seconds = run_engine(path, expected, action)
        with open(f"{out}/rows.jsonl", "rb") as written:
            lines = sum(1 for _ in written)
    assert lines == expected, lines
    return {"seconds": seconds}


def scenario_plain_python(path: Path, expected: int) -> dict[str, Any]:
    """What a user would write without sinkbridge: read lines, json.loads, filter, project,
    and call the same kind of sink's collect with one row at a time."""

    class Count:
        def __init__(self) -> None:
            self.count = 0

        def collect(self, ctx: Any, data: Any) -> None:
            self.count += len(data)

    sink = Count()
    started = time.perf_counter()
    with path.open("rb") as lines:
        for line in lines:
            row = json.loads(line)
            if row["temperature"] > 20:
                sink.collect(None, [{"device": row["device"], "temperature": row["temperature"]}])
    elapsed = time.perf_counter() - started
    assert sink.count == expected
    return {"seconds": elapsed}


SCENARIOS = {
    "plain Python script": scenario_plain_python,
    "Python sink, collect": python_scenario({"count": {}}),
    "Python sink, collect_batch (1000)": python_scenario({"count_batch": {"batchSize": 1000, "lingerInterval": 100}}),
    "  the same, enableCache on": python_scenario(
        {"count_batch": {"batchSize": 1000, "lingerInterval": 100, "enableCache": True}}, cache=True
    ),
    "async Python sink, collect_batch (1000)": python_scenario(
        {"async_count_batch": {"batchSize": 1000, "lingerInterval": 100}}
    ),
    "Rust file sink (JSON lines)": scenario_file_sink,
}
BASELINE = "plain Python script"


def run_child(name: str, path: Path, expected: int) -> dict[str, Any]:
    """Runs one scenario in a fresh process; returns its result and peak RSS."""
    process = subprocess.Popen(
        [str(VENV / "bin" / "python"), __file__, "--child", name, "--data", str(path), "--expected", str(expected)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"scenario {name!r} failed")
    result: dict[str, Any] = json.loads(output)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


# ----- the harness -----


def install() -> None:
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    print("building and installing a release wheel into bench/.venv ...", file=sys.stderr)
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario; the best counts")
    parser.add_argument("--no-install", action="store_true", help="reuse bench/.venv without rebuilding")
    parser.add_argument("--only", help="run only the scenarios whose name contains this text (and the script)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(SCENARIOS[args.child](Path(args.data), args.expected)))
        return

    if not args.no_install:
        install()
    path, expected = generate(args.rows)
    results: dict[str, dict[str, Any]] = {}
    for name in SCENARIOS:
        if args.only and name != BASELINE and args.only not in name:
            continue
        runs = [run_child(name, path, expected) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        results[name] = best

    baseline = args.rows / results[BASELINE]["seconds"]
    print(f"\n{args.rows:,} JSON lines, {expected:,} pass `{SQL}`; best of {args.repeat}\n")
    print(f"{'scenario':<42} {'rows/s':>12} {'vs script':>10} {'peak RSS':>10}")
    for name, result in results.items():
        rate = args.rows / result["seconds"]
        print(f"{name:<42} {rate:>12,.0f} {rate / baseline:>9.2f}x {result['peak_rss_mb']:>8.1f} MB")


if __name__ == "__main__":
    main()
