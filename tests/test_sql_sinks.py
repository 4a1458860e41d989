"""The `sql` sink against PostgreSQL (127.0.0.1:5432, database `test`), MariaDB (127.0.0.1:3306,
database `test`) and SQLite, read back with psycopg, pymysql and sqlite3."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
import sinkbridge as sb

from .conftest import wait_for
from .sink_services import STREAM, require_service, sink_status, unique

HOSTILE = "'); DROP TABLE x; --"
PG_URL = "postgres://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306/test"


@dataclass
class Database:
    """A table of the test's own in one database, and how to read it back."""

    url: str
    table: str
    query: Callable[[str], list[tuple[Any, ...]]]
    # How the database gives a boolean back (MariaDB has none: TINYINT 0 or 1).
    boolean: Callable[[bool], Any]


def _postgres(table: str) -> Iterator[Database]:
    require_service(5432, "PostgreSQL")
    conn = psycopg.connect(PG_URL, autocommit=True)
    conn.execute(
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name TEXT, temp DOUBLE PRECISION, ok BOOLEAN, tags JSONB)"
    )

    def query(sql: str) -> list[tuple[Any, ...]]:
        return conn.execute(sql).fetchall()

    try:
        yield Database(PG_URL, table, query, lambda b: b)
    finally:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.close()


def _mysql(table: str) -> Iterator[Database]:
    require_service(3306, "MariaDB")
    conn = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True, charset="utf8mb4")
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name TEXT, temp DOUBLE, ok BOOLEAN, tags JSON) "
            "CHARACTER SET utf8mb4"
        )

    def query(sql: str) -> list[tuple[Any, ...]]:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    try:
        yield Database(MYSQL_URL, table, query, int)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        conn.close()


def _sqlite(table: str, folder: Path) -> Iterator[Database]:
    path = folder / "test.db"
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT, temp REAL, ok BOOLEAN, tags TEXT)")
    conn.commit()

    def query(sql: str) -> list[tuple[Any, ...]]:
        return conn.execute(sql).fetchall()

    try:
        yield Database(f"sqlite:///{path}", table, query, int)
    finally:
        conn.close()


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    table = unique("sbtest")
    if request.param == "postgres":
        yield from _postgres(table)
    elif request.param == "mysql":
        yield from _mysql(table)
    else:
        yield from _sqlite(table, tmp_path)


def run_rule(engine: sb.Engine, action: dict[str, Any]) -> None:
    engine.create_stream(STREAM)
    engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"sql": action}]})


def test_rows_land_with_their_types_and_hostile_strings_as_data(engine: sb.Engine, db: Database) -> None:
    run_rule(engine, {"url": db.url, "table": db.table})
    rows = [{"id": i, "name": f"n{i}", "temp": i + 0.25, "ok": i % 2 == 0} for i in range(200)]
    rows.append({"id": 1000, "name": HOSTILE, "temp": -1.5, "ok": True})
    engine.publish("in", rows)
    assert engine.wait_idle()
    got = db.query(f"SELECT id, name, temp, ok FROM {db.table} ORDER BY id")
    assert got == [(r["id"], r["name"], r["temp"], db.boolean(r["ok"])) for r in rows]
    # The hostile value did nothing but land.
    assert db.query(f"SELECT COUNT(*) FROM {db.table}") == [(201,)]
    assert sink_status(engine, "sql_0", "exceptions_total") == 0
    assert sink_status(engine, "sql_0", "connection_status") == 1


def test_fields_choose_the_columns_and_nested_values_go_in_as_json(engine: sb.Engine, db: Database) -> None:
    run_rule(engine, {"url": db.url, "table": db.table, "fields": ["id", "tags"]})
    engine.publish("in", {"id": 1, "name": "ignored", "tags": {"a": [1, 2]}})
    assert engine.wait_idle()
    ((id_, name, tags),) = db.query(f"SELECT id, name, tags FROM {db.table}")
    assert (id_, name) == (1, None)
    assert tags in ({"a": [1, 2]}, '{"a":[1,2]}')


def test_rowkind_inserts_updates_upserts_and_deletes_by_key(engine: sb.Engine, db: Database) -> None:
    run_rule(engine, {"url": db.url, "table": db.table, "rowkindField": "action", "keyField": "id", "sendSingle": True})
    engine.publish(
        "in",
        [
            {"action": "insert", "id": 1, "name": "one"},
            {"action": "insert", "id": 2, "name": "two"},
            {"action": "insert", "id": 3, "name": "three"},
            {"action": "update", "id": 2, "name": "TWO"},
            {"action": "upsert", "id": 3, "name": "THREE"},
            {"action": "upsert", "id": 4, "name": HOSTILE},
            {"action": "delete", "id": 1},
            {"id": 5, "name": "five"},
        ],
    )
    assert engine.wait_idle()
    assert db.query(f"SELECT id, name FROM {db.table} ORDER BY id") == [
        (2, "TWO"),
        (3, "THREE"),
        (4, HOSTILE),
        (5, "five"),
    ]
    assert sink_status(engine, "sql_0", "exceptions_total") == 0


def test_a_constraint_violation_is_counted_not_retried(engine: sb.Engine, db: Database) -> None:
    run_rule(engine, {"url": db.url, "table": db.table})
    engine.publish("in", {"id": 1, "name": "first"})
    assert engine.wait_idle()
    engine.publish("in", {"id": 1, "name": "duplicate"})
    assert engine.wait_idle()
    engine.publish("in", {"id": 2, "name": "after"})
    assert engine.wait_idle()
    assert db.query(f"SELECT id, name FROM {db.table} ORDER BY id") == [(1, "first"), (2, "after")]
    status = engine.rule_status("r")
    assert status["sink_sql_0_0_exceptions_total"] == 1
    assert status["sink_sql_0_0_retries_total"] == 0
    assert status["sink_sql_0_0_connection_status"] == 1


def test_a_column_name_from_the_data_cannot_escape_its_quotes(engine: sb.Engine, db: Database) -> None:
    run_rule(engine, {"url": db.url, "table": db.table})
    engine.publish("in", {"id": 1, 'name" TEXT); DROP TABLE x; --': "v"})
    assert engine.wait_idle()
    # Refused as an unknown column: counted, and the table is still there.
    assert sink_status(engine, "sql_0", "exceptions_total") == 1
    assert db.query(f"SELECT COUNT(*) FROM {db.table}") == [(0,)]


@pytest.mark.parametrize("url", ["postgres://postgres@127.0.0.1:1/test", "mysql://root@127.0.0.1:1/test"])
def test_a_refused_connection_is_retried_and_shows_in_the_status(plugins_dir: Path, url: str) -> None:
    with sb.Engine(plugins_dir=plugins_dir, stop_timeout=0.5) as engine:
        run_rule(engine, {"url": url, "table": "t", "resendInterval": 20})
        assert sink_status(engine, "sql_0", "connection_status") == -1
        assert sink_status(engine, "sql_0", "connection_last_disconnected_message")
        engine.publish("in", {"id": 1})
        wait_for(lambda: sink_status(engine, "sql_0", "retries_total") >= 2, what="retries")
        assert sink_status(engine, "sql_0", "last_exception").startswith("RetryableError")
        assert sink_status(engine, "sql_0", "dead_letter_total") == 0


def test_a_rowkind_field_without_a_key_field_fails_the_start(engine: sb.Engine, tmp_path: Path) -> None:
    engine.create_stream(STREAM)
    action = {"url": f"sqlite:///{tmp_path / 'x.db'}", "table": "t", "rowkindField": "action"}
    with pytest.raises(sb.SinkError, match="'keyField' is required"):
        engine.create_rule({"id": "r", "sql": "SELECT * FROM s", "actions": [{"sql": action}]})
