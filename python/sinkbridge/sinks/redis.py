"""The ``redis`` sink: rule results into Redis strings or lists, with eKuiper's properties.

==================  ==========================================================================
``addr``            ``host:port`` (``127.0.0.1:6379``; ``tcp://`` and ``redis://`` prefixes are
                    accepted)
``password``        the password, if the server asks for one
``db``              the database number (0)
``key``             the key of every row, when ``field`` is not set
``field``           the row field whose value is the key (``keyField`` is the same)
``keyType``         ``single``: one key per row, its value the row as JSON; ``multiple``: each
                    field of the row is a key of its own, its value the field's value
``dataType``        ``string`` (``SET``) or ``list`` (``LPUSH``, as eKuiper does)
``expiration``      seconds before a string key expires (-1: never; ``expire`` is the same)
``rowkindField``    the row field naming the action: ``insert``, ``update``, ``upsert`` (all
                    three write) or ``delete`` (``DEL``; for a list, ``RPOP``)
==================  ==========================================================================

All rows of a delivery go in one pipeline (one round trip), runs of ``SET`` as one ``MSET``. A
lost or refused connection, or a timeout, raises :class:`~sinkbridge.RetryableError`; a wrong
password or a key holding another type does not. A result with a row that has no key field (or
an unknown action) is not written, the rest of the delivery is, and the delivery then fails with
an error naming the problem (so it is counted in the status).
"""

from __future__ import annotations

from typing import Any

from .._sink import Context, Sink
from ._support import lost, missing_extra, prop_int, prop_str, rows_of, to_json

try:
    import redis.asyncio as aioredis
    from redis import exceptions as redis_errors
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
except ImportError as exc:
    raise missing_extra("redis", "redis") from exc

__all__ = ["RedisSink"]

_WRITE = ("insert", "update", "upsert")
# Transient: the server is away or slow. AuthenticationError derives from ConnectionError but
# is a configuration error, not worth retrying.
_TRANSIENT = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


def _address(addr: str) -> tuple[str, int]:
    for prefix in ("tcp://", "redis://"):
        addr = addr.removeprefix(prefix)
    host, sep, port = addr.rpartition(":")
    if not sep:
        return addr, 6379
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise ValueError(f"property 'addr' must be host:port, not {addr!r}") from None


class RedisSink(Sink):
    """Writes each row to Redis; see the module's docstring for the properties."""

    def configure(self, props: dict[str, Any]) -> None:
        self.host, self.port = _address(prop_str(props, "addr", "127.0.0.1:6379"))
        password = props.get("password")
        self.password = str(password) if password else None
        self.db = prop_int(props, "db", 0)
        self.key_type = prop_str(props, "keyType", "single").lower()
        if self.key_type not in ("single", "multiple"):
            raise ValueError(f"property 'keyType' must be single or multiple, not {self.key_type!r}")
        self.data_type = prop_str(props, "dataType", "string").lower()
        if self.data_type not in ("string", "list"):
            raise ValueError(f"property 'dataType' must be string or list, not {self.data_type!r}")
        self.field = props.get("field") or props.get("keyField")
        self.key = props.get("key")
        if self.key_type == "single" and not (self.field or self.key):
            raise ValueError("property 'key' or 'field' is required when keyType is single")
        expiration = prop_int(props, "expiration", prop_int(props, "expire", -1))
        self.expiration = expiration if expiration > 0 else None
        self.rowkind_field: str | None = props.get("rowkindField") or None
        self.client: aioredis.Redis | None = None

    async def open(self, ctx: Context) -> None:
        # The runtime retries (and caches) what fails: the client itself must not retry too.
        self.client = aioredis.Redis(
            host=self.host,
            port=self.port,
            db=self.db,
            password=self.password,
            socket_timeout=5,
            socket_connect_timeout=5,
            retry=Retry(NoBackoff(), 0),
        )
        ctx.connection.connecting()
        try:
            await self.client.ping()
        except redis_errors.AuthenticationError:
            raise
        except _TRANSIENT as e:
            # The rule starts anyway: its data waits in the runtime (and its cache) until the
            # server answers.
            lost(ctx, e)
            ctx.logger.warning("redis at %s:%s is not reachable yet: %s", self.host, self.port, e)
        else:
            ctx.connection.connected()

    def _action(self, row: dict[str, Any]) -> str:
        if self.rowkind_field is None:
            return "insert"
        action = row.pop(self.rowkind_field, None) or "insert"
        action = str(action).lower()
        if action not in (*_WRITE, "delete"):
            raise ValueError(f"rowkindField {self.rowkind_field!r}: unknown action {action!r}")
        return action

    def _key(self, row: dict[str, Any]) -> str:
        if self.field:
            if self.field not in row or row[self.field] is None:
                raise ValueError(f"the row has no key field {self.field!r}: {to_json(row):.200}")
            value = row[self.field]
            return value if isinstance(value, str) else to_json(value)
        return str(self.key)

    def _command(self, action: str, key: str, value: str) -> tuple[str, str, str]:
        if action == "delete":
            return ("rpop" if self.data_type == "list" else "del", key, value)
        return ("lpush" if self.data_type == "list" else "set", key, value)

    def _pipeline(self, commands: list[tuple[str, str, str]]) -> Any:
        """One pipeline for the delivery's commands, in order. Runs of the same command become
        one command (SETs one MSET, DELs one DEL, LPUSHes to one key one LPUSH): the server
        answers a few times per delivery instead of once per row, and the order holds."""
        assert self.client is not None, "open() was not called"
        pipe = self.client.pipeline(transaction=False)
        i = 0
        while i < len(commands):
            name, key, value = commands[i]
            j = i + 1
            if name == "set" and self.expiration is None:
                while j < len(commands) and commands[j][0] == "set":
                    j += 1
                pipe.mset({k: v for _, k, v in commands[i:j]})
            elif name == "set":
                pipe.set(key, value, ex=self.expiration)
            elif name == "del":
                while j < len(commands) and commands[j][0] == "del":
                    j += 1
                pipe.delete(*(k for _, k, _ in commands[i:j]))
            elif name == "lpush":
                while j < len(commands) and commands[j][:2] == ("lpush", key):
                    j += 1
                pipe.lpush(key, *(v for _, _, v in commands[i:j]))
            else:
                pipe.rpop(key)
            i = j
        return pipe

    async def collect_batch(self, ctx: Context, items: list[Any]) -> None:
        commands: list[tuple[str, str, str]] = []
        refused: list[str] = []
        for item in items:
            try:
                for row in rows_of([item]):
                    row = dict(row)
                    action = self._action(row)
                    if self.key_type == "multiple":
                        for field, value in row.items():
                            text = value if isinstance(value, str) else to_json(value)
                            commands.append(self._command(action, field, text))
                    else:
                        commands.append(self._command(action, self._key(row), to_json(row)))
            except ValueError as e:
                # A bad row spoils neither the rest of the delivery nor a retry of it.
                refused.append(str(e))
        try:
            await self._pipeline(commands).execute()
        except redis_errors.AuthenticationError:
            raise
        except _TRANSIENT as e:
            raise lost(ctx, e) from e
        if ctx.connection.status != 1:
            ctx.connection.connected()
        if refused:
            raise ValueError(f"{len(refused)} result(s) not written (the others were): {refused[0]}")

    async def close(self, ctx: Context) -> None:
        if self.client is not None:
            await self.client.aclose()
