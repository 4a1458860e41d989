"""The windows scenario: event-time tumbling windows with GROUP BY and aggregates, side by side
with a plain Python script doing the same aggregation with dicts.

Every row of the file scenario's data (10,000 devices, one row a millisecond of event time)
goes through

    SELECT device, avg(temperature), max(humidity) FROM s
    GROUP BY device, TUMBLINGWINDOW(ss, 1)

in event time (`isEventTime`, `lateTolerance` 1 s): a window closes once the latest timestamp
less a second passes its end. Each closed window is one result. The last window or two never
close (no later row moves the watermark past them); every scenario stops at the same count of
closed windows, which `closed_windows` works out from the data's timestamps.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from stopwatch import Stopwatch

WINDOW_SQL = "SELECT device, avg(temperature), max(humidity) FROM s GROUP BY device, TUMBLINGWINDOW(ss, 1)"
WINDOW_MS = 1_000
LATE_TOLERANCE_MS = 1_000
FIRST_TS = 1_700_000_000_000  # bench/run.py's generate(): row i has ts FIRST_TS + i


def closed_windows(rows: int) -> int:
    """The windows whose end the final watermark reaches."""
    watermark = FIRST_TS + rows - 1 - LATE_TOLERANCE_MS
    first = FIRST_TS // WINDOW_MS
    return max(0, watermark // WINDOW_MS - first)


def scenario_script(path: Path, expected: int) -> dict[str, Any]:
    """What a user would write: json.loads each line, keep a dict of groups per open window,
    close the windows the watermark passes, and hand each window's rows to a sink."""
    windows_done = 0
    open_windows: dict[int, dict[str, list[float]]] = {}
    latest = None
    watch = Stopwatch()
    with path.open("rb") as lines:
        for line in lines:
            row = json.loads(line)
            ts = row["ts"]
            latest = ts if latest is None or ts > latest else latest
            watermark = latest - LATE_TOLERANCE_MS
            if ts < watermark:
                continue  # late
            groups = open_windows.setdefault(ts // WINDOW_MS, {})
            group = groups.get(row["device"])
            if group is None:
                groups[row["device"]] = [row["temperature"], 1, row["humidity"]]
            else:
                group[0] += row["temperature"]
                group[1] += 1
                if row["humidity"] > group[2]:
                    group[2] = row["humidity"]
            while open_windows and (min(open_windows) + 1) * WINDOW_MS <= watermark:
                closing = open_windows.pop(min(open_windows))
                result = [{"device": d, "avg": g[0] / g[1], "max": g[2]} for d, g in closing.items()]
                if result:
                    windows_done += 1
    timed = watch.result()
    assert windows_done == expected, (windows_done, expected)
    return timed


def _engine(path: Path, action: dict[str, Any], sinks: dict[str, Any]) -> Any:
    import sinkbridge as sb

    engine = sb.Engine()
    for name, cls in sinks.items():
        engine.register_sink(name, cls)
    engine.create_stream(f'CREATE STREAM s () WITH (TYPE="file", DATASOURCE="{path}", TIMESTAMP="ts")')
    engine.start()
    engine.create_rule(
        {
            "id": "windows",
            "sql": WINDOW_SQL,
            "actions": [action],
            "options": {"isEventTime": True, "lateTolerance": LATE_TOLERANCE_MS},
        }
    )
    return engine


def scenario_nop(path: Path, expected: int) -> dict[str, Any]:
    import sinkbridge  # noqa: F401  (imported before the clock starts, as the script's json is)

    watch = Stopwatch()
    engine = _engine(path, {"nop": {}}, {})
    while engine.rule_status("windows")["sink_nop_0_0_records_in_total"] < expected:
        time.sleep(0.002)
    timed = watch.result()
    engine.stop()
    return timed


def scenario_python(path: Path, expected: int) -> dict[str, Any]:
    import sinkbridge as sb

    done = threading.Event()
    seen = [0]

    class CountWindows(sb.Sink):
        def collect(self, ctx: sb.Context, data: Any) -> None:
            seen[0] += 1
            if seen[0] >= expected:
                done.set()

    watch = Stopwatch()
    engine = _engine(path, {"count_windows": {}}, {"count_windows": CountWindows})
    if not done.wait(600):
        raise SystemExit("the windows did not all close")
    timed = watch.result()
    engine.stop()
    return timed


SCRIPT = "plain Python script (dicts)"
SCENARIOS = {
    SCRIPT: scenario_script,
    "sinkbridge, nop sink": scenario_nop,
    "sinkbridge, Python sink": scenario_python,
}
