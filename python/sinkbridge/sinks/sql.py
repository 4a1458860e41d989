"""The ``sql`` sink: rule results into a table of PostgreSQL, MySQL/MariaDB or SQLite, with
eKuiper's properties.

================  ============================================================================
``url``           ``postgres://user:password@host:5432/db``, ``mysql://user:password@host:3306/db``
                  or ``sqlite:///path/to/file.db`` (eKuiper's ``sqlite:/path`` works too)
``table``         the table (``schema.table`` allowed)
``fields``        the columns to write; by default every field of the row
``rowkindField``  the row field naming the action: ``insert`` (the default), ``update``,
                  ``upsert`` or ``delete``; it is not written as a column
``keyField``      the key column that ``update``, ``upsert`` and ``delete`` match on (for
                  ``upsert``, a primary key or unique column)
================  ============================================================================

Every statement binds its values as parameters; table and column names are quoted, so a value
such as ``'); DROP TABLE x; --`` lands as data. A delivery is one transaction: consecutive
inserts with the same columns go in together (PostgreSQL: one ``COPY``; MySQL: multi-row
statements; SQLite: ``executemany``). A lost or refused connection, a
timeout, a deadlock or a locked SQLite file raises :class:`~sinkbridge.RetryableError` (the
connection is made again on the next try); a constraint violation or a value the column does
not take fails the delivery, which is rolled back and counted, not retried.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from .._errors import RetryableError
from .._sink import Context, Sink
from ._sqldb import Driver, Postgres, check_driver, connect, quote_ident, scheme_of
from ._support import lost, prop_str, rows_of, to_json

__all__ = ["SqlSink"]

_ACTIONS = ("insert", "update", "upsert", "delete")


class SqlSink(Sink):
    """Writes rows to a SQL table; see the module's docstring for the properties."""

    def configure(self, props: dict[str, Any]) -> None:
        self.url = prop_str(props, "url")
        check_driver(scheme_of(self.url))
        self.table = prop_str(props, "table")
        fields = props.get("fields")
        if fields is not None and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
            raise ValueError("property 'fields' must be a list of column names")
        self.fields: list[str] | None = fields or None
        self.rowkind_field: str | None = props.get("rowkindField") or None
        self.key_field: str | None = props.get("keyField") or None
        if self.rowkind_field and not self.key_field:
            raise ValueError("property 'keyField' is required with 'rowkindField'")
        self.db: Driver | None = None
        self.statements: dict[tuple[Any, ...], str] = {}

    async def open(self, ctx: Context) -> None:
        try:
            await self._connect(ctx)
        except RetryableError as e:
            # The rule starts anyway: its data waits in the runtime (and its cache) until the
            # database answers.
            ctx.logger.warning("the database is not reachable yet: %s", e)

    async def _connect(self, ctx: Context) -> Driver:
        ctx.connection.connecting()
        try:
            db = await connect(self.url)
        except Exception as e:
            if not _connect_error_is_transient(e):
                raise
            raise lost(ctx, e) from e
        self.db = db
        ctx.connection.connected()
        return db

    def _table(self, db: Driver) -> str:
        return ".".join(quote_ident(db, part) for part in self.table.split("."))

    def _plan(self, row: dict[str, Any]) -> tuple[str, tuple[str, ...], list[Any]]:
        """The action, the columns and the values of one row."""
        action = "insert"
        if self.rowkind_field is not None:
            action = str(row.pop(self.rowkind_field, None) or "insert").lower()
            if action not in _ACTIONS:
                raise ValueError(f"rowkindField {self.rowkind_field!r}: unknown action {action!r}")
        columns = tuple(self.fields) if self.fields else tuple(row)
        if action != "insert" and self.key_field not in row:
            raise ValueError(f"a row to {action} has no key field {self.key_field!r}: {to_json(row):.200}")
        if action == "delete":
            return action, (str(self.key_field),), [_param(row.get(str(self.key_field)))]
        return action, columns, [_param(row.get(c)) for c in columns]

    def _statement(self, db: Driver, action: str, columns: tuple[str, ...]) -> str:
        cache_key = (action, columns)
        sql = self.statements.get(cache_key)
        if sql is not None:
            return sql
        table, ph = self._table(db), db.placeholder
        key = str(self.key_field)
        if action == "delete":
            sql = f"DELETE FROM {table} WHERE {quote_ident(db, key)} = {ph}"
        elif action == "update":
            sets = ", ".join(f"{quote_ident(db, c)} = {ph}" for c in columns if c != key)
            sql = f"UPDATE {table} SET {sets} WHERE {quote_ident(db, key)} = {ph}"
        else:
            names = ", ".join(quote_ident(db, c) for c in columns)
            sql = f"INSERT INTO {table} ({names}) VALUES (" + ", ".join([ph] * len(columns)) + ")"
            if action == "upsert":
                sql += db.upsert(key, list(columns))
        self.statements[cache_key] = sql
        return sql

    async def _write(self, db: Driver, action: str, columns: tuple[str, ...], values: list[list[Any]]) -> None:
        if action == "update":
            key = str(self.key_field)
            if key not in columns:
                raise ValueError(f"'fields' must include the keyField {key!r} to update")
            at = columns.index(key)
            # SET every column but the key, then WHERE key.
            values = [[v for i, v in enumerate(row) if i != at] + [row[at]] for row in values]
        if action == "insert" and isinstance(db, Postgres) and columns:
            names = ", ".join(quote_ident(db, c) for c in columns)
            await db.copy(f"COPY {self._table(db)} ({names}) FROM STDIN", values)
            return
        await db.executemany(self._statement(db, action, columns), values)

    async def collect_batch(self, ctx: Context, items: list[Any]) -> None:
        plans = [self._plan(dict(row)) for row in rows_of(items)]
        db = self.db or await self._connect(ctx)
        try:
            for (action, columns), group in groupby(plans, key=lambda p: (p[0], p[1])):
                await self._write(db, action, columns, [values for _, _, values in group])
            await db.commit()
        except Exception as e:
            transient = db.is_transient(e)
            try:
                await db.rollback()
            except Exception:
                transient = True
            if not transient:
                raise
            # The connection is made again on the next try.
            self.db = None
            try:
                await db.close()
            except Exception as close_error:
                ctx.logger.debug("closing the lost connection: %s", close_error)
            raise lost(ctx, e) from e
        if ctx.connection.status != 1:
            ctx.connection.connected()

    async def close(self, ctx: Context) -> None:
        if self.db is not None:
            await self.db.close()
            self.db = None


def _param(value: Any) -> Any:
    # Drivers bind scalars; nested objects and arrays go in as JSON text (a json/jsonb column
    # takes it as it is).
    if isinstance(value, (dict, list)):
        return to_json(value)
    return value


def _connect_error_is_transient(error: BaseException) -> bool:
    if isinstance(error, (OSError, TimeoutError)):
        return True
    name = type(error).__name__
    # psycopg and pymysql report a refused connection as OperationalError; a wrong password or
    # a missing database is one too, and shows in the status message while the retries go on.
    return name == "OperationalError"
