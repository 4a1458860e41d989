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


def scenario_sinkbridge_file_to_python(path: Path, expected: int) -> dict[str, Any]:
    import threading

    import sinkbridge as sb

    done = threading.Event()
    counted: list[int] = []

    class Count(sb.Sink):
        """Counts rows, as the plain script's sink does."""

        def configure(self, props: dict[str, Any]) -> None:
            self.count = 0

        def collect(self, ctx: sb.Context, data: Any) -> None:
            self.count += len(data)
            if self.count >= expected:
                done.set()

        def close(self, ctx: sb.Context) -> None:
            counted.append(self.count)

    engine = sb.Engine()
    engine.register_sink("count", Count)
    engine.create_stream(f'CREATE STREAM s () WITH (TYPE="file", DATASOURCE="{path}")')
    started = time.perf_counter()
    engine.start()
    engine.create_rule({"id": "bench", "sql": SQL, "actions": [{"count": {}}]})
    if not done.wait(600):
        raise SystemExit("the rule did not deliver every row")
    elapsed = time.perf_counter() - started
    engine.stop()
    assert counted == [expected], counted
    return {"seconds": elapsed}


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
    "sinkbridge, file -> Python sink": scenario_sinkbridge_file_to_python,
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
        runs = [run_child(name, path, expected) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        results[name] = best

    baseline = args.rows / results[BASELINE]["seconds"]
    print(f"\n{args.rows:,} JSON lines, {expected:,} pass `{SQL}`; best of {args.repeat}\n")
    print(f"{'scenario':<36} {'rows/s':>12} {'vs script':>10} {'peak RSS':>10}")
    for name, result in results.items():
        rate = args.rows / result["seconds"]
        print(f"{name:<36} {rate:>12,.0f} {rate / baseline:>9.2f}x {result['peak_rss_mb']:>8.1f} MB")


if __name__ == "__main__":
    main()
