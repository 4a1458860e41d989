"""The ``nats`` sink: each result (or row, with ``sendSingle``) published to NATS as JSON, with
eKuiper's properties; optionally through JetStream, acknowledged.

=============  ===============================================================================
``server``     ``nats://host:4222`` (the default is ``nats://127.0.0.1:4222``); several,
               separated by commas, for a cluster; credentials in the URL
               (``nats://user:password@host:4222``)
``subject``    the subject; a template such as ``"alerts.{{ device }}"`` is rendered per item
               (with ``sendSingle``, over the row)
``jetstream``  false: core NATS, flushed at the end of each delivery (the server has the
               messages, nobody promised to keep them); true: JetStream, each message
               acknowledged by the stream that stores it
=============  ===============================================================================

A lost connection, or a flush or acknowledgement that times out, raises
:class:`~sinkbridge.RetryableError` (with ``jetstream``, messages acknowledged before the failure
are sent again with the rest: at least once). A subject that no stream listens to, with
``jetstream``, is an error that is not retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .._errors import RetryableError
from .._sink import Context, Sink
from ._support import lost, prop_bool, prop_str, to_json

try:
    import nats
    from nats import errors as nats_errors
    from nats.js import errors as js_errors
except ImportError as exc:
    from ._support import missing_extra

    raise missing_extra("nats", "nats") from exc

__all__ = ["NatsSink"]

_TIMEOUT = 5.0
_TRANSIENT = (
    nats_errors.ConnectionClosedError,
    nats_errors.NoServersError,
    nats_errors.OutboundBufferLimitError,
    nats_errors.StaleConnectionError,
    nats_errors.TimeoutError,
    nats_errors.FlushTimeoutError,
    nats_errors.ConnectionReconnectingError,
    asyncio.TimeoutError,
    OSError,
)


def _payload(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    return to_json(item).encode()


class NatsSink(Sink):
    """Publishes to NATS; see the module's docstring for the properties."""

    def configure(self, props: dict[str, Any]) -> None:
        server = prop_str(props, "server", "nats://127.0.0.1:4222")
        self.servers = [s.strip() for s in server.split(",") if s.strip()]
        self.subject = prop_str(props, "subject")
        self.jetstream = prop_bool(props, "jetstream", False)
        self.nc: Any = None
        self.js: Any = None

    async def open(self, ctx: Context) -> None:
        async def disconnected() -> None:
            ctx.connection.disconnected("disconnected from the NATS server")

        async def reconnected() -> None:
            ctx.connection.connected()

        async def error(e: Exception) -> None:
            ctx.logger.warning("nats: %s", e)

        ctx.connection.connecting()
        try:
            # No reconnecting inside the client (it would hold a first connect forever, and
            # buffer publishes while away): a lost connection closes, and the next delivery,
            # retried by the runtime, connects again.
            self.nc = await nats.connect(
                servers=self.servers,
                connect_timeout=_TIMEOUT,
                allow_reconnect=False,
                # 0 would mean "forever" to the first connect: one retry, soon, then give up.
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
                error_cb=error,
            )
        except _TRANSIENT as e:
            # A first connection that fails is not retried by the client: the next delivery
            # tries again.
            lost(ctx, e)
            ctx.logger.warning("NATS at %s is not reachable yet: %s", ",".join(self.servers), e)
            return
        self.js = self.nc.jetstream(timeout=_TIMEOUT) if self.jetstream else None
        ctx.connection.connected()

    async def _connected(self, ctx: Context) -> Any:
        if self.nc is None or self.nc.is_closed:
            await self.open(ctx)
        if self.nc is None or not self.nc.is_connected:
            raise RetryableError(ctx.connection.last_message or "not connected to the NATS server")
        return self.nc

    async def collect_batch(self, ctx: Context, items: list[Any], props: list[dict[str, str]]) -> None:
        nc = await self._connected(ctx)
        messages = [(p.get("subject", self.subject), _payload(item)) for item, p in zip(items, props, strict=True)]
        try:
            if self.js is not None:
                # Published together, acknowledged each: one round trip for the delivery.
                await asyncio.gather(*(self.js.publish(subject, data) for subject, data in messages))
            else:
                for subject, data in messages:
                    await nc.publish(subject, data)
                await nc.flush(timeout=_TIMEOUT)
        except js_errors.NoStreamResponseError as e:
            raise ValueError(f"no JetStream stream takes subject {messages[0][0]!r}") from e
        except _TRANSIENT as e:
            raise lost(ctx, e) from e

    async def close(self, ctx: Context) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.drain()
        self.nc = None
