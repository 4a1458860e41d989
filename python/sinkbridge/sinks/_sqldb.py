"""The database drivers of the ``sql`` sink, one per URL scheme, each imported only when a rule
names its scheme: PostgreSQL through psycopg's async connection, MySQL/MariaDB through aiomysql,
SQLite through the standard library on a thread of its own (sqlite3 has no async API, and a
connection is best used from one thread)."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from ._support import missing_extra

__all__ = ["Driver", "Postgres", "check_driver", "connect", "quote_ident", "scheme_of"]


class Driver(Protocol):
    """One open connection, and the SQL dialect that goes with it."""

    placeholder: str
    quote: str

    async def executemany(self, sql: str, rows: list[list[Any]]) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...
    def is_transient(self, error: BaseException) -> bool: ...
    def upsert(self, key: str, columns: list[str]) -> str: ...


def _excluded_upsert(driver: Driver, key: str, columns: list[str]) -> str:
    quoted = [quote_ident(driver, c) for c in columns if c != key]
    if not quoted:
        return f" ON CONFLICT ({quote_ident(driver, key)}) DO NOTHING"
    sets = ", ".join(f"{c} = excluded.{c}" for c in quoted)
    return f" ON CONFLICT ({quote_ident(driver, key)}) DO UPDATE SET {sets}"


def quote_ident(driver: Driver, name: str) -> str:
    """An identifier quoted for the dialect, the quote character doubled inside: a column name
    from the data cannot end the identifier."""
    q = driver.quote
    return q + name.replace(q, q + q) + q


class Postgres:
    placeholder = "%s"
    quote = '"'

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, url: str) -> Postgres:
        try:
            import psycopg
        except ImportError as exc:
            raise missing_extra("sql (postgres://)", "postgres") from exc
        return cls(await psycopg.AsyncConnection.connect(url, connect_timeout=5))

    async def copy(self, sql: str, rows: list[list[Any]]) -> None:
        """Inserts through COPY: one stream, and no statement text to parse per batch (psycopg
        parses a statement's placeholders on the client, which a 4,000-parameter multi-row
        INSERT pays for every time)."""
        async with self.conn.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                await copy.write_row(row)

    async def executemany(self, sql: str, rows: list[list[Any]]) -> None:
        async with self.conn.cursor() as cur:
            await cur.executemany(sql, rows)

    async def commit(self) -> None:
        await self.conn.commit()

    async def rollback(self) -> None:
        if not self.conn.closed:
            await self.conn.rollback()

    async def close(self) -> None:
        await self.conn.close()

    def is_transient(self, error: BaseException) -> bool:
        import psycopg

        # OperationalError: the connection was refused, lost or shut down; a serialization
        # failure or deadlock succeeds when tried again.
        return isinstance(error, (psycopg.OperationalError, psycopg.errors.TransactionRollback, OSError))

    def upsert(self, key: str, columns: list[str]) -> str:
        return _excluded_upsert(self, key, columns)


# Client errors of lost or refused connections, and server errors that pass (deadlock, lock
# wait timeout, too many connections).
_MYSQL_TRANSIENT = {1040, 1205, 1213, 2002, 2003, 2006, 2013, 2055}


class MySql:
    placeholder = "%s"
    quote = "`"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, url: str) -> MySql:
        try:
            import aiomysql
        except ImportError as exc:
            raise missing_extra("sql (mysql://)", "mysql") from exc
        parts = urlsplit(url)
        conn = await aiomysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            db=parts.path.lstrip("/") or None,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=5,
        )
        return cls(conn)

    async def executemany(self, sql: str, rows: list[list[Any]]) -> None:
        async with self.conn.cursor() as cur:
            await cur.executemany(sql, rows)

    async def commit(self) -> None:
        await self.conn.commit()

    async def rollback(self) -> None:
        if not self.conn.closed:
            await self.conn.rollback()

    async def close(self) -> None:
        self.conn.close()

    def is_transient(self, error: BaseException) -> bool:
        import pymysql

        if isinstance(error, (OSError, asyncio.TimeoutError)):
            return True
        if isinstance(error, (pymysql.err.OperationalError, pymysql.err.InterfaceError)):
            code = error.args[0] if error.args and isinstance(error.args[0], int) else None
            return code is None or code in _MYSQL_TRANSIENT
        return False

    def upsert(self, key: str, columns: list[str]) -> str:
        quoted = [quote_ident(self, c) for c in columns if c != key]
        if not quoted:
            quoted = [quote_ident(self, key)]
        sets = ", ".join(f"{c} = VALUES({c})" for c in quoted)
        return f" ON DUPLICATE KEY UPDATE {sets}"


class Sqlite:
    placeholder = "?"
    quote = '"'

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self.conn = conn
        self.thread = thread

    @classmethod
    async def connect(cls, path: str) -> Sqlite:
        # One thread owns the connection: every call runs there, in order.
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sinkbridge-sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(thread, lambda: sqlite3.connect(path, timeout=5, check_same_thread=False))
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(conn, thread)

    async def _run(self, call: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.thread, call, *args)

    async def executemany(self, sql: str, rows: list[list[Any]]) -> None:
        await self._run(self.conn.executemany, sql, rows)

    async def commit(self) -> None:
        await self._run(self.conn.commit)

    async def rollback(self) -> None:
        await self._run(self.conn.rollback)

    async def close(self) -> None:
        await self._run(self.conn.close)
        self.thread.shutdown(wait=False)

    def is_transient(self, error: BaseException) -> bool:
        # "database is locked": another writer holds it for longer than the timeout.
        return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)

    def upsert(self, key: str, columns: list[str]) -> str:
        return _excluded_upsert(self, key, columns)


def sqlite_path(url: str) -> str:
    """``sqlite:///abs/path``, ``sqlite://relative/path`` or eKuiper's ``sqlite:/abs/path``."""
    rest = url[len("sqlite:") :]
    path = rest[2:] if rest.startswith("//") else rest
    if not path:
        raise ValueError(f"property 'url' names no SQLite file: {url!r}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def scheme_of(url: str) -> str:
    scheme = url.partition(":")[0].lower()
    if scheme in ("postgres", "postgresql"):
        return "postgres"
    if scheme in ("mysql", "mariadb"):
        return "mysql"
    if scheme in ("sqlite", "sqlite3"):
        return "sqlite"
    raise ValueError(f"property 'url' must start with postgres://, mysql:// or sqlite:///, not {url.split(':')[0]!r}")


def check_driver(scheme: str) -> None:
    """Raises the error that names the extra to install when the scheme's driver is missing."""
    import importlib.util

    needs = {"postgres": ("psycopg", "postgres"), "mysql": ("aiomysql", "mysql")}
    if scheme in needs:
        module, extra = needs[scheme]
        if importlib.util.find_spec(module) is None:
            raise missing_extra(f"sql ({scheme}://)", extra)


async def connect(url: str) -> Driver:
    scheme = scheme_of(url)
    if scheme == "postgres":
        return await Postgres.connect(url)
    if scheme == "mysql":
        return await MySql.connect(url)
    return await Sqlite.connect(sqlite_path(url.replace("sqlite3:", "sqlite:", 1)))
