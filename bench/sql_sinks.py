"""The sinks-to-databases scenarios: every row of the file scenario's data (200,000 by default)
through `SELECT device, temperature, humidity, ts FROM s` into PostgreSQL with the `sql` sink and
into Redis with the `redis` sink, both with `batchSize` 1000, side by side with what a user would
write instead: a plain script that reads the same lines and writes each row with one statement
(psycopg's `INSERT`, redis-py's `SET`) as it goes.

PostgreSQL: 127.0.0.1:5432, database `test`, user `postgres` (trust); each run writes a table of
its own and drops it. Redis: 127.0.0.1:6379, database 9 (emptied before and after each run), one key a row: its `ts`.
A scenario is done when every row is in the database (counted there, by the script's own client).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

PG_URL = "postgres://postgres@127.0.0.1:5432/test"
REDIS_DB = 9
SQL = "SELECT device, temperature, humidity, ts FROM s"
BATCH = 1000
COLUMNS = "device TEXT, temperature DOUBLE PRECISION, humidity BIGINT, ts BIGINT"


def _table() -> str:
    return f"bench_{uuid.uuid4().hex[:10]}"


def _rows(path: Path) -> Any:
    with path.open() as lines:
        for line in lines:
            yield json.loads(line)


def _engine_run(path: Path, action: dict[str, Any], landed: Any, expected: int) -> float:
    """Runs the rule into `action`; returns the seconds from the engine's start to the moment
    `landed()` (counted in the database) reaches `expected`."""
    import sinkbridge as sb

    engine = sb.Engine()
    engine.create_stream(f'CREATE STREAM s () WITH (TYPE="file", DATASOURCE="{path}")')
    started = time.perf_counter()
    engine.start()
    engine.create_rule({"id": "bench", "sql": SQL, "actions": [action]})
    key = next(iter(action))
    # The sink's own count first (cheap), then the database's.
    while engine.rule_status("bench")[f"sink_{key}_0_0_records_out_total"] < expected:
        time.sleep(0.005)
    while landed() < expected:
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    engine.stop()
    return elapsed


def scenario_psycopg_script(path: Path, expected: int) -> dict[str, Any]:
    """One INSERT per row, as it is read, in one transaction committed at the end."""
    import psycopg

    table = _table()
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"CREATE TABLE {table} ({COLUMNS})")
        try:
            started = time.perf_counter()
            with psycopg.connect(PG_URL) as conn:
                sql = f"INSERT INTO {table} (device, temperature, humidity, ts) VALUES (%s, %s, %s, %s)"
                for row in _rows(path):
                    conn.execute(sql, (row["device"], row["temperature"], row["humidity"], row["ts"]))
                conn.commit()
            elapsed = time.perf_counter() - started
            landed = admin.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            if landed is None or landed[0] != expected:
                raise SystemExit(f"the script wrote {landed} rows, not {expected}")
        finally:
            admin.execute(f"DROP TABLE {table}")
    return {"seconds": elapsed}


def scenario_sql_sink(path: Path, expected: int) -> dict[str, Any]:
    import psycopg

    table = _table()
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"CREATE TABLE {table} ({COLUMNS})")
        try:

            def landed() -> int:
                row = admin.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
                return int(row[0]) if row else 0

            action = {"sql": {"url": PG_URL, "table": table, "batchSize": BATCH}}
            elapsed = _engine_run(path, action, landed, expected)
        finally:
            admin.execute(f"DROP TABLE {table}")
    return {"seconds": elapsed}


def _redis() -> Any:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.flushdb()
    return client


def scenario_redis_script(path: Path, expected: int) -> dict[str, Any]:
    """One SET per row, as it is read."""
    client = _redis()
    try:
        started = time.perf_counter()
        for row in _rows(path):
            client.set(str(row["ts"]), json.dumps(row, separators=(",", ":")))
        elapsed = time.perf_counter() - started
        assert client.dbsize() == expected
    finally:
        client.flushdb()
        client.close()
    return {"seconds": elapsed}


def scenario_redis_sink(path: Path, expected: int) -> dict[str, Any]:
    client = _redis()
    try:
        action = {"redis": {"addr": "127.0.0.1:6379", "db": REDIS_DB, "field": "ts", "batchSize": BATCH}}
        elapsed = _engine_run(path, action, client.dbsize, expected)
    finally:
        client.flushdb()
        client.close()
    return {"seconds": elapsed}


PSYCOPG_SCRIPT = "plain psycopg script, one INSERT a row"
REDIS_SCRIPT = "plain redis-py script, one SET a row"
SCENARIOS = {
    PSYCOPG_SCRIPT: scenario_psycopg_script,
    f"sql sink into PostgreSQL, batchSize {BATCH}": scenario_sql_sink,
    REDIS_SCRIPT: scenario_redis_script,
    f"redis sink, batchSize {BATCH}": scenario_redis_sink,
}
# Each sink scenario's baseline.
BASELINES = {
    f"sql sink into PostgreSQL, batchSize {BATCH}": PSYCOPG_SCRIPT,
    f"redis sink, batchSize {BATCH}": REDIS_SCRIPT,
}
